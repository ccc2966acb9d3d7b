/* ks_special.c - the permissions of the special watch paths @introduceDomain and
 * @releaseDomain (xenstore.txt, SET_PERMS and WATCH). Each is a node of a small tree of
 * its own (never listed, never in a transaction), owned by dom0 with no access for
 * others ("n0") until dom0 or the owner changes that with SET_PERMS. Special-watch events
 * reach privileged connections and domains that may read the node; GET_PERMS needs read
 * access like on any node. Changes are journaled as set-perms records on the '@' name. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "klog.h"
#include "ks_int.h"

static const char *const ks_special_names[] = { "@introduceDomain", "@releaseDomain" };
#define KS_NSPECIAL (sizeof(ks_special_names) / sizeof(ks_special_names[0]))

int ks_special_init(struct ks_store *s)
{
    char path[32];
    struct ks_node *n;

    s->special = ks_tree_new();
    if (!s->special)
        return -ENOMEM;
    for (size_t i = 0; i < KS_NSPECIAL; i++) {
        /* "@releaseDomain" -> "/releaseDomain": a node of the special tree, "n0" as its root */
        snprintf(path, sizeof(path), "/%s", ks_special_names[i] + 1);
        if (ks_tree_mknode(s->special, path, 0, &n) < 0)
            return -ENOMEM;
    }
    return 0;
}

void ks_special_free(struct ks_store *s)
{
    ks_tree_free(s->special);
    s->special = NULL;
}

struct ks_node *ks_special_node(struct ks_store *s, const char *name)
{
    char path[32];

    for (size_t i = 0; i < KS_NSPECIAL; i++)
        if (strcmp(name, ks_special_names[i]) == 0) {
            snprintf(path, sizeof(path), "/%s", name + 1);
            return ks_tree_lookup(s->special, path);
        }
    return NULL;
}

bool ks_special_may_see(struct ks_store *s, struct ks_conn *c, const char *name)
{
    struct ks_ctx x = { s, c, c->domid, c->priv, s->tree, NULL, false };
    struct ks_node *n = ks_special_node(s, name);

    return n && ks_perm_can(&x, n, KS_PERM_READ);
}

int ks_special_getperms(struct ks_ctx *x, const struct ks_hdr *h, const char *name)
{
    struct ks_node *n = ks_special_node(x->s, name);
    const struct ks_perm *p;
    unsigned np;
    char buf[KS_PAYLOAD_MAX];
    size_t len = 0;

    if (!n)
        return -EINVAL;     /* other '@' names are watch paths only */
    if (!ks_perm_can(x, n, KS_PERM_READ))
        return -EACCES;
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

/* Parse a[1..] into perms[] and copy the strings, NUL-separated, into buf (the journal's
 * data): the count, or -EINVAL. */
static int ks_special_parse(const struct ks_args *a, struct ks_perm *perms, char *buf,
                            size_t *blen)
{
    unsigned np = a->n - 1;

    *blen = 0;
    if (a->n < 2)
        return -EINVAL;
    for (unsigned i = 0; i < np; i++) {
        if (ks_perm_parse(a->v[i + 1], &perms[i]) < 0 || *blen + a->len[i + 1] + 1 > KS_PAYLOAD_MAX)
            return -EINVAL;
        memcpy(buf + *blen, a->v[i + 1], a->len[i + 1] + 1);
        *blen += a->len[i + 1] + 1;
    }
    return (int)np;
}

int ks_special_setperms(struct ks_ctx *x, const struct ks_args *a)
{
    struct ks_perm perms[KS_MAX_ARGS];
    struct ks_node *n = ks_special_node(x->s, a->v[0]);
    unsigned oldnp, limit = ks_quota_limit(x->s, x->domid, KS_Q_PERMS);
    const struct ks_perm *old;
    char buf[KS_PAYLOAD_MAX];
    size_t blen;
    int np = ks_special_parse(a, perms, buf, &blen);

    if (np < 0 || !n)
        return -EINVAL;
    if (!x->priv && limit && (unsigned)np > limit)
        return -ENOSPC;
    old = ks_node_perms(n, &oldnp);
    if (!x->priv && old[0].id != x->domid)
        return -EACCES;     /* only the owner and dom0 change permissions */
    if (!x->priv && perms[0].id != old[0].id)
        return -EPERM;      /* only dom0 hands the node to another owner */
    if (ks_tree_set_perms(x->s->special, n, perms, (unsigned)np) < 0)
        return -ENOMEM;
    klog(KLOG_INFO, "special", "domain %u set the permissions of %s", x->domid, a->v[0]);
    ks_journal_log(x->s, KS_J_PERMS, 0, a->v[0], buf, blen);
    return 0;
}

int ks_special_replay(struct ks_store *s, const char *name, const char *d, size_t len)
{
    struct ks_perm perms[KS_MAX_ARGS];
    struct ks_node *n = ks_special_node(s, name);
    unsigned np = 0;

    if (!n)
        return -EINVAL;
    for (size_t off = 0; off < len && np < KS_MAX_ARGS;) {
        const char *e = memchr(d + off, '\0', len - off);
        if (!e || ks_perm_parse(d + off, &perms[np]) < 0)
            return -EINVAL;
        np++;
        off = (size_t)(e - d) + 1;
    }
    if (np == 0)
        return -EINVAL;
    return ks_tree_set_perms(s->special, n, perms, np) < 0 ? -ENOMEM : 0;
}

unsigned ks_special_revoke(struct ks_store *s, uint32_t domid)
{
    return ks_tree_revoke(s->special, domid);
}

int ks_special_snapshot(struct ks_store *s, ks_special_emit_fn emit, void *opaque)
{
    char buf[KS_MAX_ARGS * 16];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < KS_NSPECIAL; i++) {
        unsigned np;
        const struct ks_perm *p = ks_node_perms(ks_special_node(s, ks_special_names[i]), &np);
        size_t len = 0;
        for (unsigned k = 0; k < np && k < KS_MAX_ARGS; k++)
            len += (size_t)ks_perm_format(&p[k], buf + len, sizeof(buf) - len) + 1;
        rc = emit(opaque, ks_special_names[i], buf, len);
    }
    return rc;
}
