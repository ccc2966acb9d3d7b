/* fuzz-policy-load.c - fuzz target: the binary policy loader (libkeelflask) on arbitrary
 * bytes; a loaded policy is also queried. */
#include <stddef.h>
#include <stdint.h>

#include "kf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kf_t *kf;
    char err[256], ctx[256];
    struct kf_av av;
    kf_sid_t out;

    if (!kf && kf_create(&kf))
        return 0;
    if (kf_load(kf, data, size, err, sizeof(err)))
        return 0;
    for (kf_sid_t s = 1; s <= 16; s++) {
        kf_sid_to_context(kf, s, ctx, sizeof(ctx));
        for (uint16_t c = 1; c <= 16; c++) {
            kf_compute_av(kf, s, 3, c, &av);
            kf_compute_create(kf, s, 3, c, &out);
        }
    }
    return 0;
}
