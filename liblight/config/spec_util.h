/* spec_util.h - helpers shared by the device spec-string parsers (internal). */
#ifndef KEEL_SPEC_UTIL_H
#define KEEL_SPEC_UTIL_H

#include <stdbool.h>

#include "kl_internal.h"

/* Splits the spec at commas; each token trimmed of blanks. Returns a NULL-terminated array
 * of owned strings (free with kl__spec_free) or NULL on ENOMEM. */
char **kl__spec_split(const char *spec);
void kl__spec_free(char **toks);
/* For "key=value", *value points after '=' and the key is NUL-terminated in place. */
bool kl__spec_kv(char *tok, char **value);
/* Replaces *dst by a copy of s (NULL for ""); 0 or -ENOMEM. */
int kl__spec_set(char **dst, const char *s);
/* "what: message in `spec'" at pos, as an error. */
void kl__spec_err(kl_diag *d, const kl__pos *pos, const char *what, const char *spec,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void kl__spec_warn(kl_diag *d, const kl__pos *pos, const char *what, const char *spec,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
