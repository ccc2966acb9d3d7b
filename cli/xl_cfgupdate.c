/* xl_cfgupdate.c - xl config-update: a running domain's configuration for its next build (a
 * restart by on_reboot and the like), kept by liblight beside the live one; the running
 * domain itself does not change. Xen's arguments, warning and messages. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl.h"

struct upd_args {
    const char *file;
    int debug, nvars;
    char **vars;
};

/* <Domain> [<ConfigFile>] [-f FILE] [-d] [key=value...]: 0, or the exit code. */
static int parse(int argc, char **argv, struct upd_args *a)
{
    static const struct option lo[] = { { "defconfig", 1, 0, 'f' }, { "help", 0, 0, 'h' },
                                        { 0, 0, 0, 0 } };
    int c;

    if (argc > 2 && argv[2][0] != '-' && !strchr(argv[2], '=')) {
        a->file = argv[2];
        argv[2] = argv[1];                         /* the options start after the file */
        argc--, argv++;
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "+dqf:h", lo, NULL)) != -1) {
        if (c == 'd')
            a->debug = 1;
        else if (c == 'f')
            a->file = optarg;
        else if (c == 'h') {
            xl_help("config-update");
            return -ECANCELED;                     /* help printed: exit 0 */
        } else if (c != 'q') {
            xl_help("config-update");
            return 2;
        }
    }
    a->vars = calloc((size_t)argc, sizeof(char *));
    for (; a->vars && optind < argc; optind++) {
        if (strchr(argv[optind], '='))
            a->vars[a->nvars++] = argv[optind];
        else if (!a->file)
            a->file = argv[optind];
        else {
            xl_help("create");
            return 2;
        }
    }
    return a->vars ? 0 : 1;
}

int xl_cmd_config_update(int argc, char **argv)
{
    struct upd_args a = { 0 };
    kl_domain_config dc;
    kl_diag *d;
    uint32_t domid;
    kl_ctx *ctx;
    int rc;

    if (argc < 2) {
        fprintf(stderr, "xl config-update requires a domain argument\n");
        xl_help("config-update");
        return 1;
    }
    fprintf(stderr, "WARNING: xl now has better capability to manage domain configuration, "
            "avoid using this command when possible\n");
    if ((rc = parse(argc, argv, &a)) != 0) {
        free(a.vars);
        return rc < 0 ? 0 : rc;
    }
    if (!a.file) {
        fprintf(stderr, "Config file not specified\n");
        free(a.vars);
        return 1;
    }
    if (!(ctx = xl_open_domain(argv[1], &domid))) {
        free(a.vars);
        return 1;
    }
    d = kl_diag_new();
    kl_domain_config_init(&dc);
    rc = xl_load_domain(a.file, a.nvars, a.vars, 0, &dc, d);
    kl_diag_print(d, stderr);
    kl_diag_free(d);
    free(a.vars);
    if (rc == 0 && (a.debug || xl_g.dryrun)) {
        char *json = kl_domain_config_to_json(&dc);
        if (json)
            printf("%s\n", json);
        free(json);
    }
    if (rc == 0 && !xl_g.dryrun) {
        fprintf(stderr, "setting dom%u configuration\n", domid);
        if ((rc = kl_domain_set_reboot_config(ctx, domid, &dc)) < 0)
            fprintf(stderr, "failed to update configuration\n%s\n", kl_ctx_error(ctx));
    }
    kl_domain_config_dispose(&dc);
    kl_ctx_close(ctx);
    return rc < 0 ? 1 : 0;
}
