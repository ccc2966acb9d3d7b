/* ks_hv.c - the privileged part's libkeelctrl handle: the few operations keel-stored needs
 * the core for, each done for the request process only after ks_priv.c checked it. A domain's
 * memory descriptor (kc_foreign_fd) for its ring page, binding the guest's store port as
 * Domain-0 (kc_evtchn_bind_interdomain; the port's eventfd goes to the request process),
 * notifying and closing it, the domain-dead check (kc_domain_getinfo) and VIRQ_DOM_EXC. Ports
 * close with the handle: when the daemon dies the guests' ports become unbound again, and a
 * restarted daemon binds them anew (domains come back from the journal). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keel/ctrl.h"
#include "klog.h"
#include "ks_hv.h"

struct ks_hv {
    kc_handle *h;
    uint32_t exc_port;
    int exc_fd;                 /* VIRQ_DOM_EXC's eventfd (the handle owns it), or -1 */
};

int ks_hv_open(const char *rundir, struct ks_hv **out)
{
    struct ks_hv *hv = calloc(1, sizeof(*hv));
    int rc;

    *out = NULL;
    if (!hv)
        return -ENOMEM;
    if ((rc = kc_open_role(&hv->h, rundir, KC_ROLE_STORE)) < 0) {
        free(hv);
        return rc;
    }
    hv->exc_fd = -1;
    if (kc_evtchn_bind_virq(hv->h, KEEL_VIRQ_DOM_EXC, &hv->exc_port) < 0 ||
        (hv->exc_fd = kc_evtchn_fd(hv->h, hv->exc_port)) < 0) {
        klog(KLOG_WARN, "hv", "VIRQ_DOM_EXC: %s (dead domains stay until released)",
             kc_error(hv->h));
        hv->exc_fd = -1;
    }
    *out = hv;
    return 0;
}

void ks_hv_close(struct ks_hv *hv)
{
    if (!hv)
        return;
    kc_close(hv->h);
    free(hv);
}

int ks_hv_exc_fd(const struct ks_hv *hv)
{
    return hv->exc_fd;
}

int ks_hv_memfd(struct ks_hv *hv, uint32_t domid, int *fd, uint64_t *pages)
{
    uint64_t size;
    int rc = kc_foreign_fd(hv->h, domid, fd, &size);

    if (rc < 0) {
        klog(KLOG_ERROR, "hv", "domain %u: %s", domid, kc_error(hv->h));
        return rc;
    }
    *pages = size >> KEEL_PAGE_SHIFT;
    return 0;
}

int ks_hv_bind(struct ks_hv *hv, uint32_t domid, uint32_t remote_port, uint32_t *local, int *fd)
{
    int rc = kc_evtchn_bind_interdomain(hv->h, domid, remote_port, local);

    if (rc < 0) {
        klog(KLOG_ERROR, "hv", "domain %u: binding port %u: %s", domid, remote_port,
             kc_error(hv->h));
        return rc;
    }
    if ((*fd = kc_evtchn_fd(hv->h, *local)) < 0) {
        rc = *fd;
        kc_evtchn_close(hv->h, *local);
    }
    return rc;
}

void ks_hv_notify(struct ks_hv *hv, uint32_t domid, uint32_t local)
{
    if (kc_evtchn_notify(hv->h, local) < 0)
        klog(KLOG_DEBUG, "hv", "domain %u: notify on port %u: %s", domid, local,
             kc_error(hv->h));
}

void ks_hv_unbind(struct ks_hv *hv, uint32_t domid, uint32_t local)
{
    if (kc_evtchn_close(hv->h, local) < 0)
        klog(KLOG_DEBUG, "hv", "domain %u: closing port %u: %s", domid, local, kc_error(hv->h));
}

int ks_hv_dominfo(struct ks_hv *hv, uint32_t domid, uint32_t *flags)
{
    struct keel_domctl_info info;
    int rc = kc_domain_getinfo(hv->h, domid, &info);

    *flags = rc == 0 ? info.flags : 0;
    return rc;
}
