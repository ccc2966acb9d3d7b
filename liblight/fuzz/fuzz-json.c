/* fuzz-json.c - fuzz target for the JSON form of kl_domain_config (yajl tree + generated
 * parser). Whatever parses must generate JSON that parses back to an equal config, the
 * generated text must be a fixed point, and xl's {domid, config} wrapper must be produced. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <keel/kl_config.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = strndup((const char *)data, size);
    kl_domain_config dc, back;
    kl_diag *d = kl_diag_new();

    if (!json || !d) {
        free(json);
        kl_diag_free(d);
        return 0;
    }
    kl_domain_config_init(&dc);
    kl_domain_config_init(&back);
    if (kl_domain_config_from_json(&dc, json, d) == 0) {
        char *j1 = kl_domain_config_to_json(&dc), *j2;
        if (!j1 || kl_domain_config_from_json(&back, j1, NULL) || !kl_domain_config_equal(&dc, &back))
            abort();
        j2 = kl_domain_config_to_json(&back);
        if (!j2 || strcmp(j1, j2))
            abort();
        free(j2);
        j2 = kl_domain_config_to_xl_json(&dc, 1);
        if (!j2 || !strstr(j2, "\"config\": {"))
            abort();
        free(j1);
        free(j2);
    }
    kl_domain_config_dispose(&dc);
    kl_domain_config_dispose(&back);
    kl_diag_free(d);
    free(json);
    return 0;
}
