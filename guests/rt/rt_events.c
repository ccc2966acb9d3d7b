/* rt_events.c - guest event channels, time, timers, vCPUs and shutdown.
 *
 * rt_block polls before it blocks (as Linux's haltpoll does): for evpoll_us= microseconds of the
 * command line (default 50, 0 = never) it watches its own evtchn_upcall_pending with its
 * vcpu_polling bit set in the bell page, so senders (the core, a Domain-0 process marking our
 * port itself) skip the kick, and takes what arrives without a hypercall. rt_notify on a port
 * a Domain-0 process is watching (its d0_watch bit) only sets the port's guest_send bit.
 * Both protocols are in hypervisor/README.md, "Events". */
#include "keel_guest.h"
#include "keel/privcmd.h"

#define BELL ((struct keel_privcmd_bell *)(KEEL_SHARED_BASE + KEEL_PRIVCMD_BELL_OFF))
#define POLL_YIELD_AFTER_NS 2000                 /* polling longer, yield between looks */

extern char rt_upcall_entry[] __attribute__((visibility("hidden")));
extern char rt_secondary_entry[] __attribute__((visibility("hidden")));
struct keel_vcpu_info *rt_do_events(void);
void rt_percpu_init(uint32_t vcpu);
void rt_secondary(uint32_t vcpu) __attribute__((noreturn));

static struct rt_percpu percpu[RT_MAX_VCPUS];
static volatile uint64_t upcalls[RT_MAX_VCPUS];   /* rt_do_events runs, per vCPU */
static struct { rt_event_fn fn; void *data; } handlers[KEEL_NR_EVTCHN];
/* The vCPU each port notifies (as bound: VIRQ and IPI ports their vCPU, others vCPU 0). A
 * pending word holds ports of several vCPUs: each takes only its own, as Linux's per-CPU
 * event masks do, or one vCPU would eat another's timer and leave it asleep. */
static uint8_t port_vcpu[KEEL_NR_EVTCHN];
_Static_assert(RT_MAX_VCPUS <= 256, "port_vcpu holds a vCPU number in a byte");
static void (*secondary_fn[RT_MAX_VCPUS])(uint32_t);
static uint8_t stacks[RT_MAX_VCPUS][8192] __attribute__((aligned(16)));

void rt_cpu_relax(void)
{
    __builtin_ia32_pause();
}

void rt_percpu_init(uint32_t vcpu)
{
    struct keel_callbacks cb = { (uint64_t)rt_upcall_entry, 0 };
    struct rt_percpu *p = &percpu[vcpu];

    p->self = p;
    p->vcpu = vcpu;
    p->vi = &SHARED_INFO->vcpu_info[vcpu];
    hypercall_val(KH_SET_SEGMENT_BASE, KEEL_SEGBASE_GS, (uint64_t)p);
    hypercall(KH_SET_CALLBACKS, 0, &cb);
}

/* Called from rt_upcall_entry with events masked. */
struct keel_vcpu_info *rt_do_events(void)
{
    struct rt_percpu *p = rt_this_cpu();
    volatile struct keel_vcpu_info *vi = p->vi;
    volatile struct keel_shared_info *si = SHARED_INFO;
    uint32_t me = p->vcpu;

    vi->evtchn_upcall_pending = 0;
    upcalls[p->vcpu]++;
    uint64_t sel = __atomic_exchange_n(&((struct keel_vcpu_info *)vi)->evtchn_pending_sel, 0,
                                       __ATOMIC_SEQ_CST);
    while (sel) {
        uint32_t w = (uint32_t)__builtin_ctzll(sel);
        sel &= sel - 1;
        uint64_t bits = si->evtchn_pending[w] & ~si->evtchn_mask[w];
        while (bits) {
            uint32_t b = (uint32_t)__builtin_ctzll(bits), port = w * 64 + b;
            bits &= bits - 1;
            if (port_vcpu[port] != me)
                continue;                         /* another vCPU's port: it takes it */
            __atomic_fetch_and((uint64_t *)&si->evtchn_pending[w], ~(1ULL << b), __ATOMIC_SEQ_CST);
            if (handlers[port].fn)
                handlers[port].fn(port, handlers[port].data);
        }
    }
    return (struct keel_vcpu_info *)vi;
}

void rt_set_handler(uint32_t port, rt_event_fn fn, void *data)
{
    if (port < KEEL_NR_EVTCHN) {
        handlers[port].data = data;
        handlers[port].fn = fn;
    }
}

static int bind(long cmd, struct keel_evtchn_op *op, rt_event_fn fn, void *data)
{
    uint32_t vcpu = cmd == KEEL_EVTCHNOP_BIND_VIRQ || cmd == KEEL_EVTCHNOP_BIND_IPI ? op->vcpu : 0;
    long rc = hypercall(KH_EVENT_CHANNEL_OP, cmd, op);

    if (rc < 0)
        return (int)rc;
    if (op->port < KEEL_NR_EVTCHN)
        port_vcpu[op->port] = (uint8_t)vcpu;
    rt_set_handler(op->port, fn, data);
    return (int)op->port;
}

int rt_bind_virq(uint32_t virq, uint32_t vcpu, rt_event_fn fn, void *data)
{
    struct keel_evtchn_op op = { .virq = virq, .vcpu = vcpu };
    return bind(KEEL_EVTCHNOP_BIND_VIRQ, &op, fn, data);
}

int rt_bind_interdomain(uint32_t rdom, uint32_t rport, rt_event_fn fn, void *data)
{
    struct keel_evtchn_op op = { .remote_dom = rdom, .remote_port = rport };
    return bind(KEEL_EVTCHNOP_BIND_INTERDOMAIN, &op, fn, data);
}

int rt_alloc_unbound(uint32_t rdom, rt_event_fn fn, void *data)
{
    struct keel_evtchn_op op = { .dom = KEEL_DOMID_SELF, .remote_dom = rdom };
    return bind(KEEL_EVTCHNOP_ALLOC_UNBOUND, &op, fn, data);
}

int rt_bind_ipi(uint32_t vcpu, rt_event_fn fn, void *data)
{
    struct keel_evtchn_op op = { .vcpu = vcpu };
    return bind(KEEL_EVTCHNOP_BIND_IPI, &op, fn, data);
}

/* A Domain-0 process watching the port takes our guest_send bit: set it, then look at the
 * watch again (the process clears its watch, then looks at our bit); if the watch went away,
 * take the bit back and make the hypercall, unless the process took it first (one event, once). */
int rt_notify(uint32_t port)
{
    struct keel_evtchn_op op = { .port = port };

    if (port < KEEL_NR_EVTCHN) {
        uint64_t bit = 1ULL << (port % 64), *watch = &BELL->d0_watch[port / 64];
        if (__atomic_load_n(watch, __ATOMIC_SEQ_CST) & bit) {
            __atomic_fetch_or(&BELL->guest_send[port / 64], bit, __ATOMIC_SEQ_CST);
            if ((__atomic_load_n(watch, __ATOMIC_SEQ_CST) & bit) ||
                !(__atomic_fetch_and(&BELL->guest_send[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit))
                return 0;                         /* watched, or the process took it already */
        }
    }
    return (int)hypercall(KH_EVENT_CHANNEL_OP, KEEL_EVTCHNOP_SEND, &op);
}

/* Unmask; if something is already pending, a null hypercall lets the core deliver it. */
void rt_enable_events(void)
{
    volatile struct keel_vcpu_info *vi = rt_this_cpu()->vi;

    vi->evtchn_upcall_mask = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vi->evtchn_upcall_pending)
        hypercall(KH_XEN_VERSION, KEEL_VERSION_VERSION, 0);
}


static uint64_t poll_ns(void)
{
    static uint64_t ns = ~0ULL;

    if (ns == ~0ULL)
        ns = rt_arg_u64("evpoll_us", 50) * 1000;
    return ns;
}

/* Take pending events here, as the upcall entry would (events masked while handlers run). */
static void take_events(volatile struct keel_vcpu_info *vi)
{
    while (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
        if (__atomic_exchange_n(&vi->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST))
            return;                               /* an upcall owns it */
        rt_do_events();
        __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    }
}

/* Poll our upcall flag for up to poll_ns() with our vcpu_polling bit published; true if an
 * event came (pending, or taken meanwhile by an upcall a kick delivered: the count moved
 * past seen). The bit is cleared (full barrier) before we block,
 * and blocking looks at the flag again in the core, so a sender that saw the bit and skipped
 * the kick is never missed. */
static int poll_events(volatile struct keel_vcpu_info *vi, uint32_t me, uint64_t ns, uint64_t seen)
{
    uint64_t bit = 1ULL << (me % 64), until = rt_now() + ns;
    int got = 0;

    __atomic_fetch_or(&BELL->vcpu_polling[me / 64], bit, __ATOMIC_SEQ_CST);
    for (unsigned i = 1;; i++) {
        if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) || upcalls[me] != seen) {
            got = 1;
            break;
        }
        if (i % 64 == 0) {
            uint64_t now = rt_now();
            if (now >= until)
                break;
            if (now + ns - until > POLL_YIELD_AFTER_NS)   /* the one we wait for may need our CPU */
                hypercall(KH_SCHED_OP, KEEL_SCHEDOP_YIELD, 0);
        }
        __builtin_ia32_pause();
    }
    __atomic_fetch_and(&BELL->vcpu_polling[me / 64], ~bit, __ATOMIC_SEQ_CST);
    return got || __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) ||
           upcalls[me] != seen;
}

uint64_t rt_events_seen(void)
{
    return upcalls[rt_this_cpu()->vcpu];
}

/* Sleep until an event, unless one was taken since the count was seen (SCHEDOP_block enables
 * delivery first; so do we). */
void rt_block_since(uint64_t seen)
{
    struct rt_percpu *p = rt_this_cpu();
    volatile struct keel_vcpu_info *vi = p->vi;
    uint64_t ns = poll_ns();

    __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    if (ns && (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) ||
               poll_events(vi, p->vcpu, ns, seen))) {
        take_events(vi);
        return;
    }
    /* masked from the last look to the hypercall, which unmasks and looks again in the core:
     * an event taken by an upcall just before would otherwise leave us blocked */
    __atomic_store_n(&vi->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);
    if (upcalls[p->vcpu] != seen || __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
        take_events(vi);
        return;
    }
    hypercall(KH_SCHED_OP, KEEL_SCHEDOP_BLOCK, 0);
}

void rt_block(void)
{
    rt_block_since(rt_events_seen());
}

uint64_t rt_now(void)
{
    volatile struct keel_vcpu_time_info *t = &rt_this_cpu()->vi->time;
    uint32_t ver;
    uint64_t tsc, base, sys;
    uint32_t mul;
    int8_t shift;

    do {
        ver = t->version;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        base = t->tsc_timestamp;
        sys = t->system_time;
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while ((ver & 1) || ver != t->version);
    tsc = __builtin_ia32_rdtsc() - base;
    tsc = shift >= 0 ? tsc << shift : tsc >> -shift;
    return sys + (uint64_t)(((unsigned __int128)tsc * mul) >> 32);
}

uint64_t rt_wallclock_sec(void)
{
    return SHARED_INFO->wc_sec + rt_now() / 1000000000ULL;
}

void rt_set_timer(uint64_t deadline)
{
    struct keel_vcpu_singleshot_timer t = { deadline, 0, 0 };
    hypercall(KH_VCPU_OP, KEEL_VCPUOP_CMD(KEEL_VCPUOP_SET_SINGLESHOT_TIMER, rt_vcpu_id()), &t);
}

int rt_set_periodic(uint64_t period)
{
    struct keel_vcpu_periodic_timer t = { period };
    return (int)hypercall(KH_VCPU_OP, KEEL_VCPUOP_CMD(KEEL_VCPUOP_SET_PERIODIC_TIMER, rt_vcpu_id()), &t);
}

static volatile int sleep_done[RT_MAX_VCPUS];

static void wake(uint32_t port, void *data)
{
    (void)port;
    (void)data;
    sleep_done[rt_vcpu_id()] = 1;
}

static int timer_port[RT_MAX_VCPUS];

void rt_sleep_until(uint64_t deadline)
{
    uint32_t me = rt_vcpu_id();

    if (!timer_port[me])
        timer_port[me] = rt_bind_virq(KEEL_VIRQ_TIMER, me, wake, 0);
    while (rt_now() < deadline) {
        sleep_done[me] = 0;
        rt_set_timer(deadline);
        for (;;) {
            uint64_t seen = rt_events_seen();
            if (sleep_done[me] || rt_now() >= deadline)
                break;
            rt_block_since(seen);
        }
    }
}

void rt_secondary(uint32_t vcpu)
{
    rt_percpu_init(vcpu);
    secondary_fn[vcpu](vcpu);
    hypercall(KH_VCPU_OP, KEEL_VCPUOP_CMD(KEEL_VCPUOP_DOWN, vcpu), 0);
    rt_panic("vcpu %u: could not go down", vcpu);
}

int rt_vcpu_start(uint32_t vcpu, void (*fn)(uint32_t))
{
    struct keel_vcpu_context ctx;
    long rc;

    if (vcpu >= RT_MAX_VCPUS)
        return -22;
    memset(&ctx, 0, sizeof(ctx));
    secondary_fn[vcpu] = fn;
    ctx.regs.rip = (uint64_t)rt_secondary_entry;
    ctx.regs.rsp = (uint64_t)&stacks[vcpu][sizeof(stacks[vcpu])];
    ctx.regs.rdi = vcpu;
    ctx.regs.rflags = 0x202;
    rc = hypercall(KH_VCPU_OP, KEEL_VCPUOP_CMD(KEEL_VCPUOP_INITIALISE, vcpu), &ctx);
    if (rc < 0)
        return (int)rc;
    return (int)hypercall(KH_VCPU_OP, KEEL_VCPUOP_CMD(KEEL_VCPUOP_UP, vcpu), 0);
}

void rt_shutdown(uint32_t reason)
{
    struct keel_sched_shutdown s = { reason, 0 };

    for (;;)
        hypercall(KH_SCHED_OP, KEEL_SCHEDOP_SHUTDOWN, &s);
}
