/* keel-vtpmd.c - Keel's vTPM manager: one TPM 2.0 per vtpm device, each a libtpms engine in a
 * confined process of its own (vt_inst.c, vt_engine.c), served to its guest over tpmif v2
 * (vt_dev.c), to root's tpm2-tools over a swtpm-TCTI socket (vt_sock.c) and to the toolstack's
 * save/restore/migration over the control socket (vt_ctl.c). Permanent state is sealed to
 * <statedir>/vtpm (vt_state.c). One poll loop. See README.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kconfine.h"
#include "klog.h"
#include "vt_confine.h"
#include "vt_int.h"
#include "vt_zyg.h"
#include "krundir.h"

struct vt_ctx vt;

enum { PF_INST, PF_EVT, PF_LISTEN, PF_CTRL, PF_CLIENT };

static void vt_usage(FILE *f)
{
    fprintf(f, "Usage: keel-vtpmd [-r RUNDIR] [-l LEVEL]\n"
               "Serves the vTPMs of Domain-0's backend directory (vtpm): a libtpms TPM 2.0 per\n"
               "device, state sealed under $KEEL_STATEDIR/vtpm (default /var/lib/keel/vtpm).\n"
               "  -r, --rundir DIR   runtime directory (default $KEEL_RUNDIR, else /run/keel)\n"
               "  -l, --log LEVEL    error|warn|info|debug (default info, or $KEEL_LOG)\n");
}

static int vt_setup(char *err, size_t el)
{
    const char *rd = vt.rundir;
    int rc;

    rd = krundir(rd);
    vt.rundir = rd;
    if ((size_t)snprintf(vt.vtdir, sizeof(vt.vtdir), "%s/vtpm", rd) >= sizeof(vt.vtdir) - 40) {
        snprintf(err, el, "runtime directory path too long");
        return -ENAMETOOLONG;
    }
    if ((mkdir(vt.vtdir, 0700) < 0 && errno != EEXIST) || chmod(vt.vtdir, 0700) < 0) {
        rc = -errno;
        snprintf(err, el, "cannot create %s: %s", vt.vtdir, strerror(-rc));
        return rc;
    }
    if ((rc = vt_state_dir(vt.statedir, sizeof(vt.statedir))) < 0) {
        snprintf(err, el, "state directory path too long");
        return rc;
    }
    {
        /* the parent of <statedir>/vtpm may not exist yet (a private test directory) */
        char parent[4096];
        snprintf(parent, sizeof(parent), "%s", vt.statedir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = 0;
            mkdir(parent, 0755);
        }
    }
    if ((rc = vt_key_load(vt.statedir, vt.key, err, el)) < 0)
        return rc;
    if ((rc = kc_open_role(&vt.kc, vt.rundir, KC_ROLE_BACKEND)) < 0) {
        snprintf(err, el, "cannot connect to the core: %s", strerror(-rc));
        return rc;
    }
    if ((rc = vt_store_open()) < 0) {
        snprintf(err, el, "cannot connect to the store and watch " VT_BASE ": %s",
                 strerror(-rc));
        return rc;
    }
    if ((rc = vt_ctl_open()) < 0) {
        snprintf(err, el, "cannot listen on %s/control: %s", vt.vtdir, strerror(-rc));
        return rc;
    }
    return 0;
}

/* The manager's view of the file system, before its capabilities go: a read-only tmpfs root
 * (<rundir>/vtpm/root) holding only its runtime directory, the store's socket directory and
 * the state directory, at their own paths; the core's socket, other daemons' files and the
 * rest of the host are out of reach (README.md, "Processes and privileges"). */
static int vt_jail(char *err, size_t el)
{
    char root[300], store[300], keep[3][PATH_MAX];
    const char *src[3] = { vt.vtdir, store, vt.statedir }, *kp[3] = { keep[0], keep[1], keep[2] };

    if (geteuid() != 0)
        return 0;
    snprintf(root, sizeof(root), "%s/root", vt.vtdir);
    snprintf(store, sizeof(store), "%s/xenstored", vt.rundir);
    if (mkdir(root, 0700) < 0 && errno != EEXIST)
        return kconfine_fail(err, el, "creating the manager's root directory");
    for (int i = 0; i < 3; i++)
        if (!realpath(src[i], keep[i])) {
            int rc = kconfine_fail(err, el, "resolving a directory the manager keeps");
            size_t l = strlen(err);
            snprintf(err + l, el - l, " (%s)", src[i]);
            return rc;
        }
    tzset();                             /* klog's local time: the zone file stays outside */
    return kconfine_bound_root(root, "keel-vtpmd-root", kp, 3, err, el);
}

static void vt_ready(int mark)
{
    char p[300];
    FILE *f;

    snprintf(p, sizeof(p), "%s/keel-vtpmd.ready", vt.vtdir);
    if (!mark) {
        unlink(p);
        return;
    }
    if ((f = fopen(p, "we"))) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
}

/* poll(), but while an instance runs a command look without sleeping for up to
 * $KEEL_VTPMD_SPIN_US (default 50 us; 0 = never), yielding between looks: a short command's
 * response is then taken without a wake-up of the manager (measured: bench/bench-vtpm.sh). */
static int vt_poll(struct pollfd *p, int n, int timeout, int busy)
{
    static long spin_us = -1;
    struct timespec t0, t;
    int rc;

    if (spin_us < 0) {
        const char *e = getenv("KEEL_VTPMD_SPIN_US");
        spin_us = e && *e ? strtol(e, NULL, 10) : 50;
        if (spin_us < 0 || spin_us > 1000)
            spin_us = 50;
    }
    if (!busy || !spin_us || timeout == 0)
        return poll(p, (nfds_t)n, timeout);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if ((rc = poll(p, (nfds_t)n, 0)) != 0)
            return rc;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 >= spin_us)
            return poll(p, (nfds_t)n, timeout);
        sched_yield();
    }
}

/* One round: poll everything, act on what is ready. 1: stop (a signal). The store's loss is
 * noticed and mended by vt_store_check (vt_store.c): the rest goes on serving meanwhile. */
static int vt_round(int sfd)
{
    struct pollfd p[4 + 5 * VT_MAX_DEVS];
    int kind[4 + 5 * VT_MAX_DEVS], dev[4 + 5 * VT_MAX_DEVS];
    char *path, *tok;
    int n = 4, ev = 0, busy = 0;

    p[0] = (struct pollfd){ vt_store_fd(), POLLIN, 0 };
    p[1] = (struct pollfd){ sfd, POLLIN, 0 };
    p[2] = (struct pollfd){ vt.ctl_fd, POLLIN, 0 };
    p[3] = (struct pollfd){ vt_zyg_fd(), 0, 0 };     /* only its hang-up */
    for (int i = 0; i < VT_MAX_DEVS; i++) {
        struct vt_dev *d = &vt.devs[i];
        int fds[5] = { d->fd, d->connected ? d->evfd : -1,
                       d->sock_pending || d->busy == VT_SRC_SOCK ? -1 : d->lfd, d->cfd,
                       d->sock_pending || d->busy == VT_SRC_SOCK ? -1 : d->client };
        if (!d->used)
            continue;
        busy |= d->busy != VT_SRC_NONE;
        for (int k = 0; k < 5; k++) {
            if (fds[k] < 0)
                continue;
            p[n] = (struct pollfd){ fds[k], POLLIN, 0 };
            kind[n] = k;
            dev[n++] = i;
        }
    }
    if (vt_poll(p, n, vt_store_timeout(kxs_pending(vt.xs) ? 0 : -1), busy) < 0 &&
        errno != EINTR) {
        klog_err("vtpm", "poll: %s", strerror(errno));
        return -1;
    }
    if (p[1].revents & POLLIN) {
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof(si)) > 0) {
            klog_info("vtpm", "signal %u: sealing the states and stopping (devices stay "
                      "connected for a restarted manager)", si.ssi_signo);
            return 1;
        }
    }
    if (p[3].revents & (POLLHUP | POLLERR)) {
        klog_err("vtpm", "the instance launcher %d died (its instances with it): stopping; "
                 "start the manager again", (int)vt_zyg_pid());
        return -1;
    }
    for (int i = 4; i < n; i++) {
        struct vt_dev *d = &vt.devs[dev[i]];
        if (!p[i].revents || !d->used)
            continue;
        switch (kind[i]) {
        case PF_INST: if (p[i].fd == d->fd) vt_inst_readable(d); break;
        case PF_EVT: if (p[i].fd == d->evfd) vt_ring_event(d); break;
        case PF_LISTEN: if (p[i].fd == d->lfd) vt_sock_accept(d); break;
        case PF_CTRL: if (p[i].fd == d->cfd) vt_sock_ctrl(d); break;
        case PF_CLIENT: if (p[i].fd == d->client) vt_sock_readable(d); break;
        }
    }
    if (p[2].revents & POLLIN)
        vt_ctl_accept();
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        kxs_pump(vt.xs);                 /* a loss shows in kxs_dead: vt_store_check */
    do {
        ev = 0;
        while (kxs_next_event(vt.xs, &path, &tok) == 1) {
            ev = 1;
            free(path);
        }
        if (ev)
            vt_scan();                   /* does nothing once the store is lost */
    } while (ev);
    vt_store_check();
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = { { "rundir", 1, 0, 'r' }, { "log", 1, 0, 'l' },
                                          { "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
    sigset_t ss;
    char err[400];
    int c, sfd, rc;

    klog_init_env("keel-vtpmd", KLOG_INFO);
    while ((c = getopt_long(argc, argv, "r:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': vt.rundir = optarg; break;
        case 'l':
            if (klog_set_level_name(optarg) < 0) {
                vt_usage(stderr);
                return 2;
            }
            break;
        case 'h': vt_usage(stdout); return 0;
        default: vt_usage(stderr); return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    umask(077);
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    if ((sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        klog_err("vtpm", "signalfd: %s", strerror(errno));
        return 1;
    }
    for (int i = 0; i < VT_MAX_DEVS; i++)
        vt.devs[i].fd = vt.devs[i].lfd = vt.devs[i].cfd = vt.devs[i].client =
            vt.devs[i].evfd = -1;
    vt.ctl_fd = -1;
    /* the launcher first: it inherits nothing of what the setup reads or opens */
    if ((rc = vt_zyg_start()) < 0) {
        klog_err("vtpm", "cannot start the instance launcher: %s", strerror(-rc));
        return 1;
    }
    if (vt_setup(err, sizeof(err)) < 0) {
        klog_err("vtpm", "%s", err);
        return 1;
    }
    if (vt_jail(err, sizeof(err)) < 0 || vt_mconfine(err, sizeof(err)) < 0) {
        klog_err("vtpm", "confinement of the manager: %s", err);
        return 1;
    }
    klog_info("vtpm", "serving " VT_BASE "; state in %s; control %s/control; confined "
              "(own mount namespace and root, no capabilities, no_new_privs, seccomp); "
              "instances forked by launcher %d",
              vt.statedir, vt.vtdir, (int)vt_zyg_pid());
    vt_scan();
    vt_ready(1);
    while ((rc = vt_round(sfd)) == 0)
        ;
    vt_ready(0);
    if (rc < 0)
        klog_err("vtpm", "sealing the states and exiting");
    vt_stop_all();
    close(vt.ctl_fd);
    {
        char p[300];
        snprintf(p, sizeof(p), "%s/control", vt.vtdir);
        unlink(p);
    }
    kxs_close(vt.xs);
    kc_close(vt.kc);
    /* leak checking at exit would need ptrace, outside the filter: leave without it */
    fflush(NULL);
    _exit(rc < 0 ? 1 : 0);
}
