/* filter.c - the seccomp program every domain process runs under, built once with libseccomp.
 * Allowed: what the stub needs to wait for and signal the core (futex on the shared area only,
 * no timeouts), to return from signal handlers, to set its own fs/gs base, to yield, to change
 * the protection of guest memory (memory access events), and to end
 * itself after reporting a fault. Everything else traps (SIGSYS: the domain crashes), and a
 * system call of another architecture (int 0x80, x32) kills the process outright. */
#include "config.h"

#include <asm/prctl.h>
#include <errno.h>
#include <linux/futex.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv.h"
#include "klog.h"

/* libseccomp's SCMP_An() macros leave datum_b out (clang warns under -Wextra). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static int add_rules(scmp_filter_ctx ctx)
{
    const uint64_t mask = ~(HV_SHARED_SIZE - 1);
    int rc = 0;

    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 2,
                           SCMP_A0(SCMP_CMP_MASKED_EQ, mask, KEEL_SHARED_BASE),
                           SCMP_A1(SCMP_CMP_EQ, FUTEX_WAKE));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 3,
                           SCMP_A0(SCMP_CMP_MASKED_EQ, mask, KEEL_SHARED_BASE),
                           SCMP_A1(SCMP_CMP_EQ, FUTEX_WAIT), SCMP_A3(SCMP_CMP_EQ, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(arch_prctl), 1,
                           SCMP_A0(SCMP_CMP_EQ, ARCH_SET_FS));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(arch_prctl), 1,
                           SCMP_A0(SCMP_CMP_EQ, ARCH_SET_GS));
    /* memory access events (mem_access.c): the stub changes protections of guest memory only.
     * A guest can make the same call, on its own memory: it can lift the watches on itself
     * (see docs/vm_event.md), never reach anything outside its process. */
    _Static_assert((KEEL_MAX_GUEST_MEM & (KEEL_MAX_GUEST_MEM - 1)) == 0 &&
                   (KEEL_GUEST_BASE & (KEEL_MAX_GUEST_MEM - 1)) == 0, "guest range is a mask");
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 3,
                           SCMP_A0(SCMP_CMP_MASKED_EQ, ~(KEEL_MAX_GUEST_MEM - 1), KEEL_GUEST_BASE),
                           SCMP_A1(SCMP_CMP_LE, KEEL_MAX_GUEST_MEM),
                           SCMP_A2(SCMP_CMP_MASKED_EQ, ~7ULL, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(gettid), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigreturn), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sched_yield), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0);
    return rc;
}

int hv_filter_build(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    int fd = -1, rc = -EINVAL;
    off_t len;

    if (!ctx)
        return -ENOMEM;
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
        add_rules(ctx) != 0)
        goto out;
    fd = memfd_create("keel-filter", MFD_CLOEXEC);
    if (fd < 0 || seccomp_export_bpf(ctx, fd) < 0)
        goto out;
    len = lseek(fd, 0, SEEK_END);
    if (len <= 0 || len % 8 || len / 8 > HV_FILTER_MAX)
        goto out;
    if (pread(fd, hv.filter.sock_filter, (size_t)len, 0) != len)
        goto out;
    hv.filter.len = (uint32_t)(len / 8);
    rc = 0;
out:
    if (rc < 0)
        klog_err("filter", "cannot build the domain seccomp program");
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    return rc;
}
