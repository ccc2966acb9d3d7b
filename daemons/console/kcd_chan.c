/* kcd_chan.c - keel-consoled's PV channels (kcd_chan.h), in the serving process: for each
 * channel backend the toolstack writes (backend/console/<domid>/<n>: connection, path, state 1)
 * the privileged part opens the host end (a listening Unix socket at path, or a pty whose slave
 * path goes to the frontend's tty key; kcd_pchan.c) and hands it over, and this process says
 * InitWait; when the guest's frontend is Initialised (ring-ref: a page granted to Domain-0;
 * port: an unbound event channel) the privileged part maps the page by grant and binds the
 * port, this process maps the page it is handed and says Connected; bytes then flow both ways between the ring (Xen's console layout, indices checked
 * by kcd_ring.c) and the socket's one client or the pty. Flow control: the guest's output is
 * taken only as fast as the host end takes it, host input only read when the ring has room.
 * The toolstack's Closing (destroy), the backend's removal or the domain's death closes it all
 * (the socket file is removed, the pty closed), then Closed is written. A restarted serving
 * process adopts the host ends and rings the privileged part still holds (backend InitWait or
 * Connected). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "kcd_chan.h"
#include "kcd_int.h"
#include "kcd_xs.h"
#include "klog.h"

struct kcd_chan {
    struct kcd *k;
    uint32_t domid, cons;
    int is_socket;
    char name[128], path[108], tty[64];
    int lfd, peer;                   /* listener; the client or the pty master */
    struct event *ev_listen, *ev_rd, *ev_wr, *ev_port;
    volatile struct kcd_cons_iface *page;
    uint32_t port, local;
    int evfd;                        /* the port's eventfd */
    char obuf[KCD_OUT_SIZE];         /* taken from the ring, not yet written to the peer */
    size_t olen, ooff;
    char ibuf[KCD_IN_SIZE];          /* read from the peer, not yet in the ring */
    size_t ilen, ioff;
    int broken;
    struct kcd_chan *next;
};

static struct kcd_chan *chan_find(struct kcd *k, uint32_t domid, uint32_t cons)
{
    for (struct kcd_chan *c = k->chans; c; c = c->next)
        if (c->domid == domid && c->cons == cons)
            return c;
    return NULL;
}

static void chan_ev_free(struct event **e)
{
    if (*e)
        event_free(*e);
    *e = NULL;
}

static void chan_pump(struct kcd_chan *c);
static void chan_break(struct kcd_chan *c);
static void chan_set_state(kxs *x, const char *be, int st, const char *why);

/* The socket client went away (or failed): listen for the next one. */
static void chan_drop_peer(struct kcd_chan *c)
{
    chan_ev_free(&c->ev_rd);
    chan_ev_free(&c->ev_wr);
    if (c->peer >= 0)
        close(c->peer);
    c->peer = -1;
    c->olen = c->ooff = c->ilen = c->ioff = 0;
    if (c->ev_listen)
        event_add(c->ev_listen, NULL);
}

static void chan_rd_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_chan *c = arg;
    ssize_t n;

    (void)what;
    if (c->ioff < c->ilen) {                 /* the ring is still full: wait for the guest */
        event_del(c->ev_rd);
        return;
    }
    n = read(fd, c->ibuf, sizeof(c->ibuf));
    if (n > 0) {
        c->ilen = (size_t)n;
        c->ioff = 0;
        chan_pump(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (c->is_socket) {
        klog(KLOG_INFO, "chan", "domain %u: channel %s: client left", c->domid, c->name);
        chan_drop_peer(c);
    } else {
        klog(KLOG_WARN, "chan", "domain %u: channel %s: pty read: %s", c->domid, c->name,
             n < 0 ? strerror(errno) : "end of file");
        event_del(c->ev_rd);
    }
}

static void chan_wr_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chan_pump(arg);
}

static int chan_set_peer(struct kcd_chan *c, int fd)
{
    c->peer = fd;
    c->ev_rd = event_new(c->k->base, fd, EV_READ | EV_PERSIST, chan_rd_cb, c);
    c->ev_wr = event_new(c->k->base, fd, EV_WRITE, chan_wr_cb, c);
    if (!c->ev_rd || !c->ev_wr)
        return -ENOMEM;
    if (c->page)
        event_add(c->ev_rd, NULL);
    return 0;
}

/* Guest output to the peer (as much as it takes), then pending peer input into the ring. */
static void chan_pump_out(struct kcd_chan *c, int *moved)
{
    while (c->peer >= 0) {
        ssize_t w;
        if (c->ooff == c->olen) {
            int n = kcd_ring_take_output(c->page, c->obuf, sizeof(c->obuf));
            c->olen = c->ooff = 0;
            if (n <= 0) {
                c->broken = n < 0;
                return;
            }
            c->olen = (size_t)n;
            *moved = 1;
        }
        w = write(c->peer, c->obuf + c->ooff, c->olen - c->ooff);
        if (w > 0) {
            c->ooff += (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            event_add(c->ev_wr, NULL);
            return;
        }
        if (c->is_socket) {
            chan_drop_peer(c);
            return;
        }
        klog(KLOG_WARN, "chan", "domain %u: channel %s: pty write: %s", c->domid, c->name,
             strerror(errno));
        return;
    }
}

static void chan_pump(struct kcd_chan *c)
{
    int moved = 0, n;

    if (!c->page || c->broken)
        return;
    chan_pump_out(c, &moved);
    if (!c->broken && c->ioff < c->ilen) {
        if ((n = kcd_ring_put_input(c->page, c->ibuf + c->ioff, c->ilen - c->ioff)) < 0)
            c->broken = 1;
        else if (n > 0) {
            c->ioff += (size_t)n;
            moved = 1;
        }
    }
    if (c->ioff == c->ilen && c->ev_rd)
        event_add(c->ev_rd, NULL);           /* room again: read more from the peer */
    if (c->broken) {
        chan_break(c);
        return;
    }
    if (moved)
        kcd_req_notify(c->k, c->domid, c->local);
}

static void chan_port_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_chan *c = arg;

    (void)fd;
    (void)what;
    kcd_req_ack(c->evfd);
    chan_pump(c);
}

static void chan_accept_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_chan *c = arg;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    (void)what;
    if (cfd < 0)
        return;
    if (c->peer >= 0) {                      /* not listening then; a race: one at a time */
        close(cfd);
        return;
    }
    event_del(c->ev_listen);
    if (chan_set_peer(c, cfd) < 0) {
        chan_drop_peer(c);
        return;
    }
    klog(KLOG_INFO, "chan", "domain %u: channel %s: client connected", c->domid, c->name);
    chan_pump(c);
}

/* The host end the privileged part handed over: a listening socket (clients accepted here) or
 * a pty master. */
static int chan_host(struct kcd_chan *c, int fd, char *err, size_t errlen)
{
    if (!c->is_socket)
        return chan_set_peer(c, fd);
    c->lfd = fd;
    c->ev_listen = event_new(c->k->base, fd, EV_READ | EV_PERSIST, chan_accept_cb, c);
    if (!c->ev_listen || event_add(c->ev_listen, NULL) < 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

static void chan_unmap(struct kcd_chan *c)
{
    chan_ev_free(&c->ev_port);
    if (c->evfd >= 0)
        close(c->evfd);
    c->evfd = -1;
    kcd_req_unmap(c->page);
    if (c->page || c->local)
        kcd_req_oneway(c->k, KCD_PRIV_CHAN_UNMAP, c->domid, c->cons, 0);
    c->local = 0;
    c->page = NULL;
    if (c->ev_rd)
        event_del(c->ev_rd);
}

/* The host end goes: no more clients or pty; the privileged part removes the socket file (if
 * still the one it made) and closes the pty. */
static void chan_close_host(struct kcd_chan *c)
{
    chan_ev_free(&c->ev_listen);
    chan_drop_peer(c);
    if (c->lfd >= 0)
        close(c->lfd);
    c->lfd = -1;
    kcd_req_oneway(c->k, KCD_PRIV_CHAN_CLOSE, c->domid, c->cons, 0);
}

/* The guest broke the ring (indices out of range): this channel alone is closed: logged with
 * the indices, the page unmapped, the port closed, the socket or pty closed, the backend
 * Closed with the reason in its error key. The entry stays (broken, so it is not connected
 * again) until the toolstack removes the backend; the daemon and every other console and
 * channel go on. */
static void chan_break(struct kcd_chan *c)
{
    char be[96], why[160];
    kxs *x = kcd_xs_handle(c->k);

    snprintf(why, sizeof(why), "ring indices out of range (in %u/%u out %u/%u)",
             c->page->in_cons, c->page->in_prod, c->page->out_cons, c->page->out_prod);
    klog(KLOG_ERROR, "chan", "domain %u: channel %s: %s: channel closed", c->domid, c->name, why);
    c->broken = 1;
    chan_unmap(c);
    chan_close_host(c);
    snprintf(be, sizeof(be), "/local/domain/0/backend/console/%u/%u", c->domid, c->cons);
    if (x)
        chan_set_state(x, be, 6, why);
}

static void chan_free(struct kcd_chan *c)
{
    for (struct kcd_chan **pp = &c->k->chans; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    chan_unmap(c);
    chan_close_host(c);
    klog(KLOG_INFO, "chan", "domain %u: channel %s closed", c->domid, c->name);
    free(c);
}

static int chan_read(kxs *x, const char *dir, const char *key, char *out, size_t len)
{
    char path[200], *v = NULL;
    size_t vl = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    out[0] = 0;
    if ((rc = kxs_read(x, 0, path, &v, &vl)) < 0)
        return rc;
    rc = vl < len ? 0 : -ENAMETOOLONG;
    if (rc == 0)
        memcpy(out, v, vl + 1);
    free(v);
    return rc;
}

static int chan_state(kxs *x, const char *dir)
{
    char path[200];
    uint64_t v;

    snprintf(path, sizeof(path), "%s/state", dir);
    return kxs_read_u64(x, 0, path, 8, &v) < 0 ? -1 : (int)v;
}

static void chan_set_state(kxs *x, const char *be, int st, const char *why)
{
    char path[200];

    if (why) {
        snprintf(path, sizeof(path), "%s/error", be);
        kxs_write(x, 0, path, why);
    }
    snprintf(path, sizeof(path), "%s/state", be);
    kxs_writef(x, 0, path, "%d", st);
}

/* A new backend in Initialising: its keys checked, the host end opened (by the privileged
 * part, which checks them again), InitWait. adopt: a backend already InitWait or Connected
 * whose host end the privileged part still holds (this process was restarted): taken over,
 * nothing written. */
static void chan_open(struct kcd *k, kxs *x, uint32_t domid, uint32_t cons, const char *be,
                      const char *fe, int adopt)
{
    char conn[16], front[96], err[400] = "", path[200];
    struct kcd_chan *c = calloc(1, sizeof(*c));
    int rc = -EINVAL, fd = -1, is_socket = 0;

    if (!c)
        return;
    c->k = k;
    c->domid = domid;
    c->cons = cons;
    c->lfd = c->peer = c->evfd = -1;
    if (chan_read(x, be, "frontend", front, sizeof(front)) < 0 || strcmp(front, fe))
        snprintf(err, sizeof(err), "backend key frontend is not %s", fe);
    else if (chan_read(x, be, "name", c->name, sizeof(c->name)) < 0 || !c->name[0])
        snprintf(err, sizeof(err), "no name");
    else if (chan_read(x, be, "connection", conn, sizeof(conn)) < 0 ||
             (strcmp(conn, "pty") && strcmp(conn, "socket")))
        snprintf(err, sizeof(err), "connection is neither pty nor socket");
    else if ((c->is_socket = !strcmp(conn, "socket")) &&
             (chan_read(x, be, "path", c->path, sizeof(c->path)) < 0 || c->path[0] != '/'))
        snprintf(err, sizeof(err), "a socket channel needs an absolute path shorter than %zu",
                 sizeof(c->path));
    else if ((rc = kcd_req_chan_open(k, domid, cons, adopt, &is_socket, c->tty, sizeof(c->tty),
                                     &fd, err, sizeof(err))) == 0 && is_socket != c->is_socket)
        rc = -EPROTO;
    if (rc == 0)
        rc = chan_host(c, fd, err, sizeof(err));
    else if (fd >= 0)
        close(fd);
    c->next = k->chans;
    k->chans = c;
    if (rc < 0) {
        if (!adopt)
            klog(KLOG_WARN, "chan", "domain %u: console %u: %s", domid, cons, err);
        chan_free(c);
        if (!adopt)
            chan_set_state(x, be, 6, err);
        return;
    }
    klog(KLOG_INFO, "chan", "domain %u: channel %s on %s%s", domid, c->name,
         c->is_socket ? c->path : c->tty, adopt ? " (taken over)" : "");
    if (adopt)
        return;
    if (!c->is_socket) {
        snprintf(path, sizeof(path), "%s/tty", fe);
        kxs_write(x, 0, path, c->tty);
    }
    chan_set_state(x, be, 2, NULL);
}

/* The frontend is Initialised: the privileged part maps its page by grant and binds its port
 * (both read from the store by it); Connected. */
static void chan_connect(struct kcd_chan *c, kxs *x, const char *be)
{
    char err[300] = "";
    struct kcd_ringmap m;
    uint32_t ref;

    if (kcd_req_chan_map(c->k, c->domid, c->cons, &m, &ref, &c->port, err, sizeof(err)) < 0)
        goto fail;
    c->page = m.page;
    c->local = m.local;
    c->evfd = m.evfd;
    if (!(c->ev_port = event_new(c->k->base, c->evfd, EV_READ | EV_PERSIST, chan_port_cb, c)) ||
        event_add(c->ev_port, NULL) < 0) {
        snprintf(err, sizeof(err), "cannot watch port %u", c->local);
        goto fail;
    }
    if (c->ev_rd)
        event_add(c->ev_rd, NULL);
    klog(KLOG_INFO, "chan", "domain %u: channel %s connected (grant %u, port %u)", c->domid,
         c->name, ref, c->port);
    chan_set_state(x, be, 4, NULL);
    chan_pump(c);
    return;
fail:
    klog(KLOG_WARN, "chan", "domain %u: channel %s: %s", c->domid, c->name, err);
    chan_unmap(c);
    chan_set_state(x, be, 6, err);
}

static void chan_check(struct kcd *k, kxs *x, uint32_t domid, uint32_t cons)
{
    struct kcd_chan *c = chan_find(k, domid, cons);
    char be[96], fe[96];
    int bst, fst;

    snprintf(be, sizeof(be), "/local/domain/0/backend/console/%u/%u", domid, cons);
    snprintf(fe, sizeof(fe), "/local/domain/%u/device/console/%u", domid, cons);
    bst = chan_state(x, be);
    if (bst < 0) {                           /* the backend is gone */
        if (c)
            chan_free(c);
        return;
    }
    if (!c) {
        if (bst == 1 || bst == 2 || bst == 4)
            chan_open(k, x, domid, cons, be, fe, bst != 1);
        if (!(c = chan_find(k, domid, cons)) || bst == 1)
            return;
    }
    if (bst == 5) {                          /* the toolstack closes it (destroy) */
        chan_free(c);
        chan_set_state(x, be, 6, NULL);
        return;
    }
    fst = chan_state(x, fe);
    if (!c->page && !c->broken && bst <= 4 && (fst == 3 || fst == 4))
        chan_connect(c, x, be);             /* (Connected already: taken over) */
    else if (c->page && (fst == 5 || fst == 6 || fst < 0)) {
        chan_unmap(c);                       /* the guest closed its end */
        chan_set_state(x, be, 6, NULL);
    }
}

void kcd_chan_event(struct kcd *k, kxs *x, const char *path)
{
    uint32_t domid, cons;

    if (kcd_chan_path(path, strlen(path), &domid, &cons) == 0)
        chan_check(k, x, domid, cons);
}

void kcd_chan_scan(struct kcd *k, kxs *x)
{
    static const char top[] = "/local/domain/0/backend/console";
    char **doms = NULL, **devs = NULL, dir[96], p[128];
    unsigned nd = 0, nv = 0;
    uint32_t domid, cons;

    if (kxs_directory(x, 0, top, &doms, &nd) < 0)
        return;
    for (unsigned i = 0; i < nd; i++) {
        snprintf(dir, sizeof(dir), "%s/%.16s", top, doms[i]);
        if (kxs_directory(x, 0, dir, &devs, &nv) < 0)
            continue;
        for (unsigned j = 0; j < nv; j++) {
            snprintf(p, sizeof(p), "%s/%.16s", dir, devs[j]);
            if (kcd_chan_path(p, strlen(p), &domid, &cons) == 0)
                chan_check(k, x, domid, cons);
        }
        free(devs);
    }
    free(doms);
}

void kcd_chan_reap(struct kcd *k)
{
    for (struct kcd_chan *c = k->chans, *next; c; c = next) {
        next = c->next;
        if (kcd_req_dom_exists(k, c->domid) == -ESRCH)
            chan_free(c);
    }
}

void kcd_chan_free_all(struct kcd *k)
{
    while (k->chans)
        chan_free(k->chans);
}
