/* test-hv-debugreg - vm_event debug exceptions from hardware breakpoints a consumer sets
 * (KEEL_MONITOR_OP_SET_DEBUGREGS) on a real core with the `vmevent` guest (mode hwbp): a DR7 x86
 * would refuse, an I/O breakpoint, a bad vCPU and a connection that does not monitor are
 * refused; the registers read back; an execute breakpoint reports before the instruction (rip
 * at the function, B0) and a write watchpoint after the write (B1), each round in order, with
 * the guest's results intact; cleared registers raise nothing; the core's perf events are gone
 * when the registers are cleared and when the monitoring ends; keel-access hwbp=ADDR prints a
 * running guest's hits and leaves nothing behind. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvhost.h"
#include "keel/ctrl_monitor.h"
#include "tap.h"

#define MIB 16
#define ROUNDS 3

static struct hvhost host;

/* Perf events the core holds open (its hardware breakpoints). */
static int core_perf_fds(void)
{
    char dir[64], path[320], link[128];
    struct dirent *e;
    int n = 0;
    DIR *dp;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)host.pid);
    if (!(dp = opendir(dir)))
        return -1;
    while ((e = readdir(dp))) {
        ssize_t l;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if ((l = readlink(path, link, sizeof(link) - 1)) > 0) {
            link[l] = 0;
            n += strstr(link, "perf_event") != NULL;
        }
    }
    closedir(dp);
    return n;
}

static void answer(kc_vm_event *ve, const struct keel_vm_event *req)
{
    struct keel_vm_event rsp = *req;

    rsp.flags = req->flags & KEEL_VM_EVENT_FLAG_VCPU_PAUSED;
    kc_vm_event_put_response(ve, &rsp);
}

static void test_bad(uint32_t d, uint64_t fn, uint64_t var)
{
    uint64_t dr[4] = { fn, var, 0, 0 };
    kc_handle *other;

    tap_is_int(kc_monitor_set_debugregs(host.h, d, 0, dr, KEEL_DR7_L(0) | KEEL_DR7_RW(0, 2)),
               -EINVAL, "an I/O breakpoint (R/W 10) is refused (EINVAL)");
    tap_ok(strstr(kc_error(host.h), "debug registers") != NULL, "... with a message (%s)",
           kc_error(host.h));
    tap_is_int(kc_monitor_set_debugregs(host.h, d, 0, dr, KEEL_DR7_L(0) | KEEL_DR7_LEN(0, 3)),
               -EINVAL, "an execute breakpoint longer than one byte is refused");
    dr[1] = var + 4;
    tap_is_int(kc_monitor_set_debugregs(host.h, d, 0, dr, KEEL_DR7_L(1) | KEEL_DR7_RW(1, 1) |
                                                          KEEL_DR7_LEN(1, 2)),
               -EINVAL, "an 8-byte watchpoint at an address not 8-aligned is refused");
    dr[0] = 0xffff800000000000ULL;
    tap_is_int(kc_monitor_set_debugregs(host.h, d, 0, dr, KEEL_DR7_L(0)), -EINVAL,
               "a kernel address is refused");
    dr[0] = fn;
    tap_is_int(kc_monitor_set_debugregs(host.h, d, 0, dr, 1ULL << 13), -EINVAL,
               "DR7 bits outside the enables and R/W/LEN fields (GD) are refused");
    tap_is_int(kc_monitor_set_debugregs(host.h, d, 1, dr, KEEL_DR7_L(0)), -EINVAL,
               "a vCPU the domain does not have is refused");
    if (kc_open(&other, host.rundir) == 0) {
        tap_is_int(kc_monitor_set_debugregs(other, d, 0, dr, KEEL_DR7_L(0)), -ENOENT,
                   "a connection that does not monitor the domain cannot set them (ENOENT)");
        kc_close(other);
    }
}

/* The rounds: events alternate execute (B0, rip = fn) and write (B1, rip past the write). */
static void run_rounds(kc_vm_event *ve, uint64_t fn, uint64_t var, struct keel_vm_event *greq)
{
    struct keel_vm_event req;
    uint32_t exec = 0, wr = 0, bad = 0, k = 0;

    (void)var;
    answer(ve, greq);
    while (kc_vm_event_get_request(ve, &req, 10000) == 1) {
        if (req.reason == KEEL_VM_EVENT_REASON_GUEST_REQUEST) {
            *greq = req;                       /* the second request: the rounds are done */
            break;
        }
        bool want_exec = k % 2 == 0;
        uint64_t b = req.u.debug_exception.pending_dbg;
        bool ok = req.reason == KEEL_VM_EVENT_REASON_DEBUG_EXCEPTION &&
                  req.u.debug_exception.type == 3 &&
                  (req.data.regs.x86.dr6 & 0xf) == b &&
                  (want_exec ? b == KEEL_DR6_B(0) && req.data.regs.x86.rip == fn &&
                                   req.u.debug_exception.gfn == (fn - KEEL_GUEST_BASE) >> 12
                             : b == KEEL_DR6_B(1) && req.data.regs.x86.rip != fn);
        if (!ok && bad++ < 3)
            tap_diag("event %u: reason %u pending %#llx dr6 %#llx rip %#llx (fn %#llx)", k,
                     req.reason, (unsigned long long)b,
                     (unsigned long long)req.data.regs.x86.dr6,
                     (unsigned long long)req.data.regs.x86.rip, (unsigned long long)fn);
        exec += ok && want_exec;
        wr += ok && !want_exec;
        k++;
        answer(ve, &req);
    }
    tap_ok(exec == ROUNDS && wr == ROUNDS && !bad, "%d rounds: %u execute events at the function "
           "(B0, before it runs) and %u write events (B1, after the write), in order", ROUNDS,
           exec, wr);
}

/* keel-access hwbp=ADDR against a guest calling a function every millisecond. */
static void test_keel_access(void)
{
    const char *b = getenv("KEEL_BUILDDIR");
    int d = hvhost_boot(&host, "vmevent", "mode=trace n=300", 1, MIB);
    unsigned long long fn = 0, rip;
    unsigned lines = 0, good = 0;
    char cmd[768], line[512];
    const char *p;
    FILE *f;

    if (!hvhost_wait_console(&host, (uint32_t)d, "fn=0x", 10000) ||
        !(p = strstr(hvhost_console(&host, (uint32_t)d), "fn=")) || sscanf(p, "fn=%llx", &fn) != 1)
        tap_bail("vmevent trace: no function address in its console");
    snprintf(cmd, sizeof(cmd), "%s/cli/keel-access -r %s -n 3 %d hwbp=%#llx 2>&1",
             b && *b ? b : KEEL_ABS_BUILDDIR, host.rundir, d, fn);
    if ((f = popen(cmd, "r"))) {
        while (fgets(line, sizeof(line), f)) {
            lines++;
            if (sscanf(line, "d%*u v0 debug rip=%llx", &rip) == 1 && rip == fn &&
                strstr(line, "dr6=0xffff0ff1"))
                good++;
            else
                tap_diag("keel-access: %s", line);
        }
        tap_ok(pclose(f) == 0 && lines == 3 && good == 3, "keel-access -n 3 hwbp=FN prints three "
               "debug exceptions at the function, B0 (%u lines, %u right)", lines, good);
    }
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent trace: 300 calls ok", 20000) &&
           core_perf_fds() == 0, "the guest runs on after keel-access exits, no breakpoint left");
    kc_domain_destroy(host.h, (uint32_t)d);
}

int main(void)
{
    struct keel_vm_event greq, req;
    uint64_t fn = 0, var = 0, dr[4], got[4], dr7, got7 = 0, caps = 0;
    kc_vm_event *ve;
    const char *p;
    char cmd[32];
    int d;

    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root\n");
        return 0;
    }
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start keel-hv");
    snprintf(cmd, sizeof(cmd), "mode=hwbp n=%d", ROUNDS);
    d = hvhost_boot_paused(&host, "vmevent", cmd, 1, MIB);
    if (d < 0 || kc_monitor_enable(host.h, (uint32_t)d, &ve) < 0 ||
        kc_monitor_guest_request(host.h, (uint32_t)d, true, true) < 0)
        tap_bail("booting vmevent hwbp: %d (%s)", d, kc_error(host.h));
    kc_domain_unpause(host.h, (uint32_t)d);
    if (kc_vm_event_get_request(ve, &greq, 10000) != 1 ||
        !hvhost_wait_console(&host, (uint32_t)d, "var=", 10000) ||
        !(p = strstr(hvhost_console(&host, (uint32_t)d), "fn=")) ||
        sscanf(p, "fn=%llx var=%llx", (unsigned long long *)&fn, (unsigned long long *)&var) != 2)
        tap_bail("vmevent hwbp: no guest request or no addresses in its console");
    if (kc_monitor_get_capabilities(host.h, (uint32_t)d, &caps) < 0)
        caps = 0;
    tap_ok(caps & (1ULL << KEEL_MONITOR_EVENT_DEBUG_EXCEPTION),
           "the capabilities include debug exceptions (%#llx)", (unsigned long long)caps);
    test_bad((uint32_t)d, fn, var);
    memset(dr, 0, sizeof(dr));
    dr[0] = fn;
    dr[1] = var;
    dr7 = KEEL_DR7_L(0) | KEEL_DR7_L(1) | KEEL_DR7_RW(1, 1) | KEEL_DR7_LEN(1, 2);
    tap_is_int(kc_monitor_set_debugregs(host.h, (uint32_t)d, 0, dr, dr7), 0,
               "DR0 = the function (execute), DR1 = the variable (write, 8 bytes)");
    tap_ok(kc_monitor_get_debugregs(host.h, (uint32_t)d, 0, got, &got7) == 0 && got7 == dr7 &&
           !memcmp(got, dr, sizeof(dr)), "they read back");
    tap_is_int(core_perf_fds(), 2, "the core holds one perf event per breakpoint");
    tap_is_int(kc_monitor_debug_exceptions(host.h, (uint32_t)d, true, true), 0,
               "debug exception events switched on");
    run_rounds(ve, fn, var, &greq);
    tap_is_int(kc_monitor_set_debugregs(host.h, (uint32_t)d, 0, NULL, 0), 0,
               "at the second guest request the registers are cleared (DR7 0)");
    tap_ok(core_perf_fds() == 0 && kc_monitor_get_debugregs(host.h, (uint32_t)d, 0, got, &got7) == 0 &&
           got7 == 0, "no perf event is left and DR7 reads 0");
    tap_is_int(kc_monitor_set_debugregs(host.h, (uint32_t)d, 0, dr, dr7), 0,
               "set again for the last round");
    kc_monitor_debug_exceptions(host.h, (uint32_t)d, false, true);
    answer(ve, &greq);
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent hwbp: 3 rounds ok", 10000),
           "with debug exception events off, the armed breakpoints raise nothing and the guest "
           "ends its rounds intact");
    tap_ok(kc_vm_event_get_request(ve, &req, 200) == 0, "no event came");
    tap_ok(kc_monitor_disable(ve) == 0 && core_perf_fds() == 0,
           "ending the monitoring with the registers set closes their perf events");
    kc_domain_destroy(host.h, (uint32_t)d);
    test_keel_access();
    hvhost_stop(&host);
    return tap_done();
}
