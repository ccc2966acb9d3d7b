/* ks_quota.c - quotas: the global limits (command line, CONTROL quota, SET_QUOTA without a
 * domid), per-domain limits that override them for one introduced domain (SET_QUOTA with
 * a domid, journaled), and the GET_QUOTA / SET_QUOTA requests of xenstore.txt:
 *   GET_QUOTA  [[<domid>|]<quota>|]   -> <value>|  (no argument: all names, blank-separated)
 *   SET_QUOTA  [<domid>|]<quota>|<value>|
 * Both are for dom0 only. Values are decimal, 0 disables the check. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "klog.h"
#include "ks_int.h"

/* Domain ids from here on are Xen's special DOMID_* values, never a real domain. */
#define KS_DOMID_FIRST_RESERVED 0x7ff0u

static const char *const ks_qnames[KS_Q_COUNT] = {
    [KS_Q_NODES] = "nodes", [KS_Q_WATCHES] = "watches", [KS_Q_TRANSACTIONS] = "transactions",
    [KS_Q_NODE_SIZE] = "node-size", [KS_Q_PERMS] = "permissions",
};

const char *ks_quota_name(enum ks_qidx q) { return ks_qnames[q]; }

int ks_quota_index(const char *name)
{
    for (int q = 0; q < KS_Q_COUNT; q++)
        if (strcmp(ks_qnames[q], name) == 0)
            return q;
    return -EINVAL;
}

unsigned *ks_quota_global(struct ks_store *s, enum ks_qidx q)
{
    struct ks_quota *g = &s->cfg.quota;

    switch (q) {
    case KS_Q_NODES: return &g->nodes;
    case KS_Q_WATCHES: return &g->watches;
    case KS_Q_TRANSACTIONS: return &g->transactions;
    case KS_Q_NODE_SIZE: return &g->node_size;
    default: return &g->perms;
    }
}

unsigned ks_quota_limit(struct ks_store *s, uint32_t domid, enum ks_qidx q)
{
    const struct ks_domain *d = ks_domain_find(s, domid);

    if (d && (d->quota_set & (1u << q)))
        return d->quota[q];
    return *ks_quota_global(s, q);
}

int ks_quota_set_domain(struct ks_store *s, uint32_t domid, enum ks_qidx q, unsigned v)
{
    struct ks_domain *d = ks_domain_find(s, domid);
    char buf[16];
    int n;

    if (!d)
        return -ENOENT;
    d->quota[q] = v;
    d->quota_set |= 1u << q;
    n = snprintf(buf, sizeof(buf), "%u", v);
    ks_journal_log(s, KS_J_QUOTA, domid, ks_qnames[q], buf, (size_t)n);
    return 0;
}

/* A <domid> argument: a real domain id (EINVAL otherwise); *d is NULL for dom0, which no
 * quota limits, else the introduced domain (ENOENT if there is none). */
static int ks_quota_domain(struct ks_ctx *x, const char *arg, uint32_t *domid,
                           struct ks_domain **d)
{
    if (ks_parse_u32(arg, domid) < 0 || *domid >= KS_DOMID_FIRST_RESERVED)
        return -EINVAL;
    *d = ks_domain_find(x->s, *domid);
    return *d || *domid == 0 ? 0 : -ENOENT;
}

static void ks_reply_u32(struct ks_ctx *x, const struct ks_hdr *h, unsigned v)
{
    char buf[16];

    snprintf(buf, sizeof(buf), "%u", v);
    ks_conn_reply(x->conn, h, h->type, buf, strlen(buf) + 1);
}

static int ks_get_quota(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    struct ks_domain *d = NULL;
    uint32_t domid = 0;
    char buf[128];
    size_t len = 0;
    int q, rc;

    if (a->n == 0) {
        for (q = 0; q < KS_Q_COUNT; q++)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", q ? " " : "",
                                    ks_qnames[q]);
        ks_conn_reply(x->conn, h, h->type, buf, len + 1);
        return 0;
    }
    if (a->n == 2 && (rc = ks_quota_domain(x, a->v[0], &domid, &d)) < 0)
        return rc;
    if ((q = ks_quota_index(a->v[a->n - 1])) < 0)
        return q;
    if (a->n == 1)
        ks_reply_u32(x, h, *ks_quota_global(x->s, q));
    else
        ks_reply_u32(x, h, d ? ks_quota_limit(x->s, domid, q) : 0);    /* dom0: no limit */
    return 0;
}

static int ks_set_quota(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    struct ks_domain *d = NULL;
    uint32_t domid = 0, v;
    int q, rc;

    if (a->n == 3 && (rc = ks_quota_domain(x, a->v[0], &domid, &d)) < 0)
        return rc;
    if ((q = ks_quota_index(a->v[a->n - 2])) < 0 || ks_parse_u32(a->v[a->n - 1], &v) < 0)
        return -EINVAL;
    if (a->n == 3 && !d)
        return -EINVAL;             /* dom0 is privileged: no quota to set */
    if (a->n == 3) {
        if ((rc = ks_quota_set_domain(x->s, domid, q, v)) < 0)
            return rc;
        klog(KLOG_INFO, "quota", "domain %u: %s = %u", domid, ks_qnames[q], v);
    } else {
        *ks_quota_global(x->s, q) = v;
        klog(KLOG_INFO, "quota", "global %s = %u", ks_qnames[q], v);
    }
    ks_conn_ok(x->conn, h);
    return 0;
}

int ks_op_quota(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    if (!x->priv)
        return -EACCES;
    return h->type == KS_GET_QUOTA ? ks_get_quota(x, h, a) : ks_set_quota(x, h, a);
}

/* CONTROL quota: "name value" lines of the global limits; CONTROL quota name value sets one. */
int ks_control_quota(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    char buf[256];
    size_t len = 0;
    uint32_t v;
    int q;

    if (a->n == 3) {
        if ((q = ks_quota_index(a->v[1])) < 0 || ks_parse_u32(a->v[2], &v) < 0)
            return -EINVAL;
        *ks_quota_global(x->s, q) = v;
        ks_conn_ok(x->conn, h);
        return 0;
    }
    for (q = 0; q < KS_Q_COUNT; q++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s %u\n", ks_qnames[q],
                                *ks_quota_global(x->s, q));
    ks_conn_reply(x->conn, h, h->type, buf, len + 1);
    return 0;
}
