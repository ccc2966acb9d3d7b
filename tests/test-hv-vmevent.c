/* test-hv-vmevent - vm_event introspection on a real core with the `vmevent` guest: breakpoints
 * with their registers and answers (plain, set registers), four vCPUs at once, single-step and
 * its toggle, privileged state writes allowed and denied with old and new values, guest
 * requests, a second consumer refused, save refused while monitored, a consumer killed in the
 * middle (the guest goes on, a new consumer may attach), and a guest's own monitoring attempt
 * denied by FLASK with an avc line. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvhost.h"
#include "keel/ctrl_monitor.h"
#include "tap.h"

static struct hvhost host;

static int ring_has(const char *text)
{
    return hvhost_ring_has(&host, text);
}

static int boot(const char *cmdline, uint32_t vcpus, kc_vm_event **ve)
{
    int d = hvhost_boot_paused(&host, "vmevent", cmdline, vcpus, 16);

    if (d < 0 || kc_monitor_enable(host.h, (uint32_t)d, ve) < 0)
        tap_bail("booting vmevent %s: %d (%s)", cmdline, d, kc_error(host.h));
    return d;
}

static void answer(kc_vm_event *ve, const struct keel_vm_event *req, uint32_t extra)
{
    struct keel_vm_event rsp = *req;

    rsp.flags = (req->flags & KEEL_VM_EVENT_FLAG_VCPU_PAUSED) | extra;
    kc_vm_event_put_response(ve, &rsp);
}

/* Breakpoints on `vcpus` vCPUs, n each: data checked per event, odd ones answered with
 * registers (rax ^= 0x5a5a, rip past the int3), even ones plainly. */
static void test_breakpoints(uint32_t vcpus, uint32_t n)
{
    char cmd[64], want[96];
    uint32_t next[8] = { 0 }, bad = 0, total = 0;
    struct keel_vm_event req;
    kc_vm_event *ve;
    int d;

    snprintf(cmd, sizeof(cmd), "mode=bp n=%u", n);
    d = boot(cmd, vcpus, &ve);
    tap_is_int(kc_monitor_software_breakpoint(host.h, (uint32_t)d, true), 0,
               "breakpoint events switched on");
    kc_domain_unpause(host.h, (uint32_t)d);
    while (total < vcpus * n && kc_vm_event_get_request(ve, &req, 10000) == 1) {
        const struct keel_vm_event_regs_x86 *r = &req.data.regs.x86;
        uint8_t insn = 0;
        uint32_t v = req.vcpu_id, i = (uint32_t)r->rax;
        kc_vm_event_read(ve, r->rip, &insn, 1);
        if (req.reason != KEEL_VM_EVENT_REASON_SOFTWARE_BREAKPOINT || v >= vcpus ||
            req.version != KEEL_VM_EVENT_INTERFACE_VERSION ||
            !(req.flags & KEEL_VM_EVENT_FLAG_VCPU_PAUSED) || r->rax >> 32 != v || i != next[v] ||
            insn != 0xcc || req.u.software_breakpoint.insn_length != 1 ||
            req.u.software_breakpoint.gfn != (r->rip - KEEL_GUEST_BASE) >> 12) {
            if (bad++ < 3)
                tap_diag("event %u: reason %u vcpu %u rax %#llx rip %#llx insn %#x", total,
                         req.reason, v, (unsigned long long)r->rax, (unsigned long long)r->rip,
                         insn);
        }
        if (v < vcpus)
            next[v] = i + 1;
        if (total == 0 && vcpus == 1) {        /* vCPU state at an event, domain paused */
            struct keel_vcpu_context ctx;
            int ok = kc_domain_pause(host.h, (uint32_t)d) == 0 &&
                     kc_vcpu_getcontext(host.h, (uint32_t)d, 0, &ctx) == 0 &&
                     ctx.regs.rip == r->rip + 1 && ctx.regs.rax == r->rax;
            tap_ok(ok && kc_domain_unpause(host.h, (uint32_t)d) == 0,
                   "the domain paused at an event reports the waiting vCPU's trapped state");
        }
        total++;
        if (i & 1) {
            struct keel_vm_event rsp = req;
            rsp.flags = KEEL_VM_EVENT_FLAG_VCPU_PAUSED | KEEL_VM_EVENT_FLAG_SET_REGISTERS;
            rsp.data.regs.x86.rax ^= 0x5a5a;
            rsp.data.regs.x86.rip += 1;
            kc_vm_event_put_response(ve, &rsp);
        } else {
            answer(ve, &req, 0);
        }
    }
    snprintf(want, sizeof(want), "vmevent bp: %u vCPUs x %u breakpoints ok", vcpus, n);
    if (total != vcpus * n)
        tap_diag("guest console: %s", hvhost_console(&host, (uint32_t)d));
    tap_ok(total == vcpus * n && !bad, "%u breakpoint events from %u vCPU(s), each with the "
           "vCPU, rip at the int3, its frame and the guest's rax in order (%u, %u wrong)",
           vcpus * n, vcpus, total, bad);
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, want, 10000),
           "plain answers resume after the int3, set-registers answers change rax and rip "
           "(the guest checked every value)");
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

/* More waiting vCPUs than ring slots: the ring fills, the others wait queued, none is lost. */
static void test_full_ring(void)
{
    const uint32_t vcpus = 80, n = 2;
    struct keel_vm_event held[KEEL_VM_EVENT_RING_SIZE], req;
    uint32_t nheld = 0, total = 0, seen[80] = { 0 }, bad = 0;
    kc_vm_event *ve;
    int d = boot("mode=bp n=2", vcpus, &ve);

    kc_monitor_software_breakpoint(host.h, (uint32_t)d, true);
    kc_domain_unpause(host.h, (uint32_t)d);
    while (nheld < KEEL_VM_EVENT_RING_SIZE && kc_vm_event_get_request(ve, &held[nheld], 3000) == 1)
        nheld++;
    tap_is_int(nheld, KEEL_VM_EVENT_RING_SIZE, "64 events fill the ring while 80 vCPUs break");
    tap_is_int(kc_vm_event_get_request(ve, &req, 300), 0,
               "no 65th event while the ring is full (the other vCPUs wait, queued)");
    for (uint32_t k = 0; k < nheld; k++) {
        seen[held[k].vcpu_id % vcpus]++;
        total++;
        answer(ve, &held[k], 0);              /* each vCPU's first event: i = 0, plain */
    }
    while (total < vcpus * n && kc_vm_event_get_request(ve, &req, 10000) == 1) {
        uint32_t i = (uint32_t)req.data.regs.x86.rax;
        if (req.vcpu_id >= vcpus || seen[req.vcpu_id] != i)
            bad++;
        else
            seen[req.vcpu_id]++;
        total++;
        if (i & 1) {
            struct keel_vm_event rsp = req;
            rsp.flags = KEEL_VM_EVENT_FLAG_VCPU_PAUSED | KEEL_VM_EVENT_FLAG_SET_REGISTERS;
            rsp.data.regs.x86.rax ^= 0x5a5a;
            rsp.data.regs.x86.rip += 1;
            kc_vm_event_put_response(ve, &rsp);
        } else {
            answer(ve, &req, 0);
        }
    }
    tap_ok(total == vcpus * n && !bad, "all %u events of 80 vCPUs delivered in order per vCPU "
           "and answered (%u, %u wrong)", vcpus * n, total, bad);
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent bp: 80 vCPUs x 2 breakpoints ok", 20000),
           "the guest saw every answer");
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

static void test_singlestep(void)
{
    struct keel_vm_event req;
    uint64_t last = 0;
    uint32_t steps = 0, bad = 0, after = 0, moved = 0;
    kc_vm_event *ve;
    int d = boot("mode=step", 1, &ve);

    tap_is_int(kc_monitor_singlestep(host.h, (uint32_t)d, true), 0, "single-step switched on");
    kc_domain_unpause(host.h, (uint32_t)d);
    while (steps < 200 && kc_vm_event_get_request(ve, &req, 10000) == 1) {
        uint64_t rip = req.data.regs.x86.rip;
        if (req.reason != KEEL_VM_EVENT_REASON_SINGLESTEP || req.vcpu_id != 0 ||
            rip < KEEL_GUEST_BASE || req.u.singlestep.gfn != (rip - KEEL_GUEST_BASE) >> 12)
            bad++;
        moved += rip != last;
        last = rip;
        steps++;
        answer(ve, &req, steps == 200 ? KEEL_VM_EVENT_FLAG_TOGGLE_SINGLESTEP : 0);
    }
    tap_ok(steps == 200 && !bad && moved > 150, "200 single-step events at rips in guest memory "
           "(%u wrong, %u moved on)", bad, moved);
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent step: sum 2668667000 ok", 10000),
           "after TOGGLE_SINGLESTEP the guest runs to its end with a correct result");
    while (kc_vm_event_get_request(ve, &req, 0) == 1)
        after++;
    tap_is_int(after, 0, "no step event after the toggle");
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

static void test_regs(void)
{
    struct keel_vm_event req[4];
    uint32_t got = 0;
    kc_vm_event *ve;
    int d = boot("mode=regs", 1, &ve);

    tap_is_int(kc_monitor_write_ctrlreg(host.h, (uint32_t)d, KEEL_VM_EVENT_REG_FS_BASE, true, true,
                                        false), 0, "FS base writes intercepted");
    tap_is_int(kc_monitor_write_ctrlreg(host.h, (uint32_t)d, KEEL_VM_EVENT_REG_PERIODIC, true, true,
                                        false), 0, "periodic timer writes intercepted");
    tap_is_int(kc_monitor_write_ctrlreg(host.h, (uint32_t)d, 99, true, true, false), -EINVAL,
               "an unknown register index is refused");
    kc_domain_unpause(host.h, (uint32_t)d);
    while (got < 4 && kc_vm_event_get_request(ve, &req[got], 10000) == 1) {
        answer(ve, &req[got], got == 1 ? KEEL_VM_EVENT_FLAG_DENY : 0);
        got++;
    }
    tap_is_int(got, 4, "four privileged state writes reported");
    tap_ok(got == 4 && req[0].reason == KEEL_VM_EVENT_REASON_WRITE_CTRLREG &&
           req[0].u.write_ctrlreg.index == KEEL_VM_EVENT_REG_FS_BASE &&
           req[0].u.write_ctrlreg.new_value == 0x10000000 &&
           req[0].u.write_ctrlreg.old_value == 0 && req[0].data.regs.x86.rdi == KH_SET_SEGMENT_BASE,
           "FS base: new value, old value 0 and the hypercall's arguments in the registers");
    tap_ok(got == 4 && req[1].u.write_ctrlreg.new_value == 0x20000000 &&
           req[1].u.write_ctrlreg.old_value == 0x10000000,
           "the second FS write sees the first one's value as old");
    tap_ok(got == 4 && req[2].u.write_ctrlreg.index == KEEL_VM_EVENT_REG_PERIODIC &&
           req[2].u.write_ctrlreg.new_value == 5000000 && req[2].u.write_ctrlreg.old_value == 0 &&
           req[3].u.write_ctrlreg.new_value == 0 && req[3].u.write_ctrlreg.old_value == 5000000,
           "periodic timer set (0 -> 5 ms) and stopped (5 ms -> 0)");
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent regs: fs 0 fs -1 periodic 0 stop 0",
                               10000), "allowed writes return 0, the denied one EPERM");
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

static void test_guest_request_and_refusals(void)
{
    struct keel_vm_event req;
    kc_vm_event *ve, *second = NULL;
    kc_handle *other;
    uint32_t got = 0, bad = 0;
    size_t len = 4096;
    char buf[4096];
    int d = boot("mode=greq n=50", 1, &ve);

    tap_is_int(kc_monitor_guest_request(host.h, (uint32_t)d, true, true), 0,
               "guest requests switched on");
    if (kc_open(&other, host.rundir) == 0) {
        tap_is_int(kc_monitor_enable(other, (uint32_t)d, &second), -EBUSY,
                   "a second consumer is refused (EBUSY)");
        tap_is_int(kc_monitor_singlestep(other, (uint32_t)d, true), -ENOENT,
                   "another connection cannot switch the first consumer's events");
        kc_close(other);
    }
    tap_is_int(kc_domain_getstate(host.h, (uint32_t)d, buf, &len), -EBUSY,
               "saving a monitored domain is refused (EBUSY)");
    tap_ok(ring_has("is monitored through vm_event: saving or migrating it is refused"),
           "the refusal says why in the console ring");
    kc_domain_unpause(host.h, (uint32_t)d);
    while (got < 50 && kc_vm_event_get_request(ve, &req, 10000) == 1) {
        if (req.reason != KEEL_VM_EVENT_REASON_GUEST_REQUEST || req.data.regs.x86.rdi != KH_HVM_OP ||
            req.data.regs.x86.rsi != KEEL_HVMOP_GUEST_REQUEST_VM_EVENT ||
            req.data.regs.x86.rip < KEEL_GUEST_BASE)
            bad++;
        got++;
        answer(ve, &req, 0);
    }
    tap_ok(got == 50 && !bad, "50 guest requests with the hypercall's registers and return "
           "address (%u wrong)", bad);
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent greq: 50 requests done", 10000),
           "every request returned 0 to the guest");
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

/* A consumer process with stepping and guest requests on dies holding an unanswered event. */
static void test_consumer_killed(void)
{
    int d = hvhost_boot_paused(&host, "vmevent", "mode=greq n=3000", 1, 16);
    int pipefd[2], status = 0;
    struct keel_domctl_info info;
    kc_vm_event *ve;
    pid_t pid;
    char c = 0;

    if (d < 0 || pipe(pipefd) < 0)
        tap_bail("booting vmevent greq: %d", d);
    pid = fork();
    if (pid == 0) {
        struct keel_vm_event req;
        kc_handle *h;
        int n = 0;
        if (kc_open(&h, host.rundir) < 0 || kc_monitor_enable(h, (uint32_t)d, &ve) < 0 ||
            kc_monitor_guest_request(h, (uint32_t)d, true, true) < 0 ||
            kc_monitor_singlestep(h, (uint32_t)d, true) < 0)
            _exit(2);
        (void)!write(pipefd[1], "r", 1);
        while (kc_vm_event_get_request(ve, &req, 10000) == 1 && ++n < 40)
            answer(ve, &req, 0);
        kill(getpid(), SIGKILL);           /* the 40th event is never answered */
        _exit(3);
    }
    close(pipefd[1]);
    (void)!read(pipefd[0], &c, 1);
    close(pipefd[0]);
    kc_domain_unpause(host.h, (uint32_t)d);
    waitpid(pid, &status, 0);
    tap_ok(c == 'r' && WIFSIGNALED(status), "the consumer died holding an unanswered event");
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent greq: 3000 requests done", 20000),
           "the guest runs on to its end: its waiting vCPU resumed, stepping lifted");
    tap_ok(kc_domain_getinfo(host.h, (uint32_t)d, &info) == 0 &&
           !(info.flags & KEEL_DOMINF_CRASHED), "the domain did not crash");
    tap_ok(ring_has("vm_event monitoring ended"), "the core logged the end of monitoring");
    tap_is_int(kc_monitor_enable(host.h, (uint32_t)d, &ve), 0, "a new consumer may attach");
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

/* keel-access (cli/) against running guests: its single-step lines, and the trace=ADDR example
 * tool on a function the guest calls every millisecond. */
static void test_keel_access(void)
{
    const char *b = getenv("KEEL_BUILDDIR");
    char cmd[1024], line[256];
    unsigned calls = 0, seq = 0, steps = 0;
    const char *p;
    int d = hvhost_boot(&host, "vmevent", "mode=trace n=400", 1, 16);
    FILE *f;

    if (!hvhost_wait_console(&host, (uint32_t)d, "fn=0x", 10000) ||
        !(p = strstr(hvhost_console(&host, (uint32_t)d), "fn=0x"))) {
        tap_ok(0, "the trace guest printed its function's address");
        return;
    }
    snprintf(cmd, sizeof(cmd), "%s/cli/keel-access -r %s -n 8 %d trace=%.*s 2>&1",
             b && *b ? b : KEEL_ABS_BUILDDIR, host.rundir, d, (int)strcspn(p + 3, "\n"), p + 3);
    if ((f = popen(cmd, "r"))) {
        unsigned long long a, x = 0, y;
        while (fgets(line, sizeof(line), f))
            if (strstr(line, " call ") &&
                sscanf(strstr(line, "("), "(%llx, %llx", &a, &y) == 2 && y == 2 * a) {
                seq += calls && a == x + 1;
                x = a;
                calls++;
            }
        tap_ok(pclose(f) == 0 && calls == 4 && seq == 3,
               "keel-access trace=ADDR logs 4 consecutive calls with their arguments (%u, %u)",
               calls, seq);
    }
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent trace: 400 calls ok", 20000),
           "the traced function kept working during and after the trace (int3 removed)");
    kc_domain_destroy(host.h, (uint32_t)d);
    d = hvhost_boot(&host, "vmevent", "mode=trace n=300", 1, 16);
    hvhost_wait_console(&host, (uint32_t)d, "fn=0x", 10000);
    snprintf(cmd, sizeof(cmd), "%s/cli/keel-access -r %s -n 5 %d singlestep 2>&1",
             b && *b ? b : KEEL_ABS_BUILDDIR, host.rundir, d);
    if ((f = popen(cmd, "r"))) {
        while (fgets(line, sizeof(line), f))
            steps += strstr(line, " singlestep rip=0x") != NULL;
        tap_ok(pclose(f) == 0 && steps == 5, "keel-access singlestep prints one line per step (%u)",
               steps);
    }
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent trace: 300 calls ok", 20000),
           "the guest runs on after keel-access exits");
    kc_domain_destroy(host.h, (uint32_t)d);
}

static void test_flask(void)
{
    int a = hvhost_boot(&host, "vmevent", "mode=flask", 1, 16), b;
    char cmd[64];

    tap_ok(hvhost_wait_console(&host, (uint32_t)a, "vmevent flask: monitor -13 other -1", 10000),
           "a guest asking to monitor itself is denied by FLASK (EACCES); the monitor domctl "
           "opens no other domctl to it (EPERM)");
    snprintf(cmd, sizeof(cmd), "mode=flask target=%d", a);
    b = hvhost_boot(&host, "vmevent", cmd, 1, 16);
    tap_ok(hvhost_wait_console(&host, (uint32_t)b, "vmevent flask: monitor -13", 10000),
           "a guest asking to monitor another domain is denied by FLASK");
    tap_ok(ring_has("avc: denied { vm_event }") && ring_has("tclass=domain2"),
           "the denials are audited as avc lines");
    kc_domain_destroy(host.h, (uint32_t)a);
    kc_domain_destroy(host.h, (uint32_t)b);
}

int main(void)
{
    uint64_t caps = 0;
    int d;

    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root\n");
        return 0;
    }
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start keel-hv");
    d = hvhost_create(&host, 1, 16);
    tap_ok(kc_monitor_get_capabilities(host.h, (uint32_t)d, &caps) == 0 &&
           caps == ((1u << KEEL_MONITOR_EVENT_WRITE_CTRLREG) | (1u << KEEL_MONITOR_EVENT_SINGLESTEP) |
                    (1u << KEEL_MONITOR_EVENT_SOFTWARE_BREAKPOINT) |
                    (1u << KEEL_MONITOR_EVENT_GUEST_REQUEST) | (1u << KEEL_MONITOR_CAP_MEM_ACCESS) |
                    (1u << KEEL_MONITOR_EVENT_DEBUG_EXCEPTION)),
           "capabilities: register writes, single-step, breakpoints, guest requests, debug "
           "exceptions, memory access");
    tap_is_int(kc_monitor_software_breakpoint(host.h, (uint32_t)d, true), -ENOENT,
               "events cannot be switched on before the ring is enabled");
    kc_domain_destroy(host.h, (uint32_t)d);
    test_breakpoints(1, 100);
    test_breakpoints(4, 100);
    test_full_ring();
    test_singlestep();
    test_regs();
    test_guest_request_and_refusals();
    test_consumer_killed();
    test_keel_access();
    test_flask();
    hvhost_stop(&host);
    return tap_done();
}
