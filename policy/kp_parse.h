/* kp_parse.h - internal interface between the parts of keel-policyc's parser. */
#ifndef KEEL_KP_PARSE_H
#define KEEL_KP_PARSE_H

#include "kp.h"

struct kp_nsitem {
    char *name;
    int neg;
};

/* A set of names as written: { a -b }, *, ~x, a - b. */
struct kp_nameset {
    uint32_t n, cap;
    struct kp_nsitem *item;
    int star, comp, line;
};

struct kp_parser {
    struct kp_lex lx;
    struct kp_db *db;
    int pass;
    int cond;   /* conditional being parsed, or -1 */
    int branch; /* 1: if-branch, 0: else-branch */
    int depth;  /* nesting of sets and expressions, bounded against hostile input */
};

#define KP_MAX_DEPTH 64

int kp_is(struct kp_parser *p, const char *kw);
void kp_next(struct kp_parser *p);
int kp_expect(struct kp_parser *p, enum kp_tok t, const char *what);
int kp_expect_id(struct kp_parser *p, char *out, size_t len, const char *what);
void kp_sync(struct kp_parser *p);
int kp_nameset(struct kp_parser *p, struct kp_nameset *ns);
void kp_ns_free(struct kp_nameset *ns);
int kp_type_value(struct kp_parser *p, const char *name, int want_attr);
int kp_declare_type(struct kp_parser *p, const char *name, int attr);
int kp_declare_alias(struct kp_parser *p, const char *name, uint32_t value);
int kp_add_attr(struct kp_parser *p, uint32_t type, const char *attr);
int kp_role_value(struct kp_parser *p, const char *name, int declare);

/* kp_stmt.c */
int kp_context(struct kp_parser *p, struct kp_context *ctx);
void kp_statement(struct kp_parser *p);
/* kp_rules.c */
int kp_rule(struct kp_parser *p, enum kp_rule_kind kind);
int kp_role_allow_or_te(struct kp_parser *p);
int kp_constrain(struct kp_parser *p);
int kp_conditional(struct kp_parser *p);
int kp_resolve_typeset(struct kp_parser *p, const struct kp_nameset *ns, struct kp_typeset *ts,
                       int *self);

#endif
