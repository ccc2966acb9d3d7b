/* cgroup.c - each domain's own cgroup (v1 hierarchies cpu, cpuacct, memory, pids): memory and
 * task limits now, CPU weight and cap for the scheduler. The runner thread that serves a domain's
 * hypercalls joins its cpu cgroup, so a guest's hypercall load is charged to the guest. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv.h"
#include "klog.h"

#define CG_ROOT "/sys/fs/cgroup"
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

/* One instance per runtime directory, so that several hosts can run side by side. */
int hv_cgroup_init(void)
{
    unsigned long h = 5381;
    char path[512];
    struct stat st;

    for (const char *p = hv.rundir; *p; p++)
        h = h * 33 + (unsigned char)*p;
    snprintf(hv.cgroup_base, sizeof(hv.cgroup_base), "keel/h%08lx", h & 0xffffffffUL);
    hv.cgroups = false;
    for (size_t i = 0; i < NR_CTRL; i++) {
        snprintf(path, sizeof(path), CG_ROOT "/%s", controllers[i]);
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        snprintf(path, sizeof(path), CG_ROOT "/%s/%s", controllers[i], hv.cgroup_base);
        if (mkdir_p(path) < 0) {
            klog_warn("cgroup", "cannot create %s: %s", path, strerror(errno));
            return -errno;
        }
        hv.cgroups = true;
    }
    if (!hv.cgroups)
        klog_warn("cgroup", "no cgroup v1 hierarchies under " CG_ROOT ": domains run without cgroups");
    return 0;
}

static void ctrl_path(char *buf, size_t len, const char *ctrl, const struct hv_domain *d,
                      const char *file)
{
    snprintf(buf, len, CG_ROOT "/%s/%s/d%u%s%s", ctrl, hv.cgroup_base, d->domid, file ? "/" : "",
             file ? file : "");
}

int hv_cgroup_create(struct hv_domain *d)
{
    char path[512], val[64];

    if (!hv.cgroups)
        return 0;
    for (size_t i = 0; i < NR_CTRL; i++) {
        ctrl_path(path, sizeof(path), controllers[i], d, NULL);
        if (access(CG_ROOT, F_OK) == 0 && mkdir(path, 0755) < 0 && errno != EEXIST &&
            errno != ENOENT)
            return -errno;
    }
    snprintf(d->cgroup, sizeof(d->cgroup), "%s/d%u", hv.cgroup_base, d->domid);
    ctrl_path(path, sizeof(path), "memory", d, "memory.limit_in_bytes");
    snprintf(val, sizeof(val), "%llu", (unsigned long long)(d->mem_size + (64ULL << 20)));
    if (access(path, F_OK) == 0 && write_file(path, val) < 0)
        klog_warn("cgroup", "domain %u: cannot set memory limit", d->domid);
    ctrl_path(path, sizeof(path), "pids", d, "pids.max");
    snprintf(val, sizeof(val), "%u", d->max_vcpus + 4);
    if (access(path, F_OK) == 0 && write_file(path, val) < 0)
        klog_warn("cgroup", "domain %u: cannot set pids limit", d->domid);
    return 0;
}

/* Attach a process (all controllers) or one thread (cpu controllers only). */
int hv_cgroup_attach(struct hv_domain *d, pid_t tid, bool cpu_only)
{
    char path[512], val[32];
    int rc;

    if (!hv.cgroups || !d->cgroup[0])
        return 0;
    snprintf(val, sizeof(val), "%d", (int)tid);
    for (size_t i = 0; i < NR_CTRL; i++) {
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
    return 0;
}

void hv_cgroup_remove(struct hv_domain *d)
{
    char path[512];

    if (!d->cgroup[0])
        return;
    for (size_t i = 0; i < NR_CTRL; i++) {
        ctrl_path(path, sizeof(path), controllers[i], d, NULL);
        for (int tries = 0; tries < 100 && rmdir(path) < 0 && errno == EBUSY; tries++)
            usleep(1000);
    }
    d->cgroup[0] = 0;
}

/* Credit weight -> cpu.shares (weight 256 = the default 1024 shares); cap in percent of one
 * CPU -> a CFS quota over a 100 ms period (0: none). */
int hv_cgroup_set_sched(struct hv_domain *d, uint32_t weight, uint32_t cap)
{
    char path[512], val[32];
    int rc;

    if (!hv.cgroups || !d->cgroup[0])
        return -EOPNOTSUPP;
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
