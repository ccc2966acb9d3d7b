/* ks_proto.c - the request dispatcher: validates each message (type, arguments, paths,
 * transaction id), checks permissions and quotas, and answers it. Mutations go through
 * ks_apply(), which also replays transaction operations on commit. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klog.h"
#include "ks_int.h"

int ks_ctx_canon(const struct ks_ctx *x, const char *in, char *out, size_t size)
{
    int n;

    if (!ks_path_valid(in, 0))
        return -EINVAL;
    if (in[0] == '/')
        n = snprintf(out, size, "%s", in);
    else
        n = snprintf(out, size, "/local/domain/%u/%s", x->domid, in);
    if (n < 0 || (size_t)n >= size || (size_t)n > KS_ABS_PATH_MAX)
        return -EINVAL;
    return 0;
}

/* Parent path of an absolute path ("/a/b" -> "/a", "/a" -> "/"). */
static void ks_parent_path(const char *path, char *out)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash && slash != path ? (size_t)(slash - path) : 1;

    memcpy(out, path, n);
    out[n] = '\0';
}

/* The node that decides whether `path` may be created: its nearest existing ancestor. */
static struct ks_node *ks_nearest(struct ks_tree *t, const char *path)
{
    char buf[KS_ABS_PATH_MAX + 1];
    struct ks_node *n;

    snprintf(buf, sizeof(buf), "%s", path);
    while (!(n = ks_tree_lookup(t, buf)))
        ks_parent_path(buf, buf);
    return n;
}

static bool ks_live(const struct ks_ctx *x) { return x->txn == NULL && !x->s->replaying; }

static int ks_create(struct ks_ctx *x, const char *path, struct ks_node **out)
{
    unsigned missing = ks_tree_missing(x->tree, path);
    unsigned limit = ks_quota_limit(x->s, x->domid, KS_Q_NODES);

    if (!ks_perm_can(x, ks_nearest(x->tree, path), KS_PERM_WRITE))
        return -EACCES;
    if (!x->priv && !x->noquota && limit && ks_tree_count(x->tree, x->domid) + missing > limit)
        return -ENOSPC;
    return ks_tree_mknode(x->tree, path, x->priv ? 0 : x->domid, out);
}

static int ks_do_write(struct ks_ctx *x, const char *path, const char *val, size_t len)
{
    struct ks_node *n = ks_tree_lookup(x->tree, path);
    unsigned limit = ks_quota_limit(x->s, x->domid, KS_Q_NODE_SIZE);
    int rc;

    if (!x->priv && !x->noquota && limit && len > limit)
        return -ENOSPC;
    if (n && !ks_perm_can(x, n, KS_PERM_WRITE))
        return -EACCES;
    if (!n && (rc = ks_create(x, path, &n)) < 0)
        return rc;
    if ((rc = ks_tree_set_value(x->tree, n, val, len)) < 0)
        return rc;
    if (ks_live(x)) {
        ks_journal_log(x->s, KS_J_WRITE, x->priv ? 0 : x->domid, path, val, len);
        ks_watch_fire(x->s, path, n, false);
    }
    return 0;
}

static int ks_do_mkdir(struct ks_ctx *x, const char *path)
{
    struct ks_node *n = ks_tree_lookup(x->tree, path);
    int rc;

    if (n)
        return 0;
    if ((rc = ks_create(x, path, &n)) < 0)
        return rc;
    if (ks_live(x)) {
        ks_journal_log(x->s, KS_J_MKDIR, x->priv ? 0 : x->domid, path, NULL, 0);
        ks_watch_fire(x->s, path, n, false);
    }
    return 0;
}

static int ks_do_rm(struct ks_ctx *x, const char *path)
{
    struct ks_node *n = ks_tree_lookup(x->tree, path);
    char parent[KS_ABS_PATH_MAX + 1];

    if (!n) {
        ks_parent_path(path, parent);
        return ks_tree_lookup(x->tree, parent) ? 0 : -ENOENT;
    }
    if (!ks_node_parent(n))
        return -EINVAL;     /* the root stays */
    if (!ks_perm_can(x, n, KS_PERM_WRITE))
        return -EACCES;
    if (ks_live(x))
        ks_watch_fire(x->s, path, n, true);     /* needs the node's permissions */
    ks_tree_rm(x->tree, n);
    /* Journal after the change: a compaction the append triggers must see the new tree. */
    if (ks_live(x))
        ks_journal_log(x->s, KS_J_RM, 0, path, NULL, 0);
    return 0;
}

static int ks_do_setperms(struct ks_ctx *x, const char *path, const struct ks_args *a)
{
    struct ks_perm perms[KS_MAX_ARGS];
    unsigned np = a->n - 1, oldnp, limit = ks_quota_limit(x->s, x->domid, KS_Q_PERMS);
    struct ks_node *n = ks_tree_lookup(x->tree, path);
    const struct ks_perm *old;
    char buf[KS_PAYLOAD_MAX];
    size_t blen = 0;

    for (unsigned i = 0; i < np; i++) {
        if (ks_perm_parse(a->v[i + 1], &perms[i]) < 0)
            return -EINVAL;
        memcpy(buf + blen, a->v[i + 1], a->len[i + 1] + 1);
        blen += a->len[i + 1] + 1;
    }
    if (!x->priv && limit && np > limit)
        return -ENOSPC;
    if (!n)
        return -ENOENT;
    old = ks_node_perms(n, &oldnp);
    if (!x->priv && !(old[0].id == x->domid))
        return -EACCES;     /* only the owner and dom0 change permissions */
    if (!x->priv && perms[0].id != old[0].id)
        return -EPERM;      /* only dom0 hands a node to another owner */
    if (ks_tree_set_perms(x->tree, n, perms, np) < 0)
        return -ENOMEM;
    if (ks_live(x)) {
        ks_journal_log(x->s, KS_J_PERMS, 0, path, buf, blen);
        ks_watch_fire(x->s, path, n, false);
    }
    return 0;
}

int ks_apply(struct ks_ctx *x, uint32_t type, const struct ks_args *a)
{
    char path[KS_ABS_PATH_MAX + 1], parent[KS_ABS_PATH_MAX + 1];
    int rc = ks_ctx_canon(x, a->v[0], path, sizeof(path));

    if (rc < 0)
        return rc;
    if (x->txn) {
        ks_parent_path(path, parent);
        if ((rc = ks_txn_note(x, path)) < 0 || (rc = ks_txn_note(x, parent)) < 0)
            return rc;
    }
    switch (type) {
    case KS_WRITE: return ks_do_write(x, path, a->data, a->datalen);
    case KS_MKDIR: return ks_do_mkdir(x, path);
    case KS_RM: return ks_do_rm(x, path);
    case KS_SET_PERMS: return ks_do_setperms(x, path, a);
    default: return -ENOSYS;
    }
}

/* Read-side lookups share the path, permission and transaction bookkeeping. */
static int ks_lookup_readable(struct ks_ctx *x, const char *in, struct ks_node **out)
{
    char path[KS_ABS_PATH_MAX + 1];
    int rc = ks_ctx_canon(x, in, path, sizeof(path));

    if (rc < 0)
        return rc;
    if (x->txn && (rc = ks_txn_note(x, path)) < 0)
        return rc;
    *out = ks_tree_lookup(x->tree, path);
    if (!*out)
        return -ENOENT;
    return ks_perm_can(x, *out, KS_PERM_READ) ? 0 : -EACCES;
}

static int ks_op_read(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    struct ks_node *n;
    size_t len;
    const char *v;
    int rc = ks_lookup_readable(x, a->v[0], &n);

    if (rc < 0)
        return rc;
    v = ks_node_value(n, &len);
    ks_conn_reply(x->conn, h, h->type, v, len);
    return 0;
}

static int ks_op_getperms(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    struct ks_node *n;
    const struct ks_perm *p;
    unsigned np;
    char buf[KS_PAYLOAD_MAX];
    size_t len = 0;
    int rc;

    if (a->v[0][0] == '@')      /* the special watch paths, outside any transaction */
        return ks_special_getperms(x, h, a->v[0]);
    if ((rc = ks_lookup_readable(x, a->v[0], &n)) < 0)
        return rc;
    p = ks_node_perms(n, &np);
    for (unsigned i = 0; i < np; i++) {
        int w = ks_perm_format(&p[i], buf + len, sizeof(buf) - len);
        if (w < 0)
            return -E2BIG;
        len += (size_t)w + 1;
    }
    ks_conn_reply(x->conn, h, h->type, buf, len);
    return 0;
}

static int ks_op_directory(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    struct ks_node *n;
    char buf[KS_PAYLOAD_MAX];
    size_t len = 0;
    int rc = ks_lookup_readable(x, a->v[0], &n);

    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < ks_node_nkids(n); i++) {
        const char *k = ks_node_kid_name(n, i);
        size_t kl = strlen(k) + 1;
        if (len + kl > sizeof(buf))
            return -E2BIG;
        memcpy(buf + len, k, kl);
        len += kl;
    }
    ks_conn_reply(x->conn, h, h->type, buf, len);
    return 0;
}

/* DIRECTORY_PART: "gen\0" then whole child names from byte offset `off` of the full
 * listing, with an extra NUL when the listing ends in this chunk. */
static int ks_op_dirpart(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    struct ks_node *n;
    char buf[KS_PAYLOAD_MAX];
    size_t len, pos = 0;
    uint32_t off;
    unsigned i;
    int rc = ks_lookup_readable(x, a->v[0], &n);

    if (rc < 0)
        return rc;
    if (ks_parse_u32(a->v[1], &off) < 0)
        return -EINVAL;
    len = (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)ks_node_gen(n)) + 1;
    for (i = 0; i < ks_node_nkids(n); i++) {
        const char *k = ks_node_kid_name(n, i);
        size_t kl = strlen(k) + 1;
        if (pos >= off) {
            if (len + kl + 1 > sizeof(buf))
                break;
            memcpy(buf + len, k, kl);
            len += kl;
        }
        pos += kl;
    }
    if (i == ks_node_nkids(n))
        buf[len++] = '\0';
    ks_conn_reply(x->conn, h, h->type, buf, len);
    return 0;
}

static int ks_op_mutate(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a,
                        const char *payload)
{
    int rc;

    if (h->type == KS_SET_PERMS && a->v[0][0] == '@') {
        /* The special watch paths are no part of transactions: applied at once. */
        if ((rc = ks_special_setperms(x, a)) < 0)
            return rc;
        ks_conn_ok(x->conn, h);
        return 0;
    }
    if (x->txn && !ks_txn_room(x))
        return -ENOSPC;     /* too many changes in one transaction */
    rc = ks_apply(x, h->type, a);
    if (rc == 0 && x->txn)
        rc = ks_txn_record(x->txn, h->type, payload, h->len);
    if (rc < 0)
        return rc;
    ks_conn_ok(x->conn, h);
    return 0;
}

static int ks_op_watch(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    char ev[KS_PAYLOAD_MAX];
    int rc, depth = -1;

    if (h->type == KS_UNWATCH) {
        if ((rc = ks_watch_del(x, a->v[0], a->v[1])) < 0)
            return rc;
        ks_conn_ok(x->conn, h);
        return 0;
    }
    if (a->n == 3) {
        uint32_t d;
        if (ks_parse_u32(a->v[2], &d) < 0 || d > KS_ABS_PATH_MAX)
            return -EINVAL;
        depth = (int)d;
    }
    if ((rc = ks_watch_add(x, a->v[0], a->v[1], depth)) < 0)
        return rc;
    ks_conn_ok(x->conn, h);
    /* Fires once on registration, with the path as the client gave it. */
    memcpy(ev, a->v[0], a->len[0] + 1);
    memcpy(ev + a->len[0] + 1, a->v[1], a->len[1] + 1);
    ks_conn_reply(x->conn, NULL, KS_WATCH_EVENT, ev, a->len[0] + a->len[1] + 2);
    return 0;
}

static int ks_op_txn(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    char buf[16];
    uint32_t id;
    int rc;

    if (h->type == KS_TRANSACTION_START) {
        if (x->txn)
            return -EBUSY;
        if ((rc = ks_txn_start(x->conn, &id)) < 0)
            return rc;
        snprintf(buf, sizeof(buf), "%u", id);
        ks_conn_reply(x->conn, h, h->type, buf, strlen(buf) + 1);
        return 0;
    }
    if (!x->txn)
        return -ENOENT;
    if (strcmp(a->v[0], "T") != 0 && strcmp(a->v[0], "F") != 0)
        return -EINVAL;
    if ((rc = ks_txn_end(x->conn, x->txn, a->v[0][0] == 'T')) < 0)
        return rc;
    ks_conn_ok(x->conn, h);
    return 0;
}

static int ks_op_domain(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    uint32_t domid, port, target;
    int64_t gfn;
    char buf[48];
    int rc = 0;

    if (ks_parse_u32(a->v[0], &domid) < 0)
        return -EINVAL;
    if (h->type == KS_GET_DOMAIN_PATH) {
        snprintf(buf, sizeof(buf), "/local/domain/%u", domid);
        ks_conn_reply(x->conn, h, h->type, buf, strlen(buf) + 1);
        return 0;
    }
    if (!x->priv)
        return -EACCES;
    switch (h->type) {
    case KS_INTRODUCE:
        if (ks_parse_i64(a->v[1], &gfn) < 0 || ks_parse_u32(a->v[2], &port) < 0 || domid == 0)
            return -EINVAL;
        rc = ks_domain_introduce(x->s, domid, (uint64_t)gfn, port);
        break;
    case KS_RELEASE:
        rc = domid == 0 ? -EINVAL : ks_domain_release(x->s, domid);
        break;
    case KS_IS_DOMAIN_INTRODUCED:
        snprintf(buf, sizeof(buf), "%s", domid == 0 || ks_domain_find(x->s, domid) ? "T" : "F");
        ks_conn_reply(x->conn, h, h->type, buf, 2);
        return 0;
    case KS_RESUME:
        rc = ks_domain_find(x->s, domid) ? 0 : -ENOENT;
        break;
    case KS_SET_TARGET: {
        struct ks_domain *d = ks_domain_find(x->s, domid);
        if (ks_parse_u32(a->v[1], &target) < 0)
            return -EINVAL;
        if (!d)
            return -ENOENT;
        d->target = target;
        d->has_target = true;
        break;
    }
    case KS_RESTRICT:
        /* Legacy (oxenstored) request kept for tests and tools: a dom0 socket connection
         * drops its privilege and acts as `domid` from now on. */
        x->conn->domid = domid;
        x->conn->priv = domid == 0;
        break;
    default:
        return -ENOSYS;
    }
    if (rc < 0)
        return rc;
    ks_conn_ok(x->conn, h);
    return 0;
}

/* GET_FEATURE [domid]: the store's feature bits, or those granted to a domain.
 * SET_FEATURE domid value: dom0 narrows a domain's features (a subset of the store's). */
static int ks_op_feature(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    struct ks_domain *d = NULL;
    uint32_t domid = x->domid, v;
    char buf[16];

    if (h->type == KS_SET_FEATURE && !x->priv)
        return -EACCES;
    if (a->n >= 1 && ks_parse_u32(a->v[0], &domid) < 0)
        return -EINVAL;
    if (a->n >= 1 && !x->priv && domid != x->domid)
        return -EACCES;
    if (a->n >= 1 && domid != 0 && !(d = ks_domain_find(x->s, domid)))
        return -ENOENT;
    if (h->type == KS_SET_FEATURE) {
        if (a->n != 2 || ks_parse_u32(a->v[1], &v) < 0 || (v & ~KS_FEATURES_SUPPORTED) || !d)
            return -EINVAL;
        d->features = v;
        if (d->page)
            ((volatile struct ks_ring_iface *)d->page)->server_features = v;
        ks_conn_ok(x->conn, h);
        return 0;
    }
    if (a->n == 0 && !x->priv)
        d = ks_domain_find(x->s, x->domid);     /* a guest asks about itself */
    snprintf(buf, sizeof(buf), "%u", d ? d->features : KS_FEATURES_SUPPORTED);
    ks_conn_reply(x->conn, h, h->type, buf, strlen(buf) + 1);
    return 0;
}

static int ks_op_control(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a)
{
    static const char help[] = "check\nprint <string>\nquota [<name> <value>]\ncompact\nsync\nhelp\n";
    const char *cmd = a->n ? a->v[0] : "";

    if (!x->priv)
        return -EACCES;
    if (strcmp(cmd, "help") == 0) {
        ks_conn_reply(x->conn, h, h->type, help, sizeof(help));
        return 0;
    }
    if (strcmp(cmd, "print") == 0 && a->n == 2)
        klog(KLOG_INFO, "control", "%s", a->v[1]);
    else if (strcmp(cmd, "quota") == 0 && (a->n == 1 || a->n == 3))
        return ks_control_quota(x, h, a);
    else if (strcmp(cmd, "compact") == 0 && a->n == 1) {
        if (ks_store_compact(x->s) < 0)
            return -EIO;
    } else if (strcmp(cmd, "sync") == 0 && a->n == 1) {
        if (ks_store_sync(x->s) < 0)
            return -EIO;
    } else if (strcmp(cmd, "check") != 0 || a->n != 1)
        return -EINVAL;
    ks_conn_ok(x->conn, h);
    return 0;
}

static int ks_dispatch(struct ks_ctx *x, const struct ks_hdr *h, const struct ks_args *a,
                       const char *payload)
{
    switch (h->type) {
    case KS_READ: return ks_op_read(x, h, a);
    case KS_GET_PERMS: return ks_op_getperms(x, h, a);
    case KS_DIRECTORY: return ks_op_directory(x, h, a);
    case KS_DIRECTORY_PART: return ks_op_dirpart(x, h, a);
    case KS_WRITE: case KS_MKDIR: case KS_RM: case KS_SET_PERMS:
        return ks_op_mutate(x, h, a, payload);
    case KS_WATCH: case KS_UNWATCH: return ks_op_watch(x, h, a);
    case KS_TRANSACTION_START: case KS_TRANSACTION_END: return ks_op_txn(x, h, a);
    case KS_INTRODUCE: case KS_RELEASE: case KS_GET_DOMAIN_PATH: case KS_IS_DOMAIN_INTRODUCED:
    case KS_RESUME: case KS_SET_TARGET: case KS_RESTRICT:
        return ks_op_domain(x, h, a);
    case KS_RESET_WATCHES:
        ks_watch_clear(x->conn);
        ks_txn_clear(x->conn);
        ks_conn_ok(x->conn, h);
        return 0;
    case KS_CONTROL: return ks_op_control(x, h, a);
    case KS_GET_FEATURE: case KS_SET_FEATURE: return ks_op_feature(x, h, a);
    case KS_GET_QUOTA: case KS_SET_QUOTA: return ks_op_quota(x, h, a);
    default: return -ENOSYS;
    }
}

void ks_proto_handle(struct ks_conn *c, const struct ks_hdr *h, const char *payload)
{
    struct ks_args a;
    struct ks_ctx x = { c->store, c, c->domid, c->priv, c->store->tree, NULL, false };
    int rc;

    if (h->type == KS_WATCH_EVENT || h->type == KS_ERROR || h->type >= KS_TYPE_COUNT) {
        ks_conn_error(c, h, h->type >= KS_TYPE_COUNT ? ENOSYS : EINVAL);
        return;
    }
    if (ks_args_split(h->type, payload, h->len, &a) < 0) {
        klog(KLOG_DEBUG, "proto", "domain %u: malformed %s request (%u bytes)", c->domid,
             ks_type_name(h->type), h->len);
        ks_conn_error(c, h, EINVAL);
        return;
    }
    if (h->tx_id && h->type != KS_TRANSACTION_START) {
        x.txn = ks_txn_find(c, h->tx_id);
        if (!x.txn) {
            ks_conn_error(c, h, ENOENT);
            return;
        }
        x.tree = x.txn->tree;
    } else if (h->tx_id) {
        ks_conn_error(c, h, EBUSY);
        return;
    }
    rc = ks_dispatch(&x, h, &a, payload);
    if (rc < 0)
        ks_conn_error(c, h, -rc);
}
