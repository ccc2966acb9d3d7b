/* cpupool_cg.c - each domain's cpuset cgroup, holding its cpupool's CPUs: with cgroup v1 a
 * directory <cpuset mount>/keel/h<instance>/d<domid> of the cpuset hierarchy (the parents get
 * the root's CPUs and memory nodes, as v1 needs both set before a task may join), with the
 * unified v2 hierarchy the domain's own leaf, cpuset being enabled above it. Without a cpuset
 * controller the thread affinities alone confine the vCPUs (cpupool.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "hv.h"
#include "cpupool.h"
#include "klog.h"

#define CS1_ROOT "/sys/fs/cgroup/cpuset"
#define CG1_MAGIC 0x27e0ebUL

static int cs_version;                   /* 1, 2, or 0: no cpuset controller */

static int put(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = write(fd, val, strlen(val));
    if (n < 0)
        n = -errno;
    close(fd);
    return n == (ssize_t)strlen(val) ? 0 : (n < 0 ? (int)n : -EIO);
}

static int get(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    buf[0] = 0;
    if (fd < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -errno;
    buf[n] = 0;
    if (n && buf[n - 1] == '\n')
        buf[n - 1] = 0;
    return 0;
}

/* v1: a directory with cpus and mems copied from its parent when empty. One made below keel/
 * does not balance load by itself (no effect while the root cpuset balances; with an rtds
 * partition only the partitions and keel/balance do, cpupool_part.c). */
static int v1_dir(const char *dir, const char *parent)
{
    static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
    char p[800], v[1024];

    if (mkdir(dir, 0755) == 0) {
        snprintf(p, sizeof(p), "%s/cpuset.sched_load_balance", dir);
        if (strcmp(parent, CS1_ROOT))
            put(p, "0");
    } else if (errno != EEXIST) {
        return -errno;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        if (get(p, v, sizeof(v)) == 0 && v[0])
            continue;
        snprintf(p, sizeof(p), "%s/%s", parent, files[i]);
        if (get(p, v, sizeof(v)) < 0 || !v[0])
            return -ENOENT;
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        if (put(p, v) < 0)
            return -errno;
    }
    return 0;
}

static void v2_enable(const char *dir)
{
    char p[700], v[512];

    snprintf(p, sizeof(p), "%s/cgroup.controllers", dir);
    if (get(p, v, sizeof(v)) < 0 || !strstr(v, "cpuset"))
        return;
    snprintf(p, sizeof(p), "%s/cgroup.subtree_control", dir);
    put(p, "+cpuset");
}

void hv_cpuset_init(void)
{
    struct statfs sf;
    char dir[600], parent[700], *s;

    cs_version = 0;
    if (hv.cgroup_version == 2) {
        snprintf(dir, sizeof(dir), "%s", hv.cgroup_root);
        v2_enable(dir);
        snprintf(dir, sizeof(dir), "%s/keel", hv.cgroup_root);
        v2_enable(dir);
        snprintf(dir, sizeof(dir), "%s/%s", hv.cgroup_root, hv.cgroup_base);
        v2_enable(dir);
        snprintf(parent, sizeof(parent), "%s/cgroup.subtree_control", dir);
        if (get(parent, dir, sizeof(dir)) == 0 && strstr(dir, "cpuset"))
            cs_version = 2;
    } else if (hv.cgroup_version == 1 && statfs(CS1_ROOT, &sf) == 0 &&
               (unsigned long)sf.f_type == CG1_MAGIC) {
        snprintf(dir, sizeof(dir), CS1_ROOT "/%s", hv.cgroup_base);
        /* each component in turn: keel, then keel/h<instance> */
        for (s = strchr(dir + strlen(CS1_ROOT) + 1, '/');; s = strchr(s + 1, '/')) {
            if (s)
                *s = 0;
            snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(dir, '/') - dir), dir);
            if (v1_dir(dir, parent) < 0) {
                klog_warn("cpupool", "cpuset %s: %s: vCPUs confined by affinity only", dir,
                          strerror(errno));
                return;
            }
            if (!s)
                break;
            *s = '/';
        }
        cs_version = 1;
    }
    if (!cs_version)
        klog_info("cpupool", "no cpuset controller: vCPUs confined by thread affinity only");
}

int hv_cpuset_version(void)
{
    return cs_version;
}

static void dom_dir(const struct hv_domain *d, char *buf, size_t len)
{
    if (cs_version == 2)
        snprintf(buf, len, "%s/%s/d%u", hv.cgroup_root, hv.cgroup_base, d->domid);
    else
        snprintf(buf, len, CS1_ROOT "/%s/d%u", hv.cgroup_base, d->domid);
}

void hv_cpuset_text(const uint64_t cpus[KEEL_CPUMAP_WORDS], char *buf, size_t len)
{
    size_t n = 0;

    buf[0] = 0;
    for (int i = 0; i < 64 * KEEL_CPUMAP_WORDS && n + 8 < len; i++)
        if ((cpus[i / 64] >> (i % 64)) & 1)
            n += (size_t)snprintf(buf + n, len - n, "%s%d", n ? "," : "", i);
}

void hv_cpuset_set(struct hv_domain *d, const uint64_t cpus[KEEL_CPUMAP_WORDS])
{
    char dir[600], path[640], v[700];
    int rc;

    if (!cs_version || !d->cgroup[0])
        return;
    dom_dir(d, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/cpuset.cpus", dir);
    hv_cpuset_text(cpus, v, sizeof(v));
    if ((rc = put(path, v)) < 0)
        klog_warn("cpupool", "domain %u: cannot write %s to %s: %s", d->domid, v, path,
                  strerror(-rc));
}

void hv_cpuset_create(struct hv_domain *d)
{
    const struct hv_pool *p = hv_cpupool_get(d->cpupool);
    char dir[600], parent[600];

    if (cs_version == 1) {
        dom_dir(d, dir, sizeof(dir));
        snprintf(parent, sizeof(parent), CS1_ROOT "/%s", hv.cgroup_base);
        if (v1_dir(dir, parent) < 0) {
            klog_warn("cpupool", "domain %u: cpuset %s: %s", d->domid, dir, strerror(errno));
            return;
        }
    }
    if (p)
        hv_cpuset_set(d, p->cpus);
}

int hv_cpuset_attach(struct hv_domain *d, pid_t pid)
{
    char path[640], val[32];
    int rc;

    if (cs_version != 1 || !d->cgroup[0])
        return 0;                              /* v2: the process is in its leaf already */
    dom_dir(d, path, sizeof(path));
    strcat(path, "/cgroup.procs");
    snprintf(val, sizeof(val), "%d", (int)pid);
    if ((rc = put(path, val)) < 0)
        klog_warn("cpupool", "domain %u: cannot join %s: %s", d->domid, path, strerror(-rc));
    return 0;
}

void hv_cpuset_remove(struct hv_domain *d)
{
    char dir[600];

    if (cs_version != 1)
        return;
    dom_dir(d, dir, sizeof(dir));
    for (int tries = 0; tries < 100 && rmdir(dir) < 0 && errno == EBUSY; tries++)
        usleep(1000);
}
