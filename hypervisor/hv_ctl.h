/* hv_ctl.h - the memory the core shares with a domain's stub: layout and protocol.
 *
 * One memfd per domain, mapped at KEEL_SHARED_BASE in the domain process and in the core:
 *   +0          struct keel_shared_info (the guest-visible shared page: time, events)
 *   +HV_CTL_OFF struct hv_ctl_header   (doorbell, boot handshake, seccomp program, crash report)
 *   +HV_SLOT_OFF struct hv_vcpu_slot[nr_vcpus] (per-vCPU hypercall slot and run control)
 * The guest can write all of it: the core copies each field once and validates it, and never
 * trusts anything read back here beyond the guest's own state.
 *
 * Hypercall: the stub fills a slot's op/cmd/arg, bumps req_seq, sets the vCPU's bit in
 * pending[], and wakes the core's doorbell if core_sleeping. The core answers with rsp_val and
 * rsp_seq = req_seq, waking the stub if it is waiting. Both sides spin briefly before sleeping
 * on a futex. Pause, context load and vCPU start use pause_req / run_gen and two signals. */
#ifndef KEEL_HV_CTL_H
#define KEEL_HV_CTL_H

#include <stdint.h>

#include "keel/abi.h"

#define HV_SHARED_SIZE   (1ULL << 20)  /* power of two: the seccomp filter masks futex addresses */
#define HV_CTL_OFF       0x10000ULL
#define HV_SLOT_OFF      0x20000ULL
#define HV_SLOT_SIZE     2048ULL
#define HV_FILTER_MAX    1024          /* BPF instructions */

#define HV_SIG_KICK      10            /* SIGUSR1: deliver pending events */
#define HV_SIG_PAUSE     12            /* SIGUSR2: stop and save context */

#define HV_FD_GUESTMEM   3             /* descriptors the stub is started with */
#define HV_FD_SHARED     4

enum hv_stub_state { HV_STUB_BOOTING = 0, HV_STUB_READY = 1, HV_STUB_FAILED = 2, HV_STUB_UFFD = 3 };

/* Actions the core asks the stub to take when a hypercall returns. */
enum hv_rsp_action {
    HV_ACT_NONE = 0,
    HV_ACT_SET_FS = 1,                 /* arch_prctl(ARCH_SET_FS, rsp_data) */
    HV_ACT_SET_GS = 2,
    HV_ACT_SET_CALLBACK = 3,           /* remember rsp_data as the event callback */
    HV_ACT_GO_DOWN = 4,                /* this vCPU goes offline */
    HV_ACT_VM_EVENT = 5,               /* a trap event's answer: rsp_data = HV_VMEV_* (vm_event.c) */
};

/* vm_event (vm_event.c): a guest trap (int3, single-step) the stub hands to the core as a request
 * with op HV_OP_TRAP, cmd = the trap number (3 breakpoint, 1 debug), registers in ev_regs. The
 * core answers rsp_val 0 (resume, rsp_action HV_ACT_VM_EVENT) or < 0 (nobody monitors it: the
 * trap is the guest fault it always was). */
#define HV_OP_TRAP 0x4b56
/* cmd HV_TRAP_DEBUG | B0-B3: a hardware breakpoint the consumer set (debugreg.c) fired; the
 * stub knows it by perf's SIGTRAP (si_code TRAP_PERF) carrying HV_DEBUG_SIG_DATA | its number. */
#define HV_TRAP_DEBUG 0x100
#define HV_DEBUG_SIG_DATA 0x4b45454c44520000ULL
#define HV_VMEV_LOAD_REGS 1u           /* load ev_regs into the trapped context */

/* Memory access (mem_access.c): the core's access table is enforced with mprotect() of the
 * stub's guest mapping. A SIGSEGV on guest memory while ma_on is set becomes a request
 * HV_OP_MEMFAULT (cmd = faulting address, arg = the page fault error code), registers in ev_regs;
 * the answer (rsp_action HV_ACT_VM_EVENT) may carry:
 *   HV_VMEV_MA_PROT: mprotect(ma_fix_addr, 4096, ma_fix_prot) before resuming;
 *   HV_VMEV_MA_STEP: open the pages ma_addr[0..ma_n) (PROT rwx), run one instruction with the
 *     trap flag, then give them ma_prot[] back and report HV_OP_MA_STEPPED (every other vCPU
 *     is held stopped by the core meanwhile).
 * Table changes not made at an event are applied by a vCPU thread in its pause handler (or as a
 * vCPU enters guest code): ops mp_ops[0..mp_n) of generation mp_gen, done when mp_done = mp_gen. */
#define HV_OP_MEMFAULT 0x4b57
#define HV_OP_MA_STEPPED 0x4b58
#define HV_VMEV_MA_STEP 2u
#define HV_VMEV_MA_PROT 4u
#define HV_MA_STEP_PAGES 4             /* pages one instruction may open (movs across pages) */
#define HV_MP_OPS 128

struct hv_mprot_op {
    uint64_t addr, len;
    uint32_t prot, pad;
};

struct hv_crash_report {
    int32_t signo;
    int32_t code;
    uint32_t vcpu;
    uint32_t syscall_nr;
    uint64_t rip;
    uint64_t addr;
};

struct hv_ctl_header {
    uint32_t doorbell;                 /* futex the core sleeps on */
    uint32_t core_sleeping;
    uint64_t pending[KEEL_MAX_VCPUS / 64];
    uint64_t d0_send_sel;              /* Domain-0 fast sends (evtfast.c): words of d0_send set */
    uint64_t d0_send[KEEL_NR_EVTCHN / 64];  /* Domain-0 ports a backend signalled, to drain */
    uint64_t vcpu_polling[KEEL_MAX_VCPUS / 64]; /* guest: vCPU polls in guest mode, no kick */
    uint64_t guest_send[KEEL_NR_EVTCHN / 64];   /* guest -> Domain-0 processes (evtfast.c) */
    uint64_t d0_watch[KEEL_NR_EVTCHN / 64];     /* Domain-0 processes -> guest */
    uint64_t kick_vcpu[KEEL_MAX_VCPUS / 64];    /* Domain-0 processes -> runner */
    uint32_t stub_state;               /* futex: enum hv_stub_state */
    int32_t stub_error;                /* errno of a failed boot step */
    uint32_t stub_step;                /* which boot step failed */
    uint32_t nr_vcpus;
    uint64_t mem_size;
    uint32_t ack;                      /* futex: bumped by each pause acknowledgement */
    uint32_t filter_len;
    uint64_t spin_cycles;              /* how long a vCPU spins for a reply before sleeping */
    struct hv_crash_report crash;
    uint32_t crashed;                  /* set by the stub's fault handler */
    int32_t uffd;                      /* stub's userfaultfd number, or -errno */
    uint32_t uffd_taken;               /* futex: the core has its copy */
    uint32_t uffd_features;            /* userfaultfd features to ask for, 0: no userfaultfd */
    uint32_t uffd_missing;             /* lazy memory (lazymem.c): register missing faults too */
    uint64_t filter[HV_FILTER_MAX];    /* struct sock_filter program written by the core */
    /* memory access (mem_access.c) */
    uint32_t ma_on;                    /* core -> stub: faults on guest memory go to the core */
    uint32_t mp_gen;                   /* core -> stub: protection ops waiting (generation) */
    uint32_t mp_done;                  /* stub -> core: generation applied (then ack bumped) */
    uint32_t mp_lock;                  /* stub threads: one applies */
    int32_t mp_err;                    /* stub -> core: first mprotect error of the generation */
    uint32_t mp_n;
    struct hv_mprot_op mp_ops[HV_MP_OPS];
};

struct hv_vcpu_slot {
    /* hypercall request, stub -> core */
    uint32_t req_seq;
    uint32_t op;
    uint64_t cmd;
    uint64_t arg;
    /* hypercall response, core -> stub */
    uint32_t rsp_seq;
    uint32_t waiting;                  /* stub sleeps on rsp_seq */
    int64_t rsp_val;
    uint32_t rsp_action;               /* enum hv_rsp_action */
    uint32_t pad0;
    uint64_t rsp_data;
    /* run control, core -> stub */
    uint32_t run_gen;                  /* futex: bumped to start the vCPU from ctx */
    uint32_t pause_req;                /* futex: non-zero keeps the vCPU stopped */
    uint32_t ctx_load;                 /* load ctx when released from pause */
    uint32_t go_down;                  /* go offline when released from pause */
    /* stub -> core */
    uint32_t paused;                   /* 1 while stopped in the pause handler */
    int32_t tid;                       /* thread id inside the domain's pid namespace */
    uint32_t ready;
    uint32_t pad1;
    struct keel_cpu_regs entry;        /* guest registers at hypercall entry */
    struct keel_vcpu_context ctx;      /* saved at pause / loaded at start */
    /* vm_event (vm_event.c) */
    uint32_t vm_step;                  /* core -> stub: keep the trap flag set in guest code */
    uint32_t pad2;
    uint64_t cur_callback, cur_fs, cur_gs; /* stub -> core: current values (old values of events) */
    struct keel_cpu_regs ev_regs;      /* trap registers (stub -> core), loaded back on request */
    /* memory access (mem_access.c), core -> stub */
    uint32_t ma_n;                     /* HV_VMEV_MA_STEP: pages to open for one instruction */
    uint32_t ma_prot[HV_MA_STEP_PAGES];  /* ... and their protections afterwards */
    uint64_t ma_addr[HV_MA_STEP_PAGES];
    uint64_t ma_fix_addr;              /* HV_VMEV_MA_PROT */
    uint32_t ma_fix_prot, pad3;
};

_Static_assert(sizeof(struct keel_shared_info) <= HV_CTL_OFF, "shared info too large");
_Static_assert(HV_CTL_OFF + sizeof(struct hv_ctl_header) <= HV_SLOT_OFF, "ctl header too large");
_Static_assert(sizeof(struct hv_vcpu_slot) <= HV_SLOT_SIZE, "vcpu slot too large");
_Static_assert(HV_SLOT_OFF + KEEL_MAX_VCPUS * HV_SLOT_SIZE <= HV_SHARED_SIZE, "shared area too small");

#define HV_CTL(base) ((struct hv_ctl_header *)((char *)(base) + HV_CTL_OFF))
#define HV_SLOT(base, i) ((struct hv_vcpu_slot *)((char *)(base) + HV_SLOT_OFF + (i) * HV_SLOT_SIZE))

#endif
