/* keel/vm_event.h - introspection of a running domain: the vm_event ring the core shares with one
 * monitoring process, its request/response records and the domctls that control it.
 *
 * Records have the byte layout of Xen's vm_event interface version 7 (400 bytes; flags, reasons
 * and the x86 register block at the same offsets), so a consumer written against Xen's layout
 * ports by renaming. What differs is the transport: the ring is not a guest frame but a memory
 * object only the core and the consumer map (the guest can neither read, forge nor block it), and
 * the two notifications are an eventfd (core -> consumer) and the domain's doorbell
 * (consumer -> core; KEEL_VM_EVENT_OP_RESUME over the control socket does the same).
 *
 * Ring protocol (Xen's front/back ring indices; the core is the front, the consumer the back):
 * the core writes a request at req_prod % KEEL_VM_EVENT_RING_SIZE and publishes req_prod; the
 * consumer copies it, writes its response into a slot at rsp_prod and publishes rsp_prod. After
 * publishing requests the core writes the eventfd only if the consumer's req_event lies in
 * (old prod, new prod]: a consumer about to sleep sets req_event = its req_cons + 1, issues a full
 * barrier and looks again. A consumer that publishes responses rings the doorbell only if the
 * runner sleeps (libctrl's kc_vm_event_put_response does both). Every field a consumer writes is
 * hostile to the core: responses are copied once and validated. */
#ifndef KEEL_VM_EVENT_H
#define KEEL_VM_EVENT_H

#include <stdint.h>

#define KEEL_VM_EVENT_INTERFACE_VERSION 0x00000007  /* Xen's version with this layout */

/* flags (request and response) */
#define KEEL_VM_EVENT_FLAG_VCPU_PAUSED      (1u << 0)  /* req: the vCPU waits; rsp: let it go */
#define KEEL_VM_EVENT_FLAG_FOREIGN          (1u << 1)
#define KEEL_VM_EVENT_FLAG_EMULATE          (1u << 2)  /* rsp: memory access let through once */
#define KEEL_VM_EVENT_FLAG_EMULATE_NOWRITE  (1u << 3)
#define KEEL_VM_EVENT_FLAG_TOGGLE_SINGLESTEP (1u << 4)
#define KEEL_VM_EVENT_FLAG_SET_EMUL_READ_DATA (1u << 5)
#define KEEL_VM_EVENT_FLAG_DENY             (1u << 6)  /* rsp: refuse a register write */
#define KEEL_VM_EVENT_FLAG_ALTERNATE_P2M    (1u << 7)
#define KEEL_VM_EVENT_FLAG_SET_REGISTERS    (1u << 8)  /* rsp: load data.regs.x86 (trap events) */

/* reasons */
#define KEEL_VM_EVENT_REASON_UNKNOWN 0
#define KEEL_VM_EVENT_REASON_MEM_ACCESS 1
#define KEEL_VM_EVENT_REASON_WRITE_CTRLREG 4        /* Keel: a privileged vCPU state write */
#define KEEL_VM_EVENT_REASON_SOFTWARE_BREAKPOINT 6
#define KEEL_VM_EVENT_REASON_SINGLESTEP 7
#define KEEL_VM_EVENT_REASON_GUEST_REQUEST 8
#define KEEL_VM_EVENT_REASON_DEBUG_EXCEPTION 9
#define KEEL_VM_EVENT_REASON_CPUID 10

/* write_ctrlreg.index: a Keel PV guest has no control registers; its privileged vCPU state is
 * what it can change only through hypercalls. Each is reported before it takes effect. */
#define KEEL_VM_EVENT_REG_CALLBACK 0       /* set_callbacks: event callback address */
#define KEEL_VM_EVENT_REG_FS_BASE 1        /* set_segment_base FS */
#define KEEL_VM_EVENT_REG_GS_BASE 2        /* set_segment_base GS */
#define KEEL_VM_EVENT_REG_SINGLESHOT 3     /* set_timer_op, VCPUOP_set/stop_singleshot_timer (0 stop) */
#define KEEL_VM_EVENT_REG_PERIODIC 4       /* VCPUOP_set/stop_periodic_timer: period ns (0 stop) */
#define KEEL_VM_EVENT_REG_VCPU_UP 5        /* VCPUOP_initialise (new = rip), VCPUOP_up/down of a
                                            * vCPU: new = 1 up / 0 down / 2 initialise, old = online */
#define KEEL_VM_EVENT_NR_REGS 6

struct keel_vm_event_mem_access {
    uint64_t gfn, offset, gla;
    uint32_t flags;
    uint32_t pad;
};
struct keel_vm_event_write_ctrlreg {
    uint32_t index;                  /* KEEL_VM_EVENT_REG_* */
    uint32_t vcpu;                   /* Keel: the vCPU whose state changes (VCPU_UP, timers) */
    uint64_t new_value;
    uint64_t old_value;
};
struct keel_vm_event_singlestep { uint64_t gfn; };
struct keel_vm_event_debug {
    uint64_t gfn;                    /* frame of the breakpoint instruction */
    uint64_t pending_dbg;
    uint32_t insn_length;
    uint8_t type;
    uint8_t pad[3];
};
struct keel_vm_event_cpuid { uint32_t insn_length, leaf, subleaf, pad; };

struct keel_vm_event_regs_x86 {      /* Xen's vm_event_regs_x86, 344 bytes */
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rflags, dr6, dr7, rip, cr0, cr2, cr3, cr4;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip, msr_efer, msr_star, msr_lstar;
    uint64_t gdtr_base, npt_base, vmtrace_pos;
    uint32_t cs_base, ss_base, ds_base, es_base;
    uint64_t fs_base, gs_base;
    uint32_t cs, ss, ds, es, fs, gs;  /* segment limit/attribute words: 0 here */
    uint64_t shadow_gs;
    uint16_t gdtr_limit, cs_sel, ss_sel, ds_sel, es_sel, fs_sel, gs_sel, pad;
};

struct keel_vm_event {               /* request and response, 400 bytes */
    uint32_t version;                /* KEEL_VM_EVENT_INTERFACE_VERSION */
    uint32_t flags;                  /* KEEL_VM_EVENT_FLAG_* */
    uint32_t reason;                 /* KEEL_VM_EVENT_REASON_* */
    uint32_t vcpu_id;
    uint16_t altp2m_idx;
    uint16_t pad[3];
    union {
        struct keel_vm_event_mem_access mem_access;
        struct keel_vm_event_write_ctrlreg write_ctrlreg;
        struct keel_vm_event_singlestep singlestep;
        struct keel_vm_event_debug software_breakpoint;
        struct keel_vm_event_debug debug_exception;
        struct keel_vm_event_cpuid cpuid;
        uint8_t raw[32];
    } u;
    union {
        union { struct keel_vm_event_regs_x86 x86; } regs;
        uint8_t raw[344];
    } data;
};
_Static_assert(sizeof(struct keel_vm_event_regs_x86) == 344, "Xen's regs.x86 layout");
_Static_assert(sizeof(struct keel_vm_event) == 400, "Xen's vm_event_st layout");

/* The shared ring: Xen's 64-byte sring header, then the entries. */
#define KEEL_VM_EVENT_RING_SIZE 64u
struct keel_vm_event_sring {
    uint32_t req_prod, req_event;
    uint32_t rsp_prod, rsp_event;
    uint8_t pad[48];
    struct keel_vm_event ring[KEEL_VM_EVENT_RING_SIZE];
};
#define KEEL_VM_EVENT_RING_BYTES ((sizeof(struct keel_vm_event_sring) + 4095) & ~(size_t)4095)

/* ---- domctl KEEL_DOMCTL_VM_EVENT_OP (Xen's XEN_DOMCTL_vm_event_op numbers) ---- */
#define KEEL_DOMCTL_VM_EVENT_OP 56
#define KEEL_VM_EVENT_OP_ENABLE 0    /* reply fds: ring memfd, eventfd, the domain's control memfd */
#define KEEL_VM_EVENT_OP_DISABLE 1
#define KEEL_VM_EVENT_OP_RESUME 2    /* take the responses now (the doorbell's slow twin) */
#define KEEL_VM_EVENT_OP_GET_VERSION 3
#define KEEL_VM_EVENT_MODE_MONITOR 2 /* the only mode (no paging, no sharing) */
struct keel_domctl_vm_event_op {
    uint32_t op;
    uint32_t mode;
    uint32_t version;                /* out: GET_VERSION, ENABLE */
    uint32_t ring_size;              /* out: entries (ENABLE) */
    uint64_t ring_bytes;             /* out: size of the ring memfd (ENABLE) */
};

/* ---- domctl KEEL_DOMCTL_MONITOR_OP (Xen's XEN_DOMCTL_monitor_op numbers) ---- */
#define KEEL_DOMCTL_MONITOR_OP 77
#define KEEL_MONITOR_OP_ENABLE 0
#define KEEL_MONITOR_OP_DISABLE 1
#define KEEL_MONITOR_OP_GET_CAPABILITIES 2
#define KEEL_MONITOR_EVENT_WRITE_CTRLREG 0
#define KEEL_MONITOR_EVENT_SINGLESTEP 2
#define KEEL_MONITOR_EVENT_SOFTWARE_BREAKPOINT 3
#define KEEL_MONITOR_EVENT_GUEST_REQUEST 4
#define KEEL_MONITOR_EVENT_DEBUG_EXCEPTION 5
#define KEEL_MONITOR_EVENT_CPUID 6
struct keel_domctl_monitor_op {
    uint32_t op;
    uint32_t event;                  /* KEEL_MONITOR_EVENT_* */
    uint32_t index;                  /* WRITE_CTRLREG: KEEL_VM_EVENT_REG_* */
    uint8_t sync, onchangeonly, pad[2];
    uint64_t capabilities;           /* out: GET_CAPABILITIES, bit per event */
};

/* ---- memory access (Xen's xc_set_mem_access model; hypervisor/mem_access.c) ----
 * Access values are Xen's XENMEM_access_* (the low three bits are r, w, x). Keel ops of
 * KEEL_DOMCTL_MONITOR_OP with struct keel_domctl_mem_access_op in place of the monitor op:
 * SET gives frames [gfn, gfn + nr) the access (gfn KEEL_MEM_ACCESS_DEFAULT_GFN, nr 0: the default
 * access, which every frame not given its own access has); GET returns one frame's access (or the
 * default). A guest access a frame's access does not allow pauses that vCPU and raises
 * KEEL_VM_EVENT_REASON_MEM_ACCESS with u.mem_access. On x86 (no protection keys) a frame that
 * may be written or executed may also be read: reads of w, x and wx frames raise no event. */
#define KEEL_MEM_ACCESS_N 0
#define KEEL_MEM_ACCESS_R 1
#define KEEL_MEM_ACCESS_W 2
#define KEEL_MEM_ACCESS_RW 3
#define KEEL_MEM_ACCESS_X 4
#define KEEL_MEM_ACCESS_RX 5
#define KEEL_MEM_ACCESS_WX 6
#define KEEL_MEM_ACCESS_RWX 7
#define KEEL_MEM_ACCESS_DEFAULT 10         /* Xen's XENMEM_access_default: take the default */
#define KEEL_MEM_ACCESS_DEFAULT_GFN (~0ULL)
/* u.mem_access.flags (Xen's MEM_ACCESS_*) */
#define KEEL_MEM_ACCESS_FLAG_R (1u << 0)
#define KEEL_MEM_ACCESS_FLAG_W (1u << 1)
#define KEEL_MEM_ACCESS_FLAG_X (1u << 2)
#define KEEL_MEM_ACCESS_FLAG_GLA_VALID (1u << 3)      /* gla holds the guest linear address */
#define KEEL_MEM_ACCESS_FLAG_FAULT_WITH_GLA (1u << 4) /* the access itself, not a table walk */
#define KEEL_MEM_ACCESS_FLAG_FAULT_IN_GPT (1u << 5)
/* Response to a memory access event (flags of the response):
 *   EMULATE: the access goes through once: the frame is opened, only this vCPU runs one
 *     instruction, the frame closes; EMULATE_NOWRITE: the same, and the frame's bytes are put
 *     back afterwards (the write is discarded);
 *   KEEL_VM_EVENT_FLAG_SET_ACCESS: frame u.mem_access.gfn gets access u.mem_access.pad (Keel:
 *     saves a kc_mem_access_set round trip; Xen's consumers call xc_set_mem_access first);
 *   neither: the instruction runs again (and faults again unless the access was changed). */
#define KEEL_VM_EVENT_FLAG_SET_ACCESS (1u << 30)
#define KEEL_MONITOR_OP_SET_MEM_ACCESS 16  /* Keel numbers (Xen: XENMEM_access_op) */
#define KEEL_MONITOR_OP_GET_MEM_ACCESS 17
#define KEEL_MONITOR_CAP_MEM_ACCESS 16      /* capabilities bit: memory access events */
struct keel_domctl_mem_access_op {
    uint32_t op;                     /* KEEL_MONITOR_OP_SET/GET_MEM_ACCESS */
    uint32_t access;                 /* KEEL_MEM_ACCESS_* (in: SET, out: GET) */
    uint64_t gfn;                    /* first frame, or KEEL_MEM_ACCESS_DEFAULT_GFN */
    uint64_t nr;                     /* SET: frames */
};

/* ---- hardware breakpoints and watchpoints (hypervisor/debugreg.c) ----
 * The consumer sets a vCPU's debug registers with the x86 meaning: dr[0..3] hold addresses (the
 * guest's linear addresses, as in rip), dr7 enables them (L0-L3/G0-G3, bits 0-7) and gives each
 * its condition (R/W bits 16+4n: 00 execute, 01 write, 11 read or write; I/O (10) is refused) and
 * length (LEN bits 18+4n: 00 1, 01 2, 11 4, 10 8 bytes; 1 for execute; the address aligned to
 * it). A hit pauses that vCPU and raises KEEL_VM_EVENT_REASON_DEBUG_EXCEPTION while
 * KEEL_MONITOR_EVENT_DEBUG_EXCEPTION is on (type 3, a hardware exception; pending_dbg and
 * regs.dr6 carry the B0-B3 bit of the breakpoint; an execute breakpoint reports before the
 * instruction runs, a watchpoint after the access). The registers belong to the consumer: set
 * only while it holds the ring, cleared when it ends; the guest neither sees nor changes them.
 * Keel ops of KEEL_DOMCTL_MONITOR_OP with struct keel_domctl_debugreg_op. */
#define KEEL_MONITOR_OP_SET_DEBUGREGS 18
#define KEEL_MONITOR_OP_GET_DEBUGREGS 19
#define KEEL_DR6_B(n) (1u << (n))
#define KEEL_DR7_L(n) (1u << (2 * (n)))
#define KEEL_DR7_RW(n, rw) ((uint64_t)(rw) << (16 + 4 * (n)))    /* 0 x, 1 w, 3 rw */
#define KEEL_DR7_LEN(n, len) ((uint64_t)(len) << (18 + 4 * (n)))  /* 0 1, 1 2, 3 4, 2 8 */
struct keel_domctl_debugreg_op {
    uint32_t op;                     /* KEEL_MONITOR_OP_SET/GET_DEBUGREGS */
    uint32_t vcpu;
    uint64_t dr[4];
    uint64_t dr7;
};

/* Guest request: hypercall KH_HVM_OP (34), command KEEL_HVMOP_GUEST_REQUEST_VM_EVENT, arg 0.
 * Returns 0 whether or not anyone listens; a monitored vCPU waits for the answer. */
#define KEEL_HVMOP_GUEST_REQUEST_VM_EVENT 24

#endif
