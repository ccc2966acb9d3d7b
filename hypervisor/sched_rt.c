/* sched_rt.c - what a cpupool's scheduler does to the domain's vCPU threads. RTDS: each vCPU
 * thread becomes a Linux SCHED_DEADLINE task with runtime = budget and deadline = period =
 * period (extratime: SCHED_FLAG_RECLAIM, the unused bandwidth of the CPU). Linux refuses
 * SCHED_DEADLINE to a thread whose CPUs are fewer than its root domain's (a pool smaller than
 * the host, unless the pool is a scheduling partition: cpupool_part.c makes one of every rtds
 * pool where the host allows it), and beyond the admission limit
 * (sched_rt_runtime_us / sched_rt_period_us per CPU): then the budgets are enforced as the CFS
 * bandwidth of the domain's cpu cgroup (quota = sum of budget/period, the cap of the credit
 * scheduler) - the share holds, the deadline does not. The engine in force is in the console
 * ring and in each vCPU's answer. Credit: the pool's time slice becomes each thread's EEVDF slice
 * (sched_attr.sched_runtime of SCHED_OTHER, Linux 6.12+; older kernels ignore it). */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hv.h"
#include "hv_ctl.h"
#include "cpupool.h"

#ifndef SYS_sched_setattr
#define SYS_sched_setattr 314
#endif
#define KSCHED_OTHER 0
#define KSCHED_DEADLINE 6
#define KSCHED_FLAG_RECLAIM 0x02

struct k_sched_attr {                    /* the kernel's struct sched_attr, version 0 */
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

static int setattr(pid_t tid, uint32_t policy, uint64_t flags, uint64_t runtime,
                   uint64_t deadline, uint64_t period)
{
    struct k_sched_attr a = { .size = sizeof(a), .policy = policy, .flags = flags,
                              .runtime = runtime, .deadline = deadline, .period = period };

    return syscall(SYS_sched_setattr, tid, &a, 0) < 0 ? -errno : 0;
}

static void futex_nudge(uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* SCHED_DEADLINE for one vCPU thread. Linux judges by the root domain of the CPU the thread is
 * on now: one asleep since before its affinity moved it into the pool still counts on its old
 * CPU (EPERM). Such a thread is woken on the words its stub may sleep on (rsp_seq, run_gen,
 * pause_req: the stub re-checks each and sleeps again), which puts it on a CPU it may run on,
 * and asked again, for at most 20 ms. */
static int setattr_dl(struct hv_domain *d, struct hv_vcpu *v, uint64_t flags, uint64_t runtime,
                      uint64_t period)
{
    const struct hv_pool *p = hv_cpupool_get(d->cpupool);
    struct hv_vcpu_slot *s = HV_SLOT(d->shared, v->id);
    int rc;

    for (int tries = 0;; tries++) {
        uint32_t cpu = UINT32_MAX;
        rc = setattr(v->tid, KSCHED_DEADLINE, flags, runtime, period, period);
        if (rc != -EPERM || tries == 20 || !p)
            return rc;
        hv_proc_cpu_ns(d->pid, v->tid, &cpu);
        if (cpu < 64 * KEEL_CPUMAP_WORDS && ((p->cpus[cpu / 64] >> (cpu % 64)) & 1))
            return rc;                          /* it is in the pool: a true refusal */
        futex_nudge(&s->rsp_seq);
        futex_nudge(&s->run_gen);
        futex_nudge(&s->pause_req);
        usleep(1000);
    }
}

static void defaults(struct hv_vcpu *v)
{
    if (!v->rt_period_us) {
        v->rt_period_us = KEEL_RTDS_DEFAULT_PERIOD_US;
        v->rt_budget_us = KEEL_RTDS_DEFAULT_BUDGET_US;
        v->rt_extratime = 1;
    }
}

/* The CFS fallback: one cap for the domain, in percent of a CPU (at least 1). */
static void cfs_fallback(struct hv_domain *d)
{
    uint64_t permille = 0;
    bool extra = false;

    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        defaults(v);
        permille += (uint64_t)v->rt_budget_us * 1000 / v->rt_period_us;
        extra |= v->rt_extratime != 0;
        v->rt_engine = KEEL_RTDS_ENGINE_CFS;
    }
    hv_cgroup_set_sched(d, d->sched_weight, extra ? 0 : (uint32_t)(permille >= 15 ? (permille + 5) / 10 : 1));
}

static void apply_rtds(struct hv_domain *d)
{
    const char *why;
    int rc = 0;
    uint32_t i;

    for (i = 0; i < d->max_vcpus && rc == 0; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        uint64_t p;
        defaults(v);
        p = (uint64_t)v->rt_period_us * 1000;
        if (v->tid > 0 && (rc = setattr_dl(d, v, v->rt_extratime ? KSCHED_FLAG_RECLAIM : 0,
                                           (uint64_t)v->rt_budget_us * 1000, p)) == 0)
            v->rt_engine = KEEL_RTDS_ENGINE_DEADLINE;
    }
    if (rc == 0) {
        hv_cgroup_set_sched(d, d->sched_weight, d->sched_cap);
        hv_printk("domain %u: rtds: SCHED_DEADLINE on %u vCPU threads", d->domid, d->max_vcpus);
        return;
    }
    hv_sched_rt_release(d);
    cfs_fallback(d);
    why = hv_cpupart_why(d->cpupool);
    hv_printk("domain %u: rtds: SCHED_DEADLINE refused (%s%s%s%s): budgets enforced as CFS "
              "bandwidth of the domain", d->domid, strerror(-rc),
              rc == -EPERM ? ": the pool's CPUs are not a whole root domain" :
              rc == -EBUSY ? ": beyond the admission limit" : "",
              rc == -EPERM && why[0] ? ", the pool is no partition: " : "",
              rc == -EPERM ? why : "");
}

void hv_sched_rt_release(struct hv_domain *d)
{
    bool was_cfs = false;

    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        if (v->rt_engine == KEEL_RTDS_ENGINE_DEADLINE && v->tid > 0 && !d->dead)
            setattr(v->tid, KSCHED_OTHER, 0, 0, 0, 0);
        was_cfs |= v->rt_engine == KEEL_RTDS_ENGINE_CFS;
        v->rt_engine = KEEL_RTDS_ENGINE_NONE;
    }
    if (was_cfs)
        hv_cgroup_set_sched(d, d->sched_weight, d->sched_cap);
}

void hv_sched_rt_apply(struct hv_domain *d, const struct hv_pool *p)
{
    if (d->dead)
        return;
    if (p->sched == KEEL_SCHEDULER_RTDS) {
        apply_rtds(d);
        return;
    }
    for (uint32_t i = 0; i < d->max_vcpus; i++) {   /* credit: the slice; credit2: default */
        uint64_t slice = p->sched == KEEL_SCHEDULER_CREDIT ? (uint64_t)p->tslice_ms * 1000000 : 0;
        if (slice > 100000000)
            slice = 100000000;                     /* EEVDF's longest custom slice */
        if (d->vcpus[i].tid > 0)
            setattr(d->vcpus[i].tid, KSCHED_OTHER, 0, slice, 0, 0);
    }
}

long hv_domctl_sched_vcpu(struct hv_domain *d, struct keel_domctl_sched_vcpu *op)
{
    const struct hv_pool *p = hv_cpupool_get(d->cpupool);
    struct hv_vcpu *v;

    if (op->vcpu >= d->max_vcpus || !p)
        return -EINVAL;
    if (p->sched != KEEL_SCHEDULER_RTDS)
        return -EOPNOTSUPP;                         /* not in an RTDS pool */
    v = &d->vcpus[op->vcpu];
    defaults(v);
    if (op->cmd == KEEL_SCHED_GETINFO) {
        op->period_us = v->rt_period_us;
        op->budget_us = v->rt_budget_us;
        op->extratime = v->rt_extratime;
        op->engine = v->rt_engine;
        return 0;
    }
    if (op->cmd != KEEL_SCHED_PUTINFO || op->period_us < KEEL_RTDS_PERIOD_MIN_US ||
        op->period_us > KEEL_RTDS_PERIOD_MAX_US || op->budget_us < KEEL_RTDS_BUDGET_MIN_US ||
        op->budget_us > op->period_us || op->extratime > 1)
        return -EINVAL;
    /* no release first: Linux returns a deadline thread's bandwidth only at its 0-lag time,
     * a change in place (deadline to deadline) is admitted on the difference */
    v->rt_period_us = op->period_us;
    v->rt_budget_us = op->budget_us;
    v->rt_extratime = (uint8_t)op->extratime;
    apply_rtds(d);
    op->engine = v->rt_engine;
    return 0;
}
