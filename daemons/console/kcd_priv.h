/* kcd_priv.h - the messages between keel-consoled's two processes, over a SOCK_SEQPACKET
 * socketpair: the serving process (unprivileged, confined: kcd_child.c) asks, the privileged
 * part (kcd_priv.c) checks each request and acts with its libkeelctrl handle, its own store
 * reads and the file system. One fixed-size message per packet; descriptors travel with
 * SCM_RIGHTS. Requests marked (reply) get exactly one reply, in order; the others get none, so
 * a reply always answers the last request that wanted one. The privileged part never speaks
 * first. */
#ifndef KCD_PRIV_H
#define KCD_PRIV_H

#include <stdint.h>

enum kcd_priv_op {
    KCD_PRIV_READY = 1,  /* the serving process is confined and serves */
    KCD_PRIV_CONS_OPEN,  /* (reply) domid, gfn, port: local; fds: memory, port eventfd, log */
    KCD_PRIV_CONS_CLOSE, /* domid: its console is no longer served (port closed) */
    KCD_PRIV_CONS_HELD,  /* (reply) domid = after: the next held console (domid, gfn, port) */
    KCD_PRIV_LOG_OPEN,   /* (reply) domid: fd: <rundir>/console/dom<N>.log opened again */
    KCD_PRIV_CHAN_OPEN,  /* (reply) domid, cons, flags ADOPT: flags SOCKET, tty; fd: host end */
    KCD_PRIV_CHAN_MAP,   /* (reply) domid, cons: gfn, ref, port, local; fds: memory, eventfd */
    KCD_PRIV_CHAN_UNMAP, /* domid, cons: ring unmapped, port closed (the host end stays) */
    KCD_PRIV_CHAN_CLOSE, /* domid, cons: all of it closed (socket file removed, pty closed) */
    KCD_PRIV_NOTIFY,     /* domid, port = local: signal the guest */
    KCD_PRIV_DOMINFO,    /* (reply) domid: rc 0, or -ESRCH when it no longer exists */
    KCD_PRIV_STORE,      /* (reply) fd: a new connection to the store */
    KCD_PRIV_OP_END
};

#define KCD_PRIV_ADOPT  1u   /* CHAN_OPEN: only a host end already held (serving restarted) */
#define KCD_PRIV_SOCKET 1u   /* CHAN_OPEN reply: a listening socket (else a pty master) */

struct kcd_priv_req {
    uint32_t op;
    uint32_t domid;
    uint32_t cons;
    uint32_t port;
    uint64_t gfn;
    uint32_t flags;
    uint32_t pad;
};

struct kcd_priv_rsp {
    int32_t rc;
    uint32_t domid;
    uint64_t gfn;
    uint32_t port, local, ref, flags;
    char tty[64];
    char msg[160];           /* why, when rc < 0 */
};

/* What the privileged part accepts. */
#define KCD_PRIV_DOMID_MIN   1u              /* never Domain-0 */
#define KCD_PRIV_DOMID_END   0x7ff0u         /* DOMID_FIRST_RESERVED */
#define KCD_PRIV_CONS_END    65537u          /* channel console numbers 1..65536 */
#define KCD_PRIV_PORT_END    4096u           /* KEEL_NR_EVTCHN */
#define KCD_PRIV_CHANS_MAX   4096u           /* channels held at once */
#define KCD_PRIV_BURST       512u            /* opens, maps, logs, store connections at once */
#define KCD_PRIV_RATE        32u             /* ... then per second */

/* The descriptors the serving process is started with (keel-consoled --privsep-child). */
#define KCD_PRIV_FD_LISTEN   3
#define KCD_PRIV_FD_CHAN     4
#define KCD_PRIV_FD_EXC      5               /* VIRQ_DOM_EXC's eventfd, if bound */

#endif
