/* ks_txn.c - transactions: each one works on its own copy of the tree, remembers the
 * generation of every node it touched and the mutating requests it made. Commit fails
 * with EAGAIN when any touched node changed meanwhile; otherwise the requests are
 * replayed on the live tree, so watches fire and the journal records only on commit. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "klog.h"
#include "ks_int.h"

/* Bounds on what one unprivileged transaction may remember (memory a guest controls). */
#define KS_TXN_MAX_ACCESS 4096u
#define KS_TXN_MAX_OPS 1024u

bool ks_txn_room(const struct ks_ctx *x)
{
    return x->priv || x->txn->nops < KS_TXN_MAX_OPS;
}

int ks_txn_start(struct ks_conn *c, uint32_t *id)
{
    struct ks_txn *t;
    unsigned limit = ks_quota_limit(c->store, c->domid, KS_Q_TRANSACTIONS);

    if (!c->priv && limit) {
        unsigned used = 0;      /* per domain: all of its connections together */
        for (struct ks_conn *o = c->store->conns; o; o = o->next)
            if (o->domid == c->domid && !o->priv)
                used += o->ntxns;
        if (used >= limit)
            return -ENOSPC;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->tree = ks_tree_clone(c->store->tree);
    if (!t->tree) {
        free(t);
        return -ENOMEM;
    }
    do
        t->id = ++c->store->next_txid;
    while (t->id == 0 || ks_txn_find(c, t->id));
    t->ops_tail = &t->ops;
    t->next = c->txns;
    c->txns = t;
    c->ntxns++;
    *id = t->id;
    return 0;
}

struct ks_txn *ks_txn_find(struct ks_conn *c, uint32_t id)
{
    for (struct ks_txn *t = c->txns; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

int ks_txn_note(struct ks_ctx *x, const char *path)
{
    struct ks_txn *t = x->txn;
    struct ks_node *n;

    for (unsigned i = 0; i < t->nacc; i++)
        if (strcmp(t->acc[i].path, path) == 0)
            return 0;
    if (t->nacc == t->capacc) {
        unsigned cap = t->capacc ? t->capacc * 2 : 16;
        struct ks_access *acc;
        if (!x->priv && cap > KS_TXN_MAX_ACCESS)
            return -ENOSPC;     /* the request fails; the transaction stays usable */
        if (!(acc = realloc(t->acc, cap * sizeof(*acc))))
            return -ENOMEM;
        t->acc = acc;
        t->capacc = cap;
    }
    n = ks_tree_lookup(t->tree, path);
    t->acc[t->nacc].path = strdup(path);
    if (!t->acc[t->nacc].path)
        return -ENOMEM;
    t->acc[t->nacc].gen = n ? ks_node_gen(n) : 0;
    t->nacc++;
    return 0;
}

int ks_txn_record(struct ks_txn *t, uint32_t type, const char *payload, uint32_t len)
{
    struct ks_txop *op = malloc(sizeof(*op) + len + 1);

    if (!op) {
        t->failed = true;   /* the copy changed without its log: the commit must not pass */
        return -ENOMEM;
    }
    t->nops++;
    op->next = NULL;
    op->type = type;
    op->len = len;
    memcpy(op->payload, payload, len);
    op->payload[len] = '\0';
    *t->ops_tail = op;
    t->ops_tail = &op->next;
    return 0;
}

static void ks_txn_free(struct ks_txn *t)
{
    for (unsigned i = 0; i < t->nacc; i++)
        free(t->acc[i].path);
    free(t->acc);
    while (t->ops) {
        struct ks_txop *op = t->ops;
        t->ops = op->next;
        free(op);
    }
    ks_tree_free(t->tree);
    free(t);
}

static bool ks_txn_conflicts(struct ks_store *s, const struct ks_txn *t)
{
    if (t->failed)
        return true;
    for (unsigned i = 0; i < t->nacc; i++) {
        struct ks_node *n = ks_tree_lookup(s->tree, t->acc[i].path);
        if ((n ? ks_node_gen(n) : 0) != t->acc[i].gen)
            return true;
    }
    return false;
}

static void ks_txn_replay(struct ks_conn *c, const struct ks_txn *t)
{
    struct ks_ctx x = { c->store, c, c->domid, c->priv, c->store->tree, NULL, true };

    for (const struct ks_txop *op = t->ops; op; op = op->next) {
        struct ks_args a;
        int rc = ks_args_split(op->type, op->payload, op->len, &a);
        if (rc == 0)
            rc = ks_apply(&x, op->type, &a);
        if (rc < 0)
            klog(KLOG_WARN, "txn", "domain %u: transaction %u: replaying %s failed: %s",
                 c->domid, t->id, ks_type_name(op->type), ks_errname(-rc));
    }
}

int ks_txn_end(struct ks_conn *c, struct ks_txn *t, bool commit)
{
    int rc = 0;

    for (struct ks_txn **pp = &c->txns; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    c->ntxns--;
    if (commit && ks_txn_conflicts(c->store, t))
        rc = -EAGAIN;
    else if (commit)
        ks_txn_replay(c, t);
    ks_txn_free(t);
    return rc;
}

void ks_txn_clear(struct ks_conn *c)
{
    while (c->txns) {
        struct ks_txn *t = c->txns;
        c->txns = t->next;
        ks_txn_free(t);
    }
    c->ntxns = 0;
}
