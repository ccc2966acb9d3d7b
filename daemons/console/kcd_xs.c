/* kcd_xs.c - keel-consoled's store client (optional): through the common store client
 * (common/kxs.h) it watches /local/domain and serves the console of each domain whose
 * console/ring-ref (the ring's frame) and console/port appear, as xenconsoled does. The
 * connection is made by the privileged part and handed over (this process can open none);
 * asked for again every second when the store goes away. Requests are synchronous (bounded by a short reply
 * timeout); the watch events wake the daemon's libevent loop through kxs_fd. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "kcd_chan.h"
#include "kcd_int.h"
#include "kcd_xs.h"
#include "klog.h"
#include "kxs.h"

#define KCD_XS_TIMEOUT_MS 2000
#define KCD_XS_TOKEN "kcd-console"

struct kcd_xs {
    struct kcd *k;
    kxs *x;
    struct event *rd;            /* readable kxs_fd: watch events (or the store's end) */
    struct event *retry;
    char path[108];
};

/* Serve domid's console once both of its keys are in the store (and valid). */
static void kcd_xs_ask(struct kcd_xs *x, uint32_t domid)
{
    char p[64], err[512];
    uint64_t gfn, port;

    if (!domid || domid > 0x7fef || kcd_dom_find(x->k, domid))
        return;
    snprintf(p, sizeof(p), "/local/domain/%u/console/ring-ref", domid);
    if (kxs_read_u64(x->x, 0, p, UINT64_MAX >> 12, &gfn) < 0)
        return;
    snprintf(p, sizeof(p), "/local/domain/%u/console/port", domid);
    if (kxs_read_u64(x->x, 0, p, UINT32_MAX, &port) < 0)
        return;
    if (kcd_dom_add(x->k, domid, gfn, (uint32_t)port, err, sizeof(err)) < 0)
        klog(KLOG_WARN, "xs", "domain %u from the store: %s", domid, err);
}

/* A directory entry of /local/domain as a domain id: decimal, 1..0x7fef, else 0. */
static uint32_t kcd_xs_domid(const char *name)
{
    uint32_t d = 0;

    if (!*name || (name[0] == '0' && name[1]))
        return 0;
    for (; *name; name++) {
        if (*name < '0' || *name > '9' || (d = d * 10 + (uint32_t)(*name - '0')) > 0x7fef)
            return 0;
    }
    return d;
}

static void kcd_xs_scan(struct kcd_xs *x)
{
    char **names = NULL;
    unsigned n = 0;

    if (kxs_directory(x->x, 0, "/local/domain", &names, &n) < 0)
        return;
    for (unsigned i = 0; i < n; i++)
        kcd_xs_ask(x, kcd_xs_domid(names[i]));
    free(names);
    kcd_chan_scan(x->k, x->x);
}

static void kcd_xs_drop(struct kcd_xs *x)
{
    struct timeval one = { 1, 0 };

    if (x->rd)
        event_free(x->rd);
    x->rd = NULL;
    kxs_close(x->x);
    x->x = NULL;
    evtimer_add(x->retry, &one);
}

/* Take every queued event (requests made meanwhile may queue more). */
static void kcd_xs_events(struct kcd_xs *x)
{
    char *path, *token;

    while (x->x && kxs_next_event(x->x, &path, &token) > 0) {
        long d = kcd_xs_console_domid(path, strlen(path));
        if (!strcmp(path, "/local/domain"))
            kcd_xs_scan(x);
        else if (d > 0)
            kcd_xs_ask(x, (uint32_t)d);
        else
            kcd_chan_event(x->k, x->x, path);
        free(path);
    }
    if (x->x && kxs_dead(x->x)) {
        klog(KLOG_INFO, "xs", "store connection %s lost; retrying", x->path);
        kcd_xs_drop(x);
    }
}

static void kcd_xs_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_xs *x = arg;
    int rc;

    (void)fd;
    (void)what;
    if ((rc = kxs_pump(x->x)) < 0) {
        klog(rc == -EPROTO ? KLOG_ERROR : KLOG_INFO, "xs", "store connection %s: %s; retrying",
             x->path, rc == -EPROTO ? "a message longer than 4096 bytes" : strerror(-rc));
        kcd_xs_drop(x);
        return;
    }
    kcd_xs_events(x);
}

static void kcd_xs_connect(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_xs *x = arg;
    int sfd = -1;

    (void)fd;
    (void)what;
    if (kcd_req_fd(x->k, KCD_PRIV_STORE, 0, &sfd) < 0 || kxs_open_fd(&x->x, sfd) < 0) {
        if (!x->x && sfd >= 0)
            close(sfd);
        x->x = NULL;
        kcd_xs_drop(x);          /* the timer tries again */
        return;
    }
    kxs_set_timeout(x->x, KCD_XS_TIMEOUT_MS);
    x->rd = event_new(x->k->base, kxs_fd(x->x), EV_READ | EV_PERSIST, kcd_xs_read_cb, x);
    if (!x->rd || event_add(x->rd, NULL) < 0 ||
        kxs_watch(x->x, "/local/domain", KCD_XS_TOKEN) < 0) {
        kcd_xs_drop(x);
        return;
    }
    kcd_xs_events(x);            /* the watch fires once at once: the first scan */
}

int kcd_xs_start(struct kcd *k, const char *path)
{
    struct kcd_xs *x;

    if (strlen(path) >= sizeof(x->path))
        return -ENAMETOOLONG;
    if (!(x = calloc(1, sizeof(*x))))
        return -ENOMEM;
    x->k = k;
    snprintf(x->path, sizeof(x->path), "%s", path);
    if (!(x->retry = evtimer_new(k->base, kcd_xs_connect, x))) {
        free(x);
        return -ENOMEM;
    }
    k->xs = x;
    kcd_xs_connect(-1, 0, x);
    return 0;
}

void kcd_xs_stop(struct kcd *k)
{
    struct kcd_xs *x = k->xs;

    if (!x)
        return;
    if (x->rd)
        event_free(x->rd);
    kxs_close(x->x);
    event_free(x->retry);
    free(x);
    k->xs = NULL;
}

kxs *kcd_xs_handle(struct kcd *k)
{
    return k->xs ? k->xs->x : NULL;
}
