/* keel-netback.c - Keel's network backend daemon (one per backend domain: Domain-0 here). It
 * watches /local/domain/0/backend/vif and serves each vif in its own forked
 * worker process (nb_dev.c), so a hostile frontend can crash or disable only its own vif.
 * The parent restarts nothing by itself: a worker that dies abnormally is logged and its device
 * marked Closed (state 6). Killed and started again, the daemon re-attaches to every vif still
 * in the store (workers die with their parent; the taps are persistent). It also removes a
 * vif's statistics file when its worker ended with the device. See README.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nb_confine.h"
#include "nb_int.h"
#include "klog.h"
#include "krundir.h"

#define NB_MAX_DEVS 1024
#define NB_BASE "/local/domain/0/backend"

struct nb_child {
    char kind[8];
    uint32_t domid, devid;
    pid_t pid;                /* 0: not running (finished or died) */
    int seen;                 /* still in the store at the last scan */
};

static struct nb_child children[NB_MAX_DEVS];
static const char *rundir;
static kxs *xs;
static sigset_t nb_sigs;
static char nb_ready[300];               /* the ready file (nb_ready_path) */

static struct nb_child *nb_find(const char *kind, uint32_t domid, uint32_t devid)
{
    for (int i = 0; i < NB_MAX_DEVS; i++)
        if (children[i].kind[0] && !strcmp(children[i].kind, kind) &&
            children[i].domid == domid && children[i].devid == devid)
            return &children[i];
    return NULL;
}

static int nb_num(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long v;

    if (!*s || *s < '0' || *s > '9' || strlen(s) > 10)
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static void nb_spawn(const char *kind, uint32_t domid, uint32_t devid)
{
    struct nb_child *c = NULL;
    pid_t pid, parent = getpid();

    for (int i = 0; i < NB_MAX_DEVS && !c; i++)
        if (!children[i].kind[0])
            c = &children[i];
    if (!c) {
        klog_err("netback", "%s %u/%u: too many devices (%d)", kind, domid, devid, NB_MAX_DEVS);
        return;
    }
    fflush(NULL);
    if ((pid = fork()) < 0) {
        klog_err("netback", "%s %u/%u: fork: %s", kind, domid, devid, strerror(errno));
        return;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        sigprocmask(SIG_UNBLOCK, &nb_sigs, NULL);
        if (nb_confine_child() < 0) {
            klog_err("netback", "%s %u/%u: worker confinement: %s", kind, domid, devid,
                     strerror(errno));
            _exit(1);
        }
        _exit(nb_dev_main(rundir, domid, devid));
    }
    snprintf(c->kind, sizeof(c->kind), "%s", kind);
    c->domid = domid;
    c->devid = devid;
    c->pid = pid;
    c->seen = 1;
    klog_info("netback", "%s %u/%u: worker %d started", kind, domid, devid, (int)pid);
}

/* A device wants a worker unless it is Closed already. */
static void nb_consider(const char *kind, uint32_t domid, uint32_t devid)
{
    struct nb_child *c = nb_find(kind, domid, devid);
    char p[128];
    uint64_t st = 0;

    if (c) {
        c->seen = 1;
        return;
    }
    snprintf(p, sizeof(p), NB_BASE "/%s/%u/%u/state", kind, domid, devid);
    if (kxs_read_u64(xs, 0, p, 8, &st) < 0 || st == KEEL_XB_CLOSED || st == 0)
        return;
    nb_spawn(kind, domid, devid);
}

static void nb_scan_kind(const char *kind)
{
    char p[96], **doms = NULL, **devs = NULL;
    unsigned nd = 0, nv = 0;

    snprintf(p, sizeof(p), NB_BASE "/%s", kind);
    if (kxs_directory(xs, 0, p, &doms, &nd) < 0)
        return;
    for (unsigned i = 0; i < nd; i++) {
        uint32_t domid, devid;
        if (nb_num(doms[i], 0x7fef, &domid) < 0 || domid == 0)
            continue;
        snprintf(p, sizeof(p), NB_BASE "/%s/%u", kind, domid);
        if (kxs_directory(xs, 0, p, &devs, &nv) < 0)
            continue;
        for (unsigned k = 0; k < nv; k++)
            if (nb_num(devs[k], UINT32_MAX, &devid) == 0)
                nb_consider(kind, domid, devid);
        free(devs);
    }
    free(doms);
}

static void nb_scan(void)
{
    for (int i = 0; i < NB_MAX_DEVS; i++)
        children[i].seen = 0;
    nb_scan_kind("vif");
    /* finished entries whose device left the store are forgotten */
    for (int i = 0; i < NB_MAX_DEVS; i++)
        if (children[i].kind[0] && !children[i].pid && !children[i].seen)
            memset(&children[i], 0, sizeof(children[i]));
}

/* A worker ended: a clean exit is the device's normal end; NB_EXIT_STORE (the store went away)
 * leaves the device for a new worker (*rescan); anything else closes the device. */
static void nb_reap(int *rescan)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct nb_child *c = NULL;
        char p[300];
        uint64_t st;
        for (int i = 0; i < NB_MAX_DEVS && !c; i++)
            if (children[i].pid == pid)
                c = &children[i];
        if (!c)
            continue;
        c->pid = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == NB_EXIT_STORE) {
            klog_info("netback", "%s %u/%u: worker %d lost the store: a new one re-attaches once "
                      "it is back", c->kind, c->domid, c->devid, (int)pid);
            memset(c, 0, sizeof(*c));
            *rescan = 1;
            continue;
        }
        nb_stats_path(rundir, c->domid, c->devid, p, sizeof(p));
        unlink(p);                       /* the worker ended with its device */
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            klog_info("netback", "%s %u/%u: worker %d finished", c->kind, c->domid, c->devid,
                      (int)pid);
            continue;
        }
        klog_err("netback", "%s %u/%u: worker %d %s %d: device marked Closed (not restarted)",
                 c->kind, c->domid, c->devid, (int)pid,
                 WIFSIGNALED(status) ? "killed by signal" : "exited with status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        snprintf(p, sizeof(p), NB_BASE "/%s/%u/%u/state", c->kind, c->domid, c->devid);
        if (xs && kxs_read_u64(xs, 0, p, 8, &st) == 0 && st != KEEL_XB_CLOSED) {
            *strrchr(p, '/') = '\0';        /* not into a directory removed meanwhile */
            nb_write_if_present(xs, p, "state", "6");
        }
    }
}

static void nb_stop_all(void)
{
    if (nb_ready[0])
        unlink(nb_ready);
    for (int i = 0; i < NB_MAX_DEVS; i++)
        if (children[i].pid > 0)
            kill(children[i].pid, SIGTERM);
    for (int i = 0; i < NB_MAX_DEVS; i++)
        if (children[i].pid > 0)
            waitpid(children[i].pid, NULL, 0);
}

/* <rundir>/netback/keel-netback.ready holds our pid once the watches are registered and the
 * devices already in the store have their workers: keel-host start waits for it, so whatever
 * runs after it (a test counting keel-stored's connections) sees the daemon connected. */
static void nb_ready_path(void)
{
    const char *rd = rundir;

    rd = krundir(rd);
    if ((size_t)snprintf(nb_ready, sizeof(nb_ready), "%s/netback/keel-netback.ready", rd) >=
        sizeof(nb_ready))
        nb_ready[0] = 0;
    if (nb_ready[0])
        unlink(nb_ready);
}

static void nb_ready_mark(void)
{
    FILE *f;

    if (!nb_ready[0] || !(f = fopen(nb_ready, "we"))) {
        klog_debug("netback", "no ready file %s: %s", nb_ready, strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

/* Connect to the store and watch both backend directories. */
static int nb_connect(void)
{
    int rc;

    if ((rc = kxs_open(&xs, rundir)) < 0) {
        xs = NULL;
        return rc;
    }
    if ((rc = kxs_watch(xs, NB_BASE "/vif", "vif")) < 0) {
        kxs_close(xs);
        xs = NULL;
    }
    return rc;
}

/* Take the pending signals: SIGCHLD reaps; SIGTERM/SIGINT stop the workers, and 1 is returned. */
static int nb_signals(int sfd, int *rescan)
{
    struct signalfd_siginfo si;

    while (read(sfd, &si, sizeof(si)) > 0) {
        if (si.ssi_signo == SIGCHLD) {
            nb_reap(rescan);
            continue;
        }
        klog_info("netback", "signal %u: stopping the workers (devices stay connected for a "
                  "restarted backend)", si.ssi_signo);
        nb_stop_all();
        kxs_close(xs);
        xs = NULL;
        return 1;
    }
    return 0;
}

/* The store went away (keel-stored killed or restarted; it keeps its nodes in its journal):
 * the workers notice it too and exit, leaving their devices connected. Connect again with a
 * backoff (50 ms doubling to 2 s, for as long as it takes), watch again and rescan: each device
 * gets a new worker that re-attaches where the old one stopped. -1: a signal stopped us. */
static int nb_reconnect(int sfd, int *rescan)
{
    int delay = 50, waited = 0;

    kxs_close(xs);
    xs = NULL;
    klog_warn("netback", "store connection lost: reconnecting");
    for (;;) {
        struct pollfd p = { sfd, POLLIN, 0 };
        if (poll(&p, 1, delay) > 0 && nb_signals(sfd, rescan))
            return -1;
        waited += delay;
        if (nb_connect() == 0)
            break;
        delay = delay < 1000 ? delay * 2 : 2000;
    }
    klog_info("netback", "store connection back after about %d ms: watching and rescanning",
              waited);
    *rescan = 1;
    return 0;
}

static void nb_usage(FILE *f)
{
    fprintf(f, "Usage: keel-netback [-r RUNDIR] [-l LEVEL]\n"
               "Serves the PV network devices (vif) of Domain-0's backend directory: one tap\n"
               "vif<domid>.<devid> per device, the netif rings by grant copy.\n"
               "  -r, --rundir DIR   runtime directory (default $KEEL_RUNDIR, else /run/keel)\n"
               "  -l, --log LEVEL    error|warn|info|debug (default info, or $KEEL_LOG)\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = { { "rundir", 1, 0, 'r' }, { "log", 1, 0, 'l' },
                                          { "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
    int c, sfd, rc, rescan = 0;

    klog_init_env("keel-netback", KLOG_INFO);
    while ((c = getopt_long(argc, argv, "r:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': rundir = optarg; break;
        case 'l':
            if (klog_set_level_name(optarg) < 0) {
                nb_usage(stderr);
                return 2;
            }
            break;
        case 'h': nb_usage(stdout); return 0;
        default: nb_usage(stderr); return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&nb_sigs);
    sigaddset(&nb_sigs, SIGCHLD);
    sigaddset(&nb_sigs, SIGTERM);
    sigaddset(&nb_sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &nb_sigs, NULL);
    if ((sfd = signalfd(-1, &nb_sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        klog_err("netback", "signalfd: %s", strerror(errno));
        return 1;
    }
    nb_ready_path();
    {
        char d[300];                     /* statistics files and the ready file live here */
        nb_stats_path(rundir, 0, 0, d, sizeof(d));
        *strrchr(d, '/') = 0;
        mkdir(d, 0755);
    }
    if ((rc = nb_connect()) < 0) {
        klog_err("netback", "cannot connect to the store and watch " NB_BASE ": %s",
                 strerror(-rc));
        return 1;
    }
    klog_info("netback", "serving " NB_BASE "/vif");
    nb_scan();                /* devices already there: a restarted backend re-attaches */
    nb_ready_mark();
    for (;;) {
        struct pollfd p[2] = { { kxs_fd(xs), POLLIN, 0 }, { sfd, POLLIN, 0 } };
        char *path, *tok;
        int ev = 0;
        if (poll(p, 2, kxs_pending(xs) ? 0 : -1) < 0 && errno != EINTR)
            break;
        if (nb_signals(sfd, &rescan))
            return 0;
        if (((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && kxs_pump(xs) < 0) ||
            kxs_dead(xs)) {
            if (nb_reconnect(sfd, &rescan) < 0)
                return 0;                /* stopped by a signal meanwhile */
        }
        if (rescan) {
            rescan = 0;
            nb_scan();
        }
        /* a scan's own requests may queue further events: scan until none is left */
        do {
            ev = 0;
            while (kxs_next_event(xs, &path, &tok) == 1) {
                ev = 1;
                free(path);
            }
            if (ev)
                nb_scan();
        } while (ev);
    }
    nb_stop_all();
    return 1;
}
