/* cpupool.c - cpupools: named sets of physical CPUs, each with its scheduler (credit, credit2,
 * rtds) and that scheduler's parameters. Every domain is in one pool (Domain-0 and new domains
 * in Pool-0, which holds the core's CPUs at start); its vCPU threads run only on the pool's
 * CPUs. The operations of Xen's sysctl cpupool_op and scheduler_op. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "hv.h"
#include "cpupool.h"

static struct hv_pool pools[KEEL_CPUPOOL_MAX];
static uint64_t host_cpus[KEEL_CPUMAP_WORDS];

#define NBITS (64 * KEEL_CPUMAP_WORDS)
static bool bit(const uint64_t *m, uint32_t i) { return i < NBITS && ((m[i / 64] >> (i % 64)) & 1); }

struct hv_pool *hv_cpupool_get(uint32_t id)
{
    return id < KEEL_CPUPOOL_MAX && pools[id].used ? &pools[id] : NULL;
}

static void pool_defaults(struct hv_pool *p, uint32_t sched)
{
    p->sched = sched;
    p->tslice_ms = 30;
    p->ratelimit_us = 1000;
    p->migr_delay_us = 0;
}

int hv_cpupool_init(void)
{
    cpu_set_t cs;

    memset(pools, 0, sizeof(pools));
    memset(host_cpus, 0, sizeof(host_cpus));
    if (sched_getaffinity(0, sizeof(cs), &cs) < 0)
        return -errno;
    for (uint32_t i = 0; i < NBITS && i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &cs))
            host_cpus[i / 64] |= 1ULL << (i % 64);
    pools[0].used = true;
    snprintf(pools[0].name, sizeof(pools[0].name), "Pool-0");
    pool_defaults(&pools[0], KEEL_SCHEDULER_CREDIT);
    memcpy(pools[0].cpus, host_cpus, sizeof(host_cpus));
    hv_cpuset_init();
    hv_cpupart_init();
    return 0;
}

static uint32_t pool_cpu_of(uint32_t cpu)
{
    for (uint32_t i = 0; i < KEEL_CPUPOOL_MAX; i++)
        if (pools[i].used && bit(pools[i].cpus, cpu))
            return i;
    return KEEL_CPUPOOL_ID_ANY;
}

static uint32_t pool_n_dom(uint32_t id)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < HV_MAX_DOMAINS; i++)
        if (hv.domains[i] && hv.domains[i]->cpupool == id && !hv.domains[i]->destroying)
            n++;
    return n;
}

static bool pool_empty_of_cpus(const struct hv_pool *p)
{
    for (int w = 0; w < KEEL_CPUMAP_WORDS; w++)
        if (p->cpus[w])
            return false;
    return true;
}

/* A name: 1..63 printable characters without '/', not all digits (xl takes digits as an id). */
static int name_check(const char *name, uint32_t self)
{
    size_t n = strnlen(name, KEEL_CPUPOOL_NAME_MAX);
    bool digits = true;

    if (n == 0 || n >= KEEL_CPUPOOL_NAME_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (name[i] <= ' ' || name[i] > '~' || name[i] == '/')
            return -EINVAL;
        digits &= name[i] >= '0' && name[i] <= '9';
    }
    if (digits)
        return -EINVAL;
    for (uint32_t i = 0; i < KEEL_CPUPOOL_MAX; i++)
        if (i != self && pools[i].used && !strcmp(pools[i].name, name))
            return -EEXIST;
    return 0;
}

static void apply_pool(uint32_t id)
{
    for (uint32_t i = 1; i < HV_MAX_DOMAINS; i++)
        if (hv.domains[i] && hv.domains[i]->ready && hv.domains[i]->cpupool == id)
            hv_cpupool_apply(hv.domains[i]);
}

/* The pool's CPUs changed: its partition follows, with no SCHED_DEADLINE thread in the pool
 * meanwhile (Linux checks their bandwidth when root domains change), then the domains. */
static void repartition(uint32_t id)
{
    if (pools[id].sched == KEEL_SCHEDULER_RTDS) {
        for (uint32_t i = 1; i < HV_MAX_DOMAINS; i++)
            if (hv.domains[i] && hv.domains[i]->cpupool == id)
                hv_sched_rt_release(hv.domains[i]);
        hv_cpupart_sync(id, &pools[id]);
    }
    apply_pool(id);
}

static long op_create(struct keel_sysctl_cpupool *op)
{
    uint32_t id = op->cpupool_id;
    int rc;

    if (op->sched_id != KEEL_SCHEDULER_CREDIT && op->sched_id != KEEL_SCHEDULER_CREDIT2 &&
        op->sched_id != KEEL_SCHEDULER_RTDS)
        return -EINVAL;
    op->name[KEEL_CPUPOOL_NAME_MAX - 1] = 0;
    if ((rc = name_check(op->name, KEEL_CPUPOOL_ID_ANY)) < 0)
        return rc;
    if (id == KEEL_CPUPOOL_ID_ANY)
        for (id = 1; id < KEEL_CPUPOOL_MAX && pools[id].used; id++)
            ;
    if (id >= KEEL_CPUPOOL_MAX)
        return id == op->cpupool_id ? -EINVAL : -ENOSPC;
    if (pools[id].used)
        return -EEXIST;
    memset(&pools[id], 0, sizeof(pools[id]));
    pools[id].used = true;
    memcpy(pools[id].name, op->name, sizeof(pools[id].name));
    pool_defaults(&pools[id], op->sched_id);
    op->cpupool_id = id;
    hv_printk("cpupool %u '%s' created", id, op->name);
    return 0;
}

static long op_cpu(struct hv_pool *p, uint32_t id, uint32_t cpu, bool add)
{
    if (cpu >= NBITS || !bit(host_cpus, cpu))
        return -EINVAL;                        /* not a CPU this core may use */
    if (add) {
        uint32_t owner = pool_cpu_of(cpu);
        if (owner == id)
            return 0;
        if (owner != KEEL_CPUPOOL_ID_ANY)
            return -EBUSY;                     /* in use by another pool */
        p->cpus[cpu / 64] |= 1ULL << (cpu % 64);
    } else {
        if (!bit(p->cpus, cpu))
            return -ENOENT;
        p->cpus[cpu / 64] &= ~(1ULL << (cpu % 64));
        if (pool_empty_of_cpus(p) && pool_n_dom(id)) {
            p->cpus[cpu / 64] |= 1ULL << (cpu % 64);
            return -EBUSY;                     /* the last CPU of a pool with domains */
        }
    }
    repartition(id);
    return 0;
}

static long op_move(struct hv_caller *c, uint32_t id, uint32_t domid)
{
    struct hv_domain *d = domid < HV_MAX_DOMAINS ? hv.domains[domid] : NULL;

    (void)c;
    if (!d || !d->ready || d->destroying)
        return -ESRCH;
    if (domid == 0)
        return -EINVAL;                        /* Domain-0 is the toolstack: no vCPU threads */
    if (pool_empty_of_cpus(&pools[id]))
        return -ENODEV;                        /* a pool with no CPU cannot run it */
    if (d->cpupool == id)
        return 0;
    hv_sched_rt_release(d);
    d->cpupool = id;
    for (uint32_t v = 0; v < d->max_vcpus; v++) { /* as Xen: affinities reset on a move */
        memset(d->vcpus[v].hard_affinity, 0xff, sizeof(d->vcpus[v].hard_affinity));
        memset(d->vcpus[v].soft_affinity, 0xff, sizeof(d->vcpus[v].soft_affinity));
    }
    hv_cpupool_apply(d);
    hv_printk("domain %u moved to cpupool %u '%s'", domid, id, pools[id].name);
    return 0;
}

static void op_info(struct keel_sysctl_cpupool *op, uint32_t id)
{
    op->cpupool_id = id;
    op->sched_id = pools[id].sched;
    op->n_dom = pool_n_dom(id);
    memcpy(op->cpumap, pools[id].cpus, sizeof(op->cpumap));
    memcpy(op->name, pools[id].name, sizeof(op->name));
}

long hv_sysctl_cpupool(struct hv_caller *c, struct keel_sysctl_cpupool *op)
{
    struct hv_pool *p = op->op == KEEL_CPUPOOL_OP_CREATE || op->op == KEEL_CPUPOOL_OP_INFO ||
                                op->op == KEEL_CPUPOOL_OP_FREEINFO
                            ? NULL : hv_cpupool_get(op->cpupool_id);
    uint32_t id = op->cpupool_id;

    switch (op->op) {
    case KEEL_CPUPOOL_OP_CREATE:
        return op_create(op);
    case KEEL_CPUPOOL_OP_INFO:
        for (; id < KEEL_CPUPOOL_MAX && !pools[id].used; id++)
            ;
        if (id >= KEEL_CPUPOOL_MAX)
            return -ENOENT;
        op_info(op, id);
        return 0;
    case KEEL_CPUPOOL_OP_FREEINFO:
        for (int w = 0; w < KEEL_CPUMAP_WORDS; w++) {
            op->cpumap[w] = host_cpus[w];
            for (uint32_t i = 0; i < KEEL_CPUPOOL_MAX; i++)
                if (pools[i].used)
                    op->cpumap[w] &= ~pools[i].cpus[w];
        }
        return 0;
    }
    if (!p)
        return -ENOENT;
    switch (op->op) {
    case KEEL_CPUPOOL_OP_DESTROY:
        if (id == 0 || pool_n_dom(id))
            return -EBUSY;
        hv_printk("cpupool %u '%s' destroyed", id, p->name);
        memset(p, 0, sizeof(*p));
        hv_cpupart_sync(id, NULL);
        return 0;
    case KEEL_CPUPOOL_OP_ADDCPU:
    case KEEL_CPUPOOL_OP_RMCPU:
        return op_cpu(p, id, op->cpu, op->op == KEEL_CPUPOOL_OP_ADDCPU);
    case KEEL_CPUPOOL_OP_MOVEDOMAIN:
        return op_move(c, id, op->domid);
    case KEEL_CPUPOOL_OP_RENAME: {
        int rc;
        op->name[KEEL_CPUPOOL_NAME_MAX - 1] = 0;
        if ((rc = name_check(op->name, id)) < 0)
            return rc;
        memcpy(p->name, op->name, sizeof(p->name));
        return 0;
    }
    }
    return -EINVAL;
}

static int sched_params_check(const struct hv_pool *p, const struct keel_sysctl_sched_pool *op)
{
    if (op->ratelimit_us && (op->ratelimit_us < 100 || op->ratelimit_us > 500000))
        return -EINVAL;
    if (p->sched != KEEL_SCHEDULER_CREDIT)
        return 0;
    if (op->tslice_ms < 1 || op->tslice_ms > 1000 || op->vcpu_migr_delay_us > 100000 ||
        op->ratelimit_us > op->tslice_ms * 1000)
        return -EINVAL;
    return 0;
}

long hv_sysctl_sched_pool(struct hv_caller *c, struct keel_sysctl_sched_pool *op)
{
    struct hv_pool *p = hv_cpupool_get(op->cpupool_id);
    int rc;

    (void)c;
    if (!p)
        return -ENOENT;
    if (op->cmd == KEEL_SCHED_GETINFO) {
        op->sched_id = p->sched;
        op->tslice_ms = p->tslice_ms;
        op->ratelimit_us = p->ratelimit_us;
        op->vcpu_migr_delay_us = p->migr_delay_us;
        return 0;
    }
    if (op->cmd != KEEL_SCHED_PUTINFO || op->sched_id != p->sched)
        return -EINVAL;
    if (p->sched == KEEL_SCHEDULER_RTDS)
        return -EOPNOTSUPP;                    /* RTDS has no pool-wide parameters */
    if ((rc = sched_params_check(p, op)) < 0)
        return rc;
    p->ratelimit_us = op->ratelimit_us;
    if (p->sched == KEEL_SCHEDULER_CREDIT) {
        p->tslice_ms = op->tslice_ms;
        p->migr_delay_us = op->vcpu_migr_delay_us;
    }
    apply_pool(op->cpupool_id);
    return 0;
}

void hv_cpupool_effective(const struct hv_domain *d, const uint64_t hard[KEEL_CPUMAP_WORDS],
                          cpu_set_t *cs)
{
    const struct hv_pool *p = hv_cpupool_get(d->cpupool);

    CPU_ZERO(cs);
    for (uint32_t i = 0; i < NBITS && i < CPU_SETSIZE; i++)
        if (bit(hard, i) && bit(p ? p->cpus : host_cpus, i))
            CPU_SET((int)i, cs);
}

void hv_cpupool_apply(struct hv_domain *d)
{
    const struct hv_pool *p = hv_cpupool_get(d->cpupool);

    if (!p || d->dead)
        return;
    hv_sched_rt_release(d);                    /* SCHED_DEADLINE threads cannot be re-pinned */
    hv_cpuset_set(d, p->cpus);
    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        cpu_set_t cs;
        hv_cpupool_effective(d, v->hard_affinity, &cs);
        if (CPU_COUNT(&cs) == 0)
            hv_cpupool_effective(d, host_cpus, &cs);
        if (v->tid > 0 && sched_setaffinity(v->tid, sizeof(cs), &cs) < 0)
            hv_printk("domain %u vcpu %u: cannot confine to cpupool %u: %s", d->domid, i,
                      d->cpupool, strerror(errno));
    }
    hv_sched_rt_apply(d, p);
}
