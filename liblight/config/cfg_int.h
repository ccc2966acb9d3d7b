/* cfg_int.h - the in-memory form of a parsed xl.cfg, shared by the parser and the getters. */
#ifndef KEEL_CFG_INT_H
#define KEEL_CFG_INT_H

#include <stdbool.h>

#include "keel/kl_cfg.h"
#include "kl_internal.h"

struct kl_cfg_value {
    enum kl_cfg_kind kind;
    char *text;                  /* string or number */
    struct kl_cfg_value **items; /* list */
    size_t n, cap;
    kl__pos pos;                 /* pos.file points into kl_cfg.sources */
};

struct kl_cfg_setting {
    char *name;
    struct kl_cfg_value *value;
    kl__pos pos;
};

struct kl_cfg {
    struct kl_cfg_setting *s;
    size_t n, cap;
    char **sources;
    size_t nsources;
};

void kl__cfg_value_free(struct kl_cfg_value *v);
struct kl_cfg_value *kl__cfg_value_copy(const struct kl_cfg_value *v);
int kl__cfg_list_append(struct kl_cfg_value *list, struct kl_cfg_value *item);
const struct kl_cfg_setting *kl__cfg_last(const kl_cfg *cfg, const char *key);
/* Adds a source name to cfg; returns the stored copy or NULL. */
const char *kl__cfg_add_source(kl_cfg *cfg, const char *name);
/* Drop settings after the first keep ones (rollback of a failed parse). */
void kl__cfg_truncate(kl_cfg *cfg, size_t keep);
/* Parse data into cfg (settings appended; += sees earlier ones). line0: first line number. */
int kl__cfg_parse_into(kl_cfg *cfg, const char *source, const char *data, size_t len,
                       int line0, kl_diag *d);

#endif
