/* kc_evwait.c - libkeelctrl: kc_evtchn_wait, a backend's wait for any of its event-channel
 * ports. It takes the marks the core left in the connection's event page; if there are none it
 * spins on that page for a short window (KEEL_EVTCHN_SPIN_US, default 50 µs, 0 = never), with
 * the ports' spin bits set so that the core skips their eventfds; then it clears the spin bits,
 * looks once more (the core marks before it reads the spin bit, we clear before we look: one
 * of us sees the other) and sleeps in poll() on the ports' eventfds. */
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

struct waitset {
    uint64_t mask[WORDS];                /* ports waited for */
    uint64_t sel;                        /* words of mask with bits */
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

static int spin(struct keel_privcmd_evpage *pg, const struct waitset *ws, uint32_t *fired,
                unsigned max, uint64_t until)
{
    int n = 0;

    set_spin(pg, ws, true);
    for (unsigned i = 1; !(n = collect(pg, ws, fired, max)); i++) {
        if (i % 16 == 0) {
            if (now_ns() >= until)
                break;
            sched_yield();              /* let the guest's threads have this CPU if they wait */
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
    if ((n = collect(pg, &ws, fired, max)) || timeout_ms == 0)
        return n;
    if (timeout_ms > 0)
        deadline = start + (uint64_t)timeout_ms * 1000000ULL;
    if (pg && sp) {
        uint64_t until = start + sp;
        if (deadline && deadline < until)
            until = deadline;
        if ((n = spin(pg, &ws, fired, max, until)))
            return n;
    }
    do {
        if ((n = sleep_once(h, pg, &ws, fired, max, deadline)))
            return n;
    } while (!deadline || now_ns() < deadline);
    return 0;
}
