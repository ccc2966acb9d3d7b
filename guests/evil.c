/* evil - tries to escape its confinement; every attempt must end in this domain's own crash.
 * Command line: attempt=NAME, one of
 *   syscall    a raw Linux system call (open of /etc/passwd)
 *   execve     execve("/bin/sh")
 *   readout    a read below guest memory
 *   readhigh   a read past the end of guest memory
 *   writestub  a write into the stub's code
 *   jumpstub   a jump into the stub's process entry (it makes system calls)
 *   futex      a futex wait with a timeout (outside what the filter allows)
 *   int80      a 32-bit system call through int $0x80
 *   sigreturn  rt_sigreturn with a garbage frame
 *   malformed  hypercalls with hostile arguments: all must fail cleanly; then it crashes itself */
#include "rt/keel_guest.h"

static long raw_syscall(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

static long raw_syscall4(long nr, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

static int rejected, tried;

static void expect_error(const char *what, long rc)
{
    tried++;
    if (rc < 0)
        rejected++;
    else
        rt_printf("evil: malformed: %s was ACCEPTED (%lld)\n", what, (long long)rc);
}

static void malformed(void)
{
    struct keel_console_io io = { 0x1000, 100, 0 };
    struct keel_evtchn_op op;
    struct keel_memory_reservation mr;
    struct keel_sched_poll poll = { 0, 1000, 0, 0 };
    struct keel_vcpu_context ctx;
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_PAUSEDOMAIN, .interface_version = 1, .domain = 0 };
    struct keel_sched_remote_shutdown rs = { 0, 0 };
    struct keel_callbacks cb = { 0x1234, 0 };

    expect_error("console buffer outside memory", hypercall(KH_CONSOLE_IO, 0, &io));
    io.buf = KEEL_GUEST_BASE;
    io.len = 1u << 30;
    expect_error("console length 1 GiB", hypercall(KH_CONSOLE_IO, 0, &io));
    expect_error("argument pointer NULL", hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_SEND, 0));
    expect_error("argument in the stub", hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_SEND,
                                                   (void *)KEEL_STUB_BASE));
    expect_error("argument straddling the end of memory",
                 hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_SEND,
                           (void *)(KEEL_GUEST_BASE + rt_boot.mem_bytes - 4)));
    memset(&op, 0, sizeof(op));
    op.port = 99999;
    expect_error("send on port 99999", hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_SEND, &op));
    op.port = 0;
    expect_error("close port 0", hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_CLOSE, &op));
    op.virq = KEEL_VIRQ_DOM_EXC;
    expect_error("bind a global VIRQ", hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_BIND_VIRQ, &op));
    op.virq = 1000;
    expect_error("bind VIRQ 1000", hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_BIND_VIRQ, &op));
    op.dom = 0;
    op.remote_dom = 0;
    expect_error("allocate a port in Domain-0", hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_ALLOC_UNBOUND, &op));
    op.remote_dom = 0;
    op.remote_port = 1;
    expect_error("bind to Domain-0 port 1", hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_BIND_INTERDOMAIN, &op));
    op.dom = 0;
    op.port = 1;
    expect_error("status of a Domain-0 port", hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_STATUS, &op));
    expect_error("unknown event channel command", hypercall(KH_EVENT_CHANNEL_OP, 77, &op));
    memset(&mr, 0, sizeof(mr));
    mr.domid = KEEL_DOMID_SELF;
    mr.first_gfn = 1ULL << 40;
    mr.nr_frames = 1;
    expect_error("populate beyond memory", hypercall(KH_MEMORY_OP, KEEL_MEMOP_POPULATE_PHYSMAP, &mr));
    mr.first_gfn = 0;
    mr.nr_frames = ~0ULL;
    expect_error("populate 2^64-1 frames", hypercall(KH_MEMORY_OP, KEEL_MEMOP_POPULATE_PHYSMAP, &mr));
    mr.domid = 0;
    mr.nr_frames = 1;
    expect_error("memory op on Domain-0", hypercall(KH_MEMORY_OP, KEEL_MEMOP_DECREASE_RESERVATION, &mr));
    expect_error("poll 1000 ports", hypercall(KH_SCHED_OP, KEEL_SCHEDOP_POLL, &poll));
    expect_error("remote shutdown of Domain-0", hypercall(KH_SCHED_OP, KEEL_SCHEDOP_REMOTE_SHUTDOWN, &rs));
    expect_error("domctl pause", hypercall(KH_DOMCTL, 0, &dc));
    expect_error("sysctl", hypercall(KH_SYSCTL, 0, &dc));
    memset(&ctx, 0, sizeof(ctx));
    ctx.regs.rip = 0xffff800000000000ULL;
    expect_error("vCPU context with a kernel address",
                 hypercall(KH_VCPU_OP, KEEL_VCPUOP_CMD(KEEL_VCPUOP_INITIALISE, 1), &ctx));
    expect_error("vCPU 200", hypercall(KH_VCPU_OP, KEEL_VCPUOP_CMD(KEEL_VCPUOP_UP, 200), 0));
    expect_error("vCPU op with high bits", hypercall(KH_VCPU_OP, 1ULL << 40, 0));
    expect_error("callback outside memory", hypercall(KH_SET_CALLBACKS, 0, &cb));
    expect_error("fs base in the kernel half", hypercall_val(KH_SET_SEGMENT_BASE, 0, 1ULL << 63));
    expect_error("shutdown reason 99", hypercall(KH_SCHED_OP, KEEL_SCHEDOP_SHUTDOWN,
                                                &(struct keel_sched_shutdown){ 99, 0 }));
    expect_error("hypercall 9999", hypercall(9999, 0, 0));
    rt_printf("evil: malformed: %d/%d rejected\n", rejected, tried);
}

int main(void)
{
    const char *a = rt_arg("attempt");
    volatile uint64_t sink;

    if (!a)
        rt_panic("evil: no attempt= given");
    rt_printf("evil: attempt %s\n", a);
    if (!strncmp(a, "syscall", 7))
        raw_syscall(2, (long)"/etc/passwd", 0, 0);
    else if (!strncmp(a, "execve", 6))
        raw_syscall(59, (long)"/bin/sh", 0, 0);
    else if (!strncmp(a, "readout", 7))
        sink = *(volatile uint64_t *)(KEEL_GUEST_BASE - 4096);
    else if (!strncmp(a, "readhigh", 8))
        sink = *(volatile uint64_t *)(KEEL_GUEST_BASE + rt_boot.mem_bytes + 4096);
    else if (!strncmp(a, "writestub", 9))
        *(volatile uint64_t *)(KEEL_STUB_BASE + 64) = 0xdeadbeef;
    else if (!strncmp(a, "jumpstub", 8))
        ((void (*)(void))(KEEL_STUB_BASE + 0x10))();
    else if (!strncmp(a, "futex", 5))
    {
        static const long ts[2] = { 1, 0 };
        raw_syscall4(202, (long)KEEL_SHARED_BASE, 0, 0x1000, (long)ts);
    }
    else if (!strncmp(a, "int80", 5))
        __asm__ volatile("int $0x80" : : "a"(1), "b"(0) : "memory");
    else if (!strncmp(a, "sigreturn", 9))
        raw_syscall(15, 0, 0, 0);
    else if (!strncmp(a, "malformed", 9))
        malformed();
    else
        rt_panic("evil: unknown attempt %s", a);
    (void)sink;
    rt_printf("evil: still alive after %s; crashing myself\n", a);
    raw_syscall(57, 0, 0, 0);    /* fork: forbidden */
    return 1;
}
