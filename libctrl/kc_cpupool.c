/* kc_cpupool.c - the cpupool and scheduler hypercalls: sysctl cpupool_op and scheduler_op (a
 * pool's parameters), domctl SCHED_VCPU (a vCPU's RTDS parameters). */
#include "config.h"

#include "kc_private.h"

int kc_cpupool_op(kc_handle *h, struct keel_sysctl_cpupool *op)
{
    struct keel_sysctl sc = { .cmd = KEEL_SYSCTL_CPUPOOL_OP };
    long rc;

    sc.u.cpupool = *op;
    if ((rc = kc_sysctl(h, &sc, NULL, 0, NULL)) < 0)
        return (int)kc_fail(rc, "cpupool op %u on pool %u", op->op, op->cpupool_id);
    *op = sc.u.cpupool;
    return 0;
}

int kc_sched_pool_op(kc_handle *h, struct keel_sysctl_sched_pool *op)
{
    struct keel_sysctl sc = { .cmd = KEEL_SYSCTL_SCHEDULER_OP };
    long rc;

    sc.u.sched_pool = *op;
    if ((rc = kc_sysctl(h, &sc, NULL, 0, NULL)) < 0)
        return (int)kc_fail(rc, "scheduler parameters of cpupool %u", op->cpupool_id);
    *op = sc.u.sched_pool;
    return 0;
}

int kc_sched_vcpu_op(kc_handle *h, uint32_t domid, struct keel_domctl_sched_vcpu *op)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_SCHED_VCPU, .domain = domid };
    long rc;

    dc.u.sched_vcpu = *op;
    if ((rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL)) < 0)
        return (int)kc_fail(rc, "rtds parameters of domain %u vcpu %u", domid, op->vcpu);
    *op = dc.u.sched_vcpu;
    return 0;
}
