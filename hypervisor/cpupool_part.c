/* cpupool_part.c - an rtds cpupool as a scheduling partition of its own (cgroup v1 cpuset), so
 * that Linux admits SCHED_DEADLINE for its vCPU threads: Linux refuses it to a thread whose
 * allowed CPUs do not cover its CPU's whole root domain, and with the root cpuset balancing load
 * there is one root domain holding every CPU. While at least one Keel rtds pool holds CPUs:
 *   - the root cpuset's cpuset.sched_load_balance is 0 (it was 1; Keel restores it when the last
 *     such pool goes away, at the latest when its core exits or the next core starts);
 *   - <cpuset>/keel and everything below it do not balance themselves (their flag is 0; it has
 *     no effect while the root balances), except:
 *   - <cpuset>/keel/h<instance>/p<pool>: the pool's CPUs, load balanced: one root domain each;
 *   - <cpuset>/keel/balance: every other CPU of the host, load balanced: the rest of the host
 *     stays one root domain. No task is in either; Linux builds its domains from the flags.
 * A cpuset outside Keel's that balances load over a pool's CPUs (or another Keel host's
 * partition overlapping it) would merge them back: the pool is then not partitioned, with the
 * reason kept for the console message (hv_cpupart_why). The root cpuset found already not
 * balancing (the host's own partitioning) is left alone, and so is the pool. Host-wide changes
 * are serialised by flock on <cpuset>/keel; each core holds a shared flock on its partitions'
 * directories, so a partition whose core died is recognised and removed. cgroup v2 (cpuset.cpus.
 * partition) is not done: the domains' leaves would have to move under the partition. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv.h"
#include "cpupool.h"
#include "klog.h"

#define CS1 "/sys/fs/cgroup/cpuset"
#define KDIR CS1 "/keel"
#define BALANCE KDIR "/balance"
#define NBITS (64 * KEEL_CPUMAP_WORDS)

static int part_fd[KEEL_CPUPOOL_MAX];         /* held with a shared flock; -1: none */
static bool standalone;                       /* keel-hv --reap-partitions: no core, no console */
static char part_why[KEEL_CPUPOOL_MAX][200];

typedef uint64_t cpumap[KEEL_CPUMAP_WORDS];

static int put(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC), rc;
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = write(fd, val, strlen(val));
    rc = n < 0 ? -errno : n != (ssize_t)strlen(val) ? -EIO : 0;
    close(fd);
    return rc;
}

static int get(const char *dir, const char *file, char *buf, size_t len)
{
    char path[600];
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    buf[0] = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -errno;
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

static int set(const char *dir, const char *file, const char *val)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return put(path, val);
}

/* "0-3,6" -> map; anything malformed reads as no CPU. */
static void parse_list(const char *s, cpumap m)
{
    memset(m, 0, sizeof(cpumap));
    while (*s) {
        char *e;
        unsigned long a = strtoul(s, &e, 10), b = a;
        if (e == s)
            return;
        if (*e == '-' && (s = e + 1, b = strtoul(s, &e, 10), e == s))
            return;
        for (unsigned long i = a; i <= b && i < NBITS; i++)
            m[i / 64] |= 1ULL << (i % 64);
        s = *e == ',' ? e + 1 : e;
        if (*e && *e != ',')
            return;
    }
}

static void dir_cpus(const char *dir, cpumap m)
{
    char v[1024];

    get(dir, "cpuset.cpus", v, sizeof(v));
    parse_list(v, m);
}

static bool meets(const cpumap a, const cpumap b)
{
    for (int w = 0; w < KEEL_CPUMAP_WORDS; w++)
        if (a[w] & b[w])
            return true;
    return false;
}

static bool balances(const char *dir)
{
    char v[16];

    return get(dir, "cpuset.sched_load_balance", v, sizeof(v)) == 0 && v[0] == '1';
}

static bool is_subdir(const char *parent, const struct dirent *e, char *path, size_t len)
{
    struct stat st;

    if (e->d_name[0] == '.')
        return false;
    if ((size_t)snprintf(path, len, "%s/%s", parent, e->d_name) >= len)
        return false;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A cpuset outside Keel's that Linux would make a root domain meeting s (as the kernel walks:
 * a balancing cpuset counts with its subtree, one that does not is looked into). */
static bool foreign_meets(const char *dir, const cpumap s, char *who, size_t len)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[600];
    bool hit = false;

    while (dp && !hit && (e = readdir(dp)))
        if (is_subdir(dir, e, path, sizeof(path)) && strcmp(path, KDIR)) {
            cpumap c;
            dir_cpus(path, c);
            if (balances(path) && meets(c, s))
                hit = snprintf(who, len, "%s", path) > 0;
            else if (!balances(path))
                hit = foreign_meets(path, s, who, len);
        }
    if (dp)
        closedir(dp);
    return hit;
}

/* Call f on every partition directory keel/h<x>/p<n> of every Keel host. */
static void each_part(void (*f)(const char *path, void *arg), void *arg)
{
    DIR *top = opendir(KDIR), *h;
    struct dirent *e, *p;
    char hdir[600], pdir[600];

    while (top && (e = readdir(top)))
        if (e->d_name[0] == 'h' && is_subdir(KDIR, e, hdir, sizeof(hdir)) && (h = opendir(hdir))) {
            while ((p = readdir(h)))
                if (p->d_name[0] == 'p' && is_subdir(hdir, p, pdir, sizeof(pdir)))
                    f(pdir, arg);
            closedir(h);
        }
    if (top)
        closedir(top);
}

/* A partition whose core is gone (nobody holds its shared lock) is removed. */
static void reap_one(const char *path, void *arg)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    (void)arg;
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
        close(fd);
        if (rmdir(path) == 0)
            klog_info("cpupool", "removed %s, the partition of a core that is gone", path);
        return;
    }
    if (fd >= 0)
        close(fd);
}

struct scan { cpumap all; const char *skip; cpumap s; char who[600]; };

static void union_one(const char *path, void *arg)
{
    struct scan *sc = arg;
    cpumap c;

    dir_cpus(path, c);
    for (int w = 0; w < KEEL_CPUMAP_WORDS; w++)
        sc->all[w] |= c[w];
    /* another host's partition overlapping ours without being the same CPUs would merge */
    if (sc->skip && strcmp(path, sc->skip) && meets(c, sc->s) && memcmp(c, sc->s, sizeof(c)))
        snprintf(sc->who, sizeof(sc->who), "%s", path);
}

/* keel/balance gets the host's CPUs outside every partition; with none left, the root cpuset
 * balances load again and keel/balance goes. Under the host lock. */
static void rebalance(void)
{
    struct scan sc = { .skip = NULL };
    cpumap root, rest;
    char txt[1024];
    bool any = false;

    each_part(reap_one, NULL);
    each_part(union_one, &sc);
    for (int w = 0; w < KEEL_CPUMAP_WORDS; w++)
        any |= sc.all[w] != 0;
    if (access(BALANCE, F_OK) < 0)
        return;                                   /* not Keel's doing: nothing to restore */
    if (!any) {
        set(CS1, "cpuset.sched_load_balance", "1");
        set(KDIR, "cpuset.sched_load_balance", "1");
        rmdir(BALANCE);
        if (!standalone)
            hv_printk("cpupool: no rtds partition left: the root cpuset balances load over every "
                      "CPU again");
        klog_info("cpupool", CS1 "/cpuset.sched_load_balance restored to 1 (no rtds partition "
                  "left)");
        return;
    }
    dir_cpus(CS1, root);
    for (int w = 0; w < KEEL_CPUMAP_WORDS; w++)
        rest[w] = root[w] & ~sc.all[w];
    hv_cpuset_text(rest, txt, sizeof(txt));
    set(BALANCE, "cpuset.cpus", txt[0] ? txt : "\n");
}

/* Every Keel cpuset stops balancing by itself (keel, its h<instance> and their d<domid>): only partitions and
 * keel/balance do, once the root does not. */
static void quiet_tree(const char *dir, int depth)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char path[600];

    set(dir, "cpuset.sched_load_balance", "0");
    while (depth < 2 && dp && (e = readdir(dp)))
        if (is_subdir(dir, e, path, sizeof(path)) && e->d_name[0] != 'p' && strcmp(path, BALANCE))
            quiet_tree(path, depth + 1);
    if (dp)
        closedir(dp);
}

static int mkcpuset(const char *dir, const char *cpus)
{
    char mems[256];
    int rc;

    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    if ((rc = get(CS1, "cpuset.mems", mems, sizeof(mems))) < 0 ||
        (rc = set(dir, "cpuset.mems", mems)) < 0)
        return rc;
    return set(dir, "cpuset.cpus", cpus[0] ? cpus : "\n");
}

static void drop(uint32_t id)
{
    char dir[600];

    if (part_fd[id] < 0)
        return;
    close(part_fd[id]);
    part_fd[id] = -1;
    snprintf(dir, sizeof(dir), CS1 "/%s/p%u", hv.cgroup_base, id);
    for (int tries = 0; tries < 100 && rmdir(dir) < 0 && errno == EBUSY; tries++)
        usleep(1000);
    hv_printk("cpupool %u: its scheduling partition %s removed", id, dir);
}

/* Under the host lock: make or move pool id's partition to s. */
static int establish(uint32_t id, const cpumap s)
{
    char dir[600], txt[1024], root_lb[16];
    struct scan sc = { .skip = dir };
    int rc;

    snprintf(dir, sizeof(dir), CS1 "/%s/p%u", hv.cgroup_base, id);
    memcpy(sc.s, s, sizeof(cpumap));
    each_part(reap_one, NULL);
    get(CS1, "cpuset.sched_load_balance", root_lb, sizeof(root_lb));
    if (root_lb[0] != '1' && access(BALANCE, F_OK) < 0) {
        snprintf(part_why[id], sizeof(part_why[id]), "the root cpuset does not balance load "
                 "and not by Keel's doing: the host's own partitioning is left alone");
        return -EBUSY;
    }
    if (foreign_meets(CS1, s, sc.who, sizeof(sc.who))) {
        snprintf(part_why[id], sizeof(part_why[id]), "cpuset %.120s balances load over the pool's "
                 "CPUs", sc.who);
        return -EBUSY;
    }
    each_part(union_one, &sc);
    if (sc.who[0]) {
        snprintf(part_why[id], sizeof(part_why[id]), "partition %.120s of another Keel host "
                 "overlaps the pool's CPUs", sc.who);
        return -EBUSY;
    }
    quiet_tree(KDIR, 0);
    hv_cpuset_text(s, txt, sizeof(txt));
    if ((rc = mkcpuset(dir, txt)) < 0) {
        snprintf(part_why[id], sizeof(part_why[id]), "cpuset %.120s: %s", dir, strerror(-rc));
        rmdir(dir);
        return rc;
    }
    if (part_fd[id] < 0 && (part_fd[id] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
        flock(part_fd[id], LOCK_SH);
    if ((rc = mkcpuset(BALANCE, "")) < 0) {
        snprintf(part_why[id], sizeof(part_why[id]), "cpuset %s: %s", BALANCE, strerror(-rc));
        return rc;
    }
    rebalance();                                  /* keel/balance: the rest, before the root */
    if (root_lb[0] == '1') {
        if ((rc = set(CS1, "cpuset.sched_load_balance", "0")) < 0) {
            snprintf(part_why[id], sizeof(part_why[id]), "the root cpuset's load balancing "
                     "cannot be turned off: %s", strerror(-rc));
            return rc;
        }
        hv_printk("cpupool: the root cpuset no longer balances load (while an rtds pool is a "
                  "partition): the host's other CPUs are balanced as one partition, %s", BALANCE);
        klog_warn("cpupool", CS1 "/cpuset.sched_load_balance set to 0 for the rtds partition "
                  "%s: host tasks are balanced only within %s and within each partition until "
                  "the last one goes", dir, BALANCE);
    }
    hv_printk("cpupool %u: a scheduling partition of its own (%s, CPUs %s): SCHED_DEADLINE "
              "admitted there", id, dir, txt);
    return 0;
}

static int host_lock(void)
{
    int fd = open(KDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int hv_cpupart_sync(uint32_t id, const struct hv_pool *p)
{
    bool want = p && p->sched == KEEL_SCHEDULER_RTDS && hv_cpuset_version() == 1;
    bool cpus = false;
    int lock, rc = 0;

    if (id >= KEEL_CPUPOOL_MAX)
        return -EINVAL;
    for (int w = 0; want && w < KEEL_CPUMAP_WORDS; w++)
        cpus |= p->cpus[w] != 0;
    part_why[id][0] = 0;
    if (want && !cpus)
        want = false;
    else if (p && p->sched == KEEL_SCHEDULER_RTDS && !want)
        snprintf(part_why[id], sizeof(part_why[id]), "no cgroup v1 cpuset hierarchy (a "
                 "cgroup v2 partition is not made)");
    if (!want && part_fd[id] < 0)
        return part_why[id][0] ? -EOPNOTSUPP : 0;
    if ((lock = host_lock()) < 0) {
        snprintf(part_why[id], sizeof(part_why[id]), "cannot lock %s: %s", KDIR, strerror(errno));
        return -errno;
    }
    if (want && (rc = establish(id, p->cpus)) == 0) {
        close(lock);
        return 0;
    }
    if (rc < 0)
        hv_printk("cpupool %u: not a scheduling partition: %s", id, part_why[id]);
    drop(id);
    rebalance();
    close(lock);
    return rc;
}

const char *hv_cpupart_why(uint32_t id)
{
    return id < KEEL_CPUPOOL_MAX ? part_why[id] : "";
}

void hv_cpupart_init(void)
{
    int lock;

    for (uint32_t id = 0; id < KEEL_CPUPOOL_MAX; id++)
        part_fd[id] = -1;
    if (hv_cpuset_version() != 1 || (lock = host_lock()) < 0)
        return;
    rebalance();                                  /* partitions of cores that died */
    close(lock);
}

/* keel-hv --reap-partitions: the partitions of dead cores, without starting a core (no
 * cgroup of our own is made; nothing to do where Keel's v1 cpuset directory does not exist). */
int hv_cpupart_reap(void)
{
    int lock;

    standalone = true;
    if (access(KDIR, F_OK) < 0)
        return 0;
    if ((lock = host_lock()) < 0)
        return -errno;
    rebalance();
    close(lock);
    return 0;
}

void hv_cpupart_fini(void)
{
    bool any = false;
    int lock;

    for (uint32_t id = 0; id < KEEL_CPUPOOL_MAX; id++)
        any |= part_fd[id] >= 0;
    if (!any || (lock = host_lock()) < 0)
        return;
    for (uint32_t id = 0; id < KEEL_CPUPOOL_MAX; id++)
        drop(id);
    rebalance();
    close(lock);
}
