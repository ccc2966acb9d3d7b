/* xl_domxml.c - libvirt domain XML in xl: loading a domain file that is either xl.cfg or
 * libvirt XML (xl create, xl create -N), and the converter pair in the spirit of virsh's
 * `domxml-from-native xen-xl` / `domxml-to-native xen-xl`:
 *   xl domxml-from-native [xen-xl] <ConfigFile> [vars]   xl.cfg -> libvirt XML
 *   xl domxml-to-native [xen-xl] <XmlFile>               libvirt XML -> xl.cfg */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keel/kl_xml.h>

#include "xl.h"

/* A .xml name, or a file whose first non-blank byte is '<'. */
static bool is_xml_file(const char *path)
{
    size_t n = strlen(path), got;
    char head[256];
    FILE *f;

    if (n > 4 && !strcmp(path + n - 4, ".xml"))
        return true;
    if (!(f = fopen(path, "rb")))
        return false;
    got = fread(head, 1, sizeof(head), f);
    fclose(f);
    return kl_text_is_xml(head, got);
}

int xl_load_domain(const char *path, int noverrides, char *const overrides[], unsigned flags,
                   kl_domain_config *dc, kl_diag *d)
{
    if (!is_xml_file(path))
        return kl_domain_config_load(dc, path, noverrides, overrides, flags, d);
    if (noverrides > 0) {
        fprintf(stderr, "xl: %s: key=value overrides apply to xl.cfg files, not to domain XML "
                "(`%s')\n", path, overrides[0]);
        return -EINVAL;
    }
    return kl_domain_config_load_xml(dc, path, flags, d);
}

/* An optional leading format name, as virsh takes one. */
static int skip_format(int argc, char **argv, const char *cmd)
{
    if (optind < argc && (!strcmp(argv[optind], "xen-xl") || !strcmp(argv[optind], "xl"))) {
        optind++;
    } else if (optind + 1 < argc && !strchr(argv[optind], '=') && !strchr(argv[optind], '/') &&
               !strchr(argv[optind], '.')) {
        fprintf(stderr, "xl %s: unknown native format `%s' (xen-xl is the only one)\n", cmd,
                argv[optind]);
        return -EINVAL;
    }
    if (optind >= argc) {
        xl_help(cmd);
        return -EINVAL;
    }
    return 0;
}

static int print_and_free(char *text, const char *what)
{
    if (!text) {
        fprintf(stderr, "xl: cannot write the %s: %s\n", what, strerror(ENOMEM));
        return 1;
    }
    fputs(text, stdout);
    free(text);
    return 0;
}

int xl_cmd_domxml_from_native(int argc, char **argv)
{
    kl_domain_config dc;
    kl_diag *d;
    const char *file;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "domxml-from-native", 1)) != -1)
        if (c)
            return 2;
    if (skip_format(argc, argv, "domxml-from-native") < 0)
        return 2;
    file = argv[optind++];
    d = kl_diag_new();
    kl_domain_config_init(&dc);
    rc = kl_domain_config_load(&dc, file, argc - optind, argv + optind, KL_CONV_NO_UUID, d);
    kl_diag_print(d, stderr);
    kl_diag_free(d);
    if (rc == 0)
        rc = print_and_free(kl_domain_config_to_xml(&dc, -1), "domain XML");
    kl_domain_config_dispose(&dc);
    return rc ? 1 : 0;
}

int xl_cmd_domxml_to_native(int argc, char **argv)
{
    kl_domain_config dc;
    kl_diag *d;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "domxml-to-native", 1)) != -1)
        if (c)
            return 2;
    if (skip_format(argc, argv, "domxml-to-native") < 0)
        return 2;
    if (argc - optind != 1) {
        xl_help("domxml-to-native");
        return 2;
    }
    d = kl_diag_new();
    kl_domain_config_init(&dc);
    rc = kl_domain_config_load_xml(&dc, argv[optind], KL_CONV_NO_UUID, d);
    kl_diag_print(d, stderr);
    kl_diag_free(d);
    if (rc == 0)
        rc = print_and_free(kl_domain_config_to_cfg(&dc), "xl.cfg");
    kl_domain_config_dispose(&dc);
    return rc ? 1 : 0;
}
