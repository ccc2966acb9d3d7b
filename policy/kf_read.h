/* kf_read.h - internal interface between the parts of the binary policy reader. */
#ifndef KEEL_KF_READ_H
#define KEEL_KF_READ_H

#include "kf_cursor.h"
#include "kf_db.h"

int kf_rd_bits(struct kf_cursor *c, struct kf_bits *b, uint32_t limit, const char *what);
int kf_rd_mls_range(struct kf_cursor *c, const char *what);
int kf_rd_context(struct kf_cursor *c, const struct kf_policydb *db, struct kf_context *ctx);
int kf_rd_symtabs(struct kf_cursor *c, struct kf_policydb *db);
int kf_avtab_index(struct kf_policydb *db);

#endif
