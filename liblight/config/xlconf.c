/* xlconf.c - xl.conf, the host-wide toolstack settings (kl_xlconf.h), shared by xl and keeld:
 * read with the xl.cfg parser (Xen's grammar: KEY=VALUE, strings, numbers, lists), values
 * checked, then used as defaults where a domain's config leaves something unset (vif script,
 * bridge and gateway device, grant frame limits), as claim_mode, as the lockfile's path, and as
 * the global affinity masks (vm.cpumask, vm.pv.cpumask) ANDed into every vCPU's hard affinity.
 * Keys Xen's xl knows but Keel does not act on are accepted; where Xen's documentation promises
 * an effect, a note says why there is none here (the caller prints kl_xl_conf_notes). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/kl_cfg.h"
#include "keel/kl_xlconf.h"
#include "kl_internal.h"

#ifndef KEEL_XL_CONF_INSTALLED
#define KEEL_XL_CONF_INSTALLED "/etc/keel/xl.conf"
#endif

/* The global affinity masks, in Xen's order of application; absent = every CPU. Keel's guests
 * are paravirtual: vm.pv.cpumask applies to all of them, vm.hvm.cpumask to none. */
enum { MASK_VM, MASK_PV, MASK_HVM, NMASKS };
static const char *const mask_keys[NMASKS] = { "vm.cpumask", "vm.pv.cpumask", "vm.hvm.cpumask" };

struct kl_xl_conf {
    char *path;
    kl_cfg *cfg;
    kl_diag *d;                          /* where errors go while loading */
    const char *lockfile, *vif_script, *vif_bridge, *vif_gatewaydev;
    long long max_grant_frames, max_maptrack_frames, claim_mode;
    struct {
        const char *text;                /* the value as written, NULL when absent */
        uint64_t map[KEEL_CPUMAP_WORDS];
    } mask[NMASKS];
    char notes[2048];
    size_t notes_len;
};

const char *kl_xl_conf_default_path(void)
{
    const char *env = getenv("KEEL_XL_CONF");

    return env && *env ? env : KEEL_XL_CONF_INSTALLED;
}

static void note(kl_xl_conf *c, const char *key, const char *why)
{
    const kl_cfg_value *v = kl_cfg_lookup(c->cfg, key);
    int n;

    if (!v || c->notes_len >= sizeof(c->notes) - 1)
        return;
    n = snprintf(c->notes + c->notes_len, sizeof(c->notes) - c->notes_len,
                 "%s:%d: note: %s is accepted but has no effect in Keel: %s\n",
                 kl_cfg_value_file(v), kl_cfg_value_line(v), key, why);
    if (n > 0)
        c->notes_len += (size_t)n;
    if (c->notes_len >= sizeof(c->notes))
        c->notes_len = sizeof(c->notes) - 1;
}

static int bad(kl_xl_conf *c, const char *key, const char *val, const char *expect)
{
    const kl_cfg_value *v = kl_cfg_lookup(c->cfg, key);

    kl__diag_add(c->d, KL_SEV_ERROR, NULL, "%s:%d: %s: invalid value \"%s\" (%s)",
                 kl_cfg_value_file(v), kl_cfg_value_line(v), key, val, expect);
    return -EINVAL;
}

/* A string key (a number is taken as written); NULL when absent. -EINVAL for a list. */
static int get_str(kl_xl_conf *c, const char *key, const char **out)
{
    const kl_cfg_value *v = kl_cfg_lookup(c->cfg, key);

    *out = NULL;
    if (!v)
        return 0;
    if (!(*out = kl_cfg_value_text(v))) {
        kl__diag_add(c->d, KL_SEV_ERROR, NULL, "%s:%d: %s: a string is expected, not a list",
                     kl_cfg_value_file(v), kl_cfg_value_line(v), key);
        return -EINVAL;
    }
    return 0;
}

/* A number key in [min, max]; *out untouched when absent. */
static int get_num(kl_xl_conf *c, const char *key, long long min, long long max, long long *out)
{
    int rc = kl_cfg_get_long(c->cfg, key, min, max, out, c->d);

    return rc == -ENOENT ? 0 : rc;
}

/* The keys that steer something here. */
static int read_acting(kl_xl_conf *c)
{
    const char *s;

    if (get_str(c, "lockfile", &c->lockfile) < 0 || get_str(c, "vifscript", &c->vif_script) < 0 ||
        get_str(c, "defaultbridge", &c->vif_bridge) < 0 ||
        get_str(c, "vif.default.gatewaydev", &c->vif_gatewaydev) < 0)
        return -EINVAL;
    if (get_str(c, "vif.default.script", &s) < 0)   /* the new name wins over vifscript */
        return -EINVAL;
    if (s)
        c->vif_script = s;
    if (get_str(c, "vif.default.bridge", &s) < 0)
        return -EINVAL;
    if (s)
        c->vif_bridge = s;
    if ((c->lockfile && !*c->lockfile) || (c->vif_script && !*c->vif_script))
        return bad(c, c->lockfile && !*c->lockfile ? "lockfile" : "vif.default.script", "",
                   "a path");
    if (get_num(c, "max_grant_frames", 1, 65535, &c->max_grant_frames) < 0 ||
        get_num(c, "max_maptrack_frames", 0, 65535, &c->max_maptrack_frames) < 0 ||
        get_num(c, "claim_mode", 0, 1LL << 31, &c->claim_mode) < 0)
        return -EINVAL;
    return 0;
}

/* One CPU list in xl's syntax (the cpus= parser) into the mask's map; bits past the core's CPU
 * map (KEEL_CPUMAP_WORDS words) name CPUs no host of Keel has and are dropped. */
static int read_mask(kl_xl_conf *c, int m)
{
    kl_bitmap b = { 0, NULL };
    kl_diag *scratch;
    int rc;

    if (get_str(c, mask_keys[m], &c->mask[m].text) < 0)
        return -EINVAL;
    if (!c->mask[m].text)
        return 0;
    if (!(scratch = kl_diag_new()))
        return -ENOMEM;
    if ((rc = kl_cpulist_parse(&b, c->mask[m].text, scratch)) < 0) {
        char why[300];
        snprintf(why, sizeof(why), "a CPU list such as \"0-3,^2\" or \"all\": %s",
                 kl_diag_first_error(scratch) ? kl_diag_first_error(scratch) : "syntax");
        bad(c, mask_keys[m], c->mask[m].text, why);
    }
    kl_diag_free(scratch);
    for (unsigned i = 0; rc == 0 && i < KEEL_CPUMAP_WORDS * 64; i++)
        if (kl_bitmap_test(&b, i))
            c->mask[m].map[i / 64] |= 1ULL << (i % 64);
    free(b.map);
    return rc < 0 ? -EINVAL : 0;
}

/* Keys Xen's xl acts on that Keel accepts; notes where an operator would expect an effect. */
static int read_noted(kl_xl_conf *c)
{
    long long n = 1;
    const char *s;

    if (get_str(c, "domid_policy", &s) < 0)
        return -EINVAL;
    if (s && strcmp(s, "xen") && strcmp(s, "random"))
        return bad(c, "domid_policy", s, "\"xen\" or \"random\"");
    if (s && !strcmp(s, "random"))
        note(c, "domid_policy", "the core gives domain ids in order");
    if (get_str(c, "autoballoon", &s) < 0)
        return -EINVAL;
    if (s && strcmp(s, "on") && strcmp(s, "off") && strcmp(s, "auto") && strcmp(s, "0") &&
        strcmp(s, "1"))
        return bad(c, "autoballoon", s, "\"on\", \"off\" or \"auto\"");
    if (s && (!strcmp(s, "on") || !strcmp(s, "1")))
        note(c, "autoballoon", "Domain-0 is the host, which is never ballooned; guests' memory "
             "comes from the host's free memory");
    if (get_num(c, "run_hotplug_scripts", 0, 1LL << 31, &n) < 0)
        return -EINVAL;
    if (n == 0)
        note(c, "run_hotplug_scripts", "there is no udev path; the toolstack always runs the "
             "hotplug scripts");
    n = 1;
    if (get_num(c, "max_grant_version", 1, 2, &n) < 0)
        return -EINVAL;
    if (n == 2)
        note(c, "max_grant_version", "the core's grant tables are version 1 only");
    if (get_str(c, "output_format", &s) < 0)
        return -EINVAL;
    if (s && strcmp(s, "json") && strcmp(s, "sxp"))
        return bad(c, "output_format", s, "\"json\" or \"sxp\"");
    if (s && !strcmp(s, "sxp"))
        note(c, "output_format", "`xl list -l` prints JSON only");
    if (get_str(c, "vif.default.backend", &s) < 0)
        return -EINVAL;
    if (s && strcmp(s, "0") && strcmp(s, "Domain-0"))
        note(c, "vif.default.backend", "only Domain-0 serves network devices (keel-netback)");
    note(c, "remus.default.netbufscript", "Remus has no network buffering here");
    note(c, "colo.default.proxyscript", "COLO is not supported");
    note(c, "blkdev_start", "there is no bootloader that attaches disks to Domain-0");
    note(c, "bootloader_restrict", "there is no bootloader");
    note(c, "bootloader_user", "there is no bootloader");
    note(c, "vm.hvm.cpumask", "Keel's guests are paravirtual: vm.cpumask and vm.pv.cpumask "
         "apply to them");
    return 0;
}

int kl_xl_conf_load(kl_xl_conf **out, const char *path, kl_diag *d)
{
    kl_xl_conf *c = calloc(1, sizeof(*c));
    int rc = 0;

    *out = NULL;
    if (!c || !(c->path = strdup(path ? path : kl_xl_conf_default_path()))) {
        free(c);
        return -ENOMEM;
    }
    c->max_grant_frames = c->max_maptrack_frames = -1;
    c->claim_mode = 1;
    c->d = d;
    if (access(c->path, F_OK) == 0 || errno != ENOENT)     /* no file: the defaults */
        rc = kl_cfg_parse_file(&c->cfg, c->path, d);
    if (rc == 0 && c->cfg)
        rc = read_acting(c);
    for (int m = 0; rc == 0 && c->cfg && m < NMASKS; m++)
        rc = read_mask(c, m);
    if (rc == 0 && c->cfg)
        rc = read_noted(c);
    c->d = NULL;
    if (rc < 0) {
        kl_xl_conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void kl_xl_conf_free(kl_xl_conf *c)
{
    if (!c)
        return;
    kl_cfg_free(c->cfg);
    free(c->path);
    free(c);
}

const char *kl_xl_conf_path(const kl_xl_conf *c)
{
    return c ? c->path : kl_xl_conf_default_path();
}

bool kl_xl_conf_claim_mode(const kl_xl_conf *c)
{
    return !c || c->claim_mode != 0;
}

const char *kl_xl_conf_lockfile(const kl_xl_conf *c)
{
    return c ? c->lockfile : NULL;
}

const char *kl_xl_conf_notes(const kl_xl_conf *c)
{
    return c ? c->notes : "";
}

static int dup_default(char **field, const char *val)
{
    if (*field || !val)
        return 0;
    return (*field = strdup(val)) ? 0 : -ENOMEM;
}

int kl_xl_conf_apply_nic(const kl_xl_conf *c, kl_device_nic *nic)
{
    if (!c)
        return 0;
    if (dup_default(&nic->script, c->vif_script) < 0 ||
        dup_default(&nic->bridge, c->vif_bridge) < 0 ||
        dup_default(&nic->gatewaydev, c->vif_gatewaydev) < 0)
        return -ENOMEM;
    return 0;
}

int kl_xl_conf_apply_domain(const kl_xl_conf *c, kl_domain_config *dc)
{
    if (!c)
        return 0;
    for (int i = 0; i < dc->num_nics; i++)
        if (kl_xl_conf_apply_nic(c, &dc->nics[i]) < 0)
            return -ENOMEM;
    if (dc->b_info.max_grant_frames < 0 && c->max_grant_frames >= 0)
        dc->b_info.max_grant_frames = (int)c->max_grant_frames;
    if (dc->b_info.max_maptrack_frames < 0 && c->max_maptrack_frames >= 0)
        dc->b_info.max_maptrack_frames = (int)c->max_maptrack_frames;
    return 0;
}

/* ---- the global affinity masks (vm.cpumask, vm.pv.cpumask) ---- */
bool kl_xl_conf_cpumask_set(const kl_xl_conf *c)
{
    return c && (c->mask[MASK_VM].text || c->mask[MASK_PV].text);
}

int kl_xl_conf_cpumask_and(const kl_xl_conf *c, uint64_t map[KEEL_CPUMAP_WORDS])
{
    uint64_t any = 0;

    for (int m = MASK_VM; c && m <= MASK_PV; m++)
        for (unsigned w = 0; c->mask[m].text && w < KEEL_CPUMAP_WORDS; w++)
            map[w] &= c->mask[m].map[w];
    for (unsigned w = 0; w < KEEL_CPUMAP_WORDS; w++)
        any |= map[w];
    return any ? 0 : -ENOSPC;
}

void kl_xl_conf_cpumask_describe(const kl_xl_conf *c, char *buf, size_t len)
{
    size_t at = 0;

    if (!len)
        return;
    buf[0] = 0;
    for (int m = MASK_VM; c && m <= MASK_PV; m++) {
        int n;
        if (!c->mask[m].text || at >= len)
            continue;
        n = snprintf(buf + at, len - at, "%s%s=\"%s\"", at ? " and " : "", mask_keys[m],
                     c->mask[m].text);
        at += n > 0 ? (size_t)n : 0;
    }
    if (at < len)
        snprintf(buf + at, len - at, " in %s", kl_xl_conf_path(c));
}

static void bitmap_to_map(const kl_bitmap *b, uint64_t map[KEEL_CPUMAP_WORDS])
{
    memset(map, 0, sizeof(uint64_t) * KEEL_CPUMAP_WORDS);
    for (unsigned i = 0; i < KEEL_CPUMAP_WORDS * 64; i++)
        if (kl_bitmap_test(b, i))
            map[i / 64] |= 1ULL << (i % 64);
}

/* Make the hard affinity array name every vCPU: without cpus= there is none, and liblight gives
 * the vCPUs past a shorter list every CPU; those become explicit "all" entries to be masked.
 * One entry applies to every vCPU already (liblight's rule) and is kept as it is. */
static int hard_affinity_every_vcpu(kl_domain_build_info *b)
{
    int want = b->max_vcpus > 0 ? b->max_vcpus : 1, n = b->num_vcpu_hard_affinity;
    kl_bitmap *arr;

    if (n == 1 || n >= want)
        return 0;
    if (!(arr = realloc(b->vcpu_hard_affinity, (size_t)want * sizeof(*arr))))
        return -ENOMEM;
    b->vcpu_hard_affinity = arr;
    for (; n < want; n++) {
        arr[n] = (kl_bitmap){ 0, NULL };
        b->num_vcpu_hard_affinity = n + 1;
        if (kl_cpulist_parse(&arr[n], "all", NULL) < 0)
            return -ENOMEM;
    }
    return 0;
}

int kl_xl_conf_apply_cpumask(const kl_xl_conf *c, kl_domain_config *dc, char *err,
                             size_t errlen)
{
    kl_domain_build_info *b = &dc->b_info;
    char masks[600];

    if (!kl_xl_conf_cpumask_set(c))
        return 0;
    if (hard_affinity_every_vcpu(b) < 0) {
        snprintf(err, errlen, "domain '%s': out of memory", dc->c_info.name ? dc->c_info.name : "");
        return -ENOMEM;
    }
    for (int v = 0; v < b->num_vcpu_hard_affinity; v++) {
        kl_bitmap *h = &b->vcpu_hard_affinity[v];
        uint64_t map[KEEL_CPUMAP_WORDS];
        bitmap_to_map(h, map);
        if (kl_xl_conf_cpumask_and(c, map) < 0) {
            char *was = kl_bitmap_to_cpulist(h);
            kl_xl_conf_cpumask_describe(c, masks, sizeof(masks));
            snprintf(err, errlen, "domain '%s': vcpu hard affinity map is empty: vCPU %d's hard "
                     "affinity %s ANDed with the global affinity masks %s leaves no CPU",
                     dc->c_info.name ? dc->c_info.name : "", v, was ? was : "?", masks);
            free(was);
            return -ENOSPC;
        }
        for (unsigned i = 0; i < h->size * 8u; i++)
            if (kl_bitmap_test(h, i) && (i >= KEEL_CPUMAP_WORDS * 64 ||
                                         !(map[i / 64] >> (i % 64) & 1)))
                kl_bitmap_reset(h, i);
    }
    return 0;
}
