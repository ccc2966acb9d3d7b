/* sched.c - sched_op (yield, block, poll, shutdown, remote shutdown) and the vCPU timers. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "hv.h"
#include "keel-flask-av.h"

static bool events_pending(struct hv_domain *d, struct hv_vcpu *v)
{
    struct keel_shared_info *si = d->shared;

    return __atomic_load_n(&si->vcpu_info[v->id].evtchn_upcall_pending, __ATOMIC_SEQ_CST) != 0;
}

/* Block: enable event delivery and sleep until an event is pending for this vCPU. */
static long do_block(struct hv_caller *c)
{
    struct keel_shared_info *si = c->d->shared;

    __atomic_store_n(&si->vcpu_info[c->v->id].evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    if (events_pending(c->d, c->v))
        return 0;
    c->v->poll_deadline = 0;
    return HV_DEFER;
}

static long do_poll(struct hv_caller *c, uint64_t arg)
{
    struct keel_sched_poll p;
    struct hv_vcpu *v = c->v;
    int rc;

    if ((rc = hv_arg_read(c, arg, &p, sizeof(p))) < 0)
        return rc;
    if (p.nr_ports > KEEL_POLL_MAX_PORTS)
        return -EINVAL;
    if ((rc = hv_copy_from_guest(c->d, p.ports, v->poll_ports, p.nr_ports * sizeof(uint32_t))) < 0)
        return rc;
    v->nr_poll_ports = p.nr_ports;
    for (uint32_t i = 0; i < p.nr_ports; i++) {
        if (v->poll_ports[i] >= c->d->nr_evtchn)
            return -EINVAL;
        if (hv_port_pending(c->d, v->poll_ports[i]))
            return 0;
    }
    if (p.timeout && p.timeout <= hv_guest_now(c->d))
        return 0;
    v->poll_deadline = p.timeout;
    return HV_DEFER;
}

static long do_shutdown(struct hv_caller *c, uint64_t arg)
{
    struct keel_sched_shutdown s;
    int rc;

    if ((rc = hv_arg_read(c, arg, &s, sizeof(s))) < 0)
        return rc;
    if (s.reason > KEEL_SHUTDOWN_MAX)
        return -EINVAL;
    hv_domain_shutdown(c->d, s.reason);
    return HV_DEFER;                          /* the vCPU stays here until resumed or destroyed */
}

static long do_remote_shutdown(struct hv_caller *c, uint64_t arg)
{
    struct keel_sched_remote_shutdown s;
    struct hv_domain *d;
    int rc;

    if ((rc = hv_arg_read(c, arg, &s, sizeof(s))) < 0)
        return rc;
    if (s.reason > KEEL_SHUTDOWN_MAX)
        return -EINVAL;
    if (!(d = hv_domain_target(c, s.domid)) || d == hv.dom0)
        return -ESRCH;
    if ((rc = hv_xsm_target(c, d, KH_SCHED_OP, KEEL_SCHEDOP_REMOTE_SHUTDOWN)) < 0 ||
        (rc = hv_xsm_check(c, d, SECCLASS_DOMAIN, DOMAIN__SHUTDOWN)) < 0)
        return rc;
    hv_domain_shutdown(d, s.reason);
    return 0;
}

long hv_do_sched_op(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    if (cmd == KEEL_SCHEDOP_REMOTE_SHUTDOWN)
        return do_remote_shutdown(c, arg);
    if (hv_is_priv(c))
        return -EINVAL;
    switch (cmd) {
    case KEEL_SCHEDOP_YIELD:
        return 0;
    case KEEL_SCHEDOP_BLOCK:
        return do_block(c);
    case KEEL_SCHEDOP_POLL:
        return do_poll(c, arg);
    case KEEL_SCHEDOP_SHUTDOWN:
        return do_shutdown(c, arg);
    default:
        return -ENOSYS;
    }
}

static void min_into(uint64_t *next, uint64_t t)
{
    if (t && t < *next)
        *next = t;
}

void hv_timers_fire(struct hv_domain *d, uint64_t now, uint64_t *next)
{
    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        if (!v->online)
            continue;
        if (v->singleshot && v->singleshot <= now) {
            v->singleshot = 0;
            hv_send_virq(d, v, KEEL_VIRQ_TIMER);
        }
        if (v->periodic && v->periodic_next <= now) {
            uint64_t late = (now - v->periodic_next) / v->periodic;
            v->periodic_next += (late + 1) * v->periodic;
            hv_send_virq(d, v, KEEL_VIRQ_TIMER);
        }
        if (v->deferred && v->deferred_op == KH_SCHED_OP && v->poll_deadline &&
            v->poll_deadline <= now) {
            v->poll_deadline = 0;
            hv_vcpu_respond(d, v, 0, HV_ACT_NONE, 0);
        }
        min_into(next, v->singleshot);
        min_into(next, v->periodic ? v->periodic_next : 0);
        min_into(next, v->deferred ? v->poll_deadline : 0);
    }
}
