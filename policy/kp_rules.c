/* kp_rules.c - rules of the policy language: allow / auditallow / dontaudit / neverallow,
 * type_transition / type_member / type_change, role allow, constrain expressions and
 * if/else conditionals over booleans. */
#include "kp_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define P_ERR(p, ...) kp_error((p)->db, (p)->lx.tfile, (p)->lx.tline, __VA_ARGS__)
#define NAMELEN 256

int kp_resolve_typeset(struct kp_parser *p, const struct kp_nameset *ns, struct kp_typeset *ts,
                       int *self)
{
    int rc = 0;

    ts->flags = ns->star ? KP_TS_STAR : ns->comp ? KP_TS_COMP : 0;
    for (uint32_t i = 0; i < ns->n; i++) {
        int32_t v;

        if (self && !strcmp(ns->item[i].name, "self") && !ns->item[i].neg) {
            *self = 1;
            continue;
        }
        v = kp_map_get(&p->db->type_map, ns->item[i].name);
        if (v < 0) {
            kp_error(p->db, p->lx.tfile, ns->line, "unknown type or attribute %s",
                     ns->item[i].name);
            rc = -1;
            continue;
        }
        kp_bits_set(ns->item[i].neg ? &ts->neg : &ts->pos, (uint32_t)v - 1);
    }
    return rc;
}

static int resolve_classes(struct kp_parser *p, const struct kp_nameset *ns, struct kp_bits *b)
{
    int rc = 0;

    if (ns->star || ns->comp) {
        P_ERR(p, "class sets cannot use * or ~");
        return -1;
    }
    for (uint32_t i = 0; i < ns->n; i++) {
        int32_t c = kp_map_get(&p->db->class_map, ns->item[i].name);

        if (c < 0 || !p->db->classes[c - 1].defined) {
            kp_error(p->db, p->lx.tfile, ns->line, "unknown class %s", ns->item[i].name);
            rc = -1;
            continue;
        }
        if (c > 256) {
            P_ERR(p, "class %s: more than 256 classes", ns->item[i].name);
            rc = -1;
            continue;
        }
        kp_bits_set(b, (uint32_t)c - 1);
    }
    return rc;
}

static int perm_bit(const struct kp_class *c, const char *name)
{
    for (uint32_t i = 0; i < c->nperms; i++)
        if (!strcmp(c->perms[i], name))
            return (int)i;
    return -1;
}

/* Permission masks per class of the set; a permission must exist in at least one class. */
static int resolve_perms(struct kp_parser *p, const struct kp_nameset *ns,
                         const struct kp_bits *classes, uint32_t *perms)
{
    int rc = 0;

    for (uint32_t c = 0; c < p->db->nclasses && c < 256; c++) {
        const struct kp_class *cl = &p->db->classes[c];
        uint32_t all = cl->nperms == 32 ? 0xffffffffu : (1u << cl->nperms) - 1, m = 0;

        if (!kp_bits_get(classes, c))
            continue;
        for (uint32_t i = 0; i < ns->n; i++) {
            int b = perm_bit(cl, ns->item[i].name);

            if (b >= 0)
                m |= 1u << b;
        }
        /* like checkpolicy, * and ~ set every bit, not only the class's permissions */
        perms[c] = ns->star ? 0xffffffffu : ns->comp ? ~m : m;
        (void)all;
    }
    for (uint32_t i = 0; i < ns->n; i++) {
        int found = 0;

        for (uint32_t c = 0; c < p->db->nclasses && c < 256 && !found; c++)
            found = kp_bits_get(classes, c) && perm_bit(&p->db->classes[c], ns->item[i].name) >= 0;
        if (!found) {
            kp_error(p->db, p->lx.tfile, ns->line,
                     "permission %s is not defined for the class(es) of this rule",
                     ns->item[i].name);
            rc = -1;
        }
    }
    return rc;
}

static struct kp_rule *new_rule(struct kp_db *db)
{
    if (db->nrules == 0 || (db->nrules & (db->nrules - 1)) == 0) {
        struct kp_rule *r = realloc(db->rules, (db->nrules ? db->nrules * 2 : 1) * sizeof(*r));

        if (!r)
            return NULL;
        db->rules = r;
    }
    memset(&db->rules[db->nrules], 0, sizeof(db->rules[0]));
    return &db->rules[db->nrules++];
}

static int te_rest(struct kp_parser *p, enum kp_rule_kind kind, struct kp_nameset *src,
                   struct kp_nameset *tgt, int line, const char *file)
{
    struct kp_nameset cls, perms;
    struct kp_rule r;
    int rc = 0;
    char newtype[NAMELEN] = "";

    memset(&r, 0, sizeof(r));
    if (kp_expect(p, T_COLON, "':'") || kp_nameset(p, &cls))
        return -1;
    memset(&perms, 0, sizeof(perms));
    if (kind >= R_TRANS) {
        if (kp_expect_id(p, newtype, sizeof(newtype), "the new type")) {
            kp_ns_free(&cls);
            return -1;
        }
    } else if (kp_nameset(p, &perms)) {
        kp_ns_free(&cls);
        return -1;
    }
    rc = kp_expect(p, T_SEMI, "';'");
    if (!rc && kind != R_NEVERALLOW && (src->comp || tgt->comp || src->star || tgt->star)) {
        if (p->pass == 1)
            kp_error(p->db, file, line, "%s is not allowed in this kind of rule",
                     src->comp || tgt->comp ? "~" : "*");
        rc = -1;
    }
    if (!rc && p->pass == 2) {
        r.kind = kind;
        r.cond = p->cond;
        r.branch = p->branch;
        r.block = p->db->nblocks;
        r.line = line;
        snprintf(r.file, sizeof(r.file), "%s", file);
        rc |= kp_resolve_typeset(p, src, &r.src, NULL);
        rc |= kp_resolve_typeset(p, tgt, &r.tgt, &r.self);
        rc |= resolve_classes(p, &cls, &r.classes);
        if (kind >= R_TRANS) {
            int32_t v = kp_map_get(&p->db->type_map, newtype);

            if (v < 0 || p->db->types[v - 1].attr) {
                kp_error(p->db, file, line, "%s is not a type", newtype);
                rc = -1;
            }
            r.newtype = (uint32_t)v;
        } else if (!rc) {
            rc |= resolve_perms(p, &perms, &r.classes, r.perms);
        }
        if (!rc) {
            struct kp_rule *n = new_rule(p->db);

            if (!n)
                rc = -1;
            else
                *n = r;
        } else {
            kp_bits_free(&r.src.pos);
            kp_bits_free(&r.src.neg);
            kp_bits_free(&r.tgt.pos);
            kp_bits_free(&r.tgt.neg);
            kp_bits_free(&r.classes);
        }
    }
    kp_ns_free(&cls);
    kp_ns_free(&perms);
    return rc ? -1 : 0;
}

int kp_rule(struct kp_parser *p, enum kp_rule_kind kind)
{
    struct kp_nameset src, tgt;
    int line = p->lx.tline, rc;
    char file[256];

    snprintf(file, sizeof(file), "%s", p->lx.tfile);
    kp_next(p);
    if (kp_nameset(p, &src))
        return -1;
    if (kp_nameset(p, &tgt)) {
        kp_ns_free(&src);
        return -1;
    }
    if (kind == R_NEVERALLOW && p->cond >= 0) {
        P_ERR(p, "neverallow is not allowed inside a conditional");
        rc = -1;
    } else {
        rc = te_rest(p, kind, &src, &tgt, line, file);
    }
    kp_ns_free(&src);
    kp_ns_free(&tgt);
    return rc;
}

static int role_bits(struct kp_parser *p, const struct kp_nameset *ns, struct kp_bits *b,
                     const char *file, int line)
{
    int rc = 0;

    if (ns->star || ns->comp) {
        kp_error(p->db, file, line, "role allow sets cannot use * or ~");
        return -1;
    }
    for (uint32_t i = 0; i < ns->n; i++) {
        int32_t r = kp_map_get(&p->db->role_map, ns->item[i].name);

        if (r < 0 || ns->item[i].neg) {
            kp_error(p->db, file, line, "role allow names %s, which is not a declared role",
                     ns->item[i].name);
            rc = -1;
        } else {
            kp_bits_set(b, (uint32_t)r - 1);
        }
    }
    return rc;
}

static int role_allow(struct kp_parser *p, const struct kp_nameset *src,
                      const struct kp_nameset *tgt, const char *file, int line)
{
    struct kp_db *db = p->db;
    struct kp_roleallow ra;

    memset(&ra, 0, sizeof(ra));
    if (role_bits(p, src, &ra.from, file, line) | role_bits(p, tgt, &ra.to, file, line)) {
        kp_bits_free(&ra.from);
        kp_bits_free(&ra.to);
        return -1;
    }
    if (db->nroleallows == 0 || (db->nroleallows & (db->nroleallows - 1)) == 0) {
        struct kp_roleallow *n =
            realloc(db->roleallows, (db->nroleallows ? db->nroleallows * 2 : 1) * sizeof(*n));

        if (!n) {
            kp_bits_free(&ra.from);
            kp_bits_free(&ra.to);
            return -1;
        }
        db->roleallows = n;
    }
    db->roleallows[db->nroleallows++] = ra;
    return 0;
}

/* "allow r1 r2;" (a role allow rule) or a TE allow rule. */
int kp_role_allow_or_te(struct kp_parser *p)
{
    struct kp_nameset src, tgt;
    int line = p->lx.tline, rc = 0;
    char file[256];

    snprintf(file, sizeof(file), "%s", p->lx.tfile);
    kp_next(p);
    if (kp_nameset(p, &src))
        return -1;
    if (kp_nameset(p, &tgt)) {
        kp_ns_free(&src);
        return -1;
    }
    if (p->lx.tok == T_SEMI) {
        kp_next(p);
        if (p->pass == 2)
            rc = role_allow(p, &src, &tgt, file, line);
    } else {
        rc = te_rest(p, R_ALLOW, &src, &tgt, line, file);
    }
    kp_ns_free(&src);
    kp_ns_free(&tgt);
    return rc;
}

/* ---- constraints: postfix expressions as the binary stores them ---- */

struct cbuild {
    uint32_t n;
    struct kp_cexpr e[128];
};

static int c_push(struct kp_parser *p, struct cbuild *b, struct kp_cexpr *e)
{
    if (b->n == 128) {
        P_ERR(p, "constraint expression too long");
        return -1;
    }
    b->e[b->n++] = *e;
    return 0;
}

static int c_or(struct kp_parser *p, struct cbuild *b);

static int c_leaf(struct kp_parser *p, struct cbuild *b)
{
    struct kp_cexpr e;
    char lhs[NAMELEN], rhs[NAMELEN];
    int tgt;

    memset(&e, 0, sizeof(e));
    if (kp_expect_id(p, lhs, sizeof(lhs), "u1, u2, r1, r2, t1 or t2"))
        return -1;
    if (strlen(lhs) != 2 || !strchr("urt", lhs[0]) || (lhs[1] != '1' && lhs[1] != '2')) {
        P_ERR(p, "constraint operand %s: expected u1, u2, r1, r2, t1 or t2", lhs);
        return -1;
    }
    e.attr = lhs[0] == 'u' ? 1 : lhs[0] == 'r' ? 2 : 4;
    tgt = lhs[1] == '2';
    if (p->lx.tok == T_EQ || kp_is(p, "eq"))
        e.op = 1;
    else if (p->lx.tok == T_NEQ)
        e.op = 2;
    else {
        P_ERR(p, "constraint operator '%s' unsupported (use == or !=)", p->lx.text);
        return -1;
    }
    kp_next(p);
    if (!tgt && p->lx.tok == T_ID && strlen(p->lx.text) == 2 && p->lx.text[0] == lhs[0] &&
        p->lx.text[1] == '2') {
        kp_next(p);
        e.type = 4; /* CEXPR_ATTR */
        return c_push(p, b, &e);
    }
    {
        struct kp_nameset ns;
        int rc = 0;

        if (kp_nameset(p, &ns))
            return -1;
        e.type = 5; /* CEXPR_NAMES */
        if (tgt)
            e.attr |= 8;
        for (uint32_t i = 0; p->pass == 2 && i < ns.n; i++) {
            const struct kp_map *m = lhs[0] == 'u' ? &p->db->user_map
                                   : lhs[0] == 'r' ? &p->db->role_map : &p->db->type_map;
            int32_t v = kp_map_get(m, ns.item[i].name);

            snprintf(rhs, sizeof(rhs), "%s", ns.item[i].name);
            if (v < 0) {
                P_ERR(p, "constraint names unknown %s %s",
                      lhs[0] == 'u' ? "user" : lhs[0] == 'r' ? "role" : "type", rhs);
                rc = -1;
                continue;
            }
            if (lhs[0] == 't') {
                const struct kp_type *t = &p->db->types[v - 1];

                kp_bits_set(ns.item[i].neg ? &e.tneg : &e.tnames, (uint32_t)v - 1);
                if (t->attr)
                    kp_bits_or(&e.names, &t->members);
                else
                    kp_bits_set(&e.names, (uint32_t)v - 1);
            } else {
                kp_bits_set(&e.names, (uint32_t)v - 1);
            }
        }
        kp_ns_free(&ns);
        if (!rc && c_push(p, b, &e) == 0)
            return 0;
        kp_bits_free(&e.names);
        kp_bits_free(&e.tnames);
        kp_bits_free(&e.tneg);
        return -1;
    }
}

static int c_unary_body(struct kp_parser *p, struct cbuild *b);

static int c_unary(struct kp_parser *p, struct cbuild *b)
{
    int rc;

    if (p->depth >= KP_MAX_DEPTH) {
        P_ERR(p, "constraint expression nested too deeply");
        return -1;
    }
    p->depth++;
    rc = c_unary_body(p, b);
    p->depth--;
    return rc;
}

static int c_unary_body(struct kp_parser *p, struct cbuild *b)
{
    if (kp_is(p, "not") || p->lx.tok == T_NOT) {
        struct kp_cexpr e = { .type = 1 };

        kp_next(p);
        if (c_unary(p, b))
            return -1;
        return c_push(p, b, &e);
    }
    if (p->lx.tok == T_LPAREN) {
        kp_next(p);
        if (c_or(p, b))
            return -1;
        return kp_expect(p, T_RPAREN, "')'");
    }
    return c_leaf(p, b);
}

static int c_and(struct kp_parser *p, struct cbuild *b)
{
    if (c_unary(p, b))
        return -1;
    while (kp_is(p, "and") || p->lx.tok == T_AND) {
        struct kp_cexpr e = { .type = 2 };

        kp_next(p);
        if (c_unary(p, b) || c_push(p, b, &e))
            return -1;
    }
    return 0;
}

static int c_or(struct kp_parser *p, struct cbuild *b)
{
    if (c_and(p, b))
        return -1;
    while (kp_is(p, "or") || p->lx.tok == T_OR) {
        struct kp_cexpr e = { .type = 3 };

        kp_next(p);
        if (c_and(p, b) || c_push(p, b, &e))
            return -1;
    }
    return 0;
}

static void cb_free(struct cbuild *b)
{
    for (uint32_t i = 0; i < b->n; i++) {
        kp_bits_free(&b->e[i].names);
        kp_bits_free(&b->e[i].tnames);
        kp_bits_free(&b->e[i].tneg);
    }
}

static int add_constraint(struct kp_parser *p, struct kp_class *cl, uint32_t perms,
                          const struct cbuild *b)
{
    struct kp_cons *k = realloc(cl->cons, (cl->ncons + 1) * sizeof(*k));

    if (!k)
        return -1;
    cl->cons = k;
    /* checkpolicy prepends each constraint to the class's list */
    memmove(&cl->cons[1], &cl->cons[0], cl->ncons * sizeof(*k));
    k = &cl->cons[0];
    cl->ncons++;
    k->perms = perms;
    k->nexpr = b->n;
    k->expr = calloc(b->n, sizeof(*k->expr));
    if (!k->expr)
        return -1;
    for (uint32_t i = 0; i < b->n; i++) {
        k->expr[i] = b->e[i];
        memset(&k->expr[i].names, 0, sizeof(struct kp_bits));
        memset(&k->expr[i].tnames, 0, sizeof(struct kp_bits));
        memset(&k->expr[i].tneg, 0, sizeof(struct kp_bits));
        kp_bits_or(&k->expr[i].names, &b->e[i].names);
        kp_bits_or(&k->expr[i].tnames, &b->e[i].tnames);
        kp_bits_or(&k->expr[i].tneg, &b->e[i].tneg);
    }
    (void)p;
    return 0;
}

int kp_constrain(struct kp_parser *p)
{
    struct kp_nameset cls, perms;
    struct kp_bits cb = { 0, NULL };
    uint32_t pm[256] = { 0 };
    struct cbuild *b = calloc(1, sizeof(*b));
    int rc = -1;

    if (!b)
        return -1;
    kp_next(p);
    memset(&perms, 0, sizeof(perms));
    if (kp_nameset(p, &cls))
        goto out_b;
    if (kp_nameset(p, &perms) || kp_expect(p, T_LPAREN, "'('") || c_or(p, b) ||
        kp_expect(p, T_RPAREN, "')'") || kp_expect(p, T_SEMI, "';'"))
        goto out;
    rc = 0;
    if (p->pass == 2) {
        rc = resolve_classes(p, &cls, &cb);
        if (!rc)
            rc = resolve_perms(p, &perms, &cb, pm);
        for (uint32_t c = 0; !rc && c < p->db->nclasses && c < 256; c++)
            if (kp_bits_get(&cb, c) && pm[c])
                rc = add_constraint(p, &p->db->classes[c], pm[c], b);
    }
out:
    kp_ns_free(&cls);
    kp_ns_free(&perms);
    kp_bits_free(&cb);
    cb_free(b);
out_b:
    free(b);
    return rc;
}

/* ---- conditionals ---- */

struct condb {
    uint32_t n;
    struct kp_condterm t[64];
};

static int k_push(struct kp_parser *p, struct condb *b, uint32_t type, uint32_t boolv)
{
    if (b->n == 64) {
        P_ERR(p, "conditional expression too long");
        return -1;
    }
    b->t[b->n].type = type;
    b->t[b->n++].boolv = boolv;
    return 0;
}

static int k_or(struct kp_parser *p, struct condb *b);

static int k_prim_body(struct kp_parser *p, struct condb *b);

static int k_prim(struct kp_parser *p, struct condb *b)
{
    int rc;

    if (p->depth >= KP_MAX_DEPTH) {
        P_ERR(p, "boolean expression nested too deeply");
        return -1;
    }
    p->depth++;
    rc = k_prim_body(p, b);
    p->depth--;
    return rc;
}

static int k_eq(struct kp_parser *p, struct condb *b);

/* checkpolicy's precedence, lowest first: || ^ && ! (== !=); so "!a == b" is "!(a == b)". */
static int k_prim_body(struct kp_parser *p, struct condb *b)
{
    if (p->lx.tok == T_NOT) {
        kp_next(p);
        if (k_eq(p, b))
            return -1;
        return k_push(p, b, 2, 0);
    }
    if (p->lx.tok == T_LPAREN) {
        kp_next(p);
        if (k_or(p, b))
            return -1;
        return kp_expect(p, T_RPAREN, "')'");
    }
    if (p->lx.tok == T_ID) {
        int32_t v = kp_map_get(&p->db->bool_map, p->lx.text);

        if (v < 0 && p->pass == 2) {
            P_ERR(p, "unknown boolean %s", p->lx.text);
            return -1;
        }
        kp_next(p);
        return k_push(p, b, 1, v < 0 ? 0 : (uint32_t)v);
    }
    P_ERR(p, "expected a boolean expression, found '%s'", p->lx.text);
    return -1;
}

static int k_eq(struct kp_parser *p, struct condb *b)
{
    if (k_prim(p, b))
        return -1;
    while (p->lx.tok == T_EQ || p->lx.tok == T_NEQ) {
        uint32_t op = p->lx.tok == T_EQ ? 6 : 7;

        kp_next(p);
        if (k_prim(p, b) || k_push(p, b, op, 0))
            return -1;
    }
    return 0;
}

static int k_and(struct kp_parser *p, struct condb *b)
{
    if (k_eq(p, b))
        return -1;
    while (p->lx.tok == T_AND) {
        kp_next(p);
        if (k_eq(p, b) || k_push(p, b, 4, 0))
            return -1;
    }
    return 0;
}

static int k_xor(struct kp_parser *p, struct condb *b)
{
    if (k_and(p, b))
        return -1;
    while (p->lx.tok == T_XOR) {
        kp_next(p);
        if (k_and(p, b) || k_push(p, b, 5, 0))
            return -1;
    }
    return 0;
}

static int k_or(struct kp_parser *p, struct condb *b)
{
    if (k_xor(p, b))
        return -1;
    while (p->lx.tok == T_OR) {
        kp_next(p);
        if (k_xor(p, b) || k_push(p, b, 3, 0))
            return -1;
    }
    return 0;
}

static int eval_terms(const struct kp_condterm *t, uint32_t n, const int *state)
{
    int st[64], sp = 0;

    for (uint32_t i = 0; i < n; i++) {
        if (t[i].type == 1) {
            if (sp == 64)
                return 0;
            st[sp++] = state[t[i].boolv - 1];
        } else if (t[i].type == 2) {
            st[sp - 1] = !st[sp - 1];
        } else {
            int y = st[--sp], x = st[sp - 1];

            st[sp - 1] = t[i].type == 3 ? (x || y) : t[i].type == 4 ? (x && y)
                       : t[i].type == 5 ? (x != y) : t[i].type == 6 ? (x == y) : (x != y);
        }
    }
    return sp == 1 ? st[0] : 0;
}

/* As libsepol: the distinct booleans in order of appearance and, for up to five of them,
 * the expression's truth table; two conditionals are the same if they have the same
 * booleans and table (or, past five booleans, the same expression). */
static void cond_normalize(const struct kp_db *db, struct kp_cond *c)
{
    int *state = calloc(db->nbools ? db->nbools : 1, sizeof(*state));

    c->nbools = 0;
    c->truth = 0;
    for (uint32_t i = 0; i < c->nexpr; i++) {
        uint32_t v = c->expr[i].boolv, k;

        if (c->expr[i].type != 1)
            continue;
        for (k = 0; k < c->nbools && k < KP_COND_MAX_BOOLS; k++)
            if (c->bool_ids[k] == v)
                break;
        if (c->nbools > KP_COND_MAX_BOOLS || k == c->nbools) {
            if (c->nbools < KP_COND_MAX_BOOLS)
                c->bool_ids[c->nbools] = v;
            c->nbools++;
        }
    }
    if (!state || c->nbools > KP_COND_MAX_BOOLS) {
        free(state);
        return;
    }
    for (uint32_t test = 0; test < (1u << c->nbools); test++) {
        for (uint32_t j = 0; j < c->nbools; j++)
            state[c->bool_ids[j] - 1] = (test >> j) & 1;
        if (eval_terms(c->expr, c->nexpr, state))
            c->truth |= 1u << test;
    }
    free(state);
}

static int cond_same(const struct kp_cond *a, const struct kp_cond *b)
{
    if (a->nbools != b->nbools)
        return 0;
    if (a->nbools <= KP_COND_MAX_BOOLS) {
        for (uint32_t i = 0; i < a->nbools; i++) {
            uint32_t k;

            for (k = 0; k < b->nbools && b->bool_ids[k] != a->bool_ids[i]; k++)
                ;
            if (k == b->nbools)
                return 0;
        }
        return a->truth == b->truth;
    }
    if (a->nexpr != b->nexpr)
        return 0;
    for (uint32_t i = 0; i < a->nexpr; i++)
        if (a->expr[i].type != b->expr[i].type ||
            (a->expr[i].type == 1 && a->expr[i].boolv != b->expr[i].boolv))
            return 0;
    return 1;
}

static int cond_index(struct kp_parser *p, const struct condb *b)
{
    struct kp_db *db = p->db;
    struct kp_cond c;

    memset(&c, 0, sizeof(c));
    c.nexpr = b->n;
    memcpy(c.expr, b->t, b->n * sizeof(b->t[0]));
    cond_normalize(db, &c);
    for (uint32_t i = 0; i < db->nconds; i++)
        if (cond_same(&db->conds[i], &c))
            return (int)i;
    if (db->nconds == 0 || (db->nconds & (db->nconds - 1)) == 0) {
        struct kp_cond *n = realloc(db->conds, (db->nconds ? db->nconds * 2 : 1) * sizeof(*n));

        if (!n)
            return -1;
        db->conds = n;
    }
    db->conds[db->nconds] = c;
    return (int)db->nconds++;
}

static int cond_block(struct kp_parser *p)
{
    if (kp_expect(p, T_LBRACE, "'{'"))
        return -1;
    while (p->lx.tok != T_RBRACE && p->lx.tok != T_EOF) {
        if (p->lx.tok == T_ID && (kp_is(p, "allow") || kp_is(p, "auditallow") ||
                                  kp_is(p, "dontaudit") || kp_is(p, "type_transition") ||
                                  kp_is(p, "type_member") || kp_is(p, "type_change"))) {
            kp_statement(p);
            continue;
        }
        P_ERR(p, "'%s' is not allowed inside a conditional", p->lx.text);
        kp_sync(p);
    }
    return kp_expect(p, T_RBRACE, "'}'");
}

int kp_conditional(struct kp_parser *p)
{
    struct condb b;
    int idx = -1, rc, swapped = 0;

    if (p->cond >= 0) {
        P_ERR(p, "nested conditionals are not allowed");
        return -1;
    }
    b.n = 0;
    kp_next(p);
    if (kp_expect(p, T_LPAREN, "'('") || k_or(p, &b) || kp_expect(p, T_RPAREN, "')'"))
        return -1;
    /* like libsepol, "!expr" is stored as "expr" with the branches swapped */
    if (b.n > 1 && b.t[b.n - 1].type == 2) {
        b.n--;
        swapped = 1;
    }
    if (p->pass == 2 && (idx = cond_index(p, &b)) < 0)
        return -1;
    p->cond = p->pass == 2 ? idx : 0;
    p->branch = !swapped;
    if (p->pass == 2)
        p->db->nblocks++;
    rc = cond_block(p);
    if (!rc && kp_is(p, "else")) {
        kp_next(p);
        p->branch = swapped;
        rc = cond_block(p);
    }
    p->cond = -1;
    return rc;
}
