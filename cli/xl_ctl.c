/* xl_ctl.c - xl's commands that act on domains: destroy, shutdown, reboot, pause, unpause,
 * rename, mem-max, mem-set, vcpu-pin and vcpu-set. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/kl_vcpu.h"
#include "xl.h"
#include "xl_conf.h"

/* Commands of the form `xl CMD <Domain>`: open, find, act, report. */
static int one_domain(int argc, char **argv, const char *opts, int (*act)(kl_ctx *, uint32_t),
                      const char *what)
{
    uint32_t domid;
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, opts, argv[0], 1)) != -1)
        if (c == XL_USAGE_ERROR)
            return 2;
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    if ((rc = act(ctx, domid)) < 0)
        fprintf(stderr, "%s failed: %s\n", what, kl_ctx_error(ctx));
    kl_ctx_close(ctx);
    return rc < 0;
}

int xl_cmd_destroy(int argc, char **argv)
{
    return one_domain(argc, argv, "f", kl_domain_destroy, "destroy");
}

int xl_cmd_pause(int argc, char **argv)
{
    return one_domain(argc, argv, "", kl_domain_pause, "pause");
}

int xl_cmd_unpause(int argc, char **argv)
{
    return one_domain(argc, argv, "", kl_domain_unpause, "unpause");
}

/* ---- shutdown / reboot ---- */
static int agent_timeout_ms(void)
{
    const char *t = getenv("KEEL_XL_SHUTDOWN_TIMEOUT");

    return t && *t ? atoi(t) * 1000 : 10000;
}

static int shut_one(kl_ctx *ctx, uint32_t domid, bool reboot)
{
    bool forced = false;
    int rc;

    fprintf(stderr, "%s domain %u\n", reboot ? "Rebooting" : "Shutting down", domid);
    rc = reboot ? kl_domain_reboot(ctx, domid, agent_timeout_ms(), &forced)
                : kl_domain_shutdown(ctx, domid, agent_timeout_ms(), &forced);
    if (rc < 0) {
        fprintf(stderr, "%s failed (%d): %s\n", reboot ? "reboot" : "shutdown", rc,
                kl_ctx_error(ctx));
        return rc;
    }
    if (forced && xl_g.verbose)
        fprintf(stderr, "xl: domain %u: no guest agent acted on control/shutdown; the core "
                "shut it down\n", domid);
    return 0;
}

static int shut_wait(kl_ctx *ctx, const uint32_t *ids, int n)
{
    fprintf(stderr, "Waiting for %d domains\n", n);
    for (int i = 0; i < n; i++) {
        int reason = -1, rc = kl_domain_wait_shutdown(ctx, ids[i], -1, &reason);
        if (rc == -ENOENT)
            fprintf(stderr, "Domain %u has been destroyed.\n", ids[i]);
        else if (rc == 0)
            fprintf(stderr, "Domain %u has been shut down, reason code %d\n", ids[i], reason);
        else
            return rc;
    }
    fprintf(stderr, "All domains have been shut down\n");
    return 0;
}

static int shutdown_reboot(int argc, char **argv, bool reboot)
{
    bool all = false, wait = false;
    uint32_t *ids = NULL;
    kl_ctx *ctx;
    int c, n = 0, rc = 0;

    while ((c = xl_getopt(argc, argv, "awFH", argv[0], 0)) != -1) {
        switch (c) {
        case 'a': all = true; break;
        case 'w': wait = true; break;
        case 'F': case 'H': break;
        default: return 2;
        }
    }
    if (!all && optind >= argc) {
        fprintf(stderr, "'xl %s' requires at least 1 argument.\n\n", argv[0]);
        xl_help(argv[0]);
        return 2;
    }
    if (!(ctx = xl_open()))
        return 1;
    if (all) {
        kl_dominfo *l;
        int nl = kl_domain_list(ctx, &l);
        if (nl < 0 || !(ids = calloc((size_t)nl + 1, sizeof(*ids)))) {
            kl_ctx_close(ctx);
            return 1;
        }
        for (int i = 0; i < nl; i++)
            if (l[i].domid != 0 && !l[i].shutdown)
                ids[n++] = l[i].domid;
        free(l);
    } else {
        if (!(ids = calloc(1, sizeof(*ids))) || xl_find_domain(ctx, argv[optind], &ids[0]) < 0) {
            free(ids);
            kl_ctx_close(ctx);
            return 1;
        }
        n = 1;
    }
    for (int i = 0; i < n; i++)
        if (shut_one(ctx, ids[i], reboot) < 0)
            rc = 1;
    if (!rc && wait && n && shut_wait(ctx, ids, n) < 0)
        rc = 1;
    free(ids);
    kl_ctx_close(ctx);
    return rc;
}

int xl_cmd_shutdown(int argc, char **argv)
{
    return shutdown_reboot(argc, argv, false);
}

int xl_cmd_reboot(int argc, char **argv)
{
    return shutdown_reboot(argc, argv, true);
}

/* ---- rename, memory ---- */
int xl_cmd_rename(int argc, char **argv)
{
    uint32_t domid;
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "rename", 2)) != -1)
        return 2;
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    if ((rc = kl_domain_rename(ctx, domid, argv[optind + 1])) < 0)
        fprintf(stderr, "Couldn't rename domain %u: %s\n", domid, kl_ctx_error(ctx));
    kl_ctx_close(ctx);
    return rc < 0;
}

static int mem_cmd(int argc, char **argv, bool max)
{
    uint32_t domid;
    int64_t kb;
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", argv[0], 2)) != -1)
        return 2;
    if ((kb = xl_parse_mem_kb(argv[optind + 1])) < 0) {
        fprintf(stderr, "invalid memory size: %s\n", argv[optind + 1]);
        return 1;
    }
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    rc = max ? kl_domain_setmaxmem(ctx, domid, (uint64_t)kb)
             : kl_domain_set_target(ctx, domid, (uint64_t)kb);
    if (rc < 0)
        fprintf(stderr, "cannot %s memory of domain %u: %s\n", max ? "set the maximum" : "set the "
                "target", domid, kl_ctx_error(ctx));
    kl_ctx_close(ctx);
    return rc < 0;
}

int xl_cmd_mem_max(int argc, char **argv)
{
    return mem_cmd(argc, argv, true);
}

int xl_cmd_mem_set(int argc, char **argv)
{
    return mem_cmd(argc, argv, false);
}

/* ---- scheduling: sched-credit, sched-credit2, sched-rtds are in xl_sched.c ---- */
static int parse_uint(const char *s, long max, uint32_t *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < 0 || v > max)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* ---- vCPUs ---- */
static int cpumap_parse(const char *s, uint64_t map[KEEL_CPUMAP_WORDS])
{
    kl_bitmap b = { 0, NULL };
    kl_diag *d = kl_diag_new();
    int rc = kl_cpulist_parse(&b, s, d);

    if (rc < 0)
        fprintf(stderr, "invalid CPU list '%s': %s\n", s,
                d && kl_diag_first_error(d) ? kl_diag_first_error(d) : "syntax");
    kl_diag_free(d);
    memset(map, 0, sizeof(uint64_t) * KEEL_CPUMAP_WORDS);
    for (unsigned i = 0; rc == 0 && i < KEEL_CPUMAP_WORDS * 64; i++)
        if (kl_bitmap_test(&b, i))
            map[i / 64] |= 1ULL << (i % 64);
    free(b.map);
    return rc;
}

/* The hard affinity given to vcpu-pin ANDed with xl.conf's vm.cpumask and vm.pv.cpumask (as
 * Xen's xl; -i skips them). Nothing is pinned when the result is empty. */
static int pin_masked(const char *hs, uint64_t hard[KEEL_CPUMAP_WORDS])
{
    char desc[600];

    if (!xl_conf_cpumask_set() || xl_conf_cpumask_and(hard) == 0)
        return 0;
    xl_conf_cpumask_describe(desc, sizeof(desc));
    fprintf(stderr, "vcpu hard affinity map is empty: the hard affinity '%s' ANDed with the "
            "global affinity masks %s leaves no CPU; nothing changed (-i ignores the masks)\n",
            hs, desc);
    return -ENOSPC;
}

int xl_cmd_vcpu_pin(int argc, char **argv)
{
    uint64_t hard[KEEL_CPUMAP_WORDS], soft[KEEL_CPUMAP_WORDS];
    uint32_t domid, first = 0, last;
    const char *hs, *ss;
    bool ignore_masks = false;
    kl_dominfo info;
    kl_ctx *ctx;
    int c, rc = 0;

    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--ignore-global-affinity-masks"))
            argv[i] = (char *)"-i";
    while ((c = xl_getopt(argc, argv, "fi", "vcpu-pin", 3)) != -1) {
        if (c == XL_USAGE_ERROR)
            return 2;
        if (c == 'i')
            ignore_masks = true;    /* xl.conf's vm.cpumask and vm.pv.cpumask */
    }
    hs = argv[optind + 2];
    ss = optind + 3 < argc ? argv[optind + 3] : "-";
    /* the lists are the same for every vCPU: parsed and masked once, before anything changes */
    if ((strcmp(hs, "-") && (cpumap_parse(hs, hard) < 0 ||
                             (!ignore_masks && pin_masked(hs, hard) < 0))) ||
        (strcmp(ss, "-") && cpumap_parse(ss, soft) < 0))
        return 1;
    if (!(ctx = xl_open()))
        return 1;
    if (xl_find_domain(ctx, argv[optind], &domid) < 0 || kl_domain_info(ctx, domid, &info) < 0) {
        kl_ctx_close(ctx);
        return 1;
    }
    last = info.vcpu_max_id;
    if (strcmp(argv[optind + 1], "all")) {
        if (parse_uint(argv[optind + 1], (long)info.vcpu_max_id, &first) < 0) {
            fprintf(stderr, "invalid vCPU '%s' (0-%u or all)\n", argv[optind + 1], info.vcpu_max_id);
            kl_ctx_close(ctx);
            return 1;
        }
        last = first;
    }
    for (uint32_t v = first; v <= last && !rc; v++) {
        uint64_t oh[KEEL_CPUMAP_WORDS], os[KEEL_CPUMAP_WORDS];
        if (kl_vcpu_get_affinity(ctx, domid, v, oh, os) < 0) {
            fprintf(stderr, "Getting vcpu affinity failed: %s\n", kl_ctx_error(ctx));
            rc = 1;
        }
        else if (kl_vcpu_set_affinity(ctx, domid, v, strcmp(hs, "-") ? hard : oh,
                                      strcmp(ss, "-") ? soft : os) < 0) {
            fprintf(stderr, "Setting vcpu affinity failed: %s\n", kl_ctx_error(ctx));
            rc = 1;
        }
    }
    kl_ctx_close(ctx);
    return rc;
}

int xl_cmd_vcpu_set(int argc, char **argv)
{
    uint32_t domid, n;
    kl_dominfo info;
    kl_ctx *ctx;
    int c, rc = 0;

    while ((c = xl_getopt(argc, argv, "i", "vcpu-set", 2)) != -1)
        if (c == XL_USAGE_ERROR)
            return 2;
    if (parse_uint(argv[optind + 1], KEEL_MAX_VCPUS, &n) < 0 || !n) {
        fprintf(stderr, "Invalid vCPUs count '%s'\n", argv[optind + 1]);
        return 1;
    }
    if (!(ctx = xl_open()))
        return 1;
    if (xl_find_domain(ctx, argv[optind], &domid) < 0 || kl_domain_info(ctx, domid, &info) < 0) {
        kl_ctx_close(ctx);
        return 1;
    }
    if (n > info.vcpu_max_id + 1) {
        fprintf(stderr, "Domain %u has only %u vCPUs (maxvcpus); cannot set %u\n", domid,
                info.vcpu_max_id + 1, n);
        kl_ctx_close(ctx);
        return 1;
    }
    /* as libxl does for PV guests: the availability nodes; the guest brings vCPUs up/down */
    for (uint32_t v = 0; v <= info.vcpu_max_id && !rc; v++) {
        char path[96];
        snprintf(path, sizeof(path), "/local/domain/%u/cpu/%u/availability", domid, v);
        if (kl_store_write(ctx, path, v < n ? "online" : "offline") < 0) {
            fprintf(stderr, "vcpu-set: %s\n", kl_ctx_error(ctx));
            rc = 1;
        }
    }
    kl_ctx_close(ctx);
    return rc;
}

