/* kd_block.c - keeld's PV block device methods, as xl block-attach / block-list / block-detach:
 * domain.block_attach (a disk spec string of xl-disk-configuration(5)), domain.block_list and
 * domain.block_detach (a vdev name or a device number, optionally forced), over liblight's
 * kl_disk_add / kl_disk_list / kl_disk_remove on the worker's own context. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd.h"
#include "keel/kl_config.h"
#include "keel/kl_diag.h"
#include "keel/kl_light.h"

#define KD_SPEC_MAX 1024


static int lib_error(struct kd_call *c, int rc, const char *what)
{
    int code = rc == -EEXIST ? KD_EXISTS : rc == -EINVAL || rc == -ENODEV || rc == -ENOTSUP
             ? KD_INVALID_PARAMS : rc == -ENOENT ? KD_NO_SUCH_DOMAIN : KD_HYPERVISOR;

    return kd_fail(c, code, "%s: %s", what, kl_ctx_error(kd_ctx()));
}

int kd_m_block_attach(struct kd_call *c)
{
    const char *spec = NULL;
    kl_device_disk disk;
    kl_diag *d;
    uint32_t domid, devid = 0;
    int rc;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if (kd_param_str(c->req->params, "spec", &spec, true, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if (!*spec || strlen(spec) > KD_SPEC_MAX)
        return kd_fail(c, KD_INVALID_PARAMS, "\"spec\" must be a disk spec of 1 to %d bytes",
                       KD_SPEC_MAX);
    if (!(d = kl_diag_new()))
        return kd_fail(c, KD_INTERNAL_ERROR, "out of memory");
    kl_device_disk_init(&disk);
    if ((rc = kl_device_disk_parse_spec(&disk, spec, d)) < 0) {
        kd_fail(c, KD_CONFIG, "disk spec: %s", kl_diag_first_error(d) ? kl_diag_first_error(d)
                                                                     : strerror(-rc));
        kl_diag_free(d);
        kl_device_disk_dispose(&disk);
        return kd_err(c);
    }
    kl_diag_free(d);
    rc = kl_disk_add(kd_ctx(), domid, &disk, NULL);
    if (rc == 0) {
        kl_disk_vdev_to_devid(disk.vdev, &devid);
        yajl_gen_map_open(c->g);
        kd_gen_key_int(c->g, "domid", domid);
        kd_gen_key_str(c->g, "vdev", disk.vdev);
        kd_gen_key_int(c->g, "devid", devid);
        yajl_gen_map_close(c->g);
    }
    kl_device_disk_dispose(&disk);
    return rc < 0 ? lib_error(c, rc, "block_attach") : 0;
}

/* Store values go out as JSON strings: keep them printable ASCII. */
static void gen_key_clean(yajl_gen g, const char *k, char *v)
{
    for (char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x80)
            *p = '?';
    kd_gen_key_str(g, k, v);
}

int kd_m_block_list(struct kd_call *c)
{
    kl_diskinfo *l;
    uint32_t domid;
    int n;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if ((n = kl_disk_list(kd_ctx(), domid, &l)) < 0)
        return lib_error(c, n, "block_list");
    yajl_gen_array_open(c->g);
    for (int i = 0; i < n; i++) {
        yajl_gen_map_open(c->g);
        gen_key_clean(c->g, "vdev", l[i].vdev);
        kd_gen_key_int(c->g, "devid", l[i].devid);
        kd_gen_key_str(c->g, "kind", l[i].kind);
        kd_gen_key_int(c->g, "backend_id", l[i].backend_id);
        kd_gen_key_int(c->g, "backend_state", l[i].backend_state);
        kd_gen_key_int(c->g, "frontend_state", l[i].frontend_state);
        kd_gen_key_int(c->g, "evtch", l[i].evtch);
        kd_gen_key_int(c->g, "ring_ref", l[i].ring_ref);
        gen_key_clean(c->g, "mode", l[i].mode);
        gen_key_clean(c->g, "params", l[i].params);
        gen_key_clean(c->g, "hotplug_status", l[i].hotplug_status);
        kd_gen_key_str(c->g, "backend", l[i].backend);
        kd_gen_key_str(c->g, "frontend", l[i].frontend);
        yajl_gen_map_close(c->g);
    }
    yajl_gen_array_close(c->g);
    free(l);
    return 0;
}

int kd_m_block_detach(struct kd_call *c)
{
    yajl_val v = kd_param(c->req->params, "device");
    const char *s;
    char dev[24];
    uint32_t domid, devid;
    bool force;
    int rc;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if (v && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0 && YAJL_GET_INTEGER(v) < (2LL << 28))
        snprintf(dev, sizeof(dev), "%lld", YAJL_GET_INTEGER(v));
    else if (v && YAJL_IS_STRING(v) && (s = YAJL_GET_STRING(v)) && *s && strlen(s) < sizeof(dev))
        snprintf(dev, sizeof(dev), "%s", s);
    else
        return kd_fail(c, KD_INVALID_PARAMS, "\"device\" must be a vdev name (xvda) or a device "
                       "number");
    if (kl_disk_vdev_to_devid(dev, &devid) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "\"device\": '%s' is not a vdev name or number", dev);
    if (kd_param_bool(c->req->params, "force", false, &force, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if ((rc = kl_disk_remove(kd_ctx(), domid, dev, force ? KL_DISK_FORCE : 0)) < 0)
        return lib_error(c, rc, "block_detach");
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_int(c->g, "devid", devid);
    yajl_gen_map_close(c->g);
    return 0;
}
