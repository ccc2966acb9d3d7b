/* cgroup.c - each domain's own cgroup: memory and task limits, CPU weight and cap for the
 * scheduler. Two layouts: cgroup v1 hierarchies (cpu, cpuacct, memory, pids under
 * /sys/fs/cgroup/<controller>), where the runner thread serving a domain's hypercalls also joins
 * its cpu cgroup, and the unified cgroup v2 hierarchy (Debian 12's default), where the domain's
 * process sits in a leaf <root>/keel/h<instance>/d<domid> with cpu, memory and pids enabled
 * above it (threads of another process cannot join it: the runner stays in keel-hv's). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "hv.h"
#include "cpupool.h"
#include "klog.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG1_MAGIC 0x27e0ebUL
#define CG2_MAGIC 0x63677270UL
static const char *const controllers[] = { "cpu", "cpuacct", "memory", "pids" };
#define NR_CTRL (sizeof(controllers) / sizeof(controllers[0]))

static int write_file(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = write(fd, val, strlen(val));
    close(fd);
    return n == (ssize_t)strlen(val) ? 0 : -errno;
}

static int mkdir_p(const char *path)
{
    char tmp[512];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    }
    return (mkdir(tmp, 0755) < 0 && errno != EEXIST) ? -errno : 0;
}

static bool fs_is(const char *path, unsigned long magic)
{
    struct statfs sf;

    return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == magic;
}

static int init_v1(void)
{
    char path[512];

    for (size_t i = 0; i < NR_CTRL; i++) {
        snprintf(path, sizeof(path), CG_ROOT "/%s", controllers[i]);
        if (!fs_is(path, CG1_MAGIC))
            continue;
        snprintf(path, sizeof(path), CG_ROOT "/%s/%s", controllers[i], hv.cgroup_base);
        if (mkdir_p(path) < 0) {
            klog_warn("cgroup", "cannot create %s: %s", path, strerror(errno));
            return -errno;
        }
        hv.cgroups = true;
        hv.cgroup_version = 1;
    }
    return 0;
}

/* Whether the space-separated LIST holds WORD. */
static bool has_word(const char *list, const char *word)
{
    size_t l = strlen(word);

    for (const char *p = list; (p = strstr(p, word)) != NULL; p += l)
        if ((p == list || p[-1] == ' ') && (p[l] == ' ' || p[l] == '\n' || p[l] == 0))
            return true;
    return false;
}

/* Enable cpu, memory and pids (those the kernel offers) for the children of DIR. */
static void enable_v2(const char *dir)
{
    static const char *const want[] = { "cpu", "memory", "pids" };
    char path[512], have[512] = "", req[64] = "";
    ssize_t n;
    int fd, rc;

    snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        if ((n = read(fd, have, sizeof(have) - 1)) > 0)
            have[n] = 0;
        close(fd);
    }
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        size_t l = strlen(req);
        if (has_word(have, want[i]))
            snprintf(req + l, sizeof(req) - l, "%s+%s", l ? " " : "", want[i]);
    }
    snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
    if (req[0] && (rc = write_file(path, req)) < 0)
        klog_warn("cgroup", "cannot enable '%s' in %s: %s", req, path, strerror(-rc));
}

static int init_v2(const char *root)
{
    char keel[300], base[512];
    int rc;

    snprintf(hv.cgroup_root, sizeof(hv.cgroup_root), "%s", root);
    snprintf(keel, sizeof(keel), "%s/keel", root);
    snprintf(base, sizeof(base), "%s/%s", root, hv.cgroup_base);
    if ((rc = mkdir_p(base)) < 0) {
        klog_warn("cgroup", "cannot create %s: %s", base, strerror(-rc));
        return rc;
    }
    enable_v2(root);
    enable_v2(keel);
    enable_v2(base);
    hv.cgroups = true;
    hv.cgroup_version = 2;
    return 0;
}

/* One instance per runtime directory, so that several hosts can run side by side. v1 wherever
 * its cpu hierarchy is mounted; else the unified hierarchy ($KEEL_CGROUP2_ROOT names another
 * cgroup2 mount, e.g. a hybrid layout's /sys/fs/cgroup/unified). */
int hv_cgroup_init(void)
{
    const char *v2 = getenv("KEEL_CGROUP2_ROOT");
    unsigned long h = 5381;
    int rc;

    for (const char *p = hv.rundir; *p; p++)
        h = h * 33 + (unsigned char)*p;
    snprintf(hv.cgroup_base, sizeof(hv.cgroup_base), "keel/h%08lx", h & 0xffffffffUL);
    hv.cgroups = false;
    hv.cgroup_version = 0;
    if (v2 && *v2) {
        if (!fs_is(v2, CG2_MAGIC)) {
            klog_err("cgroup", "KEEL_CGROUP2_ROOT=%s is not a cgroup2 mount", v2);
            return -EINVAL;
        }
        return init_v2(v2);
    }
    if ((rc = init_v1()) < 0 || hv.cgroups)
        return rc;
    if (fs_is(CG_ROOT, CG2_MAGIC))
        return init_v2(CG_ROOT);
    klog_warn("cgroup", "no cgroup hierarchy under " CG_ROOT ": domains run without cgroups");
    return 0;
}

/* v1: <root>/<ctrl>/<base>/d<domid>[/file]; v2: <root>/<base>/d<domid>[/file] */
static void ctrl_path(char *buf, size_t len, const char *ctrl, const struct hv_domain *d,
                      const char *file)
{
    if (hv.cgroup_version == 2)
        snprintf(buf, len, "%s/%s/d%u%s%s", hv.cgroup_root, hv.cgroup_base, d->domid,
                 file ? "/" : "", file ? file : "");
    else
        snprintf(buf, len, CG_ROOT "/%s/%s/d%u%s%s", ctrl, hv.cgroup_base, d->domid,
                 file ? "/" : "", file ? file : "");
}

static void set_limit(struct hv_domain *d, const char *ctrl, const char *file, const char *val)
{
    char path[512];

    ctrl_path(path, sizeof(path), ctrl, d, file);
    if (access(path, F_OK) == 0 && write_file(path, val) < 0)
        klog_warn("cgroup", "domain %u: cannot set %s to %s: %s", d->domid, path, val,
                  strerror(errno));
}

int hv_cgroup_create(struct hv_domain *d)
{
    char path[512], val[64];
    size_t n = hv.cgroup_version == 2 ? 1 : NR_CTRL;

    if (!hv.cgroups)
        return 0;
    for (size_t i = 0; i < n; i++) {
        ctrl_path(path, sizeof(path), controllers[i], d, NULL);
        if (mkdir(path, 0755) < 0 && errno != EEXIST && errno != ENOENT)
            return -errno;
    }
    snprintf(d->cgroup, sizeof(d->cgroup), "%s/d%u", hv.cgroup_base, d->domid);
    snprintf(val, sizeof(val), "%llu", (unsigned long long)(d->mem_size + (64ULL << 20)));
    set_limit(d, "memory", hv.cgroup_version == 2 ? "memory.max" : "memory.limit_in_bytes", val);
    snprintf(val, sizeof(val), "%u", d->max_vcpus + 4);
    set_limit(d, "pids", "pids.max", val);
    hv_cpuset_create(d);
    return 0;
}

/* Attach a process (all controllers) or one thread (cpu controllers only; v1 alone can). */
int hv_cgroup_attach(struct hv_domain *d, pid_t tid, bool cpu_only)
{
    char path[512], val[32];
    size_t n = hv.cgroup_version == 2 ? 1 : NR_CTRL;
    int rc;

    if (!hv.cgroups || !d->cgroup[0] || (cpu_only && hv.cgroup_version == 2))
        return 0;
    snprintf(val, sizeof(val), "%d", (int)tid);
    for (size_t i = 0; i < n; i++) {
        if (cpu_only && strncmp(controllers[i], "cpu", 3))
            continue;
        ctrl_path(path, sizeof(path), controllers[i], d, cpu_only ? "tasks" : "cgroup.procs");
        if (access(path, F_OK) < 0)
            continue;
        if ((rc = write_file(path, val)) < 0) {
            klog_err("cgroup", "domain %u: cannot join %s: %s", d->domid, path, strerror(-rc));
            return rc;
        }
    }
    return cpu_only ? 0 : hv_cpuset_attach(d, tid);
}

void hv_cgroup_remove(struct hv_domain *d)
{
    char path[512];
    size_t n = hv.cgroup_version == 2 ? 1 : NR_CTRL;

    if (!d->cgroup[0])
        return;
    hv_cpuset_remove(d);
    for (size_t i = 0; i < n; i++) {
        ctrl_path(path, sizeof(path), controllers[i], d, NULL);
        for (int tries = 0; tries < 100 && rmdir(path) < 0 && errno == EBUSY; tries++)
            usleep(1000);
    }
    d->cgroup[0] = 0;
}

static void rmdir_retry(const char *path)
{
    for (int tries = 0; tries < 100 && rmdir(path) < 0 && errno == EBUSY; tries++)
        usleep(1000);
}

/* At the core's exit, after every domain is gone: its own cgroup directories (keel/h<instance>
 * in each hierarchy, the cpuset one included), so a host started and stopped leaves none. */
void hv_cgroup_fini(void)
{
    char path[512];

    hv_cpupart_fini();                                /* rtds partitions, the root cpuset */
    if (hv.cgroup_version == 2) {
        snprintf(path, sizeof(path), "%s/%s", hv.cgroup_root, hv.cgroup_base);
        rmdir_retry(path);
    } else if (hv.cgroup_version == 1) {
        for (size_t i = 0; i < NR_CTRL; i++) {
            snprintf(path, sizeof(path), CG_ROOT "/%s/%s", controllers[i], hv.cgroup_base);
            rmdir_retry(path);
        }
    }
    snprintf(path, sizeof(path), CG_ROOT "/cpuset/%s", hv.cgroup_base);
    rmdir_retry(path);
}

/* Credit weight -> v1 cpu.shares (weight 256 = the default 1024 shares) or v2 cpu.weight
 * (256 = the default 100, within 1..10000); cap in percent of one CPU -> a CFS quota over a
 * 100 ms period (0: none). */
int hv_cgroup_set_sched(struct hv_domain *d, uint32_t weight, uint32_t cap)
{
    char path[512], val[48];
    int rc;

    if (!hv.cgroups || !d->cgroup[0])
        return -EOPNOTSUPP;
    if (hv.cgroup_version == 2) {
        unsigned long w = (unsigned long)weight * 100 / 256;
        ctrl_path(path, sizeof(path), "cpu", d, "cpu.weight");
        if (access(path, F_OK) < 0)
            return -EOPNOTSUPP;                      /* cpu not enabled for our subtree */
        snprintf(val, sizeof(val), "%lu", w < 1 ? 1 : w > 10000 ? 10000 : w);
        if ((rc = write_file(path, val)) < 0)
            return rc;
        ctrl_path(path, sizeof(path), "cpu", d, "cpu.max");
        if (cap)
            snprintf(val, sizeof(val), "%lu 100000", (unsigned long)cap * 1000);
        else
            snprintf(val, sizeof(val), "max 100000");
        return write_file(path, val);
    }
    ctrl_path(path, sizeof(path), "cpu", d, "cpu.shares");
    snprintf(val, sizeof(val), "%u", weight * 4 < 2 ? 2 : weight * 4);
    if ((rc = write_file(path, val)) < 0)
        return rc;
    ctrl_path(path, sizeof(path), "cpu", d, "cpu.cfs_period_us");
    if ((rc = write_file(path, "100000")) < 0)
        return rc;
    ctrl_path(path, sizeof(path), "cpu", d, "cpu.cfs_quota_us");
    snprintf(val, sizeof(val), "%ld", cap ? (long)cap * 1000 : -1L);
    return write_file(path, val);
}
