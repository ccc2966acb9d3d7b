/* xl_conf.c - xl.conf, the host-wide settings of xl, read at every start through liblight's
 * kl_xl_conf (liblight/config/xlconf.c, shared with keeld): this file keeps xl's one loaded
 * copy, prints the file's errors and notes, applies its defaults to the domains xl creates,
 * restores and attaches devices to, hands it to the context a migration receiver uses (global
 * affinity masks of the incoming domain), and holds the creation lock (lockfile). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xl_conf.h"

static struct {
    kl_xl_conf *conf;
    int notes_printed;
} xc;

const kl_xl_conf *xl_conf(void)
{
    return xc.conf;
}

int xl_conf_claim_mode(void)
{
    return kl_xl_conf_claim_mode(xc.conf);
}

const char *xl_conf_path(void)
{
    return kl_xl_conf_path(xc.conf);
}

static void print_notes(void)
{
    if (!xc.notes_printed)
        fputs(kl_xl_conf_notes(xc.conf), stderr);
    xc.notes_printed = 1;
}

int xl_conf_load(int verbose)
{
    kl_diag *d = kl_diag_new();
    int rc = kl_xl_conf_load(&xc.conf, NULL, d);

    if (d)
        kl_diag_print(d, stderr);
    kl_diag_free(d);
    if (rc < 0) {
        fprintf(stderr, "Failed to parse config file: %s: %s\n", kl_xl_conf_default_path(),
                rc == -EINVAL ? "invalid" : strerror(-rc));
        return rc;
    }
    if (verbose)
        print_notes();
    return 0;
}

int xl_conf_apply_nic(kl_device_nic *nic)
{
    if (kl_xl_conf_apply_nic(xc.conf, nic) < 0) {
        fprintf(stderr, "xl.conf: out of memory\n");
        return -ENOMEM;
    }
    return 0;
}

int xl_conf_apply_domain(kl_domain_config *dc)
{
    print_notes();
    if (kl_xl_conf_apply_domain(xc.conf, dc) < 0) {
        fprintf(stderr, "xl.conf: out of memory\n");
        return -ENOMEM;
    }
    return 0;
}

int xl_conf_lock(void)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    const char *rd = getenv("KEEL_RUNDIR");
    char def[4200];
    const char *path = kl_xl_conf_lockfile(xc.conf);
    int fd;

    if (!path) {
        snprintf(def, sizeof(def), "%s/xl.lock", rd && *rd ? rd : KEEL_DEFAULT_RUNDIR);
        path = def;
    }
    if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        int e = errno;
        if (!kl_xl_conf_lockfile(xc.conf) && e == ENOENT)
            return -ENOENT;    /* no runtime directory: no host either, create says so */
        fprintf(stderr, "cannot open the lockfile %s: %s\n", path, strerror(e));
        return -e;
    }
    while (fcntl(fd, F_SETLKW, &fl) < 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        fprintf(stderr, "cannot lock the lockfile %s: %s\n", path, strerror(e));
        close(fd);
        return -e;
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
    return kl_xl_conf_cpumask_set(xc.conf);
}

int xl_conf_cpumask_and(uint64_t map[KEEL_CPUMAP_WORDS])
{
    int rc = kl_xl_conf_cpumask_and(xc.conf, map);

    return rc < 0 ? rc : 0;
}

void xl_conf_cpumask_describe(char *buf, size_t len)
{
    kl_xl_conf_cpumask_describe(xc.conf, buf, len);
}

int xl_conf_apply_cpumask(kl_domain_config *dc)
{
    char err[1024];
    int rc = kl_xl_conf_apply_cpumask(xc.conf, dc, err, sizeof(err));

    if (rc == -ENOSPC)
        fprintf(stderr, "xl: %s (xl create -i and xl vcpu-pin -i ignore the masks)\n", err);
    else if (rc < 0)
        fprintf(stderr, "xl: %s\n", err);
    return rc < 0 ? rc : 0;
}
