/* kc_private.h - libkeelctrl internals shared by its source files. */
#ifndef KEEL_KC_PRIVATE_H
#define KEEL_KC_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>

#include "keel/ctrl.h"
#include "keel/privcmd.h"

#define KC_MAX_PORTS KEEL_NR_EVTCHN
#define KC_WATCH_MAX 64                  /* guest ports one wait watches in bell pages */

/* A guest port whose d0_watch bit we set (kc_evwait.c). */
struct kc_watch {
    struct keel_privcmd_bell *bell;      /* as mapped when the bit was set (under plock) */
    uint32_t port, gport;                /* ours, the guest's */
};

struct kc_handle {
    int fd;
    pthread_mutex_t lock;
    uint64_t seq;
    char rundir[512];
    int port_fd[KC_MAX_PORTS];           /* eventfd per bound port, -1 if none */
    struct kc_gnt *gnt;                  /* kc_gnttab.c: grant mappings, NULL until the first */
    /* the fast event path (kc_evtchn.c); port_fd and port_bell are under plock */
    pthread_mutex_t plock;
    struct keel_privcmd_evpage *evpage;  /* the connection's event page, NULL until a bind */
    struct keel_privcmd_bell *port_bell[KC_MAX_PORTS]; /* the remote guest's bell page (its mapping
                                         * starts KEEL_PRIVCMD_BELL_OFF below), or NULL */
    uint64_t bound[KC_MAX_PORTS / 64];   /* ports with an eventfd */
    bool wait_only;                      /* kc_evtchn_set_wait_only: watches stay between waits */
    unsigned nlinger;                    /* watches left set by the last kc_evtchn_wait */
    struct kc_watch linger[KC_WATCH_MAX];
};

/* Take a port's mark in the event page; true if it was set. */
static inline bool kc_take_bit(struct keel_privcmd_evpage *pg, uint32_t port)
{
    uint64_t bit = 1ULL << (port % 64);

    return pg && (__atomic_load_n(&pg->pending[port / 64], __ATOMIC_RELAXED) & bit) &&
           (__atomic_fetch_and(&pg->pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit);
}

/* The start of a remote guest's mapping (its shared info), from its bell page. */
static inline void *kc_remote_base(struct keel_privcmd_bell *b)
{
    return (char *)b - KEEL_PRIVCMD_BELL_OFF;
}

/* kc_evtchn.c: release the fast-path mappings of a closing handle. */
void kc_evtchn_release(kc_handle *h);

/* kc_gnttab.c: release the grant mappings and descriptors of a closing handle. */
void kc_gnttab_release(kc_handle *h);

/* Record a message for the calling thread; returns rc (negative errno) for tail calls. */
long kc_fail(long rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

long kc_domctl(kc_handle *h, struct keel_domctl *dc, const void *in, size_t in_len, void *out,
               size_t out_max, size_t *out_len, int *fds, int max_fds, int *nfds);
long kc_sysctl(kc_handle *h, struct keel_sysctl *sc, void *out, size_t out_max, size_t *out_len);
/* A KEEL_DOMCTL_MONITOR_OP of len bytes (its first word the op), the core's answer copied back
 * into op (kc_monitor.c). */
long kc__monitor_op(kc_handle *h, uint32_t domid, void *op, size_t len);

#endif
