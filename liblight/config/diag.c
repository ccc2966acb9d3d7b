/* diag.c - the kl_diag collection of warnings and errors with source positions. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kl_internal.h"

struct kl_diag_entry {
    enum kl_severity sev;
    char *file;
    int line, col;
    char *text;
};

struct kl_diag {
    struct kl_diag_entry *e;
    size_t n, cap, errors;
};

kl_diag *kl_diag_new(void)
{
    return calloc(1, sizeof(kl_diag));
}

void kl_diag_clear(kl_diag *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->e[i].file);
        free(d->e[i].text);
    }
    d->n = d->errors = 0;
}

void kl_diag_free(kl_diag *d)
{
    if (!d)
        return;
    kl_diag_clear(d);
    free(d->e);
    free(d);
}

void kl__diag_add(kl_diag *d, enum kl_severity sev, const kl__pos *pos, const char *fmt, ...)
{
    char msg[1024], prefix[600] = "";
    struct kl_diag_entry *e;
    va_list ap;

    if (!d)
        return;
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        struct kl_diag_entry *ne = realloc(d->e, ncap * sizeof(*ne));
        if (!ne)
            return;
        d->e = ne;
        d->cap = ncap;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (pos && pos->file && pos->line > 0)
        snprintf(prefix, sizeof prefix, "%.500s:%d:%d: ", pos->file, pos->line, pos->col);
    else if (pos && pos->file)
        snprintf(prefix, sizeof prefix, "%.500s: ", pos->file);
    e = &d->e[d->n];
    memset(e, 0, sizeof(*e));
    e->sev = sev;
    e->line = pos ? pos->line : 0;
    e->col = pos ? pos->col : 0;
    e->file = pos && pos->file ? strdup(pos->file) : NULL;
    if (asprintf(&e->text, "%s%s%s", prefix, sev == KL_SEV_WARNING ? "warning: " : "", msg) < 0) {
        free(e->file);
        return;
    }
    d->n++;
    if (sev == KL_SEV_ERROR)
        d->errors++;
}

size_t kl_diag_count(const kl_diag *d)
{
    return d ? d->n : 0;
}

size_t kl_diag_errors(const kl_diag *d)
{
    return d ? d->errors : 0;
}

const char *kl_diag_text(const kl_diag *d, size_t i)
{
    return d && i < d->n ? d->e[i].text : NULL;
}

enum kl_severity kl_diag_severity(const kl_diag *d, size_t i)
{
    return d && i < d->n ? d->e[i].sev : 0;
}

const char *kl_diag_file(const kl_diag *d, size_t i)
{
    return d && i < d->n ? d->e[i].file : NULL;
}

int kl_diag_line(const kl_diag *d, size_t i)
{
    return d && i < d->n ? d->e[i].line : 0;
}

int kl_diag_column(const kl_diag *d, size_t i)
{
    return d && i < d->n ? d->e[i].col : 0;
}

const char *kl_diag_first_error(const kl_diag *d)
{
    for (size_t i = 0; d && i < d->n; i++)
        if (d->e[i].sev == KL_SEV_ERROR)
            return d->e[i].text;
    return NULL;
}

void kl_diag_print(const kl_diag *d, FILE *f)
{
    for (size_t i = 0; d && i < d->n; i++)
        fprintf(f, "%s\n", d->e[i].text);
}
