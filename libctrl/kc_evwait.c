/* kc_evwait.c - libkeelctrl: kc_evtchn_wait, a backend's wait for any of its event-channel
 * ports. It takes the marks the core left in the connection's event page; if there are none it
 * spins for a short window (KEEL_EVTCHN_SPIN_US, default 50 µs, 0 = never), with the ports'
 * spin bits set so that the core skips their eventfds and, for ports whose direct[] entry
 * allows it, the guest port's d0_watch bit set in the guest's bell page so that the guest only
 * sets its guest_send bit instead of making a hypercall; both are taken while spinning. Then it
 * clears the spin and watch bits, looks once more (the other side marks before it reads our
 * bit, we clear before we look: one of us sees the other) and sleeps in poll() on the ports'
 * eventfds. The watches are set before the first look, so a guest answering at once finds
 * them; with kc_evtchn_set_wait_only they stay set when the wait returns (the next wait takes
 * what came), and are only cleared before sleeping. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kc_private.h"

#define WORDS (KC_MAX_PORTS / 64)
#define KC_SPIN_US_DEFAULT 50
#define SPIN_YIELD_EVERY 16              /* pause rounds between sched_yield() calls */

struct waitset {
    uint64_t mask[WORDS];                /* ports waited for */
    uint64_t sel;                        /* words of mask with bits */
    unsigned ndirect;
    struct kc_watch direct[KC_WATCH_MAX];
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t spin_ns(void)
{
    static long cached = -1;
    long v = __atomic_load_n(&cached, __ATOMIC_RELAXED);

    if (v < 0) {
        const char *e = getenv("KEEL_EVTCHN_SPIN_US");
        v = e && *e ? strtol(e, NULL, 10) : KC_SPIN_US_DEFAULT;
        v = v < 0 ? 0 : v > 1000000 ? 1000000 : v;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return (uint64_t)v * 1000;
}

/* The ports asked for (all bound through h if nports is 0), each bound through h. */
static int build_set(kc_handle *h, const uint32_t *ports, unsigned nports, struct waitset *ws)
{
    memset(ws, 0, sizeof(*ws));
    pthread_mutex_lock(&h->plock);
    for (unsigned i = 0; i < nports; i++) {
        uint32_t p = ports[i];
        if (p >= KC_MAX_PORTS || !(h->bound[p / 64] & (1ULL << (p % 64)))) {
            pthread_mutex_unlock(&h->plock);
            return kc_fail(-EBADF, "waiting for port %u: not bound through this handle", p);
        }
        ws->mask[p / 64] |= 1ULL << (p % 64);
    }
    if (!nports)
        memcpy(ws->mask, h->bound, sizeof(ws->mask));
    pthread_mutex_unlock(&h->plock);
    for (unsigned w = 0; w < WORDS; w++)
        if (ws->mask[w])
            ws->sel |= 1ULL << w;
    return ws->sel ? 0 : (int)kc_fail(-EINVAL, "waiting for events: no port bound");
}

static bool entry_takes(struct keel_privcmd_evpage *pg, uint32_t port, uint32_t gport)
{
    uint32_t e = __atomic_load_n(&pg->direct[port], __ATOMIC_SEQ_CST);

    return (e & KEEL_PRIVCMD_DIRECT_FROM_GUEST) && KEEL_PRIVCMD_DIRECT_PORT(e) == gport;
}

/* Under plock: whether w's mapping is still the port's (not closed meanwhile). */
static bool mapped(kc_handle *h, const struct kc_watch *w)
{
    return h->port_bell[w->port] == w->bell;
}

static void clear_watch(kc_handle *h, const struct kc_watch *w)
{
    if (mapped(h, w))
        __atomic_fetch_and(&w->bell->d0_watch[w->gport / 64], ~(1ULL << (w->gport % 64)),
                           __ATOMIC_SEQ_CST);
}

/* Under plock: take w's guest_send bit (only while the core's entry still allows it: a bit for
 * a binding that went away is dropped, as a send to a closed port is); true if it was set. */
static bool take_one(kc_handle *h, struct keel_privcmd_evpage *pg, const struct kc_watch *w)
{
    uint64_t bit = 1ULL << (w->gport % 64), *word;

    if (!mapped(h, w))
        return false;
    word = &w->bell->guest_send[w->gport / 64];
    if (!(__atomic_load_n(word, __ATOMIC_SEQ_CST) & bit))
        return false;
    return (__atomic_fetch_and(word, ~bit, __ATOMIC_SEQ_CST) & bit) && entry_takes(pg, w->port, w->gport);
}

static void mark(struct keel_privcmd_evpage *pg, uint32_t port)
{
    __atomic_fetch_or(&pg->pending[port / 64], 1ULL << (port % 64), __ATOMIC_SEQ_CST);
}

static bool in_set(const struct waitset *ws, const struct kc_watch *w)
{
    for (unsigned i = 0; i < ws->ndirect; i++)
        if (ws->direct[i].port == w->port && ws->direct[i].bell == w->bell &&
            ws->direct[i].gport == w->gport)
            return true;
    return false;
}

/* Watch the guest ports of the set's ports that the core lets us take from the guest: set the
 * watch bit, then read the entry again and drop the watch if it changed meanwhile (the core
 * clears watch bits after it changes an entry, so none outlives its binding). Watches the
 * last wait left that this set does not have are cleared, what they caught marked. */
static void watch_direct(kc_handle *h, struct keel_privcmd_evpage *pg, struct waitset *ws)
{
    pthread_mutex_lock(&h->plock);
    for (uint64_t sel = ws->sel; sel && ws->ndirect < KC_WATCH_MAX; sel &= sel - 1) {
        uint32_t w = (uint32_t)__builtin_ctzll(sel);
        for (uint64_t b = ws->mask[w]; b && ws->ndirect < KC_WATCH_MAX; b &= b - 1) {
            uint32_t q = w * 64 + (uint32_t)__builtin_ctzll(b), e;
            struct kc_watch *x = &ws->direct[ws->ndirect];
            e = __atomic_load_n(&pg->direct[q], __ATOMIC_SEQ_CST);
            if (!h->port_bell[q] || !(e & KEEL_PRIVCMD_DIRECT_FROM_GUEST))
                continue;
            *x = (struct kc_watch){ h->port_bell[q], q, KEEL_PRIVCMD_DIRECT_PORT(e) };
            __atomic_fetch_or(&x->bell->d0_watch[x->gport / 64], 1ULL << (x->gport % 64),
                              __ATOMIC_SEQ_CST);
            if (entry_takes(pg, q, x->gport))
                ws->ndirect++;
            else
                clear_watch(h, x);
        }
    }
    for (unsigned i = 0; i < h->nlinger; i++) {
        if (in_set(ws, &h->linger[i]))
            continue;
        clear_watch(h, &h->linger[i]);
        if (take_one(h, pg, &h->linger[i]))
            mark(pg, h->linger[i].port);
    }
    h->nlinger = 0;
    pthread_mutex_unlock(&h->plock);
}

/* Move the guest_send bits of watched ports into the event page as marks of our ports. */
static void take_direct(kc_handle *h, struct keel_privcmd_evpage *pg, const struct waitset *ws)
{
    if (!ws->ndirect)
        return;
    pthread_mutex_lock(&h->plock);
    for (unsigned i = 0; i < ws->ndirect; i++)
        if (take_one(h, pg, &ws->direct[i]))
            mark(pg, ws->direct[i].port);
    pthread_mutex_unlock(&h->plock);
}

/* Stop watching: clear the watch bits, then take what came before (the guest sets its bit,
 * then looks at the watch: one of us sees the other). In wait-only mode the watches stay set
 * for the next wait instead, unless we are about to sleep. */
static void unwatch_direct(kc_handle *h, struct keel_privcmd_evpage *pg, struct waitset *ws,
                           bool sleeping)
{
    if (!ws->ndirect)
        return;
    pthread_mutex_lock(&h->plock);
    if (h->wait_only && !sleeping) {
        memcpy(h->linger, ws->direct, ws->ndirect * sizeof(ws->direct[0]));
        h->nlinger = ws->ndirect;
        pthread_mutex_unlock(&h->plock);
        return;
    }
    for (unsigned i = 0; i < ws->ndirect; i++)
        clear_watch(h, &ws->direct[i]);
    pthread_mutex_unlock(&h->plock);
    take_direct(h, pg, ws);
    ws->ndirect = 0;
}

void kc_evtchn_set_wait_only(kc_handle *h, bool on)
{
    struct keel_privcmd_evpage *pg = __atomic_load_n(&h->evpage, __ATOMIC_ACQUIRE);
    uint64_t one = 1;

    pthread_mutex_lock(&h->plock);
    h->wait_only = on;
    for (unsigned i = 0; !on && i < h->nlinger; i++) {
        struct kc_watch *w = &h->linger[i];
        clear_watch(h, w);
        if (pg && take_one(h, pg, w)) {
            mark(pg, w->port);
            if (h->port_fd[w->port] >= 0 && write(h->port_fd[w->port], &one, sizeof(one)) < 0) {
                /* saturated: already readable */
            }
        }
    }
    if (!on)
        h->nlinger = 0;
    pthread_mutex_unlock(&h->plock);
}

/* Take the marks of the set's ports, at most max of them (the rest stay marked). */
static int collect(struct keel_privcmd_evpage *pg, const struct waitset *ws, uint32_t *fired,
                   unsigned max)
{
    unsigned n = 0;

    if (!pg)
        return 0;
    for (uint64_t sel = ws->sel; sel; sel &= sel - 1) {
        uint32_t w = (uint32_t)__builtin_ctzll(sel);
        uint64_t got = __atomic_load_n(&pg->pending[w], __ATOMIC_RELAXED) & ws->mask[w];
        if (!got)
            continue;
        got &= __atomic_fetch_and(&pg->pending[w], ~got, __ATOMIC_SEQ_CST);
        for (; got; got &= got - 1) {
            uint32_t b = (uint32_t)__builtin_ctzll(got);
            if (n < max)
                fired[n++] = w * 64 + b;
            else
                __atomic_fetch_or(&pg->pending[w], 1ULL << b, __ATOMIC_SEQ_CST);
        }
    }
    return (int)n;
}

static void set_spin(struct keel_privcmd_evpage *pg, const struct waitset *ws, bool on)
{
    for (uint64_t sel = ws->sel; sel; sel &= sel - 1) {
        uint32_t w = (uint32_t)__builtin_ctzll(sel);
        if (on)
            __atomic_fetch_or(&pg->spin[w], ws->mask[w], __ATOMIC_SEQ_CST);
        else
            __atomic_fetch_and(&pg->spin[w], ~ws->mask[w], __ATOMIC_SEQ_CST);
    }
}

/* Spin on the event page (and the watched guest ports) until something fires or until. */
static int spin(kc_handle *h, struct keel_privcmd_evpage *pg, struct waitset *ws,
                uint32_t *fired, unsigned max, uint64_t until)
{
    int n = 0;

    set_spin(pg, ws, true);
    for (unsigned i = 1; take_direct(h, pg, ws), !(n = collect(pg, ws, fired, max)); i++) {
        if (i % 16 == 0) {
            if (now_ns() >= until)
                break;
            if (i % SPIN_YIELD_EVERY == 0)
                sched_yield();          /* let the guest's threads have this CPU if they wait */
        }
        __builtin_ia32_pause();
    }
    set_spin(pg, ws, false);
    return n ? n : collect(pg, ws, fired, max);
}

/* Sleep in poll() on the set's eventfds until one is readable or the deadline (0: none). */
static int sleep_once(kc_handle *h, struct keel_privcmd_evpage *pg, const struct waitset *ws,
                      uint32_t *fired, unsigned max, uint64_t deadline)
{
    struct pollfd stack[64], *pfd = stack;
    uint32_t pstack[64], *port = pstack;
    unsigned cnt = 0, total = 0;
    int rc, n = 0, tmo = -1;

    for (uint32_t w = 0; w < WORDS; w++)
        total += (unsigned)__builtin_popcountll(ws->mask[w]);
    if (total > 64) {
        pfd = calloc(total, sizeof(*pfd));
        port = calloc(total, sizeof(*port));
        if (!pfd || !port) {
            free(pfd);
            free(port);
            return (int)kc_fail(-ENOMEM, "waiting for %u ports", total);
        }
    }
    pthread_mutex_lock(&h->plock);
    for (uint64_t sel = ws->sel; sel; sel &= sel - 1) {
        uint32_t w = (uint32_t)__builtin_ctzll(sel);
        for (uint64_t b = ws->mask[w]; b && cnt < total; b &= b - 1) {
            port[cnt] = w * 64 + (uint32_t)__builtin_ctzll(b);
            pfd[cnt] = (struct pollfd){ h->port_fd[port[cnt]], POLLIN, 0 };
            cnt++;
        }
    }
    pthread_mutex_unlock(&h->plock);
    if (deadline) {
        uint64_t t = now_ns();
        tmo = t >= deadline ? 0 : (int)((deadline - t + 999999) / 1000000);
    }
    rc = poll(pfd, cnt, tmo);
    if (rc < 0 && errno != EINTR)
        n = (int)kc_fail(-errno, "waiting for events");
    for (unsigned i = 0; rc > 0 && i < cnt && n >= 0; i++) {
        uint64_t v;
        if (pfd[i].revents & POLLNVAL)
            n = (int)kc_fail(-EBADF, "port %u closed while waiting", port[i]);
        else if ((pfd[i].revents & POLLIN) && read(pfd[i].fd, &v, sizeof(v)) == sizeof(v) && !pg &&
                 (unsigned)n < max)
            fired[n++] = port[i];           /* no event page: the eventfd is all we have */
    }
    if (pfd != stack) {
        free(pfd);
        free(port);
    }
    return n < 0 ? n : n ? n : collect(pg, ws, fired, max);
}

int kc_evtchn_wait(kc_handle *h, const uint32_t *ports, unsigned nports, uint32_t *fired,
                   unsigned max, int timeout_ms)
{
    struct keel_privcmd_evpage *pg = __atomic_load_n(&h->evpage, __ATOMIC_ACQUIRE);
    uint64_t start = now_ns(), deadline = 0, sp = spin_ns();
    struct waitset ws;
    int n;

    if (!fired || !max || (nports && !ports))
        return (int)kc_fail(-EINVAL, "kc_evtchn_wait: no room for the ports that fire");
    if ((n = build_set(h, ports, nports, &ws)) < 0)
        return n;
    if (pg && (sp || timeout_ms == 0 || h->wait_only)) {
        watch_direct(h, pg, &ws);        /* first: a guest answering now finds the watch */
        take_direct(h, pg, &ws);
    }
    if (timeout_ms > 0)
        deadline = start + (uint64_t)timeout_ms * 1000000ULL;
    if (!(n = collect(pg, &ws, fired, max)) && timeout_ms != 0 && pg && sp) {
        uint64_t until = start + sp;
        if (deadline && deadline < until)
            until = deadline;
        n = spin(h, pg, &ws, fired, max, until);
    }
    if (n || timeout_ms == 0) {
        unwatch_direct(h, pg, &ws, false);
        return n ? n : collect(pg, &ws, fired, max);
    }
    unwatch_direct(h, pg, &ws, true);
    if ((n = collect(pg, &ws, fired, max)))
        return n;
    do {
        if ((n = sleep_once(h, pg, &ws, fired, max, deadline)))
            return n;
    } while (!deadline || now_ns() < deadline);
    return 0;
}
