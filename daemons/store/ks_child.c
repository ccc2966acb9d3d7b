/* ks_child.c - keel-stored's request process: the one that parses store requests (Unix-socket
 * clients, guests' rings) and keeps the tree and the journal. Started by the privileged part
 * (ks_priv.c) with fork+exec, it confines itself before it reads anything untrusted (private
 * mount namespace, chroot to the state directory, the store user, no capabilities, seccomp:
 * ks_confine.c), then serves. It holds no connection to the core: its ks_domain_ops are typed
 * requests over the socketpair to the privileged part, which maps (hands over the domain's
 * memory descriptor; we map the one ring page and close it), binds (hands over the port's
 * eventfd, which we poll and read ourselves), notifies, unbinds and tells whether a domain
 * still lives. Socket requests never cross to the privileged part. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#include "keel/abi.h"
#include "klog.h"
#include "kprivsep.h"
#include "ks_child.h"
#include "ks_confine.h"
#include "ks_int.h"
#include "ks_priv.h"

struct ks_child {
    struct ks_store *s;
    int chan;
    struct event *exc_ev;
    uint8_t shut[KS_PRIV_DOMID_END / 8];    /* shutdown already announced */
};

/* The privileged part is gone (it died, or it found us misbehaving): nothing to serve for. */
static void ks_child_orphan(const char *why)
{
    klog(KLOG_ERROR, "child", "channel to the privileged part: %s: exiting", why);
    _exit(1);
}

static void ks_child_send(struct ks_child *c, uint32_t op, uint32_t domid, uint64_t gfn,
                          uint32_t port)
{
    struct ks_priv_req q = { .op = op, .domid = domid, .gfn = gfn, .port = port };

    while (send(c->chan, &q, sizeof(q), MSG_NOSIGNAL) != (ssize_t)sizeof(q))
        if (errno != EINTR)
            ks_child_orphan(strerror(errno));
}

/* Send a request that gets a reply; *fd receives a passed descriptor (or -1). */
static int ks_child_call(struct ks_child *c, uint32_t op, uint32_t domid, uint64_t gfn,
                         uint32_t port, struct ks_priv_rsp *r, int *fd)
{
    ssize_t n;
    int got;

    ks_child_send(c, op, domid, gfn, port);
    n = kprivsep_recv(c->chan, r, sizeof(*r), fd, 1, &got);
    if (n == 0)
        ks_child_orphan("closed");
    if (n != (ssize_t)sizeof(*r))
        ks_child_orphan(n < 0 ? strerror((int)-n) : "short reply");
    return r->rc;
}

static void *ks_child_map(void *opaque, uint32_t domid, uint64_t gfn)
{
    struct ks_priv_rsp r;
    int fd, rc = ks_child_call(opaque, KS_PRIV_MAP, domid, gfn, 0, &r, &fd);
    bool granted = rc == 0;
    void *p = NULL;

    if (rc == 0 && (fd < 0 || gfn >= r.pages))
        rc = -EPROTO;
    if (rc == 0) {
        p = mmap(NULL, KEEL_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                 (off_t)(gfn << KEEL_PAGE_SHIFT));
        if (p == MAP_FAILED) {
            rc = -errno;
            p = NULL;
        }
    }
    if (fd >= 0)
        close(fd);      /* the one page stays mapped; the rest of the domain's memory goes */
    if (!p) {
        klog(KLOG_ERROR, "child", "domain %u: mapping the store ring at gfn %#llx: %s", domid,
             (unsigned long long)gfn, strerror(-rc));
        if (granted)
            ks_child_send(opaque, KS_PRIV_UNMAP, domid, 0, 0);
    }
    return p;
}

static void ks_child_unmap(void *opaque, uint32_t domid, void *page)
{
    munmap(page, KEEL_PAGE_SIZE);
    ks_child_send(opaque, KS_PRIV_UNMAP, domid, 0, 0);
}

static int ks_child_bind(void *opaque, uint32_t domid, uint32_t remote_port, uint32_t *local,
                         int *fd)
{
    struct ks_priv_rsp r;
    int rc = ks_child_call(opaque, KS_PRIV_BIND, domid, 0, remote_port, &r, fd);

    if (rc == 0 && *fd < 0)
        rc = -EPROTO;
    if (rc < 0) {
        klog(KLOG_ERROR, "child", "domain %u: binding port %u: %s", domid, remote_port,
             strerror(-rc));
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return rc;
    }
    *local = r.local;
    return 0;
}

static void ks_child_notify(void *opaque, uint32_t domid, uint32_t local)
{
    ks_child_send(opaque, KS_PRIV_NOTIFY, domid, 0, local);
}

static void ks_child_unbind(void *opaque, uint32_t domid, uint32_t local)
{
    struct ks_child *c = opaque;
    struct ks_domain *d = ks_domain_find(c->s, domid);

    if (d && d->fd >= 0)
        close(d->fd);   /* our copy of the eventfd (ks_domain_disconnect forgets it next) */
    ks_child_send(c, KS_PRIV_UNBIND, domid, 0, local);
}

/* VIRQ_DOM_EXC (its eventfd was handed to us): like xenstored, a domain that shut down fires
 * @releaseDomain once; one that no longer exists is released. */
static void ks_child_exc_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ks_child *c = arg;
    struct ks_priv_rsp r;
    uint64_t cnt;
    int nofd;

    (void)what;
    if (fd >= 0 && read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
        klog(KLOG_DEBUG, "child", "VIRQ_DOM_EXC: %s", strerror(errno));
    for (struct ks_domain *d = c->s->domains, *next; d; d = next) {
        uint32_t id = d->domid;
        uint8_t bit = (uint8_t)(1u << (id % 8));
        int rc;

        next = d->next;
        if (id < KS_PRIV_DOMID_MIN || id >= KS_PRIV_DOMID_END)
            continue;
        rc = ks_child_call(c, KS_PRIV_DOMINFO, id, 0, 0, &r, &nofd);
        if (nofd >= 0)
            close(nofd);
        if (rc == -ESRCH) {
            klog(KLOG_INFO, "child", "domain %u is gone: released", id);
            c->shut[id / 8] &= (uint8_t)~bit;
            ks_domain_release(c->s, id);
        } else if (rc == 0 && (r.flags & KEEL_DOMINF_SHUTDOWN) && !(c->shut[id / 8] & bit)) {
            c->shut[id / 8] |= bit;
            ks_watch_fire_special(c->s, "@releaseDomain", id);
        }
    }
}

/* Readable channel outside a call: the privileged part closed it (it never speaks first). */
static void ks_child_chan_cb(evutil_socket_t fd, short what, void *arg)
{
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);

    (void)what;
    (void)arg;
    if (n == 0)
        ks_child_orphan("closed");
    if (n > 0)
        ks_child_orphan("a message nobody asked for");
}

static void ks_child_stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    klog(KLOG_INFO, "child", "signal %d: shutting down", (int)sig);
    event_base_loopexit(arg, NULL);
}

#ifdef KS_TEST_HOOKS
/* Test builds only (tests/keel-stored-hook, never installed): SIGUSR2 makes the request
 * process do what an exploit would, an execve, which its filter does not allow. */
static void ks_child_forbidden_cb(evutil_socket_t sig, short what, void *arg)
{
    static char *const argv[] = { "/bin/sh", NULL };

    (void)sig;
    (void)what;
    (void)arg;
    klog(KLOG_WARN, "child", "test hook: calling execve");
    syscall(SYS_execve, argv[0], argv, NULL);
    klog(KLOG_ERROR, "child", "test hook: execve was not stopped: %s", strerror(errno));
}
#endif

static int ks_child_events(struct ks_child *c, struct event_base *base, struct event **evs,
                           int exc_fd)
{
    int n = 0;

    evs[n++] = evsignal_new(base, SIGTERM, ks_child_stop_cb, base);
    evs[n++] = evsignal_new(base, SIGINT, ks_child_stop_cb, base);
    evs[n++] = event_new(base, c->chan, EV_READ | EV_PERSIST, ks_child_chan_cb, c);
#ifdef KS_TEST_HOOKS
    evs[n++] = evsignal_new(base, SIGUSR2, ks_child_forbidden_cb, NULL);
#endif
    for (int i = 0; i < n; i++)
        if (!evs[i] || event_add(evs[i], NULL) < 0)
            return -ENOMEM;
    if (exc_fd >= 0) {
        c->exc_ev = event_new(base, exc_fd, EV_READ | EV_PERSIST, ks_child_exc_cb, c);
        if (!c->exc_ev || event_add(c->exc_ev, NULL) < 0)
            return -ENOMEM;
    }
    return 0;
}

int ks_child_run(const struct ks_child_cfg *cc)
{
    struct event_base *base;
    struct event *evs[4] = { NULL };
    struct ks_child c = { .chan = KS_PRIV_FD_CHAN };
    struct ks_config cfg = cc->cfg;
    char err[256];
    int rc;

    if ((rc = ks_confine_jail(cc->jail, cc->uid, cc->gid, err, sizeof(err))) < 0) {
        klog(KLOG_ERROR, "child", "confining the request process: %s", err);
        return rc;
    }
    if (rc == 1 && cfg.statedir)
        cfg.statedir = "/";     /* the chroot is the state directory */
    /* the uid change cleared it: die with the privileged part */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != cc->parent)
        return -ESRCH;
    if (!(base = event_base_new()))
        return -ENOMEM;
    if ((rc = ks_child_events(&c, base, evs, cc->exc_fd)) < 0)
        goto out;
    if ((rc = ks_confine_filter(err, sizeof(err))) < 0) {
        klog(KLOG_ERROR, "child", "%s", err);
        goto out;
    }
    /* from here on nothing but the filter's system calls: the journal and every request are
     * parsed confined */
    if ((rc = ks_store_new(base, &cfg, &c.s)) < 0) {
        klog(KLOG_ERROR, "child", "cannot start the store: %s", strerror(-rc));
        goto out;
    }
    if ((rc = ks_sock_adopt(c.s, KS_PRIV_FD_LISTEN)) < 0)
        goto out;
    if (cc->exc_fd >= 0) {
        struct ks_domain_ops ops = { ks_child_map, ks_child_unmap, ks_child_bind,
                                     ks_child_notify, NULL, ks_child_unbind, &c };
        ks_store_set_domain_ops(c.s, &ops);
        ks_child_exc_cb(-1, EV_READ, &c);    /* journaled domains that died meanwhile */
    }
    ks_child_send(&c, KS_PRIV_READY, 0, 0, 0);
    event_base_dispatch(base);
    rc = 0;
out:
    ks_store_free(c.s);
    if (c.exc_ev)
        event_free(c.exc_ev);
    for (int i = 0; i < 4; i++)
        if (evs[i])
            event_free(evs[i]);
    event_base_free(base);
    return rc;
}
