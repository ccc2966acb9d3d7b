/* xl_progress.h - the progress line of xl save and xl migrate (xl_progress.c). */
#ifndef KEEL_XL_PROGRESS_H
#define KEEL_XL_PROGRESS_H

#include "keel/kl_light.h"

/* A kl_migrate_progress_cb: one line rewritten with \r on stderr when stderr is a terminal (or
 * with the global -t), nothing otherwise; arg is the verb ("Saving", "Migrating"). */
void xl_progress_line(const kl_migrate_progress *p, void *arg);
/* Whether progress lines are shown at all. */
int xl_progress_wanted(void);

#endif
