/* spawn.c - starting a domain's process: new namespaces, cgroup, no files, no privileges,
 * resource limits, then exec of the static stub (which maps memory and loads the seccomp filter
 * before any guest instruction runs). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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


static void set_limit(int res, rlim_t v)
{
    struct rlimit rl = { v, v };

    if (setrlimit(res, &rl) < 0)
        _exit(70 + res);
}

/* Runs in the child only: async-signal-safe calls, then exec. Never returns. */
static void __attribute__((noreturn)) confine_and_exec(struct hv_domain *d, int go_fd)
{
    char empty[600], c;
    char *argv[] = { "keel-stub", NULL }, *envp[] = { NULL };
    uid_t uid = uid_base + d->domid;
    int mem, shared, stub;

    if (read(go_fd, &c, 1) != 1)
        _exit(60);
    /* move everything above the target numbers first, so no dup2 clobbers a source */
    mem = fcntl(d->mem_fd, F_DUPFD, 10);
    shared = fcntl(d->shared_fd, F_DUPFD, 10);
    stub = fcntl(hv.stub_fd, F_DUPFD, 10);
    if (mem < 0 || shared < 0 || stub < 0 || dup2(mem, HV_FD_GUESTMEM) < 0 ||
        dup2(shared, HV_FD_SHARED) < 0 || dup2(stub, 5) < 0)
        _exit(61);
    if (fcntl(5, F_SETFD, FD_CLOEXEC) < 0 || syscall(SYS_close_range, 6, ~0U, 0) < 0)
        _exit(62);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        _exit(63);
    snprintf(empty, sizeof(empty), "%s/empty", hv.rundir);
    if (chroot(empty) < 0 || chdir("/") < 0)
        _exit(64);
    set_limit(RLIMIT_NOFILE, 8);
    set_limit(RLIMIT_CORE, 0);
    set_limit(RLIMIT_FSIZE, 0);
    set_limit(RLIMIT_MEMLOCK, 0);
    set_limit(RLIMIT_NPROC, d->max_vcpus + 4);
    /* raw system calls: glibc's wrappers would try to reach threads this child does not have */
    if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, uid, uid, uid) < 0 ||
        syscall(SYS_setresuid, uid, uid, uid) < 0)
        _exit(65);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        _exit(66);
    syscall(SYS_execveat, 5, "", argv, envp, AT_EMPTY_PATH);
    _exit(67);
}

/* Domain processes are forked by one long-lived thread: their parent-death signal follows the
 * thread that created them, and a connection's thread ends with the connection. */
static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spawn_cond = PTHREAD_COND_INITIALIZER;
static struct hv_domain *spawn_req;
static int spawn_rc, spawn_done, spawner_running;

static int spawn_now(struct hv_domain *d);

static void *spawner_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&spawn_lock);
    for (;;) {
        while (!spawn_req)
            pthread_cond_wait(&spawn_cond, &spawn_lock);
        spawn_rc = spawn_now(spawn_req);
        spawn_req = NULL;
        spawn_done = 1;
        pthread_cond_broadcast(&spawn_cond);
    }
    return NULL;
}

int hv_spawn_domain(struct hv_domain *d)
{
    static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER;   /* one request at a time */
    pthread_t t;
    int rc;

    pthread_mutex_lock(&one);
    pthread_mutex_lock(&spawn_lock);
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
    pthread_cond_broadcast(&spawn_cond);
    while (!spawn_done)
        pthread_cond_wait(&spawn_cond, &spawn_lock);
    rc = spawn_rc;
    pthread_mutex_unlock(&spawn_lock);
    pthread_mutex_unlock(&one);
    return rc;
}

static int spawn_now(struct hv_domain *d)
{
    int go[2];
    long pid;
    int rc = 0;

    if (uid_slot_fd < 0 && (rc = uid_slot_claim()) < 0) {
        klog_err("spawn", "domain %u: no uid range for domains under " UID_SLOT_DIR ": %s",
                 d->domid, strerror(-rc));
        return rc;
    }
    if (pipe2(go, O_CLOEXEC) < 0)
        return -errno;
    pid = syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC |
                  CLONE_NEWUTS | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0) {
        close(go[1]);
        confine_and_exec(d, go[0]);
    }
    close(go[0]);
    if (pid < 0) {
        close(go[1]);
        return -errno;
    }
    d->pid = (pid_t)pid;
    d->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (d->pidfd < 0)
        rc = -errno;
    if (rc == 0)
        rc = hv_cgroup_attach(d, d->pid, false);
    if (rc == 0 && write(go[1], "g", 1) != 1)
        rc = -EPIPE;
    close(go[1]);
    return rc;
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
