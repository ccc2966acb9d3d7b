/* kc_evtchn.c - libkeelctrl: event channels on the toolstack (Domain-0) side. Each bound port
 * comes with an eventfd from the core; the handle keeps it until the port is closed.
 *
 * The fast path (hypervisor/README.md, "Events"): with its first port the handle receives the
 * connection's event page, where the core marks each port that fires and says, per port, what
 * the process may do directly; with a port whose remote is a guest, that guest's control memfd,
 * of which we map the shared info and the bell page. kc_evtchn_notify marks the guest's port
 * pending itself when the core allows it and is done if the guest's vCPU polls; otherwise it
 * posts to the bell page (a bit, and a futex wake only when the guest's runner sleeps).
 * kc_evtchn_wait (kc_evwait.c) watches the event page and the guests' guest_send bits, then
 * sleeps on the eventfds. */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kc_private.h"

#define KC_EV_FDS 3                        /* eventfd, event page, the remote guest's memfd */
#define KC_SPIN_NS_DEFAULT 50000           /* about the core's runner window */

struct ev_fds {
    int fd[KC_EV_FDS];
    int n;
};

static void close_fds(struct ev_fds *f, int from)
{
    for (int i = from; i < f->n; i++)
        if (f->fd[i] >= 0)
            close(f->fd[i]);
}

static long evtchn(kc_handle *h, uint64_t cmd, struct keel_evtchn_op *op, struct ev_fds *f)
{
    struct ev_fds none;
    long rc;

    if (!f)
        f = &none;
    f->n = 0;
    rc = kc_hypercall(h, KH_EVENT_CHANNEL_OP, cmd, op, sizeof(*op), NULL, 0, NULL, 0, NULL,
                      f->fd, KC_EV_FDS, &f->n);
    if (rc < 0 || f == &none) {
        close_fds(f, 0);
        f->n = 0;
    }
    return rc;
}

/* Map a shared page of fd (at least off + len bytes long); NULL if it is not one. */
static void *map_shared(int fd, off_t off, size_t len)
{
    struct stat st;
    void *p;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < off + (off_t)len)
        return NULL;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
    return p == MAP_FAILED ? NULL : p;
}

/* The event page: mapped once per handle. */
static void keep_evpage(kc_handle *h, int fd)
{
    struct keel_privcmd_evpage *pg, *none = NULL;

    if (__atomic_load_n(&h->evpage, __ATOMIC_ACQUIRE))
        return;
    if (!(pg = map_shared(fd, 0, sizeof(*pg))))
        return;
    if (!__atomic_compare_exchange_n(&h->evpage, &none, pg, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        munmap(pg, sizeof(*pg));
}

static void forget_port(kc_handle *h, uint32_t port)
{
    if (h->port_fd[port] >= 0)
        close(h->port_fd[port]);
    if (h->port_bell[port])
        munmap(kc_remote_base(h->port_bell[port]), KEEL_PRIVCMD_REMOTE_LEN);
    h->port_fd[port] = -1;
    h->port_bell[port] = NULL;
    __atomic_fetch_and(&h->bound[port / 64], ~(1ULL << (port % 64)), __ATOMIC_RELAXED);
}

static int keep_port(kc_handle *h, uint32_t port, struct ev_fds *f)
{
    struct keel_privcmd_bell *bell = NULL;
    char *base;

    if (port >= KC_MAX_PORTS || f->n < 1) {
        close_fds(f, 0);
        return -EPROTO;
    }
    if (f->n >= 2)
        keep_evpage(h, f->fd[1]);
    if (f->n >= 3 && (base = map_shared(f->fd[2], 0, KEEL_PRIVCMD_REMOTE_LEN)))
        bell = (struct keel_privcmd_bell *)(base + KEEL_PRIVCMD_BELL_OFF);
    close_fds(f, 1);
    pthread_mutex_lock(&h->plock);
    forget_port(h, port);
    h->port_fd[port] = f->fd[0];
    h->port_bell[port] = bell;
    __atomic_fetch_or(&h->bound[port / 64], 1ULL << (port % 64), __ATOMIC_RELAXED);
    pthread_mutex_unlock(&h->plock);
    return 0;
}

void kc_evtchn_release(kc_handle *h)
{
    for (uint32_t p = 0; p < KC_MAX_PORTS; p++)
        if (h->port_bell[p])
            munmap(kc_remote_base(h->port_bell[p]), KEEL_PRIVCMD_REMOTE_LEN);
    if (h->evpage)
        munmap(h->evpage, sizeof(*h->evpage));
}

int kc_evtchn_alloc_unbound(kc_handle *h, uint32_t dom, uint32_t remote_dom, uint32_t *port)
{
    struct keel_evtchn_op op = { .dom = dom, .remote_dom = remote_dom };
    struct ev_fds f;
    long rc = evtchn(h, KEEL_EVTCHNOP_ALLOC_UNBOUND, &op, &f);

    if (rc < 0)
        return (int)kc_fail(rc, "allocating an unbound port in domain %u for domain %u", dom,
                            remote_dom);
    if (f.n > 0 && (rc = keep_port(h, op.port, &f)) < 0)
        return (int)kc_fail(rc, "port %u", op.port);
    *port = op.port;
    return 0;
}

int kc_evtchn_bind_interdomain(kc_handle *h, uint32_t remote_dom, uint32_t remote_port,
                               uint32_t *port)
{
    struct keel_evtchn_op op = { .remote_dom = remote_dom, .remote_port = remote_port };
    struct ev_fds f;
    long rc = evtchn(h, KEEL_EVTCHNOP_BIND_INTERDOMAIN, &op, &f);

    if (rc < 0)
        return (int)kc_fail(rc, "binding to port %u of domain %u", remote_port, remote_dom);
    if ((rc = keep_port(h, op.port, &f)) < 0)
        return (int)kc_fail(rc, "port %u", op.port);
    *port = op.port;
    return 0;
}

int kc_evtchn_bind_virq(kc_handle *h, uint32_t virq, uint32_t *port)
{
    struct keel_evtchn_op op = { .virq = virq };
    struct ev_fds f;
    long rc = evtchn(h, KEEL_EVTCHNOP_BIND_VIRQ, &op, &f);

    if (rc < 0)
        return (int)kc_fail(rc, "binding VIRQ %u", virq);
    if ((rc = keep_port(h, op.port, &f)) < 0)
        return (int)kc_fail(rc, "port %u", op.port);
    *port = op.port;
    return 0;
}

/* Wake the guest's runner if it sleeps. */
static void ring(struct keel_privcmd_bell *b)
{
    if (__atomic_load_n(&b->core_sleeping, __ATOMIC_SEQ_CST)) {
        __atomic_add_fetch(&b->doorbell, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, &b->doorbell, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
}

/* Post a send into the remote guest's bell page: its runner signals the guest. */
static void post_send(struct keel_privcmd_bell *b, uint32_t port)
{
    __atomic_fetch_or(&b->send[port / 64], 1ULL << (port % 64), __ATOMIC_SEQ_CST);
    __atomic_fetch_or(&b->send_sel, 1ULL << (port / 64), __ATOMIC_SEQ_CST);
    ring(b);
}

/* Mark the guest's port pending ourselves (Xen's 2-level rules), as the core allowed in the
 * port's direct[] entry; false if the entry does not allow it. Nothing more is needed if the
 * port was already pending (whoever marked it saw to the kick) or the target vCPU polls in
 * guest mode; otherwise the runner kicks the vCPU (blocked, running without polling, or
 * waiting in a poll for a masked port). */
static bool deliver_direct(struct keel_privcmd_bell *b, uint32_t e)
{
    struct keel_shared_info *si = kc_remote_base(b);
    uint32_t p = KEEL_PRIVCMD_DIRECT_PORT(e), v = KEEL_PRIVCMD_DIRECT_VCPU(e);
    uint64_t bit = 1ULL << (p % 64), vbit = 1ULL << (v % 64);
    struct keel_vcpu_info *vi;

    if (!(e & KEEL_PRIVCMD_DIRECT_TO_GUEST) || p == 0 || v >= KEEL_MAX_VCPUS)
        return false;
    if (__atomic_fetch_or(&si->evtchn_pending[p / 64], bit, __ATOMIC_SEQ_CST) & bit)
        return true;
    if (!(__atomic_load_n(&si->evtchn_mask[p / 64], __ATOMIC_SEQ_CST) & bit)) {
        vi = &si->vcpu_info[v];
        __atomic_fetch_or(&vi->evtchn_pending_sel, 1ULL << (p / 64), __ATOMIC_SEQ_CST);
        __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&b->vcpu_polling[v / 64], __ATOMIC_SEQ_CST) & vbit)
            return true;
    }
    __atomic_fetch_or(&b->kick_vcpu[v / 64], vbit, __ATOMIC_SEQ_CST);
    ring(b);
    return true;
}

int kc_evtchn_notify(kc_handle *h, uint32_t port)
{
    struct keel_evtchn_op op = { .port = port };
    struct keel_privcmd_bell *b = NULL;
    struct keel_privcmd_evpage *pg = __atomic_load_n(&h->evpage, __ATOMIC_ACQUIRE);
    long rc;

    if (port < KC_MAX_PORTS) {
        pthread_mutex_lock(&h->plock);
        if ((b = h->port_bell[port]) &&
            !(pg && deliver_direct(b, __atomic_load_n(&pg->direct[port], __ATOMIC_SEQ_CST))))
            post_send(b, port);
        pthread_mutex_unlock(&h->plock);
        if (b)
            return 0;
    }
    rc = evtchn(h, KEEL_EVTCHNOP_SEND, &op, NULL);
    return rc < 0 ? (int)kc_fail(rc, "notifying port %u", port) : 0;
}

int kc_evtchn_close(kc_handle *h, uint32_t port)
{
    struct keel_evtchn_op op = { .port = port };
    long rc = evtchn(h, KEEL_EVTCHNOP_CLOSE, &op, NULL);

    if (rc < 0)
        return (int)kc_fail(rc, "closing port %u", port);
    if (port < KC_MAX_PORTS) {
        pthread_mutex_lock(&h->plock);
        forget_port(h, port);
        pthread_mutex_unlock(&h->plock);
        if (h->evpage)
            __atomic_fetch_and(&h->evpage->pending[port / 64], ~(1ULL << (port % 64)),
                               __ATOMIC_SEQ_CST);
    }
    return 0;
}

int kc_evtchn_status(kc_handle *h, uint32_t dom, uint32_t port, struct keel_evtchn_op *status)
{
    struct keel_evtchn_op op = { .dom = dom, .port = port };
    long rc = evtchn(h, KEEL_EVTCHNOP_STATUS, &op, NULL);

    if (rc < 0)
        return (int)kc_fail(rc, "status of port %u in domain %u", port, dom);
    *status = op;
    return 0;
}

int kc_evtchn_fd(kc_handle *h, uint32_t port)
{
    int fd;

    if (port >= KC_MAX_PORTS)
        return -EINVAL;
    pthread_mutex_lock(&h->plock);
    fd = h->port_fd[port];
    pthread_mutex_unlock(&h->plock);
    return fd >= 0 ? fd : -EBADF;
}

long kc_evtchn_ack(kc_handle *h, uint32_t port)
{
    struct keel_privcmd_evpage *pg;
    uint64_t cnt = 0;
    int fd = kc_evtchn_fd(h, port);
    bool bit;

    if (fd < 0)
        return kc_fail(fd, "port %u is not bound through this handle", port);
    /* The eventfd first, then the mark: the core marks a port before it writes the eventfd,
     * so a count without a mark was already consumed by kc_evtchn_wait (it is stale and is
     * dropped here), and a mark that lands after the read is taken now and its eventfd write
     * found stale by the next call. Without an event page the count is all there is. */
    if (read(fd, &cnt, sizeof(cnt)) != sizeof(cnt)) {
        if (errno != EAGAIN)
            return kc_fail(-errno, "reading port %u", port);
        cnt = 0;
    }
    pg = __atomic_load_n(&h->evpage, __ATOMIC_ACQUIRE);
    if (!pg)
        return (long)cnt;
    bit = kc_take_bit(pg, port);
    return bit ? (cnt ? (long)cnt : 1) : 0;
}
