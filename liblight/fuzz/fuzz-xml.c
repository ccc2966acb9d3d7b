/* fuzz-xml.c - fuzz target for the libvirt domain XML import. Beyond "no crash", whatever
 * imports must export as XML that imports back to an equal config and exports to the same
 * text, and its xl.cfg form must convert back equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <keel/kl_xml.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reimport(const kl_domain_config *dc)
{
    char *xml = kl_domain_config_to_xml(dc, -1), *xml2, *cfgtext;
    kl_domain_config back, viacfg;
    kl_cfg *cfg = NULL;

    kl_domain_config_init(&back);
    kl_domain_config_init(&viacfg);
    if (!xml || kl_domain_config_from_xml(&back, "exported", xml, strlen(xml), KL_CONV_NO_UUID,
                                          NULL) ||
        !kl_domain_config_equal(dc, &back))
        abort(); /* the exporter wrote XML the importer reads differently */
    xml2 = kl_domain_config_to_xml(&back, -1);
    if (!xml2 || strcmp(xml, xml2))
        abort(); /* export is not a fixed point */
    cfgtext = kl_domain_config_to_cfg(dc);
    if (!cfgtext || kl_cfg_parse_data(&cfg, "printed", cfgtext, strlen(cfgtext), NULL) ||
        kl_domain_config_from_cfg(&viacfg, cfg, KL_CONV_NO_UUID, NULL) ||
        !kl_domain_config_equal(dc, &viacfg))
        abort();
    kl_cfg_free(cfg);
    free(cfgtext);
    free(xml);
    free(xml2);
    kl_domain_config_dispose(&back);
    kl_domain_config_dispose(&viacfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kl_domain_config dc;
    kl_diag *d = kl_diag_new();

    kl_domain_config_init(&dc);
    if (!kl_domain_config_from_xml(&dc, "fuzz", (const char *)data, size, KL_CONV_NO_UUID, d))
        reimport(&dc);
    else if (!kl_diag_errors(d))
        abort(); /* a failure must say why */
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
    return 0;
}
