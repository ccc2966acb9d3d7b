/* spec_util.c - splitting and error helpers for the device spec-string parsers. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_util.h"

static char *trimmed(const char *b, const char *e)
{
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    return strndup(b, (size_t)(e - b));
}

char **kl__spec_split(const char *spec)
{
    size_t n = 1, k = 0;
    char **toks;

    for (const char *p = spec; *p; p++)
        n += *p == ',';
    toks = calloc(n + 1, sizeof(char *));
    if (!toks)
        return NULL;
    for (const char *b = spec;; k++) {
        const char *e = strchr(b, ',');
        if (!e)
            e = b + strlen(b);
        if (!(toks[k] = trimmed(b, e))) {
            kl__spec_free(toks);
            return NULL;
        }
        if (!*e)
            break;
        b = e + 1;
    }
    return toks;
}

void kl__spec_free(char **toks)
{
    for (size_t i = 0; toks && toks[i]; i++)
        free(toks[i]);
    free(toks);
}

bool kl__spec_kv(char *tok, char **value)
{
    char *eq = strchr(tok, '=');

    if (!eq)
        return false;
    *eq = '\0';
    *value = eq + 1;
    return true;
}

int kl__spec_set(char **dst, const char *s)
{
    char *c = NULL;

    if (s && *s && !(c = strdup(s)))
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

__attribute__((format(printf, 6, 0)))
static void spec_msg(kl_diag *d, enum kl_severity sev, const kl__pos *pos, const char *what,
                     const char *spec, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof msg, fmt, ap);
    kl__diag_add(d, sev, pos, "%s: %s in `%.200s'", what, msg, spec);
}

void kl__spec_err(kl_diag *d, const kl__pos *pos, const char *what, const char *spec,
                  const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    spec_msg(d, KL_SEV_ERROR, pos, what, spec, fmt, ap);
    va_end(ap);
}

void kl__spec_warn(kl_diag *d, const kl__pos *pos, const char *what, const char *spec,
                   const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    spec_msg(d, KL_SEV_WARNING, pos, what, spec, fmt, ap);
    va_end(ap);
}
