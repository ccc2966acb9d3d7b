/* device_vtpm.c - vTPMs (class vtpm, docs/device-vtpm.md): from a kl_device_vtpm (a vtpm=
 * entry or a vtpm-attach spec) to the contract's store keys (uuid and resume on the backend, no
 * hotplug script), kl_vtpm_add (the next free devid, a new uuid when none is given, a uuid in
 * use by another vtpm of this host refused; recorded in the domain's stored configuration),
 * kl_vtpm_list, kl_vtpm_remove (by devid or uuid) and the vtpms of a configuration at
 * create/restore (a restore imports each vtpm's state from the stream into keel-vtpmd first). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/guest.h"
#include "kvtpm.h"
#include "lc_int.h"

#define BE(key, ...) (d->bek[d->nbe].k = (key), \
                      snprintf(d->bek[d->nbe].v, sizeof(d->bek[0].v), __VA_ARGS__), d->nbe++)
#define FE(key, ...) (d->fek[d->nfe].k = (key), d->fek[d->nfe].ro = 0, \
                      snprintf(d->fek[d->nfe].v, sizeof(d->fek[0].v), __VA_ARGS__), d->nfe++)

#define VTPM_MAX_DEVID 65535

static int read_str(kl_ctx *ctx, const char *dir, const char *key, char *out, size_t len)
{
    char path[200], *v = NULL;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    out[0] = 0;
    if ((rc = kl__xs_read(ctx, 0, path, &v)) < 0)
        return rc;
    snprintf(out, len, "%s", v);
    free(v);
    return 0;
}

static int read_int(kl_ctx *ctx, const char *dir, const char *key, long max)
{
    char v[32], *end;
    long x;

    if (read_str(ctx, dir, key, v, sizeof(v)) < 0 || !v[0])
        return -1;
    x = strtol(v, &end, 10);
    return *end || x < 0 || x > max ? -1 : (int)x;
}

/* The uuid of a vtpm from its backend (must parse as a uuid), lower case. */
static int be_uuid(kl_ctx *ctx, const struct kl__dev *d, char out[KL_UUID_STRLEN])
{
    char v[64];
    kl_uuid u;

    if (read_str(ctx, d->be, "uuid", v, sizeof(v)) < 0 || kl_uuid_from_string(&u, v)) {
        out[0] = 0;
        return -1;
    }
    kl_uuid_to_string(&u, out);
    return 0;
}

static void info_of(kl_ctx *ctx, const struct kl__dev *d, kl_vtpminfo *o)
{
    memset(o, 0, sizeof(*o));
    o->devid = d->devid;
    o->frontend_id = d->domid;
    be_uuid(ctx, d, o->uuid);
    o->backend_state = read_int(ctx, d->be, "state", 8);
    o->frontend_state = read_int(ctx, d->fe, "state", 8);
    o->evtch = read_int(ctx, d->fe, "event-channel", 1 << 30);
    o->ring_ref = read_int(ctx, d->fe, "ring-ref", INT32_MAX);
    snprintf(o->backend, sizeof(o->backend), "%s", d->be);
    snprintf(o->frontend, sizeof(o->frontend), "%s", d->fe);
}

int kl_vtpm_list(kl_ctx *ctx, uint32_t domid, kl_vtpminfo **out)
{
    uint32_t *ids;
    kl_dominfo di;
    int n, k = 0;

    *out = NULL;
    if ((n = kl_domain_info(ctx, domid, &di)) < 0)
        return n;
    n = kl__dev_ids(ctx, domid, &ids);
    kl__sort_u32(ids, n);
    if (!(*out = calloc((size_t)n + 1, sizeof(**out)))) {
        free(ids);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        struct kl__dev d;
        if (KL__KEY_IS_VTPM(ids[i]) && kl__dev_load(ctx, domid, ids[i], &d) == 0)
            info_of(ctx, &d, &(*out)[k++]);
    }
    free(ids);
    ctx->err[0] = 0;
    return k;
}

/* Another vtpm of this host (any domain but skip's devid) with this uuid: its domain, or -1. */
static int uuid_in_use(kl_ctx *ctx, const char *uuid, uint32_t skip_dom, int skip_devid)
{
    kl_dominfo *doms;
    int n = kl_domain_list(ctx, &doms), owner = -1;

    for (int i = 0; i < n && owner < 0; i++) {
        kl_vtpminfo *l;
        int m = kl_vtpm_list(ctx, doms[i].domid, &l);
        for (int j = 0; j < m && owner < 0; j++)
            if (!strcmp(l[j].uuid, uuid) &&
                !(doms[i].domid == skip_dom && (int)l[j].devid == skip_devid))
                owner = (int)doms[i].domid;
        free(l);
    }
    free(doms);
    ctx->err[0] = 0;
    return owner;
}

static int next_devid(kl_ctx *ctx, uint32_t domid)
{
    uint32_t *ids;
    int n = kl__dev_ids(ctx, domid, &ids), next = 0;

    for (int i = 0; i < n; i++)
        if (KL__KEY_IS_VTPM(ids[i]) && (int)KL__KEY_DEVID(ids[i]) >= next)
            next = (int)KL__KEY_DEVID(ids[i]) + 1;
    free(ids);
    return next;
}

/* What Keel can serve: backend Domain-0 only, a guest frontend, a devid in range. */
static int check_vtpm(kl_ctx *ctx, uint32_t domid, const kl_device_vtpm *t, const char *what)
{
    const char *bn = t->backend_domname;

    if (domid == 0)
        return kl__err(ctx, -EINVAL, "%s: Domain-0 takes no vTPM frontend", what);
    if (t->backend_domid != 0 || (bn && strcmp(bn, "0") && strcmp(bn, "Domain-0")))
        return kl__err(ctx, -ENOTSUP, "%s: backend=%s: driver domains are not supported (the "
                       "vTPM manager keel-vtpmd runs in Domain-0)", what, bn ? bn : "?");
    if (t->devid > VTPM_MAX_DEVID)
        return kl__err(ctx, -EINVAL, "%s: devid %d is out of range (0 to %d)", what, t->devid,
                       VTPM_MAX_DEVID);
    if (kl_uuid_is_nil(&t->uuid))
        return kl__err(ctx, -EINVAL, "%s: no uuid", what);
    return 0;
}

static int vtpm_prepare(kl_ctx *ctx, uint32_t domid, const kl_device_vtpm *t, int resume,
                        struct kl__dev *d)
{
    char what[48], uuid[KL_UUID_STRLEN];
    kl_dominfo info;
    int rc, owner;

    memset(d, 0, sizeof(*d));
    snprintf(what, sizeof(what), "domain %u: vtpm %d", domid, t->devid);
    if ((rc = check_vtpm(ctx, domid, t, what)) < 0 || (rc = kl_domain_info(ctx, domid, &info)) < 0)
        return rc;
    kl_uuid_to_string(&t->uuid, uuid);
    /* a restore may meet its own source on this host (a local migration): the manager, which
     * was given the state, decides there */
    if (!resume && (owner = uuid_in_use(ctx, uuid, domid, t->devid)) >= 0)
        return kl__err(ctx, -EEXIST, "%s: uuid %s is the vTPM of domain %d already (one TPM "
                       "serves one domain)", what, uuid, owner);
    kl__dev_paths(d, domid, (uint32_t)t->devid, "vtpm");
    BE("frontend", "%s", d->fe);
    BE("frontend-id", "%u", domid);
    BE("online", "1");
    BE("state", "1");
    BE("handle", "%d", t->devid);
    BE("uuid", "%s", uuid);
    BE("resume", "%s", resume ? "True" : "False");
    FE("backend", "%s", d->be);
    FE("backend-id", "0");
    FE("state", "1");
    FE("handle", "%d", t->devid);
    return 0;
}

/* Keep the stored configuration in step: the vtpm with devid replaced by t, or dropped. */
static void record(kl_ctx *ctx, uint32_t domid, int devid, const kl_device_vtpm *t)
{
    kl_domain_config dc;
    int keep = 0;

    kl_domain_config_init(&dc);
    if (kl_domain_get_config(ctx, domid, &dc) == 0) {
        kl_device_vtpm *nv = calloc((size_t)dc.num_vtpms + 1, sizeof(*nv));
        for (int i = 0; nv && i < dc.num_vtpms; i++) {
            if (dc.vtpms[i].devid == devid) {
                kl_device_vtpm_dispose(&dc.vtpms[i]);
                continue;
            }
            nv[keep++] = dc.vtpms[i];
        }
        if (nv && t) {
            kl_device_vtpm_init(&nv[keep]);
            kl_device_vtpm_copy(&nv[keep++], t);
        }
        if (nv) {
            free(dc.vtpms);
            dc.vtpms = nv;
            dc.num_vtpms = keep;
            kl__userdata_store(ctx, domid, &dc);
        }
    }
    kl_domain_config_dispose(&dc);
}

int kl_vtpm_add(kl_ctx *ctx, uint32_t domid, kl_device_vtpm *vtpm, const kl_vtpm_add_opts *o)
{
    struct kl__dev d;
    int rc;

    ctx->err[0] = 0;
    if (vtpm->devid < 0)
        vtpm->devid = next_devid(ctx, domid);
    if (kl_uuid_is_nil(&vtpm->uuid))
        kl_uuid_generate(&vtpm->uuid);
    if (!vtpm->backend_domname && !(vtpm->backend_domname = strdup("0")))
        return kl__err(ctx, -ENOMEM, "out of memory");
    if ((rc = vtpm_prepare(ctx, domid, vtpm, o && (o->flags & KL_VTPM_RESUME), &d)) < 0 ||
        (rc = kl__dev_add(ctx, &d, o ? o->fe_keys : NULL)) < 0)
        return rc;
    if (!o || !(o->flags & KL_VTPM_NO_RECORD))
        record(ctx, domid, vtpm->devid, vtpm);
    return 0;
}

/* dev: a devid (decimal) or a uuid; the devid of the domain's vtpm, or -ENODEV. */
static int find_vtpm(kl_ctx *ctx, uint32_t domid, const char *dev, uint32_t *devid)
{
    kl_vtpminfo *l;
    kl_uuid want;
    char ws[KL_UUID_STRLEN], *end;
    int n, is_uuid = kl_uuid_from_string(&want, dev) == 0, found = -ENODEV;
    unsigned long v = 0;

    if (is_uuid)
        kl_uuid_to_string(&want, ws);
    else if ((v = strtoul(dev, &end, 10), !*dev || *end || v > VTPM_MAX_DEVID))
        return kl__err(ctx, -EINVAL, "domain %u: '%.40s' is neither a device number nor a uuid",
                       domid, dev);
    if ((n = kl_vtpm_list(ctx, domid, &l)) < 0)
        return n;
    for (int i = 0; i < n && found < 0; i++)
        if (is_uuid ? !strcmp(l[i].uuid, ws) : l[i].devid == v) {
            *devid = l[i].devid;
            found = 0;
        }
    free(l);
    return found < 0 ? kl__err(ctx, -ENODEV, "domain %u has no vtpm %s", domid, dev) : 0;
}

int kl_vtpm_remove(kl_ctx *ctx, uint32_t domid, const char *dev, unsigned flags)
{
    struct kl__dev d;
    uint32_t devid = 0;
    int rc;

    ctx->err[0] = 0;
    if ((rc = find_vtpm(ctx, domid, dev, &devid)) < 0)
        return rc;
    if ((rc = kl__dev_load(ctx, domid, devid | KL__VTPM_KEY, &d)) < 0 && rc != -EPROTO)
        return rc;
    /* the manager seals the state and stops the instance before it says Closed */
    kl__dev_remove(ctx, &d, flags & KL_VTPM_FORCE ? 0 : kl__dev_timeout(KL__DESTROY_TIMEOUT_MS), 0);
    record(ctx, domid, (int)devid, NULL);
    ctx->err[0] = 0;
    return 0;
}

void kl__vtpm_pending_drop(kl_ctx *ctx)
{
    if (ctx->vtpm_pending) {
        kg_emu_records_free(ctx->vtpm_pending);
        free(ctx->vtpm_pending);
        ctx->vtpm_pending = NULL;
    }
}

/* A restored vtpm: its state from the stream into the manager (checked there: magic, version,
 * uuid, lengths), then the backend written with resume=True. */
static int import(kl_ctx *ctx, uint32_t domid, const kl_device_vtpm *t, const struct kg_emu_record *e)
{
    char uuid[KL_UUID_STRLEN], err[512] = "";
    int rc;

    kl_uuid_to_string(&t->uuid, uuid);
    if ((rc = kvtpm_import(ctx->rundir, domid, (uint32_t)t->devid, uuid, e->data, e->len, err,
                           sizeof(err))) < 0)
        return kl__err(ctx, rc, "domain %u: vtpm %d: importing its state from the image into "
                       "keel-vtpmd: %s", domid, t->devid, err);
    return 0;
}

/* The restored frontend's keys, its state given as Initialised: the manager attaches to an
 * Initialised frontend (the contract's FE state 3); Connected is written back once the backend
 * is Connected (the guest never saw it change). */
static int fe_keys_for(const struct kl__fe_dev *f, const char **kv, int *was_connected)
{
    int n = 0;

    *was_connected = 0;
    for (int i = 0; f && i < f->n && n < 2 * KL__FE_KEYS_MAX; i++) {
        kv[n++] = f->kv[2 * i];
        if (!strcmp(f->kv[2 * i], "state") && !strcmp(f->kv[2 * i + 1], "4")) {
            kv[n++] = "3";
            *was_connected = 1;
        } else {
            kv[n++] = f->kv[2 * i + 1];
        }
    }
    kv[n] = NULL;
    return n;
}

static int be_connected(const char *v, void *arg)
{
    (void)arg;
    return !v || atoi(v) >= 4;
}

static int add_restored(kl_ctx *ctx, uint32_t domid, kl_device_vtpm *t, const struct kl__fe_dev *f)
{
    const char *kv[2 * KL__FE_KEYS_MAX + 1];
    kl_vtpm_add_opts o = { .flags = KL_VTPM_NO_RECORD | KL_VTPM_RESUME, .fe_keys = kv };
    char path[160], *v = NULL;
    int was_connected, rc;

    fe_keys_for(f, kv, &was_connected);
    if ((rc = kl_vtpm_add(ctx, domid, t, &o)) < 0 || !was_connected)
        return rc;
    snprintf(path, sizeof(path), "/local/domain/0/backend/vtpm/%u/%d/state", domid, t->devid);
    rc = kl__xs_wait(ctx, path, be_connected, NULL, kl__dev_timeout(KL__DESTROY_TIMEOUT_MS));
    if (rc == 0 && (kl__xs_read(ctx, 0, path, &v) < 0 || atoi(v) != 4))
        rc = -EIO;
    free(v);
    if (rc < 0)
        return kl__err(ctx, rc, "domain %u: vtpm %d: keel-vtpmd did not reconnect to the restored "
                       "frontend (backend state not 4 within %d s)", domid, t->devid,
                       kl__dev_timeout(KL__DESTROY_TIMEOUT_MS) / 1000);
    snprintf(path, sizeof(path), "/local/domain/%u/device/vtpm/%d/state", domid, t->devid);
    if ((rc = kl__xs_write(ctx, 0, path, "4")) < 0)
        return kl__err(ctx, rc, "domain %u: vtpm %d: writing the frontend state: %s", domid,
                       t->devid, strerror(-rc));
    return 0;
}

int kl__vtpms_add_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc,
                         const struct kl__fe_set *fe)
{
    const struct kg_emu_records *emu = ctx->vtpm_pending;
    int rc = 0;

    for (uint32_t k = 0; emu && k < emu->n; k++) {
        int known = 0;
        for (int i = 0; i < dc->num_vtpms; i++)
            known |= dc->vtpms[i].devid == (int)emu->rec[k].index;
        if (!known || emu->rec[k].emulator_id != 0)
            return kl__err(ctx, -EINVAL, "domain %u: the image carries a vTPM state (emulator "
                           "%u, index %u) for a vtpm the configuration does not have", domid,
                           emu->rec[k].emulator_id, emu->rec[k].index);
    }
    for (int i = 0; rc == 0 && i < dc->num_vtpms; i++) {
        const struct kl__fe_dev *f = NULL;
        const struct kg_emu_record *e = NULL;
        kl_device_vtpm t;
        kl_device_vtpm_init(&t);
        kl_device_vtpm_copy(&t, &dc->vtpms[i]);
        if (t.devid < 0)
            t.devid = i;
        for (uint32_t k = 0; emu && k < emu->n; k++)
            if ((int)emu->rec[k].index == t.devid)
                e = &emu->rec[k];
        if (fe)
            f = kl__fe_find(fe, (uint32_t)t.devid | KL__VTPM_KEY);
        if (f && kl__fe_state(f) >= 3 && !e)
            rc = kl__err(ctx, -EINVAL, "domain %u: vtpm %d: its frontend was connected but the "
                         "image carries no state for it", domid, t.devid);
        else if (e && (rc = import(ctx, domid, &t, e)) == 0)
            rc = add_restored(ctx, domid, &t, f);
        else if (!e) {
            kl_vtpm_add_opts o = { .flags = KL_VTPM_NO_RECORD };
            rc = kl_vtpm_add(ctx, domid, &t, &o);
        }
        kl_device_vtpm_dispose(&t);
    }
    return rc;
}
