/* xl_vtpm.c - xl vtpm-attach, vtpm-list and vtpm-detach over liblight's kl_vtpm_*, with Xen's
 * xl arguments (uuid=, backend=; a devid or uuid to detach), output columns, messages and exit
 * codes. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl.h"

/* uuid=<uuid> and backend=<domain> arguments; 0, or 1 after a message. */
static int parse_args(int argc, char **argv, kl_device_vtpm *t)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "uuid=", 5)) {
            if (kl_uuid_from_string(&t->uuid, a + 5)) {
                fprintf(stderr, "Invalid uuid specified (%s)\n", a + 5);
                return 1;
            }
        } else if (!strncmp(a, "backend=", 8)) {
            free(t->backend_domname);
            if (!(t->backend_domname = strdup(a + 8)))
                return 1;
        } else {
            fprintf(stderr, "unrecognized argument `%s'\n", a);
            return 1;
        }
    }
    return 0;
}

int xl_cmd_vtpm_attach(int argc, char **argv)
{
    kl_device_vtpm t;
    uint32_t domid;
    kl_ctx *ctx;
    int c, rc = 1;

    while ((c = xl_getopt(argc, argv, "", "vtpm-attach", 1)) != -1)
        return 2;
    kl_device_vtpm_init(&t);
    t.devid = -1;
    if (parse_args(argc - optind - 1, argv + optind + 1, &t))
        goto out;
    if (xl_g.dryrun) {
        char *json = kl_device_vtpm_to_json(&t);
        printf("vtpm: %s\n", json ? json : "null");
        free(json);
        rc = 0;
        goto out;
    }
    if (!(ctx = xl_open()))
        goto out;
    if (kl_domain_qualify(ctx, argv[optind], &domid) < 0)
        fprintf(stderr, "%s is an invalid domain identifier\n", argv[optind]);
    else if (kl_vtpm_add(ctx, domid, &t, NULL) < 0)
        fprintf(stderr, "%s\nlibxl_device_vtpm_add failed.\n", kl_ctx_error(ctx));
    else
        rc = 0;
    kl_ctx_close(ctx);
out:
    kl_device_vtpm_dispose(&t);
    return rc;
}

int xl_cmd_vtpm_list(int argc, char **argv)
{
    kl_ctx *ctx;
    int c;

    while ((c = xl_getopt(argc, argv, "", "vtpm-list", 1)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    printf("%-3s %-2s %-36s %-6s %-5s %-6s %-5s %-10s\n", "Idx", "BE", "Uuid", "handle", "state",
           "evt-ch", "ring-ref", "BE-path");
    for (int a = optind; a < argc; a++) {
        kl_vtpminfo *l;
        uint32_t domid;
        int n;
        if (kl_domain_qualify(ctx, argv[a], &domid) < 0) {
            fprintf(stderr, "%s is an invalid domain identifier\n", argv[a]);
            continue;
        }
        if ((n = kl_vtpm_list(ctx, domid, &l)) < 0)
            continue;
        for (int i = 0; i < n; i++)
            printf("%-3u %-2u %-36s %6u %5d %6d %8d %-30s\n", l[i].devid, l[i].backend_id,
                   l[i].uuid, l[i].devid, l[i].frontend_state, l[i].evtch, l[i].ring_ref,
                   l[i].backend);
        free(l);
    }
    kl_ctx_close(ctx);
    return 0;
}

int xl_cmd_vtpm_detach(int argc, char **argv)
{
    const char *dev;
    kl_vtpminfo *l = NULL;
    uint32_t domid;
    kl_uuid u;
    kl_ctx *ctx;
    int c, n, rc = 1, found = 0;

    while ((c = xl_getopt(argc, argv, "", "vtpm-detach", 2)) != -1)
        return 2;
    dev = argv[optind + 1];
    if (!(ctx = xl_open()))
        return 1;
    if (xl_find_domain(ctx, argv[optind], &domid) < 0) {
        kl_ctx_close(ctx);
        return 1;
    }
    if ((n = kl_vtpm_list(ctx, domid, &l)) > 0)
        for (int i = 0; i < n; i++) {
            char num[16], us[KL_UUID_STRLEN];
            snprintf(num, sizeof(num), "%u", l[i].devid);
            if (kl_uuid_from_string(&u, dev) == 0) {
                kl_uuid_to_string(&u, us);
                found |= !strcmp(l[i].uuid, us);
            } else {
                found |= !strcmp(num, dev);
            }
        }
    free(l);
    if (!found)
        fprintf(stderr, "Unknown device %s.\n", dev);
    else if (kl_vtpm_remove(ctx, domid, dev, 0) < 0)
        fprintf(stderr, "%s\nlibxl_device_vtpm_remove failed.\n", kl_ctx_error(ctx));
    else
        rc = 0;
    kl_ctx_close(ctx);
    return rc;
}
