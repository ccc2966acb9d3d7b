/* ks_hv.c - the domain ops of keel-stored over libkeelctrl: a guest's store ring page is
 * mapped with kc_map_foreign, its event channel bound as Domain-0 with
 * kc_evtchn_bind_interdomain and polled through the port's eventfd. Ports close with the
 * handle: when the daemon dies the guest's port becomes unbound again, and a restarted daemon
 * binds it anew (domains come back from the journal). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "keel/ctrl.h"
#include "klog.h"
#include "ks_hv.h"
#include "ks_store.h"

struct ks_hv {
    kc_handle *h;
};

static void *ks_hv_map(void *opaque, uint32_t domid, uint64_t gfn)
{
    struct ks_hv *hv = opaque;
    void *p = kc_map_foreign(hv->h, domid, PROT_READ | PROT_WRITE, gfn, 1);

    if (!p)
        klog(KLOG_ERROR, "hv", "domain %u: mapping gfn %#llx: %s", domid,
             (unsigned long long)gfn, kc_error(hv->h));
    return p;
}

static void ks_hv_unmap(void *opaque, uint32_t domid, void *page)
{
    (void)opaque;
    (void)domid;
    kc_unmap_foreign(page, 1);
}

static int ks_hv_bind(void *opaque, uint32_t domid, uint32_t remote_port, uint32_t *local,
                      int *fd)
{
    struct ks_hv *hv = opaque;
    int rc = kc_evtchn_bind_interdomain(hv->h, domid, remote_port, local);

    if (rc < 0) {
        klog(KLOG_ERROR, "hv", "domain %u: binding port %u: %s", domid, remote_port,
             kc_error(hv->h));
        return rc;
    }
    *fd = kc_evtchn_fd(hv->h, *local);
    if (*fd < 0) {
        rc = *fd;
        kc_evtchn_close(hv->h, *local);
        return rc;
    }
    return 0;
}

static void ks_hv_notify(void *opaque, uint32_t domid, uint32_t local)
{
    struct ks_hv *hv = opaque;

    if (kc_evtchn_notify(hv->h, local) < 0)
        klog(KLOG_DEBUG, "hv", "domain %u: notify on port %u: %s", domid, local,
             kc_error(hv->h));
}

static void ks_hv_ack(void *opaque, uint32_t domid, uint32_t local)
{
    struct ks_hv *hv = opaque;

    (void)domid;
    kc_evtchn_ack(hv->h, local);
}

static void ks_hv_unbind(void *opaque, uint32_t domid, uint32_t local)
{
    struct ks_hv *hv = opaque;

    (void)domid;
    kc_evtchn_close(hv->h, local);
}

int ks_hv_attach(struct ks_store *s, const char *rundir, struct ks_hv **out)
{
    struct ks_hv *hv = calloc(1, sizeof(*hv));
    int rc;

    *out = NULL;
    if (!hv)
        return -ENOMEM;
    if ((rc = kc_open(&hv->h, rundir)) < 0) {
        free(hv);
        return rc;
    }
    struct ks_domain_ops ops = { ks_hv_map, ks_hv_unmap, ks_hv_bind, ks_hv_notify, ks_hv_ack,
                                 ks_hv_unbind, hv };
    ks_store_set_domain_ops(s, &ops);
    *out = hv;
    return 0;
}

void ks_hv_detach(struct ks_hv *hv)
{
    if (!hv)
        return;
    kc_close(hv->h);
    free(hv);
}
