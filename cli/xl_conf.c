/* xl_conf.c - xl.conf, the host-wide settings of xl: read with liblight's xl.cfg parser (Xen's
 * grammar: KEY=VALUE, strings, numbers, booleans as numbers, lists), values checked, then used
 * as defaults where a domain's config leaves something unset (vif script, bridge and gateway
 * device, grant frame limits) and for the creation lock. Keys Xen's xl knows but Keel does not
 * act on are accepted; where Xen's documentation promises an effect, a note says why there is
 * none here (once, when a domain is created, or on every command with -v). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/kl_cfg.h"
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
    note("vm.cpumask", "vCPU affinity comes from the domain's config and xl vcpu-pin only");
    note("vm.pv.cpumask", "vCPU affinity comes from the domain's config and xl vcpu-pin only");
    note("vm.hvm.cpumask", "there are no HVM or PVH guests");
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
    if (rc == 0 && (read_acting(d) < 0 || read_noted(d) < 0))
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
