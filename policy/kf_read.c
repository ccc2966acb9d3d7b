/* kf_read.c - reads a whole Xen-format binary policy: header, symbol tables (kf_read_sym.c),
 * access vector table, conditional rules, role rules, object contexts and the type/attribute
 * map, refusing anything malformed with the offset and the reason. */
#include "kf_read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XEN_TARGET "XenFlask"

static int rd_header(struct kf_cursor *c, struct kf_policydb *db, uint32_t *ocon_num)
{
    uint32_t magic, len, symnum;
    struct kf_bits caps, perm;
    int rc;

    if (kf_cur_u32(c, &magic))
        return -EINVAL;
    if (magic != KF_MAGIC) {
        c->off -= 4;
        return kf_cur_fail(c, "bad magic 0x%08x (want 0x%08x)", magic, KF_MAGIC);
    }
    if (kf_cur_u32(c, &len))
        return -EINVAL;
    if (len != strlen(XEN_TARGET) || c->len - c->off < len ||
        memcmp(c->p + c->off, XEN_TARGET, len))
        return kf_cur_fail(c, "target string is not \"" XEN_TARGET "\" (not a Xen policy)");
    c->off += len;
    if (kf_cur_u32_range(c, &db->version, 24, 30, "policy version") ||
        kf_cur_u32(c, &db->config) || kf_cur_u32_range(c, &symnum, 8, 8, "symbol table count"))
        return -EINVAL;
    if (db->config & KF_CONFIG_MLS)
        return kf_cur_fail(c, "MLS policies are not supported");
    if (db->config & ~6u)
        return kf_cur_fail(c, "unknown config bits 0x%x", db->config);
    if (kf_cur_u32_range(c, ocon_num, db->version >= 30 ? 6 : 5, db->version >= 30 ? 6 : 5,
                         "object context table count"))
        return -EINVAL;
    rc = kf_rd_bits(c, &caps, 64, "policy capabilities");
    free(caps.w);
    if (rc)
        return rc;
    rc = kf_rd_bits(c, &perm, 65535, "permissive types");
    free(perm.w);
    return rc;
}

static int rd_avent(struct kf_cursor *c, struct kf_policydb *db, struct kf_avent *e)
{
    uint16_t spec;

    if (kf_cur_u16(c, &e->stype) || kf_cur_u16(c, &e->ttype) || kf_cur_u16(c, &e->tclass) ||
        kf_cur_u16(c, &spec) || kf_cur_u32(c, &e->data))
        return -EINVAL;
    if (!e->stype || e->stype > db->ntypes || !e->ttype || e->ttype > db->ntypes)
        return kf_cur_fail(c, "access vector rule names type %u/%u beyond %u", e->stype, e->ttype,
                           db->ntypes);
    if (!e->tclass || e->tclass > db->nclasses)
        return kf_cur_fail(c, "access vector rule names class %u beyond %u", e->tclass,
                           db->nclasses);
    e->spec = spec & (uint16_t)~KF_AVTAB_ENABLED;
    switch (e->spec) {
    case KF_AVTAB_ALLOWED:
    case KF_AVTAB_AUDITALLOW:
    case KF_AVTAB_AUDITDENY:
        break;
    case KF_AVTAB_TRANSITION:
    case KF_AVTAB_MEMBER:
    case KF_AVTAB_CHANGE:
        if (!e->data || e->data > db->ntypes || db->types[e->data - 1].attr)
            return kf_cur_fail(c, "type rule result %u is not a type", e->data);
        break;
    default:
        return kf_cur_fail(c, "access vector rule kind 0x%x unsupported", spec);
    }
    e->cond = -1;
    return 0;
}

static int rd_avlist(struct kf_cursor *c, struct kf_policydb *db, uint32_t *cap, int32_t cond,
                     int cond_true)
{
    uint32_t n;
    struct kf_avent *e;

    if (kf_cur_count(c, &n, 12, "access vector rule"))
        return -EINVAL;
    if (n > *cap - db->te.n) {
        uint32_t ncap = db->te.n + n + 16;

        e = realloc(db->te.e, ncap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        db->te.e = e;
        *cap = ncap;
    }
    for (uint32_t i = 0; i < n; i++) {
        e = &db->te.e[db->te.n];
        if (rd_avent(c, db, e))
            return -EINVAL;
        e->cond = cond;
        e->cond_true = cond_true;
        db->te.n++;
    }
    return 0;
}

static int rd_conds(struct kf_cursor *c, struct kf_policydb *db, uint32_t *cap)
{
    uint32_t state;

    if (kf_cur_count(c, &db->nconds, 12, "conditional"))
        return -EINVAL;
    db->conds = calloc(db->nconds ? db->nconds : 1, sizeof(*db->conds));
    if (!db->conds)
        return -ENOMEM;
    for (uint32_t i = 0; i < db->nconds; i++) {
        struct kf_cond *k = &db->conds[i];
        int depth = 0;

        if (kf_cur_u32_range(c, &state, 0, 1, "conditional state") ||
            kf_cur_count(c, &k->nexpr, 8, "conditional expression"))
            return -EINVAL;
        if (!k->nexpr)
            return kf_cur_fail(c, "conditional without expression");
        k->expr = calloc(k->nexpr, sizeof(*k->expr));
        if (!k->expr)
            return -ENOMEM;
        for (uint32_t j = 0; j < k->nexpr; j++) {
            struct kf_cond_term *t = &k->expr[j];

            if (kf_cur_u32_range(c, &t->type, 1, 7, "conditional operator") ||
                kf_cur_u32(c, &t->boolv))
                return -EINVAL;
            if (t->type == 1) {
                if (!t->boolv || t->boolv > db->nbools)
                    return kf_cur_fail(c, "conditional names boolean %u beyond %u", t->boolv,
                                       db->nbools);
                depth++;
            } else if (t->type == 2) {
                if (depth < 1)
                    return kf_cur_fail(c, "conditional 'not' without operand");
            } else {
                if (depth < 2)
                    return kf_cur_fail(c, "conditional operator without two operands");
                depth--;
            }
        }
        if (depth != 1)
            return kf_cur_fail(c, "conditional expression does not reduce to one value");
        if (rd_avlist(c, db, cap, (int32_t)i, 1) || rd_avlist(c, db, cap, (int32_t)i, 0))
            return -EINVAL;
    }
    return 0;
}

static int rd_role_rules(struct kf_cursor *c, struct kf_policydb *db)
{
    uint32_t n, v;

    if (kf_cur_count(c, &n, 12, "role transition"))
        return -EINVAL;
    for (uint32_t i = 0; i < n; i++)
        if (kf_cur_u32_range(c, &v, 1, db->nroles, "role transition role") ||
            kf_cur_u32_range(c, &v, 1, db->ntypes, "role transition type") ||
            kf_cur_u32_range(c, &v, 1, db->nroles, "role transition new role") ||
            (db->version >= 26 &&
             kf_cur_u32_range(c, &v, 1, db->nclasses, "role transition class")))
            return -EINVAL;
    if (kf_cur_count(c, &n, 8, "role allow"))
        return -EINVAL;
    for (uint32_t i = 0; i < n; i++)
        if (kf_cur_u32_range(c, &v, 1, db->nroles, "role allow role") ||
            kf_cur_u32_range(c, &v, 1, db->nroles, "role allow new role"))
            return -EINVAL;
    if (db->version < 25)
        return 0;
    if (kf_cur_count(c, &n, 20, "filename transition"))
        return -EINVAL;
    if (n)
        return kf_cur_fail(c, "filename transitions are not used by Xen policies");
    return 0;
}

static int rd_ocon_one(struct kf_cursor *c, struct kf_policydb *db, uint32_t kind, uint32_t i)
{
    struct kf_context ctx;
    uint32_t a, b, len;
    uint64_t x, y;
    char *name;

    switch (kind) {
    case 0:
        if (kf_cur_u32_range(c, &a, 1, KF_MAX_ISID, "initial SID number"))
            return -EINVAL;
        for (uint32_t k = 0; k < i; k++)
            if (db->isids[k].sid == a)
                return kf_cur_fail(c, "initial SID %u given twice", a);
        db->isids[i].sid = a;
        return kf_rd_context(c, db, &db->isids[i].ctx);
    case 1:
    case 4:
        if (kf_cur_u32(c, &a))
            return -EINVAL;
        break;
    case 2:
        if (kf_cur_u32(c, &a) || kf_cur_u32(c, &b))
            return -EINVAL;
        if (a > b)
            return kf_cur_fail(c, "I/O port range %u-%u reversed", a, b);
        break;
    case 3:
        if (db->version >= 30) {
            if (kf_cur_u64(c, &x) || kf_cur_u64(c, &y))
                return -EINVAL;
        } else {
            if (kf_cur_u32(c, &a) || kf_cur_u32(c, &b))
                return -EINVAL;
            x = a;
            y = b;
        }
        if (x > y)
            return kf_cur_fail(c, "I/O memory range reversed");
        break;
    default:
        if (kf_cur_u32(c, &len) || kf_cur_str(c, len, 4096, &name, "device tree path"))
            return -EINVAL;
        free(name);
        break;
    }
    return kf_rd_context(c, db, &ctx);
}

static int rd_ocontexts(struct kf_cursor *c, struct kf_policydb *db, uint32_t ocon_num)
{
    uint32_t n;

    for (uint32_t k = 0; k < ocon_num; k++) {
        if (kf_cur_count(c, &n, 16, "object context"))
            return -EINVAL;
        db->nocons[k] = n;
        if (k == 0) {
            db->nisids = n;
            db->isids = calloc(n ? n : 1, sizeof(*db->isids));
            if (!db->isids)
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < n; i++)
            if (rd_ocon_one(c, db, k, i))
                return -EINVAL;
    }
    return 0;
}

/* Each decision visits (attributes of source) x (attributes of target) pairs: bound them. */
#define KF_MAX_TYPE_ATTRS 256

static uint32_t popcount_bits(const struct kf_bits *b)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < b->nwords; i++)
        n += (uint32_t)__builtin_popcountll(b->w[i]);
    return n;
}

static int rd_tail(struct kf_cursor *c, struct kf_policydb *db)
{
    uint32_t n;

    if (kf_cur_count(c, &n, 8, "genfs"))
        return -EINVAL;
    if (n)
        return kf_cur_fail(c, "genfs contexts are not used by Xen policies");
    if (kf_cur_count(c, &n, 12, "range transition"))
        return -EINVAL;
    if (n)
        return kf_cur_fail(c, "range transitions in a policy without MLS");
    db->type_attr_map = calloc(db->ntypes ? db->ntypes : 1, sizeof(*db->type_attr_map));
    if (!db->type_attr_map)
        return -ENOMEM;
    for (uint32_t i = 0; i < db->ntypes; i++) {
        if (kf_rd_bits(c, &db->type_attr_map[i], db->ntypes, "type attribute map"))
            return -EINVAL;
        if (!db->types[i].attr && !kf_bit(&db->type_attr_map[i], i))
            return kf_cur_fail(c, "type %s missing from its own attribute map", db->types[i].name);
        if (popcount_bits(&db->type_attr_map[i]) > KF_MAX_TYPE_ATTRS)
            return kf_cur_fail(c, "type %s has more than %d attributes", db->types[i].name,
                               KF_MAX_TYPE_ATTRS);
    }
    if (c->off != c->len)
        return kf_cur_fail(c, "%zu bytes of trailing data", c->len - c->off);
    return 0;
}

int kf_db_read(struct kf_policydb **out, const uint8_t *img, size_t len, char *err, size_t errlen)
{
    struct kf_cursor c = { .p = img, .len = len, .err = err, .errlen = errlen };
    struct kf_policydb *db = calloc(1, sizeof(*db));
    uint32_t ocon_num = 0, cap = 0;
    int rc;

    if (!db)
        return -ENOMEM;
    if (err && errlen)
        err[0] = 0;
    rc = rd_header(&c, db, &ocon_num);
    if (!rc)
        rc = kf_rd_symtabs(&c, db);
    if (!rc)
        rc = rd_avlist(&c, db, &cap, -1, 0);
    if (!rc)
        rc = rd_conds(&c, db, &cap);
    if (!rc)
        rc = rd_role_rules(&c, db);
    if (!rc)
        rc = rd_ocontexts(&c, db, ocon_num);
    if (!rc)
        rc = rd_tail(&c, db);
    if (!rc)
        rc = kf_avtab_index(db);
    if (!rc && !c.failed)
        kf_db_eval_conds(db);
    if (rc == -ENOMEM && err && errlen && !c.failed)
        kf_cur_fail(&c, "out of memory");
    if (rc || c.failed) {
        kf_db_free(db);
        return rc ? rc : -EINVAL;
    }
    *out = db;
    return 0;
}
