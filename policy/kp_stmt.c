/* kp_stmt.c - declarations of the policy language: classes, initial SIDs, commons, access
 * vectors, attributes, types, aliases, type attributes, booleans, roles, users, object
 * contexts; and the dispatch of each statement to its handler. */
#include "kp_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define P_ERR(p, ...) kp_error((p)->db, (p)->lx.tfile, (p)->lx.tline, __VA_ARGS__)
#define NAMELEN 256

static int grow(void **arr, uint32_t n, size_t size)
{
    if (n == 0 || (n & (n - 1)) == 0) {
        void *a = realloc(*arr, (n ? n * 2 : 1) * size);

        if (!a)
            return -1;
        *arr = a;
    }
    return 0;
}

static int end_stmt(struct kp_parser *p)
{
    return kp_expect(p, T_SEMI, "';'");
}

/* perms { a b c } into names[], counting from *n */
static int perm_list(struct kp_parser *p, char **names, uint32_t *n, const char *owner)
{
    if (kp_expect(p, T_LBRACE, "'{'"))
        return -1;
    while (p->lx.tok == T_ID) {
        for (uint32_t i = 0; i < *n; i++)
            if (!strcmp(names[i], p->lx.text)) {
                P_ERR(p, "permission %s given twice for %s", p->lx.text, owner);
                return -1;
            }
        if (*n == KP_MAXPERM) {
            P_ERR(p, "%s has more than %d permissions", owner, KP_MAXPERM);
            return -1;
        }
        names[(*n)++] = strdup(p->lx.text);
        kp_next(p);
    }
    return kp_expect(p, T_RBRACE, "'}'");
}

static int st_common(struct kp_parser *p)
{
    char name[NAMELEN];
    struct kp_common *c;
    struct kp_db *db = p->db;

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "a common name"))
        return -1;
    if (p->pass == 2) {
        kp_sync(p);
        return 0;
    }
    if (kp_map_get(&db->common_map, name) >= 0) {
        P_ERR(p, "duplicate declaration of common %s", name);
        return -1;
    }
    if (grow((void **)&db->commons, db->ncommons, sizeof(*db->commons)))
        return -1;
    c = &db->commons[db->ncommons];
    memset(c, 0, sizeof(*c));
    c->name = strdup(name);
    kp_map_put(&db->common_map, c->name, (int32_t)db->ncommons++);
    return perm_list(p, c->perms, &c->nperms, name);
}

static int class_av(struct kp_parser *p, const char *name)
{
    struct kp_db *db = p->db;
    int32_t ci = kp_map_get(&db->class_map, name);
    struct kp_class *c;

    if (ci < 0) {
        P_ERR(p, "class %s has an access vector but was not declared", name);
        return -1;
    }
    c = &db->classes[ci - 1];
    if (c->defined) {
        P_ERR(p, "duplicate access vector definition for class %s", name);
        return -1;
    }
    c->defined = 1;
    if (kp_is(p, "inherits")) {
        char com[NAMELEN];
        int32_t k;

        kp_next(p);
        if (kp_expect_id(p, com, sizeof(com), "a common name"))
            return -1;
        k = kp_map_get(&db->common_map, com);
        if (k < 0) {
            P_ERR(p, "class %s inherits undefined common %s", name, com);
            return -1;
        }
        c->common = k;
        for (uint32_t i = 0; i < db->commons[k].nperms; i++)
            c->perms[c->nperms++] = strdup(db->commons[k].perms[i]);
        if (p->lx.tok != T_LBRACE)
            return 0;
    }
    return perm_list(p, c->perms, &c->nperms, name);
}

static int st_class(struct kp_parser *p)
{
    char name[NAMELEN];
    struct kp_db *db = p->db;
    struct kp_class *c;

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "a class name"))
        return -1;
    if (p->lx.tok == T_LBRACE || kp_is(p, "inherits")) {
        if (p->pass == 2) {
            if (kp_is(p, "inherits")) {
                kp_next(p);
                kp_next(p);
            }
            if (p->lx.tok == T_LBRACE)
                while (p->lx.tok != T_RBRACE && p->lx.tok != T_EOF)
                    kp_next(p);
            kp_next(p);
            return 0;
        }
        return class_av(p, name);
    }
    if (p->pass == 2)
        return 0;
    if (kp_map_get(&db->class_map, name) >= 0) {
        P_ERR(p, "duplicate declaration of class %s", name);
        return -1;
    }
    if (grow((void **)&db->classes, db->nclasses, sizeof(*db->classes)))
        return -1;
    c = &db->classes[db->nclasses];
    memset(c, 0, sizeof(*c));
    c->common = -1;
    c->name = strdup(name);
    kp_map_put(&db->class_map, c->name, (int32_t)++db->nclasses);
    return 0;
}

int kp_context(struct kp_parser *p, struct kp_context *ctx)
{
    char u[NAMELEN], r[NAMELEN], t[NAMELEN], file[256];
    int32_t vu, vr, vt;
    int line = p->lx.tline;

    snprintf(file, sizeof(file), "%s", p->lx.tfile);

    if (kp_expect_id(p, u, sizeof(u), "a user") || kp_expect(p, T_COLON, "':'") ||
        kp_expect_id(p, r, sizeof(r), "a role") || kp_expect(p, T_COLON, "':'") ||
        kp_expect_id(p, t, sizeof(t), "a type"))
        return -1;
    if (p->lx.tok == T_COLON) {
        P_ERR(p, "MLS levels in contexts are not supported (the policy has no MLS)");
        return -1;
    }
    if (p->pass == 1)
        return 0;
    vu = kp_map_get(&p->db->user_map, u);
    vr = kp_map_get(&p->db->role_map, r);
    vt = kp_map_get(&p->db->type_map, t);
    if (vu < 0 || vr < 0 || vt < 0) {
        kp_error(p->db, file, line, "context %s:%s:%s names an undefined %s", u, r, t,
              vu < 0 ? "user" : vr < 0 ? "role" : "type");
        return -1;
    }
    if (p->db->types[vt - 1].attr) {
        kp_error(p->db, file, line, "context %s:%s:%s names attribute %s", u, r, t, t);
        return -1;
    }
    /* as checkpolicy: a role other than object_r must be the user's and hold the type */
    if (vr != 1 && (!kp_bits_get(&p->db->users[vu - 1].roles, (uint32_t)vr - 1) ||
                    !kp_bits_get(&p->db->roles[vr - 1].types, (uint32_t)vt - 1))) {
        kp_error(p->db, file, line, "invalid security context %s:%s:%s (%s)", u, r, t,
              !kp_bits_get(&p->db->users[vu - 1].roles, (uint32_t)vr - 1)
                  ? "the role is not authorised for the user"
                  : "the type is not in the role");
        return -1;
    }
    ctx->user = (uint32_t)vu;
    ctx->role = (uint32_t)vr;
    ctx->type = (uint32_t)vt;
    return 0;
}

/* "sid NAME user:..." gives a context; "sid NAME" followed by anything else declares. */
static int next_is_context(struct kp_parser *p)
{
    struct kp_lex save;
    int ctx;

    if (p->lx.tok != T_ID)
        return 0;
    save = p->lx;
    kp_next(p);
    ctx = p->lx.tok == T_COLON;
    p->lx = save;
    return ctx;
}

static int st_sid(struct kp_parser *p)
{
    char name[NAMELEN];
    struct kp_db *db = p->db;
    int32_t v;

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "an initial SID name"))
        return -1;
    v = kp_map_get(&db->isid_map, name);
    if (!next_is_context(p)) { /* declaration */
        if (p->pass == 2)
            return 0;
        if (v >= 0) {
            P_ERR(p, "duplicate declaration of initial SID %s", name);
            return -1;
        }
        if (grow((void **)&db->isids, db->nisids, sizeof(*db->isids)))
            return -1;
        memset(&db->isids[db->nisids], 0, sizeof(db->isids[0]));
        db->isids[db->nisids].name = strdup(name);
        db->nisids++;
        return kp_map_put(&db->isid_map, db->isids[db->nisids - 1].name, (int32_t)db->nisids);
    }
    if (v < 0 && p->pass == 1) {
        P_ERR(p, "context for undeclared initial SID %s", name);
        return -1;
    }
    if (p->pass == 1)
        return kp_context(p, NULL);
    if (db->isids[v - 1].has_ctx) {
        P_ERR(p, "initial SID %s given a context twice", name);
        return -1;
    }
    if (kp_context(p, &db->isids[v - 1].ctx))
        return -1;
    db->isids[v - 1].has_ctx = 1;
    return 0;
}

static int st_attribute(struct kp_parser *p)
{
    char name[NAMELEN];

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "an attribute name"))
        return -1;
    if (p->pass == 1 && kp_declare_type(p, name, 1) < 0)
        return -1;
    return end_stmt(p);
}

static int alias_list(struct kp_parser *p, uint32_t value)
{
    struct kp_nameset ns;
    int rc = 0;

    kp_next(p); /* alias */
    if (kp_nameset(p, &ns))
        return -1;
    for (uint32_t i = 0; p->pass == 1 && i < ns.n && !rc; i++)
        rc = kp_declare_alias(p, ns.item[i].name, value);
    kp_ns_free(&ns);
    return rc;
}

static int st_type(struct kp_parser *p)
{
    char name[NAMELEN], attr[NAMELEN];
    int v = 0;

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "a type name"))
        return -1;
    if (p->pass == 1 && (v = kp_declare_type(p, name, 0)) < 0)
        return -1;
    if (kp_is(p, "alias") && alias_list(p, (uint32_t)v))
        return -1;
    while (p->lx.tok == T_COMMA) {
        kp_next(p);
        if (kp_expect_id(p, attr, sizeof(attr), "an attribute name"))
            return -1;
        if (p->pass == 1 && kp_add_attr(p, (uint32_t)v, attr))
            return -1;
    }
    return end_stmt(p);
}

static int st_typealias(struct kp_parser *p)
{
    char name[NAMELEN];
    int32_t v = 0;

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "a type name"))
        return -1;
    if (p->pass == 1) {
        v = kp_map_get(&p->db->type_map, name);
        if (v < 0 || p->db->types[v - 1].attr) {
            P_ERR(p, "typealias names %s, which is not a declared type", name);
            return -1;
        }
    }
    if (!kp_is(p, "alias")) {
        P_ERR(p, "expected 'alias' after typealias %s", name);
        return -1;
    }
    if (alias_list(p, (uint32_t)v))
        return -1;
    return end_stmt(p);
}

static int st_typeattribute(struct kp_parser *p)
{
    char name[NAMELEN], attr[NAMELEN];
    int32_t v = 0;

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "a type name"))
        return -1;
    /* pass 1, like type declarations: memberships are complete before any rule is read */
    if (p->pass == 1) {
        v = kp_map_get(&p->db->type_map, name);
        if (v < 0) {
            P_ERR(p, "typeattribute names undeclared type %s", name);
            return -1;
        }
    }
    do {
        if (kp_expect_id(p, attr, sizeof(attr), "an attribute name"))
            return -1;
        if (p->pass == 1 && kp_add_attr(p, (uint32_t)v, attr))
            return -1;
    } while (p->lx.tok == T_COMMA && (kp_next(p), 1));
    return end_stmt(p);
}

static int st_bool(struct kp_parser *p)
{
    char name[NAMELEN], val[NAMELEN];
    struct kp_db *db = p->db;

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "a boolean name") ||
        kp_expect_id(p, val, sizeof(val), "true or false"))
        return -1;
    if (p->pass == 1) {
        if (strcasecmp(val, "true") && strcasecmp(val, "false")) {
            P_ERR(p, "boolean %s must be true or false, not %s", name, val);
            return -1;
        }
        if (kp_map_get(&db->bool_map, name) >= 0) {
            P_ERR(p, "duplicate declaration of boolean %s", name);
            return -1;
        }
        if (grow((void **)&db->bools, db->nbools, sizeof(*db->bools)))
            return -1;
        db->bools[db->nbools].name = strdup(name);
        db->bools[db->nbools].state = !strcasecmp(val, "true");
        kp_map_put(&db->bool_map, db->bools[db->nbools].name, (int32_t)db->nbools + 1);
        db->nbools++;
    }
    return end_stmt(p);
}

static int st_role(struct kp_parser *p)
{
    char name[NAMELEN];
    int v;

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "a role name"))
        return -1;
    v = kp_role_value(p, name, p->pass == 1);
    if (kp_is(p, "types")) {
        struct kp_nameset ns;
        struct kp_typeset ts;
        int self = 0, rc;

        kp_next(p);
        if (kp_nameset(p, &ns))
            return -1;
        rc = 0;
        if (p->pass == 2) {
            memset(&ts, 0, sizeof(ts));
            rc = kp_resolve_typeset(p, &ns, &ts, NULL);
            if (!rc) {
                struct kp_bits all = { 0, NULL };

                kp_type_expand(p->db, &ts, 1, &all);
                kp_bits_or(&p->db->roles[v - 1].types, &all);
                kp_bits_free(&all);
            }
            kp_bits_free(&ts.pos);
            kp_bits_free(&ts.neg);
        }
        (void)self;
        kp_ns_free(&ns);
        if (rc)
            return -1;
    }
    return end_stmt(p);
}

static int st_user(struct kp_parser *p)
{
    char name[NAMELEN];
    struct kp_db *db = p->db;
    struct kp_nameset ns;
    struct kp_user *u;
    int rc = 0;

    kp_next(p);
    if (kp_expect_id(p, name, sizeof(name), "a user name"))
        return -1;
    if (!kp_is(p, "roles")) {
        P_ERR(p, "expected 'roles' in the declaration of user %s", name);
        return -1;
    }
    kp_next(p);
    if (kp_nameset(p, &ns))
        return -1;
    if (kp_is(p, "level") || kp_is(p, "range")) {
        P_ERR(p, "MLS level/range for user %s: the policy has no MLS", name);
        kp_ns_free(&ns);
        return -1;
    }
    if (p->pass == 2) {
        if (kp_map_get(&db->user_map, name) >= 0) {
            P_ERR(p, "duplicate declaration of user %s", name);
            rc = -1;
        } else if (!grow((void **)&db->users, db->nusers, sizeof(*db->users))) {
            u = &db->users[db->nusers];
            memset(u, 0, sizeof(*u));
            u->name = strdup(name);
            kp_map_put(&db->user_map, u->name, (int32_t)++db->nusers);
            for (uint32_t i = 0; i < ns.n; i++) {
                int32_t r = kp_map_get(&db->role_map, ns.item[i].name);

                if (r < 0) {
                    P_ERR(p, "user %s names undeclared role %s", name, ns.item[i].name);
                    rc = -1;
                } else {
                    kp_bits_set(&u->roles, (uint32_t)r - 1);
                }
            }
        }
    }
    kp_ns_free(&ns);
    return rc ? rc : end_stmt(p);
}

static int parse_num(struct kp_parser *p, uint64_t *v)
{
    char *end;

    if (p->lx.tok != T_NUM) {
        P_ERR(p, "expected a number, found '%s'", p->lx.text);
        return -1;
    }
    *v = strtoull(p->lx.text, &end, 0);
    if (*end) {
        P_ERR(p, "malformed number %s", p->lx.text);
        return -1;
    }
    kp_next(p);
    return 0;
}

static int st_ocon(struct kp_parser *p, uint32_t kind)
{
    struct kp_db *db = p->db;
    struct kp_ocon o;

    memset(&o, 0, sizeof(o));
    o.kind = kind;
    kp_next(p);
    if (kind == 5) {
        if (p->lx.tok != T_PATH && p->lx.tok != T_ID) {
            P_ERR(p, "expected a device tree path");
            return -1;
        }
        o.path = strdup(p->lx.text);
        kp_next(p);
    } else {
        if (parse_num(p, &o.lo))
            return -1;
        o.hi = o.lo;
        if ((kind == 2 || kind == 3) && p->lx.tok == T_MINUS) {
            kp_next(p);
            if (parse_num(p, &o.hi))
                return -1;
        }
        if (o.hi < o.lo) {
            P_ERR(p, "range %#llx-%#llx is reversed", (unsigned long long)o.lo,
                  (unsigned long long)o.hi);
            return -1;
        }
    }
    if (kp_context(p, &o.ctx)) {
        free(o.path);
        return -1;
    }
    if (p->pass == 2) {
        if (grow((void **)&db->ocons, db->nocons, sizeof(*db->ocons))) {
            free(o.path);
            return -1;
        }
        db->ocons[db->nocons++] = o;
    } else {
        free(o.path);
    }
    return 0;
}

static int mls_refused(struct kp_parser *p)
{
    if (p->pass == 1)
        P_ERR(p, "'%s': MLS statements are not supported (build the policy without MLS)",
              p->lx.text);
    kp_sync(p);
    return 0;
}

void kp_statement(struct kp_parser *p)
{
    static const struct {
        const char *kw;
        int (*fn)(struct kp_parser *);
    } decl[] = {
        { "class", st_class },       { "common", st_common },
        { "sid", st_sid },           { "attribute", st_attribute },
        { "type", st_type },         { "typealias", st_typealias },
        { "typeattribute", st_typeattribute }, { "bool", st_bool },
        { "role", st_role },         { "user", st_user },
        { "constrain", kp_constrain }, { "if", kp_conditional },
    };
    static const struct {
        const char *kw;
        enum kp_rule_kind kind;
    } rules[] = {
        { "auditallow", R_AUDITALLOW }, { "dontaudit", R_DONTAUDIT },
        { "neverallow", R_NEVERALLOW }, { "type_transition", R_TRANS },
        { "type_member", R_MEMBER },     { "type_change", R_CHANGE },
    };
    static const char *const ocon[] = { "pirqcon", "ioportcon", "iomemcon", "pcidevicecon",
                                        "devicetreecon" };
    static const char *const mls[] = { "sensitivity", "dominance", "category", "level",
                                       "mlsconstrain", "mlsvalidatetrans", "range_transition" };
    int rc = -1;

    if (p->lx.tok == T_SEMI) {
        /* an empty statement, as m4 macros of real policies leave behind after expansion;
         * checkpolicy accepts it */
        kp_next(p);
        return;
    }
    if (p->lx.tok != T_ID) {
        if (p->pass == 1)
            P_ERR(p, "expected a statement, found '%s'", p->lx.text);
        kp_sync(p);
        return;
    }
    for (size_t i = 0; i < sizeof(mls) / sizeof(mls[0]); i++)
        if (kp_is(p, mls[i])) {
            mls_refused(p);
            return;
        }
    for (size_t i = 0; i < sizeof(decl) / sizeof(decl[0]); i++)
        if (kp_is(p, decl[i].kw)) {
            rc = decl[i].fn(p);
            goto done;
        }
    if (kp_is(p, "allow")) {
        rc = kp_role_allow_or_te(p);
        goto done;
    }
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (kp_is(p, rules[i].kw)) {
            rc = kp_rule(p, rules[i].kind);
            goto done;
        }
    for (size_t i = 0; i < sizeof(ocon) / sizeof(ocon[0]); i++)
        if (kp_is(p, ocon[i])) {
            rc = st_ocon(p, (uint32_t)i + 1);
            goto done;
        }
    if (p->pass == 1)
        P_ERR(p, "unknown or unsupported statement '%s'", p->lx.text);
    kp_sync(p);
    return;
done:
    /* a statement that failed after its final ';' or '}' needs no resynchronisation */
    if (rc && p->lx.prev != T_SEMI && p->lx.prev != T_RBRACE)
        kp_sync(p);
}
