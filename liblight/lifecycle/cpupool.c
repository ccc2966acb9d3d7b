/* cpupool.c - cpupools and schedulers through the core (keel/kl_cpupool.h): listing, creating,
 * destroying, renaming pools, moving CPUs and domains, per-pool and per-domain scheduler
 * parameters, RTDS per-vCPU parameters; placing a new domain in its config's pool (pool=);
 * the host's hw_caps words and CPU nodes. */
#include "config.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lc_int.h"
#include "keel/kl_cpupool.h"

static const struct { kl_scheduler s; const char *name; } sched_names[] = {
    { KL_SCHEDULER_CREDIT, "credit" }, { KL_SCHEDULER_CREDIT2, "credit2" },
    { KL_SCHEDULER_RTDS, "rtds" },
};

const char *kl_scheduler_to_string(kl_scheduler s)
{
    for (size_t i = 0; i < sizeof(sched_names) / sizeof(sched_names[0]); i++)
        if (sched_names[i].s == s)
            return sched_names[i].name;
    return "unknown";
}

int kl_scheduler_from_string(const char *s, kl_scheduler *out)
{
    for (size_t i = 0; i < sizeof(sched_names) / sizeof(sched_names[0]); i++)
        if (!strcmp(sched_names[i].name, s)) {
            *out = sched_names[i].s;
            return 0;
        }
    return -EINVAL;
}

static int pool_op(kl_ctx *ctx, struct keel_sysctl_cpupool *op, const char *what)
{
    int rc = kc_cpupool_op(ctx->kc, op);

    if (rc < 0)
        return kl__err(ctx, rc, "%s: %s", what, strerror(-rc));
    return 0;
}

static void info_from(const struct keel_sysctl_cpupool *op, kl_cpupoolinfo *i)
{
    i->poolid = op->cpupool_id;
    snprintf(i->name, sizeof(i->name), "%.63s", op->name);
    i->sched = (kl_scheduler)op->sched_id;
    i->n_dom = op->n_dom;
    memcpy(i->cpumap, op->cpumap, sizeof(i->cpumap));
}

int kl_cpupool_info(kl_ctx *ctx, uint32_t poolid, kl_cpupoolinfo *info)
{
    struct keel_sysctl_cpupool op = { .op = KEEL_CPUPOOL_OP_INFO, .cpupool_id = poolid };
    int rc = kc_cpupool_op(ctx->kc, &op);

    if (rc == 0 && op.cpupool_id != poolid)
        rc = -ENOENT;
    if (rc < 0)
        return kl__err(ctx, rc, "cpupool %u: %s", poolid, strerror(-rc));
    info_from(&op, info);
    return 0;
}

int kl_cpupool_list(kl_ctx *ctx, kl_cpupoolinfo **out)
{
    kl_cpupoolinfo *l = calloc(KEEL_CPUPOOL_MAX, sizeof(*l));
    uint32_t next = 0;
    int n = 0, rc;

    if (!l)
        return kl__err(ctx, -ENOMEM, "cpupool list: out of memory");
    while (next < KEEL_CPUPOOL_MAX && n < KEEL_CPUPOOL_MAX) {
        struct keel_sysctl_cpupool op = { .op = KEEL_CPUPOOL_OP_INFO, .cpupool_id = next };
        if ((rc = kc_cpupool_op(ctx->kc, &op)) == -ENOENT)
            break;
        if (rc < 0) {
            free(l);
            return kl__err(ctx, rc, "cpupool list: %s", strerror(-rc));
        }
        info_from(&op, &l[n++]);
        next = op.cpupool_id + 1;
    }
    *out = l;
    return n;
}

int kl_cpupool_qualify(kl_ctx *ctx, const char *s, uint32_t *poolid)
{
    kl_cpupoolinfo *l;
    char *end;
    unsigned long id = strtoul(s, &end, 10);
    int n = kl_cpupool_list(ctx, &l), rc = -ENOENT;

    if (n < 0)
        return n;
    for (int i = 0; i < n && rc; i++)
        if ((*s && !*end && l[i].poolid == id) || !strcmp(l[i].name, s)) {
            *poolid = l[i].poolid;
            rc = 0;
        }
    free(l);
    return rc ? kl__err(ctx, rc, "no cpupool '%s'", s) : 0;
}

int kl_cpupool_freeinfo(kl_ctx *ctx, uint64_t cpus[KEEL_CPUMAP_WORDS])
{
    struct keel_sysctl_cpupool op = { .op = KEEL_CPUPOOL_OP_FREEINFO };
    int rc = pool_op(ctx, &op, "free CPUs");

    if (rc == 0)
        memcpy(cpus, op.cpumap, sizeof(op.cpumap));
    return rc;
}

static int cpu_op(kl_ctx *ctx, uint32_t poolid, uint32_t cpu, bool add)
{
    struct keel_sysctl_cpupool op = { .op = add ? KEEL_CPUPOOL_OP_ADDCPU : KEEL_CPUPOOL_OP_RMCPU,
                                      .cpupool_id = poolid, .cpu = cpu };
    int rc = kc_cpupool_op(ctx->kc, &op);

    if (rc < 0)
        return kl__err(ctx, rc, "cpupool %u: %s CPU %u: %s", poolid, add ? "adding" : "removing",
                       cpu, rc == -EBUSY ? (add ? "the CPU is in another cpupool"
                                                : "the last CPU of a cpupool with domains")
                                         : rc == -EINVAL ? "no such CPU on this host"
                                         : rc == -ENOENT ? "the CPU is not in it" : strerror(-rc));
    return 0;
}

int kl_cpupool_cpu_add(kl_ctx *ctx, uint32_t poolid, uint32_t cpu)
{
    return cpu_op(ctx, poolid, cpu, true);
}

int kl_cpupool_cpu_remove(kl_ctx *ctx, uint32_t poolid, uint32_t cpu)
{
    return cpu_op(ctx, poolid, cpu, false);
}

int kl_cpupool_destroy(kl_ctx *ctx, uint32_t poolid)
{
    struct keel_sysctl_cpupool op = { .op = KEEL_CPUPOOL_OP_DESTROY, .cpupool_id = poolid };
    int rc = kc_cpupool_op(ctx->kc, &op);

    if (rc < 0)
        return kl__err(ctx, rc, "cpupool %u: %s", poolid,
                       rc == -EBUSY ? (poolid ? "it still has domains" : "Pool-0 stays")
                                    : strerror(-rc));
    return 0;
}

static int name_op(kl_ctx *ctx, struct keel_sysctl_cpupool *op, const char *name)
{
    int rc;

    if (strlen(name) >= sizeof(op->name))
        return kl__err(ctx, -EINVAL, "cpupool name '%.20s...' is longer than %zu characters", name,
                       sizeof(op->name) - 1);
    snprintf(op->name, sizeof(op->name), "%s", name);
    if ((rc = kc_cpupool_op(ctx->kc, op)) < 0)
        return kl__err(ctx, rc, "cpupool name '%s': %s", name,
                       rc == -EEXIST ? "already in use" : rc == -EINVAL
                           ? "1 to 63 printable characters, no '/' or space, not all digits"
                           : strerror(-rc));
    return 0;
}

int kl_cpupool_rename(kl_ctx *ctx, uint32_t poolid, const char *name)
{
    struct keel_sysctl_cpupool op = { .op = KEEL_CPUPOOL_OP_RENAME, .cpupool_id = poolid };

    return name_op(ctx, &op, name);
}

int kl_cpupool_create(kl_ctx *ctx, const char *name, kl_scheduler sched,
                      const uint64_t cpus[KEEL_CPUMAP_WORDS], uint32_t *poolid)
{
    struct keel_sysctl_cpupool op = { .op = KEEL_CPUPOOL_OP_CREATE,
                                      .cpupool_id = KEEL_CPUPOOL_ID_ANY, .sched_id = sched };
    int rc;

    if ((rc = name_op(ctx, &op, name)) < 0)
        return rc;
    *poolid = op.cpupool_id;
    for (uint32_t c = 0; c < 64 * KEEL_CPUMAP_WORDS; c++) {
        if (!((cpus[c / 64] >> (c % 64)) & 1) || (rc = cpu_op(ctx, *poolid, c, true)) == 0)
            continue;
        char keep[sizeof(ctx->err)];                      /* undo: nothing is left */
        memcpy(keep, ctx->err, sizeof(keep));
        kl_cpupool_destroy(ctx, *poolid);
        memcpy(ctx->err, keep, sizeof(keep));
        return rc;
    }
    return 0;
}

int kl_cpupool_move_domain(kl_ctx *ctx, uint32_t poolid, uint32_t domid)
{
    struct keel_sysctl_cpupool op = { .op = KEEL_CPUPOOL_OP_MOVEDOMAIN, .cpupool_id = poolid,
                                      .domid = domid };
    int rc = kc_cpupool_op(ctx->kc, &op);

    if (rc < 0)
        return kl__err(ctx, rc, "moving domain %u to cpupool %u: %s", domid, poolid,
                       rc == -ENODEV ? "the cpupool has no CPU" : rc == -EINVAL && !domid
                           ? "Domain-0 stays in Pool-0" : strerror(-rc));
    return 0;
}

int kl_sched_pool_get(kl_ctx *ctx, uint32_t poolid, kl_sched_pool_params *p)
{
    struct keel_sysctl_sched_pool op = { .cmd = KEEL_SCHED_GETINFO, .cpupool_id = poolid };
    int rc = kc_sched_pool_op(ctx->kc, &op);

    if (rc < 0)
        return kl__err(ctx, rc, "scheduler parameters of cpupool %u: %s", poolid, strerror(-rc));
    p->sched = (kl_scheduler)op.sched_id;
    p->tslice_ms = op.tslice_ms;
    p->ratelimit_us = op.ratelimit_us;
    p->vcpu_migr_delay_us = op.vcpu_migr_delay_us;
    return 0;
}

int kl_sched_pool_set(kl_ctx *ctx, uint32_t poolid, const kl_sched_pool_params *p)
{
    struct keel_sysctl_sched_pool op = { .cmd = KEEL_SCHED_PUTINFO, .cpupool_id = poolid,
                                         .sched_id = p->sched, .tslice_ms = p->tslice_ms,
                                         .ratelimit_us = p->ratelimit_us,
                                         .vcpu_migr_delay_us = p->vcpu_migr_delay_us };
    int rc = kc_sched_pool_op(ctx->kc, &op);

    if (rc < 0)
        return kl__err(ctx, rc, "setting the %s parameters of cpupool %u (tslice %u ms, "
                       "ratelimit %u us, migration delay %u us): %s",
                       kl_scheduler_to_string(p->sched), poolid, p->tslice_ms, p->ratelimit_us,
                       p->vcpu_migr_delay_us, rc == -EINVAL ? "out of range" : strerror(-rc));
    return 0;
}

int kl_domain_sched_get(kl_ctx *ctx, uint32_t domid, kl_scheduler *sched, uint32_t *weight,
                        uint32_t *cap)
{
    kl_cpupoolinfo pi;
    kl_dominfo di;
    int rc;

    if ((rc = kl_domain_info(ctx, domid, &di)) < 0 || (rc = kl_cpupool_info(ctx, di.cpupool, &pi)) < 0)
        return rc;
    *sched = pi.sched;
    *weight = KEEL_SCHED_WEIGHT_DEFAULT;
    *cap = 0;
    if (domid && (rc = kc_sched_credit_get(ctx->kc, domid, weight, cap)) < 0)
        return kl__err(ctx, rc, "%s", kc_error(ctx->kc));
    return 0;
}

int kl_domain_sched_set(kl_ctx *ctx, uint32_t domid, int weight, int cap)
{
    uint32_t w, c;
    int rc;

    if (domid == 0)
        return kl__err(ctx, -EINVAL, "Domain-0 has no vCPU threads to schedule here");
    if ((rc = kc_sched_credit_get(ctx->kc, domid, &w, &c)) < 0 ||
        (rc = kc_sched_credit_set(ctx->kc, domid, weight >= 0 ? (uint32_t)weight : w,
                                  cap >= 0 ? (uint32_t)cap : c)) < 0)
        return kl__err(ctx, rc, "%s", kc_error(ctx->kc));
    return 0;
}

int kl_vcpu_rtds_get(kl_ctx *ctx, uint32_t domid, uint32_t vcpu, kl_rtds_params *p)
{
    struct keel_domctl_sched_vcpu op = { .cmd = KEEL_SCHED_GETINFO, .vcpu = vcpu };
    int rc = kc_sched_vcpu_op(ctx->kc, domid, &op);

    if (rc < 0)
        return kl__err(ctx, rc, "domain %u vcpu %u: %s", domid, vcpu,
                       rc == -EOPNOTSUPP ? "the domain is not in an rtds cpupool" : strerror(-rc));
    p->period_us = op.period_us;
    p->budget_us = op.budget_us;
    p->extratime = op.extratime != 0;
    p->engine = op.engine;
    return 0;
}

int kl_vcpu_rtds_set(kl_ctx *ctx, uint32_t domid, uint32_t vcpu, const kl_rtds_params *p)
{
    struct keel_domctl_sched_vcpu op = { .cmd = KEEL_SCHED_PUTINFO, .vcpu = vcpu,
                                         .period_us = p->period_us, .budget_us = p->budget_us,
                                         .extratime = p->extratime };
    int rc = kc_sched_vcpu_op(ctx->kc, domid, &op);

    if (rc < 0)
        return kl__err(ctx, rc, "domain %u vcpu %u: period %u us budget %u us: %s", domid, vcpu,
                       p->period_us, p->budget_us,
                       rc == -EOPNOTSUPP ? "the domain is not in an rtds cpupool"
                       : rc == -EINVAL ? "out of range (period 10..10000000 us, budget 10 us.."
                                         "period)" : strerror(-rc));
    return 0;
}

/* pool= of a new domain: move it there before it runs. */
int kl__cpupool_place(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc)
{
    uint32_t poolid;
    int rc;

    if (!dc->c_info.pool_name || !*dc->c_info.pool_name)
        return 0;
    if ((rc = kl_cpupool_qualify(ctx, dc->c_info.pool_name, &poolid)) < 0)
        return kl__err(ctx, rc, "domain '%s': pool=\"%s\": no such cpupool", dc->c_info.name,
                       dc->c_info.pool_name);
    return poolid ? kl_cpupool_move_domain(ctx, poolid, domid) : 0;
}

void kl_host_hw_caps(uint32_t caps[8])
{
    static const struct { uint32_t leaf, sub; int reg; } w[8] = {
        { 1, 0, 3 }, { 1, 0, 2 }, { 0x80000001, 0, 3 }, { 0x80000001, 0, 2 },
        { 0xd, 1, 0 }, { 7, 0, 1 }, { 7, 0, 2 }, { 0x80000007, 0, 3 },
    };
    unsigned int max = __get_cpuid_max(0, NULL), xmax = __get_cpuid_max(0x80000000, NULL);

    for (int i = 0; i < 8; i++) {
        unsigned int r[4] = { 0, 0, 0, 0 };
        bool ok = w[i].leaf >= 0x80000000 ? w[i].leaf <= xmax : w[i].leaf <= max;
        if (ok)
            __cpuid_count(w[i].leaf, w[i].sub, r[0], r[1], r[2], r[3]);
        caps[i] = r[w[i].reg];
    }
}

int kl_host_cpu_node(uint32_t cpu)
{
    char path[96];

    for (int n = 0; n < 1024; n++) {
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/node%d", cpu, n);
        if (access(path, F_OK) == 0)
            return n;
    }
    return 0;
}
