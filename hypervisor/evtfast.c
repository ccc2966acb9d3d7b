/* evtfast.c - the Domain-0 fast event path: events between a guest and a Domain-0 process
 * (a backend, the store) without the control socket.
 *
 * Guest -> Domain-0: each toolstack connection that binds a port gets an event page (a 4 KiB
 * memfd, struct keel_privcmd_evpage). Signalling one of its ports sets the port's bit in
 * pending[]; the port's eventfd is written too unless the process has set the port's bit in
 * spin[] (it is watching pending[] itself). Store bit, full barrier, load spin bit here; store
 * spin bit clear, full barrier, load pending bit there: one side always sees the other.
 *
 * Domain-0 -> guest: the process maps the page of the guest's control area that holds the
 * runner's doorbell and sets its port's bit in d0_send[] (then rings the doorbell if the runner
 * sleeps). The runner drains d0_send[] and, under the core lock, signals the remote of each
 * Domain-0 port that is interdomain with this very guest (FLASK `event send` checked as for
 * EVTCHNOP_send). The guest can write d0_send[] too: all it can reach that way is its own
 * ports bound to Domain-0. */
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
               offsetof(struct hv_ctl_header, d0_send) == offsetof(struct keel_privcmd_bell, send),
               "bell layout");
_Static_assert(sizeof(struct keel_privcmd_bell) <= KEEL_PRIVCMD_BELL_LEN, "bell page");
_Static_assert(sizeof(struct keel_privcmd_evpage) <= 4096, "event page");

#define EVPAGE_SIZE 4096

/* One per toolstack connection that bound a port; protected by hv.lock. */
struct evpage {
    struct hv_conn *conn;
    int fd;
    struct keel_privcmd_evpage *pg;
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
    if (hv_xsm_check_sids(d0->ssidref, c0->sid, SECCLASS_EVENT, EVENT__SEND) < 0)
        return;
    hv_evtchn_set_pending(d, c0->remote_port);
}

bool hv_evfast_waiting(struct hv_domain *d)
{
    return __atomic_load_n(&HV_CTL(d->shared)->d0_send_sel, __ATOMIC_SEQ_CST) != 0;
}

/* The runner: signal what Domain-0 processes posted for this domain; returns how many bits. */
int hv_evfast_drain(struct hv_domain *d)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    uint64_t sel, words[KEEL_NR_EVTCHN / 64], any = 0;
    int n = 0;

    if (!__atomic_load_n(&h->d0_send_sel, __ATOMIC_RELAXED))
        return 0;
    sel = __atomic_exchange_n(&h->d0_send_sel, 0, __ATOMIC_SEQ_CST);
    for (uint32_t w = 0; w < KEEL_NR_EVTCHN / 64; w++) {
        words[w] = (sel >> w) & 1 ? __atomic_exchange_n(&h->d0_send[w], 0, __ATOMIC_SEQ_CST) : 0;
        any |= words[w];
    }
    if (!any)
        return 0;
    pthread_mutex_lock(&hv.lock);
    for (uint32_t w = 0; w < KEEL_NR_EVTCHN / 64; w++) {
        for (uint64_t bits = words[w]; bits; bits &= bits - 1, n++)
            if (!d->destroying && !d->dead)
                send_one(d, w * 64 + (uint32_t)__builtin_ctzll(bits));
    }
    pthread_mutex_unlock(&hv.lock);
    return n;
}
