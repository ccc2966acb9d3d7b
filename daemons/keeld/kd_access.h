/* kd_access.h - keeld's access file (kd_access.c): which Unix group, TLS client certificate
 * (subject CN) or auth.login token gets which role, full or read-only. */
#ifndef KEEL_KD_ACCESS_H
#define KEEL_KD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum kd_role { KD_ROLE_NONE = 0, KD_ROLE_READONLY = 1, KD_ROLE_FULL = 2 };

struct kd_access;

/* Read the file: one rule a line, "ROLE KIND VALUE" (ROLE full | readonly; KIND group | cert |
 * token), # comments and blank lines. 0, or a negative errno with "FILE:LINE: what" in err. */
int kd_access_load(const char *path, struct kd_access **out, char *err, size_t len);
void kd_access_free(struct kd_access *a);

/* The role a rule gives; the highest when several match; KD_ROLE_NONE when none does. */
enum kd_role kd_access_group(const struct kd_access *a, gid_t gid);
enum kd_role kd_access_cert(const struct kd_access *a, const char *cn);
enum kd_role kd_access_token(const struct kd_access *a, const char *token);
bool kd_access_has(const struct kd_access *a, const char *kind);   /* any rule of that kind */

#endif
