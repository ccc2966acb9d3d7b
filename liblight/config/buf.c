/* buf.c - a growable string buffer for the xl.cfg and spec-string printers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kl_internal.h"

static int buf_reserve(kl__buf *b, size_t extra)
{
    size_t ncap;
    char *ns;

    if (b->failed)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + extra + 1)
        ncap *= 2;
    ns = realloc(b->s, ncap);
    if (!ns) {
        b->failed = 1;
        return -1;
    }
    b->s = ns;
    b->cap = ncap;
    return 0;
}

void kl__buf_add(kl__buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Double-quoted with the escapes the xl.cfg lexer understands. */
void kl__buf_add_quoted(kl__buf *b, const char *s)
{
    kl__buf_add(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '"': kl__buf_add(b, "\\\""); break;
        case '\\': kl__buf_add(b, "\\\\"); break;
        case '\n': kl__buf_add(b, "\\n"); break;
        case '\t': kl__buf_add(b, "\\t"); break;
        case '\r': kl__buf_add(b, "\\r"); break;
        default:
            if (ch < 0x20 || ch == 0x7f)
                kl__buf_add(b, "\\x%02x", ch);
            else
                kl__buf_add(b, "%c", ch);
        }
    }
    kl__buf_add(b, "\"");
}

char *kl__buf_take(kl__buf *b)
{
    char *s = b->failed ? NULL : b->s;

    if (b->failed)
        free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return s;
}
