/* debugreg.c - the hardware breakpoints and watchpoints a vm_event consumer sets on a vCPU
 * (KEEL_MONITOR_OP_SET_DEBUGREGS: DR0-DR3 and DR7 with their x86 meaning, keel/vm_event.h),
 * made real as perf hardware-breakpoint events on the vCPU's thread. Each is opened with perf's
 * sigtrap (Linux 5.13+): a hit delivers SIGTRAP to that thread (si_code TRAP_PERF, the
 * breakpoint's number in si_perf_data), which the stub's handler turns into an HV_OP_TRAP
 * request (HV_TRAP_DEBUG | B<n>). The debug registers themselves stay the kernel's: the guest
 * cannot read or change them, and nothing is armed in the stub's own code. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hv.h"
#include "hv_ctl.h"
#include "keel/vm_event.h"

#define DR7_KNOWN 0xffff00ffULL          /* L/G enables and the R/W and LEN fields */
#define USER_TOP 0x800000000000ULL

static unsigned rw_of(uint64_t dr7, int n)
{
    return (unsigned)(dr7 >> (16 + 4 * n)) & 3;
}

static unsigned len_of(uint64_t dr7, int n)
{
    static const unsigned len[4] = { 1, 2, 8, 4 };

    return len[(dr7 >> (18 + 4 * n)) & 3];
}

static bool enabled(uint64_t dr7, int n)
{
    return (dr7 >> (2 * n)) & 3;
}

/* What a real DR7 would refuse or Keel cannot do: unknown bits, I/O breakpoints, an execute
 * breakpoint longer than a byte, a misaligned or non-user address. */
long hv_debugreg_check(const uint64_t dr[4], uint64_t dr7)
{
    if (dr7 & ~DR7_KNOWN)
        return -EINVAL;
    for (int n = 0; n < 4; n++) {
        if (!enabled(dr7, n))
            continue;
        if (rw_of(dr7, n) == 2 || (rw_of(dr7, n) == 0 && len_of(dr7, n) != 1) ||
            dr[n] >= USER_TOP || dr[n] % len_of(dr7, n))
            return -EINVAL;
    }
    return 0;
}

static int open_bp(pid_t tid, uint64_t addr, unsigned rw, unsigned len, int n)
{
    struct perf_event_attr a;
    long fd;

    memset(&a, 0, sizeof(a));
    a.type = PERF_TYPE_BREAKPOINT;
    a.size = sizeof(a);
    a.bp_addr = addr;
    a.bp_type = rw == 0 ? HW_BREAKPOINT_X : rw == 1 ? HW_BREAKPOINT_W : HW_BREAKPOINT_RW;
    a.bp_len = rw == 0 ? sizeof(long) : len;     /* perf's rule for execute breakpoints */
    a.sample_period = 1;
    a.sigtrap = 1;
    a.remove_on_exec = 1;                        /* required with sigtrap */
    a.sig_data = HV_DEBUG_SIG_DATA | (uint64_t)n;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    fd = syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

void hv_debugreg_disarm(int fd[4])
{
    for (int n = 0; n < 4; n++) {
        if (fd[n] >= 0)
            close(fd[n]);
        fd[n] = -1;
    }
}

/* Arm the enabled breakpoints of dr7 on thread tid (fd[] all -1 on entry); on failure none. */
long hv_debugreg_arm(uint32_t domid, pid_t tid, const uint64_t dr[4], uint64_t dr7, int fd[4])
{
    for (int n = 0; n < 4; n++) {
        int r;
        if (!enabled(dr7, n))
            continue;
        if ((r = open_bp(tid, dr[n], rw_of(dr7, n), len_of(dr7, n), n)) < 0) {
            hv_printk("Domain %u: hardware breakpoint %d at %#llx: perf_event_open: %s", domid,
                      n, (unsigned long long)dr[n], strerror(-r));
            hv_debugreg_disarm(fd);
            return r == -ENOENT || r == -EOPNOTSUPP ? -EOPNOTSUPP : r;
        }
        fd[n] = r;
    }
    return 0;
}
