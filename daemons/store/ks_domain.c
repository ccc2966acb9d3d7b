/* ks_domain.c - introduced domains: registration (XS_INTRODUCE), release, and connecting
 * each domain's ring through the ks_domain_ops the toolstack side installs. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klog.h"
#include "ks_int.h"

struct ks_domain *ks_domain_find(struct ks_store *s, uint32_t domid)
{
    for (struct ks_domain *d = s->domains; d; d = d->next)
        if (d->domid == domid)
            return d;
    return NULL;
}

static void ks_domain_disconnect(struct ks_store *s, struct ks_domain *d)
{
    if (d->ring)
        ks_ring_free(d->ring);
    d->ring = NULL;
    if (d->page && s->ops.unmap_ring)
        s->ops.unmap_ring(s->ops.opaque, d->domid, d->page);
    d->page = NULL;
    if (d->fd >= 0 && s->ops.unbind_evtchn)
        s->ops.unbind_evtchn(s->ops.opaque, d->domid, d->local);
    d->fd = -1;
}

static void ks_domain_notify(void *arg)
{
    struct ks_domain *d = arg;

    d->store->ops.notify(d->store->ops.opaque, d->domid, d->local);
}

static void ks_domain_ack(void *arg)
{
    struct ks_domain *d = arg;

    d->store->ops.ack(d->store->ops.opaque, d->domid, d->local);
}

/* Map the ring and bind the event channel; failure leaves the domain registered. */
static int ks_domain_connect(struct ks_store *s, struct ks_domain *d)
{
    struct ks_ring_evtchn ev = { -1, ks_domain_notify, NULL, d };
    int rc;

    if (!s->have_ops || d->ring)
        return 0;
    d->page = s->ops.map_ring(s->ops.opaque, d->domid, d->gfn);
    if (!d->page) {
        klog(KLOG_ERROR, "domain", "domain %u: cannot map the store ring at gfn %" PRIu64,
             d->domid, d->gfn);
        return -EIO;
    }
    rc = s->ops.bind_evtchn(s->ops.opaque, d->domid, d->port, &d->local, &d->fd);
    if (rc < 0 || d->fd < 0) {
        klog(KLOG_ERROR, "domain", "domain %u: cannot bind event channel %u: %s", d->domid,
             d->port, strerror(rc < 0 ? -rc : EBADF));
        d->fd = -1;
        ks_domain_disconnect(s, d);
        return rc < 0 ? rc : -EBADF;
    }
    ev.fd = d->fd;
    ev.ack = s->ops.ack ? ks_domain_ack : NULL;
    rc = ks_ring_new(s, d->domid, d->page, &ev, &d->ring);
    if (rc == 0) {
        ((volatile struct ks_ring_iface *)d->page)->server_features = d->features;
        /* kick the guest once: one restored or migrated (or whose store restarted) may be
         * waiting on its ring, and looks at it (and registers its watches again) at once */
        ks_domain_notify(d);
    }
    if (rc < 0)
        ks_domain_disconnect(s, d);
    return rc;
}

int ks_domain_introduce(struct ks_store *s, uint32_t domid, uint64_t gfn, uint32_t port)
{
    struct ks_domain *d = ks_domain_find(s, domid);
    char buf[64];
    int rc, n;

    if (d)   /* again with the same ring: (re)connect it if it has none (e.g. journal) */
        return d->gfn == gfn && d->port == port ? ks_domain_connect(s, d) : -EEXIST;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->domid = domid;
    d->gfn = gfn;
    d->port = port;
    d->store = s;
    d->fd = -1;
    d->features = KS_FEATURES_SUPPORTED;
    if ((rc = ks_domain_connect(s, d)) < 0) {
        free(d);
        return rc;
    }
    d->next = s->domains;
    s->domains = d;
    n = snprintf(buf, sizeof(buf), "%" PRIu64 " %u", gfn, port);
    ks_journal_log(s, KS_J_INTRO, domid, "", buf, (size_t)n);
    if (!s->replaying)
        ks_watch_fire_special(s, "@introduceDomain", domid);
    return 0;
}

int ks_domain_release(struct ks_store *s, uint32_t domid)
{
    unsigned n;

    for (struct ks_domain **pp = &s->domains; *pp; pp = &(*pp)->next) {
        struct ks_domain *d = *pp;
        if (d->domid != domid)
            continue;
        *pp = d->next;
        ks_domain_disconnect(s, d);
        free(d);
        n = ks_tree_revoke(s->tree, domid) + ks_special_revoke(s, domid);
        if (n)
            klog(KLOG_INFO, "domain", "domain %u released: its rights on %u nodes revoked",
                 domid, n);
        ks_journal_log(s, KS_J_RELEASE, domid, "", NULL, 0);
        if (!s->replaying)
            ks_watch_fire_special(s, "@releaseDomain", domid);
        return 0;
    }
    return -ENOENT;
}

void ks_store_set_domain_ops(struct ks_store *s, const struct ks_domain_ops *ops)
{
    s->ops = *ops;
    s->have_ops = ops->map_ring && ops->bind_evtchn && ops->notify;
    /* Domains known from the journal get their rings back (restart without loss). */
    for (struct ks_domain *d = s->domains; d; d = d->next)
        ks_domain_connect(s, d);
}

void ks_domain_free_all(struct ks_store *s)
{
    while (s->domains) {
        struct ks_domain *d = s->domains;
        s->domains = d->next;
        ks_domain_disconnect(s, d);
        free(d);
    }
}
