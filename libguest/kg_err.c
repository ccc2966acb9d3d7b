/* kg_err.c - the builder's and save/restore's error reporting: a message into the caller's
 * buffer, the negative errno returned. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "kg_err.h"

int kg__fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}
