/* ks_sock.c - the Unix socket transport: a listening socket where stock libxenstore
 * clients connect; each accepted peer becomes a dom0 connection if it runs as root or as
 * the daemon's own user (the socket is mode 0600, so nobody else can connect). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "klog.h"
#include "ksock.h"
#include "ks_int.h"

/* A client that stops reading its replies and events is dropped beyond this backlog. */
#define KS_SOCK_OUT_MAX (4u << 20)

struct ks_sock {
    struct ks_store *store;
    struct ks_conn *conn;
    int fd;
    struct event *rev, *wev;
    bool busy;      /* inside the read callback: defer the free */
    bool closing;
};

static void ks_sock_free(struct ks_sock *k)
{
    if (k->rev)
        event_free(k->rev);
    if (k->wev)
        event_free(k->wev);
    if (k->conn)
        ks_conn_free(k->conn);
    close(k->fd);
    free(k);
}

/* Deferred: the read callback frees the connection on its next run, never while the
 * caller (watch firing, request handling) may still walk the connection list. */
static void ks_sock_close(void *tctx)
{
    struct ks_sock *k = tctx;

    if (k->closing)
        return;
    k->closing = true;
    event_active(k->rev, EV_READ, 1);
}

static void ks_sock_destroy(void *tctx)
{
    ks_sock_free(tctx);
}

/* Write what the socket takes; wait for EV_WRITE for the rest. Nothing leaves while journal
 * records of this round wait for their group commit. */
static int ks_sock_flush(struct ks_sock *k)
{
    struct evbuffer *out = ks_conn_output(k->conn);

    if (ks_journal_pending(k->store))
        return 0;   /* the journal's commit at the end of this round kicks us (ks_journal.c) */
    while (evbuffer_get_length(out)) {
        int n = evbuffer_write(out, k->fd);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EPIPE;
    }
    if (evbuffer_get_length(out) > KS_SOCK_OUT_MAX) {
        klog(KLOG_WARN, "sock", "domain %u: client is not reading (%zu bytes queued): "
             "closing it", ks_conn_domid(k->conn), evbuffer_get_length(out));
        return -ENOBUFS;
    }
    if (evbuffer_get_length(out))
        event_add(k->wev, NULL);
    else
        event_del(k->wev);
    return 0;
}

static void ks_sock_kick(void *tctx)
{
    struct ks_sock *k = tctx;

    if (!k->closing && !k->busy && ks_sock_flush(k) < 0)
        ks_sock_close(k);
}

static const struct ks_transport ks_sock_transport = {
    "socket", ks_sock_kick, ks_sock_close, ks_sock_destroy
};

static void ks_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ks_sock *k = arg;
    char buf[16384];
    ssize_t n;
    int rc = 0;

    if (k->closing) {
        ks_sock_free(k);
        return;
    }
    n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    k->busy = true;
    if (n <= 0)
        rc = -EPIPE;
    else
        rc = ks_conn_input(k->conn, buf, (size_t)n);
    k->busy = false;
    if (rc == 0 && !k->closing)
        rc = ks_sock_flush(k);
    if (rc < 0 || k->closing)
        ks_sock_free(k);
}

static void ks_sock_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ks_sock *k = arg;

    if (!k->closing && ks_sock_flush(k) < 0)
        ks_sock_close(k);
}

static bool ks_peer_trusted(const struct ks_store *s, int fd)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return false;
    return cr.uid == 0 || cr.uid == (s->cfg.peer_uid >= 0 ? (uid_t)s->cfg.peer_uid : geteuid());
}

static void ks_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    struct ks_store *s = arg;
    struct ks_sock *k;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0)
        return;
    if (!ks_peer_trusted(s, fd)) {
        klog(KLOG_WARN, "sock", "refusing a socket client of another user");
        close(fd);
        return;
    }
    k = calloc(1, sizeof(*k));
    if (!k) {
        close(fd);
        return;
    }
    k->store = s;
    k->fd = fd;
    k->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, ks_sock_read_cb, k);
    k->wev = event_new(s->base, fd, EV_WRITE, ks_sock_write_cb, k);
    k->conn = ks_conn_new(s, 0, &ks_sock_transport, k);
    if (!k->rev || !k->wev || !k->conn || event_add(k->rev, NULL) < 0) {
        ks_sock_free(k);
        return;
    }
}

int ks_sock_adopt(struct ks_store *s, int fd)
{
    struct event *ev;

    if (s->listen_ev)
        return -EBUSY;
    ev = event_new(s->base, fd, EV_READ | EV_PERSIST, ks_accept_cb, s);
    if (!ev || event_add(ev, NULL) < 0) {
        if (ev)
            event_free(ev);
        return -ENOMEM;
    }
    s->listen_ev = ev;
    s->listen_fd = fd;
    return 0;
}

int ks_sock_listen(struct ks_store *s, const char *path)
{
    int fd, rc;

    if (s->listen_ev)
        return -EBUSY;
    fd = ksock_listen(path, 0600, 64, SOCK_NONBLOCK);
    if (fd < 0) {
        klog(KLOG_ERROR, "sock", "%s: cannot listen: %s", path, strerror(-fd));
        return fd;
    }
    if ((rc = ks_sock_adopt(s, fd)) < 0) {
        close(fd);
        unlink(path);
    }
    return rc;
}
