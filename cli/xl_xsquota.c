/* xl_xsquota.c - xl xenstore-quota-get / xenstore-quota-set: the store's quotas, global (-g)
 * or of one domain, with Xen's arguments, output and messages. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/kl_ops.h"
#include "xl.h"

/* -g: the global values (-1); else a domain by name or id. */
static int target(kl_ctx *ctx, const char *arg, int64_t *domid)
{
    uint32_t id;

    if (!strcmp(arg, "-g")) {
        *domid = -1;
        return 0;
    }
    int rc;

    if ((rc = xl_find_domain(ctx, arg, &id)) < 0)
        return rc;
    *domid = id;
    return 0;
}

int xl_cmd_xenstore_quota_get(int argc, char **argv)
{
    kl_xs_quota *q;
    int64_t domid;
    kl_ctx *ctx;
    int n;

    if (argc != 2) {
        fprintf(stderr, "Domain or \"-g\" must be specified.\n");
        return 1;
    }
    if (!(ctx = xl_open()))
        return 1;
    if (target(ctx, argv[1], &domid) < 0 || (n = kl_xs_quota_get(ctx, domid, &q)) < 0) {
        fprintf(stderr, "Quota could not be obtained.\n");
        kl_ctx_close(ctx);
        return 1;
    }
    printf("Quota name           Quota value\n");
    printf("--------------------------------\n");
    for (int i = 0; i < n; i++)
        printf("%-20s %8u\n", q[i].name, q[i].value);
    free(q);
    kl_ctx_close(ctx);
    return 0;
}

/* "name=value", value a number that fits 32 bits (decimal, 0x hex or 0 octal, as Xen's xl). */
static int parse_item(const char *s, char *name, size_t nlen, uint32_t *val)
{
    const char *eq = strchr(s, '=');
    unsigned long v;
    char *end;

    if (!eq) {
        fprintf(stderr, "Quota specification \"%s\" lacks \"=\".\n", s);
        return -EINVAL;
    }
    errno = 0;
    v = strtoul(eq + 1, &end, 0);
    if (errno || !eq[1] || *end || v > UINT32_MAX || (size_t)(eq - s) >= nlen) {
        fprintf(stderr, "Quota specification \"%s\" uses illegal value \"%s\".\n", s, eq + 1);
        return -EINVAL;
    }
    memcpy(name, s, (size_t)(eq - s));
    name[eq - s] = 0;
    *val = (uint32_t)v;
    return 0;
}

int xl_cmd_xenstore_quota_set(int argc, char **argv)
{
    char names[64][32];
    uint32_t vals[64];
    int64_t domid;
    kl_ctx *ctx;
    int rc = 0;

    if (argc < 3) {
        fprintf(stderr, "Not enough parameters.\n");
        xl_help("xenstore-quota-set");
        return 1;
    }
    if (argc - 2 > 64) {
        fprintf(stderr, "Too many quota specifications (at most 64).\n");
        return 1;
    }
    for (int i = 2; i < argc; i++)             /* all checked before any is set */
        if (parse_item(argv[i], names[i - 2], sizeof(names[0]), &vals[i - 2]) < 0)
            return 1;
    if (!(ctx = xl_open()))
        return 1;
    if (target(ctx, argv[1], &domid) < 0)
        rc = -1;
    for (int i = 2; rc == 0 && i < argc; i++)
        if ((rc = kl_xs_quota_set(ctx, domid, names[i - 2], vals[i - 2])) < 0)
            fprintf(stderr, "%s\n", kl_ctx_error(ctx));
    if (rc < 0)
        fprintf(stderr, "Quota could not be set.\n");
    kl_ctx_close(ctx);
    return rc < 0;
}
