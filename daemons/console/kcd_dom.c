/* kcd_dom.c - the domains keel-consoled serves: map the console ring frame, bind the event
 * channel as Domain-0, append the guest's output to <rundir>/console/dom<N>.log and hand it to
 * attached clients, feed their input into the ring. */
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
        kc_evtchn_notify(d->k->h, d->local);
}

static void kcd_dom_cb(evutil_socket_t fd, short what, void *arg)
{
    struct kcd_dom *d = arg;

    (void)fd;
    (void)what;
    kc_evtchn_ack(d->k->h, d->local);
    kcd_dom_pump(d);
}

static void kcd_dom_free(struct kcd_dom *d)
{
    if (d->ev)
        event_free(d->ev);
    if (d->local)
        kc_evtchn_close(d->k->h, d->local);
    if (d->page)
        kc_unmap_foreign((void *)d->page, 1);
    if (d->log_fd >= 0)
        close(d->log_fd);
    free(d);
}

static int kcd_dom_open_log(struct kcd_dom *d, char *err, size_t errlen)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/dom%u.log", d->k->dir, d->domid);
    d->log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (d->log_fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    return 0;
}

/* SIGHUP (after logrotate moved the files): each served domain's log is opened again by name,
 * so output goes on in a new dom<N>.log; a log that cannot be opened keeps its old file. */
void kcd_dom_reopen_logs(struct kcd *k)
{
    for (struct kcd_dom *d = k->doms; d; d = d->next) {
        int old = d->log_fd;
        char err[256];

        if (kcd_dom_open_log(d, err, sizeof(err)) < 0) {
            klog(KLOG_WARN, "dom", "domain %u: reopening the log: %s (kept the old one)",
                 d->domid, err);
            d->log_fd = old;
            continue;
        }
        if (old >= 0)
            close(old);
    }
    klog(KLOG_INFO, "dom", "logs reopened in %s", k->dir);
}

static int kcd_dom_connect(struct kcd_dom *d, char *err, size_t errlen)
{
    struct kcd *k = d->k;
    int fd, rc;

    d->page = kc_map_foreign(k->h, d->domid, PROT_READ | PROT_WRITE, d->gfn, 1);
    if (!d->page) {
        snprintf(err, errlen, "mapping gfn %#llx: %s", (unsigned long long)d->gfn, kc_error(k->h));
        return -EIO;
    }
    if ((rc = kc_evtchn_bind_interdomain(k->h, d->domid, d->port, &d->local)) < 0) {
        snprintf(err, errlen, "binding port %u: %s", d->port, kc_error(k->h));
        d->local = 0;
        return rc;
    }
    if ((fd = kc_evtchn_fd(k->h, d->local)) < 0) {
        snprintf(err, errlen, "port %u has no descriptor", d->local);
        return fd;
    }
    d->ev = event_new(k->base, fd, EV_READ | EV_PERSIST, kcd_dom_cb, d);
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
    d->log_fd = -1;
    if ((rc = kcd_dom_open_log(d, err, errlen)) < 0 || (rc = kcd_dom_connect(d, err, errlen)) < 0) {
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
    struct keel_domctl_info info;

    (void)fd;
    (void)what;
    kc_evtchn_ack(k->h, k->exc_port);
    for (struct kcd_dom *d = k->doms, *next; d; d = next) {
        next = d->next;
        if (kc_domain_getinfo(k->h, d->domid, &info) == -ESRCH) {
            klog(KLOG_INFO, "dom", "domain %u is gone: console closed", d->domid);
            kcd_dom_remove(k, d->domid);
        }
    }
    kcd_chan_reap(k);
}

int kcd_dom_watch_deaths(struct kcd *k)
{
    int rc, fd;

    if ((rc = kc_evtchn_bind_virq(k->h, KEEL_VIRQ_DOM_EXC, &k->exc_port)) < 0)
        return rc;
    if ((fd = kc_evtchn_fd(k->h, k->exc_port)) < 0)
        return fd;
    k->exc_ev = event_new(k->base, fd, EV_READ | EV_PERSIST, kcd_exc_cb, k);
    if (!k->exc_ev || event_add(k->exc_ev, NULL) < 0)
        return -ENOMEM;
    return 0;
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
