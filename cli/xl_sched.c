/* xl_sched.c - xl sched-credit, sched-credit2 and sched-rtds with Xen's options (short and
 * long), output formats and messages: per-domain weight and cap, per-pool parameters (-s, -p),
 * per-vCPU RTDS period/budget/extratime. All through liblight (keel/kl_cpupool.h). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/kl_cpupool.h"
#include "xl.h"

static int sched_getopt(int argc, char **argv, const char *opts, const struct option *lo,
                        const char *cmd)
{
    int c = getopt_long(argc, argv, opts, lo, NULL);

    if (c == 'h') {
        xl_help(cmd);
        exit(0);
    }
    if (c == '?' || c == ':') {
        xl_help(cmd);
        return XL_USAGE_ERROR;
    }
    return c;
}

static int num(const char *s)
{
    return (int)strtol(s, NULL, 10);       /* as Xen's xl: strtol, no further checks here */
}

static int find_pool(kl_ctx *ctx, const char *name, uint32_t *poolid)
{
    int rc = kl_cpupool_qualify(ctx, name, poolid);

    if (rc < 0) {
        fprintf(stderr, "unknown cpupool '%s'\n", name);
        return rc;
    }
    return 0;
}

/* ---- per-domain rows ---- */
static int weight_row(kl_ctx *ctx, const kl_dominfo *d, kl_scheduler want)
{
    kl_scheduler s;
    uint32_t w, cap;

    if (!d) {
        printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
        return 0;
    }
    if (kl_domain_sched_get(ctx, d->domid, &s, &w, &cap) < 0) {
        fprintf(stderr, "libxl_domain_sched_params_get failed.\n");
        return 1;
    }
    if (s != want) {
        fprintf(stderr, "libxl_domain_sched_params_get returned %s not %s.\n",
                kl_scheduler_to_string(s), kl_scheduler_to_string(want));
        return 1;
    }
    printf("%-33s %4u %6u %4u\n", d->name[0] ? d->name : "(null)", d->domid, w, cap);
    return 0;
}

static void pool_line(kl_ctx *ctx, const kl_cpupoolinfo *p)
{
    kl_sched_pool_params sp;

    if (p->sched == KL_SCHEDULER_RTDS)
        printf("Cpupool %s: sched=RTDS\n", p->name);
    else if (kl_sched_pool_get(ctx, p->poolid, &sp) < 0)
        printf("Cpupool %s: [sched params unavailable]\n", p->name);
    else if (p->sched == KL_SCHEDULER_CREDIT)
        printf("Cpupool %s: tslice=%ums ratelimit=%uus migration-delay=%uus\n", p->name,
               sp.tslice_ms, sp.ratelimit_us, sp.vcpu_migr_delay_us);
    else
        printf("Cpupool %s: ratelimit=%uus\n", p->name, sp.ratelimit_us);
}

typedef int row_fn(kl_ctx *ctx, const kl_dominfo *d, kl_scheduler want);

/* Every pool of scheduler s (or only pool_name): its line, a header, its domains' rows. */
static int all_pools(kl_ctx *ctx, kl_scheduler s, const char *pool_name, row_fn *row)
{
    kl_cpupoolinfo *pl;
    kl_dominfo *dl;
    uint32_t only = 0;
    int np, nd, rc = 0;

    if (pool_name && find_pool(ctx, pool_name, &only) < 0)
        return 1;
    if ((nd = kl_domain_list(ctx, &dl)) < 0) {
        fprintf(stderr, "libxl_list_domain failed.\n");
        return 1;
    }
    if ((np = kl_cpupool_list(ctx, &pl)) < 0) {
        fprintf(stderr, "error getting cpupool info\n");
        free(dl);
        return 1;
    }
    for (int p = 0; p < np && !rc; p++) {
        if (pl[p].sched != s || (pool_name && pl[p].poolid != only))
            continue;
        pool_line(ctx, &pl[p]);
        row(ctx, NULL, s);
        for (int i = 0; i < nd && !rc; i++)
            if (dl[i].cpupool == pl[p].poolid)
                rc = row(ctx, &dl[i], s);
    }
    free(pl);
    free(dl);
    return 0;                                  /* as Xen's xl: listing always exits 0 */
}

static int pool_params(kl_ctx *ctx, kl_scheduler s, const char *pool, const int *t, const int *r,
                       const int *m)
{
    kl_cpupoolinfo pi;
    kl_sched_pool_params sp;
    uint32_t poolid = 0;

    if (pool && find_pool(ctx, pool, &poolid) < 0)
        return 1;
    if (kl_cpupool_info(ctx, poolid, &pi) < 0)
        return 1;
    if (!t && !r && !m) {
        pool_line(ctx, &pi);
        return 0;
    }
    if (kl_sched_pool_get(ctx, poolid, &sp) < 0) {
        fprintf(stderr, "libxl_sched_%s_params_get failed.\n", kl_scheduler_to_string(s));
        return 1;
    }
    sp.sched = s;
    if (t)
        sp.tslice_ms = (uint32_t)*t;
    if (r)
        sp.ratelimit_us = (uint32_t)*r;
    if (m)
        sp.vcpu_migr_delay_us = (uint32_t)*m;
    if ((t && *t < 0) || (r && *r < 0) || (m && *m < 0) || kl_sched_pool_set(ctx, poolid, &sp) < 0) {
        fprintf(stderr, "libxl_sched_%s_params_set failed.\n", kl_scheduler_to_string(s));
        fprintf(stderr, "%s\n", kl_ctx_error(ctx));
        return 1;
    }
    return 0;
}

static int domain_weight(kl_ctx *ctx, kl_scheduler s, const char *dom, const int *w,
                         const int *c)
{
    kl_dominfo d;
    uint32_t domid;

    if (xl_find_domain(ctx, dom, &domid) < 0 || kl_domain_info(ctx, domid, &d) < 0)
        return 1;
    if (!w && !c) {
        weight_row(ctx, NULL, s);
        return weight_row(ctx, &d, s);
    }
    if ((w && (*w < 1 || *w > KEEL_SCHED_WEIGHT_MAX)) || (c && *c < 0) ||
        kl_domain_sched_set(ctx, domid, w ? *w : -1, c ? *c : -1) < 0) {
        fprintf(stderr, "libxl_domain_sched_params_set failed.\n");
        if (kl_ctx_error(ctx)[0])
            fprintf(stderr, "%s\n", kl_ctx_error(ctx));
        return 1;
    }
    return 0;
}

#define PTR(flag, var) ((flag) ? &(var) : NULL)

/* Shared by sched-credit and sched-credit2 (credit2 has no -t -m). */
static int credit_cmd(int argc, char **argv, kl_scheduler s)
{
    static const struct option lo[] = {
        { "domain", 1, 0, 'd' }, { "weight", 1, 0, 'w' }, { "cap", 1, 0, 'c' },
        { "schedparam", 0, 0, 's' }, { "tslice_ms", 1, 0, 't' }, { "ratelimit_us", 1, 0, 'r' },
        { "migration_delay_us", 1, 0, 'm' }, { "cpupool", 1, 0, 'p' }, { "help", 0, 0, 'h' },
        { 0, 0, 0, 0 } };
    const char *dom = NULL, *pool = NULL, *cmd = argv[0];
    bool ow = false, oc = false, os = false, ot = false, or_ = false, om = false;
    int w = 0, cap = 0, t = 0, r = 0, m = 0, c, rc;
    kl_ctx *ctx;

    while ((c = sched_getopt(argc, argv, s == KL_SCHEDULER_CREDIT ? "+hd:w:c:p:t:r:m:s"
                                                                  : "+hd:w:c:p:r:s", lo, cmd)) != -1) {
        switch (c) {
        case 'd': dom = optarg; break;
        case 'w': w = num(optarg); ow = true; break;
        case 'c': cap = num(optarg); oc = true; break;
        case 't': t = num(optarg); ot = true; break;
        case 'r': r = num(optarg); or_ = true; break;
        case 'm': m = num(optarg); om = true; break;
        case 's': os = true; break;
        case 'p': pool = optarg; break;
        default: return 2;
        }
    }
    if ((pool || (os && s == KL_SCHEDULER_CREDIT)) && (dom || ow || oc)) {
        fprintf(stderr, s == KL_SCHEDULER_CREDIT ? "Specifying a cpupool or schedparam is not "
                "allowed with domain options.\n" : "Specifying a cpupool is not allowed with "
                "other options.\n");
        return 1;
    }
    if (!dom && (ow || oc)) {
        fprintf(stderr, "Must specify a domain.\n");
        return 1;
    }
    if (!os && (ot || or_ || om) && s == KL_SCHEDULER_CREDIT) {
        fprintf(stderr, "Must specify schedparam to set schedule parameter values.\n");
        return 1;
    }
    if (!(ctx = xl_open()))
        return 1;
    if (os)
        rc = pool_params(ctx, s, pool, PTR(ot, t), PTR(or_, r), PTR(om, m));
    else if (!dom)
        rc = all_pools(ctx, s, pool, weight_row);
    else
        rc = domain_weight(ctx, s, dom, PTR(ow, w), PTR(oc, cap));
    kl_ctx_close(ctx);
    return rc;
}

int xl_cmd_sched_credit(int argc, char **argv)
{
    return credit_cmd(argc, argv, KL_SCHEDULER_CREDIT);
}

int xl_cmd_sched_credit2(int argc, char **argv)
{
    return credit_cmd(argc, argv, KL_SCHEDULER_CREDIT2);
}

/* ---- sched-rtds ---- */
static int rtds_dom_row(kl_ctx *ctx, const kl_dominfo *d, kl_scheduler want)
{
    kl_rtds_params p;

    (void)want;
    if (!d) {
        printf("%-33s %4s %9s %9s %10s\n", "Name", "ID", "Period", "Budget", "Extratime");
        return 0;
    }
    if (kl_vcpu_rtds_get(ctx, d->domid, 0, &p) < 0) {
        if (d->domid == 0)                    /* Domain-0: no vCPU threads, Xen's defaults */
            p = (kl_rtds_params){ KEEL_RTDS_DEFAULT_PERIOD_US, KEEL_RTDS_DEFAULT_BUDGET_US, 1, 0 };
        else {
            fprintf(stderr, "libxl_domain_sched_params_get failed.\n");
            return 1;
        }
    }
    printf("%-33s %4u %9u %9u %10s\n", d->name[0] ? d->name : "(null)", d->domid, p.period_us,
           p.budget_us, p.extratime ? "yes" : "no");
    return 0;
}

static int rtds_vcpu_rows(kl_ctx *ctx, const kl_dominfo *d, const int *ids, int n)
{
    if (!d) {
        printf("%-33s %4s %4s %9s %9s %10s\n", "Name", "ID", "VCPU", "Period", "Budget",
               "Extratime");
        return 0;
    }
    for (int i = 0; i < (ids ? n : (int)d->vcpu_max_id + 1); i++) {
        kl_rtds_params p;
        int v = ids ? ids[i] : i;
        if (d->domid == 0)
            continue;
        if (v < 0 || kl_vcpu_rtds_get(ctx, d->domid, (uint32_t)v, &p) < 0) {
            fprintf(stderr, "libxl_vcpu_sched_params_get failed.\n");
            return 1;
        }
        printf("%-33s %4u %4d %9u %9u %10s\n", d->name[0] ? d->name : "(null)", d->domid, v,
               p.period_us, p.budget_us, p.extratime ? "yes" : "no");
    }
    return 0;
}

static int rtds_all_vcpus(kl_ctx *ctx, const kl_dominfo *d, kl_scheduler want)
{
    (void)want;
    return rtds_vcpu_rows(ctx, d, NULL, 0);
}

struct rtds_args {
    int v[KEEL_MAX_VCPUS], p[KEEL_MAX_VCPUS], b[KEEL_MAX_VCPUS], e[KEEL_MAX_VCPUS];
    int nv, np, nb, ne;
    bool all;
};

static int rtds_set(kl_ctx *ctx, uint32_t domid, const struct rtds_args *a)
{
    kl_dominfo d;
    int n = a->all ? 1 : a->nv;

    if (kl_domain_info(ctx, domid, &d) < 0)
        return 1;
    for (int i = 0; i < (a->all ? (int)d.vcpu_max_id + 1 : n); i++) {
        int k = a->all ? 0 : i;
        kl_rtds_params p = { 0, 0, true, 0 };
        uint32_t v = a->all ? (uint32_t)i : (uint32_t)a->v[i];
        if (kl_vcpu_rtds_get(ctx, domid, v, &p) < 0 && !a->all && a->v[i] < 0)
            return 1;
        p.period_us = (uint32_t)a->p[k];
        p.budget_us = (uint32_t)a->b[k];
        if (a->ne)
            p.extratime = a->e[k] != 0;
        if (a->p[k] < 0 || a->b[k] < 0 || kl_vcpu_rtds_set(ctx, domid, v, &p) < 0) {
            fprintf(stderr, "libxl_vcpu_sched_params_set%s failed.\n", a->all ? "_all" : "");
            fprintf(stderr, "%s\n", kl_ctx_error(ctx));
            return 1;
        }
    }
    return 0;
}

static int push(int *arr, int *n, int v)
{
    if (*n >= KEEL_MAX_VCPUS)
        return -E2BIG;
    arr[(*n)++] = v;
    return 0;
}

int xl_cmd_sched_rtds(int argc, char **argv)
{
    static const struct option lo[] = {
        { "domain", 1, 0, 'd' }, { "period", 1, 0, 'p' }, { "budget", 1, 0, 'b' },
        { "extratime", 1, 0, 'e' }, { "vcpuid", 1, 0, 'v' }, { "cpupool", 1, 0, 'c' },
        { "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
    struct rtds_args *a = calloc(1, sizeof(*a));
    const char *dom = NULL, *pool = NULL;
    kl_ctx *ctx = NULL;
    uint32_t domid;
    int c, rc = 1;

    if (!a)
        return 1;
    while ((c = sched_getopt(argc, argv, "+hd:p:b:e:v:c:", lo, "sched-rtds")) != -1) {
        int bad = 0;
        switch (c) {
        case 'd': dom = optarg; break;
        case 'p': bad = push(a->p, &a->np, num(optarg)); break;
        case 'b': bad = push(a->b, &a->nb, num(optarg)); break;
        case 'e':
            if (strcmp(optarg, "0") && strcmp(optarg, "1")) {
                fprintf(stderr, "Invalid extratime.\n");
                goto out;
            }
            bad = push(a->e, &a->ne, num(optarg));
            break;
        case 'v':
            if (!strcmp(optarg, "all"))
                a->all = true;
            else
                bad = push(a->v, &a->nv, num(optarg));
            break;
        case 'c': pool = optarg; break;
        default: rc = 2; goto out;
        }
        if (bad) {
            fprintf(stderr, "Too many -%c options.\n", c);
            goto out;
        }
    }
    if (pool && (dom || a->np || a->nb || a->ne || a->nv || a->all)) {
        fprintf(stderr, "Specifying a cpupool is not allowed with other options.\n");
        goto out;
    }
    if (!dom && (a->np || a->nb || a->ne || a->nv)) {
        fprintf(stderr, "Missing parameters.\n");
        goto out;
    }
    if (dom && !a->nv && !a->all && (a->np || a->nb || a->ne)) {
        fprintf(stderr, "Must specify VCPU.\n");
        goto out;
    }
    if (a->nv && a->all) {
        fprintf(stderr, "Incorrect VCPU IDs.\n");
        goto out;
    }
    /* Keel: -e may be left out (the vCPU keeps its extratime); Xen wants one per -p */
    if ((a->nv > a->nb && a->nb) || (a->nv > a->np && a->np) || a->np != a->nb ||
        (a->ne && a->ne != a->np)) {
        fprintf(stderr, "Incorrect number of period, budget and extratime\n");
        goto out;
    }
    if (!(ctx = xl_open()))
        goto out;
    if (!dom)
        rc = all_pools(ctx, KL_SCHEDULER_RTDS, pool, a->all ? rtds_all_vcpus : rtds_dom_row);
    else if (xl_find_domain(ctx, dom, &domid) < 0)
        rc = 1;
    else if (!a->nv && !a->all) {
        kl_dominfo d;
        rtds_dom_row(ctx, NULL, KL_SCHEDULER_RTDS);
        rc = kl_domain_info(ctx, domid, &d) < 0 || rtds_dom_row(ctx, &d, KL_SCHEDULER_RTDS);
    } else if (!a->np) {
        kl_dominfo d;
        rtds_vcpu_rows(ctx, NULL, NULL, 0);
        rc = kl_domain_info(ctx, domid, &d) < 0 ||
             rtds_vcpu_rows(ctx, &d, a->nv ? a->v : NULL, a->nv);
    } else
        rc = rtds_set(ctx, domid, a);
out:
    if (ctx)
        kl_ctx_close(ctx);
    free(a);
    return rc;
}
