/* fuzz-cfg.c - fuzz target for the xl.cfg parser and the conversion to kl_domain_config.
 * Beyond "no crash", it checks two invariants on every config that converts: printing it back
 * as xl.cfg and converting again gives an equal config, its JSON parses back equal, and
 * kl_domain_config_setdefault accepts it and is idempotent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <keel/kl_config.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reconvert(const kl_domain_config *dc)
{
    char *text = kl_domain_config_to_cfg(dc), *json = kl_domain_config_to_json(dc);
    kl_domain_config back;
    kl_cfg *cfg = NULL;

    kl_domain_config_init(&back);
    if (!text || !json)
        abort();
    if (kl_cfg_parse_data(&cfg, "printed", text, strlen(text), NULL) ||
        kl_domain_config_from_cfg(&back, cfg, KL_CONV_NO_UUID, NULL) ||
        !kl_domain_config_equal(dc, &back))
        abort(); /* the printer wrote something the parser reads differently */
    kl_domain_config_dispose(&back);
    kl_domain_config_init(&back);
    if (kl_domain_config_from_json(&back, json, NULL) || !kl_domain_config_equal(dc, &back))
        abort(); /* JSON round trip lost something */
    kl_domain_config_dispose(&back);
    if (kl_domain_config_runnable(dc, NULL)) {
        /* kept but not runnable here (hvm, vnc, ...): creating must refuse it */
        if (kl_domain_config_copy(&back, dc) || !kl_domain_config_setdefault(&back, NULL))
            abort();
    } else if (kl_domain_config_copy(&back, dc) || kl_domain_config_setdefault(&back, NULL)) {
        abort(); /* a validated config must take the creation defaults */
    } else {
        kl_domain_config twice;
        if (kl_domain_config_copy(&twice, &back) || kl_domain_config_setdefault(&twice, NULL) ||
            !kl_domain_config_equal(&twice, &back))
            abort();
        kl_domain_config_dispose(&twice);
    }
    kl_domain_config_dispose(&back);
    kl_cfg_free(cfg);
    free(text);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* split the input at the first NUL: config text, then NUL-separated overrides */
    const char *text = (const char *)data;
    size_t tlen = strnlen(text, size);
    kl_diag *d = kl_diag_new();
    kl_cfg *cfg = NULL;

    if (!d)
        return 0;
    if (kl_cfg_parse_data(&cfg, "fuzz.cfg", text, tlen, d) == 0) {
        kl_domain_config dc;
        char *args[8];
        int nargs = 0;
        size_t off = tlen + 1;
        while (off < size && nargs < 8) {
            size_t alen = strnlen((const char *)data + off, size - off);
            args[nargs] = strndup((const char *)data + off, alen);
            if (!args[nargs])
                break;
            nargs++;
            off += alen + 1;
        }
        kl_cfg_add_overrides(cfg, nargs, args, d);
        while (nargs > 0)
            free(args[--nargs]);
        kl_domain_config_init(&dc);
        if (kl_domain_config_from_cfg(&dc, cfg, KL_CONV_NO_UUID, d) == 0)
            reconvert(&dc);
        kl_domain_config_dispose(&dc);
        kl_cfg_free(cfg);
    }
    for (size_t i = 0; i < kl_diag_count(d); i++)
        if (!kl_diag_text(d, i))
            abort();
    kl_diag_free(d);
    return 0;
}
