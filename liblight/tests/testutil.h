/* testutil.h - helpers for liblight's configuration tests: source paths, file reading, and
 * checks on the first error of a kl_diag. Header-only. */
#ifndef KEEL_KL_TESTUTIL_H
#define KEEL_KL_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keel/kl_config.h>

#include "tap.h"

/* $KEEL_SRCDIR/liblight/tests/<rel> (the test environment exports KEEL_SRCDIR). */
static inline char *tu_path(const char *rel)
{
    const char *src = getenv("KEEL_SRCDIR");
    char *p;

    if (asprintf(&p, "%s/liblight/tests/%s", src ? src : "..", rel) < 0)
        tap_bail("out of memory");
    return p;
}

static inline char *tu_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static inline long tu_first_error(const kl_diag *d)
{
    for (size_t i = 0; i < kl_diag_count(d); i++)
        if (kl_diag_severity(d, i) == KL_SEV_ERROR)
            return (long)i;
    return -1;
}

/* The first error is at line:col and its text contains frag. */
__attribute__((unused))
static int tu_error_at(const kl_diag *d, int line, int col, const char *frag, const char *what)
{
    long i = tu_first_error(d);
    int ok = i >= 0 && kl_diag_line(d, (size_t)i) == line && kl_diag_column(d, (size_t)i) == col &&
             strstr(kl_diag_text(d, (size_t)i), frag);

    tap_ok(ok, "%s: error at %d:%d containing \"%s\"", what, line, col, frag);
    if (!ok)
        tap_diag("got: %s", i >= 0 ? kl_diag_text(d, (size_t)i) : "(no error)");
    return ok;
}

/* Parse text (source "test.cfg") and convert; returns the rc, fills dc on success. */
__attribute__((unused))
static int tu_convert(const char *text, kl_domain_config *dc, unsigned flags, kl_diag *d)
{
    kl_cfg *cfg;
    int rc = kl_cfg_parse_data(&cfg, "test.cfg", text, strlen(text), d);

    if (rc)
        return rc;
    rc = kl_domain_config_from_cfg(dc, cfg, flags, d);
    kl_cfg_free(cfg);
    return rc;
}

#endif
