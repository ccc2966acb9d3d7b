/* ks_wire.c - wire-level helpers: error names, type names, header and argument validation,
 * path syntax. Everything here is pure and is what the fuzz target hammers first. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ks_wire.h"
#include "kxs.h"

/* The error names are common/kxs_err.c's table, shared with every client. */
const char *ks_errname(int err)
{
    return kxs_errname(err);
}

int ks_errnum(const char *name)
{
    return kxs_errnum(name, strlen(name));
}

static const char *const ks_type_names[KS_TYPE_COUNT] = {
    "CONTROL", "DIRECTORY", "READ", "GET_PERMS", "WATCH", "UNWATCH", "TRANSACTION_START",
    "TRANSACTION_END", "INTRODUCE", "RELEASE", "GET_DOMAIN_PATH", "WRITE", "MKDIR", "RM",
    "SET_PERMS", "WATCH_EVENT", "ERROR", "IS_DOMAIN_INTRODUCED", "RESUME", "SET_TARGET",
    "RESTRICT", "RESET_WATCHES", "DIRECTORY_PART", "GET_FEATURE", "SET_FEATURE", "GET_QUOTA",
    "SET_QUOTA",
};

const char *ks_type_name(uint32_t type)
{
    return type < KS_TYPE_COUNT ? ks_type_names[type] : "?";
}

int ks_hdr_check(const struct ks_hdr *h)
{
    return h->len > KS_PAYLOAD_MAX ? -E2BIG : 0;
}

/* Accepted argument counts per type (WRITE handled apart). */
static void ks_arg_range(uint32_t type, unsigned *lo, unsigned *hi)
{
    *lo = 1;
    *hi = 1;
    switch (type) {
    case KS_CONTROL: *lo = 0; *hi = KS_MAX_ARGS; break;
    case KS_WATCH: *lo = 2; *hi = 3; break;
    case KS_UNWATCH: case KS_SET_TARGET: case KS_DIRECTORY_PART: *lo = 2; *hi = 2; break;
    case KS_TRANSACTION_START: case KS_RESET_WATCHES: case KS_GET_FEATURE:
        *lo = 0; *hi = 1; break;
    case KS_INTRODUCE: *lo = 3; *hi = 4; break;
    case KS_SET_PERMS: *lo = 2; *hi = KS_MAX_ARGS; break;
    case KS_SET_FEATURE: *lo = 1; *hi = 2; break;
    case KS_GET_QUOTA: *lo = 0; *hi = 2; break;
    case KS_SET_QUOTA: *lo = 2; *hi = 3; break;
    default: break;
    }
}

int ks_args_split(uint32_t type, const char *payload, size_t len, struct ks_args *a)
{
    unsigned lo, hi;
    size_t start = 0;

    memset(a, 0, sizeof(*a));
    if (type == KS_WRITE) {
        const char *nul = memchr(payload, '\0', len);
        if (!nul)
            return -EINVAL;
        a->n = 1;
        a->v[0] = payload;
        a->len[0] = (size_t)(nul - payload);
        a->data = nul + 1;
        a->datalen = len - a->len[0] - 1;
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (payload[i] != '\0')
            continue;
        if (a->n == KS_MAX_ARGS)
            return -EINVAL;
        a->v[a->n] = payload + start;
        a->len[a->n] = i - start;
        a->n++;
        start = i + 1;
    }
    if (start != len)
        return -EINVAL;     /* trailing bytes without a terminating NUL */
    ks_arg_range(type, &lo, &hi);
    /* A lone NUL for the no-argument requests counts as zero arguments. */
    if (lo == 0 && a->n == 1 && a->len[0] == 0)
        a->n = 0;
    return a->n >= lo && a->n <= hi ? 0 : -EINVAL;
}

static int ks_path_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '/' || c == '_' || c == '@';
}

int ks_path_valid(const char *p, int special)
{
    size_t n = strlen(p);

    if (p[0] == '@') {
        /* Special watch names (@introduceDomain, @releaseDomain, ...), never nodes. */
        if (!special || n > KS_REL_PATH_MAX)
            return 0;
        for (size_t i = 1; i < n; i++)
            if (!ks_path_char_ok(p[i]))
                return 0;
        return 1;
    }
    if (n == 0 || n > (p[0] == '/' ? KS_ABS_PATH_MAX : KS_REL_PATH_MAX))
        return 0;
    if (strcmp(p, "/") == 0)
        return 1;
    if (p[n - 1] == '/' || strstr(p, "//"))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!ks_path_char_ok(p[i]))
            return 0;
    return 1;
}

int ks_parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

int ks_parse_u32(const char *s, uint32_t *out)
{
    int64_t v;

    if (ks_parse_i64(s, &v) < 0 || v < 0 || v > UINT32_MAX)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}
