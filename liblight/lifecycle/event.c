/* event.c - asynchronous forms on the caller's libevent loop: domain-death notifications from
 * VIRQ_DOM_EXC, and shutdown requests that complete later. Only event_new/event_add on the
 * caller's base are used; no signal events, no handlers, no change to the signal mask. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lc_int.h"

#define SEEN_MAX 1024

struct kl_ev {
    kl_ctx *ctx;
    struct event *ev_fd, *ev_timer;
    uint32_t domid;
    /* death watch */
    kl_death_cb *death_cb;
    uint32_t seen[SEEN_MAX];     /* domains already reported (shut down) */
    int nseen;
    uint32_t known[SEEN_MAX];    /* domains that existed at the last scan */
    int nknown;
    /* shutdown */
    kl_shutdown_cb *shut_cb;
    int reboot, stage;           /* stage 0: waiting for the guest; 1: done */
    void *arg;
};

static int in(const uint32_t *set, int n, uint32_t id)
{
    for (int i = 0; i < n; i++)
        if (set[i] == id)
            return 1;
    return 0;
}

/* Report newly shut-down domains and domains that disappeared since the last scan. */
static void scan(kl_ev *w)
{
    uint32_t now[SEEN_MAX], seen[SEEN_MAX];
    int nnow = 0, nseen = 0;
    kl_dominfo *list;
    int n = kl_domain_list(w->ctx, &list);

    if (n < 0)
        return;
    for (int i = 0; i < n && nnow < SEEN_MAX; i++) {
        uint32_t id = list[i].domid;
        if (w->domid != KL_ALL_DOMAINS && id != w->domid)
            continue;
        now[nnow++] = id;
        if (list[i].shutdown) {
            if (!in(w->seen, w->nseen, id))
                w->death_cb(w->ctx, id, list[i].shutdown_reason, w->arg);
            seen[nseen++] = id;
        }
    }
    free(list);
    for (int i = 0; i < w->nknown; i++)
        if (!in(now, nnow, w->known[i]))
            w->death_cb(w->ctx, w->known[i], -1, w->arg);
    memcpy(w->known, now, sizeof(uint32_t) * (size_t)nnow);
    w->nknown = nnow;
    memcpy(w->seen, seen, sizeof(uint32_t) * (size_t)nseen);
    w->nseen = nseen;
}

static void on_exc(evutil_socket_t fd, short what, void *arg)
{
    kl_ev *w = arg;

    (void)fd;
    (void)what;
    kc_evtchn_ack(w->ctx->kc, w->ctx->exc_port);
    scan(w);
}

static kl_ev *ev_alloc(kl_ctx *ctx, struct event_base *base, uint32_t domid, void *arg,
                       event_callback_fn fn, short flags)
{
    uint32_t port;
    kl_ev *w;

    if (kl__exc_port(ctx, &port) < 0 || !(w = calloc(1, sizeof(*w))))
        return NULL;
    w->ctx = ctx;
    w->domid = domid;
    w->arg = arg;
    w->ev_fd = event_new(base, kc_evtchn_fd(ctx->kc, port), flags, fn, w);
    if (!w->ev_fd || event_add(w->ev_fd, NULL) < 0) {
        kl_ev_free(w);
        return NULL;
    }
    return w;
}

int kl_ev_death_watch(kl_ctx *ctx, struct event_base *base, uint32_t domid, kl_death_cb *cb,
                      void *arg, kl_ev **out)
{
    kl_ev *w;

    *out = NULL;
    if (!cb || !(w = ev_alloc(ctx, base, domid, arg, on_exc, EV_READ | EV_PERSIST)))
        return kl__err(ctx, ctx->err[0] ? -EIO : -ENOMEM, "death watch: %s",
                       ctx->err[0] ? ctx->err : "out of memory");
    w->death_cb = cb;
    /* domains already shut down are reported on the first notification; remember who exists */
    {
        kl_dominfo *list;
        int n = kl_domain_list(ctx, &list);
        for (int i = 0; i < n && w->nknown < SEEN_MAX; i++)
            if (domid == KL_ALL_DOMAINS || list[i].domid == domid)
                w->known[w->nknown++] = list[i].domid;
        if (n >= 0)
            free(list);
    }
    *out = w;
    return 0;
}

/* ---- asynchronous shutdown ---- */
static void shut_done(kl_ev *w, int rc, bool forced)
{
    w->stage = 1;
    event_del(w->ev_fd);
    if (w->ev_timer)
        event_del(w->ev_timer);
    w->shut_cb(w->ctx, w->domid, rc, forced, w->arg);
}

static void shut_check(evutil_socket_t fd, short what, void *arg)
{
    kl_ev *w = arg;
    kl_dominfo info;
    int rc;

    (void)fd;
    if (w->stage)
        return;
    kc_evtchn_ack(w->ctx->kc, w->ctx->exc_port);
    rc = kl_domain_info(w->ctx, w->domid, &info);
    if (rc < 0 || info.shutdown) {
        shut_done(w, rc == -ENOENT ? 0 : rc, false);
        return;
    }
    if (what & EV_TIMEOUT) {       /* the guest did not act: the core shuts it down */
        rc = kc_domain_shutdown(w->ctx->kc, w->domid,
                                w->reboot ? KEEL_SHUTDOWN_REBOOT : KEEL_SHUTDOWN_POWEROFF);
        if (rc < 0)
            kl__err(w->ctx, rc, "domain %u: remote shutdown: %s", w->domid, kc_error(w->ctx->kc));
        shut_done(w, rc, true);
    }
}

int kl_ev_domain_shutdown(kl_ctx *ctx, struct event_base *base, uint32_t domid, bool reboot,
                          int timeout_ms, kl_shutdown_cb *cb, void *arg, kl_ev **out)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    char path[96], *feat = NULL;
    kl_ev *w;
    int rc, listens;

    *out = NULL;
    if (!cb || domid == 0 || timeout_ms < 0)
        return kl__err(ctx, -EINVAL, "asynchronous shutdown: invalid arguments");
    snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
    if ((rc = kl__xs_write(ctx, 0, path, reboot ? "reboot" : "poweroff")) < 0)
        return rc;
    snprintf(path, sizeof(path), "/local/domain/%u/control/feature-%s", domid,
             reboot ? "reboot" : "poweroff");
    listens = kl__xs_read(ctx, 0, path, &feat) == 0 && !strcmp(feat, "1");
    free(feat);
    if (!listens)
        tv.tv_sec = tv.tv_usec = 0;                /* nobody listens: fall back at once */
    if (!(w = ev_alloc(ctx, base, domid, arg, shut_check, EV_READ | EV_PERSIST)))
        return kl__err(ctx, -ENOMEM, "asynchronous shutdown: %s", ctx->err);
    w->shut_cb = cb;
    w->reboot = reboot;
    if (!(w->ev_timer = evtimer_new(base, shut_check, w)) || evtimer_add(w->ev_timer, &tv) < 0) {
        kl_ev_free(w);
        return kl__err(ctx, -ENOMEM, "asynchronous shutdown: no timer");
    }
    *out = w;
    return 0;
}

void kl_ev_free(kl_ev *w)
{
    if (!w)
        return;
    if (w->ev_fd)
        event_free(w->ev_fd);
    if (w->ev_timer)
        event_free(w->ev_timer);
    free(w);
}
