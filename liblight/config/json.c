/* json.c - yajl plumbing for the generated JSON code: error paths, bounded tree parsing,
 * a beautified generator, and the JSON forms of strings, integers and booleans. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kl_internal.h"

#define KL_JSON_MAX_BYTES (16u << 20)
#define KL_JSON_MAX_DEPTH 64

size_t kl__jctx_push(kl__jctx *c, const char *field)
{
    size_t mark = c->len;
    int n = snprintf(c->path + c->len, sizeof c->path - c->len, "%s%s", c->len ? "." : "", field);

    if (n > 0)
        c->len = c->len + (size_t)n < sizeof c->path ? c->len + (size_t)n : sizeof c->path - 1;
    return mark;
}

size_t kl__jctx_push_index(kl__jctx *c, size_t i)
{
    size_t mark = c->len;
    int n = snprintf(c->path + c->len, sizeof c->path - c->len, "[%zu]", i);

    if (n > 0)
        c->len = c->len + (size_t)n < sizeof c->path ? c->len + (size_t)n : sizeof c->path - 1;
    return mark;
}

void kl__jctx_pop(kl__jctx *c, size_t mark)
{
    c->len = mark;
    c->path[mark] = '\0';
}

int kl__json_err(kl__jctx *c, const char *what)
{
    kl__diag_add(c->d, KL_SEV_ERROR, NULL, "JSON: %s: %s", c->len ? c->path : "(top level)", what);
    return -EINVAL;
}

/* yajl_tree recurses while freeing: refuse deeply nested documents before parsing. */
static int json_depth_ok(const char *s, size_t len)
{
    int depth = 0, in_str = 0;

    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > KL_JSON_MAX_DEPTH)
                return 0;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return 1;
}

int kl__json_tree(const char *json, yajl_val *out, kl_diag *d)
{
    char err[256] = "";
    size_t len = json ? strlen(json) : 0;

    *out = NULL;
    if (!json || len > KL_JSON_MAX_BYTES) {
        kl__diag_add(d, KL_SEV_ERROR, NULL, "JSON: document missing or larger than %u bytes",
                     KL_JSON_MAX_BYTES);
        return -EINVAL;
    }
    if (!json_depth_ok(json, len)) {
        kl__diag_add(d, KL_SEV_ERROR, NULL, "JSON: nested deeper than %d levels",
                     KL_JSON_MAX_DEPTH);
        return -EINVAL;
    }
    *out = yajl_tree_parse(json, err, sizeof err);
    if (!*out) {
        char *nl = strchr(err, '\n');
        if (nl)
            *nl = '\0';
        kl__diag_add(d, KL_SEV_ERROR, NULL, "JSON: syntax error: %s", err[0] ? err : "invalid");
        return -EINVAL;
    }
    return 0;
}

yajl_gen kl__json_gen_new(void)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g) {
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_config(g, yajl_gen_indent_string, "    ");
    }
    return g;
}

char *kl__json_gen_finish(yajl_gen g, int rc)
{
    const unsigned char *buf;
    size_t len;
    char *s = NULL;

    if (!g)
        return NULL;
    if (!rc && yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
        s = malloc(len + 1);
        if (s) {
            memcpy(s, buf, len);
            s[len] = '\0';
        }
    }
    yajl_gen_free(g);
    return s;
}

int kl__json_key(yajl_gen g, const char *key)
{
    return yajl_gen_string(g, (const unsigned char *)key, strlen(key)) ? -EINVAL : 0;
}

int kl__string_gen_json(yajl_gen g, char *const *p)
{
    if (!*p)
        return yajl_gen_null(g) ? -EINVAL : 0;
    return yajl_gen_string(g, (const unsigned char *)*p, strlen(*p)) ? -EINVAL : 0;
}

int kl__string_parse_json(kl__jctx *c, yajl_val v, char **p)
{
    if (YAJL_IS_NULL(v)) {
        *p = NULL;
        return 0;
    }
    if (!YAJL_IS_STRING(v))
        return kl__json_err(c, "expected a string");
    *p = strdup(v->u.string);
    return *p ? 0 : -ENOMEM;
}

int kl__string_copy(char **dst, char *const *src)
{
    *dst = *src ? strdup(*src) : NULL;
    return *src && !*dst ? -ENOMEM : 0;
}

bool kl__string_equal(char *const *a, char *const *b)
{
    if (!*a || !*b)
        return *a == *b;
    return !strcmp(*a, *b);
}

int kl__int_gen_json(yajl_gen g, long long v)
{
    return yajl_gen_integer(g, v) ? -EINVAL : 0;
}

int kl__uint64_gen_json(yajl_gen g, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRIu64, v);

    return yajl_gen_number(g, num, (size_t)n) ? -EINVAL : 0;
}

int kl__int_parse_json(kl__jctx *c, yajl_val v, long long min, long long max, long long *out)
{
    char msg[128];

    if (!YAJL_IS_INTEGER(v))
        return kl__json_err(c, "expected an integer");
    if (YAJL_GET_INTEGER(v) < min || YAJL_GET_INTEGER(v) > max) {
        snprintf(msg, sizeof msg, "integer out of range [%lld, %lld]", min, max);
        return kl__json_err(c, msg);
    }
    *out = YAJL_GET_INTEGER(v);
    return 0;
}

int kl__uint64_parse_json(kl__jctx *c, yajl_val v, uint64_t *out)
{
    const char *s = YAJL_IS_NUMBER(v) ? YAJL_GET_NUMBER(v) : NULL;
    char *end;
    unsigned long long x;

    if (!s || s[0] < '0' || s[0] > '9')
        return kl__json_err(c, "expected a non-negative integer");
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno || *end)
        return kl__json_err(c, "expected a non-negative integer below 2^64");
    *out = x;
    return 0;
}

int kl__bool_parse_json(kl__jctx *c, yajl_val v, bool *out)
{
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
        return kl__json_err(c, "expected true or false");
    *out = YAJL_IS_TRUE(v);
    return 0;
}

int kl__bool_gen_json(yajl_gen g, bool v)
{
    return yajl_gen_bool(g, v) ? -EINVAL : 0;
}
