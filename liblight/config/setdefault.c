/* setdefault.c - the defaults libxl applies before creating a domain (its *_setdefault
 * functions), for the fields xl.cfg may leave unset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "keel/kl_config.h"
#include "kl_internal.h"

static int set_str(char **dst, const char *s)
{
    if (*dst)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : -ENOMEM;
}

static int build_defaults(kl_domain_build_info *b, kl_diag *d)
{
    if (b->max_vcpus <= 0)
        b->max_vcpus = 1;
    if (kl_bitmap_is_empty(&b->avail_vcpus))
        for (int i = 0; i < b->max_vcpus; i++)
            if (kl_bitmap_set(&b->avail_vcpus, (unsigned)i))
                return -ENOMEM;
    for (unsigned i = (unsigned)b->max_vcpus; i < b->avail_vcpus.size * 8u; i++)
        if (kl_bitmap_test(&b->avail_vcpus, i)) {
            kl__diag_add(d, KL_SEV_ERROR, NULL, "vCPU %u is online but max_vcpus is %d", i,
                         b->max_vcpus);
            return -EINVAL;
        }
    if (b->max_memkb == KL_MEMKB_DEFAULT && b->target_memkb == KL_MEMKB_DEFAULT)
        b->max_memkb = b->target_memkb = KL_DEFAULT_MEMKB;
    else if (b->max_memkb == KL_MEMKB_DEFAULT)
        b->max_memkb = b->target_memkb;
    else if (b->target_memkb == KL_MEMKB_DEFAULT)
        b->target_memkb = b->max_memkb;
    if (b->max_memkb < b->target_memkb) {
        kl__diag_add(d, KL_SEV_ERROR, NULL, "max_memkb (%llu) is smaller than target_memkb (%llu)",
                     (unsigned long long)b->max_memkb, (unsigned long long)b->target_memkb);
        return -EINVAL;
    }
    if (b->sched_params.weight == KL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT)
        b->sched_params.weight = KL_DEFAULT_WEIGHT;
    if (b->sched_params.cap == KL_DOMAIN_SCHED_PARAM_CAP_DEFAULT)
        b->sched_params.cap = 0;
    return 0;
}

/* 00:16:3e plus three random bytes (libuuid's random source). */
static void random_mac(kl_mac *m)
{
    uuid_t r;

    uuid_generate_random(r);
    m->bytes[0] = 0x00;
    m->bytes[1] = 0x16;
    m->bytes[2] = 0x3e;
    memcpy(m->bytes + 3, r, 3);
    m->bytes[3] &= 0x7f;
}

static int device_defaults(kl_domain_config *dc)
{
    for (int i = 0; i < dc->num_nics; i++) {
        kl_device_nic *n = &dc->nics[i];
        if (n->devid < 0)
            n->devid = i;
        if (kl_mac_is_zero(&n->mac))
            random_mac(&n->mac);
        if (n->nictype == KL_NIC_TYPE_UNKNOWN)
            n->nictype = KL_NIC_TYPE_VIF;
        if (set_str(&n->bridge, "xenbr0"))
            return -ENOMEM;
    }
    for (int i = 0; i < dc->num_disks; i++)
        if (dc->disks[i].format == KL_DISK_FORMAT_UNKNOWN)
            dc->disks[i].format = dc->disks[i].pdev_path ? KL_DISK_FORMAT_RAW
                                                          : KL_DISK_FORMAT_EMPTY;
    for (int i = 0; i < dc->num_vtpms; i++) {
        if (dc->vtpms[i].devid < 0)
            dc->vtpms[i].devid = i;
        if (kl_uuid_is_nil(&dc->vtpms[i].uuid))
            kl_uuid_generate(&dc->vtpms[i].uuid);
    }
    for (int i = 0; i < dc->num_p9s; i++)
        if (dc->p9s[i].devid < 0)
            dc->p9s[i].devid = i;
    for (int i = 0; i < dc->num_channels; i++)
        if (dc->channels[i].devid < 0)
            dc->channels[i].devid = i;
    return 0;
}

/* What a config may hold but this host cannot run: another type than pvh, Xen-only keys. */
int kl_domain_config_runnable(const kl_domain_config *dc, kl_diag *d)
{
    const char *name = dc->c_info.name ? dc->c_info.name : "(unnamed)";
    int bad = 0;

    if (dc->c_info.type == KL_DOMAIN_TYPE_PV || dc->c_info.type == KL_DOMAIN_TYPE_HVM) {
        kl__diag_add(d, KL_SEV_ERROR, NULL, "domain %s: type %s is not supported: Keel runs "
                     "paravirtual guests as type pvh", name,
                     kl_domain_type_to_string(dc->c_info.type));
        bad = 1;
    }
    for (char **l = dc->xen_only; l && *l; l++) {
        kl__diag_add(d, KL_SEV_ERROR, NULL, "domain %s: %.*s is not supported by Keel (kept "
                     "in the configuration, but this host cannot run it)", name,
                     (int)strcspn(*l, " ="), *l);
        bad = 1;
    }
    return bad ? -EINVAL : 0;
}

int kl_domain_config_setdefault(kl_domain_config *dc, kl_diag *d)
{
    int rc;

    if ((rc = kl_domain_config_runnable(dc, d)))
        return rc;
    if (dc->c_info.type == KL_DOMAIN_TYPE_INVALID)
        dc->c_info.type = KL_DOMAIN_TYPE_PVH;
    if (kl_uuid_is_nil(&dc->c_info.uuid))
        kl_uuid_generate(&dc->c_info.uuid);
    rc = build_defaults(&dc->b_info, d);
    return rc ? rc : device_defaults(dc);
}
