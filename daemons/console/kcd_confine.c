/* kcd_confine.c - confinement of keel-consoled's serving process, the one that reads guests'
 * console and channel rings, parses store replies and serves console clients. Before it reads
 * anything untrusted, kcd_confine_jail gives it new mount, network, IPC and UTS namespaces
 * (its descriptors keep working; it can reach no new socket or file), chroots it into an empty
 * read-only tmpfs, empties its capability bounding set, switches it to the unprivileged user
 * (every capability goes with the uid change), makes it not dumpable and bounds it
 * (RLIMIT_NPROC 0, no core files). kcd_confine_filter sets no_new_privs and loads a seccomp
 * filter (libseccomp, default action kill-process, other architectures killed) allowing what
 * serving needs: the event loop (epoll), I/O on descriptors it holds (rings' eventfds, the pty
 * masters, clients), accept on the listening sockets it was handed, the socketpair to the
 * privileged part (sendmsg/recvmsg, SCM_RIGHTS), mapping a ring page it was handed (never
 * executable) and unmapping it, reading a log's tail (pread, fstat), FIONREAD, malloc, time,
 * signal masks, exit. open/openat fail with EACCES (there is no file in the empty root anyway).
 * Anything else (socket, connect, execve, ptrace, kill, mount, setuid, clone...) kills it; the
 * privileged part logs that and starts a new one. See README.md "Privilege separation". */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kcd_confine.h"

/* libseccomp's SCMP_An() macros leave datum_b out (clang warns under -Wextra). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define KCD_DEFAULT_USER "keel-console"
#define KCD_FALLBACK_USER "nobody"

int kcd_confine_user(const char *name, uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam(name ? name : KCD_DEFAULT_USER);

    if (!pw && !name)
        pw = getpwnam(KCD_FALLBACK_USER);
    if (!pw)
        return -ENOENT;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return pw->pw_uid && pw->pw_gid ? 0 : -EINVAL;
}

static int kcd_fail(char *err, size_t errlen, const char *what)
{
    int e = errno ? errno : EPERM;

    snprintf(err, errlen, "%s: %s", what, strerror(e));
    return -e;
}

static int kcd_confine_fs(const char *dir, char *err, size_t errlen)
{
    if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
        return kcd_fail(err, errlen, "unshare (mount, network, IPC, UTS namespaces)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return kcd_fail(err, errlen, "making the mounts private");
    if (mount("keel-consoled-empty", dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=4k,nr_inodes=2,mode=0555") < 0)
        return kcd_fail(err, errlen, "mounting an empty tmpfs");
    if (chroot(dir) < 0 || chdir("/") < 0)
        return kcd_fail(err, errlen, "chroot to the empty directory");
    return 0;
}

static int kcd_confine_creds(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (uid == 0 || gid == 0) {
        snprintf(err, errlen, "refusing to run the serving process as root");
        return -EINVAL;
    }
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
            break;
    if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return kcd_fail(err, errlen, "switching to the console user");
    if (setresuid(0, 0, 0) == 0) {             /* must be impossible now */
        snprintf(err, errlen, "root could be regained");
        return -EPERM;
    }
    return 0;
}

int kcd_confine_jail(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    struct rlimit zero = { 0, 0 };
    int rc;

    tzset();        /* klog's local time: the zone file is out of reach after the chroot */
    errno = 0;
    if (geteuid() == 0 && ((rc = kcd_confine_fs(dir, err, errlen)) < 0 ||
                           (rc = kcd_confine_creds(uid, gid, err, errlen)) < 0))
        return rc;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return kcd_fail(err, errlen, "prctl");
    if (setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_NPROC, &zero) < 0)
        return kcd_fail(err, errlen, "setrlimit");
    return 0;
}

static int kcd_allow(scmp_filter_ctx ctx, int nr)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int kcd_rules(scmp_filter_ctx ctx)
{
    static const int plain[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
        SCMP_SYS(pread64), SCMP_SYS(lseek), SCMP_SYS(close),
        SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
        SCMP_SYS(poll), SCMP_SYS(ppoll),
        SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
        SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(shutdown),
        SCMP_SYS(munmap), SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(mremap),
        SCMP_SYS(fstat), SCMP_SYS(futex), SCMP_SYS(getrandom),
        SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(clock_nanosleep),
        SCMP_SYS(getpid), SCMP_SYS(gettid),
        SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
        SCMP_SYS(restart_syscall), SCMP_SYS(sigaltstack), SCMP_SYS(sched_yield),
        SCMP_SYS(exit), SCMP_SYS(exit_group),
    };
    static const int fcntls[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
    int rc = 0;

    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        rc |= kcd_allow(ctx, plain[i]);
    for (size_t i = 0; i < sizeof(fcntls) / sizeof(fcntls[0]); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                               SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)fcntls[i]));
    /* malloc and the ring pages handed over; never executable */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                           SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                           SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /* libevent asks how much a socket has to read */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                           SCMP_A1(SCMP_CMP_EQ, FIONREAD));
    /* fstat of a log for its size (glibc: newfstatat(fd, "", ..., AT_EMPTY_PATH)) */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                           SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
    return rc;
}

int kcd_confine_filter(char *err, size_t errlen)
{
    scmp_filter_ctx ctx;
    int rc = -EINVAL;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return kcd_fail(err, errlen, "no_new_privs");
    if (!(ctx = seccomp_init(SCMP_ACT_KILL_PROCESS))) {
        snprintf(err, errlen, "seccomp_init failed");
        return -ENOMEM;
    }
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 || kcd_rules(ctx) != 0)
        snprintf(err, errlen, "cannot build the serving process's seccomp filter");
    else if ((rc = seccomp_load(ctx)) < 0)
        snprintf(err, errlen, "cannot load the seccomp filter: %s", strerror(-rc));
    seccomp_release(ctx);
    return rc;
}
