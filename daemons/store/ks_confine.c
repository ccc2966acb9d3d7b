/* ks_confine.c - confinement of keel-stored's request process, the one that parses store
 * requests from Unix-socket clients and from guests' rings. ks_confine_jail gives it a private
 * mount namespace, chroots it into its state directory (where the journal lives: nothing else
 * of the host's file system is reachable), empties its capability bounding set and switches it
 * to the unprivileged store user, which drops every capability (common/kconfine.c).
 * ks_confine_filter sets no_new_privs and loads a seccomp filter (libseccomp, default action
 * kill-process, other architectures killed) allowing only what the
 * store does: the event loop (epoll), socket and ring I/O on descriptors it already holds,
 * accepting on its listening socket and reading the peer's credentials, the socketpair to the
 * privileged part (sendmsg/recvmsg, SCM_RIGHTS), mapping a ring page (never executable), the
 * journal (open/rename/unlink/fsync inside the chroot), malloc, time, logging and exit.
 * Anything else (socket, connect, execve, ptrace, kill, mount, setuid...) kills it; the
 * privileged parent logs that and starts a new one. See README.md "Privilege separation". */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kconfine.h"
#include "ks_confine.h"

/* libseccomp's SCMP_An() macros leave datum_b out (clang warns under -Wextra). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static int ks_fail(char *err, size_t errlen, int rc, const char *what, const char *dir)
{
    snprintf(err, errlen, "%s%s%s: %s", what, dir ? " " : "", dir ? dir : "", strerror(-rc));
    return rc;
}

int ks_confine_jail(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    int rc;

    tzset();        /* klog's timestamps: the zone file is out of reach after the chroot */
    if (geteuid() != 0)
        return access(dir, R_OK | W_OK | X_OK) < 0 ? ks_fail(err, errlen, -errno, "state directory", dir) : 0;
    if (uid == 0 || gid == 0)
        return ks_fail(err, errlen, -EINVAL, "refusing to run the request process as root", NULL);
    if (unshare(CLONE_NEWNS) < 0)
        return ks_fail(err, errlen, -errno, "unshare(CLONE_NEWNS)", NULL);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return ks_fail(err, errlen, -errno, "making the mounts private", NULL);
    if (chroot(dir) < 0 || chdir("/") < 0)
        return ks_fail(err, errlen, -errno, "chroot to", dir);
    if ((rc = kconfine_creds(uid, gid, true, err, errlen)) < 0)
        return rc;
    return 1;
}

/* The event loop, I/O on held descriptors, memory, time, signals, exit. */
static int ks_rules_loop(scmp_filter_ctx ctx)
{
    static const int plain[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
        SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek), SCMP_SYS(close),
        SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
        SCMP_SYS(poll), SCMP_SYS(ppoll),
        SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
        SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(shutdown),
        SCMP_SYS(munmap), SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(mremap),
        SCMP_SYS(fstat), SCMP_SYS(futex), SCMP_SYS(getrandom),
        SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(clock_nanosleep),
        SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
        SCMP_SYS(getgid), SCMP_SYS(getegid),
        SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
        SCMP_SYS(restart_syscall), SCMP_SYS(sigaltstack), SCMP_SYS(sched_yield),
        SCMP_SYS(exit), SCMP_SYS(exit_group),
    };
    int rc = kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));

    /* fcntl flags; malloc and the ring pages the privileged part hands over, never exec */
    rc |= kconfine_allow_basic(ctx);
    /* SO_PEERCRED of an accepted client (ks_sock.c), nothing else of getsockopt */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getsockopt), 2,
                           SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET), SCMP_A2(SCMP_CMP_EQ, SO_PEERCRED));
    return rc;
}

/* The journal (ks_journal.c), inside the chroot: its directory, append (space reserved with
 * fallocate for the mapped journal), snapshot + rename, fsync. */
static int ks_rules_journal(scmp_filter_ctx ctx)
{
    static const int plain[] = {
        SCMP_SYS(openat), SCMP_SYS(newfstatat), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
        SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
        SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
    };
    return kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));
}

static int ks_rules(scmp_filter_ctx ctx, void *arg)
{
    (void)arg;
    return ks_rules_loop(ctx) | ks_rules_journal(ctx);
}

int ks_confine_filter(char *err, size_t errlen)
{
    return kconfine_seccomp(ks_rules, NULL, "request process", err, errlen);
}
