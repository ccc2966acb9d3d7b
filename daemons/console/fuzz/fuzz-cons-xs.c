/* fuzz-cons-xs.c - fuzz target for keel-consoled's store-client parsing: the input is a byte
 * stream as the store socket could deliver it; messages are framed with kcd_xs_parse and every
 * body is also tried as a watch path (kcd_xs_console_domid). Framing must never reach past the
 * input; a domid must be in range and come from a path of the expected shape. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kcd_xs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t off = 0;
    struct kcd_xs_msg m;
    int n;

    while ((n = kcd_xs_parse(p + off, size - off, &m)) > 0) {
        size_t pl = strnlen(m.body, m.len);
        long d = kcd_xs_console_domid(m.body, pl);
        if ((size_t)n != 16 + m.len || off + (size_t)n > size || m.body != p + off + 16)
            abort();
        if (d != -1 && (d < 0 || d > 0x7fef || pl < 22 || memcmp(m.body, "/local/domain/", 14)))
            abort();
        off += (size_t)n;
    }
    if (n < 0 && size - off < 16)
        abort();
    return 0;
}
