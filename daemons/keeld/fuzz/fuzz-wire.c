/* fuzz-wire.c - libFuzzer target for what keeld's privileged part accepts from its
 * client-facing process (kd_wire_req_read): the first byte picks the role, the rest is a
 * request payload; a decoded batch is walked as the server would (each element's request
 * object regenerated for a task, its error text made). The method table is the target's own
 * (kd_wire.c looks methods up by index and name only). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kd_wire.h"

static const struct kd_method table[] = {
    { "host.ping", NULL, false }, { "domain.destroy", NULL, false }, { "domain.list", NULL, false },
};

int kd_method_index(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(table[i].name, name))
            return i;
    return -1;
}

const struct kd_method *kd_method_at(unsigned idx)
{
    return idx < 3 ? &table[idx] : NULL;
}

bool kd_method_readonly(const char *name)
{
    return strcmp(name, "domain.destroy") != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kd_batch b;
    char why[200];

    if (size < 1 || size > (1 << 20) ||
        kd_wire_req_read(data + 1, size - 1, (enum kd_role)(data[0] % 4), &b, why, sizeof(why)) != 0)
        return 0;
    for (size_t i = 0; i < b.n; i++) {
        char *t = kd_error_text(b.reqs[i].id, b.reqs[i].code ? b.reqs[i].code : KD_INVALID_PARAMS,
                                b.reqs[i].why);
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
