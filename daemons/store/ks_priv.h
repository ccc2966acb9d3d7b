/* ks_priv.h - the messages between keel-stored's two processes, over a SOCK_SEQPACKET
 * socketpair: the request process (unprivileged, confined: ks_child.c) asks, the privileged
 * part (ks_priv.c) checks and acts with its libkeelctrl handle. One fixed-size message per
 * packet; descriptors travel with SCM_RIGHTS. Requests marked (reply) get exactly one reply, in
 * order; the others get none, so a reply always answers the last request that wanted one. */
#ifndef KS_PRIV_H
#define KS_PRIV_H

#include <stdint.h>

enum ks_priv_op {
    KS_PRIV_READY = 1,  /* the store is loaded and serves (the daemon is ready) */
    KS_PRIV_MAP,        /* (reply) domid, gfn: rc, pages; fd: the domain's memory */
    KS_PRIV_UNMAP,      /* domid: the ring page of domid is no longer mapped */
    KS_PRIV_BIND,       /* (reply) domid, port: rc, local; fd: the local port's eventfd */
    KS_PRIV_NOTIFY,     /* domid, port = local: signal the guest */
    KS_PRIV_UNBIND,     /* domid, port = local: close our end */
    KS_PRIV_DOMINFO,    /* (reply) domid: rc (-ESRCH: gone), flags = KEEL_DOMINF_* */
};

struct ks_priv_req {
    uint32_t op;
    uint32_t domid;
    uint64_t gfn;
    uint32_t port;
    uint32_t pad;
};

struct ks_priv_rsp {
    int32_t rc;
    uint32_t local;
    uint32_t flags;
    uint32_t pad;
    uint64_t pages;
};

/* What the privileged part accepts. */
#define KS_PRIV_DOMID_MIN   1u              /* never Domain-0 */
#define KS_PRIV_DOMID_END   0x7ff0u         /* DOMID_FIRST_RESERVED */
#define KS_PRIV_PORT_END    4096u           /* KEEL_NR_EVTCHN */
#define KS_PRIV_BURST       1024u           /* MAP + BIND without waiting (a restart re-maps) */
#define KS_PRIV_RATE        64u             /* ... then per second */

/* The descriptors the request process is started with (keel-stored --privsep-child). */
#define KS_PRIV_FD_LISTEN   3
#define KS_PRIV_FD_CHAN     4
#define KS_PRIV_FD_EXC      5               /* VIRQ_DOM_EXC's eventfd, if there is a core */

#endif
