/* nb_confine.c - keel-netback's worker confinement. Right after fork a worker drops every
 * inherited descriptor but stdin/stdout/stderr, caps its descriptors (RLIMIT_NOFILE, soft and
 * hard) and sets no_new_privs. Once it is set up (store connection, libkeelctrl handle, the tap's
 * queue descriptors, the statistics file), it loads a seccomp filter (libseccomp, default action
 * kill-process, other architectures killed) that allows only the vif worker's steady state: the
 * poll loop, reads and writes of the descriptors it holds (tap frames, event channels, the
 * statistics file by pwrite), the store and control sockets (grant copy/map/unmap and event
 * channels are messages), grant mappings never executable, malloc, logging, and three tap
 * ioctls: TUNSETQUEUE (attach/detach queues at connect), TUNSETOFFLOAD (what the frontend takes)
 * and TUNSETPERSIST (dropped at close, which deletes the interface). See README.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kconfine.h"
#include "nb_confine.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

int nb_confine_child(void)
{
    struct rlimit rl = { NB_NOFILE, NB_NOFILE };

    if (close_range(3, ~0U, 0) < 0)
        return -errno;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

static int nb_rules(scmp_filter_ctx ctx, void *arg)
{
    static const int plain[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pwrite64),
        SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
        SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(close), SCMP_SYS(munmap), SCMP_SYS(brk),
        SCMP_SYS(madvise), SCMP_SYS(mremap), SCMP_SYS(fstat), SCMP_SYS(futex),
        SCMP_SYS(clock_gettime), SCMP_SYS(getpid), SCMP_SYS(gettid),
        SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
        SCMP_SYS(sched_yield), SCMP_SYS(sigaltstack), SCMP_SYS(exit), SCMP_SYS(exit_group),
    };
    static const unsigned long tun_ioctls[] = { TUNSETQUEUE, TUNSETOFFLOAD, TUNSETPERSIST };
    int rc = kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));

    (void)arg;
    rc |= kconfine_allow_noexec(ctx);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                           SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_GETFL));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_GETFD));
    /* Remus (nb_remus.c): a Unix stream socket to the replicating toolstack's hub */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
                           SCMP_A1(SCMP_CMP_EQ, SOCK_STREAM | SOCK_CLOEXEC));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0);
    for (size_t i = 0; i < sizeof(tun_ioctls) / sizeof(tun_ioctls[0]); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                               SCMP_A1(SCMP_CMP_EQ, tun_ioctls[i]));
    return rc;
}

int nb_confine_filter(char *err, size_t errlen)
{
    return kconfine_seccomp(nb_rules, NULL, "vif worker", err, errlen);
}
