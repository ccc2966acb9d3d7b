/* xl_net.c - xl network-attach, network-list and network-detach over liblight's kl_nic_*, with
 * Xen's xl arguments, output columns, messages and exit codes. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keel/kl_diag.h"
#include "xl.h"
#include "xl_conf.h"

/* The key=value arguments joined with commas and parsed as one vif= entry. */
static int parse_nic(int argc, char **argv, kl_device_nic *nic)
{
    kl_diag *d = kl_diag_new();
    size_t len = 1;
    char *spec;
    int rc;

    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    if (!d || !(spec = calloc(1, len))) {
        kl_diag_free(d);
        return -ENOMEM;
    }
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(spec, ",");
        strcat(spec, argv[i]);
    }
    rc = kl_device_nic_parse_spec(nic, spec, d);
    for (size_t i = 0; i < kl_diag_count(d); i++)
        fprintf(stderr, "%s\n", kl_diag_text(d, i));
    kl_diag_free(d);
    free(spec);
    return rc;
}

int xl_cmd_network_attach(int argc, char **argv)
{
    kl_device_nic nic;
    uint32_t domid;
    kl_ctx *ctx;
    int c, rc = 1;

    while ((c = xl_getopt(argc, argv, "", "network-attach", 1)) != -1)
        return 2;
    kl_device_nic_init(&nic);
    if (parse_nic(argc - optind - 1, argv + optind + 1, &nic) < 0 ||
        xl_conf_apply_nic(&nic) < 0)                    /* xl.conf's vif defaults */
        goto out;
    if (xl_g.dryrun) {
        char *json = kl_device_nic_to_json(&nic);
        printf("vif: %s\n", json ? json : "null");
        free(json);
        rc = 0;
        goto out;
    }
    if (!(ctx = xl_open()))
        goto out;
    if (kl_domain_qualify(ctx, argv[optind], &domid) < 0)
        fprintf(stderr, "%s is an invalid domain identifier\n", argv[optind]);
    else if (kl_nic_add(ctx, domid, &nic, NULL) < 0)
        fprintf(stderr, "%s\nlibxl_device_nic_add failed.\n", kl_ctx_error(ctx));
    else
        rc = 0;
    kl_ctx_close(ctx);
out:
    kl_device_nic_dispose(&nic);
    return rc;
}

int xl_cmd_network_list(int argc, char **argv)
{
    kl_ctx *ctx;
    int c;

    while ((c = xl_getopt(argc, argv, "", "network-list", 1)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", "Idx", "BE", "Mac Addr.", "handle",
           "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path");
    for (int a = optind; a < argc; a++) {
        kl_nicinfo *l;
        uint32_t domid;
        int n;
        if (kl_domain_qualify(ctx, argv[a], &domid) < 0) {
            fprintf(stderr, "%s is an invalid domain identifier\n", argv[a]);
            continue;
        }
        if ((n = kl_nic_list(ctx, domid, &l)) < 0)
            continue;
        for (int i = 0; i < n; i++)
            printf("%-3u %-2u %s%6u %5d %6d %5d/%-11d %-30s\n", l[i].devid, l[i].backend_id,
                   l[i].mac, l[i].devid, l[i].frontend_state, l[i].evtch, l[i].rref_tx,
                   l[i].rref_rx, l[i].backend);
        free(l);
    }
    kl_ctx_close(ctx);
    return 0;
}

int xl_cmd_network_detach(int argc, char **argv)
{
    const char *dev;
    kl_nicinfo *l = NULL;
    uint32_t domid;
    kl_ctx *ctx;
    int c, n, rc = 1, found = 0;

    while ((c = xl_getopt(argc, argv, "", "network-detach", 2)) != -1)
        return 2;
    dev = argv[optind + 1];
    if (!(ctx = xl_open()))
        return 1;
    if (xl_find_domain(ctx, argv[optind], &domid) < 0) {
        kl_ctx_close(ctx);
        return 1;
    }
    if ((n = kl_nic_list(ctx, domid, &l)) > 0)
        for (int i = 0; i < n; i++) {
            char num[16];
            snprintf(num, sizeof(num), "%u", l[i].devid);
            found |= strchr(dev, ':') ? !strcasecmp(l[i].mac, dev) : !strcmp(num, dev);
        }
    free(l);
    if (!found)
        fprintf(stderr, "Unknown device %s.\n", dev);
    else if (kl_nic_remove(ctx, domid, dev, 0) < 0)
        fprintf(stderr, "%s\nlibxl_device_nic_del failed.\n", kl_ctx_error(ctx));
    else
        rc = 0;
    kl_ctx_close(ctx);
    return rc;
}
