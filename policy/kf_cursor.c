/* kf_cursor.c - bounds-checked little-endian reads over an untrusted policy image. */
#include "kf_cursor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kf_cur_fail(struct kf_cursor *c, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->failed)
        return -EINVAL;
    c->failed = 1;
    if (c->err && c->errlen) {
        n = snprintf(c->err, c->errlen, "offset %zu: ", c->off);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -EINVAL;
}

static int need(struct kf_cursor *c, size_t n, const char *what)
{
    if (c->failed)
        return -EINVAL;
    if (c->len - c->off < n)
        return kf_cur_fail(c, "truncated image reading %s (%zu bytes needed, %zu left)", what, n,
                           c->len - c->off);
    return 0;
}

int kf_cur_u16(struct kf_cursor *c, uint16_t *v)
{
    if (need(c, 2, "a 16-bit field"))
        return -EINVAL;
    *v = (uint16_t)(c->p[c->off] | (c->p[c->off + 1] << 8));
    c->off += 2;
    return 0;
}

int kf_cur_u32(struct kf_cursor *c, uint32_t *v)
{
    const uint8_t *b;

    if (need(c, 4, "a 32-bit field"))
        return -EINVAL;
    b = c->p + c->off;
    *v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    c->off += 4;
    return 0;
}

int kf_cur_u64(struct kf_cursor *c, uint64_t *v)
{
    uint32_t lo, hi;

    if (kf_cur_u32(c, &lo) || kf_cur_u32(c, &hi))
        return -EINVAL;
    *v = ((uint64_t)hi << 32) | lo;
    return 0;
}

int kf_cur_u32_range(struct kf_cursor *c, uint32_t *v, uint32_t lo, uint32_t hi, const char *what)
{
    if (kf_cur_u32(c, v))
        return -EINVAL;
    if (*v < lo || *v > hi) {
        c->off -= 4;
        return kf_cur_fail(c, "%s %u out of range [%u, %u]", what, *v, lo, hi);
    }
    return 0;
}

int kf_cur_str(struct kf_cursor *c, uint32_t len, uint32_t max, char **out, const char *what)
{
    char *s;

    if (len == 0 || len > max)
        return kf_cur_fail(c, "%s name length %u out of range [1, %u]", what, len, max);
    if (need(c, len, what))
        return -EINVAL;
    if (memchr(c->p + c->off, 0, len))
        return kf_cur_fail(c, "%s name contains a NUL byte", what);
    s = malloc((size_t)len + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, c->p + c->off, len);
    s[len] = 0;
    c->off += len;
    *out = s;
    return 0;
}

int kf_cur_count(struct kf_cursor *c, uint32_t *n, size_t min_item, const char *what)
{
    if (kf_cur_u32(c, n))
        return -EINVAL;
    if (min_item && *n > (c->len - c->off) / min_item) {
        c->off -= 4;
        return kf_cur_fail(c, "%s count %u larger than the image can hold", what, *n);
    }
    return 0;
}
