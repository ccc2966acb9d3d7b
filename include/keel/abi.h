/* keel/abi.h - Keel's hypercall ABI, version 1: what a guest and a privileged toolstack process
 * may ask of the hypervisor core, and the memory layout they share with it.
 *
 * Families and numbers follow Xen's (domctl 36, sysctl 35, memory_op 12, sched_op 29, vcpu_op 24,
 * event_channel_op 32, console_io 18, ...); argument structures are Keel's own, fixed-size and
 * little-endian, with explicit padding. Every field is hostile input to the core.
 *
 * A guest enters the core by calling KEEL_HYPERCALL_ENTRY as a SysV function:
 *     long hypercall(long op, long cmd, void *arg);
 * It preserves rbx, rbp, rsp, r12-r15 and the FPU/SSE state; it returns >= 0 or a negative errno.
 * Toolstack processes send the same (op, cmd, arg) triples over the control socket (see
 * libctrl), with buffers carried in the message instead of guest addresses. */
#ifndef KEEL_ABI_H
#define KEEL_ABI_H

#include <stdint.h>

#define KEEL_ABI_VERSION_MAJOR 1
#define KEEL_ABI_VERSION_MINOR 0
#define KEEL_ABI_VERSION ((KEEL_ABI_VERSION_MAJOR << 16) | KEEL_ABI_VERSION_MINOR)

/* ---- Address map of a domain process (identical in every domain) ---- */
#define KEEL_STUB_BASE        0x00000e0000000000ULL /* stub code; hypercall entry is its first byte */
#define KEEL_STUB_SIZE        0x0000000100000000ULL /* range reserved for the stub */
#define KEEL_HYPERCALL_ENTRY  KEEL_STUB_BASE
#define KEEL_SHARED_BASE      0x00000f0000000000ULL /* struct keel_shared_info (read-write) */
#define KEEL_GUEST_BASE       0x0000100000000000ULL /* guest "physical" address 0 */
#define KEEL_PAGE_SHIFT       12
#define KEEL_PAGE_SIZE        (1ULL << KEEL_PAGE_SHIFT)
#define KEEL_MAX_VCPUS        128
#define KEEL_MAX_GUEST_MEM    (64ULL << 30)        /* largest guest memory, bytes */
#define KEEL_NR_EVTCHN        4096                 /* two-level event channel ABI */
#define KEEL_DOMID_SELF       0x7FF0U
#define KEEL_DOMID_FIRST_RESERVED 0x7FF0U
#define KEEL_DOMID_INVALID    0x7FF4U

/* ---- Hypercall families (Xen numbering) ---- */
enum keel_hypercall {
    KH_SET_CALLBACKS = 4,
    KH_MEMORY_OP = 12,
    KH_SET_TIMER_OP = 15,
    KH_XEN_VERSION = 17,
    KH_CONSOLE_IO = 18,
    KH_VCPU_OP = 24,
    KH_GRANT_TABLE_OP = 20,
    KH_SET_SEGMENT_BASE = 25,
    KH_XSM_OP = 27,
    KH_HVM_OP = 34,              /* only KEEL_HVMOP_GUEST_REQUEST_VM_EVENT (keel/vm_event.h) */
    KH_SCHED_OP = 29,
    KH_EVENT_CHANNEL_OP = 32,
    KH_SYSCTL = 35,
    KH_DOMCTL = 36,
};

/* ---- Shared time and events (Xen's shared_info concepts) ---- */
struct keel_vcpu_time_info {
    uint32_t version;            /* odd while the core updates the record */
    uint32_t pad0;
    uint64_t tsc_timestamp;      /* TSC at system_time */
    uint64_t system_time;        /* ns since the core started */
    uint32_t tsc_to_system_mul;  /* ns = ((tsc - tsc_timestamp) << shift) * mul >> 32 */
    int8_t tsc_shift;
    uint8_t pad1[3];
};

struct keel_vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint8_t pad[6];
    uint64_t evtchn_pending_sel;
    struct keel_vcpu_time_info time;
    uint64_t pad2[2];
};

struct keel_shared_info {
    struct keel_vcpu_info vcpu_info[KEEL_MAX_VCPUS];
    uint64_t evtchn_pending[KEEL_NR_EVTCHN / 64];
    uint64_t evtchn_mask[KEEL_NR_EVTCHN / 64];
    uint32_t wc_version;         /* odd while updating */
    uint32_t wc_sec;             /* wall-clock time at system_time 0 */
    uint32_t wc_nsec;
    uint32_t wc_sec_hi;
    uint32_t domid;              /* this domain's id */
    uint32_t nr_vcpus;           /* maximum vCPUs of this domain */
    uint64_t nr_pages;           /* size of guest memory in pages */
    uint64_t instance;           /* random, new for every domain the core creates: a guest that
                                  * sees it change was restored or migrated (its store watches
                                  * stayed behind: register them again) */
};

/* Frame pushed on the guest stack when the event callback is entered. The callback returns by
 * popping r15..rax, popfq, then `mov (%rsp),%rsp; ret $128` (the interrupted rip sits at
 * rsp_slot, just below the interrupted 128-byte red zone). */
struct keel_upcall_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t rflags;
    uint64_t rsp_slot;           /* address holding the interrupted rip */
};

/* ---- vCPU context (get/set; initial state for VCPUOP_initialise) ---- */
struct keel_cpu_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
    uint64_t rax, rcx, rdx, rsi, rdi, rip, rflags, rsp;
    uint64_t fs_base, gs_base;
};

#define KEEL_CTX_FPU_VALID 1u
#define KEEL_CTX_CALLBACK_VALID 2u
struct keel_vcpu_context {
    struct keel_cpu_regs regs;
    uint32_t flags;              /* KEEL_CTX_* */
    uint32_t pad;
    uint64_t event_callback;     /* with KEEL_CTX_CALLBACK_VALID: the registered event callback */
    uint8_t fxsave[512] __attribute__((aligned(16))); /* FXSAVE image of the x87/SSE state */
};

/* ---- set_callbacks ---- */
struct keel_callbacks {
    uint64_t event_address;      /* guest virtual address of the event callback */
    uint64_t failsafe_address;   /* reserved, must be 0 */
};

/* ---- xen_version commands ---- */
#define KEEL_VERSION_VERSION 0   /* returns (major << 16) | minor of the ABI */
#define KEEL_VERSION_EXTRAVERSION 1 /* arg: char[16] */

/* ---- console_io ---- */
#define KEEL_CONSOLEIO_WRITE 0
#define KEEL_CONSOLEIO_READ 1
struct keel_console_io {
    uint64_t buf;                /* guest address (ignored on the control socket) */
    uint32_t len;
    uint32_t pad;
};
#define KEEL_CONSOLE_MAX_WRITE 4096

/* ---- sched_op ---- */
#define KEEL_SCHEDOP_YIELD 0
#define KEEL_SCHEDOP_BLOCK 1
#define KEEL_SCHEDOP_SHUTDOWN 2
#define KEEL_SCHEDOP_POLL 3
#define KEEL_SCHEDOP_REMOTE_SHUTDOWN 4
#define KEEL_SHUTDOWN_POWEROFF 0
#define KEEL_SHUTDOWN_REBOOT 1
#define KEEL_SHUTDOWN_SUSPEND 2
#define KEEL_SHUTDOWN_CRASH 3
#define KEEL_SHUTDOWN_WATCHDOG 4
#define KEEL_SHUTDOWN_MAX 4
struct keel_sched_shutdown { uint32_t reason; uint32_t pad; };
struct keel_sched_remote_shutdown { uint32_t domid; uint32_t reason; };
#define KEEL_POLL_MAX_PORTS 128
struct keel_sched_poll {
    uint64_t ports;              /* guest address of uint32_t[nr_ports] */
    uint32_t nr_ports;
    uint32_t pad;
    uint64_t timeout;            /* absolute system time in ns, 0 = none */
};

/* ---- vcpu_op ---- */
#define KEEL_VCPUOP_INITIALISE 0 /* arg: struct keel_vcpu_context */
#define KEEL_VCPUOP_UP 1
#define KEEL_VCPUOP_DOWN 2
#define KEEL_VCPUOP_IS_UP 3
#define KEEL_VCPUOP_SET_PERIODIC_TIMER 6
#define KEEL_VCPUOP_STOP_PERIODIC_TIMER 7
#define KEEL_VCPUOP_SET_SINGLESHOT_TIMER 8
#define KEEL_VCPUOP_STOP_SINGLESHOT_TIMER 9
#define KEEL_VCPUOP_GET_ID 64    /* returns the calling vCPU's id */
/* cmd = (vcpuop << 8) | vcpu id, for ops addressed to a vCPU */
#define KEEL_VCPUOP_CMD(op, vcpu) (((uint32_t)(op) << 8) | (uint32_t)(vcpu))
struct keel_vcpu_periodic_timer { uint64_t period_ns; };
struct keel_vcpu_singleshot_timer { uint64_t timeout_abs_ns; uint32_t flags; uint32_t pad; };
#define KEEL_MIN_TIMER_PERIOD_NS 100000ULL /* 100 us */

/* ---- set_segment_base ---- */
#define KEEL_SEGBASE_FS 0
#define KEEL_SEGBASE_GS 1

/* ---- event_channel_op (Xen's command numbers) ---- */
#define KEEL_EVTCHNOP_BIND_INTERDOMAIN 0
#define KEEL_EVTCHNOP_BIND_VIRQ 1
#define KEEL_EVTCHNOP_CLOSE 3
#define KEEL_EVTCHNOP_SEND 4
#define KEEL_EVTCHNOP_STATUS 5
#define KEEL_EVTCHNOP_ALLOC_UNBOUND 6
#define KEEL_EVTCHNOP_BIND_IPI 7
#define KEEL_EVTCHNOP_BIND_VCPU 8
#define KEEL_EVTCHNOP_UNMASK 9
#define KEEL_EVTCHNOP_RESET 10
struct keel_evtchn_op {
    uint32_t dom;                /* alloc_unbound: owner; status: domain; reset: domain */
    uint32_t remote_dom;         /* alloc_unbound, bind_interdomain */
    uint32_t remote_port;        /* bind_interdomain */
    uint32_t port;               /* in: close/send/status/unmask/bind_vcpu; out: bound port */
    uint32_t virq;               /* bind_virq */
    uint32_t vcpu;               /* bind_virq, bind_ipi, bind_vcpu; out (status) */
    uint32_t status;             /* out (status): KEEL_EVTCHNSTAT_* */
    uint32_t pad;
};
#define KEEL_EVTCHNSTAT_CLOSED 0
#define KEEL_EVTCHNSTAT_UNBOUND 1
#define KEEL_EVTCHNSTAT_INTERDOMAIN 2
#define KEEL_EVTCHNSTAT_PIRQ 3
#define KEEL_EVTCHNSTAT_VIRQ 4
#define KEEL_EVTCHNSTAT_IPI 5
/* VIRQs (Xen numbering) */
#define KEEL_VIRQ_TIMER 0
#define KEEL_VIRQ_DEBUG 1
#define KEEL_VIRQ_CONSOLE 2
#define KEEL_VIRQ_DOM_EXC 3
#define KEEL_VIRQ_CON_RING 8
#define KEEL_NR_VIRQS 24

/* ---- grant_table_op (Xen's command numbers, entry layout v1 and flags) ----
 * A domain grants frames of its own memory to another domain in a grant table that lives in its
 * own memory: it registers the table with SETUP_TABLE (contiguous guest frames it chose, as an
 * HVM guest places its table with XENMAPSPACE_grant_table), then fills entries with Xen's v1
 * layout and publishing order (domid, frame, write barrier, flags). The core marks entries in use
 * with GTF_reading/GTF_writing while they are mapped. Batched commands take an array of `count`
 * argument structures: cmd = KEEL_GNTTABOP_CMD(op, count). Each element gets its own status
 * (KEEL_GNTST_*); the call returns 0 once the batch was looked at, or a negative errno when the
 * batch itself is malformed (bad count, unreadable array). */
#define KEEL_GNTTABOP_MAP_GRANT_REF 0
#define KEEL_GNTTABOP_UNMAP_GRANT_REF 1
#define KEEL_GNTTABOP_SETUP_TABLE 2
#define KEEL_GNTTABOP_COPY 5
#define KEEL_GNTTABOP_QUERY_SIZE 6
#define KEEL_GNTTABOP_GET_VERSION 10
#define KEEL_GNTTABOP_CMD(op, count) (((uint64_t)(count) << 8) | (uint64_t)(op))
#define KEEL_GNTTAB_MAX_BATCH 512         /* elements per call */

typedef uint32_t keel_grant_ref_t;
typedef uint32_t keel_grant_handle_t;

struct keel_grant_entry_v1 {             /* Xen's grant_entry_v1, 8 bytes */
    uint16_t flags;                      /* GTF_* (type and subflags) */
    uint16_t domid;                      /* the domain granted access */
    uint32_t frame;                      /* the granter's guest frame */
};
#define KEEL_GRANT_ENTRIES_PER_FRAME (KEEL_PAGE_SIZE / sizeof(struct keel_grant_entry_v1))
#define KEEL_GNTTAB_NR_RESERVED_ENTRIES 8  /* 0 console, 1 xenstore, as Xen */
#define KEEL_GNTTAB_DEFAULT_MAX_FRAMES 64  /* xl.cfg max_grant_frames default */
#define KEEL_GNTTAB_DEFAULT_MAX_MAPTRACK 1024 /* xl.cfg max_maptrack_frames default */
#define KEEL_GNTTAB_MAX_FRAMES_LIMIT 1024  /* largest max_grant_frames a domain may ask for */
#define KEEL_GNTTAB_MAX_MAPTRACK_LIMIT 65535 /* largest max_maptrack_frames */
#define KEEL_GNTTAB_NO_MAPTRACK 0xffffffffu /* max_maptrack_frames=0 in xl.cfg */

#define KEEL_GTF_invalid 0u
#define KEEL_GTF_permit_access 1u
#define KEEL_GTF_accept_transfer 2u       /* not supported: such entries are refused */
#define KEEL_GTF_transitive 3u            /* not supported: such entries are refused */
#define KEEL_GTF_type_mask 3u
#define KEEL_GTF_readonly (1u << 2)       /* guest: the grantee may only read */
#define KEEL_GTF_reading (1u << 3)        /* core: mapped for reading */
#define KEEL_GTF_writing (1u << 4)        /* core: mapped for writing */
#define KEEL_GTF_sub_page (1u << 8)       /* v2 only: refused in v1 tables */

#define KEEL_GNTMAP_device_map (1u << 0)
#define KEEL_GNTMAP_host_map (1u << 1)
#define KEEL_GNTMAP_readonly (1u << 2)

#define KEEL_GNTST_okay 0
#define KEEL_GNTST_general_error (-1)
#define KEEL_GNTST_bad_domain (-2)
#define KEEL_GNTST_bad_gntref (-3)
#define KEEL_GNTST_bad_handle (-4)
#define KEEL_GNTST_bad_virt_addr (-5)
#define KEEL_GNTST_bad_dev_addr (-6)
#define KEEL_GNTST_no_device_space (-7)
#define KEEL_GNTST_permission_denied (-8)
#define KEEL_GNTST_bad_page (-9)
#define KEEL_GNTST_bad_copy_arg (-10)
#define KEEL_GNTST_address_too_big (-11)
#define KEEL_GNTST_eagain (-12)
#define KEEL_GNTST_no_space (-13)

/* SETUP_TABLE: a guest (dom = DOMID_SELF) registers nr_frames frames from first_gfn as its
 * table (1..max_grant_frames; registering again replaces the table when no entry is in use).
 * The toolstack (dom = a domid) reads the registration back: first_gfn and nr_frames out. */
struct keel_gnttab_setup_table {
    uint32_t dom;
    uint32_t nr_frames;
    uint64_t first_gfn;
    int16_t status;
    uint16_t pad0;
    uint32_t pad1;
};
/* QUERY_SIZE: the current and largest table size in frames. */
struct keel_gnttab_query_size {
    uint32_t dom;
    uint32_t nr_frames;                  /* out */
    uint32_t max_nr_frames;              /* out */
    int16_t status;
    uint16_t pad;
};
/* MAP_GRANT_REF: map `ref` of domain `dom` (which must have granted it to the caller).
 * Out: a handle for unmapping and, for a Domain-0 caller, where the frame is: `frame` is the
 * granter's guest frame, to be mapped from the granter's memory descriptor (passed with the
 * reply the first time a connection maps from that domain instance; `dom_instance` names the
 * instance, so a descriptor cached for an earlier domain with the same id is never reused). */
struct keel_gnttab_map_grant_ref {
    uint64_t host_addr;                  /* guests: where to map (driver domains; see README) */
    uint32_t flags;                      /* KEEL_GNTMAP_* (host_map required, readonly) */
    keel_grant_ref_t ref;
    uint32_t dom;
    int16_t status;                      /* out: KEEL_GNTST_* */
    uint16_t pad0;
    keel_grant_handle_t handle;          /* out */
    uint32_t pad1;
    uint64_t frame;                      /* out */
    uint64_t dom_instance;               /* out */
};
struct keel_gnttab_unmap_grant_ref {
    uint64_t host_addr;
    keel_grant_handle_t handle;
    int16_t status;                      /* out */
    uint16_t pad;
};
/* COPY: up to a page, within one frame on each side. A side is a grant reference of another
 * domain (GNTCOPY_*_gref) or a frame of the caller's own: for a guest its guest frame, for a
 * Domain-0 caller on the control socket a byte offset into the request's input buffer (source)
 * or into the reply's output buffer (destination), given in `u.gmfn` with offset 0. */
#define KEEL_GNTCOPY_source_gref (1u << 0)
#define KEEL_GNTCOPY_dest_gref (1u << 1)
struct keel_gnttab_copy_ptr {
    union { keel_grant_ref_t ref; uint64_t gmfn; } u;
    uint16_t domid;
    uint16_t offset;
    uint32_t pad;
};
struct keel_gnttab_copy {
    struct keel_gnttab_copy_ptr source;
    struct keel_gnttab_copy_ptr dest;
    uint16_t len;
    uint16_t flags;                      /* KEEL_GNTCOPY_* */
    int16_t status;                      /* out */
    uint16_t pad;
};

/* ---- memory_op ---- */
#define KEEL_MEMOP_INCREASE_RESERVATION 0
#define KEEL_MEMOP_DECREASE_RESERVATION 1
#define KEEL_MEMOP_POPULATE_PHYSMAP 6
#define KEEL_MEMOP_CURRENT_RESERVATION 3
#define KEEL_MEMOP_MAXIMUM_RESERVATION 4
#define KEEL_MEMOP_MAXIMUM_GPFN 2
/* Xen's XENMEM_claim_pages: Domain-0 stakes a claim for domid on the host's free memory, for
 * nr_frames pages in all (first_gfn must be 0): the claim is what lies beyond the pages the
 * domain has, and populating pages consumes it. nr_frames 0 cancels the claim. EINVAL: a claim
 * is already staked, nr_frames not above the domain's pages or above its maximum; ENOMEM: the
 * host's free memory minus every domain's outstanding claim is smaller than the claim. A
 * destroyed domain's claim is gone with it. FLASK: domain2 setclaim. */
#define KEEL_MEMOP_CLAIM_PAGES 24
struct keel_memory_reservation {
    uint64_t first_gfn;          /* a contiguous range of guest frames */
    uint64_t nr_frames;
    uint32_t domid;
    uint32_t pad;
};

/* ---- domctl ---- */
#define KEEL_DOMCTL_INTERFACE_VERSION 1
#define KEEL_DOMCTL_CREATEDOMAIN 1
#define KEEL_DOMCTL_DESTROYDOMAIN 2
#define KEEL_DOMCTL_PAUSEDOMAIN 3
#define KEEL_DOMCTL_UNPAUSEDOMAIN 4
#define KEEL_DOMCTL_GETDOMAININFO 5
#define KEEL_DOMCTL_MAX_MEM 11
#define KEEL_DOMCTL_SETVCPUCONTEXT 12
#define KEEL_DOMCTL_GETVCPUCONTEXT 13
#define KEEL_DOMCTL_GETVCPUINFO 14
#define KEEL_DOMCTL_MAX_VCPUS 15
#define KEEL_DOMCTL_SETDOMAINHANDLE 17
#define KEEL_DOMCTL_SETVCPUAFFINITY 9
#define KEEL_DOMCTL_SHADOW_OP 10
#define KEEL_DOMCTL_SCHEDULER_OP 16
#define KEEL_DOMCTL_GETVCPUAFFINITY 25
#define KEEL_DOMCTL_GETDOMSTATE 33  /* Keel: a paused domain's execution state (not memory) */
#define KEEL_DOMCTL_SETDOMSTATE 34
#define KEEL_DOMCTL_SHUTDOWN 48  /* remote shutdown with a reason, as SCHEDOP_remote_shutdown */
#define KEEL_DOMCTL_FOREIGN_MAP 200 /* Keel: hand the caller the domain's memory as an fd */
#define KEEL_DOMCTL_CONSOLE_READ 201 /* Keel: read a domain's console_io output */
#define KEEL_DOMCTL_SCHED_VCPU 202  /* Keel: per-vCPU real-time (RTDS) parameters */
#define KEEL_DOMCTL_LAZY_MEM 203    /* Keel: lazy memory (restore, post-copy): the page source */

/* KEEL_DOMCTL_CDF_LAZY_MEM: guest memory is filled on first touch (docs/lazy-restore.md): the
 * domain's missing pages fault to the core, which fills them from the source given with
 * KEEL_DOMCTL_LAZY_MEM (zeros until one is given) and fills the rest in the background. */
#define KEEL_DOMCTL_CDF_LAZY_MEM (1u << 0)
struct keel_domctl_create {
    uint32_t max_vcpus;          /* 1..KEEL_MAX_VCPUS */
    uint32_t flags;              /* KEEL_DOMCTL_CDF_* */
    uint64_t max_mem_kb;         /* size of the guest memory object */
    uint8_t handle[16];          /* UUID */
    uint32_t ssidref;
    uint32_t pad;
    char label[64];              /* security label (FLASK context), empty: default */
    uint32_t max_grant_frames;   /* grant table frames, 0: KEEL_GNTTAB_DEFAULT_MAX_FRAMES */
    uint32_t max_maptrack_frames; /* 0: default; KEEL_GNTTAB_NO_MAPTRACK: may map nothing */
};
#define KEEL_DOMINF_DYING (1u << 0)
#define KEEL_DOMINF_SHUTDOWN (1u << 1)
#define KEEL_DOMINF_PAUSED (1u << 2)
#define KEEL_DOMINF_BLOCKED (1u << 3)
#define KEEL_DOMINF_RUNNING (1u << 4)
#define KEEL_DOMINF_CRASHED (1u << 5)  /* died without a shutdown hypercall */
#define KEEL_DOMINF_SHUTDOWN_SHIFT 16
struct keel_domctl_info {
    uint32_t domid;
    uint32_t flags;              /* KEEL_DOMINF_*, shutdown reason in bits 16..23 */
    uint64_t tot_pages;
    uint64_t max_pages;
    uint64_t cpu_time_ns;
    uint32_t nr_online_vcpus;
    uint32_t max_vcpu_id;
    uint32_t ssidref;
    uint32_t pause_count;
    uint8_t handle[16];
    int32_t pid;                 /* the domain process, 0 for Domain-0 */
    uint32_t crash_signal;       /* signal that ended the domain process, if it died */
    uint32_t cpupool;            /* the cpupool it runs in (KEEL_SYSCTL_CPUPOOL_OP) */
    uint32_t pad2;
    uint64_t outstanding_pages;  /* its claim not yet populated (KEEL_MEMOP_CLAIM_PAGES) */
};
struct keel_domctl_vcpucontext {
    uint32_t vcpu;
    uint32_t pad;
    uint64_t ctx;                /* guest address of struct keel_vcpu_context */
};
struct keel_domctl_vcpuinfo {
    uint32_t vcpu;
    uint8_t online, blocked, running, pad;
    uint64_t cpu_time_ns;
    uint32_t cpu;                /* physical CPU last run on */
    uint32_t pad2;
};
struct keel_domctl_max_mem { uint64_t max_memkb; };
/* Domain execution state for save/restore and migration: a header, one record per vCPU, one
 * per open local port, then the shared page's event bitmaps. Interdomain ports are recorded as
 * unbound toward their peer; the toolstack reconnects them. */
#define KEEL_DOMSTATE_MAGIC 0x3153444bU   /* "KDS1" */
#define KEEL_DOMSTATE_VERSION 1
struct keel_domctl_domstate {
    uint64_t buf;                /* guest address (ignored on the control socket) */
    uint32_t len;                /* in: buffer size; out: bytes */
    uint32_t pad;
};
struct keel_domstate_header {
    uint32_t magic, version;
    uint32_t nr_vcpus, nr_ports;
    uint64_t system_time;        /* the guest's system time when saved */
    uint64_t grant_table;        /* its grant table registration: nr_frames << 40 | first_gfn,
                                  * 0 = none (re-registered on restore); keeps 16-byte alignment */
};
struct keel_domstate_vcpu {
    struct keel_vcpu_context ctx;
    uint8_t online, initialised, upcall_pending, upcall_mask;
    uint32_t pad;
    uint64_t pending_sel;
    uint64_t singleshot_left;    /* ns until the single-shot timer, 0 = none */
    uint64_t periodic, periodic_left;
};
struct keel_domstate_port {
    uint32_t port;
    uint8_t state;               /* 1 unbound, 3 VIRQ, 4 IPI */
    uint8_t pad;
    uint16_t vcpu;
    uint32_t virq;
    uint32_t remote_dom;
};
/* Credit scheduler parameters, applied through the domain's cpu cgroup. */
#define KEEL_SCHED_GETINFO 0
#define KEEL_SCHED_PUTINFO 1
#define KEEL_SCHED_WEIGHT_DEFAULT 256
#define KEEL_SCHED_WEIGHT_MAX 65535
struct keel_domctl_scheduler_op {
    uint32_t cmd;                /* KEEL_SCHED_GETINFO / PUTINFO */
    uint32_t weight;             /* 1..65535, relative share (Xen credit: default 256) */
    uint32_t cap;                /* percent of one physical CPU, 0 = no cap */
    uint32_t pad;
};
#define KEEL_CPUMAP_WORDS 2      /* up to 128 physical CPUs */
struct keel_domctl_vcpuaffinity {
    uint32_t vcpu;
    uint32_t pad;
    uint64_t hard[KEEL_CPUMAP_WORDS];
    uint64_t soft[KEEL_CPUMAP_WORDS];
};
struct keel_domctl_max_vcpus { uint32_t max; uint32_t pad; };
/* Log-dirty mode (Xen's shadow_op commands): the bitmap of pages the guest wrote. */
#define KEEL_SHADOW_OP_OFF 0
#define KEEL_SHADOW_OP_ENABLE_LOGDIRTY 2
#define KEEL_SHADOW_OP_CLEAN 11        /* read and clear */
#define KEEL_SHADOW_OP_PEEK 12         /* read only */
struct keel_domctl_shadow_op {
    uint32_t op;
    uint32_t mode;               /* out: 1 while log-dirty is on */
    uint64_t pages;              /* in: bitmap size in pages; out: pages covered */
    uint64_t dirty_count;        /* out */
    uint64_t bitmap;             /* guest address (ignored on the control socket) */
};
struct keel_domctl_shutdown { uint32_t reason; uint32_t pad; };
struct keel_domctl_handle { uint8_t handle[16]; };
struct keel_domctl_console_read {
    uint64_t offset;             /* in: stream offset to read from; out: offset of first byte */
    uint64_t buf;
    uint32_t len;                /* in: buffer size; out: bytes returned */
    uint32_t pad;
    uint64_t end;                /* out: stream offset after the newest byte */
};

/* RTDS parameters of one vCPU (Xen's XEN_DOMCTL_SCHEDOP_{get,put}vcpuinfo for rtds): the vCPU
 * may run budget_us out of every period_us; extratime lets it use idle time beyond that. */
#define KEEL_RTDS_PERIOD_MIN_US 10
#define KEEL_RTDS_PERIOD_MAX_US 10000000
#define KEEL_RTDS_BUDGET_MIN_US 10
#define KEEL_RTDS_DEFAULT_PERIOD_US 10000
#define KEEL_RTDS_DEFAULT_BUDGET_US 4000
struct keel_domctl_sched_vcpu {
    uint32_t cmd;                /* KEEL_SCHED_GETINFO / PUTINFO */
    uint32_t vcpu;
    uint32_t period_us, budget_us;
    uint32_t extratime;          /* 0 or 1 */
    uint32_t engine;             /* out: KEEL_RTDS_ENGINE_* now in force for this vCPU */
};
/* Lazy memory (KEEL_DOMCTL_LAZY_MEM) of a domain created with KEEL_DOMCTL_CDF_LAZY_MEM.
 * ATTACH_FILE: fd is the caller's descriptor of a file (the core takes its own copy); the input
 * buffer holds nr_runs keel_lazy_run entries, ascending and disjoint, saying where each frame's
 * contents are in the file; frames in no run are zero. ATTACH_CHANNEL: fd is a stream socket;
 * the core writes keel_lazy_req for each frame a vCPU or the core needs and reads
 * keel_lazy_page headers each followed by count pages (asked for or pushed), until every frame
 * is in. Frames already present when a source is attached (written by the toolstack through
 * the memory descriptor) are kept. STATUS reports progress. */
#define KEEL_LAZY_ATTACH_FILE 1
#define KEEL_LAZY_ATTACH_CHANNEL 2
#define KEEL_LAZY_STATUS 3
#define KEEL_LAZY_MAX_RUNS 40000     /* 24 bytes each: the control socket carries 1 MiB */
#define KEEL_LAZY_STATE_NONE 0       /* not a lazy domain */
#define KEEL_LAZY_STATE_WAITING 1    /* no source yet: missing frames read as zeros */
#define KEEL_LAZY_STATE_FILLING 2
#define KEEL_LAZY_STATE_COMPLETE 3
#define KEEL_LAZY_STATE_FAILED 4     /* the source broke before every frame was in */
struct keel_lazy_run { uint64_t pfn, count, offset; };
struct keel_lazy_req { uint64_t pfn; uint64_t count; };
#define KEEL_LAZY_PAGE_MAGIC 0x4b4c5047u   /* "KLPG" */
struct keel_lazy_page { uint32_t magic; uint32_t count; uint64_t pfn; };
struct keel_domctl_lazy_mem {
    uint32_t op;                 /* KEEL_LAZY_* */
    int32_t fd;                  /* ATTACH_*: the caller's descriptor number */
    uint32_t nr_runs;            /* ATTACH_FILE */
    uint32_t state;              /* out: KEEL_LAZY_STATE_* */
    uint64_t pages_left;         /* out: frames not yet in */
    uint64_t faults;             /* out: missing-page faults served */
    uint64_t fill_ns;            /* out: attach to complete (0 while filling) */
};
#define KEEL_RTDS_ENGINE_NONE 0      /* the domain is not in an RTDS cpupool */
#define KEEL_RTDS_ENGINE_DEADLINE 1  /* Linux SCHED_DEADLINE on the vCPU thread */
#define KEEL_RTDS_ENGINE_CFS 2       /* SCHED_DEADLINE refused: CFS bandwidth of the domain */

struct keel_domctl {
    uint32_t cmd;
    uint32_t interface_version;  /* KEEL_DOMCTL_INTERFACE_VERSION */
    uint32_t domain;
    uint32_t pad;
    union {
        struct keel_domctl_create create;
        struct keel_domctl_info info;
        struct keel_domctl_vcpucontext vcpucontext;
        struct keel_domctl_vcpuinfo vcpuinfo;
        struct keel_domctl_max_mem max_mem;
        struct keel_domctl_scheduler_op sched;
        struct keel_domctl_vcpuaffinity affinity;
        struct keel_domctl_max_vcpus max_vcpus;
        struct keel_domctl_shadow_op shadow;
        struct keel_domctl_domstate domstate;
        struct keel_domctl_shutdown shutdown;
        struct keel_domctl_handle handle;
        struct keel_domctl_console_read console;
        struct keel_domctl_sched_vcpu sched_vcpu;
        struct keel_domctl_lazy_mem lazy;
        uint8_t pad[128];
    } u;
};

/* ---- xsm_op (FLASK), Xen's command numbers ---- */
#define KEEL_FLASK_LOAD 1            /* input buffer: a binary policy */
#define KEEL_FLASK_GETENFORCE 2      /* returns 0 permissive, 1 enforcing, -ENOSYS if disabled */
#define KEEL_FLASK_SETENFORCE 3      /* value: 0 or 1 */
#define KEEL_FLASK_CONTEXT_TO_SID 4  /* context -> sid */
#define KEEL_FLASK_SID_TO_CONTEXT 5  /* sid -> context */
#define KEEL_FLASK_ACCESS 6          /* sid, tsid, tclass, value = requested -> value = allowed */
#define KEEL_FLASK_CONTEXT_MAX 256
struct keel_flask_op {
    uint32_t cmd;
    uint32_t value;
    uint32_t sid, tsid;
    uint16_t tclass;
    uint16_t pad0;
    uint32_t pad1;
    char context[KEEL_FLASK_CONTEXT_MAX];
};

/* ---- sysctl ---- */
#define KEEL_SYSCTL_INTERFACE_VERSION 1
#define KEEL_SYSCTL_READCONSOLE 1
#define KEEL_SYSCTL_PHYSINFO 3
#define KEEL_SYSCTL_GETDOMAININFOLIST 6
#define KEEL_SYSCTL_DEBUG_KEYS 7         /* Xen's number; keys honoured: hypervisor/debugkeys.c */
#define KEEL_SYSCTL_SET_PARAMETER 28     /* Xen's number; "name=value ..." */
#define KEEL_SYSCTL_STRING_MAX 112
struct keel_sysctl_string {              /* debug keys or parameters, len bytes, no NUL needed */
    uint32_t len;
    uint32_t pad;
    char s[KEEL_SYSCTL_STRING_MAX];
};
struct keel_sysctl_readconsole {
    uint8_t clear;               /* clear the ring after reading */
    uint8_t incremental;         /* read from index onwards */
    uint8_t pad[2];
    uint32_t count;              /* in: buffer size; out: bytes read */
    uint64_t index;              /* in/out for incremental reads */
    uint64_t buf;
};
struct keel_sysctl_physinfo {
    uint32_t nr_cpus;
    uint32_t threads_per_core;
    uint32_t cores_per_socket;
    uint32_t nr_nodes;
    uint32_t cpu_khz;
    uint32_t max_cpu_id;
    uint64_t total_pages;
    uint64_t free_pages;
    uint64_t scrub_pages;
    uint32_t capabilities;       /* KEEL_PHYSCAP_* */
    uint32_t nr_domains;
    uint64_t outstanding_pages;  /* sum of every domain's claim; free_pages excludes it */
};
/* physinfo.capabilities (Keel): the log-dirty engines the host kernel allows, and the one the
 * core uses (0 none: no live migration, live save or Remus; 1 async; 2 sync). */
#define KEEL_PHYSCAP_LOGDIRTY_ASYNC (1u << 16)   /* userfaultfd WP_ASYNC + PAGEMAP_SCAN, 6.7+ */
#define KEEL_PHYSCAP_LOGDIRTY_SYNC (1u << 17)    /* userfaultfd shmem write-protect, 5.19+ */
#define KEEL_PHYSCAP_LOGDIRTY_SHIFT 20
#define KEEL_PHYSCAP_LOGDIRTY_MASK (3u << KEEL_PHYSCAP_LOGDIRTY_SHIFT)
struct keel_sysctl_getdomaininfolist {
    uint32_t first_domain;
    uint32_t max_domains;        /* entries in buf */
    uint64_t buf;                /* struct keel_domctl_info[max_domains] */
    uint32_t num_domains;        /* out */
    uint32_t pad;
};
/* cpupools (Xen's sysctl cpupool_op 18): every domain runs in one pool, whose CPUs its vCPU
 * threads are confined to (cpuset cgroup and thread affinity) and whose scheduler applies.
 * Pool 0 ("Pool-0") holds the CPUs the core may use at start. Keel keeps pool names in the core
 * (Xen's toolstack keeps them in the store). */
#define KEEL_SYSCTL_CPUPOOL_OP 18
#define KEEL_SYSCTL_SCHEDULER_OP 19
#define KEEL_CPUPOOL_OP_CREATE 1     /* cpupool_id (or ANY), sched_id, name -> cpupool_id */
#define KEEL_CPUPOOL_OP_DESTROY 2    /* a pool with no domain; its CPUs become free */
#define KEEL_CPUPOOL_OP_INFO 3       /* the first pool with id >= cpupool_id */
#define KEEL_CPUPOOL_OP_ADDCPU 4     /* a free CPU */
#define KEEL_CPUPOOL_OP_RMCPU 5      /* not the last CPU of a pool with domains */
#define KEEL_CPUPOOL_OP_MOVEDOMAIN 6 /* domid into cpupool_id */
#define KEEL_CPUPOOL_OP_FREEINFO 7   /* cpumap: CPUs in no pool */
#define KEEL_CPUPOOL_OP_RENAME 8     /* Keel: name */
#define KEEL_CPUPOOL_ID_ANY 0xffffffffU
#define KEEL_CPUPOOL_MAX 64
#define KEEL_CPUPOOL_NAME_MAX 64     /* with the NUL */
/* scheduler ids: libxl_scheduler's numbers */
#define KEEL_SCHEDULER_CREDIT 5
#define KEEL_SCHEDULER_CREDIT2 6
#define KEEL_SCHEDULER_RTDS 8
struct keel_sysctl_cpupool {
    uint32_t op;
    uint32_t cpupool_id;
    uint32_t sched_id;
    uint32_t domid;
    uint32_t cpu;
    uint32_t n_dom;              /* out (INFO) */
    uint64_t cpumap[KEEL_CPUMAP_WORDS];
    char name[KEEL_CPUPOOL_NAME_MAX];
};
/* A pool's scheduler parameters (Xen's sysctl scheduler_op): credit tslice_ms (1..1000,
 * default 30), ratelimit_us (0 or 100..500000, default 1000, at most tslice) and
 * vcpu_migr_delay_us (0..100000); credit2 ratelimit_us. */
struct keel_sysctl_sched_pool {
    uint32_t cmd;                /* KEEL_SCHED_GETINFO / PUTINFO */
    uint32_t cpupool_id;
    uint32_t sched_id;           /* out on GETINFO; must match the pool's on PUTINFO */
    uint32_t tslice_ms, ratelimit_us, vcpu_migr_delay_us;
};
struct keel_sysctl {
    uint32_t cmd;
    uint32_t interface_version;
    union {
        struct keel_sysctl_readconsole readconsole;
        struct keel_sysctl_physinfo physinfo;
        struct keel_sysctl_getdomaininfolist domaininfolist;
        struct keel_sysctl_string debug_keys, set_parameter;
        struct keel_sysctl_cpupool cpupool;
        struct keel_sysctl_sched_pool sched_pool;
        uint8_t pad[128];
    } u;
};

#endif
