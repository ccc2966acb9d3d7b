/* xl_conf.c - xl.conf, the host-wide settings of xl: read with liblight's xl.cfg parser (Xen's
 * grammar: KEY=VALUE, strings, numbers, booleans as numbers, lists), values checked, then used
 * as defaults where a domain's config leaves something unset (vif script, bridge and gateway
 * device, grant frame limits), for the creation lock, and as the global affinity masks
 * (vm.cpumask, vm.pv.cpumask) that create and vcpu-pin AND into a vCPU's hard affinity. Keys
 * Xen's xl knows but Keel does not act on are accepted; where Xen's documentation promises an
 * effect, a note says why there is none here (once, when a domain is created, or on every
 * command with -v). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/kl_cfg.h"
#include "keel/kl_config.h"
#include "xl_conf.h"

#ifndef KEEL_XL_CONF_INSTALLED
#define KEEL_XL_CONF_INSTALLED "/etc/keel/xl.conf"
#endif

static struct {
    const char *path;
    kl_cfg *cfg;
    const char *lockfile, *vif_script, *vif_bridge, *vif_gatewaydev;
    long long max_grant_frames, max_maptrack_frames;
    long long claim_mode;
    char notes[2048];
    size_t notes_len;
    int notes_printed;
} xc = { .max_grant_frames = -1, .max_maptrack_frames = -1, .claim_mode = 1 };

/* The global affinity masks, in Xen's order of application; absent = every CPU. Keel's guests
 * are paravirtual: vm.pv.cpumask applies to all of them, vm.hvm.cpumask to none. */
enum { MASK_VM, MASK_PV, MASK_HVM, NMASKS };
static struct cpumask {
    const char *key, *text;             /* text: the value as written, NULL when absent */
    uint64_t map[KEEL_CPUMAP_WORDS];
} masks[NMASKS] = { { "vm.cpumask", NULL, { 0 } }, { "vm.pv.cpumask", NULL, { 0 } },
                    { "vm.hvm.cpumask", NULL, { 0 } } };

int xl_conf_claim_mode(void)
{
    return xc.claim_mode != 0;
}

const char *xl_conf_path(void)
{
    const char *env = getenv("KEEL_XL_CONF");

    return env && *env ? env : KEEL_XL_CONF_INSTALLED;
}

static void note(const char *key, const char *why)
{
    const kl_cfg_value *v = kl_cfg_lookup(xc.cfg, key);
    int n;

    if (!v || xc.notes_len >= sizeof(xc.notes))
        return;
    n = snprintf(xc.notes + xc.notes_len, sizeof(xc.notes) - xc.notes_len,
                 "%s:%d: note: %s is accepted but has no effect in Keel: %s\n",
                 kl_cfg_value_file(v), kl_cfg_value_line(v), key, why);
    if (n > 0)
        xc.notes_len += (size_t)n;
    if (xc.notes_len > sizeof(xc.notes))
        xc.notes_len = sizeof(xc.notes);
}

/* A string key (a number is taken as written); NULL when absent. -1 for a list. */
static int get_str(const char *key, const char **out)
{
    const kl_cfg_value *v = kl_cfg_lookup(xc.cfg, key);

    *out = NULL;
    if (!v)
        return 0;
    if (!(*out = kl_cfg_value_text(v))) {
        fprintf(stderr, "%s:%d: %s: a string is expected, not a list\n", kl_cfg_value_file(v),
                kl_cfg_value_line(v), key);
        return -1;
    }
    return 0;
}

static int bad(const char *key, const char *val, const char *expect)
{
    const kl_cfg_value *v = kl_cfg_lookup(xc.cfg, key);

    fprintf(stderr, "%s:%d: %s: invalid value \"%s\" (%s)\n", kl_cfg_value_file(v),
            kl_cfg_value_line(v), key, val, expect);
    return -1;
}

/* A number key in [min, max]; *out untouched when absent. */
static int get_num(const char *key, long long min, long long max, long long *out, kl_diag *d)
{
    int rc = kl_cfg_get_long(xc.cfg, key, min, max, out, d);

    return rc == -ENOENT ? 0 : rc;
}

/* The keys that steer something here. */
static int read_acting(kl_diag *d)
{
    const char *s;

    if (get_str("lockfile", &xc.lockfile) < 0 || get_str("vifscript", &xc.vif_script) < 0 ||
        get_str("defaultbridge", &xc.vif_bridge) < 0 ||
        get_str("vif.default.gatewaydev", &xc.vif_gatewaydev) < 0)
        return -1;
    if (get_str("vif.default.script", &s) < 0)      /* the new name wins over vifscript */
        return -1;
    if (s)
        xc.vif_script = s;
    if (get_str("vif.default.bridge", &s) < 0)
        return -1;
    if (s)
        xc.vif_bridge = s;
    if ((xc.lockfile && !*xc.lockfile) || (xc.vif_script && !*xc.vif_script))
        return bad(xc.lockfile && !*xc.lockfile ? "lockfile" : "vif.default.script", "",
                   "a path");
    if (get_num("max_grant_frames", 1, 65535, &xc.max_grant_frames, d) < 0 ||
        get_num("max_maptrack_frames", 0, 65535, &xc.max_maptrack_frames, d) < 0)
        return -1;
    return 0;
}

/* One CPU list in xl's syntax (liblight's cpus= parser) into m->map; bits past the core's
 * CPU map (KEEL_CPUMAP_WORDS words) name CPUs no host of Keel has and are dropped. */
static int read_mask(struct cpumask *m)
{
    kl_bitmap b = { 0, NULL };
    kl_diag *scratch;
    int rc;

    if (get_str(m->key, &m->text) < 0)
        return -1;
    if (!m->text)
        return 0;
    if (!(scratch = kl_diag_new()))
        return -1;
    if ((rc = kl_cpulist_parse(&b, m->text, scratch)) < 0) {
        char why[300];
        snprintf(why, sizeof(why), "a CPU list such as \"0-3,^2\" or \"all\": %s",
                 kl_diag_first_error(scratch) ? kl_diag_first_error(scratch) : "syntax");
        bad(m->key, m->text, why);
    }
    kl_diag_free(scratch);
    for (unsigned i = 0; rc == 0 && i < KEEL_CPUMAP_WORDS * 64; i++)
        if (kl_bitmap_test(&b, i))
            m->map[i / 64] |= 1ULL << (i % 64);
    free(b.map);
    return rc < 0 ? -1 : 0;
}

static int read_masks(void)
{
    for (int i = 0; i < NMASKS; i++)
        if (read_mask(&masks[i]) < 0)
            return -1;
    return 0;
}

/* Keys Xen's xl acts on that Keel accepts; notes where an operator would expect an effect. */
static int read_noted(kl_diag *d)
{
    long long n = 1;
    const char *s;

    if (get_str("domid_policy", &s) < 0)
        return -1;
    if (s && strcmp(s, "xen") && strcmp(s, "random"))
        return bad("domid_policy", s, "\"xen\" or \"random\"");
    if (s && !strcmp(s, "random"))
        note("domid_policy", "the core gives domain ids in order");
    if (get_str("autoballoon", &s) < 0)
        return -1;
    if (s && strcmp(s, "on") && strcmp(s, "off") && strcmp(s, "auto") && strcmp(s, "0") &&
        strcmp(s, "1"))
        return bad("autoballoon", s, "\"on\", \"off\" or \"auto\"");
    if (s && (!strcmp(s, "on") || !strcmp(s, "1")))
        note("autoballoon", "Domain-0 is the host, which is never ballooned; guests' memory "
             "comes from the host's free memory");
    if (get_num("run_hotplug_scripts", 0, 1LL << 31, &n, d) < 0)
        return -1;
    if (n == 0)
        note("run_hotplug_scripts", "there is no udev path; the toolstack always runs the "
             "hotplug scripts");
    if (get_num("claim_mode", 0, 1LL << 31, &xc.claim_mode, d) < 0)    /* xl_create.c */
        return -1;
    n = 1;
    if (get_num("max_grant_version", 1, 2, &n, d) < 0)
        return -1;
    if (n == 2)
        note("max_grant_version", "the core's grant tables are version 1 only");
    if (get_str("output_format", &s) < 0)
        return -1;
    if (s && strcmp(s, "json") && strcmp(s, "sxp"))
        return bad("output_format", s, "\"json\" or \"sxp\"");
    if (s && !strcmp(s, "sxp"))
        note("output_format", "`xl list -l` prints JSON only");
    if (get_str("vif.default.backend", &s) < 0)
        return -1;
    if (s && strcmp(s, "0") && strcmp(s, "Domain-0"))
        note("vif.default.backend", "only Domain-0 serves network devices (keel-netback)");
    note("remus.default.netbufscript", "Remus has no network buffering here");
    note("colo.default.proxyscript", "COLO is not supported");
    note("blkdev_start", "there is no bootloader that attaches disks to Domain-0");
    note("bootloader_restrict", "there is no bootloader");
    note("bootloader_user", "there is no bootloader");
    note("vm.hvm.cpumask", "Keel's guests are paravirtual: vm.cpumask and vm.pv.cpumask "
         "apply to them");
    return 0;
}

int xl_conf_load(int verbose)
{
    kl_diag *d = kl_diag_new();
    int rc;

    xc.path = xl_conf_path();
    if (access(xc.path, F_OK) < 0 && errno == ENOENT) {
        kl_diag_free(d);
        return 0;
    }
    rc = kl_cfg_parse_file(&xc.cfg, xc.path, d);
    if (rc == 0 && (read_acting(d) < 0 || read_masks() < 0 || read_noted(d) < 0))
        rc = -EINVAL;
    if (d)
        kl_diag_print(d, stderr);
    kl_diag_free(d);
    if (rc < 0) {
        fprintf(stderr, "Failed to parse config file: %s: %s\n", xc.path,
                rc == -EINVAL ? "invalid" : strerror(-rc));
        return -1;
    }
    if (verbose && xc.notes_len) {
        fwrite(xc.notes, 1, xc.notes_len, stderr);
        xc.notes_printed = 1;
    }
    return 0;
}

static int dup_default(char **field, const char *val)
{
    if (*field || !val)
        return 0;
    return (*field = strdup(val)) ? 0 : -ENOMEM;
}

int xl_conf_apply_nic(kl_device_nic *nic)
{
    if (dup_default(&nic->script, xc.vif_script) < 0 ||
        dup_default(&nic->bridge, xc.vif_bridge) < 0 ||
        dup_default(&nic->gatewaydev, xc.vif_gatewaydev) < 0) {
        fprintf(stderr, "xl.conf: out of memory\n");
        return -1;
    }
    return 0;
}

int xl_conf_apply_domain(kl_domain_config *dc)
{
    if (xc.notes_len && !xc.notes_printed) {
        fwrite(xc.notes, 1, xc.notes_len, stderr);
        xc.notes_printed = 1;
    }
    for (int i = 0; i < dc->num_nics; i++)
        if (xl_conf_apply_nic(&dc->nics[i]) < 0)
            return -1;
    if (dc->b_info.max_grant_frames < 0 && xc.max_grant_frames >= 0)
        dc->b_info.max_grant_frames = (int)xc.max_grant_frames;
    if (dc->b_info.max_maptrack_frames < 0 && xc.max_maptrack_frames >= 0)
        dc->b_info.max_maptrack_frames = (int)xc.max_maptrack_frames;
    return 0;
}

int xl_conf_lock(void)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    const char *rd = getenv("KEEL_RUNDIR");
    char def[4200];
    const char *path = xc.lockfile;
    int fd;

    if (!path) {
        snprintf(def, sizeof(def), "%s/xl.lock", rd && *rd ? rd : KEEL_DEFAULT_RUNDIR);
        path = def;
    }
    if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        if (!xc.lockfile && errno == ENOENT)
            return -2;         /* no runtime directory: no host either, create says so */
        fprintf(stderr, "cannot open the lockfile %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fcntl(fd, F_SETLKW, &fl) < 0) {
        if (errno == EINTR)
            continue;
        fprintf(stderr, "cannot lock the lockfile %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void xl_conf_unlock(int fd)
{
    if (fd >= 0)
        close(fd);             /* closing drops the record lock */
}

/* ---- the global affinity masks (vm.cpumask, vm.pv.cpumask) ---- */
bool xl_conf_cpumask_set(void)
{
    return masks[MASK_VM].text || masks[MASK_PV].text;
}

int xl_conf_cpumask_and(uint64_t map[KEEL_CPUMAP_WORDS])
{
    uint64_t any = 0;

    for (int m = MASK_VM; m <= MASK_PV; m++)
        for (unsigned w = 0; masks[m].text && w < KEEL_CPUMAP_WORDS; w++)
            map[w] &= masks[m].map[w];
    for (unsigned w = 0; w < KEEL_CPUMAP_WORDS; w++)
        any |= map[w];
    return any ? 0 : -1;
}

void xl_conf_cpumask_describe(char *buf, size_t len)
{
    size_t at = 0;

    buf[0] = 0;
    for (int m = MASK_VM; m <= MASK_PV; m++) {
        int n;
        if (!masks[m].text || at >= len)
            continue;
        n = snprintf(buf + at, len - at, "%s%s=\"%s\"", at ? " and " : "", masks[m].key,
                     masks[m].text);
        at += n > 0 ? (size_t)n : 0;
    }
    if (at < len)
        snprintf(buf + at, len - at, " in %s", xc.path ? xc.path : xl_conf_path());
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

int xl_conf_apply_cpumask(kl_domain_config *dc)
{
    kl_domain_build_info *b = &dc->b_info;
    char masks_desc[600];

    if (!xl_conf_cpumask_set())
        return 0;
    if (hard_affinity_every_vcpu(b) < 0) {
        fprintf(stderr, "xl.conf: out of memory\n");
        return -1;
    }
    for (int v = 0; v < b->num_vcpu_hard_affinity; v++) {
        kl_bitmap *h = &b->vcpu_hard_affinity[v];
        uint64_t map[KEEL_CPUMAP_WORDS];
        bitmap_to_map(h, map);
        if (xl_conf_cpumask_and(map) < 0) {
            char *was = kl_bitmap_to_cpulist(h);
            xl_conf_cpumask_describe(masks_desc, sizeof(masks_desc));
            fprintf(stderr, "xl: domain '%s': vcpu hard affinity map is empty: vCPU %d's hard "
                    "affinity %s ANDed with the global affinity masks %s leaves no CPU (xl "
                    "create -i and xl vcpu-pin -i ignore the masks)\n", dc->c_info.name ? dc->c_info.name : "", v,
                    was ? was : "?", masks_desc);
            free(was);
            return -1;
        }
        for (unsigned i = 0; i < h->size * 8u; i++)
            if (kl_bitmap_test(h, i) && (i >= KEEL_CPUMAP_WORDS * 64 ||
                                         !(map[i / 64] >> (i % 64) & 1)))
                kl_bitmap_reset(h, i);
    }
    return 0;
}
