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

#include "kconfine.h"
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

static int front_rules(scmp_filter_ctx ctx, void *arg)
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
    int rc = kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));

    (void)arg;
    rc |= kconfine_allow_basic(ctx);     /* fcntl flags; memory, never executable */
    /* libevent asks how much a socket has to read */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                           SCMP_A1(SCMP_CMP_EQ, FIONREAD));
    rc |= kconfine_no_files(ctx);        /* stdio's fstat of the log; open fails */
    return rc;
}

int kd_confine_front(const char *empty_dir, uid_t uid, gid_t gid, unsigned nofile, char *err,
                     size_t errlen)
{
    int rc;

    tzset();                                   /* the log's local time, read before chroot */
    errno = 0;
    if (geteuid() == 0) {
        if ((rc = kconfine_empty_root(empty_dir, "keeld-empty", err, errlen)) < 0 ||
            (rc = kconfine_creds(uid, gid, false, err, errlen)) < 0)
            return rc;
    }
    if ((rc = kconfine_bounds(nofile, err, errlen)) < 0)
        return rc;
    return kconfine_seccomp(front_rules, NULL, "client-facing process", err, errlen);
}
