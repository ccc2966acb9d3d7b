/* device_list.c - a domain's devices found again from the store: the /libxl/<domid>/device/
 * {vbd,vif} bookkeeping (Domain-0's, the guest cannot touch it) names each backend, whose
 * path is checked against the contract before use; listing (kl_disk_list), detaching
 * (kl_disk_remove) and removing them all (disks and vifs) when the domain is destroyed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_int.h"

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

static int read_int(kl_ctx *ctx, const char *dir, const char *key, int max)
{
    char v[32], *end;
    long x;

    if (read_str(ctx, dir, key, v, sizeof(v)) < 0 || !v[0])
        return -1;
    x = strtol(v, &end, 10);
    return *end || x < 0 || x > max ? -1 : (int)x;
}

/* A network interface name from the store: 1..15 characters of [A-Za-z0-9_.-]. */
static int ifname_ok(const char *s)
{
    size_t l = strlen(s);

    return l > 0 && l < 16 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_.-") == l && strcmp(s, ".") && strcmp(s, "..");
}

/* A vif's tap name and gateway device, from its backend keys (names checked: they go into the
 * script's environment). */
static void vif_names(kl_ctx *ctx, struct kl__dev *d)
{
    if (read_str(ctx, d->be, "vifname", d->ifname, sizeof(d->ifname)) < 0 || !ifname_ok(d->ifname))
        snprintf(d->ifname, sizeof(d->ifname), "vif%u.%u", d->domid, d->devid);
    if (read_str(ctx, d->be, "gatewaydev", d->netdev, sizeof(d->netdev)) < 0 ||
        !ifname_ok(d->netdev))
        d->netdev[0] = 0;
}

/* Rebuild the device from its bookkeeping; -ENOENT if there is none, -EPROTO if it does not
 * name this device's backend. */
int kl__dev_load(kl_ctx *ctx, uint32_t domid, uint32_t key, struct kl__dev *d)
{
    char bk[96], be[160], want[160];
    static const char *const kinds[] = { "vbd", "qdisk", "vif", "vtpm" };
    uint32_t devid = KL__KEY_DEVID(key);
    int rc, first = KL__KEY_IS_VIF(key) ? 2 : KL__KEY_IS_VTPM(key) ? 3 : 0, last = first ? first + 1 : 2;

    memset(d, 0, sizeof(*d));
    kl__dev_bk_path(domid, key, bk, sizeof(bk));
    if ((rc = read_str(ctx, bk, "backend", be, sizeof(be))) < 0)
        return rc;
    for (int i = first; i < last; i++) {
        snprintf(want, sizeof(want), "/local/domain/0/backend/%s/%u/%u", kinds[i], domid, devid);
        if (!strcmp(be, want)) {
            kl__dev_paths(d, domid, devid, kinds[i]);
            if (d->vif)
                vif_names(ctx, d);
            else if (read_str(ctx, d->be, "dev", d->vdev, sizeof(d->vdev)) == 0 && d->vdev[0])
                snprintf(d->label, sizeof(d->label), "disk %s", d->vdev);
            if (read_str(ctx, d->be, "script", d->script, sizeof(d->script)) < 0 ||
                d->script[0] != '/')
                d->script[0] = 0;
            return 0;
        }
    }
    kl__dev_paths(d, domid, devid, kinds[first]);
    if (d->vif)
        snprintf(d->ifname, sizeof(d->ifname), "vif%u.%u", domid, devid);
    return kl__err(ctx, -EPROTO, "domain %u: device %u: bookkeeping names '%.100s' as backend",
                   domid, devid, be);
}

/* The device keys under /libxl/<domid>/device/vbd and .../vif (malloc'd in *ids). Count. */
int kl__dev_ids(kl_ctx *ctx, uint32_t domid, uint32_t **ids)
{
    int n = 0;

    *ids = NULL;
    static const char *const cls_name[] = { "vbd", "vif", "vtpm" };
    static const uint32_t cls_key[] = { 0, KL__VIF_KEY, KL__VTPM_KEY };

    for (int cls = 0; cls < 3; cls++) {
        char path[64], *list = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "/libxl/%u/device/%s", domid, cls_name[cls]);
        if (kl__xs_directory(ctx, 0, path, &list, &len) < 0) {
            free(list);
            continue;
        }
        for (size_t off = 0; off < len; off += strlen(list + off) + 1) {
            char *end;
            unsigned long v = strtoul(list + off, &end, 10);
            uint32_t *nid;
            if (*end || end == list + off || v >= (cls ? 65536ul : (2ul << 28)))
                continue;
            if (!(nid = realloc(*ids, sizeof(**ids) * (size_t)(n + 1))))
                break;
            *ids = nid;
            (*ids)[n++] = (uint32_t)v | cls_key[cls];
        }
        free(list);
    }
    return n;
}

static void info_of(kl_ctx *ctx, const struct kl__dev *d, kl_diskinfo *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->vdev, sizeof(o->vdev), "%s", d->vdev);
    o->devid = d->devid;
    o->frontend_id = d->domid;
    snprintf(o->kind, sizeof(o->kind), "%s", d->kind);
    o->backend_state = read_int(ctx, d->be, "state", 8);
    o->frontend_state = read_int(ctx, d->fe, "state", 8);
    o->evtch = read_int(ctx, d->fe, "event-channel", 1 << 30);
    o->ring_ref = read_int(ctx, d->fe, "ring-ref", 1 << 30);
    if (o->ring_ref < 0)
        o->ring_ref = read_int(ctx, d->fe, "ring-ref0", 1 << 30);
    read_str(ctx, d->be, "mode", o->mode, sizeof(o->mode));
    read_str(ctx, d->be, "params", o->params, sizeof(o->params));
    read_str(ctx, d->be, "hotplug-status", o->hotplug_status, sizeof(o->hotplug_status));
    snprintf(o->backend, sizeof(o->backend), "%s", d->be);
    snprintf(o->frontend, sizeof(o->frontend), "%s", d->fe);
}

int kl_disk_list(kl_ctx *ctx, uint32_t domid, kl_diskinfo **out)
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
        if (KL__KEY_IS_VBD(ids[i]) && kl__dev_load(ctx, domid, ids[i], &d) == 0)
            info_of(ctx, &d, &(*out)[k++]);
    }
    free(ids);
    ctx->err[0] = 0;
    return k;
}

int kl_disk_remove(kl_ctx *ctx, uint32_t domid, const char *vdev, unsigned flags)
{
    struct kl__dev d;
    uint32_t devid;
    int rc;

    ctx->err[0] = 0;
    if (kl_disk_vdev_to_devid(vdev, &devid) < 0)
        return kl__err(ctx, -EINVAL, "domain %u: '%.20s' is not a virtual device name or number",
                       domid, vdev);
    if ((rc = kl__dev_load(ctx, domid, devid, &d)) == -ENOENT)
        return kl__err(ctx, -ENODEV, "domain %u has no disk %s (device %u)", domid, vdev, devid);
    if (rc < 0 && rc != -EPROTO)
        return rc;
    kl__dev_remove(ctx, &d, flags & KL_DISK_FORCE ? 0 : kl__dev_timeout(KL__DESTROY_TIMEOUT_MS),
                   d.script[0] != 0);
    kl__disk_forget(ctx, domid, d.vdev[0] ? d.vdev : vdev);
    ctx->err[0] = 0;
    return 0;
}

void kl__devices_remove(kl_ctx *ctx, uint32_t domid, int timeout_ms)
{
    uint32_t *ids;
    int n = kl__dev_ids(ctx, domid, &ids);

    for (int i = 0; i < n; i++) {
        struct kl__dev d;
        int rc = kl__dev_load(ctx, domid, ids[i], &d);
        if (rc == 0 || rc == -EPROTO)
            kl__dev_remove(ctx, &d, timeout_ms, d.script[0] != 0);
    }
    free(ids);
}

void kl__devices_remove_pv(kl_ctx *ctx, uint32_t domid, int timeout_ms)
{
    uint32_t *ids;
    int n = kl__dev_ids(ctx, domid, &ids);

    for (int i = 0; i < n; i++) {
        struct kl__dev d;
        int rc = KL__KEY_IS_VTPM(ids[i]) ? -EAGAIN : kl__dev_load(ctx, domid, ids[i], &d);
        if (rc == 0 || rc == -EPROTO)
            kl__dev_remove(ctx, &d, timeout_ms, d.script[0] != 0);
    }
    free(ids);
}

void kl__devices_destroy(kl_ctx *ctx, uint32_t domid)
{
    int wait = kl__dev_timeout(KL__DYING_TIMEOUT_MS);

    kl__vtpms_release(ctx, domid);       /* frozen by a save or migration that succeeded */
    kl__devices_remove(ctx, domid, wait < KL__DYING_TIMEOUT_MS ? wait : KL__DYING_TIMEOUT_MS);
}
