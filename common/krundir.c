/* krundir.c - the runtime directory lookup (see krundir.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "krundir.h"

const char *krundir(const char *dir)
{
    const char *env;

    if (dir && *dir)
        return dir;
    env = getenv("KEEL_RUNDIR");
    return env && *env ? env : KEEL_DEFAULT_RUNDIR;
}

int krundir_path(char *buf, size_t len, const char *dir, const char *sub)
{
    int n = snprintf(buf, len, "%s/%s", krundir(dir), sub);

    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
