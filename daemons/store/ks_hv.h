/* ks_hv.h - keel-stored's link to the hypervisor core (ks_hv.c), held by the privileged part
 * only: a libkeelctrl handle and the operations ks_priv.c performs on checked requests. */
#ifndef KS_HV_H
#define KS_HV_H

#include <stdint.h>

struct ks_hv;

/* Open the core of the runtime directory (-r, else $KEEL_RUNDIR, else the default) and bind
 * VIRQ_DOM_EXC. Returns 0, or a negative errno when no core answers (the store then serves
 * sockets only and introduced domains get no ring). */
int ks_hv_open(const char *rundir, struct ks_hv **out);
void ks_hv_close(struct ks_hv *hv);
/* VIRQ_DOM_EXC's eventfd (owned by the handle), or -1. */
int ks_hv_exc_fd(const struct ks_hv *hv);
/* The domain's memory as a new descriptor (the caller closes it) and its size in pages. */
int ks_hv_memfd(struct ks_hv *hv, uint32_t domid, int *fd, uint64_t *pages);
/* Bind the guest's port as Domain-0; *fd is the local port's eventfd (the handle owns it). */
int ks_hv_bind(struct ks_hv *hv, uint32_t domid, uint32_t remote_port, uint32_t *local, int *fd);
void ks_hv_notify(struct ks_hv *hv, uint32_t domid, uint32_t local);
void ks_hv_unbind(struct ks_hv *hv, uint32_t domid, uint32_t local);
/* 0 and the KEEL_DOMINF_* flags, or -ESRCH when the domain no longer exists. */
int ks_hv_dominfo(struct ks_hv *hv, uint32_t domid, uint32_t *flags);

#endif
