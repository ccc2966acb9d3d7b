/* kg_err.h - libkeelguest internal: error reporting shared by its source files. */
#ifndef KEEL_KG_ERR_H
#define KEEL_KG_ERR_H

#include <stddef.h>

/* Write the message into err[errlen] (if given) and return rc. */
int kg__fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), visibility("hidden")));

#endif
