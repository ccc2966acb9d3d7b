/* kcd_int.h - keel-consoled's internal state: the daemon, its domains (one console ring
 * each) and its socket clients (control commands and interactive attaches). */
#ifndef KCD_INT_H
#define KCD_INT_H

#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "keel/ctrl.h"
#include "kcd_ring.h"

struct kcd_client;

struct kcd_dom {
    struct kcd *k;
    uint32_t domid;
    uint64_t gfn;
    uint32_t port, local;
    volatile struct kcd_cons_iface *page;
    struct event *ev;
    int log_fd;
    int broken;                  /* hostile indices seen: output no longer read */
    struct kcd_dom *next;
};

struct kcd_client {
    struct kcd *k;
    struct bufferevent *bev;
    uint32_t domid;              /* attached to (valid when attached) */
    int attached;
    struct kcd_client *next;
};

struct kcd {
    struct event_base *base;
    kc_handle *h;
    char dir[4096];              /* <rundir>/console */
    struct kcd_dom *doms;
    struct kcd_client *clients;
    struct evconnlistener *listener;
    struct event *exc_ev;        /* VIRQ_DOM_EXC: some domain shut down or was destroyed */
    uint32_t exc_port;
    struct kcd_xs *xs;           /* store client (kcd_xs.c), NULL without -x */
    struct kcd_chan *chans;      /* PV channels (kcd_chan.c) */
};

int kcd_dom_add(struct kcd *k, uint32_t domid, uint64_t gfn, uint32_t port, char *err,
                size_t errlen);
int kcd_dom_remove(struct kcd *k, uint32_t domid);
struct kcd_dom *kcd_dom_find(struct kcd *k, uint32_t domid);
void kcd_dom_pump(struct kcd_dom *d);
void kcd_dom_free_all(struct kcd *k);
/* Open every served domain's log file again (SIGHUP, after a log rotation). */
void kcd_dom_reopen_logs(struct kcd *k);
/* Drop domains that no longer exist whenever VIRQ_DOM_EXC fires (output logged first). */
int kcd_dom_watch_deaths(struct kcd *k);

int kcd_listen(struct kcd *k, const char *path);
void kcd_clients_free(struct kcd *k);
/* Close the attaches of a domain that is no longer served. */
void kcd_clients_detach(struct kcd *k, uint32_t domid);
/* Send output of domid to its attached clients. */
void kcd_clients_output(struct kcd *k, uint32_t domid, const char *buf, size_t len);
/* Move attached clients' pending input into domid's ring; returns 1 if any was moved. */
int kcd_clients_input(struct kcd *k, struct kcd_dom *d);

#endif
