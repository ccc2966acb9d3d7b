/* kprivsep.c - a privileged parent's supervision of its confined child (fork + exec of itself
 * with fixed descriptors, requests read from a SOCK_SEQPACKET socketpair, restart with a
 * give-up rule, stop on SIGTERM/SIGINT, how it died logged) and the SCM_RIGHTS message pair
 * both sides use. See kprivsep.h. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "klog.h"
#include "kprivsep.h"

#define KPRIV_NSIGS 4

struct kprivsep {
    const struct kprivsep_cfg *cfg;
    struct event_base *base;
    pid_t child;
    int chan;
    struct event *chan_ev, *restart_ev, *kill_ev, *sigs[KPRIV_NSIGS];
    double started;
    int quick, rc;
    bool ready, stopping;
    unsigned char *buf;          /* one request, msg_size bytes */
};

static double kprivsep_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

pid_t kprivsep_child(const struct kprivsep *s)
{
    return s->child;
}

int kprivsep_chan(const struct kprivsep *s)
{
    return s->chan;
}

void kprivsep_ready(struct kprivsep *s)
{
    s->ready = true;
    klog(KLOG_INFO, "priv", "%s %ld serves", s->cfg->what, (long)s->child);
}

bool kprivsep_is_ready(const struct kprivsep *s)
{
    return s->ready;
}

void kprivsep_kill(struct kprivsep *s, const char *why)
{
    klog(KLOG_ERROR, "priv", "%s %ld: %s: killing it", s->cfg->what, (long)s->child, why);
    kill(s->child, SIGKILL);
    event_del(s->chan_ev);
}

static void kprivsep_chan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kprivsep *s = arg;
    size_t size = s->cfg->msg_size;
    ssize_t n;

    (void)what;
    for (int i = 0; i < 64; i++) {
        n = recv(fd, s->buf, size, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {           /* it exited or died: SIGCHLD does the rest */
            event_del(s->chan_ev);
            return;
        }
        if (n != (ssize_t)size) {
            kprivsep_kill(s, "malformed message");
            return;
        }
        s->cfg->msg(s, s->cfg->arg, s->buf);
    }
}

static void kprivsep_forget(struct kprivsep *s)
{
    if (s->cfg->gone)
        s->cfg->gone(s->cfg->arg);
    if (s->chan_ev)
        event_free(s->chan_ev);
    s->chan_ev = NULL;
    if (s->chan >= 0)
        close(s->chan);
    s->chan = -1;
    s->child = 0;
}

/* In the forked child: the descriptors at 3, 4, ..., nothing else, then exec. */
static void kprivsep_exec(const struct kprivsep_cfg *cfg, int chan)
{
    int tmp[KPRIV_FDS_MAX], n = 0;

    for (; n < KPRIV_FDS_MAX && cfg->fds[n] != -1; n++) {
        tmp[n] = fcntl(cfg->fds[n] == KPRIV_FD_IS_CHAN ? chan : cfg->fds[n], F_DUPFD, 10 + n);
        if (tmp[n] < 0)
            _exit(127);
    }
    for (int i = 0; i < n; i++)
        if (dup2(tmp[i], 3 + i) < 0)
            _exit(127);
    close_range(3 + (unsigned)n, ~0U, 0);
    signal(SIGPIPE, SIG_DFL);
    execv("/proc/self/exe", cfg->argv);
    _exit(127);
}

static int kprivsep_start(struct kprivsep *s)
{
    int sv[2];
    pid_t pid;

    if (s->cfg->before_start)
        s->cfg->before_start(s->cfg->arg);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    if ((pid = fork()) < 0) {
        close(sv[0]);
        close(sv[1]);
        return -errno;
    }
    if (pid == 0)
        kprivsep_exec(s->cfg, sv[1]);
    close(sv[1]);
    s->child = pid;
    s->chan = sv[0];
    s->started = kprivsep_now();
    s->chan_ev = event_new(s->base, s->chan, EV_READ | EV_PERSIST, kprivsep_chan_cb, s);
    if (!s->chan_ev || event_add(s->chan_ev, NULL) < 0)
        return -ENOMEM;
    klog(KLOG_INFO, "priv", "%s %ld started", s->cfg->what, (long)pid);
    return 0;
}

static void kprivsep_restart_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kprivsep *s = arg;
    int rc;

    (void)fd;
    (void)what;
    if (!s->stopping && (rc = kprivsep_start(s)) < 0) {
        klog(KLOG_ERROR, "priv", "cannot start a %s: %s", s->cfg->what, strerror(-rc));
        s->rc = rc;
        event_base_loopexit(s->base, NULL);
    }
}

static void kprivsep_report(const struct kprivsep *s, pid_t pid, int st)
{
    if (WIFSIGNALED(st))
        klog(KLOG_ERROR, "priv", "%s %ld was killed by signal %d (%s)%s", s->cfg->what,
             (long)pid, WTERMSIG(st), strsignal(WTERMSIG(st)), WTERMSIG(st) == SIGSYS ?
             ": a system call outside its seccomp filter" : "");
    else
        klog(KLOG_ERROR, "priv", "%s %ld exited with status %d", s->cfg->what, (long)pid,
             WEXITSTATUS(st));
}

/* After a death of a child that had served: restart now, in 1 s after a quick death, or give
 * up after too many quick deaths in a row. */
static void kprivsep_again(struct kprivsep *s)
{
    struct timeval delay = { 0, 0 };

    if (kprivsep_now() - s->started < KPRIV_QUICK_S) {
        if (++s->quick > KPRIV_QUICK_MAX) {
            klog(KLOG_ERROR, "priv", "the %s died %d times in a row right after its start: "
                 "giving up", s->cfg->what, s->quick);
            s->rc = -ECHILD;
            event_base_loopexit(s->base, NULL);
            return;
        }
        delay.tv_sec = 1;
    } else {
        s->quick = 0;
    }
    klog(KLOG_ERROR, "priv", "starting a new %s%s %s", s->cfg->what,
         delay.tv_sec ? " in 1 s" : "", s->cfg->restart_note);
    evtimer_add(s->restart_ev, &delay);
}

static void kprivsep_child_cb(evutil_socket_t sig, short what, void *arg)
{
    struct kprivsep *s = arg;
    pid_t pid;
    int st;

    (void)sig;
    (void)what;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid != s->child)
            continue;
        if (!(s->stopping && WIFEXITED(st) && WEXITSTATUS(st) == 0))
            kprivsep_report(s, pid, st);
        kprivsep_forget(s);
        if (s->stopping || !s->ready) {
            if (!s->ready)
                s->rc = -ECHILD;
            event_base_loopexit(s->base, NULL);
            return;
        }
        kprivsep_again(s);
    }
}

static void kprivsep_kill_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kprivsep *s = arg;

    (void)fd;
    (void)what;
    if (s->child > 0) {
        klog(KLOG_WARN, "priv", "%s %ld did not stop: SIGKILL", s->cfg->what, (long)s->child);
        kill(s->child, SIGKILL);
    }
}

static void kprivsep_sig_cb(evutil_socket_t sig, short what, void *arg)
{
    struct kprivsep *s = arg;
    struct timeval tv = { KPRIV_STOP_S, 0 };

    (void)what;
    if (sig == SIGHUP) {        /* e.g. logs rotated: the child opens them again */
        if (s->child > 0)
            kill(s->child, SIGHUP);
        return;
    }
    klog(KLOG_INFO, "priv", "signal %d: stopping", (int)sig);
    s->stopping = true;
    if (s->child <= 0) {
        event_base_loopexit(s->base, NULL);
        return;
    }
    kill(s->child, SIGTERM);
    evtimer_add(s->kill_ev, &tv);
}

static int kprivsep_setup(struct kprivsep *s)
{
    static const int sigs[KPRIV_NSIGS] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
    int n = s->cfg->forward_hup ? KPRIV_NSIGS : KPRIV_NSIGS - 1;

    if (!(s->buf = malloc(s->cfg->msg_size)) || !(s->base = event_base_new()))
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        s->sigs[i] = evsignal_new(s->base, sigs[i], i ? kprivsep_sig_cb : kprivsep_child_cb, s);
        if (!s->sigs[i] || evsignal_add(s->sigs[i], NULL) < 0)
            return -ENOMEM;
    }
    s->restart_ev = evtimer_new(s->base, kprivsep_restart_cb, s);
    s->kill_ev = evtimer_new(s->base, kprivsep_kill_cb, s);
    return s->restart_ev && s->kill_ev ? 0 : -ENOMEM;
}

int kprivsep_run(const struct kprivsep_cfg *cfg)
{
    struct kprivsep s = { .cfg = cfg, .chan = -1 };
    int rc;

    if ((rc = kprivsep_setup(&s)) == 0 && (rc = kprivsep_start(&s)) == 0) {
        event_base_dispatch(s.base);
        rc = s.rc;
    }
    if (s.child > 0) {
        kill(s.child, SIGKILL);
        waitpid(s.child, NULL, 0);
    }
    if (s.base)
        kprivsep_forget(&s);
    for (int i = 0; i < KPRIV_NSIGS; i++)
        if (s.sigs[i])
            event_free(s.sigs[i]);
    if (s.restart_ev)
        event_free(s.restart_ev);
    if (s.kill_ev)
        event_free(s.kill_ev);
    if (s.base)
        event_base_free(s.base);
    free(s.buf);
    return rc;
}
