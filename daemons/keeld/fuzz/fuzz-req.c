/* fuzz-req.c - libFuzzer target for keeld's request codec: any bytes as one message; every
 * parsed element's parameters are walked with the typed getters and answered with an error
 * text, as the server would. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "kd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kd_batch b;
    char why[200];

    if (size > (1 << 20) || kd_req_parse((const char *)data, size, &b, why, sizeof(why)) != 0)
        return 0;
    for (size_t i = 0; i < b.n; i++) {
        const char *s;
        long long v;
        bool f;
        char *t;
        kd_param_str(b.reqs[i].params, "domain", &s, false, why, sizeof(why));
        kd_param_int(b.reqs[i].params, "timeout_ms", 0, 1000, 0, &v, why, sizeof(why));
        kd_param_bool(b.reqs[i].params, "paused", false, &f, why, sizeof(why));
        t = kd_error_text(b.reqs[i].id, KD_INVALID_PARAMS, b.reqs[i].why);
        free(t);
        if (b.reqs[i].self) {
            kd_out *o = kd_out_new();
            kd_gen_value(kd_out_gen(o), b.reqs[i].self);
            kd_out_free(o);
        }
    }
    kd_batch_free(&b);
    return 0;
}
