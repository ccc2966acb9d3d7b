/* kd_confine.c - confinement of keeld's client-facing process (kd_front.c), in the way of
 * vmd's and Firecracker's jailer: it is started (fork + exec of keeld itself) as root by the
 * privileged part, sets up what it needs while still root (TLS context from the key files,
 * access rules, the event loop on its inherited descriptors), then, before it reads a byte
 * from a client: new mount/network/IPC/UTS namespaces (its listening sockets and the channel
 * to the privileged part were opened before and keep working; it can open no new network
 * socket), chroot into a read-only empty tmpfs, an empty capability bounding set, an
 * unprivileged uid/gid without supplementary groups, not dumpable, SIGKILL when the privileged
 * part dies, no_new_privs, RLIMIT_NOFILE for its connections, and a seccomp filter (libseccomp,
 * default: kill the process; other architectures killed) that allows only the steady state of
 * an event loop serving sockets: read/write/send/recv on descriptors it has, accept4,
 * getsockopt (SO_PEERCRED), shutdown, epoll, FIONREAD, file-status flags, memory (never
 * executable), futex, clocks, getrandom (TLS), signal masks/returns, exit. open/openat answer
 * EACCES (a library looking for a file lazily fails instead of killing; there is no file to
 * find in the chroot anyway). Everything else (execve, socket, connect, ptrace, mount, kill,
 * clone, ...) kills it (SIGSYS). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kd_confine.h"

/* libseccomp's SCMP_An() macros leave datum_b out (clang warns under -Wextra). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

int kd_confine_user(const char *spec, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    struct passwd *pw;
    char *end;
    unsigned long u, g;

    if (!spec) {
        if ((pw = getpwnam("keeld")) || (pw = getpwnam("nobody"))) {
            *uid = pw->pw_uid;
            *gid = pw->pw_gid;
        } else {
            *uid = 65534;
            *gid = 65534;
        }
        return 0;
    }
    if ((pw = getpwnam(spec))) {
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
    } else {
        errno = 0;
        u = strtoul(spec, &end, 10);
        g = u;
        if (!errno && end != spec && *end == ':')
            g = strtoul(end + 1, &end, 10);
        if (errno || end == spec || *end || u >= 0xffffffffUL || g >= 0xffffffffUL) {
            snprintf(err, errlen, "--user %s: no such user, and not UID[:GID]", spec);
            return -EINVAL;
        }
        *uid = (uid_t)u;
        *gid = (gid_t)g;
    }
    if (*uid == 0 || *gid == 0) {
        snprintf(err, errlen, "--user %s: the client-facing process may not run as root", spec);
        return -EINVAL;
    }
    return 0;
}

static int fail(char *err, size_t errlen, const char *what)
{
    int e = errno ? errno : EPERM;

    snprintf(err, errlen, "%s: %s", what, strerror(e));
    return -e;
}

/* Namespaces and the empty root (root only). */
static int confine_fs(const char *empty_dir, char *err, size_t errlen)
{
    if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
        return fail(err, errlen, "unshare (mount, network, IPC, UTS namespaces)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail(err, errlen, "making the mounts private");
    if (mount("keeld-empty", empty_dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=4k,nr_inodes=2,mode=0555") < 0)
        return fail(err, errlen, "mounting an empty tmpfs");
    if (chroot(empty_dir) < 0 || chdir("/") < 0)
        return fail(err, errlen, "chroot to the empty directory");
    return 0;
}

static int confine_creds(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
            break;
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return fail(err, errlen, "switching to the unprivileged user");
    if (setresuid(0, 0, 0) == 0) {             /* must be impossible now */
        snprintf(err, errlen, "root could be regained");
        return -EPERM;
    }
    return 0;
}

static int allow(scmp_filter_ctx ctx, int nr)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int front_rules(scmp_filter_ctx ctx)
{
    static const int plain[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
        SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
        SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
        SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(close),
        SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(poll),
        SCMP_SYS(ppoll), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(futex),
        SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
        SCMP_SYS(getrandom), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(fstat),
        SCMP_SYS(lseek), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
        SCMP_SYS(rt_sigaction), SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield),
        SCMP_SYS(sigaltstack), SCMP_SYS(exit), SCMP_SYS(exit_group),
    };
    static const int fcntl_ops[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
    int rc = 0;

    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        rc |= allow(ctx, plain[i]);
    for (size_t i = 0; i < sizeof(fcntl_ops) / sizeof(fcntl_ops[0]); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                               SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)fcntl_ops[i]));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                           SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                           SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /* libevent asks how much a socket has to read */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                           SCMP_A1(SCMP_CMP_EQ, FIONREAD));
    /* stdio's fstat of the log (glibc: newfstatat(fd, "", ..., AT_EMPTY_PATH)) */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                           SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
    return rc;
}

static int load_filter(char *err, size_t errlen)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int rc = -EINVAL;

    if (!ctx) {
        snprintf(err, errlen, "seccomp_init failed");
        return -ENOMEM;
    }
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 || front_rules(ctx) != 0)
        snprintf(err, errlen, "cannot build the seccomp filter");
    else if ((rc = seccomp_load(ctx)) < 0)
        snprintf(err, errlen, "cannot load the seccomp filter: %s", strerror(-rc));
    seccomp_release(ctx);
    return rc;
}

int kd_confine_front(const char *empty_dir, uid_t uid, gid_t gid, unsigned nofile, char *err,
                     size_t errlen)
{
    struct rlimit nf = { nofile, nofile }, zero = { 0, 0 };
    int rc;

    tzset();                                   /* the log's local time, read before chroot */
    errno = 0;
    if (geteuid() == 0) {
        if ((rc = confine_fs(empty_dir, err, errlen)) < 0 ||
            (rc = confine_creds(uid, gid, err, errlen)) < 0)
            return rc;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail(err, errlen, "prctl");
    if (setrlimit(RLIMIT_NOFILE, &nf) < 0 || setrlimit(RLIMIT_CORE, &zero) < 0 ||
        setrlimit(RLIMIT_NPROC, &zero) < 0)
        return fail(err, errlen, "setrlimit");
    return load_filter(err, errlen);
}
