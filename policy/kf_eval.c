/* kf_eval.c - decisions over a loaded policy: the access vector index, conditional states,
 * compute_av (type rules through the type/attribute map, then constraints), type transitions,
 * and the context string form user:role:type. */
#include "kf_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t av_hash(uint32_t s, uint32_t t, uint32_t c)
{
    uint32_t h = s * 0x9e3779b1u ^ (t * 0x85ebca6bu) ^ (c * 0xc2b2ae35u);

    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

int kf_avtab_index(struct kf_policydb *db)
{
    struct kf_avtab *a = &db->te;
    uint32_t slots = 16;

    while (slots < a->n * 2 && slots < (1u << 22))
        slots <<= 1;
    a->mask = slots - 1;
    a->head = malloc(slots * sizeof(*a->head));
    a->next = malloc((a->n ? a->n : 1) * sizeof(*a->next));
    if (!a->head || !a->next)
        return -ENOMEM;
    memset(a->head, 0xff, slots * sizeof(*a->head));
    for (uint32_t i = a->n; i-- > 0;) {
        uint32_t h = av_hash(a->e[i].stype, a->e[i].ttype, a->e[i].tclass) & a->mask;

        a->next[i] = a->head[h];
        a->head[h] = (int32_t)i;
    }
    return 0;
}

void kf_db_eval_conds(struct kf_policydb *db)
{
    int stack[64];

    for (uint32_t i = 0; i < db->nconds; i++) {
        struct kf_cond *k = &db->conds[i];
        int sp = 0, ok = 1;

        for (uint32_t j = 0; j < k->nexpr && ok; j++) {
            const struct kf_cond_term *t = &k->expr[j];

            if (t->type == 1) {
                if (sp == 64) {
                    ok = 0;
                    break;
                }
                stack[sp++] = db->bools[t->boolv - 1].state;
            } else if (t->type == 2) {
                stack[sp - 1] = !stack[sp - 1];
            } else {
                int b = stack[--sp], a = stack[sp - 1];

                stack[sp - 1] = t->type == 3 ? (a || b) : t->type == 4 ? (a && b)
                              : t->type == 5 ? (a != b) : t->type == 6 ? (a == b) : (a != b);
            }
        }
        k->state = ok && sp == 1 ? stack[0] : 0;
    }
}

static int ent_enabled(const struct kf_policydb *db, const struct kf_avent *e)
{
    return e->cond < 0 || db->conds[e->cond].state == e->cond_true;
}

static void av_pair(const struct kf_policydb *db, uint32_t s, uint32_t t, uint16_t tclass,
                    uint32_t *allowed, uint32_t *auditallow, uint32_t *auditdeny)
{
    const struct kf_avtab *a = &db->te;
    int32_t i = a->head[av_hash(s, t, tclass) & a->mask];

    for (; i >= 0; i = a->next[i]) {
        const struct kf_avent *e = &a->e[i];

        if (e->stype != s || e->ttype != t || e->tclass != tclass || !ent_enabled(db, e))
            continue;
        if (e->spec == KF_AVTAB_ALLOWED)
            *allowed |= e->data;
        else if (e->spec == KF_AVTAB_AUDITALLOW)
            *auditallow |= e->data;
        else if (e->spec == KF_AVTAB_AUDITDENY)
            *auditdeny &= e->data;
    }
}

static int cexpr_eval(const struct kf_policydb *db, const struct kf_constraint *k,
                      const struct kf_context *s, const struct kf_context *t)
{
    int stack[64], sp = 0;

    for (uint32_t j = 0; j < k->nexpr; j++) {
        const struct kf_cexpr *e = &k->expr[j];
        uint32_t v1, v2;
        int r;

        if (e->type == 1) {
            stack[sp - 1] = !stack[sp - 1];
            continue;
        }
        if (e->type == 2 || e->type == 3) {
            int b = stack[--sp];

            stack[sp - 1] = e->type == 2 ? (stack[sp - 1] && b) : (stack[sp - 1] || b);
            continue;
        }
        if (sp == 64)
            return 0;
        if (e->type == 4) {
            v1 = e->attr == 1 ? s->user : e->attr == 2 ? s->role : s->type;
            v2 = e->attr == 1 ? t->user : e->attr == 2 ? t->role : t->type;
            r = v1 == v2;
        } else {
            const struct kf_context *c = (e->attr & 8) ? t : s;
            uint32_t a = e->attr & ~8u;

            v1 = a == 1 ? c->user : a == 2 ? c->role : c->type;
            r = kf_bit(&e->names, v1 - 1);
        }
        stack[sp++] = e->op == 1 ? r : !r;
    }
    (void)db;
    return sp == 1 ? stack[0] : 0;
}

void kf_db_compute_av(const struct kf_policydb *db, const struct kf_context *s,
                      const struct kf_context *t, uint16_t tclass, uint32_t *allowed,
                      uint32_t *auditallow, uint32_t *auditdeny)
{
    const struct kf_bits *sm, *tm;
    const struct kf_class *cl;

    *allowed = 0;
    *auditallow = 0;
    *auditdeny = 0xffffffffu;
    if (!tclass || tclass > db->nclasses)
        return;
    sm = &db->type_attr_map[s->type - 1];
    tm = &db->type_attr_map[t->type - 1];
    for (uint32_t wi = 0; wi < sm->nwords; wi++)
        for (uint64_t sw = sm->w[wi]; sw; sw &= sw - 1) {
            uint32_t i = wi * 64 + (uint32_t)__builtin_ctzll(sw);

            for (uint32_t wj = 0; wj < tm->nwords; wj++)
                for (uint64_t tw = tm->w[wj]; tw; tw &= tw - 1)
                    av_pair(db, i + 1, wj * 64 + (uint32_t)__builtin_ctzll(tw) + 1, tclass,
                            allowed, auditallow, auditdeny);
        }
    cl = &db->classes[tclass - 1];
    for (uint32_t k = 0; k < cl->ncons; k++)
        if ((cl->cons[k].perms & *allowed) && !cexpr_eval(db, &cl->cons[k], s, t))
            *allowed &= ~cl->cons[k].perms;
}

int kf_db_compute_type(const struct kf_policydb *db, uint32_t stype, uint32_t ttype,
                       uint16_t tclass, uint32_t *newtype)
{
    const struct kf_bits *sm = &db->type_attr_map[stype - 1];
    const struct kf_bits *tm = &db->type_attr_map[ttype - 1];
    const struct kf_avtab *a = &db->te;

    for (uint32_t i = 0; i < sm->nwords * 64; i++) {
        if (!kf_bit(sm, i))
            continue;
        for (uint32_t j = 0; j < tm->nwords * 64; j++) {
            if (!kf_bit(tm, j))
                continue;
            for (int32_t x = a->head[av_hash(i + 1, j + 1, tclass) & a->mask]; x >= 0;
                 x = a->next[x]) {
                const struct kf_avent *e = &a->e[x];

                if (e->stype == i + 1 && e->ttype == j + 1 && e->tclass == tclass &&
                    e->spec == KF_AVTAB_TRANSITION && ent_enabled(db, e)) {
                    *newtype = e->data;
                    return 0;
                }
            }
        }
    }
    return -ENOENT;
}

int kf_db_context_valid(const struct kf_policydb *db, const struct kf_context *c)
{
    if (!c->user || c->user > db->nusers || !c->role || c->role > db->nroles || !c->type ||
        c->type > db->ntypes || db->types[c->type - 1].attr)
        return 0;
    if (!db->users[c->user - 1].name || !db->roles[c->role - 1].name)
        return 0;
    /* object_r (value 1) labels objects of any type and needs no authorisation */
    if (c->role == 1)
        return 1;
    return kf_bit(&db->users[c->user - 1].roles, c->role - 1) &&
           kf_bit(&db->roles[c->role - 1].types, c->type - 1);
}

int kf_db_parse_context(const struct kf_policydb *db, const char *str, struct kf_context *c)
{
    char buf[1024], *u, *r, *t;

    if (!str || strlen(str) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, str);
    u = buf;
    r = strchr(u, ':');
    if (!r)
        return -EINVAL;
    *r++ = 0;
    t = strchr(r, ':');
    if (!t)
        return -EINVAL;
    *t++ = 0;
    if (strchr(t, ':')) /* an MLS part: this policy has no MLS */
        return -EINVAL;
    if (kf_names_find(&db->user_names, u, &c->user) || kf_names_find(&db->role_names, r, &c->role) ||
        kf_names_find(&db->type_names, t, &c->type))
        return -EINVAL;
    return kf_db_context_valid(db, c) ? 0 : -EINVAL;
}

int kf_db_format_context(const struct kf_policydb *db, const struct kf_context *c, char *buf,
                         size_t len)
{
    int n;

    if (!c->user || c->user > db->nusers || !c->role || c->role > db->nroles || !c->type ||
        c->type > db->ntypes)
        return -EINVAL;
    n = snprintf(buf, len, "%s:%s:%s", db->users[c->user - 1].name, db->roles[c->role - 1].name,
                 db->types[c->type - 1].name);
    if (n < 0)
        return -EINVAL;
    return (size_t)n >= len ? -ERANGE : n;
}
