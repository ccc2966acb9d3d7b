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
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kcd_confine.h"
#include "kconfine.h"

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

int kcd_confine_jail(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    int rc;

    tzset();        /* klog's local time: the zone file is out of reach after the chroot */
    errno = 0;
    if (geteuid() == 0 &&
        ((rc = kconfine_empty_root(dir, "keel-consoled-empty", err, errlen)) < 0 ||
         (rc = kconfine_creds(uid, gid, true, err, errlen)) < 0))
        return rc;
    return kconfine_bounds(0, err, errlen);
}

static int kcd_rules(scmp_filter_ctx ctx, void *arg)
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
    int rc;

    (void)arg;
    rc = kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));
    rc |= kconfine_allow_basic(ctx);     /* fcntl flags; malloc and ring pages, never exec */
    /* libevent asks how much a socket has to read */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                           SCMP_A1(SCMP_CMP_EQ, FIONREAD));
    rc |= kconfine_no_files(ctx);        /* fstat of a log for its size; open fails */
    return rc;
}

int kcd_confine_filter(char *err, size_t errlen)
{
    return kconfine_seccomp(kcd_rules, NULL, "serving process", err, errlen);
}
