/* kd_req.c - the JSON-RPC 2.0 request codec: one message (a request object or a batch array)
 * checked for size, nesting depth (before yajl builds its tree, whose release recurses) and
 * batch length, parsed with yajl, and each element validated: "jsonrpc": "2.0", a method
 * string of at most KD_MAX_METHOD bytes, params an object or an array, id a string, number
 * or null (absent: a notification). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd.h"

/* Deepest nesting of [ and { outside strings; -1 for a NUL byte. */
static int depth_of(const char *t, size_t len)
{
    int depth = 0, max = 0, in_str = 0;

    for (size_t i = 0; i < len; i++) {
        char ch = t[i];
        if (ch == 0)
            return -1;
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '"')
            in_str = 1;
        else if (ch == '[' || ch == '{') {
            if (++depth > max)
                max = depth;
        } else if (ch == ']' || ch == '}')
            depth--;
    }
    return max;
}

static void set_why(struct kd_req *r, int code, const char *why)
{
    r->code = code;
    snprintf(r->why, sizeof(r->why), "%s", why);
}

/* Validate one element of the message into r. */
static void check_one(yajl_val v, struct kd_req *r)
{
    yajl_val ver, method, params;
    const char *m;

    memset(r, 0, sizeof(*r));
    if (!YAJL_IS_OBJECT(v)) {
        set_why(r, KD_INVALID_REQUEST, "a request must be a JSON object");
        return;
    }
    r->self = v;
    r->id = kd_param(v, "id");
    if (r->id && !YAJL_IS_STRING(r->id) && !YAJL_IS_NUMBER(r->id) && !YAJL_IS_NULL(r->id)) {
        set_why(r, KD_INVALID_REQUEST, "\"id\" must be a string, a number or null");
        r->id = NULL;
        return;
    }
    ver = kd_param(v, "jsonrpc");
    m = ver && YAJL_IS_STRING(ver) ? YAJL_GET_STRING(ver) : NULL;
    if (!m || strcmp(m, "2.0")) {
        set_why(r, KD_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
        return;
    }
    method = kd_param(v, "method");
    m = method && YAJL_IS_STRING(method) ? YAJL_GET_STRING(method) : NULL;
    if (!m || !*m) {
        set_why(r, KD_INVALID_REQUEST, "\"method\" must be a non-empty string");
        return;
    }
    if (strlen(m) > KD_MAX_METHOD) {
        set_why(r, KD_INVALID_REQUEST, "\"method\" is longer than 64 bytes");
        return;
    }
    snprintf(r->method, sizeof(r->method), "%s", m);
    params = kd_param(v, "params");
    if (params && !YAJL_IS_OBJECT(params) && !YAJL_IS_ARRAY(params)) {
        set_why(r, KD_INVALID_REQUEST, "\"params\" must be an object or an array");
        return;
    }
    r->params = params;
}

int kd_req_parse(const char *text, size_t len, struct kd_batch *b, char *why, size_t whylen)
{
    char errbuf[256], *copy;
    int depth = depth_of(text, len);

    memset(b, 0, sizeof(*b));
    if (depth < 0) {
        snprintf(why, whylen, "a NUL byte in the message");
        return KD_PARSE_ERROR;
    }
    if (depth > KD_MAX_DEPTH) {
        snprintf(why, whylen, "nested %d deep (at most %d)", depth, KD_MAX_DEPTH);
        return KD_INVALID_REQUEST;
    }
    if (!(copy = malloc(len + 1))) {
        snprintf(why, whylen, "out of memory");
        return KD_INTERNAL_ERROR;
    }
    memcpy(copy, text, len);
    copy[len] = 0;
    errbuf[0] = 0;
    b->tree = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
    free(copy);
    if (!b->tree) {
        char *nl = strchr(errbuf, '\n');
        if (nl)
            *nl = 0;
        snprintf(why, whylen, "%s", errbuf[0] ? errbuf : "not JSON");
        return KD_PARSE_ERROR;
    }
    return kd_req_from_tree(b, why, whylen);
}

int kd_req_from_tree(struct kd_batch *b, char *why, size_t whylen)
{
    b->is_batch = YAJL_IS_ARRAY(b->tree);
    b->n = b->is_batch ? b->tree->u.array.len : 1;
    if (b->is_batch && (b->n == 0 || b->n > KD_MAX_BATCH)) {
        snprintf(why, whylen, b->n ? "a batch of %zu requests (at most %d)" : "an empty batch",
                 b->n, KD_MAX_BATCH);
        kd_batch_free(b);
        return KD_INVALID_REQUEST;
    }
    if (!(b->reqs = calloc(b->n, sizeof(*b->reqs)))) {
        kd_batch_free(b);
        snprintf(why, whylen, "out of memory");
        return KD_INTERNAL_ERROR;
    }
    for (size_t i = 0; i < b->n; i++)
        check_one(b->is_batch ? b->tree->u.array.values[i] : b->tree, &b->reqs[i]);
    return 0;
}

void kd_batch_free(struct kd_batch *b)
{
    if (b->tree)
        yajl_tree_free(b->tree);
    free(b->reqs);
    memset(b, 0, sizeof(*b));
}

yajl_val kd_param(yajl_val params, const char *name)
{
    if (!params || !YAJL_IS_OBJECT(params))
        return NULL;
    for (size_t i = 0; i < params->u.object.len; i++)
        if (!strcmp(params->u.object.keys[i], name))
            return params->u.object.values[i];
    return NULL;
}

int kd_param_str(yajl_val params, const char *name, const char **out, bool required, char *why,
                 size_t whylen)
{
    yajl_val v = kd_param(params, name);

    *out = NULL;
    if (!v && !required)
        return 0;
    if (!v || !YAJL_IS_STRING(v)) {
        snprintf(why, whylen, "\"%s\" must be a string%s", name, v ? "" : " (missing)");
        return -EINVAL;
    }
    *out = YAJL_GET_STRING(v);
    return 0;
}

int kd_param_int(yajl_val params, const char *name, long long min, long long max, long long dflt,
                 long long *out, char *why, size_t whylen)
{
    yajl_val v = kd_param(params, name);

    *out = dflt;
    if (!v)
        return 0;
    if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min || YAJL_GET_INTEGER(v) > max) {
        snprintf(why, whylen, "\"%s\" must be an integer in %lld..%lld", name, min, max);
        return -EINVAL;
    }
    *out = YAJL_GET_INTEGER(v);
    return 0;
}

int kd_param_bool(yajl_val params, const char *name, bool dflt, bool *out, char *why, size_t whylen)
{
    yajl_val v = kd_param(params, name);

    *out = dflt;
    if (!v)
        return 0;
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
        snprintf(why, whylen, "\"%s\" must be true or false", name);
        return -EINVAL;
    }
    *out = YAJL_IS_TRUE(v);
    return 0;
}
