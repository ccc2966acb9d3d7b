/* xsm.c - the XSM hook called on every hypercall. This is the built-in "dummy" module with
 * Xen's default semantics: the privileged toolstack (Domain-0) may do everything; a guest may act
 * only on itself, never use domctl/sysctl, and reach another domain only through event channels
 * that the other side offered. FLASK replaces these decisions when a policy is loaded. */
#include "config.h"

#include <errno.h>

#include "hv.h"
#include "keel/vm_event.h"

int hv_xsm_hypercall(struct hv_caller *c, uint32_t op, uint64_t cmd)
{
    (void)cmd;
    if (hv_is_priv(c))
        return 0;
    switch (op) {
    case KH_DOMCTL:       /* a guest's monitoring attempt goes on to FLASK (domctl.c, vm_event.c) */
        return cmd == KEEL_DOMCTL_MONITOR_OP || cmd == KEEL_DOMCTL_VM_EVENT_OP ? 0 : -EPERM;
    case KH_SYSCTL:
    case KH_XSM_OP:
        return -EPERM;
    default:
        return 0;
    }
}

int hv_xsm_target(struct hv_caller *c, struct hv_domain *target, uint32_t op, uint64_t cmd)
{
    (void)op;
    (void)cmd;
    if (hv_is_priv(c) || target == c->d)
        return 0;
    return -EPERM;
}
