/* kf_read_sym.c - reads the symbol tables of a binary policy (commons, classes, roles, types,
 * users, booleans) and the bitmaps, constraints and contexts they contain.  Every length,
 * count and index is checked against the image and the tables read so far. */
#include "kf_read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 1024
#define MAX_BITS (1u << 17)

int kf_rd_bits(struct kf_cursor *c, struct kf_bits *b, uint32_t limit, const char *what)
{
    uint32_t mapsize, highbit, count, start, prev_end = 0;
    uint64_t map;

    memset(b, 0, sizeof(*b));
    if (kf_cur_u32(c, &mapsize) || kf_cur_u32(c, &highbit) || kf_cur_count(c, &count, 12, what))
        return -EINVAL;
    if (mapsize != 64)
        return kf_cur_fail(c, "%s bitmap unit %u is not 64", what, mapsize);
    if (highbit % 64 || highbit > MAX_BITS)
        return kf_cur_fail(c, "%s bitmap high bit %u invalid", what, highbit);
    if (count > highbit / 64)
        return kf_cur_fail(c, "%s bitmap has %u nodes for high bit %u", what, count, highbit);
    b->nwords = highbit / 64;
    if (b->nwords) {
        b->w = calloc(b->nwords, sizeof(uint64_t));
        if (!b->w)
            return -ENOMEM;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (kf_cur_u32(c, &start) || kf_cur_u64(c, &map))
            return -EINVAL;
        if (start % 64 || start >= highbit || start < prev_end)
            return kf_cur_fail(c, "%s bitmap node start %u invalid", what, start);
        if (!map)
            return kf_cur_fail(c, "%s bitmap node %u is empty", what, start);
        prev_end = start + 64;
        b->w[start / 64] = map;
    }
    if (count && prev_end != highbit)
        return kf_cur_fail(c, "%s bitmap high bit %u does not end its last node", what, highbit);
    /* Every set bit i stands for value i + 1, which must be <= limit. */
    for (uint32_t i = limit; i < b->nwords * 64; i++)
        if (kf_bit(b, i))
            return kf_cur_fail(c, "%s bitmap names value %u beyond %u", what, i + 1, limit);
    return 0;
}

/* MLS range (version >= 19): must be level 0 with no categories in a non-MLS policy. */
static int rd_empty_level(struct kf_cursor *c, const char *what)
{
    struct kf_bits b;
    int rc = kf_rd_bits(c, &b, 0, what);

    free(b.w);
    return rc;
}

int kf_rd_mls_range(struct kf_cursor *c, const char *what)
{
    uint32_t n, sens;

    if (kf_cur_u32_range(c, &n, 1, 2, "MLS range level count"))
        return -EINVAL;
    for (uint32_t i = 0; i < n; i++)
        if (kf_cur_u32_range(c, &sens, 0, 0, "sensitivity in a non-MLS policy"))
            return -EINVAL;
    for (uint32_t i = 0; i < n; i++)
        if (rd_empty_level(c, what))
            return -EINVAL;
    return 0;
}

int kf_rd_context(struct kf_cursor *c, const struct kf_policydb *db, struct kf_context *ctx)
{
    if (kf_cur_u32_range(c, &ctx->user, 1, db->nusers, "context user") ||
        kf_cur_u32_range(c, &ctx->role, 1, db->nroles, "context role") ||
        kf_cur_u32_range(c, &ctx->type, 1, db->ntypes, "context type"))
        return -EINVAL;
    if (!db->users[ctx->user - 1].name || !db->roles[ctx->role - 1].name ||
        db->types[ctx->type - 1].attr)
        return kf_cur_fail(c, "context names an undefined user/role or an attribute");
    if (db->version >= 19)
        return kf_rd_mls_range(c, "context range");
    return 0;
}

static int rd_name_hdr(struct kf_cursor *c, uint32_t *len)
{
    return kf_cur_u32_range(c, len, 1, MAX_NAME, "name length");
}

static int rd_perms(struct kf_cursor *c, uint32_t nel, uint32_t lo, uint32_t nprim, char **perms,
                    const char *what)
{
    uint32_t len, val;
    char *name;

    for (uint32_t i = 0; i < nel; i++) {
        if (rd_name_hdr(c, &len) || kf_cur_u32_range(c, &val, lo, nprim, "permission value") ||
            kf_cur_str(c, len, MAX_NAME, &name, what))
            return -EINVAL;
        if (perms[val - 1]) {
            free(name);
            return kf_cur_fail(c, "%s permission value %u defined twice", what, val);
        }
        perms[val - 1] = name;
    }
    return 0;
}

static int rd_common(struct kf_cursor *c, struct kf_policydb *db, uint32_t nprim)
{
    uint32_t len, val, pprim, pnel;
    struct kf_common *cm;
    char *name;

    if (rd_name_hdr(c, &len) || kf_cur_u32_range(c, &val, 1, nprim, "common value") ||
        kf_cur_u32_range(c, &pprim, 0, KF_MAX_PERMS, "common permission count") ||
        kf_cur_u32_range(c, &pnel, 0, pprim, "common permission entries"))
        return -EINVAL;
    if (kf_cur_str(c, len, MAX_NAME, &name, "common"))
        return -EINVAL;
    cm = &db->commons[val - 1];
    if (cm->name) {
        free(name);
        return kf_cur_fail(c, "common value %u defined twice", val);
    }
    cm->name = name;
    cm->nperms = pprim;
    return rd_perms(c, pnel, 1, pprim, cm->perms, "common");
}

static int rd_constraints(struct kf_cursor *c, const struct kf_policydb *db, uint32_t n,
                          struct kf_constraint *cons, uint32_t nperms)
{
    for (uint32_t i = 0; i < n; i++) {
        struct kf_constraint *k = &cons[i];
        uint32_t depth = 0;

        if (kf_cur_u32(c, &k->perms) || kf_cur_count(c, &k->nexpr, 12, "constraint expression"))
            return -EINVAL;
        if (!k->perms || (nperms < 32 && (k->perms >> nperms)))
            return kf_cur_fail(c, "constraint permission mask 0x%x invalid", k->perms);
        if (!k->nexpr)
            return kf_cur_fail(c, "constraint without expression");
        k->expr = calloc(k->nexpr, sizeof(*k->expr));
        if (!k->expr)
            return -ENOMEM;
        for (uint32_t j = 0; j < k->nexpr; j++) {
            struct kf_cexpr *e = &k->expr[j];

            if (kf_cur_u32_range(c, &e->type, 1, 5, "constraint expression type") ||
                kf_cur_u32(c, &e->attr) || kf_cur_u32_range(c, &e->op, 0, 5, "constraint op"))
                return -EINVAL;
            if (e->type == 1) { /* not */
                if (depth < 1)
                    return kf_cur_fail(c, "constraint 'not' without operand");
            } else if (e->type == 2 || e->type == 3) { /* and / or */
                if (depth < 2)
                    return kf_cur_fail(c, "constraint and/or without two operands");
                depth--;
            } else {
                depth++;
            }
            if (e->type == 4) { /* attr: u1 op u2, r1 op r2, t1 op t2 */
                if (e->attr != 1 && e->attr != 2 && e->attr != 4)
                    return kf_cur_fail(c, "constraint attribute 0x%x unsupported", e->attr);
            }
            if (e->type == 5) { /* names */
                uint32_t a = e->attr & ~8u, limit;

                limit = (a == 1) ? db->nusers : (a == 2) ? db->nroles : db->ntypes;
                if ((e->attr & 8) && a != 4 && a != 1 && a != 2)
                    return kf_cur_fail(c, "constraint names attribute 0x%x", e->attr);
                if (a != 1 && a != 2 && a != 4)
                    return kf_cur_fail(c, "constraint names attribute 0x%x unsupported", e->attr);
                if (kf_rd_bits(c, &e->names, limit, "constraint names"))
                    return -EINVAL;
                if (db->version >= 29) { /* type_names set: types, negset, flags */
                    struct kf_bits t1, t2;
                    uint32_t fl;
                    int rc = kf_rd_bits(c, &t1, db->ntypes, "constraint type set");

                    free(t1.w);
                    if (rc)
                        return rc;
                    rc = kf_rd_bits(c, &t2, db->ntypes, "constraint negated type set");
                    free(t2.w);
                    if (rc || kf_cur_u32(c, &fl))
                        return -EINVAL;
                }
            }
            if (e->type >= 4 && (e->op < 1 || e->op > 2))
                return kf_cur_fail(c, "constraint operator %u invalid here", e->op);
        }
        if (depth != 1)
            return kf_cur_fail(c, "constraint expression does not reduce to one value");
    }
    return 0;
}

static int rd_class_tail(struct kf_cursor *c, struct kf_policydb *db, struct kf_class *cl,
                         uint32_t ncons)
{
    uint32_t nvt, dflt[4];

    if (ncons) {
        cl->cons = calloc(ncons, sizeof(*cl->cons));
        if (!cl->cons)
            return -ENOMEM;
    }
    cl->ncons = ncons;
    if (rd_constraints(c, db, ncons, cl->cons, cl->nperms))
        return -EINVAL;
    if (kf_cur_count(c, &nvt, 8, "validatetrans"))
        return -EINVAL;
    if (nvt)
        return kf_cur_fail(c, "validatetrans constraints are not used by Xen policies");
    if (db->version >= 27 && (kf_cur_u32_range(c, &dflt[0], 0, 2, "default_user") ||
                              kf_cur_u32_range(c, &dflt[1], 0, 2, "default_role") ||
                              kf_cur_u32_range(c, &dflt[2], 0, 7, "default_range")))
        return -EINVAL;
    if (db->version >= 28 && kf_cur_u32_range(c, &dflt[3], 0, 2, "default_type"))
        return -EINVAL;
    return 0;
}

static int rd_class(struct kf_cursor *c, struct kf_policydb *db, uint32_t nprim)
{
    uint32_t len, len2, val, pprim, pnel, ncons, base = 0;
    struct kf_class *cl;
    char *name, *com = NULL;
    uint32_t cv;

    if (rd_name_hdr(c, &len) || kf_cur_u32_range(c, &len2, 0, MAX_NAME, "common name length") ||
        kf_cur_u32_range(c, &val, 1, nprim, "class value") ||
        kf_cur_u32_range(c, &pprim, 0, KF_MAX_PERMS, "class permission count") ||
        kf_cur_u32_range(c, &pnel, 0, pprim, "class permission entries") ||
        kf_cur_count(c, &ncons, 8, "constraint"))
        return -EINVAL;
    if (kf_cur_str(c, len, MAX_NAME, &name, "class"))
        return -EINVAL;
    cl = &db->classes[val - 1];
    if (cl->name) {
        free(name);
        return kf_cur_fail(c, "class value %u defined twice", val);
    }
    cl->name = name;
    cl->nperms = pprim;
    if (len2) {
        if (kf_cur_str(c, len2, MAX_NAME, &com, "inherited common"))
            return -EINVAL;
        for (cv = 0; cv < db->ncommons; cv++)
            if (db->commons[cv].name && !strcmp(db->commons[cv].name, com))
                break;
        free(com);
        if (cv == db->ncommons)
            return kf_cur_fail(c, "class %s inherits an undefined common", name);
        cl->common = &db->commons[cv];
        base = cl->common->nperms;
        if (base > pprim)
            return kf_cur_fail(c, "class %s has fewer permissions than its common", name);
        for (uint32_t i = 0; i < base; i++) {
            if (!cl->common->perms[i])
                return kf_cur_fail(c, "common %s has a gap in its permissions", cl->common->name);
            cl->perms[i] = strdup(cl->common->perms[i]);
            if (!cl->perms[i])
                return -ENOMEM;
        }
    }
    if (rd_perms(c, pnel, base + 1, pprim, cl->perms, "class"))
        return -EINVAL;
    return rd_class_tail(c, db, cl, ncons);
}

static int rd_role(struct kf_cursor *c, struct kf_policydb *db, uint32_t nprim)
{
    uint32_t len, val, bounds;
    struct kf_bits dom;
    char *name;
    struct kf_role *r;

    if (rd_name_hdr(c, &len) || kf_cur_u32_range(c, &val, 1, nprim, "role value") ||
        kf_cur_u32_range(c, &bounds, 0, nprim, "role bounds") ||
        kf_cur_str(c, len, MAX_NAME, &name, "role"))
        return -EINVAL;
    r = &db->roles[val - 1];
    if (r->name) {
        free(name);
        return kf_cur_fail(c, "role value %u defined twice", val);
    }
    r->name = name;
    if (kf_rd_bits(c, &dom, nprim, "role dominates")) {
        free(dom.w);
        return -EINVAL;
    }
    free(dom.w);
    return kf_rd_bits(c, &r->types, MAX_BITS, "role types");
}

static int rd_type(struct kf_cursor *c, struct kf_policydb *db, uint32_t nprim, uint32_t idx,
                   struct kf_name *alias)
{
    uint32_t len, val, props, bounds;
    char *name;
    struct kf_type *t;

    if (rd_name_hdr(c, &len) || kf_cur_u32_range(c, &val, 1, nprim, "type value") ||
        kf_cur_u32_range(c, &props, 0, 3, "type properties") ||
        kf_cur_u32_range(c, &bounds, 0, nprim, "type bounds") ||
        kf_cur_str(c, len, MAX_NAME, &name, "type"))
        return -EINVAL;
    (void)idx;
    if (!(props & 1)) { /* alias: resolved once all primaries are known */
        alias->name = name;
        alias->value = val;
        return 1;
    }
    t = &db->types[val - 1];
    if (t->name) {
        free(name);
        return kf_cur_fail(c, "type value %u defined twice", val);
    }
    t->name = name;
    t->attr = (props & 2) != 0;
    return 0;
}

static int rd_user(struct kf_cursor *c, struct kf_policydb *db, uint32_t nprim)
{
    uint32_t len, val, bounds, sens;
    char *name;
    struct kf_user *u;
    struct kf_bits lvl;

    if (rd_name_hdr(c, &len) || kf_cur_u32_range(c, &val, 1, nprim, "user value") ||
        kf_cur_u32_range(c, &bounds, 0, nprim, "user bounds") ||
        kf_cur_str(c, len, MAX_NAME, &name, "user"))
        return -EINVAL;
    u = &db->users[val - 1];
    if (u->name) {
        free(name);
        return kf_cur_fail(c, "user value %u defined twice", val);
    }
    u->name = name;
    if (kf_rd_bits(c, &u->roles, db->nroles, "user roles"))
        return -EINVAL;
    if (db->version >= 19) {
        if (kf_rd_mls_range(c, "user range") ||
            kf_cur_u32_range(c, &sens, 0, 0, "user default sensitivity"))
            return -EINVAL;
        if (kf_rd_bits(c, &lvl, 0, "user default level")) {
            free(lvl.w);
            return -EINVAL;
        }
        free(lvl.w);
    }
    return 0;
}

static int rd_bool(struct kf_cursor *c, struct kf_policydb *db, uint32_t nprim)
{
    uint32_t len, val, state;
    char *name;
    struct kf_bool *b;

    if (kf_cur_u32_range(c, &val, 1, nprim, "boolean value") ||
        kf_cur_u32_range(c, &state, 0, 1, "boolean state") || rd_name_hdr(c, &len) ||
        kf_cur_str(c, len, MAX_NAME, &name, "boolean"))
        return -EINVAL;
    b = &db->bools[val - 1];
    if (b->name) {
        free(name);
        return kf_cur_fail(c, "boolean value %u defined twice", val);
    }
    b->name = name;
    b->state = b->pending = (int)state;
    return 0;
}

static int names_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_name *)a)->name, ((const struct kf_name *)b)->name);
}

/* Builds the sorted name index of a table whose names sit at stride bytes apart. */
static int build_names(struct kf_cursor *c, struct kf_names *n, const void *base, size_t stride,
                       uint32_t count, const struct kf_name *extra, uint32_t nextra,
                       const char *what)
{
    n->v = calloc((size_t)count + nextra + 1, sizeof(*n->v));
    if (!n->v)
        return -ENOMEM;
    for (uint32_t i = 0; i < count; i++) {
        const char *name = *(char *const *)((const char *)base + i * stride);

        if (name) {
            n->v[n->n].name = name;
            n->v[n->n++].value = i + 1;
        }
    }
    for (uint32_t i = 0; i < nextra; i++)
        n->v[n->n++] = extra[i];
    qsort(n->v, n->n, sizeof(*n->v), names_cmp);
    for (uint32_t i = 1; i < n->n; i++)
        if (!strcmp(n->v[i].name, n->v[i - 1].name))
            return kf_cur_fail(c, "%s name %s defined twice", what, n->v[i].name);
    return 0;
}

static int rd_types(struct kf_cursor *c, struct kf_policydb *db, uint32_t nprim, uint32_t nel,
                    struct kf_name **aliases, uint32_t *nalias)
{
    int rc;

    *aliases = calloc(nel + 1, sizeof(**aliases));
    if (!*aliases)
        return -ENOMEM;
    for (uint32_t i = 0; i < nel; i++) {
        rc = rd_type(c, db, nprim, i, &(*aliases)[*nalias]);
        if (rc < 0)
            return rc;
        if (rc == 1)
            (*nalias)++;
    }
    for (uint32_t i = 0; i < nprim; i++)
        if (!db->types[i].name)
            return kf_cur_fail(c, "type value %u has no primary name", i + 1);
    return 0;
}

static int alloc_table(struct kf_cursor *c, void **tab, size_t size, uint32_t nprim, uint32_t nel,
                       const char *what)
{
    if (nprim > 65535)
        return kf_cur_fail(c, "%s count %u exceeds 65535", what, nprim);
    if (nel > (c->len - c->off) / 8)
        return kf_cur_fail(c, "%s entry count %u larger than the image can hold", what, nel);
    *tab = calloc(nprim ? nprim : 1, size);
    return *tab ? 0 : -ENOMEM;
}

int kf_rd_symtabs(struct kf_cursor *c, struct kf_policydb *db)
{
    uint32_t nprim, nel, nalias = 0;
    struct kf_name *aliases = NULL;
    int rc = -EINVAL;

    /* commons */
    if (kf_cur_u32(c, &nprim) || kf_cur_u32(c, &nel) ||
        alloc_table(c, (void **)&db->commons, sizeof(*db->commons), nprim, nel, "common"))
        goto out;
    db->ncommons = nprim;
    for (uint32_t i = 0; i < nel; i++)
        if (rd_common(c, db, nprim))
            goto out;
    /* classes */
    if (kf_cur_u32(c, &nprim) || kf_cur_u32(c, &nel) ||
        alloc_table(c, (void **)&db->classes, sizeof(*db->classes), nprim, nel, "class"))
        goto out;
    db->nclasses = nprim;
    /* roles, types and users are needed by constraints: read classes after sizing them is not
     * possible in this format, so constraints are checked against the limits known later. */
    db->nusers = db->nroles = db->ntypes = 65535;
    for (uint32_t i = 0; i < nel; i++)
        if (rd_class(c, db, nprim))
            goto out;
    for (uint32_t i = 0; i < db->nclasses; i++)
        if (!db->classes[i].name) {
            kf_cur_fail(c, "class value %u undefined", i + 1);
            goto out;
        }
    /* roles */
    if (kf_cur_u32(c, &nprim) || kf_cur_u32(c, &nel) ||
        alloc_table(c, (void **)&db->roles, sizeof(*db->roles), nprim, nel, "role"))
        goto out;
    db->nroles = nprim;
    for (uint32_t i = 0; i < nel; i++)
        if (rd_role(c, db, nprim))
            goto out;
    /* types */
    if (kf_cur_u32(c, &nprim) || kf_cur_u32(c, &nel) ||
        alloc_table(c, (void **)&db->types, sizeof(*db->types), nprim, nel, "type"))
        goto out;
    db->ntypes = nprim;
    if (rd_types(c, db, nprim, nel, &aliases, &nalias))
        goto out;
    for (uint32_t i = 0; i < db->nroles; i++)
        for (uint32_t b = db->ntypes; b < db->roles[i].types.nwords * 64; b++)
            if (kf_bit(&db->roles[i].types, b)) {
                kf_cur_fail(c, "role %s names type value %u beyond %u", db->roles[i].name, b + 1,
                            db->ntypes);
                goto out;
            }
    /* users */
    if (kf_cur_u32(c, &nprim) || kf_cur_u32(c, &nel) ||
        alloc_table(c, (void **)&db->users, sizeof(*db->users), nprim, nel, "user"))
        goto out;
    db->nusers = nprim;
    for (uint32_t i = 0; i < nel; i++)
        if (rd_user(c, db, nprim))
            goto out;
    /* booleans */
    if (kf_cur_u32(c, &nprim) || kf_cur_u32(c, &nel) ||
        alloc_table(c, (void **)&db->bools, sizeof(*db->bools), nprim, nel, "boolean"))
        goto out;
    db->nbools = nprim;
    for (uint32_t i = 0; i < nel; i++)
        if (rd_bool(c, db, nprim))
            goto out;
    for (uint32_t i = 0; i < db->nbools; i++)
        if (!db->bools[i].name) {
            kf_cur_fail(c, "boolean value %u undefined", i + 1);
            goto out;
        }
    /* sensitivities and categories: must be empty in a non-MLS policy */
    for (int k = 0; k < 2; k++) {
        if (kf_cur_u32(c, &nprim) || kf_cur_u32(c, &nel))
            goto out;
        if (nprim || nel) {
            kf_cur_fail(c, "MLS symbols in a policy without MLS");
            goto out;
        }
    }
    if (build_names(c, &db->class_names, db->classes, sizeof(*db->classes), db->nclasses, NULL, 0,
                    "class") ||
        build_names(c, &db->role_names, db->roles, sizeof(*db->roles), db->nroles, NULL, 0,
                    "role") ||
        build_names(c, &db->type_names, db->types, sizeof(*db->types), db->ntypes, aliases,
                    nalias, "type") ||
        build_names(c, &db->user_names, db->users, sizeof(*db->users), db->nusers, NULL, 0,
                    "user") ||
        build_names(c, &db->bool_names, db->bools, sizeof(*db->bools), db->nbools, NULL, 0,
                    "boolean"))
        goto out;
    rc = 0;
out:
    /* once the type index exists it owns the alias names (freed by kf_db_free) */
    for (uint32_t i = 0; !db->type_names.v && i < nalias; i++)
        free((char *)aliases[i].name);
    free(aliases);
    return rc;
}
