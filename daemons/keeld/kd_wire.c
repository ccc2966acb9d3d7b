/* kd_wire.c - the request encoding between keeld's client-facing process and its privileged
 * part (format in kd_wire.h). The front writes a parsed request tree in a binary form (no JSON
 * text crosses: the privileged part runs no JSON parser on what the front sends); the
 * privileged part reads it back into a yajl tree of the same shape, checking every length,
 * tag, count and nesting level against the payload, then the envelope (kd_req_from_tree), the
 * method index, the code, and the role. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd_wire.h"

enum { T_ABSENT, T_NULL, T_TRUE, T_FALSE, T_STRING, T_NUMBER, T_ARRAY, T_OBJECT };
#define NUM_MAX 255

/* ---- writing (the front) ---- */

static size_t node_size(yajl_val v)
{
    size_t n = 1;

    if (!v)
        return 1;
    switch (v->type) {
    case yajl_t_string: return 5 + strlen(v->u.string);
    case yajl_t_number: {
        return 2 + strlen(v->u.number.r);     /* at most NUM_MAX: kd_wire_req_prepare */
    }
    case yajl_t_array:
        n += 4;
        for (size_t i = 0; i < v->u.array.len; i++)
            n += node_size(v->u.array.values[i]);
        return n;
    case yajl_t_object:
        n += 4;
        for (size_t i = 0; i < v->u.object.len; i++)
            n += 4 + strlen(v->u.object.keys[i]) + node_size(v->u.object.values[i]);
        return n;
    default: return 1;
    }
}

static unsigned char *put32(unsigned char *o, uint32_t v)
{
    memcpy(o, &v, 4);
    return o + 4;
}

static unsigned char *put_bytes(unsigned char *o, const char *s, size_t n)
{
    o = put32(o, (uint32_t)n);
    memcpy(o, s, n);
    return o + n;
}

static unsigned char *node_write(yajl_val v, unsigned char *o)
{
    size_t l;

    if (!v) {
        *o++ = T_ABSENT;
        return o;
    }
    switch (v->type) {
    case yajl_t_string:
        *o++ = T_STRING;
        return put_bytes(o, v->u.string, strlen(v->u.string));
    case yajl_t_number:
        l = strlen(v->u.number.r);
        *o++ = T_NUMBER;
        *o++ = (unsigned char)l;
        memcpy(o, v->u.number.r, l);
        return o + l;
    case yajl_t_array:
        *o++ = T_ARRAY;
        o = put32(o, (uint32_t)v->u.array.len);
        for (size_t i = 0; i < v->u.array.len; i++)
            o = node_write(v->u.array.values[i], o);
        return o;
    case yajl_t_object:
        *o++ = T_OBJECT;
        o = put32(o, (uint32_t)v->u.object.len);
        for (size_t i = 0; i < v->u.object.len; i++) {
            o = put_bytes(o, v->u.object.keys[i], strlen(v->u.object.keys[i]));
            o = node_write(v->u.object.values[i], o);
        }
        return o;
    case yajl_t_true: *o++ = T_TRUE; return o;
    case yajl_t_false: *o++ = T_FALSE; return o;
    default: *o++ = T_NULL; return o;
    }
}

static bool long_number(yajl_val v)
{
    if (!v)
        return false;
    if (YAJL_IS_NUMBER(v))
        return strlen(v->u.number.r) > NUM_MAX;
    for (size_t i = 0; YAJL_IS_ARRAY(v) && i < v->u.array.len; i++)
        if (long_number(v->u.array.values[i]))
            return true;
    for (size_t i = 0; YAJL_IS_OBJECT(v) && i < v->u.object.len; i++)
        if (long_number(v->u.object.values[i]))
            return true;
    return false;
}

void kd_wire_req_prepare(struct kd_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct kd_req *r = &b->reqs[i];
        if (long_number(r->id)) {
            r->id = NULL;
            if (!r->code) {
                r->code = KD_INVALID_REQUEST;
                snprintf(r->why, sizeof(r->why), "\"id\" is a number of more than %d characters",
                         NUM_MAX);
            }
        }
        if (r->code)
            continue;
        if (kd_method_index(r->method) < 0) {
            r->code = KD_METHOD_NOT_FOUND;
            snprintf(r->why, sizeof(r->why), "no method '%s'", r->method);
        } else if (long_number(r->params)) {
            r->code = KD_INVALID_PARAMS;
            snprintf(r->why, sizeof(r->why), "a number of more than %d characters", NUM_MAX);
        }
    }
}

size_t kd_wire_req_size(const struct kd_batch *b)
{
    size_t n = 4;

    for (size_t i = 0; i < b->n; i++) {
        const struct kd_req *r = &b->reqs[i];
        n += 2 + 4 + 1 + (r->code ? strlen(r->why) : 0) + node_size(r->id) +
             node_size(r->code ? NULL : r->params);
    }
    return n;
}

void kd_wire_req_write(const struct kd_batch *b, unsigned char *o)
{
    uint16_t n = (uint16_t)b->n;

    *o++ = b->is_batch;
    *o++ = 0;
    memcpy(o, &n, 2);
    o += 2;
    for (size_t i = 0; i < b->n; i++) {
        const struct kd_req *r = &b->reqs[i];
        int mi = r->code ? -1 : kd_method_index(r->method);
        uint16_t m = mi < 0 ? KD_WIRE_NO_METHOD : (uint16_t)mi;
        int32_t code = r->code;
        size_t wl = r->code ? strlen(r->why) : 0;

        memcpy(o, &m, 2);
        memcpy(o + 2, &code, 4);
        o[6] = (unsigned char)wl;
        memcpy(o + 7, r->why, wl);
        o = node_write(r->id, o + 7 + wl);
        o = node_write(r->code ? NULL : r->params, o);
    }
}

/* ---- reading (the privileged part) ---- */

struct rd {
    const unsigned char *p, *end;
    char *why;
    size_t whylen;
    int err;                         /* 0, -EPROTO, -ENOMEM */
};

static int bad(struct rd *r, const char *what)
{
    if (!r->err) {
        snprintf(r->why, r->whylen, "%s", what);
        r->err = -EPROTO;
    }
    return r->err;
}

static int get(struct rd *r, void *out, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return bad(r, "truncated");
    memcpy(out, r->p, n);
    r->p += n;
    return 0;
}

/* A string of u32 length: malloc'd, NUL-terminated, without NUL inside. */
static char *get_str(struct rd *r)
{
    uint32_t n = 0;
    char *s;

    if (get(r, &n, 4) < 0)
        return NULL;
    if ((size_t)(r->end - r->p) < n) {
        bad(r, "a string longer than the message");
        return NULL;
    }
    if (memchr(r->p, 0, n)) {
        bad(r, "a NUL byte in a string");
        return NULL;
    }
    if (!(s = malloc((size_t)n + 1))) {
        r->err = -ENOMEM;
        return NULL;
    }
    memcpy(s, r->p, n);
    s[n] = 0;
    r->p += n;
    return s;
}

/* A number's text checked for JSON number characters, its values as yajl computes them. */
static int set_number(struct rd *r, yajl_val v, const unsigned char *t, size_t n)
{
    char *end;
    bool digits_only = true;

    if (n == 0 || n > NUM_MAX || !(t[0] == '-' || (t[0] >= '0' && t[0] <= '9')))
        return bad(r, "a malformed number");
    for (size_t i = 0; i < n; i++) {
        if (!strchr("0123456789+-.eE", t[i]) || !t[i])
            return bad(r, "a malformed number");
        if ((t[i] < '0' || t[i] > '9') && !(i == 0 && t[i] == '-'))
            digits_only = false;
    }
    if (!(v->u.number.r = malloc(n + 1))) {
        r->err = -ENOMEM;
        return r->err;
    }
    memcpy(v->u.number.r, t, n);
    v->u.number.r[n] = 0;
    v->u.number.flags = 0;
    errno = 0;
    v->u.number.i = strtoll(v->u.number.r, &end, 10);
    if (digits_only && n > (t[0] == '-') && errno == 0 && !*end)
        v->u.number.flags |= YAJL_NUMBER_INT_VALID;
    errno = 0;
    v->u.number.d = strtod(v->u.number.r, &end);
    if (errno == 0 && !*end)
        v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
    return 0;
}

static yajl_val node_read(struct rd *r, int depth);

static int read_children(struct rd *r, yajl_val v, int depth, bool object)
{
    uint32_t n = 0;

    if (get(r, &n, 4) < 0)
        return r->err;
    /* every element takes at least one byte (an object's, five): the count cannot lie */
    if (n > (size_t)(r->end - r->p) / (object ? 5 : 1))
        return bad(r, "a count beyond the message");
    if (n && !(object ? (v->u.object.values = calloc(n, sizeof(yajl_val))) &&
                        (v->u.object.keys = calloc(n, sizeof(char *)))
                      : (v->u.array.values = calloc(n, sizeof(yajl_val))) != NULL)) {
        r->err = -ENOMEM;
        return r->err;
    }
    for (uint32_t i = 0; i < n; i++) {
        yajl_val c;
        char *key = NULL;
        if (object && !(key = get_str(r)))
            return r->err;
        if (!(c = node_read(r, depth + 1))) {
            free(key);
            return r->err ? r->err : bad(r, "an absent member");
        }
        if (object)
            v->u.object.keys[i] = key;
        if (object)
            v->u.object.values[v->u.object.len++] = c;
        else
            v->u.array.values[v->u.array.len++] = c;
    }
    return 0;
}

/* A node, or NULL: absent (r->err 0) or failed. */
static yajl_val node_read(struct rd *r, int depth)
{
    unsigned char tag = 0, nl = 0;
    yajl_val v;

    if (get(r, &tag, 1) < 0)
        return NULL;
    if (tag == T_ABSENT)
        return NULL;
    if (tag > T_OBJECT) {
        bad(r, "an unknown tag");
        return NULL;
    }
    if (depth > KD_MAX_DEPTH) {
        bad(r, "nested too deep");
        return NULL;
    }
    if (!(v = calloc(1, sizeof(*v)))) {
        r->err = -ENOMEM;
        return NULL;
    }
    switch (tag) {
    case T_NULL: v->type = yajl_t_null; break;
    case T_TRUE: v->type = yajl_t_true; break;
    case T_FALSE: v->type = yajl_t_false; break;
    case T_STRING:
        v->type = yajl_t_string;
        v->u.string = get_str(r);
        break;
    case T_NUMBER:
        v->type = yajl_t_number;
        if (get(r, &nl, 1) == 0 && (size_t)(r->end - r->p) < nl)
            bad(r, "a number longer than the message");
        if (!r->err && set_number(r, v, r->p, nl) == 0)
            r->p += nl;
        break;
    case T_ARRAY:
        v->type = yajl_t_array;
        read_children(r, v, depth, false);
        break;
    default:
        v->type = yajl_t_object;
        read_children(r, v, depth, true);
        break;
    }
    if (r->err) {
        yajl_tree_free(v);
        return NULL;
    }
    return v;
}

/* An object node of n members from keys and values (taken over; NULL values left out). */
static yajl_val make_object(const char *const *keys, yajl_val *vals, size_t n)
{
    yajl_val o = calloc(1, sizeof(*o));

    if (o) {
        o->type = yajl_t_object;
        o->u.object.keys = calloc(n, sizeof(char *));
        o->u.object.values = calloc(n, sizeof(yajl_val));
    }
    if (!o || !o->u.object.keys || !o->u.object.values) {
        if (o) {
            free(o->u.object.keys);
            free(o->u.object.values);
            free(o);
        }
        for (size_t i = 0; i < n; i++)
            if (vals[i])
                yajl_tree_free(vals[i]);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!vals[i])
            continue;
        if (!(o->u.object.keys[o->u.object.len] = strdup(keys[i]))) {
            yajl_tree_free(vals[i]);
            continue;
        }
        o->u.object.values[o->u.object.len++] = vals[i];
    }
    return o;
}

static yajl_val make_string(const char *s)
{
    yajl_val v = calloc(1, sizeof(*v));

    if (v && !(v->u.string = strdup(s))) {
        free(v);
        return NULL;
    }
    if (v)
        v->type = yajl_t_string;
    return v;
}

static bool known_code(int32_t code)
{
    return code == KD_INVALID_REQUEST || code == KD_METHOD_NOT_FOUND || code == KD_DENIED ||
           code == KD_INVALID_PARAMS || code == KD_LIMIT;
}

struct elem {
    uint16_t method;
    int32_t code;
    char why[160];
};

/* One element: its request object (jsonrpc, method, id, params) as kd_req_parse would see it;
 * an element the front refused has no method (kd_req_from_tree marks it, e->code replaces). */
static yajl_val elem_read(struct rd *r, struct elem *e)
{
    static const char *const keys[] = { "jsonrpc", "method", "id", "params" };
    const struct kd_method *m = NULL;
    yajl_val vals[4] = { NULL };
    unsigned char wl;

    if (get(r, &e->method, 2) < 0 || get(r, &e->code, 4) < 0 || get(r, &wl, 1) < 0)
        return NULL;
    if (wl >= sizeof(e->why) || (size_t)(r->end - r->p) < wl || memchr(r->p, 0, wl)) {
        bad(r, "a bad reason text");
        return NULL;
    }
    memcpy(e->why, r->p, wl);
    e->why[wl] = 0;
    r->p += wl;
    if (e->code ? !known_code(e->code) || e->method != KD_WIRE_NO_METHOD
                : !(m = kd_method_at(e->method))) {
        bad(r, e->code ? "an unknown error code" : "an unknown method index");
        return NULL;
    }
    vals[2] = node_read(r, 1);
    if (!r->err)
        vals[3] = node_read(r, 1);
    if (!r->err && vals[2] && !YAJL_IS_STRING(vals[2]) && !YAJL_IS_NUMBER(vals[2]) &&
        !YAJL_IS_NULL(vals[2]))
        bad(r, "an id that is not a string, number or null");
    if (!r->err && (e->code ? vals[3] != NULL : vals[3] && !YAJL_IS_OBJECT(vals[3]) &&
                                                 !YAJL_IS_ARRAY(vals[3])))
        bad(r, "bad params");
    if (!r->err && (!(vals[0] = make_string("2.0")) || (m && !(vals[1] = make_string(m->name)))))
        r->err = -ENOMEM;
    if (r->err) {
        for (int i = 0; i < 4; i++)
            if (vals[i])
                yajl_tree_free(vals[i]);
        return NULL;
    }
    return make_object(keys, vals, 4);
}

int kd_wire_req_read(const unsigned char *p, size_t len, enum kd_role role, struct kd_batch *b,
                     char *why, size_t whylen)
{
    struct rd r = { p, p + len, why, whylen, 0 };
    struct elem *el = NULL;
    unsigned char isb, pad;
    uint16_t n;
    yajl_val arr = NULL;

    memset(b, 0, sizeof(*b));
    if (role != KD_ROLE_READONLY && role != KD_ROLE_FULL)
        return bad(&r, "a connection without a role");
    if (get(&r, &isb, 1) < 0 || get(&r, &pad, 1) < 0 || get(&r, &n, 2) < 0)
        return r.err;
    if (isb > 1 || pad || n == 0 || n > KD_MAX_BATCH || (!isb && n != 1))
        return bad(&r, "a bad batch header");
    if (!(el = calloc(n, sizeof(*el))) ||
        (isb && (!(arr = calloc(1, sizeof(*arr))) ||
                 !(arr->u.array.values = calloc(n, sizeof(yajl_val)))))) {
        free(el);
        free(arr);
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    if (arr)
        arr->type = yajl_t_array;
    for (uint16_t i = 0; i < n && !r.err; i++) {
        yajl_val v = elem_read(&r, &el[i]);
        if (v && arr)
            arr->u.array.values[arr->u.array.len++] = v;
        else if (v)
            b->tree = v;
        else if (!r.err)
            r.err = -ENOMEM;
    }
    if (!r.err && r.p != r.end)
        bad(&r, "bytes after the last element");
    if (arr)
        b->tree = arr;
    if (r.err) {
        if (r.err == -ENOMEM)
            snprintf(why, whylen, "out of memory");
        kd_batch_free(b);
        free(el);
        return r.err;
    }
    if (kd_req_from_tree(b, why, whylen) != 0) {
        free(el);
        kd_batch_free(b);
        return -EPROTO;
    }
    for (size_t i = 0; i < b->n; i++) {
        struct kd_req *q = &b->reqs[i];
        if (el[i].code) {
            q->code = el[i].code;
            snprintf(q->why, sizeof(q->why), "%s", el[i].why);
        } else if (q->code) {                /* the envelope check failed on our own tree */
            free(el);
            kd_batch_free(b);
            snprintf(why, whylen, "an element that is not a request");
            return -EPROTO;
        } else if (role == KD_ROLE_READONLY && !kd_method_readonly(q->method)) {
            q->code = KD_DENIED;
            snprintf(q->why, sizeof(q->why), "read-only access: %s changes state", q->method);
        }
    }
    free(el);
    return 0;
}
