/* kp_renumber.c - gives types, roles, users and booleans the values checkpolicy gives them in
 * a kernel policy.  libsepol's expansion copies each symbol table in the order of its hash
 * buckets and numbers the copies as it goes (object_r keeps value 1; classes keep their
 * declared values), so the binary's numbers follow the names' hashes, not the source order. */
#include "kp.h"

#include <stdlib.h>
#include <string.h>

static uint32_t symhash(const char *s, uint32_t size)
{
    uint32_t v = 0;

    for (; *s; s++)
        v = ((v << 4) | (v >> 28)) ^ (uint32_t)(int32_t)(signed char)*s;
    return v & (size - 1);
}

struct rank {
    const char *name;
    uint32_t bucket, old;
};

static int rank_cmp(const void *a, const void *b)
{
    const struct rank *x = a, *y = b;

    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* map[old index] = new index, for names[first..n) in hash order after the fixed ones. */
static uint32_t *new_order(char *const *names, size_t stride, uint32_t n, uint32_t first,
                           uint32_t size)
{
    struct rank *r = calloc(n ? n : 1, sizeof(*r));
    uint32_t *map = calloc(n ? n : 1, sizeof(*map));

    if (!r || !map) {
        free(r);
        free(map);
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        r[i].name = *(char *const *)((const char *)names + i * stride);
        r[i].bucket = symhash(r[i].name, size);
        r[i].old = i;
    }
    qsort(r + first, n - first, sizeof(*r), rank_cmp);
    for (uint32_t i = 0; i < n; i++)
        map[r[i].old] = i;
    free(r);
    return map;
}

static void remap_bits(struct kp_bits *b, const uint32_t *map, uint32_t n)
{
    struct kp_bits o = { 0, NULL };

    for (uint32_t i = 0; i < n; i++)
        if (kp_bits_get(b, i))
            kp_bits_set(&o, map[i]);
    kp_bits_free(b);
    *b = o;
}

static void permute(void *arr, size_t size, uint32_t n, const uint32_t *map)
{
    char *tmp = malloc(size * (n ? n : 1));

    if (!tmp)
        return;
    for (uint32_t i = 0; i < n; i++)
        memcpy(tmp + map[i] * size, (char *)arr + i * size, size);
    memcpy(arr, tmp, size * n);
    free(tmp);
}

static void remap_ctx(struct kp_context *c, const uint32_t *tm, const uint32_t *rm,
                      const uint32_t *um)
{
    if (tm && c->type)
        c->type = tm[c->type - 1] + 1;
    if (rm && c->role)
        c->role = rm[c->role - 1] + 1;
    if (um && c->user)
        c->user = um[c->user - 1] + 1;
}

static void remap_cons(struct kp_db *db, uint32_t attr, const uint32_t *map, uint32_t n)
{
    for (uint32_t c = 0; c < db->nclasses; c++)
        for (uint32_t k = 0; k < db->classes[c].ncons; k++)
            for (uint32_t j = 0; j < db->classes[c].cons[k].nexpr; j++) {
                struct kp_cexpr *e = &db->classes[c].cons[k].expr[j];

                if (e->type != 5 || (e->attr & 7) != attr)
                    continue;
                remap_bits(&e->names, map, n);
                if (attr == 4) {
                    remap_bits(&e->tnames, map, n);
                    remap_bits(&e->tneg, map, n);
                }
            }
}

static int types(struct kp_db *db)
{
    uint32_t n = db->ntypes, *m = new_order(&db->types[0].name, sizeof(db->types[0]), n, 0, 512);

    if (!m)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        remap_bits(&db->types[i].members, m, n);
        remap_bits(&db->types[i].attrs, m, n);
    }
    permute(db->types, sizeof(db->types[0]), n, m);
    for (uint32_t i = 0; i < db->naliases; i++)
        db->alias_vals[i] = m[db->alias_vals[i] - 1] + 1;
    for (uint32_t i = 0; i < db->nroles; i++)
        remap_bits(&db->roles[i].types, m, n);
    for (uint32_t i = 0; i < db->nrules; i++) {
        struct kp_rule *r = &db->rules[i];

        remap_bits(&r->src.pos, m, n);
        remap_bits(&r->src.neg, m, n);
        remap_bits(&r->tgt.pos, m, n);
        remap_bits(&r->tgt.neg, m, n);
        if (r->newtype)
            r->newtype = m[r->newtype - 1] + 1;
    }
    remap_cons(db, 4, m, n);
    for (uint32_t i = 0; i < db->nisids; i++)
        remap_ctx(&db->isids[i].ctx, m, NULL, NULL);
    for (uint32_t i = 0; i < db->nocons; i++)
        remap_ctx(&db->ocons[i].ctx, m, NULL, NULL);
    kp_map_free(&db->type_map);
    for (uint32_t i = 0; i < n; i++)
        kp_map_put(&db->type_map, db->types[i].name, (int32_t)i + 1);
    for (uint32_t i = 0; i < db->naliases; i++)
        kp_map_put(&db->type_map, db->alias_names[i], (int32_t)db->alias_vals[i]);
    free(m);
    return 0;
}

static int roles_users(struct kp_db *db)
{
    uint32_t *rm = new_order(&db->roles[0].name, sizeof(db->roles[0]), db->nroles, 1, 16);
    uint32_t *um = db->nusers ? new_order(&db->users[0].name, sizeof(db->users[0]), db->nusers,
                                          0, 128)
                              : NULL;

    if (!rm || (db->nusers && !um)) {
        free(rm);
        free(um);
        return -1;
    }
    permute(db->roles, sizeof(db->roles[0]), db->nroles, rm);
    for (uint32_t i = 0; i < db->nusers; i++)
        remap_bits(&db->users[i].roles, rm, db->nroles);
    for (uint32_t i = 0; i < db->nroleallows; i++) {
        remap_bits(&db->roleallows[i].from, rm, db->nroles);
        remap_bits(&db->roleallows[i].to, rm, db->nroles);
    }
    if (um)
        permute(db->users, sizeof(db->users[0]), db->nusers, um);
    remap_cons(db, 2, rm, db->nroles);
    if (um)
        remap_cons(db, 1, um, db->nusers);
    for (uint32_t i = 0; i < db->nisids; i++)
        remap_ctx(&db->isids[i].ctx, NULL, rm, um);
    for (uint32_t i = 0; i < db->nocons; i++)
        remap_ctx(&db->ocons[i].ctx, NULL, rm, um);
    kp_map_free(&db->role_map);
    for (uint32_t i = 0; i < db->nroles; i++)
        kp_map_put(&db->role_map, db->roles[i].name, (int32_t)i + 1);
    kp_map_free(&db->user_map);
    for (uint32_t i = 0; i < db->nusers; i++)
        kp_map_put(&db->user_map, db->users[i].name, (int32_t)i + 1);
    free(rm);
    free(um);
    return 0;
}

static int bools(struct kp_db *db)
{
    uint32_t *m;

    if (!db->nbools)
        return 0;
    m = new_order(&db->bools[0].name, sizeof(db->bools[0]), db->nbools, 0, 16);
    if (!m)
        return -1;
    permute(db->bools, sizeof(db->bools[0]), db->nbools, m);
    for (uint32_t c = 0; c < db->nconds; c++)
        for (uint32_t i = 0; i < db->conds[c].nexpr; i++)
            if (db->conds[c].expr[i].type == 1)
                db->conds[c].expr[i].boolv = m[db->conds[c].expr[i].boolv - 1] + 1;
    kp_map_free(&db->bool_map);
    for (uint32_t i = 0; i < db->nbools; i++)
        kp_map_put(&db->bool_map, db->bools[i].name, (int32_t)i + 1);
    free(m);
    return 0;
}

int kp_renumber(struct kp_db *db)
{
    if (!db->ntypes || !db->nroles)
        return 0;
    return types(db) || roles_users(db) || bools(db) ? -1 : 0;
}
