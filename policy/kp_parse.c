/* kp_parse.c - the parser of the policy language subset Xen's FLASK policy uses.
 *
 * Like checkpolicy it reads the source twice: pass 1 acts on declarations (classes, initial
 * SIDs, commons, access vectors, attributes, types, aliases, type attributes, booleans, roles)
 * so that rules may name things declared further down; pass 2 acts on everything else (rules,
 * role types, users, constraints, conditionals, contexts).  Values are given in order of first
 * declaration, as checkpolicy gives them.  Errors name file:line and what is wrong. */
#include "kp_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define P_ERR(p, ...) kp_error((p)->db, (p)->lx.tfile, (p)->lx.tline, __VA_ARGS__)

int kp_is(struct kp_parser *p, const char *kw)
{
    return p->lx.tok == T_ID && !strcasecmp(p->lx.text, kw);
}

void kp_next(struct kp_parser *p)
{
    kp_lex_next(&p->lx);
}

int kp_expect(struct kp_parser *p, enum kp_tok t, const char *what)
{
    if (p->lx.tok != t) {
        if (p->pass == 1)
            P_ERR(p, "expected %s, found '%s'", what,
                  p->lx.tok == T_EOF ? "end of file" : p->lx.text);
        else
            p->db->errors++;
        return -1;
    }
    kp_next(p);
    return 0;
}

int kp_expect_id(struct kp_parser *p, char *out, size_t len, const char *what)
{
    if (p->lx.tok != T_ID) {
        if (p->pass == 1)
            P_ERR(p, "expected %s, found '%s'", what,
                  p->lx.tok == T_EOF ? "end of file" : p->lx.text);
        else
            p->db->errors++;
        return -1;
    }
    snprintf(out, len, "%s", p->lx.text);
    kp_next(p);
    return 0;
}

/* Skips to the end of the current statement after an error. */
void kp_sync(struct kp_parser *p)
{
    int depth = 0;

    while (p->lx.tok != T_EOF) {
        if (p->lx.tok == T_LBRACE)
            depth++;
        if (p->lx.tok == T_RBRACE && --depth < 0)
            return;
        if (p->lx.tok == T_SEMI && depth == 0) {
            kp_next(p);
            return;
        }
        kp_next(p);
    }
}

/* ---- name sets: ID | { [-]ID ... } | * | ~set | ID - set ---- */

void kp_ns_free(struct kp_nameset *ns)
{
    for (uint32_t i = 0; i < ns->n; i++)
        free(ns->item[i].name);
    free(ns->item);
    memset(ns, 0, sizeof(*ns));
}

static int ns_add(struct kp_nameset *ns, const char *name, int neg)
{
    if (ns->n == ns->cap) {
        uint32_t cap = ns->cap ? ns->cap * 2 : 8;
        struct kp_nsitem *it = realloc(ns->item, cap * sizeof(*it));

        if (!it)
            return -1;
        ns->item = it;
        ns->cap = cap;
    }
    ns->item[ns->n].name = strdup(name);
    ns->item[ns->n].neg = neg;
    return ns->item[ns->n++].name ? 0 : -1;
}

static int ns_list_body(struct kp_parser *p, struct kp_nameset *ns, int neg);

static int ns_list(struct kp_parser *p, struct kp_nameset *ns, int neg)
{
    int rc;

    if (p->depth >= KP_MAX_DEPTH) {
        P_ERR(p, "sets nested too deeply");
        return -1;
    }
    p->depth++;
    rc = ns_list_body(p, ns, neg);
    p->depth--;
    return rc;
}

static int ns_list_body(struct kp_parser *p, struct kp_nameset *ns, int neg)
{
    kp_next(p); /* { */
    while (p->lx.tok != T_RBRACE) {
        int n = neg;

        if (p->lx.tok == T_MINUS) {
            n = !neg;
            kp_next(p);
        }
        if (p->lx.tok == T_STAR) {
            ns->star = 1;
            kp_next(p);
            continue;
        }
        if (p->lx.tok == T_LBRACE) {
            if (ns_list(p, ns, n))
                return -1;
            continue;
        }
        if (p->lx.tok != T_ID) {
            if (p->pass == 1)
                P_ERR(p, "expected a name in a set, found '%s'",
                      p->lx.tok == T_EOF ? "end of file" : p->lx.text);
            return -1;
        }
        ns_add(ns, p->lx.text, n);
        kp_next(p);
    }
    kp_next(p); /* } */
    return 0;
}

static int nameset_body(struct kp_parser *p, struct kp_nameset *ns);

/* On failure the set is freed (and left empty), so callers need not clean up. */
int kp_nameset(struct kp_parser *p, struct kp_nameset *ns)
{
    int rc;

    memset(ns, 0, sizeof(*ns));
    rc = nameset_body(p, ns);
    if (rc)
        kp_ns_free(ns);
    return rc;
}

static int nameset_body(struct kp_parser *p, struct kp_nameset *ns)
{
    ns->line = p->lx.tline;
    if (p->lx.tok == T_STAR) {
        ns->star = 1;
        kp_next(p);
        return 0;
    }
    if (p->lx.tok == T_TILDE) {
        ns->comp = 1;
        kp_next(p);
    }
    if (p->lx.tok == T_LBRACE)
        return ns_list(p, ns, 0);
    if (p->lx.tok != T_ID) {
        if (p->pass == 1)
            P_ERR(p, "expected a name or a set, found '%s'",
                  p->lx.tok == T_EOF ? "end of file" : p->lx.text);
        return -1;
    }
    ns_add(ns, p->lx.text, 0);
    kp_next(p);
    if (!ns->comp && p->lx.tok == T_MINUS) { /* a - b, a - { b c } */
        kp_next(p);
        if (p->lx.tok == T_LBRACE)
            return ns_list(p, ns, 1);
        if (p->lx.tok != T_ID)
            return -1;
        ns_add(ns, p->lx.text, 1);
        kp_next(p);
    }
    return 0;
}

/* ---- symbol declarations ---- */

static int grow(void **arr, uint32_t n, size_t size)
{
    if ((n & (n - 1)) == 0 || n == 0) { /* grow at powers of two */
        void *a = realloc(*arr, (n ? n * 2 : 1) * size);

        if (!a)
            return -1;
        *arr = a;
    }
    return 0;
}

int kp_type_value(struct kp_parser *p, const char *name, int want_attr)
{
    int32_t v = kp_map_get(&p->db->type_map, name);

    (void)want_attr;
    return v;
}

int kp_declare_type(struct kp_parser *p, const char *name, int attr)
{
    struct kp_db *db = p->db;
    struct kp_type *t;

    if (kp_map_get(&db->type_map, name) >= 0) {
        P_ERR(p, "duplicate declaration of type or attribute %s", name);
        return -1;
    }
    if (grow((void **)&db->types, db->ntypes, sizeof(*db->types)))
        return -1;
    t = &db->types[db->ntypes];
    memset(t, 0, sizeof(*t));
    t->name = strdup(name);
    t->attr = attr;
    if (!t->name || kp_map_put(&db->type_map, t->name, (int32_t)db->ntypes + 1))
        return -1;
    return (int)++db->ntypes;
}

int kp_declare_alias(struct kp_parser *p, const char *name, uint32_t value)
{
    struct kp_db *db = p->db;
    char *n;

    if (kp_map_get(&db->type_map, name) >= 0) {
        P_ERR(p, "duplicate declaration of alias %s", name);
        return -1;
    }
    if (grow((void **)&db->alias_names, db->naliases, sizeof(*db->alias_names)) ||
        grow((void **)&db->alias_vals, db->naliases, sizeof(*db->alias_vals)))
        return -1;
    n = strdup(name);
    if (!n)
        return -1;
    db->alias_names[db->naliases] = n;
    db->alias_vals[db->naliases++] = value;
    return kp_map_put(&db->type_map, n, (int32_t)value);
}

int kp_add_attr(struct kp_parser *p, uint32_t type, const char *attr)
{
    int32_t a = kp_map_get(&p->db->type_map, attr);

    if (a < 0 || !p->db->types[a - 1].attr) {
        P_ERR(p, "%s is not a declared attribute", attr);
        return -1;
    }
    if (p->db->types[type - 1].attr) {
        P_ERR(p, "%s is an attribute and cannot be given attribute %s",
              p->db->types[type - 1].name, attr);
        return -1;
    }
    kp_bits_set(&p->db->types[a - 1].members, type - 1);
    kp_bits_set(&p->db->types[type - 1].attrs, (uint32_t)a - 1);
    return 0;
}

int kp_role_value(struct kp_parser *p, const char *name, int declare)
{
    struct kp_db *db = p->db;
    int32_t v = kp_map_get(&db->role_map, name);
    struct kp_role *r;

    if (v >= 0 || !declare)
        return v;
    if (grow((void **)&db->roles, db->nroles, sizeof(*db->roles)))
        return -1;
    r = &db->roles[db->nroles];
    memset(r, 0, sizeof(*r));
    r->name = strdup(name);
    if (!r->name || kp_map_put(&db->role_map, r->name, (int32_t)db->nroles + 1))
        return -1;
    return (int)++db->nroles;
}

void kp_db_init(struct kp_db *db)
{
    memset(db, 0, sizeof(*db));
}

static void free_cons(struct kp_class *c)
{
    for (uint32_t i = 0; i < c->ncons; i++) {
        for (uint32_t j = 0; j < c->cons[i].nexpr; j++) {
            kp_bits_free(&c->cons[i].expr[j].names);
            kp_bits_free(&c->cons[i].expr[j].tnames);
            kp_bits_free(&c->cons[i].expr[j].tneg);
        }
        free(c->cons[i].expr);
    }
    free(c->cons);
}

void kp_db_free(struct kp_db *db)
{
    for (uint32_t i = 0; i < db->ncommons; i++) {
        free(db->commons[i].name);
        for (int j = 0; j < KP_MAXPERM; j++)
            free(db->commons[i].perms[j]);
    }
    for (uint32_t i = 0; i < db->nclasses; i++) {
        free(db->classes[i].name);
        for (int j = 0; j < KP_MAXPERM; j++)
            free(db->classes[i].perms[j]);
        free_cons(&db->classes[i]);
    }
    for (uint32_t i = 0; i < db->ntypes; i++) {
        free(db->types[i].name);
        kp_bits_free(&db->types[i].members);
        kp_bits_free(&db->types[i].attrs);
    }
    for (uint32_t i = 0; i < db->nroles; i++) {
        free(db->roles[i].name);
        kp_bits_free(&db->roles[i].types);
    }
    for (uint32_t i = 0; i < db->nusers; i++) {
        free(db->users[i].name);
        kp_bits_free(&db->users[i].roles);
    }
    for (uint32_t i = 0; i < db->nbools; i++)
        free(db->bools[i].name);
    for (uint32_t i = 0; i < db->nisids; i++)
        free(db->isids[i].name);
    for (uint32_t i = 0; i < db->nrules; i++) {
        kp_bits_free(&db->rules[i].src.pos);
        kp_bits_free(&db->rules[i].src.neg);
        kp_bits_free(&db->rules[i].tgt.pos);
        kp_bits_free(&db->rules[i].tgt.neg);
        kp_bits_free(&db->rules[i].classes);
    }
    for (uint32_t i = 0; i < db->nocons; i++)
        free(db->ocons[i].path);
    for (uint32_t i = 0; i < db->nroleallows; i++) {
        kp_bits_free(&db->roleallows[i].from);
        kp_bits_free(&db->roleallows[i].to);
    }
    free(db->roleallows);
    for (uint32_t i = 0; i < db->naliases; i++)
        free(db->alias_names[i]);
    free(db->alias_names);
    free(db->alias_vals);
    free(db->commons);
    free(db->classes);
    free(db->types);
    free(db->roles);
    free(db->users);
    free(db->bools);
    free(db->isids);
    free(db->rules);
    free(db->conds);
    free(db->ocons);
    kp_map_free(&db->common_map);
    kp_map_free(&db->class_map);
    kp_map_free(&db->type_map);
    kp_map_free(&db->role_map);
    kp_map_free(&db->user_map);
    kp_map_free(&db->bool_map);
    kp_map_free(&db->isid_map);
}

/* The top level: statements until end of input. */
static int parse_pass(struct kp_db *db, const char *src, size_t len, const char *file, int pass)
{
    struct kp_parser p = { .db = db, .pass = pass, .cond = -1 };

    kp_lex_init(&p.lx, src, len, file);
    if (pass == 1 && kp_role_value(&p, "object_r", 1) != 1)
        return -1;
    while (p.lx.tok != T_EOF) {
        if (p.lx.tok == T_BAD) {
            if (pass == 1)
                P_ERR(&p, "unexpected '%s'", p.lx.text);
            kp_next(&p);
            continue;
        }
        size_t before = p.lx.pos;

        kp_statement(&p);
        if (p.lx.pos == before && p.lx.tok != T_EOF)
            kp_next(&p); /* always make progress, e.g. past a stray '}' */
        if (db->errors >= KP_MAX_ERRORS) {
            if (!db->quiet)
                fprintf(stderr, "%s: too many errors, giving up\n", p.lx.tfile);
            break;
        }
    }
    return db->errors ? -1 : 0;
}

int kp_parse(struct kp_db *db, const char *src, size_t len, const char *file)
{
    if (parse_pass(db, src, len, file, 1))
        return -1;
    return parse_pass(db, src, len, file, 2);
}
