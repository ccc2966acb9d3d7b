/* kp_write.c - writes the Xen binary policy format as `checkpolicy -t Xen` does: the same
 * fields, and the same order of entries (libsepol writes each symbol table in the order of
 * its hash buckets, and the access vector table in the order of its hash slots), so that the
 * output can be compared byte for byte. */
#include "kp.h"

#include <stdlib.h>
#include <string.h>

#define POLICYDB_MAGIC 0xf97cff8cu
#define TARGET "XenFlask"

struct wbuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
};

static void put(struct wbuf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        uint8_t *p;

        while (cap < b->n + n)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void w32(struct wbuf *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

    put(b, x, 4);
}

static void w16(struct wbuf *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

    put(b, x, 2);
}

static void w64(struct wbuf *b, uint64_t v)
{
    w32(b, (uint32_t)v);
    w32(b, (uint32_t)(v >> 32));
}

static void wstr(struct wbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void wbits(struct wbuf *b, const struct kp_bits *e)
{
    uint32_t count = 0, high = 0;

    for (uint32_t i = 0; i < e->nw; i++)
        if (e->w[i]) {
            count++;
            high = (i + 1) * 64;
        }
    w32(b, 64);
    w32(b, high);
    w32(b, count);
    for (uint32_t i = 0; i < e->nw; i++)
        if (e->w[i]) {
            w32(b, i * 64);
            w64(b, e->w[i]);
        }
}

static void wempty(struct wbuf *b)
{
    struct kp_bits e = { 0, NULL };

    wbits(b, &e);
}

/* ---- libsepol symbol-table order ---- */

static uint32_t symhash(const char *s, uint32_t size)
{
    uint32_t v = 0;

    for (; *s; s++)
        v = ((v << 4) | (v >> 28)) ^ (uint32_t)(int32_t)(signed char)*s;
    return v & (size - 1);
}

struct ord {
    const char *name;
    uint32_t bucket;
    uint32_t idx;
};

static uint32_t g_size;

static int ord_cmp(const void *a, const void *b)
{
    const struct ord *x = a, *y = b;

    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Sorts idx[0..n) (names given by names[]) into hash-bucket order for a table of size. */
static struct ord *order(const char *const *names, uint32_t n, uint32_t size)
{
    struct ord *o = calloc(n ? n : 1, sizeof(*o));

    if (!o)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        o[i].name = names[i];
        o[i].bucket = symhash(names[i], size);
        o[i].idx = i;
    }
    g_size = size;
    qsort(o, n, sizeof(*o), ord_cmp);
    return o;
}

static void wperms(struct wbuf *b, char *const *perms, uint32_t from, uint32_t to)
{
    struct ord *o = order((const char *const *)perms + from, to - from, 32);

    if (!o) {
        b->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < to - from; i++) {
        w32(b, (uint32_t)strlen(o[i].name));
        w32(b, from + o[i].idx + 1);
        wstr(b, o[i].name);
    }
    free(o);
}

static void w_commons(struct wbuf *b, struct kp_db *db)
{
    const char **names = calloc(db->ncommons + 1, sizeof(*names));
    struct ord *o;

    for (uint32_t i = 0; names && i < db->ncommons; i++)
        names[i] = db->commons[i].name;
    o = names ? order(names, db->ncommons, 2) : NULL;
    w32(b, db->ncommons);
    w32(b, db->ncommons);
    for (uint32_t i = 0; o && i < db->ncommons; i++) {
        const struct kp_common *c = &db->commons[o[i].idx];

        w32(b, (uint32_t)strlen(c->name));
        w32(b, o[i].idx + 1);
        w32(b, c->nperms);
        w32(b, c->nperms);
        wstr(b, c->name);
        wperms(b, c->perms, 0, c->nperms);
    }
    if (!o)
        b->oom = 1;
    free(o);
    free(names);
}

static void w_cons(struct wbuf *b, const struct kp_class *c, uint32_t version)
{
    for (uint32_t k = 0; k < c->ncons; k++) {
        const struct kp_cons *cn = &c->cons[k];

        w32(b, cn->perms);
        w32(b, cn->nexpr);
        for (uint32_t j = 0; j < cn->nexpr; j++) {
            const struct kp_cexpr *e = &cn->expr[j];

            w32(b, e->type);
            w32(b, e->attr);
            w32(b, e->op);
            if (e->type == 5) {
                wbits(b, &e->names);
                if (version >= 29) {
                    wbits(b, &e->tnames);
                    wbits(b, &e->tneg);
                    w32(b, e->tflags);
                }
            }
        }
    }
}

static void w_classes(struct wbuf *b, struct kp_db *db, uint32_t version)
{
    const char **names = calloc(db->nclasses + 1, sizeof(*names));
    struct ord *o;

    for (uint32_t i = 0; names && i < db->nclasses; i++)
        names[i] = db->classes[i].name;
    o = names ? order(names, db->nclasses, 32) : NULL;
    w32(b, db->nclasses);
    w32(b, db->nclasses);
    for (uint32_t i = 0; o && i < db->nclasses; i++) {
        const struct kp_class *c = &db->classes[o[i].idx];
        const char *com = c->common >= 0 ? db->commons[c->common].name : NULL;
        uint32_t base = c->common >= 0 ? db->commons[c->common].nperms : 0;

        w32(b, (uint32_t)strlen(c->name));
        w32(b, com ? (uint32_t)strlen(com) : 0);
        w32(b, o[i].idx + 1);
        w32(b, c->nperms);
        w32(b, c->nperms - base);
        w32(b, c->ncons);
        wstr(b, c->name);
        if (com)
            wstr(b, com);
        wperms(b, c->perms, base, c->nperms);
        w_cons(b, c, version);
        w32(b, 0); /* validatetrans */
        if (version >= 27) {
            w32(b, 0);
            w32(b, 0);
            w32(b, 0);
        }
        if (version >= 28)
            w32(b, 0);
    }
    if (!o)
        b->oom = 1;
    free(o);
    free(names);
}

static void w_roles(struct wbuf *b, struct kp_db *db)
{
    const char **names = calloc(db->nroles + 1, sizeof(*names));
    struct ord *o;

    for (uint32_t i = 0; names && i < db->nroles; i++)
        names[i] = db->roles[i].name;
    o = names ? order(names, db->nroles, 16) : NULL;
    w32(b, db->nroles);
    w32(b, db->nroles);
    for (uint32_t i = 0; o && i < db->nroles; i++) {
        const struct kp_role *r = &db->roles[o[i].idx];
        struct kp_bits dom = { 0, NULL };

        w32(b, (uint32_t)strlen(r->name));
        w32(b, o[i].idx + 1);
        w32(b, 0);
        wstr(b, r->name);
        if (o[i].idx != 0) /* object_r dominates nothing */
            kp_bits_set(&dom, o[i].idx);
        wbits(b, &dom);
        kp_bits_free(&dom);
        if (o[i].idx == 0)
            wempty(b); /* object_r */
        else
            wbits(b, &r->types);
    }
    if (!o)
        b->oom = 1;
    free(o);
    free(names);
}

static void w_types(struct wbuf *b, struct kp_db *db)
{
    uint32_t n = db->ntypes + db->naliases;
    const char **names = calloc(n + 1, sizeof(*names));
    struct ord *o;

    for (uint32_t i = 0; names && i < db->ntypes; i++)
        names[i] = db->types[i].name;
    for (uint32_t i = 0; names && i < db->naliases; i++)
        names[db->ntypes + i] = db->alias_names[i];
    o = names ? order(names, n, 512) : NULL;
    w32(b, db->ntypes);
    w32(b, n);
    for (uint32_t i = 0; o && i < n; i++) {
        uint32_t idx = o[i].idx;
        int alias = idx >= db->ntypes;

        w32(b, (uint32_t)strlen(o[i].name));
        w32(b, alias ? db->alias_vals[idx - db->ntypes] : idx + 1);
        w32(b, alias ? 0 : (1u | (db->types[idx].attr ? 2u : 0u)));
        w32(b, 0);
        wstr(b, o[i].name);
    }
    if (!o)
        b->oom = 1;
    free(o);
    free(names);
}

static void w_mls_zero(struct wbuf *b)
{
    w32(b, 1); /* one level */
    w32(b, 0); /* sensitivity 0 */
    wempty(b);
}

static void w_users(struct wbuf *b, struct kp_db *db)
{
    const char **names = calloc(db->nusers + 1, sizeof(*names));
    struct ord *o;

    for (uint32_t i = 0; names && i < db->nusers; i++)
        names[i] = db->users[i].name;
    o = names ? order(names, db->nusers, 128) : NULL;
    w32(b, db->nusers);
    w32(b, db->nusers);
    for (uint32_t i = 0; o && i < db->nusers; i++) {
        const struct kp_user *u = &db->users[o[i].idx];

        w32(b, (uint32_t)strlen(u->name));
        w32(b, o[i].idx + 1);
        w32(b, 0);
        wstr(b, u->name);
        wbits(b, &u->roles);
        w_mls_zero(b);
        w32(b, 0);
        wempty(b);
    }
    if (!o)
        b->oom = 1;
    free(o);
    free(names);
}

static void w_bools(struct wbuf *b, struct kp_db *db)
{
    const char **names = calloc(db->nbools + 1, sizeof(*names));
    struct ord *o;

    for (uint32_t i = 0; names && i < db->nbools; i++)
        names[i] = db->bools[i].name;
    o = names ? order(names, db->nbools, 16) : NULL;
    w32(b, db->nbools);
    w32(b, db->nbools);
    for (uint32_t i = 0; o && i < db->nbools; i++) {
        const struct kp_bool *x = &db->bools[o[i].idx];

        w32(b, o[i].idx + 1);
        w32(b, (uint32_t)x->state);
        w32(b, (uint32_t)strlen(x->name));
        wstr(b, x->name);
    }
    if (!o)
        b->oom = 1;
    free(o);
    free(names);
}

/* ---- access vector table in libsepol's slot order ---- */

static uint32_t avtab_hash(const struct kp_avent *k, uint32_t mask)
{
    const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593, m = 5, n = 0xe6546b64;
    uint32_t hash = 0, in[3] = { k->c, k->t, k->s };

    for (int i = 0; i < 3; i++) {
        uint32_t v = in[i] * c1;

        v = (v << 15) | (v >> 17);
        v *= c2;
        hash ^= v;
        hash = (hash << 13) | (hash >> 19);
        hash = hash * m + n;
    }
    hash ^= hash >> 16;
    hash *= 0x85ebca6b;
    hash ^= hash >> 13;
    hash *= 0xc2b2ae35;
    hash ^= hash >> 16;
    return hash & mask;
}

struct avord {
    const struct kp_avent *e;
    uint32_t slot, seq;
};

static int avord_cmp(const void *a, const void *b)
{
    const struct avord *x = a, *y = b;

    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    if (x->e->s != y->e->s)
        return x->e->s < y->e->s ? -1 : 1;
    if (x->e->t != y->e->t)
        return x->e->t < y->e->t ? -1 : 1;
    if (x->e->c != y->e->c)
        return x->e->c < y->e->c ? -1 : 1;
    return x->seq < y->seq ? -1 : 1;
}

#define AVTAB_SLOT_MASK ((1u << 20) - 1) /* libsepol: MAX_AVTAB_HASH_BUCKETS slots */

static void w_avtab(struct wbuf *b, const struct kp_avtab *t)
{
    struct avord *o = calloc(t->n ? t->n : 1, sizeof(*o));

    if (!o) {
        b->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < t->n; i++) {
        o[i].e = &t->e[i];
        o[i].slot = avtab_hash(&t->e[i], AVTAB_SLOT_MASK);
        o[i].seq = i;
    }
    qsort(o, t->n, sizeof(*o), avord_cmp);
    w32(b, t->n);
    for (uint32_t i = 0; i < t->n; i++) {
        w16(b, o[i].e->s);
        w16(b, o[i].e->t);
        w16(b, o[i].e->c);
        w16(b, o[i].e->spec);
        w32(b, o[i].e->data);
    }
    free(o);
}

static int cond_eval(const struct kp_db *db, const struct kp_cond *c)
{
    int st[64], sp = 0;

    for (uint32_t i = 0; i < c->nexpr; i++) {
        const struct kp_condterm *t = &c->expr[i];

        if (t->type == 1) {
            st[sp++] = db->bools[t->boolv - 1].state;
        } else if (t->type == 2) {
            st[sp - 1] = !st[sp - 1];
        } else {
            int y = st[--sp], x = st[sp - 1];

            st[sp - 1] = t->type == 3 ? (x || y) : t->type == 4 ? (x && y)
                       : t->type == 5 ? (x != y) : t->type == 6 ? (x == y) : (x != y);
        }
    }
    return sp == 1 ? st[0] : 0;
}

static void w_condlist(struct wbuf *b, const struct kp_avtab *t, int enabled)
{
    w32(b, t->n);
    for (uint32_t i = 0; i < t->n; i++) { /* in the order the rules created them */
        w16(b, t->e[i].s);
        w16(b, t->e[i].t);
        w16(b, t->e[i].c);
        w16(b, (uint16_t)(t->e[i].spec | (enabled ? 0x8000u : 0))); /* AVTAB_ENABLED */
        w32(b, t->e[i].data);
    }
}

static void w_conds(struct wbuf *b, struct kp_db *db, const struct kp_condav *cav)
{
    w32(b, db->nconds);
    for (uint32_t k = db->nconds; k-- > 0;) {
        const struct kp_cond *c = &db->conds[k];

        int state = cond_eval(db, c);

        w32(b, (uint32_t)state);
        w32(b, c->nexpr);
        for (uint32_t i = 0; i < c->nexpr; i++) {
            w32(b, c->expr[i].type);
            w32(b, c->expr[i].boolv);
        }
        w_condlist(b, &cav[k].t, state);
        w_condlist(b, &cav[k].f, !state);
    }
}

static void w_ctx(struct wbuf *b, const struct kp_context *c)
{
    w32(b, c->user);
    w32(b, c->role);
    w32(b, c->type);
    w_mls_zero(b);
}

static void w_ocons(struct wbuf *b, struct kp_db *db, uint32_t version)
{
    uint32_t n = 0, kinds = version >= 30 ? 5 : 4;

    for (uint32_t i = 0; i < db->nisids; i++)
        n += db->isids[i].has_ctx;
    w32(b, n);
    for (uint32_t i = db->nisids; i-- > 0;) /* checkpolicy prepends each declared SID */
        if (db->isids[i].has_ctx) {
            w32(b, i + 1);
            w_ctx(b, &db->isids[i].ctx);
        }
    for (uint32_t k = 1; k <= kinds; k++) {
        n = 0;
        for (uint32_t i = 0; i < db->nocons; i++)
            n += db->ocons[i].kind == k;
        w32(b, n);
        for (uint32_t i = 0; i < db->nocons; i++) {
            const struct kp_ocon *o = &db->ocons[i];

            if (o->kind != k)
                continue;
            if (k == 1 || k == 4) {
                w32(b, (uint32_t)o->lo);
            } else if (k == 2 || (k == 3 && version < 30)) {
                w32(b, (uint32_t)o->lo);
                w32(b, (uint32_t)o->hi);
            } else if (k == 3) {
                w64(b, o->lo);
                w64(b, o->hi);
            } else {
                w32(b, (uint32_t)strlen(o->path));
                wstr(b, o->path);
            }
            w_ctx(b, &o->ctx);
        }
    }
}

static void w_attr_map(struct wbuf *b, struct kp_db *db)
{
    for (uint32_t i = 0; i < db->ntypes; i++) {
        const struct kp_type *t = &db->types[i];
        struct kp_bits m = { 0, NULL };

        if (!t->attr)
            kp_bits_or(&m, &t->attrs);
        kp_bits_set(&m, i); /* every type and attribute maps to itself */
        wbits(b, &m);
        kp_bits_free(&m);
    }
}

/* checkpolicy lists role allow rules newest first, each rule's pairs in value order. */
static void w_role_allows(struct wbuf *b, struct kp_db *db)
{
    uint32_t n = 0;

    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            w32(b, n);
        for (uint32_t k = db->nroleallows; k-- > 0;) {
            const struct kp_roleallow *ra = &db->roleallows[k];

            for (uint32_t r = 0; r < db->nroles; r++)
                for (uint32_t t = 0; r < db->nroles && t < db->nroles; t++) {
                    if (!kp_bits_get(&ra->from, r) || !kp_bits_get(&ra->to, t))
                        continue;
                    if (!pass) {
                        n++;
                        continue;
                    }
                    w32(b, r + 1);
                    w32(b, t + 1);
                }
        }
    }
}

int kp_write(struct kp_db *db, uint32_t version, FILE *out)
{
    struct wbuf b = { NULL, 0, 0, 0 };
    struct kp_avtab te;
    struct kp_condav *cav = NULL;
    int rc;

    if (kp_expand(db, &te, &cav)) {
        free(te.e);
        for (uint32_t i = 0; cav && i < db->nconds; i++) {
            free(cav[i].t.e);
            free(cav[i].f.e);
        }
        free(cav);
        return -1;
    }
    w32(&b, POLICYDB_MAGIC);
    w32(&b, (uint32_t)strlen(TARGET));
    wstr(&b, TARGET);
    w32(&b, version);
    w32(&b, 0); /* config: no MLS, deny unknown */
    w32(&b, 8);
    w32(&b, version >= 30 ? 6 : 5);
    wempty(&b); /* policy capabilities */
    wempty(&b); /* permissive types */
    w_commons(&b, db);
    w_classes(&b, db, version);
    w_roles(&b, db);
    w_types(&b, db);
    w_users(&b, db);
    w_bools(&b, db);
    for (int i = 0; i < 4; i++)
        w32(&b, 0); /* sensitivities, categories */
    w_avtab(&b, &te);
    w_conds(&b, db, cav);
    w32(&b, 0); /* role transitions */
    w_role_allows(&b, db);
    if (version >= 25)
        w32(&b, 0); /* filename transitions */
    w_ocons(&b, db, version);
    w32(&b, 0); /* genfs */
    w32(&b, 0); /* range transitions */
    w_attr_map(&b, db);
    rc = b.oom ? -1 : 0;
    if (!rc && fwrite(b.p, 1, b.n, out) != b.n)
        rc = -1;
    free(b.p);
    free(te.e);
    for (uint32_t i = 0; i < db->nconds; i++) {
        free(cav[i].t.e);
        free(cav[i].f.e);
    }
    free(cav);
    return rc;
}
