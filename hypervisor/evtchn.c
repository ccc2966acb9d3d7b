/* evtchn.c - event channels (Xen's two-level ABI): unbound, interdomain, VIRQ and IPI ports,
 * pending/mask bits in the guest's shared page, and Domain-0 ports as eventfds that the
 * toolstack polls (with the fast path of evtfast.c beside them). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hv.h"
#include "keel-flask-av.h"

int hv_evtchn_init(struct hv_domain *d, uint32_t nr)
{
    d->evtchn = calloc(nr, sizeof(*d->evtchn));
    if (!d->evtchn)
        return -ENOMEM;
    d->nr_evtchn = nr;
    for (uint32_t i = 0; i < nr; i++)
        d->evtchn[i].efd = -1;
    return 0;
}

static void free_port(struct hv_domain *d, uint32_t port)
{
    struct hv_evtchn *chn = &d->evtchn[port];

    if (chn->state == CHN_VIRQ && chn->vcpu < d->max_vcpus && chn->virq < KEEL_NR_VIRQS &&
        d->vcpus[chn->vcpu].virq_port[chn->virq] == port)
        d->vcpus[chn->vcpu].virq_port[chn->virq] = 0;
    if (chn->efd >= 0)
        close(chn->efd);
    memset(chn, 0, sizeof(*chn));
    chn->efd = -1;
}

void hv_evtchn_teardown(struct hv_domain *d)
{
    for (uint32_t p = 1; p < d->nr_evtchn; p++)
        if (d->evtchn[p].state != CHN_FREE)
            free_port(d, p);
    if (hv_domain_get(d->domid) == d)
        hv_evfast_refresh();      /* a live domain (restore, under hv.lock): entries naming it go */
}

static int alloc_port(struct hv_caller *c, struct hv_domain *d, uint32_t *port)
{
    for (uint32_t p = 1; p < d->nr_evtchn; p++) {
        if (d->evtchn[p].state != CHN_FREE)
            continue;
        if (d == hv.dom0) {
            int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            if (efd < 0)
                return -errno;
            if (!c->conn || c->nfds >= 4) {
                close(efd);
                return -EINVAL;
            }
            d->evtchn[p].efd = efd;
            d->evtchn[p].owner = c->conn;
            c->fds[c->nfds++] = efd;
        }
        *port = p;
        return 0;
    }
    return -ENOSPC;
}

bool hv_port_pending(struct hv_domain *d, uint32_t port)
{
    struct keel_shared_info *si = d->shared;

    if (!si || port >= d->nr_evtchn)
        return false;
    return (__atomic_load_n(&si->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) >> (port % 64)) & 1;
}

/* Eventfd writes a runner holds back until it has answered the vCPU whose hypercall caused
 * them (hv_evtchn_defer_begin/flush, both under hv.lock so no port closes in between): woken
 * first, the backend would take the runner's CPU and the guest would wait for its answer. */
#define DEFER_MAX 16
static __thread int defer_fd[DEFER_MAX], defer_n = -1;

void hv_evtchn_defer_begin(void)
{
    defer_n = 0;
}

static void efd_write(int fd)
{
    uint64_t one = 1;

    if (write(fd, &one, sizeof(one)) < 0) {
        /* counter saturated: the toolstack has not read it yet; still pending */
    }
}

void hv_evtchn_defer_flush(void)
{
    for (int i = 0; i < defer_n; i++)
        efd_write(defer_fd[i]);
    defer_n = -1;
}

/* Mark a port pending; if it is not masked, flag the vCPU and kick it. */
void hv_evtchn_set_pending(struct hv_domain *d, uint32_t port)
{
    struct keel_shared_info *si = d->shared;
    struct hv_evtchn *chn = &d->evtchn[port];
    uint64_t bit = 1ULL << (port % 64);
    struct keel_vcpu_info *vi;
    struct hv_vcpu *v;

    if (d == hv.dom0) {
        if (chn->efd < 0 || !hv_evfast_raise(chn->owner, port))
            return;
        if (defer_n >= 0 && defer_n < DEFER_MAX)
            defer_fd[defer_n++] = chn->efd;
        else
            efd_write(chn->efd);
        return;
    }
    if (d->dead || chn->vcpu >= d->max_vcpus)
        return;
    v = &d->vcpus[chn->vcpu];
    if (__atomic_fetch_or(&si->evtchn_pending[port / 64], bit, __ATOMIC_SEQ_CST) & bit) {
        if (v->deferred)
            hv_vcpu_kick(d, v);                /* a poll may be waiting for this port */
        return;
    }
    if (__atomic_load_n(&si->evtchn_mask[port / 64], __ATOMIC_SEQ_CST) & bit) {
        if (v->deferred)
            hv_vcpu_kick(d, v);
        return;
    }
    vi = &si->vcpu_info[chn->vcpu];
    __atomic_fetch_or(&vi->evtchn_pending_sel, 1ULL << (port / 64), __ATOMIC_SEQ_CST);
    __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    hv_vcpu_kick(d, v);
}

void hv_send_virq(struct hv_domain *d, struct hv_vcpu *v, uint32_t virq)
{
    uint32_t port = v->virq_port[virq];

    if (port)
        hv_evtchn_set_pending(d, port);
}

/* Global VIRQs go to every toolstack connection that bound them (each has its own port). */
void hv_send_global_virq(uint32_t virq)
{
    struct hv_domain *d = hv.dom0;

    for (uint32_t p = 1; p < d->nr_evtchn; p++)
        if (d->evtchn[p].state == CHN_VIRQ && d->evtchn[p].virq == virq)
            hv_evtchn_set_pending(d, p);
}

static bool conn_has_virq(struct hv_caller *c, uint32_t virq)
{
    for (uint32_t p = 1; p < c->d->nr_evtchn; p++)
        if (c->d->evtchn[p].state == CHN_VIRQ && c->d->evtchn[p].virq == virq &&
            c->d->evtchn[p].owner == c->conn)
            return true;
    return false;
}

static bool virq_is_global(uint32_t virq)
{
    return virq == KEEL_VIRQ_DOM_EXC || virq == KEEL_VIRQ_CON_RING || virq == KEEL_VIRQ_CONSOLE;
}

static long bind_virq(struct hv_caller *c, struct keel_evtchn_op *op)
{
    struct hv_domain *d = c->d;
    uint32_t port;
    int rc;

    if (op->virq >= KEEL_NR_VIRQS)
        return -EINVAL;
    if (virq_is_global(op->virq) ? (d != hv.dom0 || op->vcpu != 0) : op->vcpu >= d->max_vcpus)
        return -EINVAL;
    if (d == hv.dom0 ? conn_has_virq(c, op->virq) : d->vcpus[op->vcpu].virq_port[op->virq] != 0)
        return -EEXIST;
    if (c->conn && (rc = hv_xsm_check(c, d, SECCLASS_EVENT, EVENT__BIND_VIRQ)) < 0)
        return rc;                              /* a control connection's role may lack it */
    if ((rc = alloc_port(c, d, &port)) < 0)
        return rc;
    d->evtchn[port].state = CHN_VIRQ;
    d->evtchn[port].virq = op->virq;
    d->evtchn[port].vcpu = (uint16_t)op->vcpu;
    if (d != hv.dom0)
        d->vcpus[op->vcpu].virq_port[op->virq] = port;
    hv_evfast_attach(c, NULL);
    op->port = port;
    return 0;
}

static long alloc_unbound(struct hv_caller *c, struct keel_evtchn_op *op)
{
    struct hv_domain *d = hv_domain_target(c, op->dom), *rd;
    uint32_t port, sid, rdom = op->remote_dom == KEEL_DOMID_SELF ? c->d->domid : op->remote_dom;
    int rc;

    if (!d || !(rd = hv_domain_get(rdom)))
        return -ESRCH;
    if ((rc = hv_xsm_target(c, d, KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_ALLOC_UNBOUND)) < 0)
        return rc;
    if (d == hv.dom0 && c->d != hv.dom0)
        return -EPERM;
    /* a Domain-0 port is labelled from the connection's role, a guest's from the guest */
    sid = d == hv.dom0 ? hv_flask_channel_sid_of(hv_caller_sid(c), rd) : hv_flask_channel_sid(d, rd);
    if ((rc = hv_xsm_check_sids(hv_caller_sid(c), sid, SECCLASS_EVENT, EVENT__CREATE)) < 0)
        return rc;
    if ((rc = alloc_port(c, d, &port)) < 0)
        return rc;
    d->evtchn[port].state = CHN_UNBOUND;
    d->evtchn[port].remote_dom = rd->domid;
    d->evtchn[port].sid = sid;
    if (d == hv.dom0)
        hv_evfast_attach(c, rd);
    op->port = port;
    return 0;
}

static long bind_interdomain(struct hv_caller *c, struct keel_evtchn_op *op)
{
    struct hv_domain *ld = c->d, *rd = hv_domain_target(c, op->remote_dom);
    struct hv_evtchn *rchn;
    uint32_t port, sid;
    int rc;

    if (!rd)
        return -ESRCH;
    if (op->remote_port == 0 || op->remote_port >= rd->nr_evtchn)
        return -EINVAL;
    rchn = &rd->evtchn[op->remote_port];
    if (rchn->state != CHN_UNBOUND || rchn->remote_dom != ld->domid)
        return -EINVAL;
    sid = hv_flask_channel_sid_of(hv_caller_sid(c), rd);
    if ((rc = hv_xsm_check_sids(hv_caller_sid(c), sid, SECCLASS_EVENT, EVENT__CREATE)) < 0 ||
        (rc = hv_xsm_check_sids(sid, rd->ssidref, SECCLASS_EVENT, EVENT__BIND)) < 0)
        return rc;
    if ((rc = alloc_port(c, ld, &port)) < 0)
        return rc;
    ld->evtchn[port].sid = sid;
    ld->evtchn[port].state = CHN_INTERDOMAIN;
    ld->evtchn[port].remote_dom = rd->domid;
    ld->evtchn[port].remote_port = op->remote_port;
    rchn->state = CHN_INTERDOMAIN;
    rchn->remote_port = port;
    hv_evfast_attach(c, rd);
    op->port = port;
    /* Like Xen: notifications sent to the unbound port may have been lost, so the new local
     * port starts pending. */
    hv_evtchn_set_pending(ld, port);
    return 0;
}

static long bind_ipi(struct hv_caller *c, struct keel_evtchn_op *op)
{
    uint32_t port;
    int rc;

    if (op->vcpu >= c->d->max_vcpus || c->d == hv.dom0)
        return -EINVAL;
    if ((rc = alloc_port(c, c->d, &port)) < 0)
        return rc;
    c->d->evtchn[port].state = CHN_IPI;
    c->d->evtchn[port].vcpu = (uint16_t)op->vcpu;
    op->port = port;
    return 0;
}

static struct hv_evtchn *own_port(struct hv_caller *c, uint32_t port)
{
    struct hv_evtchn *chn;

    if (port == 0 || port >= c->d->nr_evtchn)
        return NULL;
    chn = &c->d->evtchn[port];
    if (chn->state == CHN_FREE)
        return NULL;
    if (c->d == hv.dom0 && chn->owner != c->conn)
        return NULL;                            /* another toolstack process's port */
    return chn;
}

static long close_port(struct hv_caller *c, struct hv_domain *d, uint32_t port)
{
    struct hv_evtchn *chn = &d->evtchn[port];

    if (chn->state == CHN_INTERDOMAIN) {
        struct hv_domain *rd = hv_domain_get(chn->remote_dom);
        if (rd && chn->remote_port < rd->nr_evtchn &&
            rd->evtchn[chn->remote_port].state == CHN_INTERDOMAIN &&
            rd->evtchn[chn->remote_port].remote_dom == d->domid) {
            rd->evtchn[chn->remote_port].state = CHN_UNBOUND;
            rd->evtchn[chn->remote_port].remote_port = 0;
        }
    }
    (void)c;
    free_port(d, port);
    return 0;
}

static long send_port(struct hv_caller *c, struct hv_evtchn *chn, uint32_t port)
{
    struct hv_domain *rd;

    switch (chn->state) {
    case CHN_INTERDOMAIN:
        if (hv_xsm_check_sids(hv_caller_sid(c), chn->sid, SECCLASS_EVENT, EVENT__SEND) < 0)
            return -EACCES;
        rd = hv_domain_get(chn->remote_dom);
        if (rd && chn->remote_port < rd->nr_evtchn)
            hv_evtchn_set_pending(rd, chn->remote_port);
        return 0;
    case CHN_IPI:
        hv_evtchn_set_pending(c->d, port);
        return 0;
    case CHN_UNBOUND:
        return 0;                                /* dropped, as Xen does */
    default:
        return -EINVAL;
    }
}

static long status_port(struct hv_caller *c, struct keel_evtchn_op *op)
{
    struct hv_domain *d = hv_domain_target(c, op->dom);
    struct hv_evtchn *chn;
    int rc;

    if (!d)
        return -ESRCH;
    if ((rc = hv_xsm_target(c, d, KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_STATUS)) < 0)
        return rc;
    if (op->port == 0 || op->port >= d->nr_evtchn)
        return -EINVAL;
    chn = &d->evtchn[op->port];
    if (chn->state != CHN_FREE && chn->sid &&
        (rc = hv_xsm_check_sids(hv_caller_sid(c), chn->sid, SECCLASS_EVENT, EVENT__STATUS)) < 0)
        return rc;
    static const uint32_t map[] = { KEEL_EVTCHNSTAT_CLOSED, KEEL_EVTCHNSTAT_UNBOUND,
                                    KEEL_EVTCHNSTAT_INTERDOMAIN, KEEL_EVTCHNSTAT_VIRQ,
                                    KEEL_EVTCHNSTAT_IPI };
    op->status = map[chn->state];
    op->vcpu = chn->vcpu;
    op->remote_dom = chn->remote_dom;
    op->remote_port = chn->remote_port;
    op->virq = chn->virq;
    return 0;
}

static long unmask_port(struct hv_caller *c, uint32_t port)
{
    struct hv_domain *d = c->d;
    struct keel_shared_info *si = d->shared;
    uint64_t bit = 1ULL << (port % 64);

    if (d == hv.dom0)
        return 0;
    __atomic_fetch_and(&si->evtchn_mask[port / 64], ~bit, __ATOMIC_SEQ_CST);
    if (hv_port_pending(d, port)) {
        struct keel_vcpu_info *vi = &si->vcpu_info[d->evtchn[port].vcpu];
        __atomic_fetch_or(&vi->evtchn_pending_sel, 1ULL << (port / 64), __ATOMIC_SEQ_CST);
        __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
        hv_vcpu_kick(d, &d->vcpus[d->evtchn[port].vcpu]);
    }
    return 0;
}

static long port_op(struct hv_caller *c, uint64_t cmd, struct keel_evtchn_op *op)
{
    struct hv_evtchn *chn = own_port(c, op->port);

    if (!chn)
        return -EINVAL;
    switch (cmd) {
    case KEEL_EVTCHNOP_CLOSE:
        return close_port(c, c->d, op->port);
    case KEEL_EVTCHNOP_SEND:
        return send_port(c, chn, op->port);
    case KEEL_EVTCHNOP_UNMASK:
        return unmask_port(c, op->port);
    default: /* KEEL_EVTCHNOP_BIND_VCPU */
        if (op->vcpu >= c->d->max_vcpus || chn->state == CHN_VIRQ)
            return -EINVAL;
        chn->vcpu = (uint16_t)op->vcpu;
        return 0;
    }
}

static long reset(struct hv_caller *c, struct keel_evtchn_op *op)
{
    struct hv_domain *d = hv_domain_target(c, op->dom);
    int rc;

    if (!d || d == hv.dom0)
        return -ESRCH;
    if ((rc = hv_xsm_target(c, d, KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_RESET)) < 0 ||
        (rc = hv_xsm_check(c, d, SECCLASS_EVENT, EVENT__RESET)) < 0)
        return rc;
    for (uint32_t p = 1; p < d->nr_evtchn; p++)
        if (d->evtchn[p].state != CHN_FREE)
            close_port(c, d, p);
    return 0;
}

long hv_do_evtchn_op(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    struct keel_evtchn_op op;
    long rc;

    if ((rc = hv_arg_read(c, arg, &op, sizeof(op))) < 0)
        return rc;
    switch (cmd) {
    case KEEL_EVTCHNOP_ALLOC_UNBOUND: rc = alloc_unbound(c, &op); break;
    case KEEL_EVTCHNOP_BIND_INTERDOMAIN: rc = bind_interdomain(c, &op); break;
    case KEEL_EVTCHNOP_BIND_VIRQ: rc = bind_virq(c, &op); break;
    case KEEL_EVTCHNOP_BIND_IPI: rc = bind_ipi(c, &op); break;
    case KEEL_EVTCHNOP_STATUS: rc = status_port(c, &op); break;
    case KEEL_EVTCHNOP_RESET: rc = reset(c, &op); break;
    case KEEL_EVTCHNOP_CLOSE:
    case KEEL_EVTCHNOP_SEND:
    case KEEL_EVTCHNOP_UNMASK:
    case KEEL_EVTCHNOP_BIND_VCPU: rc = port_op(c, cmd, &op); break;
    default: return -ENOSYS;
    }
    if (rc == 0)
        rc = hv_arg_write(c, arg, &op, sizeof(op));
    if (cmd != KEEL_EVTCHNOP_SEND && cmd != KEEL_EVTCHNOP_UNMASK && cmd != KEEL_EVTCHNOP_STATUS)
        hv_evfast_refresh();                    /* bindings changed: the direct path follows */
    return rc;
}

/* A toolstack connection went away: its Domain-0 ports close, as closing /dev/xen/evtchn does. */
void hv_evtchn_conn_closed(struct hv_conn *conn)
{
    struct hv_domain *d = hv.dom0;
    struct hv_caller c = { .d = d, .conn = conn };

    for (uint32_t p = 1; p < d->nr_evtchn; p++)
        if (d->evtchn[p].state != CHN_FREE && d->evtchn[p].owner == conn)
            close_port(&c, d, p);
    hv_evfast_conn_closed(conn);
    hv_evfast_refresh();
}
