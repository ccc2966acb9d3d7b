/* nb_dev.c - one keel-netback worker: the store side of one vif (BE /local/domain/0/backend/vif/
 * <domid>/<devid>, FE /local/domain/<domid>/device/vif/<devid>), its state machine and its event
 * loop. At start it reads and checks the toolstack's keys (mac, ip, rate, mtu, vifname), creates
 * or re-attaches the tap, opens its statistics file and loads its seccomp filter; then it writes
 * the features and InitWait, connects once hotplug-status=connected and the frontend is
 * Initialised/Connected, serves the rings (nb_ring.c) and closes on the toolstack's request, the
 * frontend's close or a fatal frontend error (disabled). See README.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "klog.h"
#include "nb_confine.h"
#include "nb_int.h"
#include "nb_remus.h"

uint64_t nb_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int nb_be_read(struct nb_vif *v, const char *key, char **val)
{
    char p[160];

    snprintf(p, sizeof(p), "%s/%s", v->be, key);
    return kxs_read(v->xs, 0, p, val, NULL);
}

static int nb_be_u64(struct nb_vif *v, const char *key, uint64_t max, uint64_t *val)
{
    char p[160];

    snprintf(p, sizeof(p), "%s/%s", v->be, key);
    return kxs_read_u64(v->xs, 0, p, max, val);
}

/* Writes DIR/KEY = VAL only while DIR exists: the existence check and the write are one
 * transaction (a removal meanwhile makes the commit fail with EAGAIN and we look again), so a
 * directory the toolstack removed is never created again by a late write. -ENOENT: DIR is gone. */
int nb_write_if_present(kxs *xs, const char *dir, const char *key, const char *val)
{
    char p[192];

    snprintf(p, sizeof(p), "%s/%s", dir, key);
    for (int i = 0; i < 16; i++) {
        uint32_t tx;
        char *s = NULL;
        int rc;

        if ((rc = kxs_tx_start(xs, &tx)) < 0)
            return rc;
        rc = kxs_read(xs, tx, dir, &s, NULL);
        free(s);
        if (rc == 0)
            rc = kxs_write(xs, tx, p, val);
        if (rc < 0) {
            kxs_tx_end(xs, tx, 0);
            return rc;
        }
        if ((rc = kxs_tx_end(xs, tx, 1)) != -EAGAIN)
            return rc;
    }
    return -EAGAIN;
}

__attribute__((format(printf, 3, 4)))
static int nb_be_write(struct nb_vif *v, const char *key, const char *fmt, ...)
{
    char val[256];
    va_list ap;
    int rc;

    if (v->be_gone)
        return -ENOENT;
    va_start(ap, fmt);
    vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    rc = nb_write_if_present(v->xs, v->be, key, val);
    if (rc == -ENOENT) {
        klog_info(v->name, "backend directory removed: %s not written", key);
        v->be_gone = 1;
    } else if (rc < 0)
        klog_err(v->name, "cannot write %s/%s: %s", v->be, key, strerror(-rc));
    return rc;
}

int nb_dev_write_state(struct nb_vif *v, int state)
{
    v->my_state = state;
    klog_debug(v->name, "backend state %d", state);
    return nb_be_write(v, "state", "%d", state);
}

/* The store went away: leave the device connected and exit NB_EXIT_STORE (a new worker
 * re-attaches once the daemon is connected again). */
static void nb_dev_store_lost(struct nb_vif *v)
{
    if (v->store_lost)
        return;
    klog_warn(v->name, "store connection lost: the daemon starts a new worker once it is back");
    v->store_lost = 1;
    v->terminating = 1;
}

void nb_dev_fail(struct nb_vif *v, const char *fmt, ...)
{
    char msg[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (kxs_dead(v->xs)) {
        nb_dev_store_lost(v);
        return;
    }
    if (v->closing)
        return;
    klog_err(v->name, "%s: closing the device", msg);
    v->closing = 1;
    nb_dev_write_state(v, KEEL_XB_CLOSING);
}

void nb_dev_disable(struct nb_vif *v, const char *fmt, ...)
{
    char msg[300];
    va_list ap;

    if (v->disabled)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    klog_err(v->name, "%s: disabled", msg);
    v->disabled = 1;
    v->stats_dirty = 1;
}

static void nb_features(struct nb_vif *v)
{
    nb_be_write(v, "feature-sg", "1");
    nb_be_write(v, "feature-gso-tcpv4", "1");
    nb_be_write(v, "feature-gso-tcpv6", "1");
    nb_be_write(v, "feature-ipv6-csum-offload", "1");
    nb_be_write(v, "feature-rx-copy", "1");
    nb_be_write(v, "feature-rx-flip", "0");
    nb_be_write(v, "feature-split-event-channels", "1");
    if (v->persistent_offer)             /* Keel's extension: see nb_pgrant.c */
        nb_be_write(v, "feature-persistent", "1");
    nb_be_write(v, "multi-queue-max-queues", "%u", v->max_queues);
    v->features_done = 1;
}

/* The toolstack's keys: mac (required), ip, rate, mtu, vifname. */
static int nb_read_config(struct nb_vif *v)
{
    char *s = NULL;
    uint64_t x;
    int rc;

    if (nb_be_read(v, "mac", &s) < 0 || nb_parse_mac(s, v->mac) < 0) {
        klog_err(v->name, "backend mac '%.40s' is not a unicast MAC address", s ? s : "(none)");
        free(s);
        return -EINVAL;
    }
    free(s);
    s = NULL;
    if (nb_be_read(v, "ip", &s) == 0 && *s && nb_parse_ips(s, v->ips, &v->nips) < 0) {
        klog_err(v->name, "backend ip '%.100s' is not a list of IPv4 addresses", s);
        free(s);
        return -EINVAL;
    }
    free(s);
    s = NULL;
    if (nb_be_read(v, "rate", &s) == 0 && nb_parse_rate(s, &v->rate_bytes, &v->rate_usecs) < 0) {
        klog_err(v->name, "backend rate '%.60s' is not <bytes>,<usecs>", s);
        free(s);
        return -EINVAL;
    }
    free(s);
    s = NULL;
    v->mtu = 1500;
    if ((rc = nb_be_u64(v, "mtu", 65535, &x)) == 0 && x >= 68)
        v->mtu = (uint32_t)x;
    else if (rc != -ENOENT) {
        klog_err(v->name, "backend mtu is not a number in 68..65535");
        return -EINVAL;
    }
    snprintf(v->ifname, sizeof(v->ifname), "vif%u.%u", v->domid, v->devid);
    if (nb_be_read(v, "vifname", &s) == 0) {
        if (!nb_valid_ifname(s)) {
            klog_err(v->name, "backend vifname '%.40s' is not an interface name", s);
            free(s);
            return -EINVAL;
        }
        snprintf(v->ifname, sizeof(v->ifname), "%s", s);
    }
    free(s);
    return 0;
}

static void nb_reconcile(struct nb_vif *v)
{
    uint64_t be_state = 0, fe_state = 0, online = 1;
    char *hp = NULL, p[160];
    int rc, hp_ok = 0;

    if (v->closing || v->terminating)
        return;
    rc = nb_be_u64(v, "state", 8, &be_state);
    if (kxs_dead(v->xs))
        return nb_dev_store_lost(v);
    if (rc == -ENOENT) {
        klog_info(v->name, "backend directory removed: stopping");
        v->be_gone = 1;                  /* nothing more is written there */
        v->closing = 1;                  /* the tap goes too: nothing is left */
        return;
    }
    if (nb_be_u64(v, "online", 1, &online) == -ENOENT)
        online = 1;
    if (v->disabled) {                   /* Closed already: wait for the toolstack's remove */
        if (online == 0)
            v->closing = 1;
        return;
    }
    if ((be_state == KEEL_XB_CLOSING && v->my_state != KEEL_XB_CLOSING) || online == 0 ||
        be_state == KEEL_XB_CLOSED) {
        klog_info(v->name, "closing (backend state %llu, online %llu)",
                  (unsigned long long)be_state, (unsigned long long)online);
        v->closing = 1;
        return;
    }
    if (!v->features_done)
        nb_features(v);
    snprintf(p, sizeof(p), "%s/state", v->fe);
    rc = kxs_read_u64(v->xs, 0, p, 8, &fe_state);
    if (rc == -EINVAL) {
        nb_dev_fail(v, "frontend state is not a xenbus state");
        return;
    }
    if (rc < 0)
        fe_state = 0;
    if (v->connected && fe_state >= KEEL_XB_CLOSING) {
        v->fe_closing = 1;
        return;
    }
    if (!v->connected && fe_state >= KEEL_XB_CLOSING && v->my_state == KEEL_XB_CONNECTED)
        nb_dev_write_state(v, fe_state == KEEL_XB_CLOSED ? KEEL_XB_CLOSED : KEEL_XB_CLOSING);
    if (!v->connected && fe_state <= KEEL_XB_INITWAIT && v->my_state != KEEL_XB_INITWAIT)
        nb_dev_write_state(v, KEEL_XB_INITWAIT);
    if (!v->connected && fe_state == KEEL_XB_CLOSED && v->my_state == KEEL_XB_CLOSING)
        nb_dev_write_state(v, KEEL_XB_CLOSED);
    if (nb_be_read(v, "hotplug-status", &hp) == 0) {
        hp_ok = !strcmp(hp, "connected");
        if (!strcmp(hp, "error") && !v->hp_error_logged++)
            klog_info(v->name, "the hotplug script failed: waiting for the toolstack to remove "
                      "the device");
    }
    free(hp);
    nb_remus_reconcile(v);               /* Remus output commit (nb_remus.c) */
    /* a frontend Initialised/Connected before we came (a restore, a restarted backend whose
     * state was lost): the toolstack still waits for InitWait before it runs the script */
    if (!v->connected && v->my_state == 0 && be_state < KEEL_XB_INITWAIT &&
        (fe_state == KEEL_XB_INITIALISED || fe_state == KEEL_XB_CONNECTED))
        nb_dev_write_state(v, KEEL_XB_INITWAIT);
    if (v->closing || v->connected || !hp_ok)
        return;
    if (fe_state == KEEL_XB_INITIALISED || fe_state == KEEL_XB_CONNECTED) {
        if (nb_ring_connect(v) == 0)
            nb_dev_write_state(v, KEEL_XB_CONNECTED);
    }
}

static void nb_progress(struct nb_vif *v)
{
    if (v->disabled == 1) {
        /* rings gone, tap deleted, Closed: the worker stays (its statistics readable) until
         * the toolstack removes the device */
        v->disabled = 2;
        v->closing = 0;
        if (v->connected)
            nb_ring_disconnect(v);
        nb_tap_close(v, 1);
        nb_dev_write_state(v, KEEL_XB_CLOSED);
        nb_stats_write(v, 1);
        return;
    }
    if (v->exit_now || !(v->closing || v->fe_closing || v->terminating))
        return;
    if (v->connected)
        nb_ring_disconnect(v);
    if (v->fe_closing && !v->closing && !v->terminating) {
        v->fe_closing = 0;
        nb_dev_write_state(v, KEEL_XB_CLOSING);
        klog_info(v->name, "the frontend closed the device: disconnected");
        nb_reconcile(v);
        return;
    }
    if (v->closing && !v->store_lost) {
        nb_tap_close(v, 1);
        nb_dev_write_state(v, KEEL_XB_CLOSED);
        klog_info(v->name, "closed%s", v->disabled ? " (disabled)" : "");
    }
    nb_stats_write(v, 1);
    v->exit_now = 1;
}

static int nb_dev_setup(struct nb_vif *v, int *sfd)
{
    sigset_t ss;
    char *fe = NULL, err[200];
    int rc;

    if ((rc = kxs_open(&v->xs, v->rundir)) < 0) {
        klog_err(v->name, "cannot connect to the store: %s", strerror(-rc));
        return rc;
    }
    if ((rc = kc_open_role(&v->kc, v->rundir, KC_ROLE_BACKEND)) < 0) {
        klog_err(v->name, "cannot connect to the core: %s", strerror(-rc));
        return rc;
    }
    if (nb_be_read(v, "frontend", &fe) == 0 && strcmp(fe, v->fe)) {
        klog_err(v->name, "backend frontend=%.100s, expected %s: not serving it", fe, v->fe);
        free(fe);
        return -EINVAL;
    }
    free(fe);
    if (nb_read_config(v) < 0) {
        nb_dev_fail(v, "backend configuration refused");
        return 0;                        /* the loop writes Closed */
    }
    if (!(v->txbuf = malloc(NB_TX_BUF)) ||
        !(v->rxbuf = malloc((size_t)NB_RX_BATCH * (sizeof(struct nb_vnet_hdr) + NB_FRAME_MAX))) ||
        !(v->pg = calloc(NB_PG_CAP, sizeof(*v->pg))))
        return -ENOMEM;
    if (nb_tap_open(v, v->max_queues) < 0)
        return 0;                        /* failed and logged: closing */
    nb_stats_open(v);
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    if ((*sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        return -errno;
    if ((rc = kxs_watch(v->xs, v->be, "be")) < 0 || (rc = kxs_watch(v->xs, v->fe, "fe")) < 0)
        return rc;
    /* set up: from now on only the steady state's system calls */
    if (nb_confine_filter(err, sizeof(err)) < 0)
        nb_dev_fail(v, "%s", err);
    else
        klog_debug(v->name, "seccomp filter loaded");
    return 0;
}

static int nb_dev_loop(struct nb_vif *v, int sfd)
{
    while (!v->exit_now) {
        struct pollfd p[3 + 3 * NB_MAX_QUEUES];
        unsigned np = 2, rp;
        int timeout, ev = 0;
        char *path, *tok;

        timeout = nb_ring_work(v);
        if (v->stats_dirty && (timeout < 0 || timeout > 500))
            timeout = 500;
        if (kxs_pending(v->xs) || v->closing || v->fe_closing || v->terminating ||
            v->disabled == 1)
            timeout = 0;
        p[0] = (struct pollfd){ kxs_fd(v->xs), POLLIN, 0 };
        p[1] = (struct pollfd){ sfd, POLLIN, 0 };
        for (unsigned i = 0; v->connected && i < v->nqueues; i++) {
            struct nb_queue *q = &v->q[i];
            p[np++] = (struct pollfd){ q->tx_evfd, POLLIN, 0 };
            p[np++] = (struct pollfd){ q->rx_evfd, POLLIN, 0 };
            p[np++] = (struct pollfd){ nb_ring_rx_room(q, v) ? q->tapfd : -1, POLLIN, 0 };
        }
        rp = np;
        p[np++] = (struct pollfd){ nb_remus_fd(v), POLLIN, 0 };
        if (poll(p, np, timeout) < 0 && errno != EINTR)
            return -errno;
        if (p[rp].fd >= 0 && p[rp].revents)
            nb_remus_input(v);
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) > 0) {
                klog_info(v->name, "signal %u: exiting (the vif stays for a restarted backend)",
                          si.ssi_signo);
                v->terminating = 1;
            }
        }
        for (unsigned i = 0; v->connected && i < v->nqueues; i++) {
            if (p[2 + 3 * i].revents & POLLIN)
                kc_evtchn_ack(v->kc, v->q[i].tx_port);
            if (p[3 + 3 * i].fd >= 0 && (p[3 + 3 * i].revents & POLLIN))
                kc_evtchn_ack(v->kc, v->q[i].rx_port);
        }
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && kxs_pump(v->xs) < 0)
            nb_dev_store_lost(v);
        for (int round = 0; round < 16; round++) {
            while (kxs_next_event(v->xs, &path, &tok) == 1) {
                ev = 1;
                free(path);
            }
            if (!ev)
                break;
            ev = 0;
            nb_reconcile(v);
            nb_progress(v);
        }
        if (kxs_dead(v->xs))
            nb_dev_store_lost(v);
        nb_progress(v);
        nb_stats_write(v, 0);
    }
    return 0;
}

static unsigned nb_max_queues(void)
{
    const char *e = getenv("KEEL_NETBACK_QUEUES");
    long n = e && *e ? strtol(e, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        n = 1;
    if (n > 4 && !(e && *e))
        n = 4;
    return n > (long)NB_MAX_QUEUES ? NB_MAX_QUEUES : (unsigned)n;
}

int nb_dev_main(const char *rundir, uint32_t domid, uint32_t devid)
{
    struct nb_vif v;
    int sfd = -1, rc;

    memset(&v, 0, sizeof(v));
    for (unsigned i = 0; i < NB_MAX_QUEUES; i++) {
        v.q[i].idx = i;
        v.q[i].tapfd = v.q[i].tx_evfd = v.q[i].rx_evfd = -1;
    }
    v.stats_fd = -1;
    v.rundir = rundir;
    v.domid = domid;
    v.devid = devid;
    v.max_queues = nb_max_queues();
    v.persistent_offer = !(getenv("KEEL_NETBACK_PERSISTENT") &&
                           !strcmp(getenv("KEEL_NETBACK_PERSISTENT"), "0"));
    snprintf(v.name, sizeof(v.name), "vif %u/%u", domid, devid);
    snprintf(v.be, sizeof(v.be), "/local/domain/0/backend/vif/%u/%u", domid, devid);
    snprintf(v.fe, sizeof(v.fe), "/local/domain/%u/device/vif/%u", domid, devid);
    if ((rc = nb_dev_setup(&v, &sfd)) < 0 && (!v.xs || kxs_dead(v.xs)))
        v.store_lost = 1;
    if (rc == 0) {
        nb_reconcile(&v);
        nb_progress(&v);
        rc = nb_dev_loop(&v, sfd);
    }
    nb_remus_close(&v, 1);
    if (v.connected)
        nb_ring_disconnect(&v);
    nb_tap_close(&v, 0);
    if (sfd >= 0)
        close(sfd);
    kxs_close(v.xs);
    if (v.kc)
        kc_close(v.kc);
    free(v.txbuf);
    free(v.rxbuf);
    free(v.pg);
    return v.store_lost ? NB_EXIT_STORE : rc < 0 ? 1 : 0;
}
