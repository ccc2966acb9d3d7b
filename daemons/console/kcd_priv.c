/* kcd_priv.c - keel-consoled's privileged part: it keeps the core connection, the console
 * socket and what kcd_pres.c / kcd_pchan.c hold, starts the serving process (fork + exec of
 * this binary with --privsep-child, a fresh address space without the core handle's memory;
 * see kcd_child.c), answers its typed requests on a SOCK_SEQPACKET socketpair after checking
 * them (size and type here, rate: opens, maps, logs and store connections at most
 * KCD_PRIV_BURST at once then KCD_PRIV_RATE per second; the rest in kcd_pres.c), forwards
 * SIGHUP (logs reopened after a rotation) and restarts it when it dies: a death by signal is
 * logged with the signal (SIGSYS: a system call outside its filter); bound ports, channel host
 * ends and rings stay held and the new process claims them again, so guests notice nothing,
 * logs go on and attached clients reconnect. A malformed message means the serving process is
 * not ours any more: it is killed and replaced. */
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

#include "kcd_privd.h"
#include "klog.h"

#define KCD_PRIV_QUICK_S    1.0     /* a death this soon after the start is a quick one */
#define KCD_PRIV_QUICK_MAX  5       /* consecutive quick deaths before giving up */
#define KCD_PRIV_STOP_S     5       /* SIGTERM, then SIGKILL after this */

static const char *const kcd_op_names[KCD_PRIV_OP_END] = {
    [KCD_PRIV_READY] = "ready", [KCD_PRIV_CONS_OPEN] = "console open",
    [KCD_PRIV_CONS_CLOSE] = "console close", [KCD_PRIV_CONS_HELD] = "held consoles",
    [KCD_PRIV_LOG_OPEN] = "log open", [KCD_PRIV_CHAN_OPEN] = "channel open",
    [KCD_PRIV_CHAN_MAP] = "channel map", [KCD_PRIV_CHAN_UNMAP] = "channel unmap",
    [KCD_PRIV_CHAN_CLOSE] = "channel close", [KCD_PRIV_NOTIFY] = "notify",
    [KCD_PRIV_DOMINFO] = "domain info", [KCD_PRIV_STORE] = "store connection",
};

struct kcd_priv {
    struct event_base *base;
    const struct kcd_priv_cfg *cfg;
    struct kcd_pres *res;
    pid_t child;
    int chan;
    struct event *chan_ev, *restart_ev, *kill_ev, *sigs[4];
    double started, tokens, filled;
    int quick, rc;
    bool ready, stopping;
};

static double kcd_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void kcd_priv_reply(struct kcd_priv *p, const struct kcd_priv_rsp *r, const int *fds,
                           int nfds)
{
    union { struct cmsghdr h; char buf[CMSG_SPACE(3 * sizeof(int))]; } u;
    struct iovec iov = { (void *)r, sizeof(*r) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (nfds > 0) {
        memset(&u, 0, sizeof(u));
        m.msg_control = u.buf;
        m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
        CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
        CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), fds, (size_t)nfds * sizeof(int));
    }
    while (sendmsg(p->chan, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

static bool kcd_priv_take_token(struct kcd_priv *p)
{
    double t = kcd_now();

    p->tokens += (t - p->filled) * KCD_PRIV_RATE;
    p->filled = t;
    if (p->tokens > KCD_PRIV_BURST)
        p->tokens = KCD_PRIV_BURST;
    if (p->tokens < 1.0)
        return false;
    p->tokens -= 1.0;
    return true;
}

static void kcd_priv_answer(struct kcd_priv *p, const struct kcd_priv_req *q)
{
    struct kcd_priv_rsp r;
    int fds[3] = { -1, -1, -1 }, nfds = 0;

    memset(&r, 0, sizeof(r));
    if (q->op != KCD_PRIV_DOMINFO && q->op != KCD_PRIV_CONS_HELD && !kcd_priv_take_token(p)) {
        r.rc = -EBUSY;
        snprintf(r.msg, sizeof(r.msg), "rate limit: more than %u per second", KCD_PRIV_RATE);
    } else {
        r.rc = kcd_pres_answer(p->res, q, &r, fds, &nfds);
    }
    if (r.rc < 0 && r.rc != -ESRCH && r.rc != -ENOENT && q->op != KCD_PRIV_STORE)
        klog(KLOG_WARN, "priv", "domain %u: %s (console %u, gfn %#llx, port %u) refused: %s",
             q->domid, kcd_op_names[q->op], q->cons, (unsigned long long)q->gfn, q->port,
             r.msg[0] ? r.msg : strerror(-r.rc));
    for (int i = 0; i < nfds; i++)
        if (fds[i] < 0)
            r.rc = r.rc < 0 ? r.rc : -EIO;
    kcd_priv_reply(p, &r, fds, r.rc < 0 ? 0 : nfds);
    for (int i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void kcd_priv_stop_child(struct kcd_priv *p, const char *why)
{
    klog(KLOG_ERROR, "priv", "serving process %ld: %s: killing it", (long)p->child, why);
    kill(p->child, SIGKILL);
    event_del(p->chan_ev);
}

static void kcd_priv_handle(struct kcd_priv *p, const struct kcd_priv_req *q)
{
    switch (q->op) {
    case KCD_PRIV_READY:
        p->ready = true;
        klog(KLOG_INFO, "priv", "serving process %ld serves", (long)p->child);
        break;
    case KCD_PRIV_CONS_OPEN: case KCD_PRIV_CONS_HELD: case KCD_PRIV_LOG_OPEN:
    case KCD_PRIV_CHAN_OPEN: case KCD_PRIV_CHAN_MAP: case KCD_PRIV_DOMINFO: case KCD_PRIV_STORE:
        kcd_priv_answer(p, q);
        break;
    case KCD_PRIV_CONS_CLOSE: case KCD_PRIV_CHAN_UNMAP: case KCD_PRIV_CHAN_CLOSE:
    case KCD_PRIV_NOTIFY:
        kcd_pres_oneway(p->res, q);
        break;
    default:
        kcd_priv_stop_child(p, "unknown request type");
    }
}

static void kcd_priv_chan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_priv *p = arg;
    struct kcd_priv_req q;
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
            kcd_priv_stop_child(p, "malformed message");
            return;
        }
        kcd_priv_handle(p, &q);
    }
}

static void kcd_priv_forget_child(struct kcd_priv *p)
{
    if (p->chan_ev)
        event_free(p->chan_ev);
    p->chan_ev = NULL;
    if (p->chan >= 0)
        close(p->chan);
    p->chan = -1;
    p->child = 0;
}

/* In the forked child: the fds at their fixed numbers, nothing else, then exec. */
static void kcd_priv_exec(const struct kcd_priv *p, int chan)
{
    int exc = p->cfg->exc_fd;
    int l = fcntl(p->cfg->listen_fd, F_DUPFD, 10), c = fcntl(chan, F_DUPFD, 10);
    int e = exc >= 0 ? fcntl(exc, F_DUPFD, 10) : -1;

    if (l < 0 || c < 0 || dup2(l, KCD_PRIV_FD_LISTEN) < 0 || dup2(c, KCD_PRIV_FD_CHAN) < 0 ||
        (e >= 0 && dup2(e, KCD_PRIV_FD_EXC) < 0))
        _exit(127);
    close_range(e >= 0 ? KCD_PRIV_FD_EXC + 1 : KCD_PRIV_FD_CHAN + 1, ~0U, 0);
    signal(SIGPIPE, SIG_DFL);
    execv("/proc/self/exe", p->cfg->child_argv);
    _exit(127);
}

static int kcd_priv_start(struct kcd_priv *p)
{
    int sv[2];
    pid_t pid;

    kcd_pres_sweep(p->res);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    if ((pid = fork()) < 0) {
        close(sv[0]);
        close(sv[1]);
        return -errno;
    }
    if (pid == 0)
        kcd_priv_exec(p, sv[1]);
    close(sv[1]);
    p->child = pid;
    p->chan = sv[0];
    p->started = kcd_now();
    p->chan_ev = event_new(p->base, p->chan, EV_READ | EV_PERSIST, kcd_priv_chan_cb, p);
    if (!p->chan_ev || event_add(p->chan_ev, NULL) < 0)
        return -ENOMEM;
    klog(KLOG_INFO, "priv", "serving process %ld started", (long)pid);
    return 0;
}

static void kcd_priv_restart_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_priv *p = arg;
    int rc;

    (void)fd;
    (void)what;
    if (!p->stopping && (rc = kcd_priv_start(p)) < 0) {
        klog(KLOG_ERROR, "priv", "cannot start a serving process: %s", strerror(-rc));
        p->rc = rc;
        event_base_loopexit(p->base, NULL);
    }
}

static void kcd_priv_report(pid_t pid, int st)
{
    if (WIFSIGNALED(st))
        klog(KLOG_ERROR, "priv", "serving process %ld was killed by signal %d (%s)%s",
             (long)pid, WTERMSIG(st), strsignal(WTERMSIG(st)), WTERMSIG(st) == SIGSYS ?
             ": a system call outside its seccomp filter" : "");
    else
        klog(KLOG_ERROR, "priv", "serving process %ld exited with status %d", (long)pid,
             WEXITSTATUS(st));
}

static void kcd_priv_child_cb(evutil_socket_t sig, short what, void *arg)
{
    struct kcd_priv *p = arg;
    struct timeval delay = { 0, 0 };
    pid_t pid;
    int st;

    (void)sig;
    (void)what;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid != p->child)
            continue;
        if (!(p->stopping && WIFEXITED(st) && WEXITSTATUS(st) == 0))
            kcd_priv_report(pid, st);
        kcd_priv_forget_child(p);
        if (p->stopping || !p->ready) {
            if (!p->ready)
                p->rc = -ECHILD;
            event_base_loopexit(p->base, NULL);
            return;
        }
        if (kcd_now() - p->started < KCD_PRIV_QUICK_S) {
            if (++p->quick > KCD_PRIV_QUICK_MAX) {
                klog(KLOG_ERROR, "priv", "the serving process died %d times in a row right "
                     "after its start: giving up", p->quick);
                p->rc = -ECHILD;
                event_base_loopexit(p->base, NULL);
                return;
            }
            delay.tv_sec = 1;
        } else {
            p->quick = 0;
        }
        klog(KLOG_ERROR, "priv", "starting a new serving process%s (consoles and channels "
             "are kept; attached clients reconnect)", delay.tv_sec ? " in 1 s" : "");
        evtimer_add(p->restart_ev, &delay);
    }
}

static void kcd_priv_kill_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_priv *p = arg;

    (void)fd;
    (void)what;
    if (p->child > 0) {
        klog(KLOG_WARN, "priv", "serving process %ld did not stop: SIGKILL", (long)p->child);
        kill(p->child, SIGKILL);
    }
}

static void kcd_priv_sig_cb(evutil_socket_t sig, short what, void *arg)
{
    struct kcd_priv *p = arg;
    struct timeval tv = { KCD_PRIV_STOP_S, 0 };

    (void)what;
    if (sig == SIGHUP) {        /* logrotate moved the logs: the serving process asks again */
        if (p->child > 0)
            kill(p->child, SIGHUP);
        return;
    }
    klog(KLOG_INFO, "priv", "signal %d: stopping", (int)sig);
    p->stopping = true;
    if (p->child <= 0) {
        event_base_loopexit(p->base, NULL);
        return;
    }
    kill(p->child, SIGTERM);
    evtimer_add(p->kill_ev, &tv);
}

int kcd_priv_run(const struct kcd_priv_cfg *cfg)
{
    static const int sigs[4] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
    struct kcd_priv p = { .cfg = cfg, .chan = -1, .tokens = KCD_PRIV_BURST };
    int rc = -ENOMEM;

    p.filled = kcd_now();
    if ((rc = kcd_pres_new(cfg, &p.res)) < 0 || !(p.base = event_base_new())) {
        rc = -ENOMEM;
        goto out;
    }
    for (int i = 0; i < 4; i++) {
        p.sigs[i] = evsignal_new(p.base, sigs[i], i ? kcd_priv_sig_cb : kcd_priv_child_cb, &p);
        if (!p.sigs[i] || evsignal_add(p.sigs[i], NULL) < 0)
            goto out;
    }
    p.restart_ev = evtimer_new(p.base, kcd_priv_restart_cb, &p);
    p.kill_ev = evtimer_new(p.base, kcd_priv_kill_cb, &p);
    if (!p.restart_ev || !p.kill_ev || (rc = kcd_priv_start(&p)) < 0)
        goto out;
    event_base_dispatch(p.base);
    rc = p.rc;
out:
    if (p.child > 0) {
        kill(p.child, SIGKILL);
        waitpid(p.child, NULL, 0);
    }
    kcd_priv_forget_child(&p);
    kcd_pres_free(p.res);
    for (int i = 0; i < 4; i++)
        if (p.sigs[i])
            event_free(p.sigs[i]);
    if (p.restart_ev)
        event_free(p.restart_ev);
    if (p.kill_ev)
        event_free(p.kill_ev);
    if (p.base)
        event_base_free(p.base);
    return rc;
}
