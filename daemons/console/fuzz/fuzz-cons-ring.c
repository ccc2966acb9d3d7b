/* fuzz-cons-ring.c - fuzz target for keel-consoled's console ring reader and writer: the input is a
 * ring page as a hostile guest could leave it (indices included) followed by input bytes; the
 * reader and writer must stay inside the page, consume/produce exactly what they report and
 * refuse inconsistent indices. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kcd_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kcd_cons_iface *r = calloc(1, sizeof(*r));
    size_t head = size < sizeof(*r) ? size : sizeof(*r), bufsz = size ? data[0] * 16u : 0;
    char out[KCD_OUT_SIZE + 16];
    uint32_t c0, p0;
    int n;

    if (!r)
        return 0;
    memcpy(r, data, head);
    c0 = r->out_cons;
    p0 = r->out_prod;
    n = kcd_ring_take_output(r, out, bufsz < sizeof(out) ? bufsz : sizeof(out));
    if (n < 0 ? (p0 - c0 <= KCD_OUT_SIZE || r->out_cons != c0)
              : ((uint32_t)n > p0 - c0 || r->out_cons != c0 + (uint32_t)n))
        abort();
    c0 = r->in_cons;
    p0 = r->in_prod;
    n = kcd_ring_put_input(r, (const char *)data + head, size - head);
    if (n < 0 ? (p0 - c0 <= KCD_IN_SIZE || r->in_prod != p0)
              : ((size_t)n > size - head || r->in_prod != p0 + (uint32_t)n ||
                 r->in_prod - c0 > KCD_IN_SIZE))
        abort();
    free(r);
    return 0;
}
