/* kc_private.h - libkeelctrl internals shared by its source files. */
#ifndef KEEL_KC_PRIVATE_H
#define KEEL_KC_PRIVATE_H

#include <pthread.h>

#include "keel/ctrl.h"

#define KC_MAX_PORTS KEEL_NR_EVTCHN

struct kc_handle {
    int fd;
    pthread_mutex_t lock;
    uint64_t seq;
    char rundir[512];
    int port_fd[KC_MAX_PORTS];           /* eventfd per bound port, -1 if none */
};

/* Record a message for the calling thread; returns rc (negative errno) for tail calls. */
long kc_fail(long rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

long kc_domctl(kc_handle *h, struct keel_domctl *dc, const void *in, size_t in_len, void *out,
               size_t out_max, size_t *out_len, int *fds, int max_fds, int *nfds);
long kc_sysctl(kc_handle *h, struct keel_sysctl *sc, void *out, size_t out_max, size_t *out_len);

#endif
