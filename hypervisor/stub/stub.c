/* stub.c - the domain stub: the first and only program a domain process runs before guest code.
 *
 * Started by the core with the guest memory memfd on fd 3 and the shared control memfd on fd 4,
 * it maps both at their fixed addresses, closes every descriptor, creates one thread per vCPU,
 * installs signal handlers on per-vCPU alternate stacks, loads the seccomp program the core wrote
 * into the shared area (TSYNC: every thread), reports ready, and parks each vCPU until the core
 * starts it. From then on it only runs as the hypercall entry and in its signal handlers, under the
 * same seccomp filter as the guest: nothing here is trusted by the core.
 * Freestanding: no libc, no TLS, no SSE (compiled with -mgeneral-regs-only). */
#include <stdint.h>

#include <linux/userfaultfd.h>

#include "../hv_ctl.h"
#include "stub_offsets.h"
#include "stub_sys.h"

#define STACK_SIZE 16384
#define ALTSTACK_SIZE 32768

enum stub_phase { PH_GUEST = 0, PH_HYPERCALL = 1, PH_ENTERING = 2, PH_DELIVERING = 3, PH_DOWN = 4,
                  PH_EVENT = 5 /* in on_trap, waiting for a vm_event answer */ };

#define EFLAGS_TF 0x100UL

struct stub_vcpu {
    struct keel_cpu_regs entry;      /* offsets fixed in stub_offsets.h */
    uint32_t phase;
    uint32_t index;
    uint64_t stack_top;
    uint64_t vcpu_info;
    struct hv_vcpu_slot *slot;
    uint32_t seq;
    uint32_t run_seen;
    uint64_t callback;
    uint64_t fs_base, gs_base;
    struct k_ucontext *ev_uc;        /* PH_EVENT: the trapped guest context */
    uint32_t ma_stepping;            /* pages opened for one instruction (mem_access.c) */
    uint32_t capturing;              /* on_pause reads the guest stack (capture) */
    uint64_t cap_relock;             /* a page capture had to make readable, to close again */
    struct {
        uint64_t pretcode;
        struct k_ucontext uc;
        struct k_siginfo info;
    } frame __attribute__((aligned(64)));
    uint8_t fx[512] __attribute__((aligned(64)));
};

_Static_assert(__builtin_offsetof(struct stub_vcpu, entry.r15) == SLOT_ENTRY_R15, "r15");
_Static_assert(__builtin_offsetof(struct stub_vcpu, entry.r12) == SLOT_ENTRY_R12, "r12");
_Static_assert(__builtin_offsetof(struct stub_vcpu, entry.rbp) == SLOT_ENTRY_RBP, "rbp");
_Static_assert(__builtin_offsetof(struct stub_vcpu, entry.rbx) == SLOT_ENTRY_RBX, "rbx");
_Static_assert(__builtin_offsetof(struct stub_vcpu, entry.rdx) == SLOT_ENTRY_RDX, "rdx");
_Static_assert(__builtin_offsetof(struct stub_vcpu, entry.rsi) == SLOT_ENTRY_RSI, "rsi");
_Static_assert(__builtin_offsetof(struct stub_vcpu, entry.rdi) == SLOT_ENTRY_RDI, "rdi");
_Static_assert(__builtin_offsetof(struct stub_vcpu, entry.rsp) == SLOT_ENTRY_RSP, "rsp");
_Static_assert(__builtin_offsetof(struct stub_vcpu, phase) == STUB_PHASE, "phase");
_Static_assert(__builtin_offsetof(struct stub_vcpu, stack_top) == STUB_STACK, "stack");
_Static_assert(__builtin_offsetof(struct stub_vcpu, vcpu_info) == STUB_VCPU_INFO, "vcpu_info");

/* Referenced from stub_asm.S */
struct stub_vcpu *stub_tid_slot[STUB_TID_MAX];
long stub_hypercall(long op, long cmd, long arg, struct stub_vcpu *sv);
void stub_upcall_from_hypercall(struct stub_vcpu *sv, long result);
void stub_vcpu_thread(long index) __attribute__((noreturn));
void stub_main(void) __attribute__((noreturn));
void stub_down_entry(void) __attribute__((noreturn));
#pragma GCC visibility push(hidden)
extern char keel_hypercall_entry[], stub_epi_start[], stub_epi_rbx[], stub_epi_r12[],
    stub_epi_ret[], stub_epi_end[], __stub_end[];
extern void stub_jump_upcall(uint64_t frame, uint64_t callback) __attribute__((noreturn));
extern long stub_raw_clone(unsigned long flags, void *stack, long vcpu);
extern void stub_sigreturn(void *frame) __attribute__((noreturn));
#pragma GCC visibility pop
extern void stub_restorer(void) __attribute__((visibility("hidden")));

static struct stub_vcpu vcpus[KEEL_MAX_VCPUS];
static uint8_t stacks[KEEL_MAX_VCPUS][STACK_SIZE] __attribute__((aligned(16)));
static uint8_t altstacks[KEEL_MAX_VCPUS][ALTSTACK_SIZE] __attribute__((aligned(16)));
static uint32_t threads_ready;
static uint64_t filter_copy[HV_FILTER_MAX];

#define SHARED ((struct keel_shared_info *)KEEL_SHARED_BASE)
#define HDR HV_CTL(KEEL_SHARED_BASE)

void *memset(void *d, int c, size_t n)
{
    uint8_t *p = d;

    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *p = d;
    const uint8_t *q = s;

    while (n--)
        *p++ = *q++;
    return d;
}

static inline int in_stub(uint64_t rip)
{
    return rip >= (uint64_t)keel_hypercall_entry && rip < (uint64_t)__stub_end;
}

static struct stub_vcpu *self(void)
{
    long tid = sys6(NR_gettid, 0, 0, 0, 0, 0, 0);

    return (tid > 0 && tid < STUB_TID_MAX) ? stub_tid_slot[tid] : 0;
}

static void fail_boot(uint32_t step, long err)
{
    struct hv_ctl_header *h = HDR;

    h->stub_step = step;
    h->stub_error = (int32_t)-err;
    __atomic_store_n(&h->stub_state, HV_STUB_FAILED, __ATOMIC_SEQ_CST);
    futex_wake(&h->stub_state);
    sys_exit_group(100 + (int)step);
}

/* ---- registers <-> kernel signal context ---- */

static void regs_to_mc(const struct keel_cpu_regs *r, struct k_sigcontext *mc)
{
    mc->r8 = r->r8; mc->r9 = r->r9; mc->r10 = r->r10; mc->r11 = r->r11;
    mc->r12 = r->r12; mc->r13 = r->r13; mc->r14 = r->r14; mc->r15 = r->r15;
    mc->rdi = r->rdi; mc->rsi = r->rsi; mc->rbp = r->rbp; mc->rbx = r->rbx;
    mc->rdx = r->rdx; mc->rax = r->rax; mc->rcx = r->rcx; mc->rsp = r->rsp;
    mc->rip = r->rip;
    mc->eflags = (r->rflags & 0x0dd5UL) | 0x202UL;  /* user flags only; IF set */
}

static void mc_to_regs(const struct k_sigcontext *mc, struct keel_cpu_regs *r)
{
    r->r8 = mc->r8; r->r9 = mc->r9; r->r10 = mc->r10; r->r11 = mc->r11;
    r->r12 = mc->r12; r->r13 = mc->r13; r->r14 = mc->r14; r->r15 = mc->r15;
    r->rdi = mc->rdi; r->rsi = mc->rsi; r->rbp = mc->rbp; r->rbx = mc->rbx;
    r->rdx = mc->rdx; r->rax = mc->rax; r->rcx = mc->rcx; r->rsp = mc->rsp;
    r->rip = mc->rip; r->rflags = mc->eflags;
}

/* What a vm_event reports as the old value of a privileged state write (vm_event.c). */
static void publish_state(struct stub_vcpu *sv)
{
    sv->slot->cur_callback = sv->callback;
    sv->slot->cur_fs = sv->fs_base;
    sv->slot->cur_gs = sv->gs_base;
}

static void apply_segments(struct stub_vcpu *sv, const struct keel_cpu_regs *r)
{
    if (r->fs_base != sv->fs_base && sys2(NR_arch_prctl, ARCH_SET_FS, r->fs_base) == 0)
        sv->fs_base = r->fs_base;
    if (r->gs_base != sv->gs_base && sys2(NR_arch_prctl, ARCH_SET_GS, r->gs_base) == 0)
        sv->gs_base = r->gs_base;
    publish_state(sv);
}

static inline int in_stub(uint64_t rip);

/* Single-step for a monitor: the trap flag follows the core's vm_step word. While an instruction
 * a memory access answer let through is pending (ma_stepping), guest contexts keep the flag, and
 * stub contexts keep what they have: the flag is on only in the context of the access being let
 * through (a stub store in an upcall), never in the code of a signal handler a pause interrupted
 * (a trap there, with SIGTRAP blocked, would kill the domain). */
static void sync_step(struct stub_vcpu *sv, struct k_sigcontext *mc)
{
    if (__atomic_load_n(&sv->slot->vm_step, __ATOMIC_RELAXED) ||
        (sv->ma_stepping && !in_stub(mc->rip)))
        mc->eflags |= EFLAGS_TF;
    else if (!sv->ma_stepping)
        mc->eflags &= ~EFLAGS_TF;
}

/* ---- event upcalls ---- */

/* Push an upcall frame for state mc on the guest stack and redirect mc to the callback. */
static void push_upcall(struct stub_vcpu *sv, struct k_sigcontext *mc)
{
    uint64_t slot = mc->rsp - 128 - 8;
    uint64_t fa = (slot - sizeof(struct keel_upcall_frame)) & ~15UL;
    struct keel_upcall_frame *f = (struct keel_upcall_frame *)fa;

    *(uint64_t *)slot = mc->rip;
    f->r15 = mc->r15; f->r14 = mc->r14; f->r13 = mc->r13; f->r12 = mc->r12;
    f->r11 = mc->r11; f->r10 = mc->r10; f->r9 = mc->r9; f->r8 = mc->r8;
    f->rdi = mc->rdi; f->rsi = mc->rsi; f->rbp = mc->rbp; f->rbx = mc->rbx;
    f->rdx = mc->rdx; f->rcx = mc->rcx; f->rax = mc->rax;
    f->rflags = mc->eflags;
    f->rsp_slot = slot;
    mc->rsp = fa;
    mc->rip = sv->callback;
}

/* Deliver pending events into state mc if they are pending and not masked; claims the mask. */
static void maybe_deliver(struct stub_vcpu *sv, struct k_sigcontext *mc)
{
    struct keel_vcpu_info *vi = (struct keel_vcpu_info *)sv->vcpu_info;

    if (!sv->callback || !__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
        return;
    if (__atomic_exchange_n(&vi->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST))
        return;
    push_upcall(sv, mc);
}

/* A signal landed in the hypercall-return epilogue: finish the return on mc's behalf. */
static void finish_epilogue(struct stub_vcpu *sv, struct k_sigcontext *mc)
{
    uint64_t rip = mc->rip;

    if (rip < (uint64_t)stub_epi_rbx) {
        mc->rsp = mc->rbx;
        mc->rbx = sv->entry.rbx;
        mc->r12 = sv->entry.r12;
    } else if (rip < (uint64_t)stub_epi_r12) {
        mc->rbx = sv->entry.rbx;
        mc->r12 = sv->entry.r12;
    } else if (rip < (uint64_t)stub_epi_ret) {
        mc->r12 = sv->entry.r12;
    }
    mc->rip = *(uint64_t *)mc->rsp;
    mc->rsp += 8;
}

static int in_epilogue(uint64_t rip)
{
    return rip >= (uint64_t)stub_epi_start && rip < (uint64_t)stub_epi_end;
}

static void on_kick(int sig, struct k_siginfo *si, void *ucv)
{
    struct k_ucontext *uc = ucv;
    struct stub_vcpu *sv = self();

    (void)sig; (void)si;
    if (!sv)
        return;
    if (sv->phase == PH_ENTERING) {
        maybe_deliver(sv, &sv->frame.uc.mc);
        return;
    }
    if (in_stub(uc->mc.rip)) {
        if (sv->phase != PH_GUEST || !in_epilogue(uc->mc.rip))
            return;
        finish_epilogue(sv, &uc->mc);
    }
    maybe_deliver(sv, &uc->mc);
}

/* ---- pause and context ---- */

static void capture(struct stub_vcpu *sv, struct k_ucontext *uc, struct keel_vcpu_context *ctx)
{
    struct k_sigcontext mc = uc->mc;

    switch (sv->phase) {
    case PH_ENTERING:
    case PH_DOWN:
        return;                                  /* ctx already holds the state being loaded */
    case PH_EVENT:                               /* the trapped guest state */
        mc_to_regs(&sv->ev_uc->mc, &ctx->regs);
        uc = sv->ev_uc;
        break;
    case PH_HYPERCALL:                           /* restart the hypercall on resume */
        memset(&ctx->regs, 0, sizeof(ctx->regs));
        ctx->regs.rbx = sv->entry.rbx; ctx->regs.rbp = sv->entry.rbp;
        ctx->regs.r12 = sv->entry.r12; ctx->regs.r13 = sv->entry.r13;
        ctx->regs.r14 = sv->entry.r14; ctx->regs.r15 = sv->entry.r15;
        ctx->regs.rdi = sv->entry.rdi; ctx->regs.rsi = sv->entry.rsi;
        ctx->regs.rdx = sv->entry.rdx; ctx->regs.rsp = sv->entry.rsp;
        ctx->regs.rip = (uint64_t)keel_hypercall_entry;
        ctx->regs.rflags = 0x202;
        break;
    case PH_DELIVERING:                          /* the hypercall has returned */
        memset(&ctx->regs, 0, sizeof(ctx->regs));
        ctx->regs.rbx = sv->entry.rbx; ctx->regs.rbp = sv->entry.rbp;
        ctx->regs.r12 = sv->entry.r12; ctx->regs.r13 = sv->entry.r13;
        ctx->regs.r14 = sv->entry.r14; ctx->regs.r15 = sv->entry.r15;
        ctx->regs.rax = (uint64_t)sv->slot->rsp_val;
        ctx->regs.rip = *(uint64_t *)sv->entry.rsp;
        ctx->regs.rsp = sv->entry.rsp + 8;
        ctx->regs.rflags = 0x202;
        break;
    default:
        if (in_stub(mc.rip) && in_epilogue(mc.rip))
            finish_epilogue(sv, &mc);
        mc_to_regs(&mc, &ctx->regs);
        break;
    }
    ctx->regs.fs_base = sv->fs_base;
    ctx->regs.gs_base = sv->gs_base;
    if (uc->mc.fpstate) {
        memcpy(ctx->fxsave, (void *)uc->mc.fpstate, sizeof(ctx->fxsave));
        ctx->flags = KEEL_CTX_FPU_VALID;
    } else {
        ctx->flags = 0;
    }
    ctx->event_callback = sv->callback;
    ctx->flags |= KEEL_CTX_CALLBACK_VALID;
}

static void load_into(struct stub_vcpu *sv, struct k_ucontext *uc, const struct keel_vcpu_context *ctx)
{
    regs_to_mc(&ctx->regs, &uc->mc);
    if ((ctx->flags & KEEL_CTX_FPU_VALID) && uc->mc.fpstate)
        memcpy((void *)uc->mc.fpstate, ctx->fxsave, 464);  /* keep the kernel's sw_reserved bytes */
    apply_segments(sv, &ctx->regs);
    if (ctx->flags & KEEL_CTX_CALLBACK_VALID)
        sv->callback = ctx->event_callback;
    publish_state(sv);
    if (sv->phase != PH_EVENT)
        sv->phase = PH_GUEST;
}

/* ---- memory access: protections of the guest mapping (mem_access.c in the core) ---- */

/* Apply the core's waiting protection ops, once, from whichever thread gets here first; the
 * others wait until they are applied (the guest must not run under stale protections). */
static void apply_mprot(void)
{
    struct hv_ctl_header *h = HDR;
    uint32_t gen = __atomic_load_n(&h->mp_gen, __ATOMIC_ACQUIRE);

    if (gen == __atomic_load_n(&h->mp_done, __ATOMIC_ACQUIRE))
        return;
    if (__atomic_exchange_n(&h->mp_lock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&h->mp_done, __ATOMIC_ACQUIRE) != gen &&
               __atomic_load_n(&h->mp_lock, __ATOMIC_ACQUIRE))
            sys6(NR_sched_yield, 0, 0, 0, 0, 0, 0);
        return;
    }
    if (gen != __atomic_load_n(&h->mp_done, __ATOMIC_ACQUIRE)) {
        uint32_t n = h->mp_n < HV_MP_OPS ? h->mp_n : HV_MP_OPS;
        int32_t err = 0;
        for (uint32_t i = 0; i < n; i++) {
            long r = sys3(NR_mprotect, h->mp_ops[i].addr, h->mp_ops[i].len, h->mp_ops[i].prot);
            if (r < 0 && !err)
                err = (int32_t)r;
        }
        h->mp_err = err;
        __atomic_store_n(&h->mp_done, gen, __ATOMIC_RELEASE);
        __atomic_add_fetch(&h->ack, 1, __ATOMIC_SEQ_CST);
        futex_wake(&h->ack);
    }
    __atomic_store_n(&h->mp_lock, 0, __ATOMIC_RELEASE);
}

static void on_pause(int sig, struct k_siginfo *si, void *ucv)
{
    struct k_ucontext *uc = ucv;
    struct stub_vcpu *sv = self();
    struct hv_vcpu_slot *slot;

    (void)sig; (void)si;
    if (!sv)
        return;
    slot = sv->slot;
    if (!__atomic_load_n(&slot->pause_req, __ATOMIC_SEQ_CST))
        return;
    sv->capturing = 1;                           /* see on_segv */
    capture(sv, uc, &slot->ctx);
    sv->capturing = 0;
    if (sv->cap_relock) {
        sys3(NR_mprotect, sv->cap_relock, 4096, 0);
        sv->cap_relock = 0;
    }
    __atomic_store_n(&slot->paused, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&HDR->ack, 1, __ATOMIC_SEQ_CST);
    futex_wake(&HDR->ack);
    for (uint32_t v; (v = __atomic_load_n(&slot->pause_req, __ATOMIC_SEQ_CST));) {
        apply_mprot();                           /* the core woke us with protection ops */
        futex_wait(&slot->pause_req, v);
    }
    if (__atomic_exchange_n(&slot->go_down, 0, __ATOMIC_SEQ_CST)) {
        uc->mc.rip = (uint64_t)stub_down_entry;
        uc->mc.rsp = sv->stack_top - 8;
        sv->phase = PH_DOWN;
    } else if (__atomic_exchange_n(&slot->ctx_load, 0, __ATOMIC_SEQ_CST)) {
        load_into(sv, sv->phase == PH_EVENT ? sv->ev_uc : uc, &slot->ctx);
    }
    if (sv->phase == PH_EVENT)
        sync_step(sv, &sv->ev_uc->mc);
    else if (sv->phase != PH_DOWN)
        sync_step(sv, &uc->mc);
    __atomic_store_n(&slot->paused, 0, __ATOMIC_SEQ_CST);
}

/* A guest fault or a forbidden system call: report it and end the domain process. */
static void on_fault(int sig, struct k_siginfo *si, void *ucv)
{
    struct k_ucontext *uc = ucv;
    struct stub_vcpu *sv = self();
    struct hv_ctl_header *h = HDR;

    h->crash.signo = sig;
    h->crash.code = si->si_code;
    h->crash.vcpu = sv ? sv->index : 0xffffffffu;
    h->crash.rip = uc->mc.rip;
    h->crash.addr = si->addr;
    h->crash.syscall_nr = sig == 31 ? (uint32_t)si->syscall_nr : 0;
    __atomic_store_n(&h->crashed, 1, __ATOMIC_SEQ_CST);
    sys_exit_group(128 + sig);
}

static void post_request(struct stub_vcpu *sv, long op, long cmd, long arg);
static void wait_response(struct stub_vcpu *sv);

static int in_guest_mem(uint64_t a)
{
    return a >= KEEL_GUEST_BASE && a - KEEL_GUEST_BASE < HDR->mem_size;
}

/* The core's answer to a memory access event: fix a page's protection, or open pages for one
 * instruction (the trap flag brings us back to on_trap, which closes them). */
static void ma_answer(struct stub_vcpu *sv, struct k_sigcontext *mc)
{
    struct hv_vcpu_slot *slot = sv->slot;

    if (slot->rsp_action != HV_ACT_VM_EVENT)
        return;
    if (slot->rsp_data & HV_VMEV_MA_PROT)
        sys3(NR_mprotect, slot->ma_fix_addr & ~4095UL, 4096, slot->ma_fix_prot & 7);
    if ((slot->rsp_data & HV_VMEV_MA_STEP) && slot->ma_n && slot->ma_n <= HV_MA_STEP_PAGES) {
        for (uint32_t i = 0; i < slot->ma_n; i++)
            sys3(NR_mprotect, slot->ma_addr[i] & ~4095UL, 4096, 7);
        sv->ma_stepping = 1;
        mc->eflags |= EFLAGS_TF;
    }
}

/* SIGSEGV: on guest memory while the core restricts access, a memory access event (this vCPU
 * waits here like a trap event); anything else is the guest fault it always was. */
static void on_segv(int sig, struct k_siginfo *si, void *ucv)
{
    struct k_ucontext *uc = ucv;
    struct stub_vcpu *sv = self();
    struct hv_vcpu_slot *slot;
    uint32_t phase;

    if (!sv || !__atomic_load_n(&HDR->ma_on, __ATOMIC_ACQUIRE) || !in_guest_mem(si->addr))
        on_fault(sig, si, ucv);
    if (sv->capturing && !(uc->mc.err & 2) && !sv->cap_relock) {
        /* a pause reading a return address on a stack frame of access n: asking the core now
         * would deadlock (it waits for this pause), so the page is readable for the read only
         * (a read fault means its protection was none: w and x read on x86 without protection
         * keys; on a CPU with them an x frame would come back as n) */
        sv->cap_relock = si->addr & ~4095UL;
        sys3(NR_mprotect, sv->cap_relock, 4096, 1);
        return;
    }
    slot = sv->slot;
    phase = sv->phase;
    mc_to_regs(&uc->mc, &slot->ev_regs);
    slot->ev_regs.fs_base = sv->fs_base;
    slot->ev_regs.gs_base = sv->gs_base;
    sv->ev_uc = uc;
    sv->phase = PH_EVENT;
    post_request(sv, HV_OP_MEMFAULT, (long)si->addr,
                 (long)(uc->mc.err | (in_stub(uc->mc.rip) ? 1UL << 32 : 0)));
    wait_response(sv);
    if (slot->rsp_val < 0) {
        sv->phase = phase;
        on_fault(sig, si, ucv);
    }
    if (slot->rsp_data & HV_VMEV_LOAD_REGS) {
        regs_to_mc(&slot->ev_regs, &uc->mc);
        apply_segments(sv, &slot->ev_regs);
    }
    ma_answer(sv, &uc->mc);
    sync_step(sv, &uc->mc);
    sv->phase = phase;                   /* last: a pause until here syncs the faulting context */
}

/* The instruction a memory access answer let through has run: close its pages again and tell
 * the core (which holds the other vCPUs until then). */
static void ma_step_done(struct stub_vcpu *sv, struct k_ucontext *uc)
{
    struct hv_vcpu_slot *slot = sv->slot;
    uint32_t n = slot->ma_n <= HV_MA_STEP_PAGES ? slot->ma_n : HV_MA_STEP_PAGES;
    uint32_t phase = sv->phase;

    for (uint32_t i = 0; i < n; i++)
        sys3(NR_mprotect, slot->ma_addr[i] & ~4095UL, 4096, slot->ma_prot[i] & 7);
    sv->ma_stepping = 0;
    sv->phase = PH_EVENT;
    sv->ev_uc = uc;
    mc_to_regs(&uc->mc, &slot->ev_regs);
    post_request(sv, HV_OP_MA_STEPPED, 0, 0);
    wait_response(sv);
    ma_answer(sv, &uc->mc);
    sync_step(sv, &uc->mc);
    sv->phase = phase;
}

/* SIGTRAP: a breakpoint (int3), a single-step trap in guest code, or a consumer's hardware
 * breakpoint (perf's sigtrap, TRAP_PERF). The core decides: a monitor
 * wants it (this vCPU waits here for the answer, other vCPUs run on, a pause may interrupt the
 * wait) or nobody does (the guest fault it always was). Steps through the stub's own code, which
 * a monitored single-step causes, are not reported. */
static void on_trap(int sig, struct k_siginfo *si, void *ucv)
{
    struct k_ucontext *uc = ucv;
    struct stub_vcpu *sv = self();
    struct hv_vcpu_slot *slot;
    uint64_t trapno = uc->mc.trapno;
    uint32_t phase;

    if (si->si_code == K_TRAP_PERF) {
        /* a consumer's hardware breakpoint (debugreg.c), unless perf says otherwise */
        uint64_t data;
        __builtin_memcpy(&data, (const uint8_t *)si + 24, sizeof(data));
        if (!sv || (data & ~3ULL) != HV_DEBUG_SIG_DATA)
            on_fault(sig, si, ucv);
        if (in_stub(uc->mc.rip))
            return;                               /* the stub's own access: not the guest's */
        trapno = HV_TRAP_DEBUG | (1u << (data & 3));
        goto report;
    }
    if (!sv || (trapno != 1 && trapno != 3))
        on_fault(sig, si, ucv);
    if (trapno == 1 && sv->ma_stepping) {
        ma_step_done(sv, uc);
        if (in_stub(uc->mc.rip) || !__atomic_load_n(&sv->slot->vm_step, __ATOMIC_RELAXED))
            return;                               /* no single-step event wanted here */
    }
    if (in_stub(uc->mc.rip)) {
        if (trapno == 1)
            return;
        on_fault(sig, si, ucv);
    }
report:
    slot = sv->slot;
    phase = sv->phase;
    mc_to_regs(&uc->mc, &slot->ev_regs);
    slot->ev_regs.fs_base = sv->fs_base;
    slot->ev_regs.gs_base = sv->gs_base;
    sv->ev_uc = uc;
    sv->phase = PH_EVENT;
    post_request(sv, HV_OP_TRAP, (long)trapno, 0);
    wait_response(sv);
    if (slot->rsp_val < 0) {
        sv->phase = phase;
        on_fault(sig, si, ucv);
    }
    if (slot->rsp_action == HV_ACT_VM_EVENT && (slot->rsp_data & HV_VMEV_LOAD_REGS)) {
        regs_to_mc(&slot->ev_regs, &uc->mc);
        apply_segments(sv, &slot->ev_regs);
    }
    sync_step(sv, &uc->mc);
    sv->phase = phase;
}

/* ---- hypercalls ---- */

static void post_request(struct stub_vcpu *sv, long op, long cmd, long arg)
{
    struct hv_vcpu_slot *slot = sv->slot;
    struct hv_ctl_header *h = HDR;

    slot->op = (uint32_t)op;
    slot->cmd = (uint64_t)cmd;
    slot->arg = (uint64_t)arg;
    __atomic_store_n(&slot->req_seq, ++sv->seq, __ATOMIC_RELEASE);
    __atomic_or_fetch(&h->pending[sv->index / 64], 1ULL << (sv->index % 64), __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&h->core_sleeping, __ATOMIC_SEQ_CST)) {
        __atomic_add_fetch(&h->doorbell, 1, __ATOMIC_SEQ_CST);
        futex_wake(&h->doorbell);
    }
}

static void wait_response(struct stub_vcpu *sv)
{
    struct hv_vcpu_slot *slot = sv->slot;
    uint64_t t0 = rdtsc(), spin = HDR->spin_cycles;
    uint32_t seen;

    unsigned spins = 0;

    while ((seen = __atomic_load_n(&slot->rsp_seq, __ATOMIC_ACQUIRE)) != sv->seq) {
        uint64_t waited = rdtsc() - t0;
        if (waited < spin) {
            /* after a few microseconds, let a thread this CPU is shared with (the domain's
             * runner, a backend) run: with fewer CPUs than spinners nobody would progress */
            if (waited > spin / 16 && ++spins % 16 == 0)
                sys6(NR_sched_yield, 0, 0, 0, 0, 0, 0);
            __builtin_ia32_pause();
            continue;
        }
        __atomic_store_n(&slot->waiting, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&slot->rsp_seq, __ATOMIC_SEQ_CST) != sv->seq)
            futex_wait(&slot->rsp_seq, seen);
        __atomic_store_n(&slot->waiting, 0, __ATOMIC_SEQ_CST);
    }
}

long stub_hypercall(long op, long cmd, long arg, struct stub_vcpu *sv)
{
    struct hv_vcpu_slot *slot = sv->slot;
    long val;

    if (op == KH_SCHED_OP && cmd == KEEL_SCHEDOP_YIELD) {
        /* answered here: all the core would do is return 0, and a guest polling for an event
         * yields so that the thread it waits for can have this CPU without a runner wake-up */
        sys6(NR_sched_yield, 0, 0, 0, 0, 0, 0);
        return 0;
    }
    if (op == KH_HVM_OP || op == KH_SET_CALLBACKS || op == KH_SET_SEGMENT_BASE ||
        op == KH_SET_TIMER_OP || op == KH_VCPU_OP)
        slot->entry = sv->entry;                  /* registers a vm_event reports */
    post_request(sv, op, cmd, arg);
    wait_response(sv);
    val = slot->rsp_val;
    switch (slot->rsp_action) {
    case HV_ACT_SET_FS:
        if (sys2(NR_arch_prctl, ARCH_SET_FS, slot->rsp_data) == 0)
            sv->fs_base = slot->rsp_data;
        publish_state(sv);
        break;
    case HV_ACT_SET_GS:
        if (sys2(NR_arch_prctl, ARCH_SET_GS, slot->rsp_data) == 0)
            sv->gs_base = slot->rsp_data;
        publish_state(sv);
        break;
    case HV_ACT_SET_CALLBACK:
        sv->callback = slot->rsp_data;
        publish_state(sv);
        break;
    case HV_ACT_GO_DOWN:
        sv->phase = PH_DOWN;
        stub_jump_upcall(sv->stack_top - 8, (uint64_t)stub_down_entry);
    default:
        break;
    }
    return val;
}

void stub_upcall_from_hypercall(struct stub_vcpu *sv, long result)
{
    struct k_sigcontext mc;
    struct keel_vcpu_info *vi = (struct keel_vcpu_info *)sv->vcpu_info;

    if (!sv->callback)
        return;                                   /* plain return: nowhere to deliver */
    memset(&mc, 0, sizeof(mc));
    mc.rbx = sv->entry.rbx; mc.rbp = sv->entry.rbp; mc.r12 = sv->entry.r12;
    mc.r13 = sv->entry.r13; mc.r14 = sv->entry.r14; mc.r15 = sv->entry.r15;
    mc.rax = (uint64_t)result;
    mc.rip = *(uint64_t *)sv->entry.rsp;
    mc.rsp = sv->entry.rsp + 8;
    mc.eflags = 0x202;
    __atomic_store_n(&vi->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);
    push_upcall(sv, &mc);
    sv->phase = PH_GUEST;
    stub_jump_upcall(mc.rsp, mc.rip);
}

/* ---- vCPU start ---- */

static void enter_context(struct stub_vcpu *sv)
{
    const struct keel_vcpu_context *ctx = &sv->slot->ctx;
    struct k_ucontext *uc = &sv->frame.uc;

    memset(&sv->frame, 0, sizeof(sv->frame));
    regs_to_mc(&ctx->regs, &uc->mc);
    uc->mc.cs = 0x33;
    uc->mc.ss = 0x2b;
    uc->uc_stack.ss_sp = (uint64_t)altstacks[sv->index];
    uc->uc_stack.ss_size = ALTSTACK_SIZE;
    if (ctx->flags & KEEL_CTX_FPU_VALID) {
        memcpy(sv->fx, ctx->fxsave, 464);
        memset(sv->fx + 464, 0, 48);
        uc->mc.fpstate = (uint64_t)sv->fx;
    }
    apply_segments(sv, &ctx->regs);
    if (ctx->flags & KEEL_CTX_CALLBACK_VALID)
        sv->callback = ctx->event_callback;
    publish_state(sv);
    sync_step(sv, &uc->mc);
    apply_mprot();                               /* protections set while no vCPU ran */
    sv->phase = PH_ENTERING;
    maybe_deliver(sv, &uc->mc);
    stub_sigreturn(uc);
}

static void __attribute__((noreturn)) down_loop(struct stub_vcpu *sv)
{
    struct hv_vcpu_slot *slot = sv->slot;

    sv->phase = PH_DOWN;
    for (;;) {
        uint32_t g = __atomic_load_n(&slot->run_gen, __ATOMIC_SEQ_CST);
        if (g != sv->run_seen) {
            sv->run_seen = g;
            enter_context(sv);
        }
        futex_wait(&slot->run_gen, g);
    }
}

void stub_down_entry(void)
{
    struct stub_vcpu *sv = self();

    if (!sv)
        sys_exit_group(99);
    down_loop(sv);
}

/* ---- boot ---- */

static void setup_thread(struct stub_vcpu *sv)
{
    struct k_stack ss = { (uint64_t)altstacks[sv->index], 0, 0, ALTSTACK_SIZE };
    long tid = sys6(NR_gettid, 0, 0, 0, 0, 0, 0);

    /* not in guest code from here on: a pause that lands between READY and down_loop (the core
     * may start and pause the vCPU at once) must not take this stub context for the guest's */
    sv->phase = PH_DOWN;
    if (tid <= 0 || tid >= STUB_TID_MAX)
        fail_boot(20, -34);
    if (sys2(NR_sigaltstack, &ss, 0) < 0)
        fail_boot(21, -22);
    stub_tid_slot[tid] = sv;
    sv->slot->tid = (int32_t)tid;
    sv->run_seen = __atomic_load_n(&sv->slot->run_gen, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sv->slot->ready, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&threads_ready, 1, __ATOMIC_SEQ_CST);
}

void stub_vcpu_thread(long index)
{
    struct stub_vcpu *sv = &vcpus[index];

    setup_thread(sv);
    down_loop(sv);
}

static void install_handler(int sig, void (*fn)(int, struct k_siginfo *, void *), uint64_t extra,
                            uint64_t mask)
{
    struct k_sigaction sa = { fn, K_SA_SIGINFO | K_SA_ONSTACK | K_SA_RESTORER | extra,
                              stub_restorer, mask };
    long r = sys4(NR_rt_sigaction, sig, &sa, 0, 8);

    if (r < 0)
        fail_boot(10, r);
}

static void install_handlers(void)
{
    static const int faults[] = { 4, 7, 8, 31 };  /* ILL BUS FPE SYS */

    install_handler(HV_SIG_KICK, on_kick, K_SA_RESTART, 0);
    install_handler(5, on_trap, K_SA_RESTART, 1UL << (HV_SIG_KICK - 1));  /* TRAP: pause may enter */
    install_handler(HV_SIG_PAUSE, on_pause, K_SA_RESTART, 1UL << (HV_SIG_KICK - 1));
    /* SEGV: memory access events wait in the handler (pause may enter, as for TRAP) */
    install_handler(11, on_segv, K_SA_RESTART, 1UL << (HV_SIG_KICK - 1));
    for (unsigned i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
        install_handler(faults[i], on_fault, 0, ~0UL & ~(1UL << (faults[i] - 1)));
}

static void map_memory(struct hv_ctl_header **hp)
{
    long r = sys6(NR_mmap, KEEL_SHARED_BASE, HV_SHARED_SIZE, 3, 0x01 | 0x10, HV_FD_SHARED, 0);
    struct hv_ctl_header *h;
    uint64_t size;

    if (r != (long)KEEL_SHARED_BASE)
        sys_exit_group(98);
    h = HDR;
    size = h->mem_size;
    if (!size || size > KEEL_MAX_GUEST_MEM || (size & (KEEL_PAGE_SIZE - 1)))
        fail_boot(1, -22);
    if (h->nr_vcpus < 1 || h->nr_vcpus > KEEL_MAX_VCPUS || h->filter_len > HV_FILTER_MAX)
        fail_boot(2, -22);
    r = sys6(NR_mmap, KEEL_GUEST_BASE, size, 7, 0x01 | 0x10, HV_FD_GUESTMEM, 0);
    if (r != (long)KEEL_GUEST_BASE)
        fail_boot(3, r);
    sys1(NR_close, HV_FD_GUESTMEM);
    sys1(NR_close, HV_FD_SHARED);
    *hp = h;
}

/* Register guest memory for write-protection (log-dirty mode: asynchronous or synchronous, as
 * the features the core chose say) and hand the
 * userfaultfd to the core, which takes its own copy with pidfd_getfd(); then close ours. Not
 * fatal: without it the domain only lacks log-dirty mode. */
static void setup_uffd(struct hv_ctl_header *h)
{
    struct uffdio_api api = { .api = UFFD_API, .features = h->uffd_features };
    struct uffdio_register reg = { .range = { KEEL_GUEST_BASE, h->mem_size },
                                   .mode = UFFDIO_REGISTER_MODE_WP };
    long fd, r;

    /* lazy memory: missing pages fault to the core too (the same userfaultfd: a range can be
     * registered with one only); without a log-dirty engine, missing faults alone */
    if (h->uffd_missing)
        reg.mode = UFFDIO_REGISTER_MODE_MISSING | (h->uffd_features ? UFFDIO_REGISTER_MODE_WP : 0);
    if (!h->uffd_features && !h->uffd_missing) {   /* the core has no log-dirty engine */
        h->uffd = -95;
        return;
    }
    fd = sys1(NR_userfaultfd, 02000000 | 04000 | UFFD_USER_MODE_ONLY);
    if (fd < 0) {
        h->uffd = (int32_t)fd;
        return;
    }
    if ((r = sys3(NR_ioctl, fd, 0xC018AA3FUL /* UFFDIO_API */, &api)) < 0 ||
        (r = sys3(NR_ioctl, fd, 0xC020AA00UL /* UFFDIO_REGISTER */, &reg)) < 0) {
        sys1(NR_close, fd);
        h->uffd = (int32_t)r;
        return;
    }
    h->uffd = (int32_t)fd;
    __atomic_store_n(&h->stub_state, HV_STUB_UFFD, __ATOMIC_SEQ_CST);
    futex_wake(&h->stub_state);
    while (!__atomic_load_n(&h->uffd_taken, __ATOMIC_SEQ_CST))
        futex_wait(&h->uffd_taken, 0);
    sys1(NR_close, fd);
}

static void load_filter(struct hv_ctl_header *h)
{
    struct { uint16_t len; uint16_t pad[3]; void *filter; } prog;
    long r;

    memcpy(filter_copy, h->filter, h->filter_len * sizeof(uint64_t));
    prog.len = (uint16_t)h->filter_len;
    prog.filter = filter_copy;
    r = sys3(NR_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0);
    if (r < 0)
        fail_boot(30, r);
    r = sys3(NR_seccomp, 1 /* SET_MODE_FILTER */, 1 /* TSYNC */, &prog);
    if (r != 0)
        fail_boot(31, r < 0 ? r : -16);
}

void stub_main(void)
{
    struct hv_ctl_header *h;
    uint32_t n;

    map_memory(&h);
    setup_uffd(h);
    n = h->nr_vcpus;
    for (uint32_t i = 0; i < n; i++) {
        vcpus[i].index = i;
        vcpus[i].slot = HV_SLOT(KEEL_SHARED_BASE, i);
        vcpus[i].stack_top = (uint64_t)&stacks[i][STACK_SIZE];
        vcpus[i].vcpu_info = (uint64_t)&SHARED->vcpu_info[i];
    }
    install_handlers();
    setup_thread(&vcpus[0]);
    for (uint32_t i = 1; i < n; i++) {
        long r = stub_raw_clone(0x50f00UL, &stacks[i][STACK_SIZE], (long)i);
        if (r < 0)
            fail_boot(4, r);
    }
    while (__atomic_load_n(&threads_ready, __ATOMIC_SEQ_CST) < n)
        sys6(NR_sched_yield, 0, 0, 0, 0, 0, 0);
    load_filter(h);
    __atomic_store_n(&h->stub_state, HV_STUB_READY, __ATOMIC_SEQ_CST);
    futex_wake(&h->stub_state);
    down_loop(&vcpus[0]);
}
