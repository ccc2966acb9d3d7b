/* ks_hv.h - keel-stored's link to the hypervisor core: ks_domain_ops over a libkeelctrl
 * handle, so that XS_INTRODUCE serves the guest's ring. */
#ifndef KS_HV_H
#define KS_HV_H

struct ks_store;
struct ks_hv;

/* Open the core of the store's runtime directory (-r, else $KEEL_RUNDIR, else the default:
 * what kc_open(&h, NULL) would find unless -r is given) and install the domain ops on s. Returns 0, or a negative errno when no core answers (the store then serves sockets only
 * and introduced domains get no ring). */
int ks_hv_attach(struct ks_store *s, const char *rundir, struct ks_hv **out);
/* Close the handle (after ks_store_free: the store unmaps and unbinds through it). */
void ks_hv_detach(struct ks_hv *hv);

#endif
