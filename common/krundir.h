/* krundir.h - the one lookup of Keel's runtime directory: an explicit directory, else
 * $KEEL_RUNDIR, else the configured default (./configure --with-rundir, /run/keel).
 * Header-only, so that the libraries (libkeelctrl links no common code) use it as well. */
#ifndef KEEL_KRUNDIR_H
#define KEEL_KRUNDIR_H

#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* dir when it is set and not empty, else $KEEL_RUNDIR when set and not empty, else the
 * default. The result is dir, the environment's string or a constant: never freed. */
static inline const char *krundir(const char *dir)
{
    const char *env;

    if (dir && *dir)
        return dir;
    env = getenv("KEEL_RUNDIR");
    return env && *env ? env : KEEL_DEFAULT_RUNDIR;
}

/* Format "<krundir(dir)>/<sub>" into buf: 0, or -ENAMETOOLONG when it does not fit. */
static inline int krundir_path(char *buf, size_t len, const char *dir, const char *sub)
{
    int n = snprintf(buf, len, "%s/%s", krundir(dir), sub);

    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

#endif
