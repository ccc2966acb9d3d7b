/* convert_dev.c - the device lists of an xl.cfg (disk, vif, vtpm, p9, channel): each item a
 * spec string parsed into its kl_device_* type, with duplicate checks across the list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

typedef int (*spec_fn)(void *dev, const char *spec, const kl__pos *pos, const char *what,
                       kl_diag *d);

struct devlist {
    const char *key;
    size_t elem;
    void (*init)(void *);
    spec_fn parse;
};

static int nic_parse(void *dev, const char *s, const kl__pos *p, const char *w, kl_diag *d)
{
    return kl__nic_parse(dev, s, p, w, d);
}
static int disk_parse(void *dev, const char *s, const kl__pos *p, const char *w, kl_diag *d)
{
    return kl__disk_parse(dev, s, p, w, d);
}
static int vtpm_parse(void *dev, const char *s, const kl__pos *p, const char *w, kl_diag *d)
{
    return kl__vtpm_parse(dev, s, p, w, d);
}
static int p9_parse(void *dev, const char *s, const kl__pos *p, const char *w, kl_diag *d)
{
    return kl__p9_parse(dev, s, p, w, d);
}
static int channel_parse(void *dev, const char *s, const kl__pos *p, const char *w, kl_diag *d)
{
    return kl__channel_parse(dev, s, p, w, d);
}
static void nic_init(void *p) { kl_device_nic_init(p); }
static void disk_init(void *p) { kl_device_disk_init(p); }
static void vtpm_init(void *p) { kl_device_vtpm_init(p); }
static void p9_init(void *p) { kl_device_p9_init(p); }
static void channel_init(void *p) { kl_device_channel_init(p); }

/* Parses every item of the list `key' into a new array; items stay initialised on error so
 * that the caller's dispose frees them. */
static void conv_list(struct kl__conv *cv, const struct devlist *dl, void **arr, int *count)
{
    const kl_cfg_value *list;
    int rc = kl_cfg_get_list(cv->cfg, dl->key, &list, cv->d);
    size_t n;

    if (rc == -ENOENT)
        return;
    if (rc) {
        cv->errors++;
        return;
    }
    n = kl_cfg_value_count(list);
    if (!n)
        return;
    if (n > 1024) {
        kl__conv_err(cv, dl->key, list, "too many devices (%zu, at most 1024)", n);
        return;
    }
    *arr = calloc(n, dl->elem);
    if (!*arr) {
        cv->errors++;
        return;
    }
    *count = (int)n;
    for (size_t i = 0; i < n; i++) {
        const kl_cfg_value *it = kl_cfg_value_item(list, i);
        void *dev = (char *)*arr + i * dl->elem;
        char what[48];
        dl->init(dev);
        snprintf(what, sizeof what, "%s[%zu]", dl->key, i);
        if (kl_cfg_value_kind(it) == KL_CFG_LIST)
            kl__conv_err(cv, what, it, "expected a spec string, got a list");
        else if (dl->parse(dev, kl_cfg_value_text(it), &it->pos, what, cv->d))
            cv->errors++;
    }
}

static const kl_cfg_value *item_at(struct kl__conv *cv, const char *key, int i)
{
    return kl_cfg_value_item(kl_cfg_lookup(cv->cfg, key), (size_t)i);
}

static void check_disks(struct kl__conv *cv)
{
    kl_domain_config *dc = cv->dc;

    for (int i = 0; i < dc->num_disks; i++)
        for (int j = 0; j < i; j++)
            if (dc->disks[i].vdev && dc->disks[j].vdev &&
                !strcmp(dc->disks[i].vdev, dc->disks[j].vdev))
                kl__conv_err(cv, "disk", item_at(cv, "disk", i), "vdev `%s' of disk[%d] is "
                             "already used by disk[%d]", dc->disks[i].vdev, i, j);
}

static void check_nics(struct kl__conv *cv)
{
    kl_domain_config *dc = cv->dc;

    for (int i = 0; i < dc->num_nics; i++) {
        if (dc->nics[i].devid < 0)
            dc->nics[i].devid = i;
        for (int j = 0; j < i; j++)
            if (dc->nics[i].devid == dc->nics[j].devid)
                kl__conv_err(cv, "vif", item_at(cv, "vif", i), "devid %d of vif[%d] is already "
                             "used by vif[%d]", dc->nics[i].devid, i, j);
    }
}

void kl__conv_devices(struct kl__conv *cv)
{
    static const struct devlist lists[] = {
        { "disk", sizeof(kl_device_disk), disk_init, disk_parse },
        { "vif", sizeof(kl_device_nic), nic_init, nic_parse },
        { "vtpm", sizeof(kl_device_vtpm), vtpm_init, vtpm_parse },
        { "p9", sizeof(kl_device_p9), p9_init, p9_parse },
        { "channel", sizeof(kl_device_channel), channel_init, channel_parse },
    };
    kl_domain_config *dc = cv->dc;

    conv_list(cv, &lists[0], (void **)&dc->disks, &dc->num_disks);
    conv_list(cv, &lists[1], (void **)&dc->nics, &dc->num_nics);
    conv_list(cv, &lists[2], (void **)&dc->vtpms, &dc->num_vtpms);
    conv_list(cv, &lists[3], (void **)&dc->p9s, &dc->num_p9s);
    conv_list(cv, &lists[4], (void **)&dc->channels, &dc->num_channels);
    check_disks(cv);
    check_nics(cv);
    for (int i = 0; i < dc->num_vtpms; i++)
        dc->vtpms[i].devid = i;
    for (int i = 0; i < dc->num_p9s; i++)
        dc->p9s[i].devid = i;
    for (int i = 0; i < dc->num_channels; i++)
        dc->channels[i].devid = i;
}
