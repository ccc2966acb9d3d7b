/* ks_tree.c - the in-memory node tree (see ks_tree.h). Children are kept in insertion
 * order like xenstored's directory listings; lookup walks one component at a time. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_tree.h"
#include "ks_wire.h"

struct ks_node {
    char *name;
    struct ks_node *parent;
    struct ks_node **kids;
    unsigned nkids, capkids;
    char *val;
    size_t vlen;
    struct ks_perm *perms;
    unsigned nperms;
    uint64_t gen;
};

struct ks_count {
    uint32_t id;
    unsigned n;
};

struct ks_tree {
    struct ks_node *root;
    uint64_t gen;
    uint64_t total;
    struct ks_count *cnt;
    unsigned ncnt, capcnt;
};

static void ks_count_add(struct ks_tree *t, uint32_t id, int delta)
{
    for (unsigned i = 0; i < t->ncnt; i++) {
        if (t->cnt[i].id == id) {
            t->cnt[i].n += (unsigned)delta;
            return;
        }
    }
    if (delta <= 0)
        return;
    if (t->ncnt == t->capcnt) {
        unsigned cap = t->capcnt ? t->capcnt * 2 : 8;
        struct ks_count *c = realloc(t->cnt, cap * sizeof(*c));
        if (!c)
            return;     /* counts are advisory under memory pressure */
        t->cnt = c;
        t->capcnt = cap;
    }
    t->cnt[t->ncnt].id = id;
    t->cnt[t->ncnt].n = (unsigned)delta;
    t->ncnt++;
}

unsigned ks_tree_count(const struct ks_tree *t, uint32_t id)
{
    for (unsigned i = 0; i < t->ncnt; i++)
        if (t->cnt[i].id == id)
            return t->cnt[i].n;
    return 0;
}

uint64_t ks_tree_total(const struct ks_tree *t) { return t->total; }
uint64_t ks_tree_gen(const struct ks_tree *t) { return t->gen; }

static struct ks_node *ks_node_alloc(const char *name, size_t nlen)
{
    struct ks_node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->name = strndup(name, nlen);
    if (!n->name) {
        free(n);
        return NULL;
    }
    return n;
}

static void ks_node_free(struct ks_node *n)
{
    for (unsigned i = 0; i < n->nkids; i++)
        ks_node_free(n->kids[i]);
    free(n->kids);
    free(n->name);
    free(n->val);
    free(n->perms);
    free(n);
}

struct ks_tree *ks_tree_new(void)
{
    struct ks_tree *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->root = ks_node_alloc("", 0);
    if (!t->root) {
        free(t);
        return NULL;
    }
    t->root->perms = calloc(1, sizeof(struct ks_perm));
    if (!t->root->perms) {
        ks_tree_free(t);
        return NULL;
    }
    t->root->nperms = 1;    /* "n0": dom0 owns it, nobody else may read */
    t->gen = 1;
    t->root->gen = 1;
    t->total = 1;
    ks_count_add(t, 0, 1);
    return t;
}

void ks_tree_free(struct ks_tree *t)
{
    if (!t)
        return;
    if (t->root)
        ks_node_free(t->root);
    free(t->cnt);
    free(t);
}

static struct ks_node *ks_node_clone(const struct ks_node *s, struct ks_node *parent)
{
    struct ks_node *n = ks_node_alloc(s->name, strlen(s->name));

    if (!n)
        return NULL;
    n->parent = parent;
    n->gen = s->gen;
    n->vlen = s->vlen;
    n->nperms = s->nperms;
    n->val = malloc(s->vlen + 1);
    n->perms = malloc(s->nperms * sizeof(*n->perms));
    n->kids = s->nkids ? calloc(s->nkids, sizeof(*n->kids)) : NULL;
    if (!n->val || !n->perms || (s->nkids && !n->kids)) {
        ks_node_free(n);
        return NULL;
    }
    if (s->vlen)
        memcpy(n->val, s->val, s->vlen);
    n->val[s->vlen] = '\0';
    memcpy(n->perms, s->perms, s->nperms * sizeof(*n->perms));
    n->capkids = s->nkids;
    for (unsigned i = 0; i < s->nkids; i++) {
        n->kids[i] = ks_node_clone(s->kids[i], n);
        if (!n->kids[i]) {
            ks_node_free(n);
            return NULL;
        }
        n->nkids++;
    }
    return n;
}

struct ks_tree *ks_tree_clone(const struct ks_tree *t)
{
    struct ks_tree *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->root = ks_node_clone(t->root, NULL);
    c->cnt = malloc((t->capcnt ? t->capcnt : 1) * sizeof(*c->cnt));
    if (!c->root || !c->cnt) {
        ks_tree_free(c);
        return NULL;
    }
    memcpy(c->cnt, t->cnt, t->ncnt * sizeof(*c->cnt));
    c->ncnt = t->ncnt;
    c->capcnt = t->capcnt ? t->capcnt : 1;
    c->gen = t->gen;
    c->total = t->total;
    return c;
}

static struct ks_node *ks_kid(const struct ks_node *n, const char *name, size_t len)
{
    for (unsigned i = 0; i < n->nkids; i++)
        if (strncmp(n->kids[i]->name, name, len) == 0 && n->kids[i]->name[len] == '\0')
            return n->kids[i];
    return NULL;
}

/* Walk as far as the path exists; *rest points at the first missing component. */
static struct ks_node *ks_walk_path(struct ks_tree *t, const char *path, const char **rest)
{
    struct ks_node *n = t->root;
    const char *p = path;

    while (*p == '/')
        p++;
    while (*p) {
        size_t len = strcspn(p, "/");
        struct ks_node *k = ks_kid(n, p, len);
        if (!k)
            break;
        n = k;
        p += len;
        while (*p == '/')
            p++;
    }
    *rest = p;
    return n;
}

struct ks_node *ks_tree_lookup(struct ks_tree *t, const char *path)
{
    const char *rest;
    struct ks_node *n = ks_walk_path(t, path, &rest);

    return *rest ? NULL : n;
}

unsigned ks_tree_missing(struct ks_tree *t, const char *path)
{
    const char *rest;
    unsigned count = 0;

    ks_walk_path(t, path, &rest);
    while (*rest) {
        count++;
        rest += strcspn(rest, "/");
        while (*rest == '/')
            rest++;
    }
    return count;
}

static void ks_touch(struct ks_tree *t, struct ks_node *n)
{
    n->gen = ++t->gen;
}

static int ks_add_kid(struct ks_tree *t, struct ks_node *parent, const char *name, size_t len,
                      uint32_t creator, struct ks_node **out)
{
    struct ks_node *k;

    if (parent->nkids == parent->capkids) {
        unsigned cap = parent->capkids ? parent->capkids * 2 : 4;
        struct ks_node **kids = realloc(parent->kids, cap * sizeof(*kids));
        if (!kids)
            return -ENOMEM;
        parent->kids = kids;
        parent->capkids = cap;
    }
    k = ks_node_alloc(name, len);
    if (!k)
        return -ENOMEM;
    k->val = calloc(1, 1);
    k->perms = malloc(parent->nperms * sizeof(*k->perms));
    if (!k->val || !k->perms) {
        ks_node_free(k);
        return -ENOMEM;
    }
    memcpy(k->perms, parent->perms, parent->nperms * sizeof(*k->perms));
    k->nperms = parent->nperms;
    if (creator != 0)
        k->perms[0].id = creator;
    k->parent = parent;
    parent->kids[parent->nkids++] = k;
    ks_touch(t, parent);
    ks_touch(t, k);
    t->total++;
    ks_count_add(t, k->perms[0].id, 1);
    *out = k;
    return 0;
}

int ks_tree_mknode(struct ks_tree *t, const char *path, uint32_t creator, struct ks_node **out)
{
    const char *rest;
    struct ks_node *n = ks_walk_path(t, path, &rest);

    while (*rest) {
        size_t len = strcspn(rest, "/");
        int rc = ks_add_kid(t, n, rest, len, creator, &n);
        if (rc < 0)
            return rc;
        rest += len;
        while (*rest == '/')
            rest++;
    }
    *out = n;
    return 0;
}

static unsigned ks_uncount(struct ks_tree *t, struct ks_node *n)
{
    unsigned removed = 1;

    for (unsigned i = 0; i < n->nkids; i++)
        removed += ks_uncount(t, n->kids[i]);
    ks_count_add(t, n->perms[0].id, -1);
    return removed;
}

unsigned ks_tree_rm(struct ks_tree *t, struct ks_node *n)
{
    struct ks_node *p = n->parent;
    unsigned removed;

    if (!p)
        return 0;
    for (unsigned i = 0; i < p->nkids; i++) {
        if (p->kids[i] == n) {
            memmove(&p->kids[i], &p->kids[i + 1], (p->nkids - i - 1) * sizeof(*p->kids));
            p->nkids--;
            break;
        }
    }
    removed = ks_uncount(t, n);
    t->total -= removed;
    ks_touch(t, p);
    ks_node_free(n);
    return removed;
}

int ks_tree_set_value(struct ks_tree *t, struct ks_node *n, const void *val, size_t len)
{
    char *v = malloc(len + 1);

    if (!v)
        return -ENOMEM;
    if (len)
        memcpy(v, val, len);
    v[len] = '\0';
    free(n->val);
    n->val = v;
    n->vlen = len;
    ks_touch(t, n);
    return 0;
}

int ks_tree_set_perms(struct ks_tree *t, struct ks_node *n, const struct ks_perm *p, unsigned np)
{
    struct ks_perm *copy;

    if (np == 0)
        return -EINVAL;
    copy = malloc(np * sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    memcpy(copy, p, np * sizeof(*copy));
    ks_count_add(t, n->perms[0].id, -1);
    ks_count_add(t, copy[0].id, 1);
    free(n->perms);
    n->perms = copy;
    n->nperms = np;
    ks_touch(t, n);
    return 0;
}

const char *ks_node_value(const struct ks_node *n, size_t *len)
{
    *len = n->vlen;
    return n->val;
}

const struct ks_perm *ks_node_perms(const struct ks_node *n, unsigned *np)
{
    *np = n->nperms;
    return n->perms;
}

uint64_t ks_node_gen(const struct ks_node *n) { return n->gen; }
unsigned ks_node_nkids(const struct ks_node *n) { return n->nkids; }
const char *ks_node_kid_name(const struct ks_node *n, unsigned i) { return n->kids[i]->name; }
struct ks_node *ks_node_parent(const struct ks_node *n) { return n->parent; }

static int ks_walk_node(struct ks_node *n, char *buf, size_t len, ks_walk_fn fn, void *opaque)
{
    int rc = fn(opaque, len ? buf : "/", n);

    for (unsigned i = 0; rc == 0 && i < n->nkids; i++) {
        size_t nl = strlen(n->kids[i]->name);
        if (len + 1 + nl > KS_ABS_PATH_MAX)
            continue;   /* cannot happen for trees built through validated paths */
        buf[len] = '/';
        memcpy(buf + len + 1, n->kids[i]->name, nl + 1);
        rc = ks_walk_node(n->kids[i], buf, len + 1 + nl, fn, opaque);
        buf[len] = '\0';
    }
    return rc;
}

int ks_tree_walk(struct ks_tree *t, ks_walk_fn fn, void *opaque)
{
    char buf[KS_ABS_PATH_MAX + 2] = "";

    return ks_walk_node(t->root, buf, 0, fn, opaque);
}

static unsigned ks_revoke_node(struct ks_tree *t, struct ks_node *n, uint32_t id)
{
    unsigned changed = 0, j = 1;

    for (unsigned i = 1; i < n->nperms; i++)
        if (n->perms[i].id != id)
            n->perms[j++] = n->perms[i];
    if (j != n->nperms || n->perms[0].id == id) {
        n->nperms = j;
        if (n->perms[0].id == id) {
            ks_count_add(t, id, -1);
            ks_count_add(t, 0, 1);
            n->perms[0].id = 0;
        }
        ks_touch(t, n);
        changed = 1;
    }
    for (unsigned i = 0; i < n->nkids; i++)
        changed += ks_revoke_node(t, n->kids[i], id);
    return changed;
}

unsigned ks_tree_revoke(struct ks_tree *t, uint32_t id)
{
    return id == 0 ? 0 : ks_revoke_node(t, t->root, id);
}

int ks_perm_parse(const char *s, struct ks_perm *p)
{
    switch (s[0]) {
    case 'n': p->mode = KS_PERM_NONE; break;
    case 'r': p->mode = KS_PERM_READ; break;
    case 'w': p->mode = KS_PERM_WRITE; break;
    case 'b': p->mode = KS_PERM_BOTH; break;
    default: return -EINVAL;
    }
    return ks_parse_u32(s + 1, &p->id);
}

int ks_perm_format(const struct ks_perm *p, char *buf, size_t size)
{
    static const char letters[4] = { 'n', 'r', 'w', 'b' };
    int n = snprintf(buf, size, "%c%u", letters[p->mode & 3], p->id);

    return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}
