/* vt_confine.c - confinement of a vTPM instance (vt_engine.c). After fork, before it reads a
 * byte: every descriptor but stdio and its socketpair closed, RLIMIT_NOFILE 8, no core dumps,
 * no file writes (RLIMIT_FSIZE 0), supplementary groups dropped and uid/gid set to nobody
 * (65534) when started as root, no_new_privs. Once libtpms is started: a seccomp filter
 * (libseccomp, default kill-process, other architectures killed) allowing only what serving
 * commands needs: read/write/readv/writev on its descriptors, close, memory (mmap/mprotect never
 * executable, munmap, mremap, brk, madvise), futex, getrandom, clocks, fstat of a descriptor,
 * signal masks/returns, getpid/gettid (log lines), exit. open/openat fail with EACCES (OpenSSL
 * may look for a configuration file lazily) instead of killing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kconfine.h"
#include "vt_confine.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

int vt_confine_child(int fd)
{
    struct rlimit nofile = { VT_INST_NOFILE, VT_INST_NOFILE }, zero = { 0, 0 };

    if (fd != VT_INST_FD) {
        if (dup2(fd, VT_INST_FD) < 0)
            return -errno;
    }
    if (close_range(VT_INST_FD + 1, ~0U, 0) < 0)
        return -errno;
    if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_CORE, &zero) < 0 ||
        setrlimit(RLIMIT_FSIZE, &zero) < 0)
        return -errno;
    if (geteuid() == 0) {
        if (setgroups(0, NULL) < 0 || setresgid(VT_INST_UID, VT_INST_UID, VT_INST_UID) < 0 ||
            setresuid(VT_INST_UID, VT_INST_UID, VT_INST_UID) < 0)
            return -errno;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

int vt_confine_filter(char *err, size_t errlen)
{
    static const int plain[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
        SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(futex),
        SCMP_SYS(getrandom), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
        SCMP_SYS(fstat), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
        SCMP_SYS(restart_syscall), SCMP_SYS(sigaltstack), SCMP_SYS(getpid), SCMP_SYS(gettid),
        SCMP_SYS(exit), SCMP_SYS(exit_group),
    };
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int rc = 0;

    if (!ctx) {
        snprintf(err, errlen, "seccomp_init failed");
        return -ENOMEM;
    }
    rc |= seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    rc |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
    rc |= kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));
    rc |= kconfine_allow_noexec(ctx);
    rc |= kconfine_no_files(ctx);
    if (rc) {
        snprintf(err, errlen, "cannot build the instance's seccomp filter");
        seccomp_release(ctx);
        return -EINVAL;
    }
    if ((rc = seccomp_load(ctx)) < 0)
        snprintf(err, errlen, "cannot load the instance's seccomp filter: %s", strerror(-rc));
    seccomp_release(ctx);
    return rc;
}
