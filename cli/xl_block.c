/* xl_block.c - xl block-attach, block-list and block-detach over liblight's kl_disk_*, with
 * Xen's xl arguments, output columns, messages and exit codes. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/kl_diag.h"
#include "xl.h"

/* The spec components joined with commas, as xl's parse_disk_config_multistring. */
static char *join_spec(int argc, char **argv)
{
    size_t len = 1;
    char *s;

    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    if (!(s = calloc(1, len)))
        return NULL;
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, argv[i]);
    }
    return s;
}

static int parse_disk(int argc, char **argv, kl_device_disk *disk)
{
    kl_diag *d = kl_diag_new();
    char *spec = join_spec(argc, argv);
    int rc = spec && d ? kl_device_disk_parse_spec(disk, spec, d) : -ENOMEM;

    for (size_t i = 0; d && i < kl_diag_count(d); i++)
        fprintf(stderr, "%s\n", kl_diag_text(d, i));
    kl_diag_free(d);
    free(spec);
    return rc;
}

int xl_cmd_block_attach(int argc, char **argv)
{
    kl_device_disk disk;
    uint32_t domid;
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "block-attach", 2)) != -1)
        return 2;
    kl_device_disk_init(&disk);
    if (parse_disk(argc - optind - 1, argv + optind + 1, &disk) < 0) {
        kl_device_disk_dispose(&disk);
        return 1;
    }
    if (xl_g.dryrun) {
        char *json = kl_device_disk_to_json(&disk);
        printf("disk: %s\n", json ? json : "null");
        free(json);
        kl_device_disk_dispose(&disk);
        return 0;
    }
    if (!(ctx = xl_open())) {
        kl_device_disk_dispose(&disk);
        return 1;
    }
    if (kl_domain_qualify(ctx, argv[optind], &domid) < 0) {
        fprintf(stderr, "%s is an invalid domain identifier\n", argv[optind]);
        rc = 1;
    } else if (kl_disk_add(ctx, domid, &disk, NULL) < 0) {
        fprintf(stderr, "%s\nlibxl_device_disk_add failed.\n", kl_ctx_error(ctx));
        rc = 1;
    } else
        rc = 0;
    kl_device_disk_dispose(&disk);
    kl_ctx_close(ctx);
    return rc;
}

int xl_cmd_block_list(int argc, char **argv)
{
    kl_ctx *ctx;
    int c;

    while ((c = xl_getopt(argc, argv, "", "block-list", 1)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state", "evt-ch",
           "ring-ref", "BE-path");
    for (int a = optind; a < argc; a++) {
        kl_diskinfo *l;
        uint32_t domid;
        int n;
        if (kl_domain_qualify(ctx, argv[a], &domid) < 0) {
            fprintf(stderr, "%s is an invalid domain identifier\n", argv[a]);
            continue;
        }
        if ((n = kl_disk_list(ctx, domid, &l)) < 0)
            continue;
        for (int i = 0; i < n; i++)
            printf("%-5u %-3u %-6u %-5d %-6d %-8d %-30s\n", l[i].devid, l[i].backend_id,
                   l[i].frontend_id, l[i].frontend_state, l[i].evtch, l[i].ring_ref,
                   l[i].backend);
        free(l);
    }
    kl_ctx_close(ctx);
    return 0;
}

int xl_cmd_block_detach(int argc, char **argv)
{
    bool force = false;
    uint32_t domid, devid;
    kl_diskinfo *l = NULL;
    kl_ctx *ctx;
    int c, n, rc = 1, found = 0;

    while ((c = xl_getopt(argc, argv, "f", "block-detach", 2)) != -1) {
        if (c != 'f')
            return 2;
        force = true;
    }
    if (!(ctx = xl_open()))
        return 1;
    if (xl_find_domain(ctx, argv[optind], &domid) < 0) {
        kl_ctx_close(ctx);
        return 1;
    }
    if (kl_disk_vdev_to_devid(argv[optind + 1], &devid) == 0 && (n = kl_disk_list(ctx, domid, &l)) > 0)
        for (int i = 0; i < n; i++)
            found |= l[i].devid == devid;
    free(l);
    if (!found)
        fprintf(stderr, "Error: Device %s not connected.\n", argv[optind + 1]);
    else if (kl_disk_remove(ctx, domid, argv[optind + 1], force ? KL_DISK_FORCE : 0) < 0)
        fprintf(stderr, "%s\nlibxl_device_disk_%s failed.\n", kl_ctx_error(ctx),
                force ? "destroy" : "safe_remove");
    else
        rc = 0;
    kl_ctx_close(ctx);
    return rc;
}
