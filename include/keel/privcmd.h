/* keel/privcmd.h - the framing of Keel's control socket, the privileged toolstack's way into the
 * hypervisor core (the analogue of Xen's privcmd device). Private to libctrl and the core.
 *
 * A request is a header, `arg_len` bytes of argument structure (the same structure a guest passes
 * by address, e.g. struct keel_domctl), then `extra_len` bytes of input buffer. The reply is a
 * header, the argument structure as updated by the call, `extra_len` bytes of output buffer (at most
 * the request's extra_out_max), and `nfds` file descriptors passed with SCM_RIGHTS on its first
 * byte. Sizes are validated by the core before anything is read into place. */
#ifndef KEEL_PRIVCMD_H
#define KEEL_PRIVCMD_H

#include <stdint.h>

#include "keel/abi.h"

#define KEEL_PRIVCMD_MAGIC 0x4b45454cU  /* "KEEL" */
#define KEEL_PRIVCMD_VERSION 1
#define KEEL_PRIVCMD_MAX_ARG 32768     /* a full grant map batch: 512 x 48 bytes */
#define KEEL_PRIVCMD_MAX_EXTRA (1U << 20)
#define KEEL_PRIVCMD_MAX_FDS 4
#define KEEL_PRIVCMD_SOCKET "hv.sock"  /* inside the runtime directory */

struct keel_privcmd_req {
    uint32_t magic;
    uint16_t version;
    uint16_t flags;
    uint32_t op;                 /* KH_* */
    uint32_t arg_len;
    uint64_t cmd;
    uint32_t extra_len;          /* input buffer bytes following arg */
    uint32_t extra_out_max;      /* largest output buffer the caller accepts */
    uint64_t seq;
};

/* Roles (hypervisor/README.md, "Connection roles"). A connection that never declares one is the
 * toolstack. A request with op KEEL_PRIVCMD_OP_ROLE, as the connection's first request, declares
 * its role: the argument is struct keel_privcmd_role, cmd, extra_len and extra_out_max are 0. The
 * core checks the role against the peer's credentials and labels the connection with the role's
 * FLASK context; a refused role is answered with rc < 0 and the connection is closed. */
#define KEEL_PRIVCMD_OP_ROLE 0x524f4c45U  /* "ROLE", outside the KH_* numbers */
#define KEEL_PRIVCMD_ROLE_MAX 32

struct keel_privcmd_role {
    char name[KEEL_PRIVCMD_ROLE_MAX];    /* NUL-terminated: toolstack, store, console, backend */
};

struct keel_privcmd_rsp {
    uint32_t magic;
    int32_t pad0;
    int64_t rc;                  /* hypercall result: >= 0 or -errno */
    uint32_t arg_len;
    uint32_t extra_len;
    uint64_t seq;
    uint32_t nfds;
    uint32_t pad1;
};

/* The Domain-0 fast event path (hypervisor/README.md, "Events"). A reply that creates a Domain-0
 * event-channel port (BIND_INTERDOMAIN, ALLOC_UNBOUND in Domain-0, BIND_VIRQ) carries, after the
 * port's eventfd, the connection's event page (a memfd holding struct keel_privcmd_evpage) and,
 * when the port's remote is a guest, that guest's control memfd: libctrl maps its first
 * KEEL_PRIVCMD_REMOTE_LEN bytes, the guest's struct keel_shared_info at 0 and, at
 * KEEL_PRIVCMD_BELL_OFF, struct keel_privcmd_bell. Older clients close the extra descriptors. */
struct keel_privcmd_evpage {
    uint64_t pending[KEEL_NR_EVTCHN / 64];  /* core -> process: a port of the connection fired */
    uint64_t spin[KEEL_NR_EVTCHN / 64];     /* process -> core: it watches pending[] for these
                                             * ports, so the core need not write their eventfd */
    uint32_t direct[KEEL_NR_EVTCHN];        /* core -> process: per port, what the process may do
                                             * itself (KEEL_PRIVCMD_DIRECT_*), 0 = nothing */
};

/* direct[] entries, written by the core only, under its lock, for a port interdomain with a
 * guest whose port is bound back to it: the guest's port and the vCPU it notifies, and which
 * directions FLASK allows without audit (`event send` of each side on its channel). */
#define KEEL_PRIVCMD_DIRECT_PORT(e)   ((e) & 0xfffU)
#define KEEL_PRIVCMD_DIRECT_VCPU(e)   (((e) >> 12) & 0xffU)
#define KEEL_PRIVCMD_DIRECT_TO_GUEST  (1U << 30)  /* set the guest's pending bits ourselves */
#define KEEL_PRIVCMD_DIRECT_FROM_GUEST (1U << 31) /* take the guest's guest_send[] bit */
#define KEEL_PRIVCMD_EVPAGE_LEN 20480ULL

#define KEEL_PRIVCMD_BELL_OFF 0x10000ULL
#define KEEL_PRIVCMD_BELL_LEN 4096ULL
#define KEEL_PRIVCMD_REMOTE_LEN (KEEL_PRIVCMD_BELL_OFF + KEEL_PRIVCMD_BELL_LEN)

/* The bell page. The guest can write all of it: the core validates every send bit it drains,
 * and a Domain-0 process only reads guest_send[] bits of ports its direct[] entry allows. */
struct keel_privcmd_bell {
    uint32_t doorbell;                      /* futex the domain's runner sleeps on */
    uint32_t core_sleeping;                 /* bump doorbell and wake it when non-zero */
    uint64_t core_private[2];
    uint64_t send_sel;                      /* bit w: send[w] has bits */
    uint64_t send[KEEL_NR_EVTCHN / 64];     /* Domain-0 ports to signal (their remote is the guest) */
    /* guest -> core and Domain-0: vCPU v polls its evtchn_upcall_pending in guest mode, so a
     * sender that set it needs no kick (the guest clears the bit before it blocks) */
    uint64_t vcpu_polling[KEEL_MAX_VCPUS / 64];
    /* guest -> Domain-0: the guest signalled its port p (set only while d0_watch has p) */
    uint64_t guest_send[KEEL_NR_EVTCHN / 64];
    /* Domain-0 -> guest: a process is watching guest_send[] for these guest ports, so the guest
     * need not make the EVTCHNOP_send hypercall (set bit, full barrier, load watch there; clear
     * watch, full barrier, load bit here: one side always sees the other) */
    uint64_t d0_watch[KEEL_NR_EVTCHN / 64];
    /* Domain-0 -> runner: a process marked a port of this guest pending itself and vCPU v
     * must be kicked (blocked, or running without polling); the runner kicks it if it has an
     * upcall pending or waits in a poll */
    uint64_t kick_vcpu[KEEL_MAX_VCPUS / 64];
};

#endif
