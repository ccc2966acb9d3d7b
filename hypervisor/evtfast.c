/* evtfast.c - the Domain-0 fast event path: events between a guest and a Domain-0 process
 * (a backend, the store) without the control socket, and when both sides are awake without
 * the domain's runner either.
 *
 * Guest -> Domain-0: each toolstack connection that binds a port gets an event page (a memfd,
 * struct keel_privcmd_evpage). Signalling one of its ports sets the port's bit in pending[];
 * the port's eventfd is written too unless the process has set the port's bit in spin[] (it is
 * watching pending[] itself). Store bit, full barrier, load spin bit here; store spin bit
 * clear, full barrier, load pending bit there: one side always sees the other. While a process
 * spins it also sets the guest port's d0_watch bit in the guest's bell page; the guest then
 * only sets its guest_send bit (no hypercall), which the process takes if the port's direct[]
 * entry allows it.
 *
 * Domain-0 -> guest: the process maps the guest's shared info and the page of its control
 * area that holds the runner's doorbell. If the port's direct[] entry allows it, the process
 * marks the guest's port pending itself (2-level rules: pending bit, mask, pending_sel,
 * upcall_pending) and is done if the target vCPU is polling in guest mode (vcpu_polling[]);
 * otherwise it sets the vCPU's bit in kick_vcpu[] and the runner kicks it. Without a direct
 * entry it sets its port's bit in d0_send[] (then rings the doorbell if the runner sleeps);
 * the runner drains d0_send[] and, under the core lock, signals the remote of each Domain-0
 * port that is interdomain with this very guest (FLASK `event send` checked as for
 * EVTCHNOP_send). The guest can write d0_send[] and kick_vcpu[] too: all it can reach that
 * way is its own ports bound to Domain-0 and its own vCPUs.
 *
 * direct[] entries are the core's: computed under hv.lock by hv_evfast_refresh() after every
 * event-channel change, domain teardown and FLASK policy load or mode change, and only set for
 * a consistent interdomain pair whose `event send` is allowed without audit. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv.h"
#include "keel-flask-av.h"
#include "keel/privcmd.h"

_Static_assert(HV_CTL_OFF == KEEL_PRIVCMD_BELL_OFF, "bell page offset");
_Static_assert(offsetof(struct hv_ctl_header, doorbell) == offsetof(struct keel_privcmd_bell, doorbell) &&
               offsetof(struct hv_ctl_header, core_sleeping) == offsetof(struct keel_privcmd_bell, core_sleeping) &&
               offsetof(struct hv_ctl_header, d0_send_sel) == offsetof(struct keel_privcmd_bell, send_sel) &&
               offsetof(struct hv_ctl_header, d0_send) == offsetof(struct keel_privcmd_bell, send) &&
               offsetof(struct hv_ctl_header, vcpu_polling) ==
                   offsetof(struct keel_privcmd_bell, vcpu_polling) &&
               offsetof(struct hv_ctl_header, guest_send) ==
                   offsetof(struct keel_privcmd_bell, guest_send) &&
               offsetof(struct hv_ctl_header, d0_watch) == offsetof(struct keel_privcmd_bell, d0_watch) &&
               offsetof(struct hv_ctl_header, kick_vcpu) == offsetof(struct keel_privcmd_bell, kick_vcpu),
               "bell layout");
_Static_assert(sizeof(struct keel_privcmd_bell) <= KEEL_PRIVCMD_BELL_LEN, "bell page");
_Static_assert(sizeof(struct keel_privcmd_evpage) <= KEEL_PRIVCMD_EVPAGE_LEN, "event page");
_Static_assert(sizeof(struct keel_shared_info) <= KEEL_PRIVCMD_BELL_OFF, "shared info");
_Static_assert(KEEL_MAX_VCPUS <= 256 && KEEL_NR_EVTCHN <= 4096, "direct[] entry fields");

#define EVPAGE_SIZE KEEL_PRIVCMD_EVPAGE_LEN

/* One per toolstack connection that bound a port; protected by hv.lock. */
struct evpage {
    struct hv_conn *conn;
    int fd;
    struct keel_privcmd_evpage *pg;
    uint32_t dom[KEEL_NR_EVTCHN];        /* the guest of each valid direct[] entry */
    struct evpage *next;
};

static struct evpage *pages;

static struct evpage *find(struct hv_conn *conn)
{
    for (struct evpage *e = pages; e; e = e->next)
        if (e->conn == conn)
            return e;
    return NULL;
}

static struct evpage *get_page(struct hv_conn *conn)
{
    struct evpage *e = find(conn);

    if (e)
        return e;
    if (!(e = calloc(1, sizeof(*e))))
        return NULL;
    e->fd = memfd_create("keel-evpage", MFD_CLOEXEC);
    if (e->fd < 0 || ftruncate(e->fd, EVPAGE_SIZE) < 0 ||
        (e->pg = mmap(NULL, EVPAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, 0)) == MAP_FAILED) {
        if (e->fd >= 0)
            close(e->fd);
        free(e);
        return NULL;
    }
    e->conn = conn;
    e->next = pages;
    pages = e;
    hv_evfast_refresh();
    return e;
}

/* A reply creating a Domain-0 port of c's connection: add the event page and, if the remote is
 * a guest, its control memfd (the caller already holds the port's eventfd in c->fds[0]).
 * Without them the process uses the slow path, so failure here is not an error. */
void hv_evfast_attach(struct hv_caller *c, struct hv_domain *remote)
{
    struct evpage *e;

    if (!c->conn || c->d != hv.dom0 || c->nfds != 1 || !(e = get_page(c->conn)))
        return;
    c->fds[c->nfds++] = e->fd;
    if (remote && remote != hv.dom0 && remote->shared_fd >= 0)
        c->fds[c->nfds++] = remote->shared_fd;
}

/* A Domain-0 port of conn fired: mark it; true if its eventfd must be written too. */
bool hv_evfast_raise(struct hv_conn *conn, uint32_t port)
{
    struct evpage *e = find(conn);
    uint64_t bit = 1ULL << (port % 64);

    if (!e || port >= KEEL_NR_EVTCHN)
        return true;
    __atomic_fetch_or(&e->pg->pending[port / 64], bit, __ATOMIC_SEQ_CST);
    return !(__atomic_load_n(&e->pg->spin[port / 64], __ATOMIC_SEQ_CST) & bit);
}

void hv_evfast_conn_closed(struct hv_conn *conn)
{
    for (struct evpage **pp = &pages; *pp; pp = &(*pp)->next) {
        struct evpage *e = *pp;
        if (e->conn != conn)
            continue;
        *pp = e->next;
        munmap(e->pg, EVPAGE_SIZE);
        close(e->fd);
        free(e);
        return;
    }
}

/* The direct[] entry of Domain-0 port q: 0 unless q and its remote guest port are a
 * consistent interdomain pair. */
static uint32_t direct_entry(uint32_t q)
{
    struct hv_domain *d0 = hv.dom0, *d;
    struct hv_evtchn *c0 = &d0->evtchn[q], *cr;
    uint32_t e;

    if (c0->state != CHN_INTERDOMAIN || c0->remote_dom == d0->domid ||
        !(d = hv_domain_get(c0->remote_dom)) || d->destroying || d->dead || !d->shared ||
        c0->remote_port == 0 || c0->remote_port >= d->nr_evtchn)
        return 0;
    cr = &d->evtchn[c0->remote_port];
    if (cr->state != CHN_INTERDOMAIN || cr->remote_dom != d0->domid || cr->remote_port != q ||
        cr->vcpu >= d->max_vcpus)
        return 0;
    e = c0->remote_port | (uint32_t)cr->vcpu << 12;
    if (hv_xsm_allowed_quietly(c0->owner ? hv_conn_sid(c0->owner) : d0->ssidref, c0->sid,
                               SECCLASS_EVENT, EVENT__SEND))
        e |= KEEL_PRIVCMD_DIRECT_TO_GUEST;
    if (hv_xsm_allowed_quietly(d->ssidref, cr->sid, SECCLASS_EVENT, EVENT__SEND))
        e |= KEEL_PRIVCMD_DIRECT_FROM_GUEST;
    return e;
}

/* Publish q's entry. When the guest port it named stops being takeable from the guest, clear
 * that port's d0_watch bit after the entry: a process sets the bit, then reads the entry again
 * and clears the bit itself if it changed, so no watch bit outlives its binding (a stale one
 * would let the guest skip the hypercall for a port nobody watches). */
static void set_entry(struct evpage *e, uint32_t q, uint32_t v, uint32_t dom)
{
    uint32_t old = __atomic_load_n(&e->pg->direct[q], __ATOMIC_RELAXED), p = KEEL_PRIVCMD_DIRECT_PORT(old);
    struct hv_domain *g;

    if (old == v && (!v || e->dom[q] == dom))
        return;
    __atomic_store_n(&e->pg->direct[q], v, __ATOMIC_SEQ_CST);
    if ((old & KEEL_PRIVCMD_DIRECT_FROM_GUEST) &&
        (!(v & KEEL_PRIVCMD_DIRECT_FROM_GUEST) || KEEL_PRIVCMD_DIRECT_PORT(v) != p || e->dom[q] != dom) &&
        (g = hv_domain_get(e->dom[q])) && g != hv.dom0 && g->shared)
        __atomic_fetch_and(&HV_CTL(g->shared)->d0_watch[p / 64], ~(1ULL << (p % 64)), __ATOMIC_SEQ_CST);
    e->dom[q] = v ? dom : 0;
}

/* Recompute every direct[] entry (under hv.lock). Cheap enough for what calls it: binds,
 * closes, teardown, policy changes; never a send. */
void hv_evfast_refresh(void)
{
    struct hv_domain *d0 = hv.dom0;

    if (!d0 || !pages)
        return;
    for (struct evpage *e = pages; e; e = e->next)
        for (uint32_t q = 0; q < KEEL_NR_EVTCHN; q++)
            if (q >= d0->nr_evtchn || d0->evtchn[q].owner != e->conn)
                set_entry(e, q, 0, 0);
    for (uint32_t q = 1; q < d0->nr_evtchn; q++) {
        struct evpage *e = d0->evtchn[q].owner ? find(d0->evtchn[q].owner) : NULL;
        if (e)
            set_entry(e, q, direct_entry(q), d0->evtchn[q].remote_dom);
    }
}

/* Does v poll its upcall flag in guest mode (so a kick would only cost a signal)? Called after
 * evtchn_upcall_pending was set with a full barrier; the guest clears the bit, then blocks
 * with a hypercall that looks at evtchn_upcall_pending again. */
bool hv_evfast_vcpu_polling(struct hv_domain *d, uint32_t vcpu)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);

    return vcpu < KEEL_MAX_VCPUS &&
           (__atomic_load_n(&h->vcpu_polling[vcpu / 64], __ATOMIC_SEQ_CST) >> (vcpu % 64)) & 1;
}

/* Domain-0 port q asks to signal d: only if q is interdomain with d and its remote agrees. */
static void send_one(struct hv_domain *d, uint32_t q)
{
    struct hv_domain *d0 = hv.dom0;
    struct hv_evtchn *c0, *cr;

    if (q == 0 || q >= d0->nr_evtchn)
        return;
    c0 = &d0->evtchn[q];
    if (c0->state != CHN_INTERDOMAIN || c0->remote_dom != d->domid || c0->remote_port == 0 ||
        c0->remote_port >= d->nr_evtchn)
        return;
    cr = &d->evtchn[c0->remote_port];
    if (cr->state != CHN_INTERDOMAIN || cr->remote_dom != d0->domid || cr->remote_port != q)
        return;
    if (hv_xsm_check_sids(c0->owner ? hv_conn_sid(c0->owner) : d0->ssidref, c0->sid,
                          SECCLASS_EVENT, EVENT__SEND) < 0)
        return;
    hv_evtchn_set_pending(d, c0->remote_port);
}

bool hv_evfast_waiting(struct hv_domain *d)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);

    if (__atomic_load_n(&h->d0_send_sel, __ATOMIC_SEQ_CST))
        return true;
    for (uint32_t w = 0; w < KEEL_MAX_VCPUS / 64; w++)
        if (__atomic_load_n(&h->kick_vcpu[w], __ATOMIC_SEQ_CST))
            return true;
    return false;
}

/* Kicks Domain-0 processes asked for after marking a port pending themselves. A vCPU is kicked
 * if it has an upcall pending or waits in a poll (the port may be masked); a forged request
 * can only kick the guest's own vCPUs. */
static int drain_kicks(struct hv_domain *d)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    struct keel_shared_info *si = d->shared;
    int n = 0;

    for (uint32_t w = 0; w < KEEL_MAX_VCPUS / 64; w++) {
        uint64_t bits;
        if (!__atomic_load_n(&h->kick_vcpu[w], __ATOMIC_RELAXED))
            continue;
        bits = __atomic_exchange_n(&h->kick_vcpu[w], 0, __ATOMIC_SEQ_CST);
        pthread_mutex_lock(&hv.lock);
        for (; bits; bits &= bits - 1, n++) {
            uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
            struct hv_vcpu *v;
            if (i >= d->max_vcpus || d->destroying || d->dead)
                continue;
            v = &d->vcpus[i];
            if (__atomic_load_n(&si->vcpu_info[i].evtchn_upcall_pending, __ATOMIC_SEQ_CST) ||
                (v->deferred && v->deferred_op == KH_SCHED_OP && v->deferred_cmd == KEEL_SCHEDOP_POLL))
                hv_vcpu_kick(d, v);
        }
        pthread_mutex_unlock(&hv.lock);
    }
    return n;
}

/* The runner: signal what Domain-0 processes posted for this domain; returns how many bits. */
int hv_evfast_drain(struct hv_domain *d)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    uint64_t sel, words[KEEL_NR_EVTCHN / 64], any = 0;
    int n = drain_kicks(d);

    if (!__atomic_load_n(&h->d0_send_sel, __ATOMIC_RELAXED))
        return n;
    sel = __atomic_exchange_n(&h->d0_send_sel, 0, __ATOMIC_SEQ_CST);
    for (uint32_t w = 0; w < KEEL_NR_EVTCHN / 64; w++) {
        words[w] = (sel >> w) & 1 ? __atomic_exchange_n(&h->d0_send[w], 0, __ATOMIC_SEQ_CST) : 0;
        any |= words[w];
    }
    if (!any)
        return n;
    pthread_mutex_lock(&hv.lock);
    for (uint32_t w = 0; w < KEEL_NR_EVTCHN / 64; w++) {
        for (uint64_t bits = words[w]; bits; bits &= bits - 1, n++)
            if (!d->destroying && !d->dead)
                send_one(d, w * 64 + (uint32_t)__builtin_ctzll(bits));
    }
    pthread_mutex_unlock(&hv.lock);
    return n;
}
