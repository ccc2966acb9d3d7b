/* kp.h - internals of keel-policyc, the FLASK policy compiler: the lexer, the parser that
 * builds the policy database, the expansion into access vector rules (with neverallow checks)
 * and the writer of the Xen binary format. */
#ifndef KEEL_KP_H
#define KEEL_KP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- growable bitmaps (bit i = value i + 1) ---- */
struct kp_bits {
    uint32_t nw;
    uint64_t *w;
};
int kp_bits_set(struct kp_bits *b, uint32_t i);
int kp_bits_get(const struct kp_bits *b, uint32_t i);
int kp_bits_or(struct kp_bits *d, const struct kp_bits *s);
void kp_bits_free(struct kp_bits *b);
uint32_t kp_bits_high(const struct kp_bits *b); /* highest set bit + 1, 0 if empty */
int kp_bits_empty(const struct kp_bits *b);
int kp_bits_eq(const struct kp_bits *a, const struct kp_bits *b);

/* ---- string -> index maps ---- */
struct kp_map {
    uint32_t cap, n;
    const char **k;
    int32_t *v;
};
int kp_map_put(struct kp_map *m, const char *k, int32_t v);
int32_t kp_map_get(const struct kp_map *m, const char *k); /* -1 if absent */
void kp_map_free(struct kp_map *m);

/* ---- lexer ---- */
enum kp_tok {
    T_EOF, T_ID, T_NUM, T_LBRACE, T_RBRACE, T_LPAREN, T_RPAREN, T_SEMI, T_COMMA, T_COLON,
    T_TILDE, T_STAR, T_MINUS, T_EQ, T_NEQ, T_AND, T_OR, T_NOT, T_XOR, T_DOT, T_PATH, T_BAD
};

struct kp_lex {
    const char *src;
    size_t len, pos;
    char file[256];
    int line;
    enum kp_tok tok;
    enum kp_tok prev; /* the token consumed last */
    char text[512];
    int tline;
    char tfile[256];
};
void kp_lex_init(struct kp_lex *l, const char *src, size_t len, const char *file);
void kp_lex_next(struct kp_lex *l);

/* ---- policy database ---- */
#define KP_MAXPERM 32

struct kp_common {
    char *name;
    uint32_t nperms;
    char *perms[KP_MAXPERM];
};

struct kp_cexpr {
    uint32_t type, attr, op;
    struct kp_bits names;     /* expanded values */
    struct kp_bits tnames;    /* type names as written (types and attributes) */
    struct kp_bits tneg;
    uint32_t tflags;
};

struct kp_cons {
    uint32_t perms;
    uint32_t nexpr;
    struct kp_cexpr *expr;
};

struct kp_class {
    char *name;
    int common;  /* index into commons or -1 */
    int defined; /* access vector given */
    uint32_t nperms;
    char *perms[KP_MAXPERM];
    uint32_t ncons;
    struct kp_cons *cons; /* in written order */
};

struct kp_type {
    char *name;
    int attr;
    struct kp_bits members; /* for attributes: member types */
    struct kp_bits attrs;   /* for types: attributes it has */
};

struct kp_role {
    char *name;
    struct kp_bits types; /* as written (may name attributes) */
};

struct kp_user {
    char *name;
    struct kp_bits roles;
};

struct kp_bool {
    char *name;
    int state;
};

struct kp_context {
    uint32_t user, role, type;
};

struct kp_isid {
    char *name;
    int has_ctx;
    struct kp_context ctx;
};

#define KP_TS_STAR 1
#define KP_TS_COMP 2
struct kp_typeset {
    struct kp_bits pos, neg;
    uint32_t flags;
};

enum kp_rule_kind { R_ALLOW, R_AUDITALLOW, R_DONTAUDIT, R_NEVERALLOW, R_TRANS, R_MEMBER, R_CHANGE };

struct kp_rule {
    enum kp_rule_kind kind;
    struct kp_typeset src, tgt;
    int self;
    struct kp_bits classes;
    uint32_t perms[256]; /* per class value - 1 (classes <= 256 in practice) */
    uint32_t newtype;
    int cond;   /* -1 unconditional, else conditional index */
    int branch; /* 1 true list, 0 false list */
    int block;  /* sequence number of the if statement it came from */
    char file[256];
    int line;
};

struct kp_condterm {
    uint32_t type, boolv;
};

#define KP_COND_MAX_BOOLS 5
struct kp_cond {
    uint32_t nexpr;
    struct kp_condterm expr[64];
    uint32_t nbools; /* distinct booleans, counted past KP_COND_MAX_BOOLS */
    uint32_t bool_ids[KP_COND_MAX_BOOLS];
    uint32_t truth; /* truth table over bool_ids (when nbools <= KP_COND_MAX_BOOLS) */
};

struct kp_ocon {
    uint32_t kind; /* 1 pirq, 2 ioport, 3 iomem, 4 pcidevice, 5 devicetree */
    uint64_t lo, hi;
    char *path;
    struct kp_context ctx;
};

struct kp_roleallow {
    struct kp_bits from, to;
};

struct kp_db {
    uint32_t nroleallows;
    struct kp_roleallow *roleallows;
    uint32_t ncommons, nclasses, ntypes, nroles, nusers, nbools, nisids, nrules, nconds, nocons;
    struct kp_common *commons;
    struct kp_class *classes;
    struct kp_type *types;
    struct kp_role *roles;
    struct kp_user *users;
    struct kp_bool *bools;
    struct kp_isid *isids;
    struct kp_rule *rules;
    struct kp_cond *conds;
    struct kp_ocon *ocons;
    struct kp_map common_map, class_map, type_map, role_map, user_map, bool_map, isid_map;
    char **alias_names; /* alias name -> primary value, kept for the writer */
    uint32_t *alias_vals;
    uint32_t naliases;
    int errors;
    int quiet; /* count errors without printing them (fuzzing) */
    int nblocks;
};

#define KP_MAX_ERRORS 100

/* Diagnostics: "file:line: error: ..." on stderr, counted in db->errors. */
void kp_error(struct kp_db *db, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* kp_parse.c */
int kp_parse(struct kp_db *db, const char *src, size_t len, const char *file);
void kp_db_init(struct kp_db *db);
void kp_db_free(struct kp_db *db);

/* kp_expand.c: the avtab as checkpolicy builds it, and the neverallow check */
struct kp_avent {
    uint16_t s, t, c, spec;
    uint32_t data;
    uint32_t block, rule, seq; /* where a conditional entry came from (for its order) */
};
struct kp_avtab {
    uint32_t n, cap;
    struct kp_avent *e;
};
struct kp_condav {
    struct kp_avtab t, f; /* true and false lists in written order */
};
int kp_expand(struct kp_db *db, struct kp_avtab *te, struct kp_condav **condav);
int kp_check_neverallow(struct kp_db *db);
void kp_type_expand(const struct kp_db *db, const struct kp_typeset *ts, int always,
                    struct kp_bits *out);

/* kp_renumber.c */
int kp_renumber(struct kp_db *db);

/* kp_write.c */
int kp_write(struct kp_db *db, uint32_t version, FILE *out);

/* kp_header.c */
int kp_write_header(struct kp_db *db, FILE *out);

#endif
