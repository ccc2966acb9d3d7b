/* spawn.c - starting a domain's process: new namespaces, cgroup, no files, no privileges,
 * resource limits, then exec of the static stub (which maps memory and loads the seccomp filter
 * before any guest instruction runs). The namespaces are made ahead: one child waits, cloned
 * and confined as far as it can be without knowing its domain, for the next create (it takes
 * its domain's memfds from the core with pidfd_getfd). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "klog.h"

/* A domain's process runs as uid (and gid) uid_base + domid. Each core claims its own range of
 * UID_SPAN ids (a slot, held by an flock on a file under UID_SLOT_DIR for the core's life), so
 * that two cores on one machine never give two domains one uid: RLIMIT_NPROC counts per uid, and
 * the kernel lets processes of one uid signal and inspect each other. */
#define UID_FIRST 200000U
#define UID_SPAN 65536U                   /* domids are below 0x7ff0 */
#define UID_SLOTS 4096U
#define UID_SLOT_DIR "/run/keel-uid-slots"

static uid_t uid_base;
static char empty_dir[600];                /* <rundir>/empty, the stub's root */
static int uid_slot_fd = -1;

static int uid_slot_claim(void)
{
    unsigned long h = 5381;
    char path[64];

    for (const char *p = hv.rundir; *p; p++)
        h = h * 33 + (unsigned char)*p;
    if (mkdir(UID_SLOT_DIR, 0700) < 0 && errno != EEXIST)
        return -errno;
    for (unsigned i = 0; i < UID_SLOTS; i++) {
        unsigned slot = (unsigned)((h + i) % UID_SLOTS);
        int fd;
        snprintf(path, sizeof(path), UID_SLOT_DIR "/slot.%u", slot);
        if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
            return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            uid_slot_fd = fd;
            uid_base = (uid_t)(UID_FIRST + slot * UID_SPAN);
            klog_info("spawn", "domain uids from %u (slot %u of " UID_SLOT_DIR ")",
                      (unsigned)uid_base, slot);
            return 0;
        }
        close(fd);
    }
    return -EBUSY;
}

int hv_stub_init(const char *path)
{
    struct stat st;
    int rc = 0;

    if (path != hv.stub_path)
        snprintf(hv.stub_path, sizeof(hv.stub_path), "%s", path);
    snprintf(empty_dir, sizeof(empty_dir), "%s/empty", hv.rundir);
    hv.stub_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (hv.stub_fd < 0)
        return -errno;
    if (fstat(hv.stub_fd, &st) < 0 || !S_ISREG(st.st_mode))
        return -ENOEXEC;
    /* the core's range of domain uids, claimed at start-up (not at the first create) */
    if (uid_slot_fd < 0 && (rc = uid_slot_claim()) < 0)
        klog_err("spawn", "no range of domain uids under " UID_SLOT_DIR ": %s", strerror(-rc));
    return rc;
}


/* A system call without errno: the waiting child shares the core's memory (CLONE_VM), so it
 * must not write the spawner thread's errno, nor call into glibc. x86-64. */
static inline long raw6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    long ret;

    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                     "r"(r9) : "rcx", "r11", "memory");
    return ret;
}

#define RAW(n, a, b, c) raw6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* What the core hands a waiting child (at the start of the child's stack area): its uid,
 * process limit and the core's numbers of the domain's memfds, which the child takes with
 * pidfd_getfd on the core. No descriptor of the core's stands for a waiting child. */
struct warm_page {
    uint32_t go;                         /* 0 waiting, 1 go, 2 give up */
    uint32_t uid, nproc;
    int32_t mem_fd, shared_fd;
    int32_t core_pidfd, stub_fd;
    char empty[600];                     /* <rundir>/empty */
};

#define WARM_SIZE (64 * 1024)            /* the page, then the child's stack */
#define WARM_STUB 5                      /* the stub's descriptor in a waiting child */
#define WARM_CORE 6                      /* the core's pidfd in a waiting child */

static int core_pidfd = -1;

static void __attribute__((noreturn)) raw_exit(int code)
{
    for (;;)
        RAW(SYS_exit_group, code, 0, 0);
}

static void raw_limit(int res, unsigned long v)
{
    unsigned long rl[2] = { v, v };

    if (RAW(SYS_setrlimit, res, rl, 0) < 0)
        raw_exit(70 + res);
}

/* Runs in the child only, right after the clone, on its own stack in the core's memory:
 * everything that does not depend on the domain (descriptors, mount propagation, the empty
 * root, limits but the process count), then it waits for its domain: uid, process limit and the
 * two memfds, and then drops its privileges and execs the stub (which gives the memory back).
 * Raw system calls only. */
__attribute__((no_sanitize("address", "undefined"))) static int confine_and_exec(void *arg)
{
    struct warm_page *pg = arg;
    char *argv[] = { "keel-stub", NULL }, *envp[] = { NULL };
    long stub, core;
    uint32_t go;

    if (RAW(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0) < 0 ||
        RAW(SYS_setpriority, PRIO_PROCESS, 0, 0) < 0)        /* made at nice 10 */
        raw_exit(66);
    /* move everything above the target numbers first, so no dup2 clobbers a source */
    core = RAW(SYS_fcntl, pg->core_pidfd, F_DUPFD, 10);
    stub = RAW(SYS_fcntl, pg->stub_fd, F_DUPFD, 10);
    if (core < 0 || stub < 0 || RAW(SYS_dup2, stub, WARM_STUB, 0) < 0 ||
        RAW(SYS_dup2, core, WARM_CORE, 0) < 0)
        raw_exit(61);
    if (RAW(SYS_fcntl, WARM_STUB, F_SETFD, FD_CLOEXEC) < 0 ||
        RAW(SYS_close_range, WARM_CORE + 1, ~0U, 0) < 0 ||
        RAW(SYS_close_range, HV_FD_GUESTMEM, HV_FD_SHARED, 0) < 0)
        raw_exit(62);
    RAW(SYS_prctl, PR_SET_NAME, "keel-hv-spawn", 0);
    if (raw6(SYS_mount, 0, (long)"/", 0, MS_REC | MS_PRIVATE, 0, 0) < 0)
        raw_exit(63);
    if (RAW(SYS_chroot, pg->empty, 0, 0) < 0 || RAW(SYS_chdir, "/", 0, 0) < 0)
        raw_exit(64);
    raw_limit(RLIMIT_CORE, 0);
    raw_limit(RLIMIT_FSIZE, 0);
    raw_limit(RLIMIT_MEMLOCK, 0);
    while ((go = __atomic_load_n(&pg->go, __ATOMIC_ACQUIRE)) == 0)
        raw6(SYS_futex, (long)&pg->go, FUTEX_WAIT, 0, 0, 0, 0);
    if (go != 1)
        raw_exit(60);
    /* the domain's memfds take the lowest free numbers, 3 then 4, close-on-exec: cleared */
    if (RAW(SYS_pidfd_getfd, WARM_CORE, pg->mem_fd, 0) != HV_FD_GUESTMEM ||
        RAW(SYS_pidfd_getfd, WARM_CORE, pg->shared_fd, 0) != HV_FD_SHARED ||
        RAW(SYS_fcntl, HV_FD_GUESTMEM, F_SETFD, 0) < 0 || RAW(SYS_fcntl, HV_FD_SHARED, F_SETFD, 0) < 0)
        raw_exit(61);
    RAW(SYS_close, WARM_CORE, 0, 0);
    raw_limit(RLIMIT_NOFILE, 8);
    raw_limit(RLIMIT_NPROC, pg->nproc);
    if (RAW(SYS_setgroups, 0, 0, 0) < 0 || RAW(SYS_setresgid, pg->uid, pg->uid, pg->uid) < 0 ||
        RAW(SYS_setresuid, pg->uid, pg->uid, pg->uid) < 0)
        raw_exit(65);
    if (raw6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0) < 0)
        raw_exit(66);
    raw6(SYS_execveat, WARM_STUB, (long)"", (long)argv, (long)envp, AT_EMPTY_PATH, 0);
    raw_exit(67);
}

/* A child cloned ahead of its domain, in its own namespaces (a new network namespace alone
 * costs the kernel some 400 us) and in the core's memory (CLONE_VM: no copy of the core's
 * mappings, which grow with the number of domains), waiting on its page: creating a domain
 * hands it over. */
struct warm_child {
    pid_t pid;
    struct warm_page *pg;
};

/* Stack areas of children handed over, freed once the child no longer runs in the core's
 * memory: it has exec'd (its name is no longer keel-hv-spawn) or ended. */
#define RETIRED_MAX 256
static struct warm_child retired[RETIRED_MAX];
static unsigned nr_retired;

static bool still_ours(pid_t pid)
{
    char path[64], buf[128], *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno != ENOENT;          /* gone: free; unreadable: keep, to be safe */
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = 0;
    p = strrchr(buf, ')');
    return strstr(buf, "(keel-hv-spawn)") && p && p[1] && p[2] != 'Z' && p[2] != 'X';
}

static void retired_sweep(void)
{
    for (unsigned i = 0; i < nr_retired;) {
        if (still_ours(retired[i].pid)) {
            i++;
            continue;
        }
        munmap(retired[i].pg, WARM_SIZE);
        retired[i] = retired[--nr_retired];
    }
}

static void retire(struct warm_child *w)
{
    retired_sweep();
    if (nr_retired == RETIRED_MAX) {           /* never freed rather than freed too early */
        klog_warn("spawn", "child %d: its stack area stays (too many waiting to be freed)",
                  (int)w->pid);
        return;
    }
    retired[nr_retired++] = *w;
}

static int warm_make(struct warm_child *w)
{
    struct warm_page *pg;
    long pid;

    if (core_pidfd < 0 && (core_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0)) < 0)
        return -errno;
    retired_sweep();
    pg = mmap(NULL, WARM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
              -1, 0);
    if (pg == MAP_FAILED)
        return -errno;
    pg->core_pidfd = core_pidfd;
    pg->stub_fd = hv.stub_fd;
    snprintf(pg->empty, sizeof(pg->empty), "%s", empty_dir);
    pid = clone(confine_and_exec, (char *)pg + WARM_SIZE, CLONE_VM | CLONE_NEWPID | CLONE_NEWNET |
                CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD, pg);
    if (pid < 0) {
        int rc = -errno;
        munmap(pg, WARM_SIZE);
        return rc;
    }
    w->pid = (pid_t)pid;
    w->pg = pg;
    return 0;
}

/* Tell the waiting child to go (1) or to give up (2); its area is freed once it is gone or
 * has exec'd. */
static void warm_release(struct warm_child *w, uint32_t go)
{
    __atomic_store_n(&w->pg->go, go, __ATOMIC_RELEASE);
    syscall(SYS_futex, &w->pg->go, FUTEX_WAKE, 1, NULL, NULL, 0);
    retire(w);
    w->pg = NULL;
}

static void warm_discard(struct warm_child *w)
{
    if (w->pid <= 0)
        return;
    kill(w->pid, SIGKILL);
    waitpid(w->pid, NULL, 0);
    munmap(w->pg, WARM_SIZE);
    w->pg = NULL;
    w->pid = 0;
}

/* Domain processes are forked by one long-lived thread: their parent-death signal follows the
 * thread that created them, and a connection's thread ends with the connection. Between
 * requests it keeps one child ready ($KEEL_SPAWN_WARM=0: none, each create clones its own). */
static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spawn_cond = PTHREAD_COND_INITIALIZER;
static struct hv_domain *spawn_req;
static int spawn_rc, spawn_done, spawner_running, spawner_stop, warm_wanted = 1, spawn_busy, making;
static pid_t spawner_tid;
static struct warm_child warm;

static int spawn_now(struct hv_domain *d);

static void *spawner_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&spawn_lock);
    for (;;) {
        if (!spawn_req && !spawner_stop && warm_wanted && warm.pid <= 0 && !spawn_busy) {
            struct warm_child w = { 0, NULL };
            spawner_tid = (pid_t)syscall(SYS_gettid);
            /* in the background: a lower priority while the domain just made boots (a create
             * that comes meanwhile raises it again: hv_spawn_domain) */
            setpriority(PRIO_PROCESS, (id_t)spawner_tid, 10);
            making = 1;
            pthread_mutex_unlock(&spawn_lock);
            if (warm_make(&w) < 0)
                w.pid = 0;
            pthread_mutex_lock(&spawn_lock);
            making = 0;
            setpriority(PRIO_PROCESS, (id_t)spawner_tid, 0);
            warm = w;
            if (w.pid <= 0)
                warm_wanted = 0;         /* cloning fails now: the next create says why */
            continue;
        }
        if (spawner_stop) {
            if (spawn_req) {             /* a create racing the core's exit */
                spawn_rc = -ESHUTDOWN;
                spawn_req = NULL;
                spawn_done = 1;
            }
            warm_discard(&warm);
            spawner_running = 0;
            pthread_cond_broadcast(&spawn_cond);
            break;
        }
        if (!spawn_req) {
            pthread_cond_wait(&spawn_cond, &spawn_lock);
            continue;
        }
        spawn_rc = spawn_now(spawn_req);
        spawn_req = NULL;
        spawn_busy = 1;                  /* the next child is made once this create is done */
        spawn_done = 1;
        pthread_cond_broadcast(&spawn_cond);
    }
    pthread_mutex_unlock(&spawn_lock);
    return NULL;
}

int hv_spawn_domain(struct hv_domain *d)
{
    static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER;   /* one request at a time */
    pthread_t t;
    int rc;

    pthread_mutex_lock(&one);
    pthread_mutex_lock(&spawn_lock);
    if (spawner_stop) {
        pthread_mutex_unlock(&spawn_lock);
        pthread_mutex_unlock(&one);
        return -ESHUTDOWN;
    }
    if (!spawner_running) {
        if (pthread_create(&t, NULL, spawner_main, NULL)) {
            pthread_mutex_unlock(&spawn_lock);
            pthread_mutex_unlock(&one);
            return -EAGAIN;
        }
        pthread_detach(t);
        spawner_running = 1;
    }
    spawn_req = d;
    spawn_done = 0;
    if (making)                          /* the child being made is this create's now */
        setpriority(PRIO_PROCESS, (id_t)spawner_tid, 0);
    pthread_cond_broadcast(&spawn_cond);
    while (!spawn_done)
        pthread_cond_wait(&spawn_cond, &spawn_lock);
    rc = spawn_rc;
    pthread_mutex_unlock(&spawn_lock);
    pthread_mutex_unlock(&one);
    return rc;
}

/* Start the spawner (and its first waiting child) before the first create. */
void hv_spawn_start(void)
{
    pthread_t t;
    const char *e = getenv("KEEL_SPAWN_WARM");

    pthread_mutex_lock(&spawn_lock);
    warm_wanted = !(e && !strcmp(e, "0"));
    if (core_pidfd < 0 && (core_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0)) < 0)
        klog_warn("spawn", "pidfd of the core: %s", strerror(errno));   /* creates will fail */
    if (!spawner_running && warm_wanted && pthread_create(&t, NULL, spawner_main, NULL) == 0) {
        pthread_detach(t);
        spawner_running = 1;
    }
    pthread_mutex_unlock(&spawn_lock);
}

/* A create has finished (its stub is ready or it failed): time to make the next child. */
void hv_spawn_idle(void)
{
    pthread_mutex_lock(&spawn_lock);
    retired_sweep();
    spawn_busy = 0;
    pthread_cond_broadcast(&spawn_cond);
    pthread_mutex_unlock(&spawn_lock);
}

/* At the core's exit: the waiting child goes (it would die with the spawner thread anyway). */
void hv_spawn_stop(void)
{
    pthread_mutex_lock(&spawn_lock);
    spawner_stop = 1;
    pthread_cond_broadcast(&spawn_cond);
    while (spawner_running)
        pthread_cond_wait(&spawn_cond, &spawn_lock);
    pthread_mutex_unlock(&spawn_lock);
}

/* Hand the waiting child (or a new one) to domain d: cgroup first, then uid and memfds. */
static int spawn_now(struct hv_domain *d)
{
    struct warm_child w = warm;
    int rc;

    if (uid_slot_fd < 0 && (rc = uid_slot_claim()) < 0) {
        klog_err("spawn", "domain %u: no uid range for domains under " UID_SLOT_DIR ": %s",
                 d->domid, strerror(-rc));
        return rc;
    }
    warm.pid = 0;
    if (w.pid > 0 && waitpid(w.pid, NULL, WNOHANG) != 0) {   /* it died waiting */
        munmap(w.pg, WARM_SIZE);
        w.pid = 0;
    }
    if (w.pid <= 0 && (rc = warm_make(&w)) < 0)
        return rc;
    d->pid = w.pid;
    d->pidfd = (int)syscall(SYS_pidfd_open, w.pid, 0);
    if (d->pidfd < 0) {
        rc = -errno;
        warm_release(&w, 2);                /* create kills and reaps it */
        return rc;
    }
    if ((rc = hv_cgroup_attach(d, d->pid, false)) < 0) {
        warm_release(&w, 2);
        return rc;
    }
    w.pg->uid = uid_base + d->domid;
    w.pg->nproc = d->max_vcpus + 4;
    w.pg->mem_fd = d->mem_fd;
    w.pg->shared_fd = d->shared_fd;
    warm_release(&w, 1);
    return 0;
}

/* Wait until the stub reports ready (or fails, or its process ends). */
int hv_wait_stub_ready(struct hv_domain *d)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    struct timespec ts = { 0, 5 * 1000 * 1000 };

    for (int i = 0; i < 2000; i++) {
        uint32_t st = __atomic_load_n(&h->stub_state, __ATOMIC_SEQ_CST);
        struct pollfd pfd = { d->pidfd, POLLIN, 0 };
        if (st == HV_STUB_READY)
            return 0;
        if (st == HV_STUB_UFFD && !h->uffd_taken) {
            d->uffd = (int)syscall(SYS_pidfd_getfd, d->pidfd, h->uffd, 0);
            if (d->uffd < 0)
                klog_warn("spawn", "domain %u: no log-dirty mode: pidfd_getfd: %s", d->domid,
                          strerror(errno));
            __atomic_store_n(&h->uffd_taken, 1, __ATOMIC_SEQ_CST);
            syscall(SYS_futex, &h->uffd_taken, FUTEX_WAKE, 1, NULL, NULL, 0);
            continue;
        }
        if (st == HV_STUB_FAILED) {
            klog_err("spawn", "domain %u: stub failed at step %u: %s", d->domid, h->stub_step,
                     strerror(h->stub_error));
            return -EIO;
        }
        if (poll(&pfd, 1, 0) == 1) {
            siginfo_t si = { 0 };
            waitid(P_PIDFD, (id_t)d->pidfd, &si, WEXITED | WNOHANG | WNOWAIT);
            klog_err("spawn", "domain %u: process ended before the stub was ready (status %d)",
                     d->domid, si.si_status);
            return -ECHILD;
        }
        syscall(SYS_futex, &h->stub_state, FUTEX_WAIT, st, &ts, NULL, 0);
    }
    return -ETIMEDOUT;
}
