/* kf_db.h - libkeelflask internals: the in-memory form of a loaded binary policy.
 *
 * Everything here is built by kf_read.c from a validated image and is immutable afterwards,
 * except the boolean states and conditional-node states, which change only under the handle's
 * write lock. */
#ifndef KEEL_KF_DB_H
#define KEEL_KF_DB_H

#include <stddef.h>
#include <stdint.h>

#define KF_MAGIC 0xf97cff8cu
#define KF_CONFIG_MLS 1u
#define KF_MAX_PERMS 32
#define KF_MAX_ISID 64       /* SIDs 1..64 are reserved for initial SIDs */
#define KF_UNLABELED_ISID 6  /* Xen's numbering: contexts lost on reload map here */

/* A flat bitmap; bit i means value i+1. */
struct kf_bits {
    uint32_t nwords;
    uint64_t *w;
};

static inline int kf_bit(const struct kf_bits *b, uint32_t i)
{
    return i / 64 < b->nwords && ((b->w[i / 64] >> (i % 64)) & 1);
}

struct kf_common {
    char *name;
    uint32_t nperms;
    char *perms[KF_MAX_PERMS]; /* by value - 1 */
};

/* Constraint expression node (postfix). */
struct kf_cexpr {
    uint32_t type, attr, op;
    struct kf_bits names;
};

struct kf_constraint {
    uint32_t perms;
    uint32_t nexpr;
    struct kf_cexpr *expr;
};

struct kf_class {
    char *name;
    struct kf_common *common; /* may be NULL */
    uint32_t nperms;           /* total, including the common's */
    char *perms[KF_MAX_PERMS]; /* own and inherited names by value - 1 */
    uint32_t ncons;
    struct kf_constraint *cons;
};

struct kf_role {
    char *name;
    struct kf_bits types;
};

struct kf_type {
    char *name; /* primary name */
    int attr;
};

struct kf_user {
    char *name;
    struct kf_bits roles;
};

struct kf_bool {
    char *name;
    int state;
    int pending;
};

/* Name -> value index (sorted array for binary search). */
struct kf_name {
    const char *name;
    uint32_t value;
};

struct kf_names {
    uint32_t n;
    struct kf_name *v;
};

#define KF_AVTAB_ALLOWED 0x0001
#define KF_AVTAB_AUDITALLOW 0x0002
#define KF_AVTAB_AUDITDENY 0x0004
#define KF_AVTAB_TRANSITION 0x0010
#define KF_AVTAB_MEMBER 0x0020
#define KF_AVTAB_CHANGE 0x0040
#define KF_AVTAB_ENABLED 0x8000

struct kf_avent {
    uint16_t stype, ttype, tclass, spec;
    uint32_t data;
    int32_t cond;  /* -1: unconditional; else index of conditional node */
    int cond_true; /* entry is in the node's true list */
};

/* Hash index over avtab entries: chains of entry indexes. */
struct kf_avtab {
    uint32_t n;
    struct kf_avent *e;
    uint32_t mask;
    int32_t *head; /* mask + 1 heads */
    int32_t *next; /* n */
};

struct kf_cond_term {
    uint32_t type; /* 1 bool, 2 not, 3 or, 4 and, 5 xor, 6 eq, 7 neq */
    uint32_t boolv;
};

struct kf_cond {
    uint32_t nexpr;
    struct kf_cond_term *expr;
    int state;
};

struct kf_context {
    uint32_t user, role, type;
};

struct kf_isid {
    uint32_t sid;
    struct kf_context ctx;
};

struct kf_policydb {
    uint32_t version, config;
    uint32_t ncommons, nclasses, nroles, ntypes, nusers, nbools;
    struct kf_common *commons;
    struct kf_class *classes; /* by value - 1 */
    struct kf_role *roles;
    struct kf_type *types;
    struct kf_user *users;
    struct kf_bool *bools;
    struct kf_names class_names, role_names, type_names, user_names, bool_names;
    struct kf_avtab te;     /* unconditional + conditional entries */
    uint32_t nconds;
    struct kf_cond *conds;
    struct kf_bits *type_attr_map; /* ntypes */
    uint32_t nisids;
    struct kf_isid *isids;
    uint32_t nocons[6];
};

/* kf_read.c */
int kf_db_read(struct kf_policydb **out, const uint8_t *img, size_t len, char *err, size_t errlen);
void kf_db_free(struct kf_policydb *db);
int kf_names_find(const struct kf_names *n, const char *name, uint32_t *value);

/* kf_eval.c */
void kf_db_eval_conds(struct kf_policydb *db);
void kf_db_compute_av(const struct kf_policydb *db, const struct kf_context *s,
                      const struct kf_context *t, uint16_t tclass, uint32_t *allowed,
                      uint32_t *auditallow, uint32_t *auditdeny);
int kf_db_compute_type(const struct kf_policydb *db, uint32_t stype, uint32_t ttype,
                       uint16_t tclass, uint32_t *newtype);
int kf_db_context_valid(const struct kf_policydb *db, const struct kf_context *c);
int kf_db_parse_context(const struct kf_policydb *db, const char *str, struct kf_context *c);
int kf_db_format_context(const struct kf_policydb *db, const struct kf_context *c, char *buf,
                         size_t len);

#endif
