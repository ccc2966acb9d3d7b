/* kcd_dom.c - the domains keel-consoled serves (in the serving process): the privileged part
 * hands over the console ring's frame (mapped here), the bound event channel's eventfd and
 * <rundir>/console/dom<N>.log; the guest's output is appended to the log and handed to
 * attached clients, their input fed into the ring. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kcd_chan.h"
#include "kcd_int.h"
#include "kio.h"
#include "klog.h"

struct kcd_dom *kcd_dom_find(struct kcd *k, uint32_t domid)
{
    for (struct kcd_dom *d = k->doms; d; d = d->next)
        if (d->domid == domid)
            return d;
    return NULL;
}

static void kcd_dom_log(struct kcd_dom *d, const char *buf, size_t len)
{
    int rc = d->log_fd >= 0 ? kio_write_all(d->log_fd, buf, len) : 0;

    if (rc < 0)
        klog(KLOG_WARN, "dom", "domain %u: log write: %s", d->domid, strerror(-rc));
}

void kcd_dom_pump(struct kcd_dom *d)
{
    char buf[KCD_OUT_SIZE];
    int n, moved = 0;

    while (!d->broken && (n = kcd_ring_take_output(d->page, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            klog(KLOG_ERROR, "dom", "domain %u: console ring indices out of range (out_cons %u "
                 "out_prod %u): output no longer read", d->domid, d->page->out_cons,
                 d->page->out_prod);
            d->broken = 1;
            break;
        }
        kcd_dom_log(d, buf, (size_t)n);
        kcd_clients_output(d->k, d->domid, buf, (size_t)n);
        moved = 1;
    }
    moved |= kcd_clients_input(d->k, d);
    if (moved)
        kcd_req_notify(d->k, d->domid, d->local);
}

static void kcd_dom_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_dom *d = arg;

    (void)fd;
    (void)what;
    kcd_req_ack(d->evfd);
    kcd_dom_pump(d);
}

static void kcd_dom_free(struct kcd_dom *d)
{
    if (d->ev)
        event_free(d->ev);
    if (d->evfd >= 0)
        close(d->evfd);
    if (d->local)
        kcd_req_oneway(d->k, KCD_PRIV_CONS_CLOSE, d->domid, 0, 0);
    kcd_req_unmap(d->page);
    if (d->log_fd >= 0)
        close(d->log_fd);
    free(d);
}

/* SIGHUP (after logrotate moved the files): each served domain's log is opened again by name,
 * so output goes on in a new dom<N>.log; a log that cannot be opened keeps its old file. */
void kcd_dom_reopen_logs(struct kcd *k)
{
    for (struct kcd_dom *d = k->doms; d; d = d->next) {
        int fd;

        if (kcd_req_fd(k, KCD_PRIV_LOG_OPEN, d->domid, &fd) < 0) {
            klog(KLOG_WARN, "dom", "domain %u: reopening the log failed (kept the old one)",
                 d->domid);
            continue;
        }
        if (d->log_fd >= 0)
            close(d->log_fd);
        d->log_fd = fd;
    }
    klog(KLOG_INFO, "dom", "logs reopened");
}

static int kcd_dom_connect(struct kcd_dom *d, char *err, size_t errlen)
{
    struct kcd *k = d->k;
    struct kcd_ringmap m;
    int rc;

    if ((rc = kcd_req_cons_open(k, d->domid, d->gfn, d->port, &m, &d->log_fd, err, errlen)) < 0)
        return rc;
    d->page = m.page;
    d->local = m.local;
    d->evfd = m.evfd;
    d->ev = event_new(k->base, d->evfd, EV_READ | EV_PERSIST, kcd_dom_cb, d);
    if (!d->ev || event_add(d->ev, NULL) < 0) {
        snprintf(err, errlen, "cannot watch port %u", d->local);
        return -ENOMEM;
    }
    return 0;
}

int kcd_dom_add(struct kcd *k, uint32_t domid, uint64_t gfn, uint32_t port, char *err,
                size_t errlen)
{
    struct kcd_dom *d;
    int rc;

    if (kcd_dom_find(k, domid)) {
        snprintf(err, errlen, "domain %u is already served", domid);
        return -EEXIST;
    }
    if (!(d = calloc(1, sizeof(*d))))
        return -ENOMEM;
    d->k = k;
    d->domid = domid;
    d->gfn = gfn;
    d->port = port;
    d->log_fd = d->evfd = -1;
    if ((rc = kcd_dom_connect(d, err, errlen)) < 0) {
        kcd_dom_free(d);
        return rc;
    }
    d->next = k->doms;
    k->doms = d;
    klog(KLOG_INFO, "dom", "domain %u: console ring gfn %#llx port %u", domid,
         (unsigned long long)gfn, port);
    kcd_dom_pump(d);             /* output written before we attached */
    return 0;
}

int kcd_dom_remove(struct kcd *k, uint32_t domid)
{
    for (struct kcd_dom **pp = &k->doms; *pp; pp = &(*pp)->next) {
        struct kcd_dom *d = *pp;
        if (d->domid != domid)
            continue;
        kcd_dom_pump(d);
        kcd_clients_detach(k, domid);
        *pp = d->next;
        kcd_dom_free(d);
        return 0;
    }
    return -ENOENT;
}

static void kcd_exc_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd *k = arg;

    (void)what;
    kcd_req_ack(fd);
    for (struct kcd_dom *d = k->doms, *next; d; d = next) {
        next = d->next;
        if (kcd_req_dom_exists(k, d->domid) == -ESRCH) {
            klog(KLOG_INFO, "dom", "domain %u is gone: console closed", d->domid);
            kcd_dom_remove(k, d->domid);
        }
    }
    kcd_chan_reap(k);
}

int kcd_dom_watch_deaths(struct kcd *k, int fd)
{
    k->exc_ev = event_new(k->base, fd, EV_READ | EV_PERSIST, kcd_exc_cb, k);
    if (!k->exc_ev || event_add(k->exc_ev, NULL) < 0)
        return -ENOMEM;
    return 0;
}

void kcd_dom_claim_held(struct kcd *k)
{
    uint32_t domid = 0, port;
    uint64_t gfn;
    char err[300];

    while (kcd_req_cons_held(k, domid, &domid, &gfn, &port) == 0)
        if (!kcd_dom_find(k, domid) && kcd_dom_add(k, domid, gfn, port, err, sizeof(err)) < 0)
            klog(KLOG_WARN, "dom", "domain %u: serving its console again: %s", domid, err);
}

void kcd_dom_free_all(struct kcd *k)
{
    if (k->exc_ev)
        event_free(k->exc_ev);
    k->exc_ev = NULL;
    while (k->doms) {
        struct kcd_dom *d = k->doms;
        k->doms = d->next;
        kcd_dom_free(d);
    }
}
