/* bb_dev.c - one keel-blkback worker process: serves one device. It follows the backend and
 * frontend store directories (watches), runs the backend's side of the xenbus state machine of
 * the device contract (/work/device-contract.md, daemons/blkback/README.md): features and
 * InitWait, the target opened once the hotplug script said connected, the ring attached when the
 * frontend is Initialised (or already Connected: a restarted backend), Closing/Closed on the
 * toolstack's request, a frontend that closes, or a frontend that misbehaves. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bb_confine.h"
#include "bb_int.h"
#include "klog.h"

static int bb_be_read(struct bb_dev *d, const char *key, char **v)
{
    char p[160];

    snprintf(p, sizeof(p), "%s/%s", d->be, key);
    return kxs_read(d->xs, 0, p, v, NULL);
}

static int bb_be_u64(struct bb_dev *d, const char *key, uint64_t max, uint64_t *v)
{
    char p[160];

    snprintf(p, sizeof(p), "%s/%s", d->be, key);
    return kxs_read_u64(d->xs, 0, p, max, v);
}

__attribute__((format(printf, 3, 4)))
static int bb_be_write(struct bb_dev *d, const char *key, const char *fmt, ...)
{
    char p[160], v[256];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    snprintf(p, sizeof(p), "%s/%s", d->be, key);
    if ((rc = kxs_write(d->xs, 0, p, v)) < 0)
        klog_err(d->name, "cannot write %s: %s", p, strerror(-rc));
    return rc;
}

int bb_dev_write_state(struct bb_dev *d, int state)
{
    d->my_state = state;
    klog_debug(d->name, "backend state %d", state);
    return bb_be_write(d, "state", "%d", state);
}

/* The store connection is gone (keel-stored restarted): finish the in-flight requests and exit
 * with BB_EXIT_STORE without touching the device; the daemon, once connected again, starts a
 * new worker that re-attaches at the published rsp_prod, as after a backend restart. */
static void bb_dev_store_lost(struct bb_dev *d)
{
    if (d->store_lost)
        return;
    klog_warn(d->name, "store connection lost: finishing in-flight requests, the daemon starts "
              "a new worker once the store is back");
    d->store_lost = 1;
    d->terminating = 1;
}

void bb_dev_fail(struct bb_dev *d, const char *fmt, ...)
{
    char msg[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (kxs_dead(d->xs)) {
        bb_dev_store_lost(d);            /* not the frontend's fault: leave the device be */
        return;
    }
    if (d->closing)
        return;
    klog_err(d->name, "%s: closing the device", msg);
    d->closing = 1;
    bb_dev_write_state(d, KEEL_XB_CLOSING);
}

static void bb_features(struct bb_dev *d)
{
    bb_be_write(d, "feature-flush-cache", "1");
    bb_be_write(d, "feature-barrier", "1");
    bb_be_write(d, "feature-max-indirect-segments", "%u", BB_MAX_INDIRECT);
    bb_be_write(d, "max-ring-page-order", "%u", BB_MAX_RING_ORDER);
    /* KEEL_BLKBACK_PERSISTENT=0: per-request grants only (tests, measurements) */
    d->persistent_offer = !(getenv("KEEL_BLKBACK_PERSISTENT") &&
                            !strcmp(getenv("KEEL_BLKBACK_PERSISTENT"), "0"));
    bb_be_write(d, "feature-persistent", "%d", d->persistent_offer);
    d->features_done = 1;
}

/* mode, device-type, removable, discard-enable: toolstack keys, still checked. */
static int bb_read_config(struct bb_dev *d)
{
    char *mode = NULL, *dt = NULL;
    uint64_t v;
    int rc = 0;

    if (bb_be_read(d, "mode", &mode) == 0 && strcmp(mode, "r") && strcmp(mode, "w"))
        rc = -EINVAL;
    d->readonly = mode && !strcmp(mode, "r");
    if (rc == 0 && bb_be_read(d, "device-type", &dt) == 0 && strcmp(dt, "disk") &&
        strcmp(dt, "cdrom"))
        rc = -EINVAL;
    d->cdrom = dt && !strcmp(dt, "cdrom");
    d->removable = bb_be_u64(d, "removable", 1, &v) == 0 && v;
    d->discard_enable = !(bb_be_u64(d, "discard-enable", 1, &v) == 0 && v == 0);
    if (rc < 0)
        bb_dev_fail(d, "backend mode '%s' or device-type '%s' not understood", mode ? mode : "",
                    dt ? dt : "");
    free(mode);
    free(dt);
    return rc;
}

/* The hotplug script said connected: open the target and publish its geometry. */
static void bb_open_target(struct bb_dev *d)
{
    char *spec = NULL, err[300];
    int qdisk = !strcmp(d->kind, "qdisk"), rc;

    if (bb_read_config(d) < 0)
        return;
    if (qdisk || bb_be_read(d, "physical-device-path", &spec) < 0) {
        free(spec);
        spec = NULL;
        if (bb_be_read(d, "params", &spec) < 0) {
            bb_dev_fail(d, "no params");
            return;
        }
    }
    if (!qdisk && spec[0] != '/') {
        bb_dev_fail(d, "target '%.200s' is not an absolute path", spec);
        free(spec);
        return;
    }
    rc = bb_target_open(&d->t, qdisk ? BB_TARGET_NBD : BB_TARGET_FILE, spec, d->readonly,
                        bb_ring_io_done, err, sizeof(err));
    if (rc < 0) {
        bb_dev_fail(d, "target %.200s: %s", spec, err);
        free(spec);
        return;
    }
    d->target_open = 1;
    d->geom.sectors = d->t.size / 512u;
    d->geom.max_indirect_segs = BB_MAX_INDIRECT;
    d->geom.discard_gran = 8;
    d->geom.readonly = (uint8_t)d->readonly;
    d->geom.discard = d->discard_enable && d->t.can_discard && !d->readonly;
    bb_be_write(d, "sectors", "%llu", (unsigned long long)d->geom.sectors);
    bb_be_write(d, "info", "%u", (d->readonly ? KEEL_VDISK_READONLY : 0) |
                (d->cdrom ? KEEL_VDISK_CDROM : 0) | (d->removable ? KEEL_VDISK_REMOVABLE : 0));
    bb_be_write(d, "sector-size", "512");
    bb_be_write(d, "physical-sector-size", "%u", d->t.phys_sector);
    bb_be_write(d, "feature-discard", "%d", d->geom.discard);
    if (d->geom.discard) {
        bb_be_write(d, "discard-granularity", "4096");
        bb_be_write(d, "discard-alignment", "0");
        bb_be_write(d, "discard-secure", "0");
    }
    klog_info(d->name, "target %s open %s (%llu sectors%s)", spec,
              d->readonly ? "read-only" : "read-write", (unsigned long long)d->geom.sectors,
              d->t.kind == BB_TARGET_NBD ? ", through qemu-nbd" : d->t.direct ? ", O_DIRECT" : "");
    free(spec);
    /* set up: from now on only the steady state's system calls */
    if (bb_confine_filter(d->t.kind == BB_TARGET_NBD, d->t.nbd_pid, err, sizeof(err)) < 0)
        bb_dev_fail(d, "%s", err);
    else
        klog_debug(d->name, "seccomp filter loaded");
}

/* Look at both directories and take the next step of the state machine. */
static void bb_reconcile(struct bb_dev *d)
{
    uint64_t be_state = 0, fe_state = 0, online = 1;
    char *hp = NULL;
    int rc;

    if (d->closing || d->terminating)
        return;
    rc = bb_be_u64(d, "state", 8, &be_state);
    if (kxs_dead(d->xs))
        return bb_dev_store_lost(d);
    if (rc == -ENOENT) {
        klog_info(d->name, "backend directory removed: stopping");
        d->terminating = 1;
        return;
    }
    if (bb_be_u64(d, "online", 1, &online) == -ENOENT)
        online = 1;
    if ((be_state == KEEL_XB_CLOSING && d->my_state != KEEL_XB_CLOSING) || online == 0 ||
        be_state == KEEL_XB_CLOSED) {
        klog_info(d->name, "closing (backend state %llu, online %llu)",
                  (unsigned long long)be_state, (unsigned long long)online);
        d->closing = 1;
        return;
    }
    if (!d->features_done)
        bb_features(d);
    {
        char p[160];
        snprintf(p, sizeof(p), "%s/state", d->fe);
        rc = kxs_read_u64(d->xs, 0, p, 8, &fe_state);
    }
    if (rc == -EINVAL) {
        bb_dev_fail(d, "frontend state is not a xenbus state");
        return;
    }
    if (rc < 0)
        fe_state = 0;
    if (d->connected && fe_state >= KEEL_XB_CLOSING) {
        d->fe_closing = 1;
        return;
    }
    if (!d->connected && fe_state >= KEEL_XB_CLOSING && d->my_state == KEEL_XB_CONNECTED)
        bb_dev_write_state(d, fe_state == KEEL_XB_CLOSED ? KEEL_XB_CLOSED : KEEL_XB_CLOSING);
    if (!d->connected && fe_state <= KEEL_XB_INITWAIT && d->my_state != KEEL_XB_INITWAIT)
        bb_dev_write_state(d, KEEL_XB_INITWAIT);
    if (!d->connected && fe_state == KEEL_XB_CLOSED && d->my_state == KEEL_XB_CLOSING)
        bb_dev_write_state(d, KEEL_XB_CLOSED);
    if (!d->target_open && bb_be_read(d, "hotplug-status", &hp) == 0) {
        if (!strcmp(hp, "connected"))
            bb_open_target(d);
        else if (!strcmp(hp, "error") && !d->hp_error_logged++)
            klog_info(d->name, "the hotplug script failed: waiting for the toolstack to remove "
                      "the device");
    }
    free(hp);
    hp = NULL;                   /* Remus: mirror to the replicating toolstack (bb_remus.c) */
    bb_be_read(d, "remus", &hp);
    bb_remus_reconcile(d, hp);
    free(hp);
    /* a frontend already Initialised/Connected before the hotplug script ran (a restore, or a
     * toolstack that writes the FE keys first): the toolstack still waits for InitWait before
     * it runs the script. A restarted backend that finds its own state 4 (or any state >= 2)
     * leaves it: it re-attaches once the target is open. */
    if (!d->closing && !d->connected && d->my_state == 0 && be_state < KEEL_XB_INITWAIT &&
        (fe_state == KEEL_XB_INITIALISED || fe_state == KEEL_XB_CONNECTED))
        bb_dev_write_state(d, KEEL_XB_INITWAIT);
    if (d->closing || !d->target_open || d->connected)
        return;
    if (fe_state == KEEL_XB_INITIALISED || fe_state == KEEL_XB_CONNECTED) {
        if (bb_ring_connect(d) == 0) {
            bb_dev_write_state(d, KEEL_XB_CONNECTED);
            bb_ring_kick(d);
        }
    } else if (d->my_state == 0 && be_state != KEEL_XB_INITWAIT) {
        bb_dev_write_state(d, KEEL_XB_INITWAIT);
    }
}

/* Whatever waits for the I/O to drain: disconnecting, closing, terminating. */
static void bb_progress(struct bb_dev *d)
{
    if (d->exit_now)
        return;
    if (d->io_inflight || !(d->closing || d->fe_closing || d->terminating))
        return;
    if (d->connected)
        bb_ring_disconnect(d);
    if (d->fe_closing && !d->closing && !d->terminating) {
        d->fe_closing = 0;
        bb_dev_write_state(d, KEEL_XB_CLOSING);
        klog_info(d->name, "the frontend closed the device: disconnected");
        bb_reconcile(d);
        return;
    }
    if (d->target_open)
        bb_target_close(&d->t);
    d->target_open = 0;
    if (d->closing) {
        bb_dev_write_state(d, KEEL_XB_CLOSED);
        klog_info(d->name, "closed");
    }
    d->exit_now = 1;
}

static int bb_dev_setup(struct bb_dev *d, const char *rundir, int *sfd)
{
    sigset_t ss;
    char *fe = NULL;
    int rc;

    if ((rc = kxs_open(&d->xs, rundir)) < 0) {
        klog_err(d->name, "cannot connect to the store: %s", strerror(-rc));
        return rc;
    }
    if ((rc = kc_open_role(&d->kc, rundir, KC_ROLE_BACKEND)) < 0) {
        klog_err(d->name, "cannot connect to the core: %s", strerror(-rc));
        return rc;
    }
    /* the frontend path is ours to derive; the toolstack's cross-link must agree */
    if (bb_be_read(d, "frontend", &fe) == 0 && strcmp(fe, d->fe)) {
        klog_err(d->name, "backend frontend=%.100s, expected %s: not serving it", fe, d->fe);
        free(fe);
        return -EINVAL;
    }
    free(fe);
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    if ((*sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        return -errno;
    if ((rc = kxs_watch(d->xs, d->be, "be")) < 0 || (rc = kxs_watch(d->xs, d->fe, "fe")) < 0)
        return rc;
    return 0;
}

/* Before sleeping, a connected device looks at its ring and its I/O completions for a short
 * while ($KEEL_BLKBACK_SPIN_US, default 100 us; 0 = never), yielding the CPU between looks so the
 * guest that produces the requests can run: a busy guest's next request or a fast completion is
 * then taken without an event-channel wake-up and a poll() return. 1 if work arrived. */
static int bb_dev_spin(struct bb_dev *d)
{
    static long spin_us = -1;
    struct timespec ts;
    uint64_t end, now;

    if (spin_us < 0) {
        const char *e = getenv("KEEL_BLKBACK_SPIN_US");
        spin_us = e && *e ? strtol(e, NULL, 10) : 100;
        if (spin_us < 0 || spin_us > 1000)
            spin_us = 100;
    }
    if (!spin_us || !d->connected || !d->target_open || d->closing || d->terminating ||
        !d->back.s)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    end = now + (uint64_t)spin_us * 1000u;
    while (now < end) {
        int bad = 0;
        if ((!d->barrier_wait && !d->barrier_active && !d->fe_closing &&
             keel_blkif_back_unconsumed(&d->back, &bad) > 0) || bb_target_ready(&d->t))
            return 1;
        sched_yield();
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    return 0;
}

static int bb_dev_loop(struct bb_dev *d, int sfd)
{
    while (!d->exit_now) {
        struct pollfd p[5] = { { kxs_fd(d->xs), POLLIN, 0 }, { sfd, POLLIN, 0 },
                               { d->connected ? d->evfd : -1, POLLIN, 0 }, { -1, 0, 0 },
                               { bb_remus_pollfd(d), POLLIN, 0 } };
        char *path, *tok;
        int ev = 0;

        if (d->target_open)
            p[3].fd = bb_target_pollfd(&d->t, &p[3].events);
        if (poll(p, 5, kxs_pending(d->xs) || bb_dev_spin(d) ? 0 : -1) < 0 && errno != EINTR)
            return -errno;
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) > 0) {
                klog_info(d->name, "signal %u: finishing in-flight requests and exiting",
                          si.ssi_signo);
                d->terminating = 1;
            }
        }
        if (p[3].fd >= 0 && p[3].revents && bb_target_process(&d->t, p[3].revents) < 0)
            bb_dev_fail(d, "the target connection failed");
        if (p[2].fd >= 0 && (p[2].revents & POLLIN))
            kc_evtchn_ack(d->kc, d->port);
        if (p[4].fd >= 0 && p[4].revents)
            bb_remus_input(d);
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && kxs_pump(d->xs) < 0)
            bb_dev_store_lost(d);
        /* requests made while acting queue more events (our own writes among them): act
         * until the queue stays empty, so nothing waits behind a poll that will not wake */
        for (int round = 0; round < 16; round++) {
            while (kxs_next_event(d->xs, &path, &tok) == 1) {
                ev = 1;
                free(path);
            }
            if (!ev)
                break;
            ev = 0;
            bb_reconcile(d);
            bb_ring_kick(d);
            bb_progress(d);
        }
        if (kxs_dead(d->xs))
            bb_dev_store_lost(d);
        bb_ring_kick(d);
        bb_progress(d);
    }
    return 0;
}

int bb_dev_main(const char *rundir, const char *kind, uint32_t domid, uint32_t devid)
{
    struct bb_dev d;
    int sfd = -1, rc;

    memset(&d, 0, sizeof(d));
    d.evfd = -1;
    bb_remus_init(&d.rm, rundir);
    snprintf(d.kind, sizeof(d.kind), "%s", kind);
    /* per-request grants: copied through bounce pages, or mapped (KEEL_BLKBACK_DATAPATH=map) */
    d.datapath_map = getenv("KEEL_BLKBACK_DATAPATH") &&
                     !strcmp(getenv("KEEL_BLKBACK_DATAPATH"), "map");
    d.domid = domid;
    d.devid = devid;
    snprintf(d.name, sizeof(d.name), "%s %u/%u", kind, domid, devid);
    snprintf(d.be, sizeof(d.be), "/local/domain/0/backend/%s/%u/%u", kind, domid, devid);
    snprintf(d.fe, sizeof(d.fe), "/local/domain/%u/device/vbd/%u", domid, devid);
    if ((rc = bb_dev_setup(&d, rundir, &sfd)) < 0 && (!d.xs || kxs_dead(d.xs)))
        d.store_lost = 1;                /* the store went away under the setup */
    if (rc == 0) {
        bb_reconcile(&d);
        bb_progress(&d);
        rc = bb_dev_loop(&d, sfd);
    }
    if (d.connected)
        bb_ring_disconnect(&d);
    bb_remus_close(&d);
    if (d.target_open)
        bb_target_close(&d.t);
    if (sfd >= 0)
        close(sfd);
    kxs_close(d.xs);
    if (d.kc)
        kc_close(d.kc);
    return d.store_lost ? BB_EXIT_STORE : rc < 0 ? 1 : 0;
}
