/* ks_priv.c - keel-stored's privileged part: it keeps the connection to the core (ks_hv.c),
 * the listening socket and the pid file, starts the request process (fork + exec of this
 * binary with --privsep-child: a fresh address space without the core handle's memory; see
 * ks_child.c), answers its typed requests on a SOCK_SEQPACKET socketpair after checking each
 * (size and type, domid in range and never Domain-0, the domain exists, a gfn inside it, one
 * ring page and one bound port per domain, notify/unbind only on the port bound for that
 * domain, a rate limit on map and bind), and restarts it when it dies: a death by signal is
 * logged with the signal (SIGSYS: a system call outside its filter), the ports bound for it
 * are closed (the new one binds them again from the journal), and the new process serves the
 * same listening socket. A malformed message means the request process is not ours any more:
 * it is killed and replaced. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "klog.h"
#include "ks_hv.h"
#include "ks_priv.h"
#include "ks_privd.h"

#define KS_PRIV_QUICK_S     1.0     /* a death this soon after the start is a quick one */
#define KS_PRIV_QUICK_MAX   5       /* consecutive quick deaths before giving up */
#define KS_PRIV_STOP_S      5       /* SIGTERM, then SIGKILL after this */

struct ks_pdom {
    uint64_t gfn;
    uint32_t local;
    uint8_t mapped, bound;
};

struct ks_priv {
    struct event_base *base;
    const struct ks_priv_cfg *cfg;
    pid_t child;
    int chan;
    struct event *chan_ev, *restart_ev, *kill_ev, *sigs[3];
    double started, tokens, filled;
    int quick, rc;
    bool ready, stopping;
    struct ks_pdom *dom;        /* [KS_PRIV_DOMID_END] */
};

static double ks_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ks_priv_reply(struct ks_priv *p, const struct ks_priv_rsp *r, int fd)
{
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct iovec iov = { (void *)r, sizeof(*r) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (fd >= 0) {
        memset(&u, 0, sizeof(u));
        m.msg_control = u.buf;
        m.msg_controllen = sizeof(u.buf);
        CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
        CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
        CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &fd, sizeof(int));
    }
    while (sendmsg(p->chan, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

/* Map and bind: at most KS_PRIV_BURST at once, then KS_PRIV_RATE per second. */
static bool ks_priv_take_token(struct ks_priv *p)
{
    double t = ks_now();

    p->tokens += (t - p->filled) * KS_PRIV_RATE;
    p->filled = t;
    if (p->tokens > KS_PRIV_BURST)
        p->tokens = KS_PRIV_BURST;
    if (p->tokens < 1.0)
        return false;
    p->tokens -= 1.0;
    return true;
}

static int ks_priv_map(struct ks_priv *p, const struct ks_priv_req *q, struct ks_priv_rsp *r,
                       int *fd)
{
    struct ks_pdom *d = &p->dom[q->domid];
    uint32_t flags;
    int rc;

    if (d->mapped && d->gfn != q->gfn)
        return -EEXIST;
    if ((rc = ks_hv_dominfo(p->cfg->hv, q->domid, &flags)) < 0)
        return rc;
    if ((rc = ks_hv_memfd(p->cfg->hv, q->domid, fd, &r->pages)) < 0)
        return rc;
    if (q->gfn >= r->pages)
        return -EINVAL;
    d->mapped = 1;
    d->gfn = q->gfn;
    return 0;
}

static int ks_priv_bind(struct ks_priv *p, const struct ks_priv_req *q, struct ks_priv_rsp *r,
                        int *fd)
{
    struct ks_pdom *d = &p->dom[q->domid];
    int rc;

    if (!d->mapped)
        return -EPERM;          /* a store port belongs to a mapped store ring */
    if (d->bound)
        return -EEXIST;
    if (q->port == 0 || q->port >= KS_PRIV_PORT_END)
        return -EINVAL;
    if ((rc = ks_hv_bind(p->cfg->hv, q->domid, q->port, &r->local, fd)) < 0)
        return rc;
    d->bound = 1;
    d->local = r->local;
    return 0;
}

/* A request that needs a reply: check, act, answer. */
static void ks_priv_answer(struct ks_priv *p, const struct ks_priv_req *q)
{
    struct ks_priv_rsp r = { 0 };
    int fd = -1, own = -1;

    if (!p->cfg->hv)
        r.rc = -ENODEV;
    else if (q->op != KS_PRIV_DOMINFO && !ks_priv_take_token(p))
        r.rc = -EBUSY;
    else if (q->op == KS_PRIV_MAP)
        r.rc = ks_priv_map(p, q, &r, &own);
    else if (q->op == KS_PRIV_BIND)
        r.rc = ks_priv_bind(p, q, &r, &fd);
    else
        r.rc = ks_hv_dominfo(p->cfg->hv, q->domid, &r.flags);
    if (r.rc == -EBUSY || r.rc == -EEXIST || r.rc == -EINVAL || r.rc == -EPERM)
        klog(KLOG_WARN, "priv", "domain %u: request %u (gfn %#llx, port %u) refused: %s",
             q->domid, q->op, (unsigned long long)q->gfn, q->port, strerror(-r.rc));
    ks_priv_reply(p, &r, r.rc == 0 ? (own >= 0 ? own : fd) : -1);
    if (own >= 0)
        close(own);     /* the libctrl handle keeps a port's fd; the memory fd is ours */
}

static void ks_priv_stop_child(struct ks_priv *p, const char *why)
{
    klog(KLOG_ERROR, "priv", "request process %ld: %s: killing it", (long)p->child, why);
    kill(p->child, SIGKILL);
    event_del(p->chan_ev);
}

static void ks_priv_handle(struct ks_priv *p, const struct ks_priv_req *q)
{
    struct ks_pdom *d;

    if (q->op == KS_PRIV_READY) {
        if (!p->ready && p->cfg->ready_fd >= 0) {
            if (write(p->cfg->ready_fd, "R", 1) != 1)
                klog(KLOG_WARN, "priv", "readiness pipe: %s", strerror(errno));
            close(p->cfg->ready_fd);
        }
        p->ready = true;
        klog(KLOG_INFO, "priv", "request process %ld serves", (long)p->child);
        return;
    }
    if (q->domid < KS_PRIV_DOMID_MIN || q->domid >= KS_PRIV_DOMID_END) {
        klog(KLOG_WARN, "priv", "request %u for domain %u refused: not a guest's domid",
             q->op, q->domid);
        if (q->op == KS_PRIV_MAP || q->op == KS_PRIV_BIND || q->op == KS_PRIV_DOMINFO)
            ks_priv_reply(p, &(struct ks_priv_rsp){ .rc = -EINVAL }, -1);
        return;
    }
    d = &p->dom[q->domid];
    switch (q->op) {
    case KS_PRIV_MAP: case KS_PRIV_BIND: case KS_PRIV_DOMINFO:
        ks_priv_answer(p, q);
        break;
    case KS_PRIV_UNMAP:
        d->mapped = 0;
        break;
    case KS_PRIV_NOTIFY: case KS_PRIV_UNBIND:
        if (!d->bound || d->local != q->port) {
            klog(KLOG_WARN, "priv", "domain %u: %s of port %u refused: not its store port",
                 q->domid, q->op == KS_PRIV_NOTIFY ? "notify" : "unbind", q->port);
            break;
        }
        if (q->op == KS_PRIV_NOTIFY) {
            ks_hv_notify(p->cfg->hv, q->domid, q->port);
        } else {
            ks_hv_unbind(p->cfg->hv, q->domid, q->port);
            d->bound = 0;
        }
        break;
    default:
        ks_priv_stop_child(p, "unknown request type");
    }
}

static void ks_priv_chan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ks_priv *p = arg;
    struct ks_priv_req q;
    ssize_t n;

    (void)what;
    for (int i = 0; i < 64; i++) {
        n = recv(fd, &q, sizeof(q), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {           /* it exited or died: SIGCHLD does the rest */
            event_del(p->chan_ev);
            return;
        }
        if (n != (ssize_t)sizeof(q)) {
            ks_priv_stop_child(p, "malformed message");
            return;
        }
        ks_priv_handle(p, &q);
    }
}

static void ks_priv_forget_child(struct ks_priv *p)
{
    for (uint32_t id = 0; id < KS_PRIV_DOMID_END; id++) {
        if (p->dom[id].bound)
            ks_hv_unbind(p->cfg->hv, id, p->dom[id].local);
        memset(&p->dom[id], 0, sizeof(p->dom[id]));
    }
    if (p->chan_ev)
        event_free(p->chan_ev);
    p->chan_ev = NULL;
    if (p->chan >= 0)
        close(p->chan);
    p->chan = -1;
    p->child = 0;
}

/* In the forked child: the fds at their fixed numbers, nothing else, then exec. */
static void ks_priv_exec(const struct ks_priv *p, int chan)
{
    int exc = p->cfg->hv ? ks_hv_exc_fd(p->cfg->hv) : -1;
    int l = fcntl(p->cfg->listen_fd, F_DUPFD, 10), c = fcntl(chan, F_DUPFD, 10);
    int e = exc >= 0 ? fcntl(exc, F_DUPFD, 10) : -1;

    if (l < 0 || c < 0 || dup2(l, KS_PRIV_FD_LISTEN) < 0 || dup2(c, KS_PRIV_FD_CHAN) < 0 ||
        (e >= 0 && dup2(e, KS_PRIV_FD_EXC) < 0))
        _exit(127);
    close_range(e >= 0 ? KS_PRIV_FD_EXC + 1 : KS_PRIV_FD_CHAN + 1, ~0U, 0);
    signal(SIGPIPE, SIG_DFL);
    execv("/proc/self/exe", p->cfg->child_argv);
    _exit(127);
}

static int ks_priv_start(struct ks_priv *p)
{
    int sv[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    if ((pid = fork()) < 0) {
        close(sv[0]);
        close(sv[1]);
        return -errno;
    }
    if (pid == 0)
        ks_priv_exec(p, sv[1]);
    close(sv[1]);
    p->child = pid;
    p->chan = sv[0];
    p->started = ks_now();
    p->chan_ev = event_new(p->base, p->chan, EV_READ | EV_PERSIST, ks_priv_chan_cb, p);
    if (!p->chan_ev || event_add(p->chan_ev, NULL) < 0)
        return -ENOMEM;
    klog(KLOG_INFO, "priv", "request process %ld started", (long)pid);
    return 0;
}

static void ks_priv_restart_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ks_priv *p = arg;
    int rc;

    (void)fd;
    (void)what;
    if (!p->stopping && (rc = ks_priv_start(p)) < 0) {
        klog(KLOG_ERROR, "priv", "cannot start a request process: %s", strerror(-rc));
        p->rc = rc;
        event_base_loopexit(p->base, NULL);
    }
}

static void ks_priv_report(pid_t pid, int st)
{
    if (WIFSIGNALED(st))
        klog(KLOG_ERROR, "priv", "request process %ld was killed by signal %d (%s)%s",
             (long)pid, WTERMSIG(st), strsignal(WTERMSIG(st)), WTERMSIG(st) == SIGSYS ?
             ": a system call outside its seccomp filter" : "");
    else
        klog(KLOG_ERROR, "priv", "request process %ld exited with status %d", (long)pid,
             WEXITSTATUS(st));
}

static void ks_priv_child_cb(evutil_socket_t sig, short what, void *arg)
{
    struct ks_priv *p = arg;
    struct timeval delay = { 0, 0 };
    pid_t pid;
    int st;

    (void)sig;
    (void)what;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid != p->child)
            continue;
        if (!(p->stopping && WIFEXITED(st) && WEXITSTATUS(st) == 0))
            ks_priv_report(pid, st);
        ks_priv_forget_child(p);
        if (p->stopping || !p->ready) {
            if (!p->ready)
                p->rc = -ECHILD;
            event_base_loopexit(p->base, NULL);
            return;
        }
        if (ks_now() - p->started < KS_PRIV_QUICK_S) {
            if (++p->quick > KS_PRIV_QUICK_MAX) {
                klog(KLOG_ERROR, "priv", "the request process died %d times in a row right "
                     "after its start: giving up", p->quick);
                p->rc = -ECHILD;
                event_base_loopexit(p->base, NULL);
                return;
            }
            delay.tv_sec = 1;
        } else {
            p->quick = 0;
        }
        klog(KLOG_ERROR, "priv", "starting a new request process%s (the tree comes back "
             "from the journal; socket clients reconnect)", delay.tv_sec ? " in 1 s" : "");
        evtimer_add(p->restart_ev, &delay);
    }
}

static void ks_priv_kill_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ks_priv *p = arg;

    (void)fd;
    (void)what;
    if (p->child > 0) {
        klog(KLOG_WARN, "priv", "request process %ld did not stop: SIGKILL", (long)p->child);
        kill(p->child, SIGKILL);
    }
}

static void ks_priv_stop_cb(evutil_socket_t sig, short what, void *arg)
{
    struct ks_priv *p = arg;
    struct timeval tv = { KS_PRIV_STOP_S, 0 };

    (void)what;
    klog(KLOG_INFO, "priv", "signal %d: shutting down", (int)sig);
    p->stopping = true;
    if (p->child <= 0) {
        event_base_loopexit(p->base, NULL);
        return;
    }
    kill(p->child, SIGTERM);
    evtimer_add(p->kill_ev, &tv);
}

int ks_priv_run(const struct ks_priv_cfg *cfg)
{
    static const int sigs[3] = { SIGCHLD, SIGTERM, SIGINT };
    struct ks_priv p = { .cfg = cfg, .chan = -1, .tokens = KS_PRIV_BURST };
    int rc = -ENOMEM;

    p.filled = ks_now();
    p.dom = calloc(KS_PRIV_DOMID_END, sizeof(*p.dom));
    if (!p.dom || !(p.base = event_base_new()))
        goto out;
    for (int i = 0; i < 3; i++) {
        p.sigs[i] = evsignal_new(p.base, sigs[i], i ? ks_priv_stop_cb : ks_priv_child_cb, &p);
        if (!p.sigs[i] || evsignal_add(p.sigs[i], NULL) < 0)
            goto out;
    }
    p.restart_ev = evtimer_new(p.base, ks_priv_restart_cb, &p);
    p.kill_ev = evtimer_new(p.base, ks_priv_kill_cb, &p);
    if (!p.restart_ev || !p.kill_ev || (rc = ks_priv_start(&p)) < 0)
        goto out;
    event_base_dispatch(p.base);
    rc = p.rc;
out:
    if (p.child > 0) {
        kill(p.child, SIGKILL);
        waitpid(p.child, NULL, 0);
    }
    if (p.base)
        ks_priv_forget_child(&p);
    for (int i = 0; i < 3; i++)
        if (p.sigs[i])
            event_free(p.sigs[i]);
    if (p.restart_ev)
        event_free(p.restart_ev);
    if (p.kill_ev)
        event_free(p.kill_ev);
    if (p.base)
        event_base_free(p.base);
    free(p.dom);
    return rc;
}
