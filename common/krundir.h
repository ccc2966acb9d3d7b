/* krundir.h - the one lookup of Keel's runtime directory: an explicit directory, else
 * $KEEL_RUNDIR, else the configured default (./configure --with-rundir, /run/keel). */
#ifndef KEEL_KRUNDIR_H
#define KEEL_KRUNDIR_H

#include <stddef.h>

/* dir when it is set and not empty, else $KEEL_RUNDIR when set and not empty, else the
 * default. The result is dir, the environment's string or a constant: never freed. */
const char *krundir(const char *dir);
/* Format "<krundir(dir)>/<sub>" into buf: 0, or -ENAMETOOLONG when it does not fit. */
int krundir_path(char *buf, size_t len, const char *dir, const char *sub);

#endif
