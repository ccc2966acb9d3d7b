/* kcd_xs.c - keel-consoled's store client (optional): connects to keel-stored, watches
 * /local/domain, and serves the console of each domain whose console/ring-ref (the ring's
 * frame) and console/port appear, as xenconsoled does. Reconnects every second when the store
 * goes away. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>

#include "kcd_int.h"
#include "kcd_xs.h"
#include "klog.h"

enum { XS_DIRECTORY = 1, XS_READ = 2, XS_WATCH = 4 };
#define REQ_WATCH 1u
#define REQ_DIR 2u
#define REQ_DOM 0x10000u          /* + domid * 2 (+1 for the port) */

struct kcd_xs_pend {
    uint32_t domid;
    uint64_t gfn;
    struct kcd_xs_pend *next;
};

struct kcd_xs {
    struct kcd *k;
    struct bufferevent *bev;
    struct event *retry;
    char path[108];
    struct kcd_xs_pend *pend;
};

static void kcd_xs_send(struct kcd_xs *x, uint32_t type, uint32_t req, const char *a,
                        const char *b)
{
    size_t la = strlen(a) + 1, lb = b ? strlen(b) + 1 : 0;
    uint32_t h[4] = { type, req, 0, (uint32_t)(la + lb) };

    bufferevent_write(x->bev, h, sizeof(h));
    bufferevent_write(x->bev, a, la);
    if (lb)
        bufferevent_write(x->bev, b, lb);
}

static void kcd_xs_ask(struct kcd_xs *x, uint32_t domid)
{
    char p[64];

    if (!domid || kcd_dom_find(x->k, domid))
        return;
    snprintf(p, sizeof(p), "/local/domain/%u/console/ring-ref", domid);
    kcd_xs_send(x, XS_READ, REQ_DOM + domid * 2, p, NULL);
}

static int kcd_xs_num(const struct kcd_xs_msg *m, uint64_t max, uint64_t *out)
{
    char tmp[32], *end;

    if (m->len == 0 || m->len >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, m->body, m->len);
    tmp[m->len] = 0;
    if (tmp[0] < '0' || tmp[0] > '9')
        return -EINVAL;
    errno = 0;
    *out = strtoull(tmp, &end, 0);
    return errno || *end || *out > max ? -EINVAL : 0;
}

static struct kcd_xs_pend **kcd_xs_pend_find(struct kcd_xs *x, uint32_t domid)
{
    struct kcd_xs_pend **pp = &x->pend;

    while (*pp && (*pp)->domid != domid)
        pp = &(*pp)->next;
    return pp;
}

/* Replies to the READs of one domain's console keys: ring-ref first, then port. */
static void kcd_xs_dom_reply(struct kcd_xs *x, const struct kcd_xs_msg *m)
{
    uint32_t domid = (m->req_id - REQ_DOM) / 2, is_port = m->req_id & 1;
    struct kcd_xs_pend **pp = kcd_xs_pend_find(x, domid), *p;
    char path[64], err[512];
    uint64_t v;

    if (m->type != KCD_XS_ERROR && domid <= 0x7fef &&
        kcd_xs_num(m, is_port ? UINT32_MAX : UINT64_MAX >> 12, &v) == 0) {
        if (!is_port) {
            if (!*pp && (*pp = calloc(1, sizeof(**pp))))
                (*pp)->domid = domid;
            if (!*pp)
                return;
            (*pp)->gfn = v;
            snprintf(path, sizeof(path), "/local/domain/%u/console/port", domid);
            kcd_xs_send(x, XS_READ, m->req_id + 1, path, NULL);
            return;
        }
        if (*pp && !kcd_dom_find(x->k, domid) &&
            kcd_dom_add(x->k, domid, (*pp)->gfn, (uint32_t)v, err, sizeof(err)) < 0)
            klog(KLOG_WARN, "xs", "domain %u from the store: %s", domid, err);
    }
    if ((p = *pp)) {
        *pp = p->next;
        free(p);
    }
}

static void kcd_xs_dispatch(struct kcd_xs *x, const struct kcd_xs_msg *m)
{
    if (m->type == KCD_XS_WATCH_EVENT) {
        size_t pl = strnlen(m->body, m->len);
        long d = kcd_xs_console_domid(m->body, pl);
        if (pl == 13 && !memcmp(m->body, "/local/domain", 13))
            kcd_xs_send(x, XS_DIRECTORY, REQ_DIR, "/local/domain", NULL);
        else if (d > 0)
            kcd_xs_ask(x, (uint32_t)d);
    } else if (m->req_id == REQ_DIR && m->type == XS_DIRECTORY) {
        for (size_t i = 0; i < m->len;) {
            size_t n = strnlen(m->body + i, m->len - i);
            uint64_t d = 0;
            struct kcd_xs_msg one = { 0, 0, 0, (uint32_t)n, m->body + i };
            if (kcd_xs_num(&one, 0x7fef, &d) == 0)
                kcd_xs_ask(x, (uint32_t)d);
            i += n + 1;
        }
    } else if (m->req_id >= REQ_DOM) {
        kcd_xs_dom_reply(x, m);
    }
}

static void kcd_xs_drop(struct kcd_xs *x)
{
    struct timeval one = { 1, 0 };

    if (x->bev)
        bufferevent_free(x->bev);
    x->bev = NULL;
    while (x->pend) {
        struct kcd_xs_pend *p = x->pend;
        x->pend = p->next;
        free(p);
    }
    evtimer_add(x->retry, &one);
}

static void kcd_xs_read_cb(struct bufferevent *bev, void *arg)
{
    struct kcd_xs *x = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct kcd_xs_msg m;
    int n;

    for (;;) {
        size_t avail = evbuffer_get_length(in);
        const char *buf = (const char *)evbuffer_pullup(in, (ssize_t)(avail < 4112 ? avail : 4112));
        n = kcd_xs_parse(buf, avail < 4112 ? avail : 4112, &m);
        if (n == 0)
            return;
        if (n < 0) {
            klog(KLOG_ERROR, "xs", "store sent a message longer than 4096 bytes: disconnecting");
            kcd_xs_drop(x);
            return;
        }
        kcd_xs_dispatch(x, &m);
        evbuffer_drain(in, (size_t)n);
    }
}

static void kcd_xs_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct kcd_xs *x = arg;

    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        kcd_xs_send(x, XS_WATCH, REQ_WATCH, "/local/domain", "kcd-console");
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        klog(KLOG_INFO, "xs", "store connection %s lost; retrying", x->path);
        kcd_xs_drop(x);
    }
}

static void kcd_xs_connect(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_xs *x = arg;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    (void)fd;
    (void)what;
    memcpy(sa.sun_path, x->path, sizeof(x->path));
    x->bev = bufferevent_socket_new(x->k->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!x->bev) {
        kcd_xs_drop(x);
        return;
    }
    bufferevent_setcb(x->bev, kcd_xs_read_cb, NULL, kcd_xs_event_cb, x);
    bufferevent_enable(x->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(x->bev, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        kcd_xs_drop(x);          /* freed; the timer tries again */
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
    if (x->bev)
        bufferevent_free(x->bev);
    while (x->pend) {
        struct kcd_xs_pend *p = x->pend;
        x->pend = p->next;
        free(p);
    }
    event_free(x->retry);
    free(x);
    k->xs = NULL;
}
