/* ks_store.h - keel-stored's public interface: the store handle, connections and their
 * transports (Unix socket, shared ring page), and the hooks through which the toolstack
 * side maps a guest's ring page and binds its event channel on XS_INTRODUCE. */
#ifndef KS_STORE_H
#define KS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct ks_store;
struct ks_conn;

/* How XS_INTRODUCE reaches a guest. The lead's libctrl glue fills this in; without it an
 * introduced domain is registered (paths, @introduceDomain, is-introduced) but has no ring.
 *  map_ring:      map the guest's 4 KiB store ring page at `gfn` (kc_map_foreign); NULL on
 *                 failure.
 *  bind_evtchn:   bind to the guest's store event channel `remote_port`
 *                 (kc_evtchn_bind_interdomain); *local is our end, *fd a pollable descriptor
 *                 that becomes readable when the guest notifies (kc_evtchn_fd). 0 or -errno.
 *  notify:        signal the guest on our end (kc_evtchn_notify).
 *  ack:           consume pending notifications (kc_evtchn_ack); NULL: the fd is an eventfd
 *                 and reading 8 bytes clears it.
 *  unmap_ring / unbind_evtchn undo them on release or shutdown (kc_unmap_foreign,
 *  kc_evtchn_close); both may be NULL. */
struct ks_domain_ops {
    void *(*map_ring)(void *opaque, uint32_t domid, uint64_t gfn);
    void (*unmap_ring)(void *opaque, uint32_t domid, void *page);
    int (*bind_evtchn)(void *opaque, uint32_t domid, uint32_t remote_port, uint32_t *local,
                       int *fd);
    void (*notify)(void *opaque, uint32_t domid, uint32_t local);
    void (*ack)(void *opaque, uint32_t domid, uint32_t local);
    void (*unbind_evtchn)(void *opaque, uint32_t domid, uint32_t local);
    void *opaque;
};

enum ks_sync { KS_SYNC_NONE = 0, KS_SYNC_PERIODIC = 1, KS_SYNC_ALWAYS = 2 };

struct ks_quota {
    unsigned nodes;         /* nodes owned per domain */
    unsigned watches;       /* watches per domain */
    unsigned transactions;  /* open transactions per domain */
    unsigned node_size;     /* bytes of value per node */
    unsigned perms;         /* entries in one permission list */
};

struct ks_config {
    const char *statedir;   /* journal directory; NULL: no persistence */
    enum ks_sync sync;
    unsigned compact_every; /* journal records between compactions */
    struct ks_quota quota;  /* limits for unprivileged domains (0 = unlimited) */
    long peer_uid;          /* socket peers of this uid (and root) are dom0; -1: our euid */
    bool journal_write;     /* append with write(2), never through a mapping (tests; what a
                             * file system refusing fallocate or mmap gets) */
};

void ks_config_defaults(struct ks_config *cfg);

/* Create the store: load the journal (if any), create the standard nodes. */
int ks_store_new(struct event_base *base, const struct ks_config *cfg, struct ks_store **out);
void ks_store_free(struct ks_store *s);
void ks_store_set_domain_ops(struct ks_store *s, const struct ks_domain_ops *ops);
/* Make sure the journal is on disk (fdatasync). */
int ks_store_sync(struct ks_store *s);
/* Rewrite the journal as a snapshot of the current tree. */
int ks_store_compact(struct ks_store *s);

/* Register a domain and, with domain ops installed, connect its ring (XS_INTRODUCE). */
int ks_domain_introduce(struct ks_store *s, uint32_t domid, uint64_t gfn, uint32_t port);
int ks_domain_release(struct ks_store *s, uint32_t domid);

/* Transports. A transport owns its file descriptors and its connection. The connection
 * core calls kick() when output is waiting in ks_conn_output(), and close() when the peer
 * must go; close() may be called from deep inside request handling, so it must only
 * schedule the teardown. destroy() (shutdown of the store) tears down at once. */
struct ks_transport {
    const char *name;
    void (*kick)(void *tctx);
    void (*close)(void *tctx);
    void (*destroy)(void *tctx);
};

struct ks_conn *ks_conn_new(struct ks_store *s, uint32_t domid, const struct ks_transport *t,
                            void *tctx);
void ks_conn_free(struct ks_conn *c);
/* Feed bytes from the peer. Returns 0, or a negative errno when the connection must be
 * closed (oversized or malformed header). */
int ks_conn_input(struct ks_conn *c, const void *buf, size_t len);
struct evbuffer *ks_conn_output(struct ks_conn *c);
uint32_t ks_conn_domid(const struct ks_conn *c);

/* Unix socket listener: creates `path` (mode 0600) and accepts root's clients as dom0. */
int ks_sock_listen(struct ks_store *s, const char *path);
/* The same on a socket that already listens (keel-stored's privileged part made it); the
 * store owns fd from then on. */
int ks_sock_adopt(struct ks_store *s, int fd);

/* Ring connection over a mapped xenstore ring page (struct layout of xenstore-ring.txt).
 * `fd` becomes readable when the guest notifies; ack() consumes that (NULL: read 8 bytes,
 * eventfd style); notify() signals the guest. */
struct ks_ring_evtchn {
    int fd;
    void (*notify)(void *arg);
    void (*ack)(void *arg);
    void *arg;
};
struct ks_ring;
int ks_ring_new(struct ks_store *s, uint32_t domid, void *page, const struct ks_ring_evtchn *ev,
                struct ks_ring **out);
void ks_ring_free(struct ks_ring *r);

#endif
