/* vt_mconfine.c - confinement of keel-vtpmd's manager process itself, applied once its setup is
 * done (host key read, core and store connected, control socket listening) and before it reads
 * a byte from a guest, a socket client or the store.
 *
 * Capabilities: none. The bounding, permitted, effective, inheritable and ambient sets are
 * emptied and no_new_privs is set. Forking an instance, making it uid 65534 and killing it is
 * the instance launcher's job (vt_zyg.c), which alone keeps CAP_SETUID, CAP_SETGID and
 * CAP_KILL. The uid stays 0: the core and the store take Domain-0's requests from peers of
 * uid 0, and the state files are root's (without CAP_DAC_OVERRIDE it reaches only what root
 * owns).
 *
 * Seccomp (libseccomp, default kill-process, other architectures killed): the poll loop; the
 * sockets it has, new Unix sockets only (a store reconnection, a device's tpm2-tools sockets,
 * an instance's socketpair); files by name (the sealed state files: open, fsync, rename,
 * unlink, chmod of its sockets); memory never executable (grant mappings, malloc). Not allowed,
 * so fatal: fork/clone, execve/execveat, kill, ptrace, mount and namespaces, module and BPF
 * loading, network (non-Unix) sockets, setuid and friends, reboot, ... See README.md "Processes
 * and privileges". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kconfine.h"
#include "vt_confine.h"

/* libseccomp's SCMP_An() macros leave datum_b out (clang warns under -Wextra). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Bounding set, then permitted/effective/inheritable (capset), then ambient. */
int vt_mconfine_caps(uint64_t keep, char *err, size_t errlen)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct c[2];

    for (int cap = 0; cap < 64; cap++) {
        if (keep & (1ULL << cap))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break;                   /* past the last capability this kernel knows */
            snprintf(err, errlen, "cannot drop capability %d from the bounding set: %s", cap,
                     strerror(errno));
            return -errno;
        }
    }
    memset(c, 0, sizeof(c));
    c[0].effective = c[0].permitted = (uint32_t)keep;
    c[1].effective = c[1].permitted = (uint32_t)(keep >> 32);
    if (syscall(SYS_capset, &h, c) < 0) {
        snprintf(err, errlen, "cannot set the capabilities: %s", strerror(errno));
        return -errno;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
        snprintf(err, errlen, "cannot clear the ambient capabilities: %s", strerror(errno));
        return -errno;
    }
    return 0;
}

/* The poll loop, its sockets and files. */
static int vt_rules_io(scmp_filter_ctx ctx, void *arg)
{
    static const int plain[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
        SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
        SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(close), SCMP_SYS(accept4), SCMP_SYS(accept),
        SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(connect), SCMP_SYS(bind),
        SCMP_SYS(listen), SCMP_SYS(shutdown), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
        SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
        SCMP_SYS(lseek), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(rename),
        SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
        SCMP_SYS(chmod), SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(clock_gettime),
        SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(nanosleep),
        SCMP_SYS(clock_nanosleep), SCMP_SYS(sched_yield), SCMP_SYS(getpid), SCMP_SYS(gettid),
        SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
        SCMP_SYS(getegid), SCMP_SYS(getrandom), SCMP_SYS(futex), SCMP_SYS(brk),
        SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(rt_sigprocmask),
        SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
        SCMP_SYS(sigaltstack), SCMP_SYS(exit), SCMP_SYS(exit_group),
    };
    int rc = kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));

    (void)arg;
    rc |= kconfine_allow_basic(ctx);     /* fcntl flags; memory, never executable */
    /* Unix sockets only: the store, the tpm2-tools sockets, the instances' socketpairs */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                           SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
                           SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    return rc;
}

int vt_mconfine(char *err, size_t errlen)
{
    int rc;

    if (geteuid() == 0 && (rc = vt_mconfine_caps(0, err, errlen)) < 0)
        return rc;
    return kconfine_seccomp(vt_rules_io, NULL, "manager", err, errlen);
}
