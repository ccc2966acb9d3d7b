/* device_disk.c - PV block devices: from a kl_device_disk (a disk= entry or a block-attach
 * spec) to the backend kind (vbd for raw files and block devices, qdisk for image formats) and
 * the store keys of the device contract; kl_disk_add, which also records the disk in the
 * domain's stored configuration, and the disks of a configuration at create/restore. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_int.h"

#define BE(key, ...) (d->bek[d->nbe].k = (key), \
                      snprintf(d->bek[d->nbe].v, sizeof(d->bek[0].v), __VA_ARGS__), d->nbe++)
#define FE(key, ...) (d->fek[d->nfe].k = (key), \
                      snprintf(d->fek[d->nfe].v, sizeof(d->fek[0].v), __VA_ARGS__), d->nfe++)

/* Backend kind and params: raw on phy is served as vbd, any image format (or backendtype=
 * qdisk) as qdisk with "<format>:<target>". */
static int choose_kind(kl_ctx *ctx, const kl_device_disk *k, const char *what, const char **kind)
{
    kl_disk_format f = k->format == KL_DISK_FORMAT_UNKNOWN ? KL_DISK_FORMAT_RAW : k->format;

    switch (k->backend) {
    case KL_DISK_BACKEND_TAP:
        return kl__err(ctx, -ENOTSUP, "%s: backendtype=tap (blktap) is not supported by Keel; "
                       "use phy (raw files and block devices) or qdisk (image formats)", what);
    case KL_DISK_BACKEND_STANDALONE:
        return kl__err(ctx, -ENOTSUP, "%s: backendtype=standalone is not supported by Keel", what);
    case KL_DISK_BACKEND_PHY:
        if (f != KL_DISK_FORMAT_RAW)
            return kl__err(ctx, -EINVAL, "%s: backendtype=phy serves raw images only, not "
                           "format=%s (use backendtype=qdisk)", what, kl_disk_format_to_string(f));
        *kind = "vbd";
        return 0;
    case KL_DISK_BACKEND_QDISK:
        *kind = "qdisk";
        return 0;
    default:
        *kind = f == KL_DISK_FORMAT_RAW ? "vbd" : "qdisk";
        return 0;
    }
}

static int check_disk(kl_ctx *ctx, uint32_t domid, const kl_device_disk *k, const char *what)
{
    const char *bn = k->backend_domname;

    if (domid == 0)
        return kl__err(ctx, -EINVAL, "%s: Domain-0 takes no PV block frontend", what);
    if (k->backend_domid != 0 || (bn && strcmp(bn, "0") && strcmp(bn, "Domain-0")))
        return kl__err(ctx, -ENOTSUP, "%s: backend=%s: driver domains are not supported yet "
                       "(the backend is Domain-0)", what, bn ? bn : "?");
    if (k->specification == KL_DISK_SPECIFICATION_VIRTIO)
        return kl__err(ctx, -ENOTSUP, "%s: specification=virtio is not supported by Keel", what);
    if (k->format == KL_DISK_FORMAT_EMPTY || !k->pdev_path || !*k->pdev_path)
        return kl__err(ctx, -ENOTSUP, "%s: no target (an empty cdrom drive is not supported)",
                       what);
    if (strlen(k->pdev_path) > 480 || strpbrk(k->pdev_path, "\n\r"))
        return kl__err(ctx, -EINVAL, "%s: target '%.60s...' is too long or has a newline", what,
                       k->pdev_path);
    return 0;
}

int kl__disk_prepare(kl_ctx *ctx, uint32_t domid, const kl_device_disk *k, struct kl__dev *d)
{
    kl_disk_format f = k->format == KL_DISK_FORMAT_UNKNOWN ? KL_DISK_FORMAT_RAW : k->format;
    const char *kind = "vbd", *dtype = k->is_cdrom ? "cdrom" : "disk";
    char what[96], target[520];
    kl_dominfo info;
    uint32_t devid;
    int rc;

    memset(d, 0, sizeof(*d));
    snprintf(what, sizeof(what), "domain %u: disk %.20s", domid, k->vdev ? k->vdev : "(no vdev)");
    if (!k->vdev || kl_disk_vdev_to_devid(k->vdev, &devid) < 0)
        return kl__err(ctx, -EINVAL, "%s: not a valid virtual device name (xvdX, hdX, sdX with an "
                       "optional partition number, or a device number)", what);
    if ((rc = check_disk(ctx, domid, k, what)) < 0 || (rc = choose_kind(ctx, k, what, &kind)) < 0)
        return rc;
    if ((rc = kl_domain_info(ctx, domid, &info)) < 0)
        return rc;
    if ((rc = kl__hotplug_find(ctx, k->script, d->script, sizeof(d->script))) < 0) {
        char why[sizeof(ctx->err)];
        snprintf(why, sizeof(why), "%s", kl_ctx_error(ctx));
        return kl__err(ctx, rc, "%s: %s", what, why);
    }
    /* xl-disk-configuration(5): a target not starting with '/' is under /dev/ */
    snprintf(target, sizeof(target), "%s%s", k->pdev_path[0] == '/' ? "" : "/dev/", k->pdev_path);
    kl__dev_paths(d, domid, devid, kind);
    snprintf(d->vdev, sizeof(d->vdev), "%s", k->vdev);
    snprintf(d->label, sizeof(d->label), "disk %s", d->vdev);
    BE("frontend", "%s", d->fe);
    BE("frontend-id", "%u", domid);
    BE("online", "1");
    BE("state", "1");
    if (!strcmp(kind, "qdisk"))
        BE("params", "%s:%s", kl_disk_format_to_string(f), target);
    else
        BE("params", "%s", target);
    BE("script", "%s", d->script);
    BE("mode", "%s", k->readwrite ? "w" : "r");
    BE("type", "%s", !strcmp(kind, "qdisk") ? "qdisk" : "phy");
    BE("dev", "%s", k->vdev);
    BE("device-type", "%s", dtype);
    BE("removable", "%d", k->removable ? 1 : 0);
    BE("bootable", "1");
    BE("discard-enable", "%d", kl_defbool_val_or(k->discard_enable, true) ? 1 : 0);
    if (k->direct_io_safe)
        BE("direct-io-safe", "1");
    FE("backend", "%s", d->be);
    FE("backend-id", "0");
    FE("state", "1");
    FE("virtual-device", "%u", devid);
    FE("device-type", "%s", dtype);
    FE("trusted", "%d", kl_defbool_val_or(k->trusted, true) ? 1 : 0);
    return 0;
}

/* Keep the stored configuration in step (xl list -l, save images, restarts). */
static void record(kl_ctx *ctx, uint32_t domid, const kl_device_disk *k, int add)
{
    kl_domain_config dc;
    int keep = 0;

    kl_domain_config_init(&dc);
    if (kl_domain_get_config(ctx, domid, &dc) == 0) {
        kl_device_disk *nd = calloc((size_t)dc.num_disks + 1, sizeof(*nd));
        for (int i = 0; nd && i < dc.num_disks; i++) {
            if (dc.disks[i].vdev && !strcmp(dc.disks[i].vdev, k->vdev)) {
                kl_device_disk_dispose(&dc.disks[i]);
                continue;
            }
            nd[keep++] = dc.disks[i];
        }
        if (nd && add) {
            kl_device_disk_init(&nd[keep]);
            kl_device_disk_copy(&nd[keep++], k);
        }
        if (nd) {
            free(dc.disks);
            dc.disks = nd;
            dc.num_disks = keep;
            kl__userdata_store(ctx, domid, &dc);
        }
    }
    kl_domain_config_dispose(&dc);
}

int kl_disk_add(kl_ctx *ctx, uint32_t domid, const kl_device_disk *disk, const kl_disk_add_opts *o)
{
    struct kl__dev d;
    int rc;

    ctx->err[0] = 0;
    if ((rc = kl__disk_prepare(ctx, domid, disk, &d)) < 0 ||
        (rc = kl__dev_add(ctx, &d, o ? o->fe_keys : NULL)) < 0)
        return rc;
    if (!o || !(o->flags & KL_DISK_NO_RECORD))
        record(ctx, domid, disk, 1);
    return 0;
}

void kl__disk_forget(kl_ctx *ctx, uint32_t domid, const char *vdev)
{
    kl_device_disk k;

    kl_device_disk_init(&k);
    k.vdev = (char *)vdev;
    record(ctx, domid, &k, 0);
}

int kl__disks_add_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc,
                         const struct kl__fe_set *fe)
{
    int rc;

    for (int i = 0; i < dc->num_disks; i++) {
        kl_disk_add_opts o = { .flags = KL_DISK_NO_RECORD };
        const struct kl__fe_dev *f;
        uint32_t devid;
        /* a restored frontend's keys (ring, event channel, state) for the new domid */
        if (fe && dc->disks[i].vdev && kl_disk_vdev_to_devid(dc->disks[i].vdev, &devid) == 0 &&
            (f = kl__fe_find(fe, devid)))
            o.fe_keys = (const char *const *)f->kv;
        if ((rc = kl_disk_add(ctx, domid, &dc->disks[i], &o)) < 0)
            return rc;
    }
    if ((rc = kl__nics_add_config(ctx, domid, dc, fe)) < 0)
        return rc;
    return kl__fe_wait_connected(ctx, domid, fe);
}
