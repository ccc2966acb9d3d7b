/* kp_expand.c - expansion of the rules into the access vector table the way checkpolicy builds
 * a kernel policy (attributes kept as rule subjects, "self" and negations expanded), the
 * conditional rule lists, and the compile-time neverallow check over fully expanded types. */
#include "kp.h"

#include <stdlib.h>
#include <string.h>

#define SPEC_ALLOWED 0x1
#define SPEC_AUDITALLOW 0x2
#define SPEC_AUDITDENY 0x4
#define SPEC_TRANS 0x10
#define SPEC_MEMBER 0x20
#define SPEC_CHANGE 0x40

void kp_type_expand(const struct kp_db *db, const struct kp_typeset *ts, int always,
                    struct kp_bits *out)
{
    struct kp_bits types = { 0, NULL }, neg = { 0, NULL };

    out->nw = 0;
    out->w = NULL;
    for (uint32_t i = 0; i < ts->pos.nw * 64; i++) {
        if (!kp_bits_get(&ts->pos, i))
            continue;
        if (db->types[i].attr && always)
            kp_bits_or(&types, &db->types[i].members);
        else
            kp_bits_set(&types, i);
    }
    for (uint32_t i = 0; i < ts->neg.nw * 64; i++) {
        if (!kp_bits_get(&ts->neg, i))
            continue;
        if (db->types[i].attr)
            kp_bits_or(&neg, &db->types[i].members);
        else
            kp_bits_set(&neg, i);
    }
    if (ts->flags & KP_TS_STAR) {
        for (uint32_t i = 0; i < db->ntypes; i++)
            if (!db->types[i].attr && !kp_bits_get(&neg, i))
                kp_bits_set(out, i);
    } else {
        for (uint32_t i = 0; i < types.nw * 64; i++)
            if (kp_bits_get(&types, i) && !kp_bits_get(&neg, i))
                kp_bits_set(out, i);
        if (ts->flags & KP_TS_COMP) {
            struct kp_bits c = { 0, NULL };

            for (uint32_t i = 0; i < db->ntypes; i++)
                if (!db->types[i].attr && !kp_bits_get(out, i))
                    kp_bits_set(&c, i);
            kp_bits_free(out);
            *out = c;
        }
    }
    kp_bits_free(&types);
    kp_bits_free(&neg);
}

/* A set needs full expansion when it is not a plain list of names. */
static int must_expand(const struct kp_typeset *ts)
{
    return ts->flags || !kp_bits_empty(&ts->neg);
}

static int av_grow(struct kp_avtab *t)
{
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        struct kp_avent *e = realloc(t->e, cap * sizeof(*e));

        if (!e)
            return -1;
        t->e = e;
        t->cap = cap;
    }
    return 0;
}

/* Linear-probe index over (s, t, c, spec) -> entry, rebuilt as the table grows. */
struct avidx {
    uint32_t cap;
    int32_t *slot;
};

static uint32_t key_hash(uint32_t s, uint32_t t, uint32_t c, uint32_t spec)
{
    uint32_t h = (s * 0x9e3779b1u) ^ (t * 0x85ebca6bu) ^ (c * 0xc2b2ae35u) ^ (spec * 0x27d4eb2fu);

    return h ^ (h >> 15);
}

static int idx_rebuild(struct avidx *x, const struct kp_avtab *t, uint32_t cap)
{
    int32_t *slot = malloc(cap * sizeof(*slot));

    if (!slot)
        return -1;
    memset(slot, 0xff, cap * sizeof(*slot));
    for (uint32_t i = 0; i < t->n; i++) {
        const struct kp_avent *e = &t->e[i];
        uint32_t h = key_hash(e->s, e->t, e->c, e->spec) & (cap - 1);

        while (slot[h] >= 0)
            h = (h + 1) & (cap - 1);
        slot[h] = (int32_t)i;
    }
    free(x->slot);
    x->slot = slot;
    x->cap = cap;
    return 0;
}

static int idx_find(struct avidx *x, struct kp_avtab *t, uint16_t s, uint16_t tt, uint16_t c,
                    uint16_t spec, int create, uint32_t init)
{
    if (create && (t->n + 1) * 2 > x->cap &&
        idx_rebuild(x, t, x->cap ? x->cap * 2 : 1024))
        return -1;
    if (!x->cap)
        return -1;
    for (uint32_t h = key_hash(s, tt, c, spec) & (x->cap - 1);; h = (h + 1) & (x->cap - 1)) {
        int32_t i = x->slot[h];

        if (i < 0) {
            if (!create || av_grow(t))
                return -1;
            t->e[t->n] = (struct kp_avent){ s, tt, c, spec, init, 0, 0, 0 };
            x->slot[h] = (int32_t)t->n;
            return (int)t->n++;
        }
        if (t->e[i].s == s && t->e[i].t == tt && t->e[i].c == c && t->e[i].spec == spec)
            return i;
    }
}

struct target {
    struct kp_avtab *tab;
    struct avidx *idx;
    struct kp_avtab *te;       /* the unconditional table */
    struct avidx *ux;
    struct kp_condav *cav;     /* every conditional list, for type-rule conflicts */
    struct avidx *cx;
    uint32_t nlists;
};

/* libsepol's rule for type rules: an existing rule for the key elsewhere (unconditional
 * when this one is conditional, or another conditional list) is an error even with the same
 * result; unconditional duplicates must agree; within one list the last one wins. */
static int type_conflict(struct kp_db *db, const struct kp_rule *r, struct target *tg,
                         uint16_t s, uint16_t t, uint16_t c, uint16_t spec)
{
    int i = idx_find(tg->ux, tg->te, s, t, c, spec, 0, 0);
    uint32_t old = 0;

    if (i >= 0) {
        old = tg->te->e[i].data;
        if (r->cond < 0 && old == r->newtype)
            return 0;
    } else {
        for (uint32_t l = 0; l < tg->nlists && !old; l++) {
            struct kp_avtab *tab = l % 2 ? &tg->cav[l / 2].f : &tg->cav[l / 2].t;

            if (tab == tg->tab)
                continue;
            i = idx_find(&tg->cx[l], tab, s, t, c, spec, 0, 0);
            if (i >= 0)
                old = tab->e[i].data;
        }
        if (!old)
            return 0;
    }
    if (old == r->newtype)
        kp_error(db, r->file, r->line, "duplicate type rule for %s %s:%s %s", db->types[s - 1].name,
                 db->types[t - 1].name, db->classes[c - 1].name, db->types[old - 1].name);
    else
        kp_error(db, r->file, r->line, "conflicting type rule for (%s, %s:%s): old was %s, new is %s",
                 db->types[s - 1].name, db->types[t - 1].name, db->classes[c - 1].name,
                 db->types[old - 1].name, db->types[r->newtype - 1].name);
    return -1;
}

static int apply(struct kp_db *db, const struct kp_rule *r, struct target *tg, uint32_t s,
                 uint32_t t, uint32_t c)
{
    static const uint16_t spec_of[] = { SPEC_ALLOWED, SPEC_AUDITALLOW, SPEC_AUDITDENY, 0,
                                        SPEC_TRANS, SPEC_MEMBER, SPEC_CHANGE };
    uint16_t spec = spec_of[r->kind];
    uint32_t perms = r->kind < R_TRANS ? r->perms[c] : 0;
    int i;

    if (r->kind < R_TRANS && !perms)
        return 0;
    if (r->kind >= R_TRANS &&
        type_conflict(db, r, tg, (uint16_t)(s + 1), (uint16_t)(t + 1), (uint16_t)(c + 1), spec))
        return -1;
    i = idx_find(tg->idx, tg->tab, (uint16_t)(s + 1), (uint16_t)(t + 1), (uint16_t)(c + 1), spec,
                 1, spec == SPEC_AUDITDENY ? 0xffffffffu : 0);
    if (i < 0)
        return -1;
    switch (r->kind) {
    case R_ALLOW:
    case R_AUDITALLOW:
        tg->tab->e[i].data |= perms;
        break;
    case R_DONTAUDIT:
        tg->tab->e[i].data &= ~perms;
        break;
    default:
        tg->tab->e[i].data = r->newtype;
        break;
    }
    return 0;
}

static int expand_rule(struct kp_db *db, const struct kp_rule *r, struct target *tg)
{
    struct kp_bits S, T;
    int rc = 0;
    int type_rule = r->kind >= R_TRANS; /* type rules always name types */

    kp_type_expand(db, &r->src, type_rule || r->self || must_expand(&r->src), &S);
    kp_type_expand(db, &r->tgt, type_rule || must_expand(&r->tgt), &T);
    for (uint32_t s = 0; s < S.nw * 64 && !rc; s++) {
        if (!kp_bits_get(&S, s))
            continue;
        for (uint32_t c = 0; c < db->nclasses && !rc; c++) {
            if (!kp_bits_get(&r->classes, c))
                continue;
            if (r->self)
                rc = apply(db, r, tg, s, s, c);
        }
        for (uint32_t t = 0; t < T.nw * 64 && !rc; t++) {
            if (!kp_bits_get(&T, t))
                continue;
            for (uint32_t c = 0; c < db->nclasses && !rc; c++)
                if (kp_bits_get(&r->classes, c))
                    rc = apply(db, r, tg, s, t, c);
        }
    }
    kp_bits_free(&S);
    kp_bits_free(&T);
    return rc;
}

/* The order in which checkpolicy creates conditional entries: unconditional rules first;
 * then if statements in source order, the rules of one statement last first (its rule list is
 * built by prepending).  Each new entry is prepended to its conditional's list, so a list is
 * written in the reverse of this creation order. */
static const struct kp_db *g_db;

static int create_order(const void *a, const void *b)
{
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    const struct kp_rule *x = &g_db->rules[i], *y = &g_db->rules[j];

    if ((x->cond < 0) != (y->cond < 0))
        return x->cond < 0 ? -1 : 1;
    if (x->cond < 0)
        return i < j ? -1 : 1;
    if (x->block != y->block)
        return x->block < y->block ? -1 : 1;
    return i > j ? -1 : 1;
}

/* libsepol's cond_optimize: type rules move to the front of a list, last one first. */
static void types_first(struct kp_avtab *t)
{
    struct kp_avent *o;
    uint32_t n = 0;

    if (!t->n)
        return;
    o = malloc(t->n * sizeof(*o));
    if (!o)
        return;
    for (uint32_t i = t->n; i-- > 0;)
        if (t->e[i].spec & (SPEC_TRANS | SPEC_MEMBER | SPEC_CHANGE))
            o[n++] = t->e[i];
    for (uint32_t i = 0; i < t->n; i++)
        if (!(t->e[i].spec & (SPEC_TRANS | SPEC_MEMBER | SPEC_CHANGE)))
            o[n++] = t->e[i];
    memcpy(t->e, o, n * sizeof(*o));
    free(o);
}

static void reverse(struct kp_avtab *t)
{
    for (uint32_t a = 0, b = t->n ? t->n - 1 : 0; a < b; a++, b--) {
        struct kp_avent tmp = t->e[a];

        t->e[a] = t->e[b];
        t->e[b] = tmp;
    }
}

int kp_expand(struct kp_db *db, struct kp_avtab *te, struct kp_condav **condav)
{
    uint32_t *ord = malloc((db->nrules ? db->nrules : 1) * sizeof(*ord));
    struct avidx ux = { 0, NULL };
    struct avidx *cx;
    int rc = 0;

    memset(te, 0, sizeof(*te));
    *condav = calloc(db->nconds ? db->nconds : 1, sizeof(**condav));
    cx = calloc(db->nconds ? db->nconds * 2 : 1, sizeof(*cx));
    if (!*condav || !cx || !ord) {
        free(cx);
        free(ord);
        return -1;
    }
    for (uint32_t i = 0; i < db->nrules; i++)
        ord[i] = i;
    g_db = db;
    qsort(ord, db->nrules, sizeof(*ord), create_order);
    for (uint32_t i = 0; i < db->nrules && !rc; i++) {
        const struct kp_rule *r = &db->rules[ord[i]];
        struct target tg = { te, &ux, te, &ux, *condav, cx, db->nconds * 2 };

        if (r->kind == R_NEVERALLOW)
            continue;
        if (r->cond >= 0) {
            tg.tab = r->branch ? &(*condav)[r->cond].t : &(*condav)[r->cond].f;
            tg.idx = &cx[r->cond * 2 + (r->branch ? 0 : 1)];
        }
        rc = expand_rule(db, r, &tg);
    }
    for (uint32_t k = 0; !rc && k < db->nconds; k++) {
        reverse(&(*condav)[k].t);
        reverse(&(*condav)[k].f);
        types_first(&(*condav)[k].t);
        types_first(&(*condav)[k].f);
    }
    free(ux.slot);
    free(ord);
    for (uint32_t i = 0; i < db->nconds * 2; i++)
        free(cx[i].slot);
    free(cx);
    return rc;
}

/* ---- neverallow ---- */

/* The first type of a that is also in b (or in {extra}), or -1. */
static int64_t first_common(const struct kp_bits *a, int a_self, const struct kp_bits *b,
                            int b_self, uint32_t s)
{
    uint32_t n = a->nw > b->nw ? a->nw : b->nw;

    if (a_self && b_self)
        return s;
    if (a_self && kp_bits_get(b, s))
        return s;
    if (b_self && kp_bits_get(a, s))
        return s;
    for (uint32_t w = 0; w < n; w++) {
        uint64_t x = (w < a->nw ? a->w[w] : 0) & (w < b->nw ? b->w[w] : 0);

        if (x)
            return (int64_t)w * 64 + __builtin_ctzll(x);
    }
    return -1;
}

/* Reports the first (source, target, class) where allow rule a grants what neverallow n
 * forbids; returns 1 if it did. */
static int violates(struct kp_db *db, const struct kp_rule *n, const struct kp_bits *ns,
                    const struct kp_bits *nt, const struct kp_rule *a, const struct kp_bits *as,
                    const struct kp_bits *at)
{
    for (uint32_t c = 0; c < db->nclasses && c < 256; c++) {
        uint32_t both = n->perms[c] & a->perms[c];

        if (!both || !kp_bits_get(&n->classes, c) || !kp_bits_get(&a->classes, c))
            continue;
        for (uint32_t w = 0; w < ns->nw && w < as->nw; w++)
            for (uint64_t x = ns->w[w] & as->w[w]; x; x &= x - 1) {
                uint32_t s = w * 64 + (uint32_t)__builtin_ctzll(x);
                int64_t t = first_common(at, a->self, nt, n->self, s);

                if (t < 0)
                    continue;
                kp_error(db, n->file, n->line,
                         "neverallow violated: %s %s:%s is allowed (0x%x) by the allow rule "
                         "at %s:%d",
                         db->types[s].name, db->types[t].name, db->classes[c].name, both,
                         a->file, a->line);
                return 1;
            }
    }
    return 0;
}

int kp_check_neverallow(struct kp_db *db)
{
    struct kp_bits *S, *T;
    int bad = 0;

    S = calloc(db->nrules ? db->nrules : 1, sizeof(*S));
    T = calloc(db->nrules ? db->nrules : 1, sizeof(*T));
    if (!S || !T) {
        free(S);
        free(T);
        return -1;
    }
    for (uint32_t i = 0; i < db->nrules; i++)
        if (db->rules[i].kind == R_ALLOW || db->rules[i].kind == R_NEVERALLOW) {
            kp_type_expand(db, &db->rules[i].src, 1, &S[i]);
            kp_type_expand(db, &db->rules[i].tgt, 1, &T[i]);
        }
    for (uint32_t i = 0; i < db->nrules; i++) {
        if (db->rules[i].kind != R_NEVERALLOW)
            continue;
        for (uint32_t j = 0; j < db->nrules; j++)
            if (db->rules[j].kind == R_ALLOW &&
                violates(db, &db->rules[i], &S[i], &T[i], &db->rules[j], &S[j], &T[j]))
                bad = 1;
    }
    for (uint32_t i = 0; i < db->nrules; i++) {
        kp_bits_free(&S[i]);
        kp_bits_free(&T[i]);
    }
    free(S);
    free(T);
    return bad ? -1 : 0;
}
