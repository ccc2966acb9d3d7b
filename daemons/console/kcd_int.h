/* kcd_int.h - keel-consoled's internal state in the serving process (the unprivileged one,
 * kcd_child.c): the daemon, its domains (one console ring each), its socket clients (control
 * commands and interactive attaches), and the requests to the privileged part (kcd_req.c). */
#ifndef KCD_INT_H
#define KCD_INT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "kcd_priv.h"
#include "kcd_ring.h"

struct kcd_client;

struct kcd_dom {
    struct kcd *k;
    uint32_t domid;
    uint64_t gfn;
    uint32_t port, local;
    volatile struct kcd_cons_iface *page;
    struct event *ev;
    int evfd;                    /* the port's eventfd (handed over by the privileged part) */
    int log_fd;                  /* dom<N>.log, appended to and read for the history */
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
    int chan;                    /* to the privileged part (KCD_PRIV_FD_CHAN) */
    struct kcd_dom *doms;
    struct kcd_client *clients;
    struct evconnlistener *listener;
    struct event *exc_ev;        /* VIRQ_DOM_EXC: some domain shut down or was destroyed */
    struct kcd_xs *xs;           /* store client (kcd_xs.c), NULL without -x */
    struct kcd_chan *chans;      /* PV channels (kcd_chan.c) */
};

/* A ring page and bound port handed over by the privileged part. */
struct kcd_ringmap {
    volatile struct kcd_cons_iface *page;
    uint32_t local;
    int evfd;
};

/* Requests to the privileged part (kcd_req.c, messages in kcd_priv.h); 0 or -errno with err
 * filled in from its answer. */
void kcd_req_ready(struct kcd *k);
int kcd_req_cons_open(struct kcd *k, uint32_t domid, uint64_t gfn, uint32_t port,
                      struct kcd_ringmap *m, int *logfd, char *err, size_t errlen);
/* KCD_PRIV_LOG_OPEN or KCD_PRIV_STORE: one descriptor. */
int kcd_req_fd(struct kcd *k, uint32_t op, uint32_t domid, int *fd);
int kcd_req_cons_held(struct kcd *k, uint32_t after, uint32_t *domid, uint64_t *gfn,
                      uint32_t *port);
/* 0, or -ESRCH when the domain no longer exists. */
int kcd_req_dom_exists(struct kcd *k, uint32_t domid);
int kcd_req_chan_open(struct kcd *k, uint32_t domid, uint32_t cons, int adopt, int *is_socket,
                      char *tty, size_t ttylen, int *fd, char *err, size_t errlen);
int kcd_req_chan_map(struct kcd *k, uint32_t domid, uint32_t cons, struct kcd_ringmap *m,
                     uint32_t *ref, uint32_t *port, char *err, size_t errlen);
/* CONS_CLOSE, CHAN_UNMAP, CHAN_CLOSE: no answer. */
void kcd_req_oneway(struct kcd *k, uint32_t op, uint32_t domid, uint32_t cons, uint32_t port);
void kcd_req_notify(struct kcd *k, uint32_t domid, uint32_t local);
void kcd_req_unmap(volatile struct kcd_cons_iface *page);
/* Take a port's notifications (its eventfd); how many. */
long kcd_req_ack(int evfd);

int kcd_dom_add(struct kcd *k, uint32_t domid, uint64_t gfn, uint32_t port, char *err,
                size_t errlen);
int kcd_dom_remove(struct kcd *k, uint32_t domid);
struct kcd_dom *kcd_dom_find(struct kcd *k, uint32_t domid);
void kcd_dom_pump(struct kcd_dom *d);
void kcd_dom_free_all(struct kcd *k);
/* Open every served domain's log file again (SIGHUP, after a log rotation). */
void kcd_dom_reopen_logs(struct kcd *k);
/* Drop domains that no longer exist whenever VIRQ_DOM_EXC fires (its eventfd: exc_fd; output
 * logged first). */
int kcd_dom_watch_deaths(struct kcd *k, int exc_fd);
/* Serve again the consoles the privileged part holds (a restarted serving process). */
void kcd_dom_claim_held(struct kcd *k);

/* Serve the console socket the privileged part listens on (fd). */
int kcd_listen(struct kcd *k, int fd);
void kcd_clients_free(struct kcd *k);
/* Close the attaches of a domain that is no longer served. */
void kcd_clients_detach(struct kcd *k, uint32_t domid);
/* Send output of domid to its attached clients. */
void kcd_clients_output(struct kcd *k, uint32_t domid, const char *buf, size_t len);
/* Move attached clients' pending input into domid's ring; returns 1 if any was moved. */
int kcd_clients_input(struct kcd *k, struct kcd_dom *d);

#endif
