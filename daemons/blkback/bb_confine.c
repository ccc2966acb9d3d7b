/* bb_confine.c - keel-blkback's worker confinement. Right after fork a worker drops every
 * inherited descriptor but stdin/stdout/stderr, caps its descriptors (RLIMIT_NOFILE, soft and
 * hard) and sets no_new_privs. Once it is set up (store connection, libkeelctrl handle, target
 * open, io_uring created and restricted), it loads a seccomp filter built with libseccomp that
 * allows only its steady state: the poll loop, the store and control sockets (send/recv), the
 * grant mappings (mmap/munmap, never executable), event-channel eventfds, io_uring_enter,
 * malloc, logging, and exit. Anything else kills the worker (SIGSYS), and so does a system call
 * of another architecture. qdisk workers also get what libnbd needs to end their qemu-nbd
 * (shutdown, getsockopt, kill and wait4 of that one process). See README.md "Confinement". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bb_confine.h"
#include "kconfine.h"

/* libseccomp's SCMP_An() macros leave datum_b out (clang warns under -Wextra). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

int bb_confine_child(void)
{
    struct rlimit rl = { BB_NOFILE, BB_NOFILE };

    if (close_range(3, ~0U, 0) < 0)
        return -errno;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

/* What every worker needs once it serves. */
static int bb_rules_common(scmp_filter_ctx ctx)
{
    static const int plain[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
        SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
        SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(close), SCMP_SYS(munmap), SCMP_SYS(brk),
        SCMP_SYS(madvise), SCMP_SYS(mremap), SCMP_SYS(fstat), SCMP_SYS(futex),
        SCMP_SYS(clock_gettime), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(io_uring_enter),
        SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
        SCMP_SYS(sched_yield),           /* the event loop's spin (bb_dev.c) */
        SCMP_SYS(sigaltstack),           /* the sanitizers' runtime, at exit */
        SCMP_SYS(exit), SCMP_SYS(exit_group),
    };
    int rc = kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));

    rc |= kconfine_allow_noexec(ctx);    /* memory: grant mappings, malloc */
    /* libkeelctrl checks a received descriptor with fstat (glibc: newfstatat(fd, "", ...)) */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                           SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                           SCMP_A1(SCMP_CMP_EQ, F_GETFL));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                           SCMP_A1(SCMP_CMP_EQ, F_GETFD));
    /* Remus (bb_remus.c): a Unix stream socket to the replicating toolstack's hub */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
                           SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
                           SCMP_A1(SCMP_CMP_EQ, SOCK_STREAM | SOCK_CLOEXEC));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0);
    /* discard on a block device */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                           SCMP_A1(SCMP_CMP_EQ, BLKDISCARD));
    return rc;
}

/* libnbd ending its qemu-nbd (nbd_shutdown, nbd_close): its socket directory was removed
 * before the filter (bb_nbd_confine_prep), so unlink/rmdir simply fail. */
static int bb_rules_nbd(scmp_filter_ctx ctx, pid_t qemu_nbd)
{
    static const int plain[] = { SCMP_SYS(shutdown), SCMP_SYS(getsockopt) };
    int rc = kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));

    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(unlink), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(rmdir), 0);
    if (qemu_nbd > 0) {
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 2,
                               SCMP_A0(SCMP_CMP_EQ, (uint64_t)qemu_nbd),
                               SCMP_A1(SCMP_CMP_EQ, SIGTERM));
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(wait4), 1,
                               SCMP_A0(SCMP_CMP_EQ, (uint64_t)qemu_nbd));
    }
    return rc;
}

struct bb_rules_arg {
    int nbd;
    pid_t qemu_nbd;
};

static int bb_rules(scmp_filter_ctx ctx, void *arg)
{
    const struct bb_rules_arg *a = arg;

    return bb_rules_common(ctx) | (a->nbd ? bb_rules_nbd(ctx, a->qemu_nbd) : 0);
}

int bb_confine_filter(int nbd, pid_t qemu_nbd, char *err, size_t errlen)
{
    struct bb_rules_arg a = { nbd, qemu_nbd };

    return kconfine_seccomp(bb_rules, &a, "worker", err, errlen);
}
