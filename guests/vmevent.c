/* vmevent - the purpose-built guest of the vm_event tests and benchmark (tests/test-hv-vmevent.c,
 * bench/bench-vmevent.c). Command line: mode=bp|bench|step|regs|greq|flask|trace|write|wbench|exec|hwbp, n=COUNT.
 *   bp:    every vCPU executes `int3` n times with rax = vcpu << 32 | i and checks what comes
 *          back: i unchanged for even i, i ^ 0x5a5a for odd i (the monitor sets registers then);
 *   bench: vCPU 0 times n breakpoints and n null hypercalls (median and p99 in ns);
 *   step:  a checked computation (what single-stepping must not disturb);
 *   regs:  privileged state writes: FS base twice (the monitor denies the second), a periodic
 *          timer set and stopped; prints each return code;
 *   greq:  n guest requests;
 *   flask: asks the core to monitor domain target= (default itself) as a guest would;
 *   trace: prints the address of a function, then calls it every millisecond with (i, 2i) and
 *          checks its result (what keel-access trace=ADDR must leave intact);
 *   write: memory access events (tests/test-hv-memaccess.c): prints `buf=ADDR` (page aligned,
 *          4 pages per vCPU), makes a guest request (the monitor sets access meanwhile), then
 *          every vCPU v writes n words: write i goes to page 4v + i % 4 at offset
 *          (i * 200) % 4088 & ~7, value v << 32 | i, and is read back; with shared=1 all vCPUs
 *          write pages 0-3, write i at offset (i * 200 + 8v) % 4088 & ~7 of page i % 4;
 *   wbench: vCPU 0 times n writes to one page of buf (median and p99 in ns) after its guest
 *          request, then n null hypercalls;
 *   exec:  prints `fn=ADDR` of a function alone on its page, makes a guest request, then calls
 *          it n times and checks its result;
 *   hwbp:  prints `fn=ADDR var=ADDR`, makes a guest request, then n rounds of a call to fn and a
 *          write to var (hardware breakpoints, tests/test-hv-debugreg.c), a second guest request
 *          and one more round. */
#include "rt/keel_guest.h"
#include "keel/vm_event.h"

static volatile uint32_t done;
static uint32_t n;

static __attribute__((noinline)) uint64_t bp(uint64_t in)
{
    uint64_t out;

    __asm__ volatile("mov %1, %%rax\n\t"
                     ".globl vmevent_bp\n"
                     "vmevent_bp: int3\n\t"
                     "mov %%rax, %0"
                     : "=r"(out) : "r"(in) : "rax", "memory");
    return out;
}

static void bp_loop(uint32_t vcpu)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t in = (uint64_t)vcpu << 32 | i, want = i & 1 ? in ^ 0x5a5a : in, got = bp(in);
        if (got != want)
            rt_panic("vmevent bp: vCPU %u event %u: rax %#llx, expected %#llx", vcpu, i,
                     (unsigned long long)got, (unsigned long long)want);
    }
    __atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
}

static void secondary(uint32_t vcpu)
{
    bp_loop(vcpu);
    for (;;)
        rt_block();
}

static void mode_bp(void)
{
    for (uint32_t i = 1; i < rt_boot.nr_vcpus; i++)
        if (rt_vcpu_start(i, secondary) < 0)
            rt_panic("vmevent: vCPU %u did not start", i);
    bp_loop(0);
    while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < rt_boot.nr_vcpus)
        hypercall(KH_SCHED_OP, KEEL_SCHEDOP_YIELD, 0);
    rt_printf("vmevent bp: %u vCPUs x %u breakpoints ok\n", rt_boot.nr_vcpus, n);
}

static void sort(uint64_t *a, uint32_t len)
{
    for (uint32_t gap = len / 2; gap; gap /= 2)          /* shell sort: no libc here */
        for (uint32_t i = gap; i < len; i++)
            for (uint32_t j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
                uint64_t t = a[j];
                a[j] = a[j - gap];
                a[j - gap] = t;
            }
}

static void mode_bench(void)
{
    uint32_t pages = (uint32_t)((n * sizeof(uint64_t) + 4095) / 4096);
    uint64_t *t = rt_page_alloc(pages);

    if (!t)
        rt_panic("vmevent bench: no memory for %u samples", n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t0 = rt_now();
        bp((uint64_t)i << 1);                /* even: the monitor answers without registers */
        t[i] = rt_now() - t0;
    }
    sort(t, n);
    rt_printf("vmevent bench: breakpoint median %llu p99 %llu ns\n",
              (unsigned long long)t[n / 2], (unsigned long long)t[n - 1 - n / 100]);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t0 = rt_now();
        hypercall(KH_XEN_VERSION, KEEL_VERSION_VERSION, 0);
        t[i] = rt_now() - t0;
    }
    sort(t, n);
    rt_printf("vmevent bench: hypercall median %llu p99 %llu ns\n",
              (unsigned long long)t[n / 2], (unsigned long long)t[n - 1 - n / 100]);
}

static void mode_step(void)
{
    volatile uint64_t sum = 0;

    for (uint64_t i = 1; i <= 2000; i++)
        sum += i * i;
    rt_printf("vmevent step: sum %llu %s\n", (unsigned long long)sum,
              sum == 2000ULL * 2001 * 4001 / 6 ? "ok" : "WRONG");
}

static void mode_regs(void)
{
    struct keel_vcpu_periodic_timer pt = { 5000000 };
    long a = hypercall_val(KH_SET_SEGMENT_BASE, KEEL_SEGBASE_FS, 0x10000000);
    long b = hypercall_val(KH_SET_SEGMENT_BASE, KEEL_SEGBASE_FS, 0x20000000);
    long c = hypercall(KH_VCPU_OP, KEEL_VCPUOP_CMD(KEEL_VCPUOP_SET_PERIODIC_TIMER, 0), &pt);
    long d = hypercall(KH_VCPU_OP, KEEL_VCPUOP_CMD(KEEL_VCPUOP_STOP_PERIODIC_TIMER, 0), 0);

    rt_printf("vmevent regs: fs %ld fs %ld periodic %ld stop %ld\n", a, b, c, d);
}

static void mode_greq(void)
{
    for (uint32_t i = 0; i < n; i++) {
        long rc = hypercall(KH_HVM_OP, KEEL_HVMOP_GUEST_REQUEST_VM_EVENT, 0);
        if (rc)
            rt_panic("vmevent greq: request %u returned %ld", i, rc);
    }
    rt_printf("vmevent greq: %u requests done\n", n);
}

static void mode_flask(void)
{
    struct keel_domctl dc;
    struct keel_domctl_monitor_op op = { .op = KEEL_MONITOR_OP_ENABLE,
                                         .event = KEEL_MONITOR_EVENT_SOFTWARE_BREAKPOINT };
    long mon, other;

    memset(&dc, 0, sizeof(dc));
    dc.cmd = KEEL_DOMCTL_MONITOR_OP;
    dc.interface_version = KEEL_DOMCTL_INTERFACE_VERSION;
    dc.domain = (uint32_t)rt_arg_u64("target", rt_boot.domid);
    memcpy(dc.u.pad, &op, sizeof(op));
    mon = hypercall(KH_DOMCTL, KEEL_DOMCTL_MONITOR_OP, &dc);
    dc.cmd = KEEL_DOMCTL_PAUSEDOMAIN;      /* the monitor hint must not open other domctls */
    other = hypercall(KH_DOMCTL, KEEL_DOMCTL_MONITOR_OP, &dc);
    rt_printf("vmevent flask: monitor %ld other %ld\n", mon, other);
}

static __attribute__((noinline)) uint64_t traced(uint64_t a, uint64_t b)
{
    __asm__ volatile("" ::: "memory");
    return a * 3 + b;
}

static void mode_trace(void)
{
    rt_printf("vmevent trace: fn=%p\n", (void *)traced);
    for (uint64_t i = 1; n == 0 || i <= n; i++) {
        if (traced(i, 2 * i) != 5 * i)
            rt_panic("vmevent trace: call %llu returned a wrong value", (unsigned long long)i);
        rt_sleep_until(rt_now() + 1000000);
    }
    rt_printf("vmevent trace: %u calls ok\n", n);
}

#define WPAGES 4
static uint8_t wbuf[8 * WPAGES * 4096] __attribute__((aligned(4096)));

static uint32_t wshared;

static void write_loop(uint32_t vcpu)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = wshared ? (uint64_t)(i % WPAGES) * 4096 + ((i * 200 + vcpu * 8) % 4088 & ~7u)
                               : (uint64_t)(vcpu * WPAGES + i % WPAGES) * 4096 + ((i * 200) % 4088 & ~7u);
        volatile uint64_t *p = (volatile uint64_t *)(wbuf + off);
        uint64_t val = (uint64_t)vcpu << 32 | i;
        *p = val;
        if (*p != val)
            rt_panic("vmevent write: vCPU %u write %u did not land", vcpu, i);
    }
    __atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
}

static void write_secondary(uint32_t vcpu)
{
    write_loop(vcpu);
    for (;;)
        rt_block();
}

static void guest_request(void)
{
    if (hypercall(KH_HVM_OP, KEEL_HVMOP_GUEST_REQUEST_VM_EVENT, 0))
        rt_panic("vmevent: guest request failed");
}

static void mode_write(void)
{
    if (rt_boot.nr_vcpus > 8)
        rt_panic("vmevent write: at most 8 vCPUs");
    wshared = (uint32_t)rt_arg_u64("shared", 0);
    rt_printf("vmevent write: buf=%p\n", (void *)wbuf);
    guest_request();
    for (uint32_t i = 1; i < rt_boot.nr_vcpus; i++)
        if (rt_vcpu_start(i, write_secondary) < 0)
            rt_panic("vmevent: vCPU %u did not start", i);
    write_loop(0);
    while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < rt_boot.nr_vcpus)
        hypercall(KH_SCHED_OP, KEEL_SCHEDOP_YIELD, 0);
    rt_printf("vmevent write: %u vCPUs x %u writes ok\n", rt_boot.nr_vcpus, n);
}

static void mode_wbench(void)
{
    uint32_t pages = (uint32_t)((n * sizeof(uint64_t) + 4095) / 4096);
    uint64_t *t = rt_page_alloc(pages);
    volatile uint64_t *p = (volatile uint64_t *)wbuf;

    if (!t)
        rt_panic("vmevent wbench: no memory for %u samples", n);
    rt_printf("vmevent write: buf=%p\n", (void *)wbuf);
    guest_request();
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t0 = rt_now();
        *p = i;                              /* a watched write: one event, let through once */
        t[i] = rt_now() - t0;
    }
    sort(t, n);
    rt_printf("vmevent bench: write median %llu p99 %llu ns\n",
              (unsigned long long)t[n / 2], (unsigned long long)t[n - 1 - n / 100]);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t0 = rt_now();
        hypercall(KH_XEN_VERSION, KEEL_VERSION_VERSION, 0);
        t[i] = rt_now() - t0;
    }
    sort(t, n);
    rt_printf("vmevent bench: hypercall median %llu p99 %llu ns\n",
              (unsigned long long)t[n / 2], (unsigned long long)t[n - 1 - n / 100]);
}

/* exec_fn(a) = a * 7 + 1, alone on its page: imul (4 bytes), inc (3), ret */
__asm__(".pushsection .text.vmevent_exec,\"ax\",@progbits\n"
        ".balign 4096\n"
        "vmevent_exec_fn:\n\t"
        "imul $7, %rdi, %rax\n\t"
        "inc %rax\n\t"
        "ret\n"
        ".balign 4096\n"
        ".popsection");
extern uint64_t vmevent_exec_fn(uint64_t a) __asm__("vmevent_exec_fn") __attribute__((visibility("hidden")));
#define exec_fn vmevent_exec_fn

static void mode_exec(void)
{
    rt_printf("vmevent exec: fn=%p\n", (void *)exec_fn);
    guest_request();
    for (uint64_t i = 0; i < n; i++)
        if (exec_fn(i) != i * 7 + 1)
            rt_panic("vmevent exec: call %llu returned a wrong value", (unsigned long long)i);
    rt_printf("vmevent exec: %u calls ok\n", n);
}

/* Hardware breakpoints (tests/test-hv-debugreg.c): between two guest requests n rounds of a
 * call to exec_fn and a write to hw_var, which the consumer watches (DR0 execute, DR1 write);
 * after the second request (the consumer clears them) one more of each. */
static volatile uint64_t hw_var __attribute__((aligned(8)));

static void mode_hwbp(void)
{
    rt_printf("vmevent hwbp: fn=%p var=%p\n", (void *)exec_fn, (void *)&hw_var);
    guest_request();
    for (uint64_t i = 0; i <= n; i++) {
        if (i == n)
            guest_request();
        if (exec_fn(i) != i * 7 + 1)
            rt_panic("vmevent hwbp: call %llu returned a wrong value", (unsigned long long)i);
        hw_var = i + 1;
        if (hw_var != i + 1)
            rt_panic("vmevent hwbp: write %llu did not land", (unsigned long long)i);
    }
    rt_printf("vmevent hwbp: %u rounds ok\n", n);
}

/* rt_arg's value runs to the end of the command line: compare up to the next space */
static int is_mode(const char *mode, const char *name)
{
    size_t len = strlen(name);

    return !strncmp(mode, name, len) && (mode[len] == ' ' || mode[len] == 0);
}

int main(void)
{
    const char *mode = rt_arg("mode");

    n = (uint32_t)rt_arg_u64("n", 100);
    if (!mode || is_mode(mode, "bp"))
        mode_bp();
    else if (is_mode(mode, "bench"))
        mode_bench();
    else if (is_mode(mode, "step"))
        mode_step();
    else if (is_mode(mode, "regs"))
        mode_regs();
    else if (is_mode(mode, "greq"))
        mode_greq();
    else if (is_mode(mode, "flask"))
        mode_flask();
    else if (is_mode(mode, "trace"))
        mode_trace();
    else if (is_mode(mode, "write"))
        mode_write();
    else if (is_mode(mode, "wbench"))
        mode_wbench();
    else if (is_mode(mode, "exec"))
        mode_exec();
    else if (is_mode(mode, "hwbp"))
        mode_hwbp();
    else
        rt_panic("vmevent: unknown mode %s", mode);
    return 0;
}
