/* ks_int.h - structures shared by the store daemon's own files (not an interface). */
#ifndef KS_INT_H
#define KS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ks_store.h"
#include "ks_tree.h"
#include "ks_wire.h"
#include "ks_ring.h"

struct ks_watch {
    struct ks_watch *next;
    char *path;         /* absolute, or a special name ("@releaseDomain", "@releaseDomain/5") */
    char *token;
    bool relative;      /* registered with a relative path: events report it relative */
    int depth;          /* levels below path that match; -1 = unlimited */
};

struct ks_access {
    char *path;
    uint64_t gen;       /* generation seen at first access, 0 = absent */
};

struct ks_txop {
    struct ks_txop *next;
    uint32_t type;
    uint32_t len;
    char payload[];
};

struct ks_txn {
    struct ks_txn *next;
    uint32_t id;
    struct ks_tree *tree;
    struct ks_access *acc;
    unsigned nacc, capacc;
    struct ks_txop *ops, **ops_tail;
    unsigned nops;
    bool failed;        /* a change could not be logged: the commit reports EAGAIN */
};

struct ks_conn {
    struct ks_conn *next;
    struct ks_store *store;
    uint32_t domid;
    bool priv;                  /* dom0 socket connection */
    bool dead;                  /* closing: ignore further input */
    const struct ks_transport *t;
    void *tctx;
    struct evbuffer *in, *out;
    struct ks_watch *watches;
    unsigned nwatches;
    struct ks_txn *txns;
    unsigned ntxns;
};

/* The quotas, in the order GET_QUOTA lists their names. */
enum ks_qidx { KS_Q_NODES, KS_Q_WATCHES, KS_Q_TRANSACTIONS, KS_Q_NODE_SIZE, KS_Q_PERMS,
               KS_Q_COUNT };

struct ks_domain {
    struct ks_domain *next;
    struct ks_store *store;
    uint32_t domid;
    uint64_t gfn;
    uint32_t port;
    uint32_t target;            /* SET_TARGET: acts with this domain's rights too */
    bool has_target;
    uint32_t features;          /* SET_FEATURE mask (KS_FEATURES_SUPPORTED by default) */
    unsigned quota[KS_Q_COUNT]; /* SET_QUOTA <domid>: this domain's own limits ... */
    unsigned quota_set;         /* ... where bit (1 << q) is set; the global one elsewhere */
    void *page;
    int fd;                     /* event channel's pollable fd, -1 when unbound */
    uint32_t local;             /* our end of the event channel */
    struct ks_ring *ring;
};

struct ks_journal;

struct ks_store {
    struct event_base *base;
    struct ks_config cfg;
    struct ks_tree *tree;
    struct ks_tree *special;    /* permissions of @introduceDomain, @releaseDomain (ks_special.c) */
    struct ks_conn *conns;
    struct ks_domain *domains;
    struct ks_domain_ops ops;
    bool have_ops;
    uint32_t next_txid;
    struct ks_journal *journal;
    struct event *sync_ev;
    bool replaying;             /* loading the journal: no watches, no journal writes */
    struct event *listen_ev;    /* Unix socket listener, if any */
    int listen_fd;
};

/* The request context: who asks, against which tree. */
struct ks_ctx {
    struct ks_store *s;
    struct ks_conn *conn;
    uint32_t domid;
    bool priv;
    struct ks_tree *tree;
    struct ks_txn *txn;         /* NULL: live tree (watches fire, journal records) */
    bool noquota;               /* commit replay: quotas were enforced inside the txn */
};

/* ks_proto.c */
void ks_proto_handle(struct ks_conn *c, const struct ks_hdr *h, const char *payload);
int ks_ctx_canon(const struct ks_ctx *x, const char *in, char *out, size_t size);
/* Execute one mutating request; shared by live requests and transaction commit. */
int ks_apply(struct ks_ctx *x, uint32_t type, const struct ks_args *a);

/* ks_perm.c */
uint32_t ks_perm_mode(const struct ks_ctx *x, const struct ks_node *n);
bool ks_perm_can(const struct ks_ctx *x, const struct ks_node *n, uint32_t want);

/* ks_conn.c */
void ks_conn_reply(struct ks_conn *c, const struct ks_hdr *req, uint32_t type,
                   const void *data, size_t len);
void ks_conn_error(struct ks_conn *c, const struct ks_hdr *req, int err);
void ks_conn_ok(struct ks_conn *c, const struct ks_hdr *req);
void ks_conn_close(struct ks_conn *c);

/* ks_watch.c */
int ks_watch_add(struct ks_ctx *x, const char *path, const char *token, int depth);
int ks_watch_del(struct ks_ctx *x, const char *path, const char *token);
void ks_watch_clear(struct ks_conn *c);
/* A node changed (abs path); `n` is the node before a removal or after other changes. */
void ks_watch_fire(struct ks_store *s, const char *path, const struct ks_node *n, bool rm);
/* A special event about `domid`: "name/<domid>" to watches on `name` with depth 1 and to
 * watches on "name/<domid>" itself, "name" to the other watches on `name`. */
void ks_watch_fire_special(struct ks_store *s, const char *name, uint32_t domid);

/* ks_txn.c */
int ks_txn_start(struct ks_conn *c, uint32_t *id);
struct ks_txn *ks_txn_find(struct ks_conn *c, uint32_t id);
int ks_txn_end(struct ks_conn *c, struct ks_txn *t, bool commit);
/* Remember a node the transaction touched: 0, -ENOSPC (limit) or -ENOMEM. */
int ks_txn_note(struct ks_ctx *x, const char *path);
int ks_txn_record(struct ks_txn *t, uint32_t type, const char *payload, uint32_t len);
/* May the request's transaction log one more change? */
bool ks_txn_room(const struct ks_ctx *x);
void ks_txn_clear(struct ks_conn *c);

/* ks_journal.c */
enum ks_jop { KS_J_WRITE = 'W', KS_J_MKDIR = 'M', KS_J_RM = 'R', KS_J_PERMS = 'P',
              KS_J_NODE = 'S', KS_J_INTRO = 'I', KS_J_RELEASE = 'X', KS_J_QUOTA = 'Q' };
int ks_journal_open(struct ks_store *s);
void ks_journal_close(struct ks_store *s);
int ks_journal_log(struct ks_store *s, enum ks_jop op, uint32_t domid, const char *path,
                   const void *data, size_t len);
/* Group commit: ks_journal_log buffers a record; the round's records are written (and, with
 * --sync always, fdatasynced) by an event at the end of the event-loop round, or by
 * ks_journal_commit, which every transport calls before output leaves (ks_journal_pending:
 * records wait), so no reply or event is seen before the change it reveals is journaled. */
bool ks_journal_pending(const struct ks_store *s);
int ks_journal_commit(struct ks_store *s);

/* ks_quota.c */
/* The limit on `q` for unprivileged `domid`: its own value if dom0 set one, else the
 * global one; 0 = unlimited. */
unsigned ks_quota_limit(struct ks_store *s, uint32_t domid, enum ks_qidx q);
/* Quota name ("nodes", "node-size", ...) -> index, or -EINVAL. */
int ks_quota_index(const char *name);
const char *ks_quota_name(enum ks_qidx q);
unsigned *ks_quota_global(struct ks_store *s, enum ks_qidx q);
/* Give an introduced domain its own limit (journaled): 0 or -ENOENT. */
int ks_quota_set_domain(struct ks_store *s, uint32_t domid, enum ks_qidx q, unsigned v);
/* XS_GET_QUOTA / XS_SET_QUOTA, and CONTROL quota [name value]. */
int ks_op_quota(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a);
int ks_control_quota(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a);

/* ks_special.c: the special watch paths' permissions. */
int ks_special_init(struct ks_store *s);
void ks_special_free(struct ks_store *s);
/* The permission node of "@introduceDomain" or "@releaseDomain" (exactly), else NULL. */
struct ks_node *ks_special_node(struct ks_store *s, const char *name);
/* May `c` receive the events of special watch `name` (privileged, or read access)? */
bool ks_special_may_see(struct ks_store *s, struct ks_conn *c, const char *name);
/* GET_PERMS / SET_PERMS on a special name (a->v[0]); SET_PERMS is journaled. */
int ks_special_getperms(struct ks_ctx *x, const struct ks_hdr *h, const char *name);
int ks_special_setperms(struct ks_ctx *x, const struct ks_args *a);
/* Journal replay of a set-perms record on a special name: 0 or -EINVAL. */
int ks_special_replay(struct ks_store *s, const char *name, const char *d, size_t len);
/* RELEASE: the domain's entries go, nodes it owned pass to dom0. */
unsigned ks_special_revoke(struct ks_store *s, uint32_t domid);
/* Snapshot: emit(opaque, name, NUL-separated permission strings, length) for each. */
typedef int (*ks_special_emit_fn)(void *opaque, const char *name, const char *d, size_t len);
int ks_special_snapshot(struct ks_store *s, ks_special_emit_fn emit, void *opaque);

/* ks_domain.c */
struct ks_domain *ks_domain_find(struct ks_store *s, uint32_t domid);
void ks_domain_free_all(struct ks_store *s);

#endif
