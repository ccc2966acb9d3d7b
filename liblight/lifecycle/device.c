/* device.c - the split-driver device sequence through the store, as Xen's toolstack runs it,
 * for disks (class vbd) and vifs: add (frontend, backend and /libxl bookkeeping nodes in one
 * transaction with libxl's permissions, wait for the backend's InitWait, hotplug `add` or
 * `online`), remove (online=0, Closing, wait for Closed, hotplug `remove` or `offline`, nodes
 * removed) and removal of every device at destroy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_int.h"

int kl__dev_timeout(int dflt_ms)
{
    const char *e = getenv("KEEL_DEVICE_TIMEOUT");
    char *end;
    long s;

    if (!e || !*e)
        return dflt_ms;
    s = strtol(e, &end, 10);
    return *end || s < 0 || s > 3600 ? dflt_ms : (int)s * 1000;
}

void kl__dev_paths(struct kl__dev *d, uint32_t domid, uint32_t devid, const char *kind)
{
    const char *cls = !strcmp(kind, "vif") ? "vif" : !strcmp(kind, "vtpm") ? "vtpm" : "vbd";

    d->domid = domid;
    d->devid = devid;
    d->vif = !strcmp(cls, "vif");
    d->vtpm = !strcmp(cls, "vtpm");
    snprintf(d->kind, sizeof(d->kind), "%s", kind);
    snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/%s/%u", domid, cls, devid);
    snprintf(d->be_rel, sizeof(d->be_rel), "backend/%s/%u/%u", kind, domid, devid);
    snprintf(d->be, sizeof(d->be), "/local/domain/0/%s", d->be_rel);
    snprintf(d->bk, sizeof(d->bk), "/libxl/%u/device/%s/%u", domid, cls, devid);
    if (d->vif || d->vtpm)
        snprintf(d->label, sizeof(d->label), "%s %u", cls, devid);
    else
        snprintf(d->label, sizeof(d->label), "disk %u", devid);
}

void kl__dev_bk_path(uint32_t domid, uint32_t key, char *out, size_t len)
{
    snprintf(out, len, "/libxl/%u/device/%s/%u", domid, KL__KEY_CLASS(key), KL__KEY_DEVID(key));
}

static int dir_with_perms(kl_ctx *ctx, uint32_t tx, const char *path, const char *owner,
                          const char *reader)
{
    const char *perms[2] = { owner, reader };
    int rc;

    if ((rc = kl__xs_mkdir(ctx, tx, path)) < 0 || (rc = kl__xs_set_perms(ctx, tx, path, perms, 2)) < 0)
        return kl__err(ctx, rc, "store: %s (permissions %s,%s): %s", path, owner, reader,
                       strerror(-rc));
    return 0;
}

static int write_keys(kl_ctx *ctx, uint32_t tx, const char *dir, int n, const char *const *k,
                      const char *const *v)
{
    char path[256];

    for (int i = 0; i < n; i++) {
        int rc;
        snprintf(path, sizeof(path), "%s/%s", dir, k[i]);
        if ((rc = kl__xs_write(ctx, tx, path, v[i])) < 0)
            return rc;
    }
    return 0;
}

/* A plain key name, or one under a multi-queue directory: queue-<N>/<name>. */
static int extra_name_ok(const char *k)
{
    static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t l = strlen(k), q;

    if (!l || l > 64)
        return 0;
    if (strspn(k, set) == l)
        return 1;
    if (strncmp(k, "queue-", 6) || (q = strspn(k + 6, "0123456789")) == 0 || q > 4 ||
        k[6 + q] != '/')
        return 0;
    k += 7 + q;
    return *k && strspn(k, set) == strlen(k);
}

/* Extra frontend keys (restore: ring-ref*, event-channel, state from the source) must be plain
 * names (or queue-N/name) and may not replace the toolstack's links. */
static int check_extra(kl_ctx *ctx, const struct kl__dev *d, const char *const *x)
{
    static const char *const fixed_vbd[] = { "backend", "backend-id", "virtual-device",
                                             "device-type", "trusted" };
    static const char *const fixed_vif[] = { "backend", "backend-id", "handle", "mac", "trusted",
                                             "mtu" };
    static const char *const fixed_vtpm[] = { "backend", "backend-id", "handle" };
    const char *const *fixed = d->vif ? fixed_vif : d->vtpm ? fixed_vtpm : fixed_vbd;
    size_t nfixed = d->vif ? 6 : d->vtpm ? 3 : 5;

    for (; x && x[0]; x += 2) {
        if (!x[1] || !extra_name_ok(x[0]) || strlen(x[1]) > 512)
            return kl__err(ctx, -EINVAL, "domain %u: %s: bad extra frontend key '%.64s'",
                           d->domid, d->label, x[0]);
        for (size_t i = 0; i < nfixed; i++)
            if (!strcmp(x[0], fixed[i]))
                return kl__err(ctx, -EINVAL, "domain %u: %s: frontend key '%s' is the "
                               "toolstack's", d->domid, d->label, x[0]);
    }
    return 0;
}

static int fill_tx(kl_ctx *ctx, uint32_t tx, const struct kl__dev *d, const char *const *x)
{
    const char *k[KL__DEV_KEYS_MAX], *v[KL__DEV_KEYS_MAX];
    char owner[16], reader[16], path[160];
    int rc;

    snprintf(owner, sizeof(owner), "n%u", d->domid);
    snprintf(reader, sizeof(reader), "r%u", d->domid);
    if ((rc = dir_with_perms(ctx, tx, d->fe, owner, "r0")) < 0 ||
        (rc = dir_with_perms(ctx, tx, d->be, "n0", reader)) < 0)
        return rc;
    for (int i = 0; i < d->nbe; i++)
        k[i] = d->bek[i].k, v[i] = d->bek[i].v;
    if ((rc = write_keys(ctx, tx, d->be, d->nbe, k, v)) < 0)
        return rc;
    for (int i = 0; i < d->nfe; i++)
        k[i] = d->fek[i].k, v[i] = d->fek[i].v;
    if ((rc = write_keys(ctx, tx, d->fe, d->nfe, k, v)) < 0)
        return rc;
    for (int i = 0; i < d->nfe; i++) {       /* keys the guest may read but not change */
        const char *ro[2] = { "n0", reader };
        if (!d->fek[i].ro)
            continue;
        snprintf(path, sizeof(path), "%s/%s", d->fe, d->fek[i].k);
        if ((rc = kl__xs_set_perms(ctx, tx, path, ro, 2)) < 0)
            return kl__err(ctx, rc, "store: %s (permissions n0,%s): %s", path, reader,
                           strerror(-rc));
    }
    for (; x && x[0]; x += 2) {
        if (!strcmp(x[0], "state"))
            continue;                    /* written after the hotplug script: set_fe_state */
        snprintf(path, sizeof(path), "%s/%s", d->fe, x[0]);
        if ((rc = kl__xs_write(ctx, tx, path, x[1])) < 0)
            return rc;
    }
    snprintf(path, sizeof(path), "%s/frontend", d->bk);
    if ((rc = kl__xs_write(ctx, tx, path, d->fe)) < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/backend", d->bk);
    return kl__xs_write(ctx, tx, path, d->be);
}

static int exists(kl_ctx *ctx, const char *path)
{
    char *v = NULL;
    int rc = kl__xs_read(ctx, 0, path, &v);

    free(v);
    return rc == 0;
}

static int write_nodes(kl_ctx *ctx, const struct kl__dev *d, const char *const *x)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        uint32_t tx;
        int rc;
        const char *there = exists(ctx, d->bk) ? d->bk : exists(ctx, d->fe) ? d->fe
                          : exists(ctx, d->be) ? d->be : NULL;
        if (there)
            return kl__err(ctx, -EEXIST, "domain %u: %s: device %u already exists (%s)",
                           d->domid, d->label, d->devid, there);
        if ((rc = kl__xs_tx_start(ctx, &tx)) < 0)
            return rc;
        if ((rc = fill_tx(ctx, tx, d, x)) < 0) {
            char why[sizeof(ctx->err)];
            snprintf(why, sizeof(why), "%s", kl_ctx_error(ctx));
            kl__xs_tx_end(ctx, tx, 0);
            return kl__err(ctx, rc, "domain %u: %s: %s", d->domid, d->label, why);
        }
        rc = kl__xs_tx_end(ctx, tx, 1);
        if (rc != -EAGAIN)
            return rc < 0 ? kl__err(ctx, rc, "domain %u: %s: store commit: %s", d->domid,
                                    d->label, strerror(-rc)) : 0;
    }
    return kl__err(ctx, -EAGAIN, "domain %u: %s: the store transaction kept conflicting",
                   d->domid, d->label);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

void kl__sort_u32(uint32_t *v, int n)
{
    if (n > 1)
        qsort(v, (size_t)n, sizeof(*v), cmp_u32);
}

int kl__xb_state(const char *v)
{
    char *end;
    long s;

    if (!v || !*v)
        return -1;
    s = strtol(v, &end, 10);
    return *end || s < 0 || s > 8 ? -1 : (int)s;
}

static int be_ready(const char *v, void *arg)
{
    int s = kl__xb_state(v);

    (void)arg;
    return s >= 2;                   /* InitWait or later (Closing/Closed: checked after) */
}

static int be_closed(const char *v, void *arg)
{
    (void)arg;
    return !v || kl__xb_state(v) == 6;
}

static int read_state(kl_ctx *ctx, const char *dir)
{
    char path[160], *v = NULL;
    int s;

    snprintf(path, sizeof(path), "%s/state", dir);
    if (kl__xs_read(ctx, 0, path, &v) < 0)
        return -1;
    s = kl__xb_state(v);
    free(v);
    return s;
}

/* After a failed `add`: the script's hotplug-error, or why it did not say. */
static int hotplug_failed(kl_ctx *ctx, const struct kl__dev *d, int status)
{
    char path[160], *msg = NULL, keep[sizeof(ctx->err)];
    int rc = status < 0 ? status : -EIO;

    memcpy(keep, ctx->err, sizeof(keep));
    snprintf(path, sizeof(path), "%s/hotplug-error", d->be);
    if (kl__xs_read(ctx, 0, path, &msg) == 0 && *msg)
        snprintf(keep, sizeof(keep), "%s", msg);
    else if (status > 0)
        snprintf(keep, sizeof(keep), "exit status %d and no hotplug-error", status);
    free(msg);
    /* as libxl: the normal remove, so the backend has closed before its nodes go (a backend
     * writing its Closed state after the removal would create the directory again) */
    kl__dev_remove(ctx, (struct kl__dev *)d, kl__dev_timeout(KL__DESTROY_TIMEOUT_MS), 1);
    return kl__err(ctx, rc, "domain %u: %s: hotplug script %s %s failed: %s", d->domid,
                   d->label, d->script, d->vif ? "online" : "add", keep);
}

/* A restored frontend's state (fe_keys "state"), written once the backend has its target: a
 * backend meets it as a frontend that is already Initialised or Connected and attaches. */
static int set_fe_state(kl_ctx *ctx, const struct kl__dev *d, const char *const *x)
{
    char path[160];
    int rc;

    for (; x && x[0]; x += 2) {
        if (strcmp(x[0], "state"))
            continue;
        snprintf(path, sizeof(path), "%s/state", d->fe);
        if ((rc = kl__xs_write(ctx, 0, path, x[1])) < 0)
            return kl__err(ctx, rc, "domain %u: %s: writing the frontend state %s: %s",
                           d->domid, d->label, x[1], strerror(-rc));
    }
    return 0;
}

int kl__dev_add(kl_ctx *ctx, struct kl__dev *d, const char *const *x)
{
    char path[160], *st = NULL;
    int rc, s;

    if ((rc = check_extra(ctx, d, x)) < 0 || (rc = write_nodes(ctx, d, x)) < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/state", d->be);
    rc = kl__xs_wait(ctx, path, be_ready, NULL, kl__dev_timeout(KL__INIT_TIMEOUT_MS));
    s = read_state(ctx, d->be);
    if (rc < 0 || s > 4) {
        char keep[sizeof(ctx->err)];
        snprintf(keep, sizeof(keep), "%s", rc == -ETIMEDOUT ? "" : kl_ctx_error(ctx));
        kl__dev_remove(ctx, d, 0, 0);
        if (rc == -ETIMEDOUT)
            return kl__err(ctx, rc, "domain %u: %s: the backend did not reach InitWait in %s "
                           "within %d s (is %s running?)", d->domid, d->label, d->be,
                           kl__dev_timeout(KL__INIT_TIMEOUT_MS) / 1000,
                           d->vif ? "keel-netback" : d->vtpm ? "keel-vtpmd" : "keel-blkback");
        return kl__err(ctx, rc < 0 ? rc : -EIO, "domain %u: %s: waiting for the backend: %s",
                       d->domid, d->label, rc < 0 ? keep : "it closed the device");
    }
    rc = d->vtpm ? 0 : kl__hotplug_run(ctx, d, 1, KL__HOTPLUG_TIMEOUT_MS);  /* vtpm: none */
    snprintf(path, sizeof(path), "%s/hotplug-status", d->be);
    if (rc == 0 && !d->vtpm && (kl__xs_read(ctx, 0, path, &st) < 0 || strcmp(st, "connected")))
        rc = 1;                      /* exit 0 without saying connected */
    free(st);
    if (rc)
        return hotplug_failed(ctx, d, rc);
    if ((rc = set_fe_state(ctx, d, x)) < 0) {
        char keep[sizeof(ctx->err)];
        memcpy(keep, ctx->err, sizeof(keep));
        kl__dev_remove(ctx, d, kl__dev_timeout(KL__DYING_TIMEOUT_MS), 1);
        memcpy(ctx->err, keep, sizeof(keep));
    }
    return rc;
}

/* Remove path and then its parents up to (not including) stop while they are empty. */
static void rm_up(kl_ctx *ctx, const char *path, const char *stop)
{
    char p[160];

    snprintf(p, sizeof(p), "%s", path);
    kl__xs_rm(ctx, 0, p);
    for (char *slash; (slash = strrchr(p, '/')) && slash > p;) {
        char *list = NULL;
        size_t len = 0;
        *slash = 0;
        if (!strcmp(p, stop) || strlen(p) <= strlen(stop))
            break;
        if (kl__xs_directory(ctx, 0, p, &list, &len) < 0 || (len && list[0])) {
            free(list);
            break;
        }
        free(list);
        kl__xs_rm(ctx, 0, p);
    }
}

int kl__dev_remove(kl_ctx *ctx, struct kl__dev *d, int timeout_ms, int ran_add)
{
    char path[160], dom[32];
    int s = read_state(ctx, d->be);

    if (s >= 0) {
        uint32_t tx;
        if (kl__xs_tx_start(ctx, &tx) == 0) {
            snprintf(path, sizeof(path), "%s/online", d->be);
            kl__xs_write(ctx, tx, path, "0");
            snprintf(path, sizeof(path), "%s/state", d->be);
            if (s != 6)
                kl__xs_write(ctx, tx, path, "5");
            kl__xs_tx_end(ctx, tx, 1);
        }
        /* a backend that picked the device up closes it; one that never did has nothing */
        snprintf(path, sizeof(path), "%s/state", d->be);
        if (s >= 2 && s != 6 && timeout_ms > 0)
            kl__xs_wait(ctx, path, be_closed, NULL, timeout_ms);
    }
    if (ran_add && !d->vtpm)
        kl__hotplug_run(ctx, d, 0, KL__HOTPLUG_TIMEOUT_MS);
    snprintf(dom, sizeof(dom), "/local/domain/%u", d->domid);
    rm_up(ctx, d->fe, dom);
    rm_up(ctx, d->be, "/local/domain/0/backend");
    snprintf(dom, sizeof(dom), "/libxl/%u", d->domid);
    rm_up(ctx, d->bk, dom);
    return 0;
}
