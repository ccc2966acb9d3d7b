/* xl_util.c - helpers shared by xl's commands: opening liblight, finding a domain, option
 * parsing with xl's usage behaviour, memory sizes. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "xl.h"

kl_ctx *xl_open(void)
{
    kl_ctx *ctx;
    const char *rd = getenv("KEEL_RUNDIR");
    int rc = kl_ctx_open(&ctx, NULL);

    if (rc < 0) {
        fprintf(stderr, "xl: cannot reach the Keel host in %s: %s (start it with `keel-host "
                "start`)\n", rd && *rd ? rd : KEEL_DEFAULT_RUNDIR, strerror(-rc));
        return NULL;
    }
    return ctx;
}

int xl_find_domain(kl_ctx *ctx, const char *arg, uint32_t *domid)
{
    int rc = kl_domain_qualify(ctx, arg, domid);

    if (rc < 0) {
        fprintf(stderr, "%s is an invalid domain identifier (rc=%d)\n", arg, rc == -ENOENT ? -6 : rc);
        return rc;
    }
    return 0;
}

static const struct option longopts[] = {
    { "all", 0, 0, 'a' }, { "wait", 0, 0, 'w' }, { "long", 0, 0, 'l' },
    { "verbose", 0, 0, 'v' }, { "quiet", 0, 0, 'q' }, { "dryrun", 0, 0, 'n' },
    { "defconfig", 1, 0, 'f' }, { "domain", 1, 0, 'd' }, { "weight", 1, 0, 'w' },
    { "cap", 1, 0, 'c' }, { "force", 0, 0, 'f' }, { "numa", 0, 0, 'n' }, { "help", 0, 0, 'h' },
    { "ignore-host", 0, 0, 'i' }, { "xml", 0, 0, 'x' }, { 0, 0, 0, 0 }
};

int xl_getopt(int argc, char **argv, const char *opts, const char *cmd, int min_args)
{
    char full[64];
    int c;

    snprintf(full, sizeof(full), "+h%s", opts);
    c = getopt_long(argc, argv, full, longopts, NULL);
    if (c == 'h') {
        xl_help(cmd);
        exit(0);
    }
    if (c == '?' || c == ':') {
        xl_help(cmd);
        return XL_USAGE_ERROR;
    }
    if (c == -1 && argc - optind < min_args) {
        fprintf(stderr, "'xl %s' requires at least %d argument%s.\n\n", cmd, min_args,
                min_args > 1 ? "s" : "");
        xl_help(cmd);
        return XL_USAGE_ERROR;
    }
    return c;
}

int64_t xl_parse_mem_kb(const char *s)
{
    char *end;
    unsigned long long v;
    int64_t mult;

    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    v = strtoull(s, &end, 10);
    switch (tolower((unsigned char)*end)) {
    case 0:
    case 'm': mult = 1024; break;
    case 't': mult = 1024LL * 1024 * 1024; break;
    case 'g': mult = 1024 * 1024; break;
    case 'k': mult = 1; break;
    case 'b': v /= 1024; mult = 1; break;
    default: return -EINVAL;
    }
    if (*end && end[1])
        return -EINVAL;
    if (v > (unsigned long long)(INT64_MAX / mult))
        return -ERANGE;
    return (int64_t)v * mult;
}

kl_ctx *xl_open_domain(const char *arg, uint32_t *domid)
{
    kl_ctx *ctx = xl_open();

    if (ctx && xl_find_domain(ctx, arg, domid) < 0) {
        kl_ctx_close(ctx);
        return NULL;
    }
    return ctx;
}

