/* kcd_req.c - the serving process's side of the channel to the privileged part (kcd_priv.h):
 * one typed request per packet, a reply (with up to three descriptors by SCM_RIGHTS) for those
 * that want one; a ring arrives as the domain's memory descriptor and a frame, of which this
 * process maps the one page and closes the descriptor; a port as its eventfd, read here to
 * take its notifications. A channel that closes or speaks unasked means the privileged part is
 * gone or found us misbehaving: nothing to serve for, exit. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kcd_int.h"
#include "klog.h"
#include "kprivsep.h"

static void kcd_req_orphan(const char *why)
{
    klog(KLOG_ERROR, "child", "channel to the privileged part: %s: exiting", why);
    _exit(1);
}

static void kcd_req_send(struct kcd *k, const struct kcd_priv_req *q)
{
    while (send(k->chan, q, sizeof(*q), MSG_NOSIGNAL) != (ssize_t)sizeof(*q))
        if (errno != EINTR)
            kcd_req_orphan(strerror(errno));
}

/* A request with a reply; fds[] receive up to nfds passed descriptors (-1 for each missing). */
static int kcd_req_call(struct kcd *k, const struct kcd_priv_req *q, struct kcd_priv_rsp *r,
                        int *fds, int nfds)
{
    ssize_t n;
    int got;

    kcd_req_send(k, q);
    n = kprivsep_recv(k->chan, r, sizeof(*r), fds, nfds, &got);
    if (n == 0)
        kcd_req_orphan("closed");
    if (n != (ssize_t)sizeof(*r))
        kcd_req_orphan(n < 0 ? strerror((int)-n) : "short reply");
    r->msg[sizeof(r->msg) - 1] = 0;
    r->tty[sizeof(r->tty) - 1] = 0;
    if (r->rc == 0 && got != nfds)
        r->rc = -EPROTO;
    if (r->rc < 0) {
        for (int i = 0; i < nfds; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        if (!r->msg[0])
            snprintf(r->msg, sizeof(r->msg), "%s", strerror(-r->rc));
    }
    return r->rc;
}

/* The ring page from the domain's memory descriptor; the descriptor is closed either way. */
static volatile struct kcd_cons_iface *kcd_req_page(int memfd, uint64_t gfn, char *err,
                                                    size_t errlen)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, (off_t)(gfn << 12));

    close(memfd);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "mapping frame %#llx: %s", (unsigned long long)gfn,
                 strerror(errno));
        return NULL;
    }
    return p;
}

void kcd_req_unmap(volatile struct kcd_cons_iface *page)
{
    if (page)
        munmap((void *)page, 4096);
}

void kcd_req_ready(struct kcd *k)
{
    kcd_req_send(k, &(struct kcd_priv_req){ .op = KCD_PRIV_READY });
}

int kcd_req_cons_open(struct kcd *k, uint32_t domid, uint64_t gfn, uint32_t port,
                      struct kcd_ringmap *m, int *logfd, char *err, size_t errlen)
{
    struct kcd_priv_req q = { .op = KCD_PRIV_CONS_OPEN, .domid = domid, .gfn = gfn,
                              .port = port };
    struct kcd_priv_rsp r;
    int fds[3], rc = kcd_req_call(k, &q, &r, fds, 3);

    if (rc < 0) {
        snprintf(err, errlen, "%s", r.msg);
        return rc;
    }
    m->local = r.local;
    m->evfd = fds[1];
    *logfd = fds[2];
    if (!(m->page = kcd_req_page(fds[0], gfn, err, errlen))) {
        close(m->evfd);
        close(*logfd);
        kcd_req_oneway(k, KCD_PRIV_CONS_CLOSE, domid, 0, 0);
        return -EIO;
    }
    return 0;
}

int kcd_req_fd(struct kcd *k, uint32_t op, uint32_t domid, int *fd)
{
    struct kcd_priv_req q = { .op = op, .domid = domid };
    struct kcd_priv_rsp r;
    int rc = kcd_req_call(k, &q, &r, fd, 1);

    if (rc < 0 && op != KCD_PRIV_STORE)
        klog(KLOG_WARN, "child", "domain %u: %s", domid, r.msg);
    return rc;
}

int kcd_req_cons_held(struct kcd *k, uint32_t after, uint32_t *domid, uint64_t *gfn,
                      uint32_t *port)
{
    struct kcd_priv_req q = { .op = KCD_PRIV_CONS_HELD, .domid = after };
    struct kcd_priv_rsp r;
    int rc = kcd_req_call(k, &q, &r, NULL, 0);

    if (rc == 0 && r.domid <= after)
        rc = -EPROTO;
    if (rc == 0) {
        *domid = r.domid;
        *gfn = r.gfn;
        *port = r.port;
    }
    return rc;
}

int kcd_req_dom_exists(struct kcd *k, uint32_t domid)
{
    struct kcd_priv_req q = { .op = KCD_PRIV_DOMINFO, .domid = domid };
    struct kcd_priv_rsp r;

    return kcd_req_call(k, &q, &r, NULL, 0);
}

int kcd_req_chan_open(struct kcd *k, uint32_t domid, uint32_t cons, int adopt, int *is_socket,
                      char *tty, size_t ttylen, int *fd, char *err, size_t errlen)
{
    struct kcd_priv_req q = { .op = KCD_PRIV_CHAN_OPEN, .domid = domid, .cons = cons,
                              .flags = adopt ? KCD_PRIV_ADOPT : 0 };
    struct kcd_priv_rsp r;
    int rc = kcd_req_call(k, &q, &r, fd, 1);

    if (rc < 0) {
        snprintf(err, errlen, "%s", r.msg);
        return rc;
    }
    *is_socket = !!(r.flags & KCD_PRIV_SOCKET);
    snprintf(tty, ttylen, "%s", r.tty);
    return 0;
}

int kcd_req_chan_map(struct kcd *k, uint32_t domid, uint32_t cons, struct kcd_ringmap *m,
                     uint32_t *ref, uint32_t *port, char *err, size_t errlen)
{
    struct kcd_priv_req q = { .op = KCD_PRIV_CHAN_MAP, .domid = domid, .cons = cons };
    struct kcd_priv_rsp r;
    int fds[2], rc = kcd_req_call(k, &q, &r, fds, 2);

    if (rc < 0) {
        snprintf(err, errlen, "%s", r.msg);
        return rc;
    }
    *ref = r.ref;
    *port = r.port;
    m->local = r.local;
    m->evfd = fds[1];
    if (!(m->page = kcd_req_page(fds[0], r.gfn, err, errlen))) {
        close(m->evfd);
        kcd_req_oneway(k, KCD_PRIV_CHAN_UNMAP, domid, cons, 0);
        return -EIO;
    }
    return 0;
}

void kcd_req_oneway(struct kcd *k, uint32_t op, uint32_t domid, uint32_t cons, uint32_t port)
{
    kcd_req_send(k, &(struct kcd_priv_req){ .op = op, .domid = domid, .cons = cons,
                                            .port = port });
}

void kcd_req_notify(struct kcd *k, uint32_t domid, uint32_t local)
{
    kcd_req_oneway(k, KCD_PRIV_NOTIFY, domid, 0, local);
}

long kcd_req_ack(int evfd)
{
    uint64_t n = 0;

    return evfd >= 0 && read(evfd, &n, sizeof(n)) == (ssize_t)sizeof(n) ? (long)n : 0;
}
