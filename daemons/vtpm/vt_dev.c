/* vt_dev.c - keel-vtpmd's devices: the backend side of the vtpm device contract
 * (docs/device-vtpm.md) and the tpmif v2 page. A device appears with its BE directory: the
 * instance for its uuid starts (from an imported state when resume=True, else the sealed file,
 * else a new TPM), the manager writes feature-protocol-v2=1 and InitWait; when the frontend is
 * Initialised it maps the page, binds the event channel and goes Connected (ready=1). Each
 * SUBMIT is checked (vt_req.c) before its command reaches the instance; a lie is answered with a
 * TPM error response. online=0 or BE state 5 closes: the command in flight finishes, the state is
 * sealed, the instance stops, the page is unmapped, BE state 6. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "keel/io/tpmif.h"
#include "klog.h"
#include "kvtpm.h"
#include "vt_int.h"
#include "vt_zyg.h"

struct vt_dev *vt_dev_find(uint32_t domid, uint32_t devid)
{
    for (int i = 0; i < VT_MAX_DEVS; i++)
        if (vt.devs[i].used && vt.devs[i].domid == domid && vt.devs[i].devid == devid)
            return &vt.devs[i];
    return NULL;
}

static int vt_be_u64(struct vt_dev *d, const char *key, uint64_t max, uint64_t *v)
{
    char p[160];

    snprintf(p, sizeof(p), "%s/%s", d->be, key);
    return kxs_read_u64(vt.xs, 0, p, max, v);
}

static int vt_read(const char *dir, const char *key, char **v)
{
    char p[160];

    snprintf(p, sizeof(p), "%s/%s", dir, key);
    return kxs_read(vt.xs, 0, p, v, NULL);
}

static void vt_be_write(struct vt_dev *d, const char *key, const char *val)
{
    char p[160];
    int rc;

    snprintf(p, sizeof(p), "%s/%s", d->be, key);
    if ((rc = kxs_write(vt.xs, 0, p, val)) < 0)
        klog_err(d->name, "cannot write %s: %s", p, strerror(-rc));
}

static void vt_be_state(struct vt_dev *d, int st)
{
    char v[4];

    snprintf(v, sizeof(v), "%d", st);
    d->my_state = st;
    vt_be_write(d, "state", v);
}

static void vt_extra_unmap(struct vt_dev *d)
{
    if (d->extra_map)
        kc_gnttab_unmap(vt.kc, d->extra_map, d->extra_n);
    d->extra_map = NULL;
    d->extra_n = 0;
    d->view.n = d->page ? 1 : 0;
}

static void vt_ring_disconnect(struct vt_dev *d)
{
    vt_extra_unmap(d);
    if (d->connected)
        kc_evtchn_close(vt.kc, d->port);
    if (d->page)
        kc_gnttab_unmap(vt.kc, d->page, 1);
    d->page = NULL;
    d->view.n = 0;
    d->connected = 0;
    d->evfd = -1;
    d->guest_pending = 0;
    d->cancelled = 0;
}

__attribute__((format(printf, 2, 3)))
static void vt_dev_fail(struct vt_dev *d, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (kxs_dead(vt.xs) || !vt_zyg_alive()) {
        /* the store went away (a read failed), or the instance launcher did (the manager
         * stops): not the device's fault. A device being opened is dropped (the rescan after
         * the reconnection, or a restarted manager, opens it again); one already open stays
         * as it is. */
        klog_warn(d->name, "%s: the %s went away meanwhile; tried again once it is back", msg,
                  vt_zyg_alive() ? "store" : "instance launcher");
        if (!d->my_state) {
            vt_inst_stop(d);
            vt_ring_disconnect(d);
            vt_sock_close(d);
            free(d->perm);
            memset(d, 0, sizeof(*d));
            d->fd = d->lfd = d->cfd = d->client = d->evfd = -1;
        }
        return;
    }
    klog_err(d->name, "%s: device closed (state 6)", msg);
    vt_inst_stop(d);
    vt_ring_disconnect(d);
    vt_sock_close(d);
    d->closed = 1;
    vt_be_state(d, KEEL_XB_CLOSED);
}

void vt_dev_close(struct vt_dev *d, int save)
{
    uint8_t *st = NULL;
    uint32_t len = 0, pl;

    if (d->closed)
        return;
    if (save && d->fd >= 0 && !d->frozen && !d->released &&
        vt_inst_getstate(d, &st, &len) == 0) {
        memcpy(&pl, st, 4);
        if (pl && (uint64_t)pl + 8 <= len) {
            char err[300];
            if (vt_state_save(vt.statedir, vt.key, d->uuid, st + 8, pl, err, sizeof(err)) < 0)
                klog_err(d->name, "state of %s NOT saved at close: %s", d->uuid, err);
            else
                klog_info(d->name, "state of %s sealed at close (%u bytes)", d->uuid, pl);
        }
        free(st);
    }
    vt_inst_stop(d);
    vt_ring_disconnect(d);
    vt_sock_close(d);
    d->closed = 1;
    vt_be_state(d, KEEL_XB_CLOSED);
    klog_info(d->name, "closed");
}

static void vt_dev_forget(struct vt_dev *d)
{
    char fe[96];

    if (!d->closed) {
        /* the toolstack removed the nodes without the close sequence: save, do not write */
        if (d->fd >= 0 && !d->frozen && !d->released) {
            uint8_t *st = NULL;
            uint32_t len = 0, pl;
            if (vt_inst_getstate(d, &st, &len) == 0) {
                memcpy(&pl, st, 4);
                if (pl && (uint64_t)pl + 8 <= len)
                    vt_state_save(vt.statedir, vt.key, d->uuid, st + 8, pl, NULL, 0);
            }
            free(st);
        }
        vt_inst_stop(d);
        vt_ring_disconnect(d);
        vt_sock_close(d);
    }
    snprintf(fe, sizeof(fe), "%s", d->fe);
    kxs_unwatch(vt.xs, fe, "fe");
    klog_info(d->name, "backend directory removed: forgotten");
    free(d->perm);
    vt_inst_drop_cache(d);
    memset(d, 0, sizeof(*d));
    d->fd = d->lfd = d->cfd = d->client = d->evfd = -1;
}

/* The starting state: an import for this device (resume=True), else the sealed file. */
static int vt_dev_start(struct vt_dev *d, int resume)
{
    uint8_t *perm = NULL;
    size_t plen = 0;
    char err[400];
    int rc;

    if (resume) {
        for (unsigned i = 0; i < sizeof(vt.imports) / sizeof(vt.imports[0]); i++) {
            struct vt_import *im = &vt.imports[i];
            struct kvtpm_blob_hdr h;
            if (!im->used || im->domid != d->domid || im->devid != d->devid)
                continue;
            if (strcmp(im->uuid, d->uuid)) {
                klog_err(d->name, "imported state is of uuid %s, the device's is %s: ignored",
                         im->uuid, d->uuid);
                continue;
            }
            memcpy(&h, im->blob, sizeof(h));
            rc = vt_inst_start(d, im->blob + sizeof(h), h.perm_len,
                               im->blob + sizeof(h) + h.perm_len, h.vol_len);
            if (rc == 0) {
                d->started = h.vol_len > 0;
                free(d->perm);           /* what the start sealed: the same bytes */
                d->perm_len = 0;
                if ((d->perm = malloc(h.perm_len))) {
                    memcpy(d->perm, im->blob + sizeof(h), h.perm_len);
                    d->perm_len = h.perm_len;
                }
            }
            free(im->blob);
            memset(im, 0, sizeof(*im));
            return rc;
        }
        klog_warn(d->name, "resume=True but no state was imported: starting from the sealed "
                  "file");
    }
    rc = vt_state_load(vt.statedir, vt.key, d->uuid, &perm, &plen, err, sizeof(err));
    if (rc < 0 && rc != -ENOENT) {
        vt_dev_fail(d, "vTPM %s: %s", d->uuid, err);
        return rc;
    }
    rc = vt_inst_start(d, perm, (uint32_t)plen, NULL, 0);
    if (rc == 0 && perm) {
        free(d->perm);                   /* what the start sealed, if it stored at init */
        d->perm = perm;
        d->perm_len = (uint32_t)plen;
        perm = NULL;
    }
    free(perm);
    if (rc < 0)
        vt_dev_fail(d, "vTPM %s: the instance did not start", d->uuid);
    return rc;
}

static int vt_uuid_busy(struct vt_dev *self)
{
    for (int i = 0; i < VT_MAX_DEVS; i++) {
        struct vt_dev *o = &vt.devs[i];
        if (o != self && o->used && !o->closed && !o->frozen && !o->released &&
            !strcmp(o->uuid, self->uuid))
            return 1;
    }
    return 0;
}

static void vt_dev_open(struct vt_dev *d)
{
    char *v = NULL;
    int resume = 0;
    uint64_t be_state = 0;

    vt_be_u64(d, "state", 8, &be_state);
    if (vt_read(d->be, "frontend", &v) == 0 && strcmp(v, d->fe)) {
        vt_dev_fail(d, "backend frontend=%.100s, expected %s", v, d->fe);
        free(v);
        return;
    }
    free(v);
    v = NULL;
    if (vt_read(d->be, "uuid", &v) < 0 || vt_uuid_norm(v, d->uuid) < 0) {
        vt_dev_fail(d, "backend uuid '%.60s' missing or not a uuid", v ? v : "");
        free(v);
        return;
    }
    free(v);
    v = NULL;
    if (vt_uuid_busy(d)) {
        vt_dev_fail(d, "vTPM %s is already in use by another running device", d->uuid);
        return;
    }
    if (vt_read(d->be, "resume", &v) == 0)
        resume = !strcmp(v, "True") || !strcmp(v, "1");
    free(v);
    if (vt_dev_start(d, resume) < 0)
        return;
    /* a restarted manager finds its device Connected: the guest had started its TPM */
    if (be_state == KEEL_XB_CONNECTED && !d->started) {
        d->started = 1;
        vt_inst_startup(d);
        klog_info(d->name, "re-attaching: TPM2_Startup(CLEAR) sent for the guest");
    }
    if (vt_sock_open(d) < 0)
        klog_warn(d->name, "no tpm2-tools socket");
    kxs_watch(vt.xs, d->fe, "fe");
    vt_be_write(d, "feature-protocol-v2", "1");
    if (be_state != KEEL_XB_CONNECTED)
        vt_be_state(d, KEEL_XB_INITWAIT);
    else
        d->my_state = KEEL_XB_CONNECTED;
}

static void vt_ring_connect(struct vt_dev *d)
{
    uint64_t ref, evtchn;
    char *v = NULL, p[160];
    int16_t st = 0;
    int rc;

    if (vt_read(d->fe, "feature-protocol-v2", &v) < 0 || strcmp(v, "1")) {
        free(v);
        vt_dev_fail(d, "frontend without feature-protocol-v2=1");
        return;
    }
    free(v);
    snprintf(p, sizeof(p), "%s/ring-ref", d->fe);
    if (kxs_read_u64(vt.xs, 0, p, UINT32_MAX, &ref) < 0) {
        vt_dev_fail(d, "frontend ring-ref missing or not a number");
        return;
    }
    snprintf(p, sizeof(p), "%s/event-channel", d->fe);
    if (kxs_read_u64(vt.xs, 0, p, UINT32_MAX, &evtchn) < 0) {
        vt_dev_fail(d, "frontend event-channel missing or not a number");
        return;
    }
    uint32_t r32 = (uint32_t)ref;
    if (!(d->page = kc_gnttab_map(vt.kc, d->domid, &r32, 1, 1, &st))) {
        vt_dev_fail(d, "ring-ref %u does not map (status %d)", r32, st);
        return;
    }
    if ((rc = kc_evtchn_bind_interdomain(vt.kc, d->domid, (uint32_t)evtchn, &d->port)) < 0) {
        kc_gnttab_unmap(vt.kc, d->page, 1);
        d->page = NULL;
        vt_dev_fail(d, "event-channel %llu does not bind: %s", (unsigned long long)evtchn,
                    strerror(-rc));
        return;
    }
    d->evfd = kc_evtchn_fd(vt.kc, d->port);
    d->connected = 1;
    d->view.pg[0] = d->page;
    d->view.n = 1;
    vt_be_write(d, "ready", "1");
    vt_be_state(d, KEEL_XB_CONNECTED);
    klog_info(d->name, "connected (ring-ref %u, event channel %llu, port %u)", r32,
              (unsigned long long)evtchn, d->port);
    vt_ring_event(d);                    /* a command submitted before a manager restart */
}

void vt_dev_reconcile(struct vt_dev *d)
{
    uint64_t be_state = 0, fe_state = 0, online = 1;
    char p[160];
    int rc;

    if (vt_store_lost())
        return;                          /* nothing to learn from a dead connection */
    rc = vt_be_u64(d, "state", 8, &be_state);
    if (rc == -ENOENT) {
        vt_dev_forget(d);
        return;
    }
    if (d->closed)
        return;
    if (vt_be_u64(d, "online", 1, &online) == -ENOENT)
        online = 1;
    if (online == 0 || (be_state == KEEL_XB_CLOSING && d->my_state != KEEL_XB_CLOSING) ||
        (be_state == KEEL_XB_CLOSED && d->my_state != KEEL_XB_CLOSED)) {
        klog_info(d->name, "closing (backend state %llu, online %llu)",
                  (unsigned long long)be_state, (unsigned long long)online);
        vt_dev_close(d, 1);
        return;
    }
    snprintf(p, sizeof(p), "%s/state", d->fe);
    if (kxs_read_u64(vt.xs, 0, p, 8, &fe_state) < 0)
        fe_state = 0;
    if (d->connected && fe_state >= KEEL_XB_CLOSING) {
        klog_info(d->name, "the frontend closes (state %llu): disconnected",
                  (unsigned long long)fe_state);
        vt_ring_disconnect(d);
        vt_be_state(d, KEEL_XB_CLOSING);
        return;
    }
    if (!d->connected && fe_state == KEEL_XB_CLOSED && d->my_state == KEEL_XB_CLOSING)
        vt_be_state(d, KEEL_XB_CLOSED);
    if (!d->connected && fe_state <= KEEL_XB_INITWAIT && d->my_state != KEEL_XB_INITWAIT &&
        d->my_state != 0)
        vt_be_state(d, KEEL_XB_INITWAIT);
    if (!d->connected && (fe_state == KEEL_XB_INITIALISED || fe_state == KEEL_XB_CONNECTED))
        vt_ring_connect(d);
}

static int vt_num(const char *s, uint32_t max, uint32_t *out)
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

static void vt_consider(uint32_t domid, uint32_t devid)
{
    struct vt_dev *d = vt_dev_find(domid, devid);
    char p[128];
    uint64_t st = 0;

    if (d) {
        vt_dev_reconcile(d);
        return;
    }
    snprintf(p, sizeof(p), VT_BASE "/%u/%u/state", domid, devid);
    if (kxs_read_u64(vt.xs, 0, p, 8, &st) < 0 || st == 0 || st >= KEEL_XB_CLOSING)
        return;
    for (int i = 0; i < VT_MAX_DEVS && !d; i++)
        if (!vt.devs[i].used)
            d = &vt.devs[i];
    if (!d) {
        klog_err("vtpm", "vtpm %u/%u: too many devices (%d)", domid, devid, VT_MAX_DEVS);
        return;
    }
    memset(d, 0, sizeof(*d));
    d->used = 1;
    d->fd = d->lfd = d->cfd = d->client = d->evfd = -1;
    d->domid = domid;
    d->devid = devid;
    snprintf(d->name, sizeof(d->name), "vtpm %u/%u", domid, devid);
    snprintf(d->be, sizeof(d->be), VT_BASE "/%u/%u", domid, devid);
    snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/vtpm/%u", domid, devid);
    vt_dev_open(d);
    if (d->used && !d->closed)
        vt_dev_reconcile(d);
}

void vt_scan(void)
{
    char **doms = NULL, **devs = NULL, p[96];
    unsigned nd = 0, nv = 0;

    if (vt_store_lost())
        return;
    if (kxs_directory(vt.xs, 0, VT_BASE, &doms, &nd) >= 0) {
        for (unsigned i = 0; i < nd; i++) {
            uint32_t domid, devid;
            if (vt_num(doms[i], 0x7fef, &domid) < 0 || domid == 0)
                continue;
            snprintf(p, sizeof(p), VT_BASE "/%u", domid);
            if (kxs_directory(vt.xs, 0, p, &devs, &nv) < 0)
                continue;
            for (unsigned k = 0; k < nv; k++)
                if (vt_num(devs[k], 0xffff, &devid) == 0)
                    vt_consider(domid, devid);
            free(devs);
        }
        free(doms);
    }
    /* devices whose directory went away */
    for (int i = 0; i < VT_MAX_DEVS; i++)
        if (vt.devs[i].used)
            vt_dev_reconcile(&vt.devs[i]);
}

void vt_dev_resync(struct vt_dev *d)
{
    uint64_t st = 0;
    char v[4];

    if (!d->used || !d->my_state)
        return;
    if (!d->closed)
        kxs_watch(vt.xs, d->fe, "fe");
    if (vt_be_u64(d, "state", 8, &st) < 0)
        return;                          /* gone: the rescan forgets the device */
    /* the store is behind us (a write while it was away, or lost with it). A Closing the
     * toolstack wrote is its request and stays (the rescan acts on it), unless we are done. */
    if (st != (uint64_t)d->my_state && (d->closed || st < KEEL_XB_CLOSING)) {
        klog_info(d->name, "the store had backend state %llu, ours is %d: written again",
                  (unsigned long long)st, d->my_state);
        snprintf(v, sizeof(v), "%d", d->my_state);
        vt_be_write(d, "state", v);
    }
}

static void vt_notify(struct vt_dev *d)
{
    if (d->connected)
        kc_evtchn_notify(vt.kc, d->port);
}

/* Answer the guest's command (or the rejection of it) and give the page back. */
static void vt_guest_answer(struct vt_dev *d, const uint8_t *resp, uint32_t len)
{
    if (!d->connected)
        return;
    if (d->cancelled) {
        d->cancelled = 0;
        __atomic_store_n(d->page + 4, KEEL_TPMIF_STATE_IDLE, __ATOMIC_RELEASE);
    } else if (vt_resp_put(&d->view, d->req.off, resp, len) < 0) {
        uint8_t e[10];
        klog_warn(d->name, "response of %u bytes does not fit the pages: TPM_RC_FAILURE", len);
        vt_err_resp(e, VT_RC_FAILURE);
        vt_resp_put(&d->view, d->req.off, e, 10);
    }
    vt_extra_unmap(d);
    vt_notify(d);
}

void vt_deliver(struct vt_dev *d, int src, const uint8_t *resp, uint32_t len)
{
    if (src == VT_SRC_GUEST)
        vt_guest_answer(d, resp, len);
    else if (src == VT_SRC_SOCK)
        vt_sock_answer(d, resp, len);
}

static void vt_take_submit(struct vt_dev *d)
{
    uint8_t e[10];

    vt_req_header(d->page, &d->req);
    if (!d->req.rc && d->req.nr_extra) {
        int16_t st[VT_MAX_EXTRA] = { 0 };
        d->extra_map = kc_gnttab_map(vt.kc, d->domid, d->req.extra, d->req.nr_extra, 1, st);
        if (!d->extra_map) {
            d->req.rc = VT_RC_FAILURE;
            d->req.why = "the extra pages' grants do not map";
        } else {
            d->extra_n = d->req.nr_extra;
            for (unsigned i = 0; i < d->extra_n; i++)
                d->view.pg[1 + i] = (uint8_t *)d->extra_map + (size_t)i * VT_PAGE;
            d->view.n = 1 + d->extra_n;
        }
    }
    vt_req_fetch(&d->view, &d->req, d->gcmd);
    if (d->req.rc) {
        if (d->rejects++ < VT_LOG_REJECTS)
            klog_warn(d->name, "command rejected: %s (length %u, nr_extra_pages %u, locality "
                      "%u): TPM error 0x%x", d->req.why, d->req.len, d->req.nr_extra,
                      d->req.locality, d->req.rc);
        vt_err_resp(e, d->req.rc);
        vt_guest_answer(d, e, 10);
        return;
    }
    d->guest_pending = 1;
    vt_kick(d);
}

void vt_ring_event(struct vt_dev *d)
{
    uint8_t state;

    if (d->evfd >= 0)
        kc_evtchn_ack(vt.kc, d->port);
    if (!d->connected)
        return;
    state = __atomic_load_n(d->page + 4, __ATOMIC_ACQUIRE);
    if (state == KEEL_TPMIF_STATE_SUBMIT) {
        if (!d->guest_pending && d->busy != VT_SRC_GUEST)
            vt_take_submit(d);
    } else if (state == KEEL_TPMIF_STATE_CANCEL) {
        if (d->busy == VT_SRC_GUEST) {
            d->cancelled = 1;            /* answered IDLE when the instance is done */
            return;
        }
        d->guest_pending = 0;
        vt_extra_unmap(d);
        __atomic_store_n(d->page + 4, KEEL_TPMIF_STATE_IDLE, __ATOMIC_RELEASE);
        vt_notify(d);
    }
}

void vt_stop_all(void)
{
    for (int i = 0; i < VT_MAX_DEVS; i++) {
        struct vt_dev *d = &vt.devs[i];
        if (!d->used)
            continue;
        /* a manager stopping (SIGTERM) leaves the devices connected for its successor: the
         * instance finishes its command, the state is sealed, nothing is written to the store */
        if (d->fd >= 0 && !d->frozen && !d->released && !d->closed) {
            uint8_t *st = NULL;
            uint32_t len = 0, pl;
            if (vt_inst_getstate(d, &st, &len) == 0) {
                memcpy(&pl, st, 4);
                if (pl && (uint64_t)pl + 8 <= len)
                    vt_state_save(vt.statedir, vt.key, d->uuid, st + 8, pl, NULL, 0);
            }
            free(st);
        }
        vt_inst_stop(d);
        vt_ring_disconnect(d);
        vt_sock_close(d);
    }
}
