/* kl_diag.h - diagnostics collected by liblight's configuration functions.
 *
 * Every parsing and validation function takes an optional kl_diag (NULL: discard) and appends
 * warnings and errors to it, each carrying its position (file, line, column; 0 when unknown)
 * and a complete one-line text such as
 *   "guest.cfg:4:10: config parsing error near `+': expected `=' or `+=' after `memory'". */
#ifndef KEEL_KL_DIAG_H
#define KEEL_KL_DIAG_H

#include <stddef.h>
#include <stdio.h>

typedef struct kl_diag kl_diag;

enum kl_severity { KL_SEV_WARNING = 1, KL_SEV_ERROR = 2 };

kl_diag *kl_diag_new(void);
void kl_diag_free(kl_diag *d);
void kl_diag_clear(kl_diag *d);
/* Number of entries, and of entries with severity KL_SEV_ERROR. */
size_t kl_diag_count(const kl_diag *d);
size_t kl_diag_errors(const kl_diag *d);
/* Accessors for entry i (i < kl_diag_count); out of range gives NULL / 0. */
const char *kl_diag_text(const kl_diag *d, size_t i);
enum kl_severity kl_diag_severity(const kl_diag *d, size_t i);
const char *kl_diag_file(const kl_diag *d, size_t i);
int kl_diag_line(const kl_diag *d, size_t i);
int kl_diag_column(const kl_diag *d, size_t i);
/* Text of the first error (NULL if none). */
const char *kl_diag_first_error(const kl_diag *d);
/* Write every entry, one per line, to f. */
void kl_diag_print(const kl_diag *d, FILE *f);

#endif
