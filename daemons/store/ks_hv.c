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

#include <event2/event.h>

#include "keel/ctrl.h"
#include "klog.h"
#include "ks_hv.h"
#include "ks_int.h"
#include "ks_store.h"

#define KS_HV_MAX_DOMID 0x8000

struct ks_hv {
    kc_handle *h;
    struct ks_store *s;
    struct event *exc_ev;        /* VIRQ_DOM_EXC */
    uint32_t exc_port;
    uint8_t shut[KS_HV_MAX_DOMID / 8];   /* shutdown already announced */
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

/* Like xenstored on VIRQ_DOM_EXC: a domain that shut down fires @releaseDomain (and its
 * @releaseDomain/<domid>) once; one that no longer exists is released (rights revoked, ring
 * unmapped, @releaseDomain). */
static void ks_hv_exc_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ks_hv *hv = arg;
    struct keel_domctl_info info;

    (void)fd;
    (void)what;
    kc_evtchn_ack(hv->h, hv->exc_port);
    for (struct ks_domain *d = hv->s->domains, *next; d; d = next) {
        uint32_t id = d->domid;
        uint8_t bit = (uint8_t)(1u << (id % 8));
        int rc = kc_domain_getinfo(hv->h, id, &info);

        next = d->next;
        if (id >= KS_HV_MAX_DOMID)
            continue;
        if (rc == -ESRCH) {
            klog(KLOG_INFO, "hv", "domain %u is gone: released", id);
            hv->shut[id / 8] &= (uint8_t)~bit;
            ks_domain_release(hv->s, id);
        } else if (rc == 0 && (info.flags & KEEL_DOMINF_SHUTDOWN) && !(hv->shut[id / 8] & bit)) {
            hv->shut[id / 8] |= bit;
            ks_watch_fire_special(hv->s, "@releaseDomain", id);
        }
    }
}

static void ks_hv_watch_deaths(struct ks_hv *hv)
{
    int fd;

    if (kc_evtchn_bind_virq(hv->h, KEEL_VIRQ_DOM_EXC, &hv->exc_port) < 0 ||
        (fd = kc_evtchn_fd(hv->h, hv->exc_port)) < 0) {
        klog(KLOG_WARN, "hv", "VIRQ_DOM_EXC: %s (dead domains stay until released)",
             kc_error(hv->h));
        return;
    }
    hv->exc_ev = event_new(hv->s->base, fd, EV_READ | EV_PERSIST, ks_hv_exc_cb, hv);
    if (hv->exc_ev && event_add(hv->exc_ev, NULL) == 0)
        ks_hv_exc_cb(fd, EV_READ, hv);           /* journaled domains that died meanwhile */
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
    hv->s = s;
    ks_store_set_domain_ops(s, &ops);
    ks_hv_watch_deaths(hv);
    *out = hv;
    return 0;
}

void ks_hv_detach(struct ks_hv *hv)
{
    if (!hv)
        return;
    if (hv->exc_ev)
        event_free(hv->exc_ev);
    kc_close(hv->h);
    free(hv);
}
