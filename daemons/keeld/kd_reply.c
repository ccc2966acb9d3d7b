/* kd_reply.c - building JSON replies with yajl_gen: values copied from parsed requests, small
 * key/value helpers, and whole error responses. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd.h"

struct kd_out {
    yajl_gen g;
};

kd_out *kd_out_new(void)
{
    kd_out *o = calloc(1, sizeof(*o));

    if (o && !(o->g = yajl_gen_alloc(NULL))) {
        free(o);
        return NULL;
    }
    if (o)
        yajl_gen_config(o->g, yajl_gen_validate_utf8, 0);
    return o;
}

void kd_out_free(kd_out *o)
{
    if (!o)
        return;
    yajl_gen_free(o->g);
    free(o);
}

yajl_gen kd_out_gen(kd_out *o)
{
    return o->g;
}

const char *kd_out_text(kd_out *o, size_t *len)
{
    const unsigned char *buf = NULL;
    size_t l = 0;

    yajl_gen_get_buf(o->g, &buf, &l);
    if (len)
        *len = l;
    return (const char *)buf;
}

void kd_gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void kd_gen_key_str(yajl_gen g, const char *k, const char *v)
{
    kd_gen_str(g, k);
    if (v)
        kd_gen_str(g, v);
    else
        yajl_gen_null(g);
}

void kd_gen_key_int(yajl_gen g, const char *k, long long v)
{
    kd_gen_str(g, k);
    yajl_gen_integer(g, v);
}

void kd_gen_key_bool(yajl_gen g, const char *k, bool v)
{
    kd_gen_str(g, k);
    yajl_gen_bool(g, v);
}

void kd_gen_value(yajl_gen g, yajl_val v)
{
    if (!v || YAJL_IS_NULL(v))
        yajl_gen_null(g);
    else if (YAJL_IS_STRING(v))
        kd_gen_str(g, YAJL_GET_STRING(v));
    else if (YAJL_IS_INTEGER(v))
        yajl_gen_integer(g, YAJL_GET_INTEGER(v));
    else if (YAJL_IS_NUMBER(v))
        yajl_gen_number(g, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
    else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
        yajl_gen_bool(g, YAJL_IS_TRUE(v));
    else if (YAJL_IS_ARRAY(v)) {
        yajl_gen_array_open(g);
        for (size_t i = 0; i < v->u.array.len; i++)
            kd_gen_value(g, v->u.array.values[i]);
        yajl_gen_array_close(g);
    } else if (YAJL_IS_OBJECT(v)) {
        yajl_gen_map_open(g);
        for (size_t i = 0; i < v->u.object.len; i++) {
            kd_gen_str(g, v->u.object.keys[i]);
            kd_gen_value(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
    }
}

char *kd_error_text(yajl_val id, int code, const char *message)
{
    kd_out *o = kd_out_new();
    yajl_gen g;
    char *t;

    if (!o)
        return NULL;
    g = kd_out_gen(o);
    yajl_gen_map_open(g);
    kd_gen_key_str(g, "jsonrpc", "2.0");
    kd_gen_str(g, "id");
    kd_gen_value(g, id);
    kd_gen_str(g, "error");
    yajl_gen_map_open(g);
    kd_gen_key_int(g, "code", code);
    kd_gen_key_str(g, "message", message);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    t = strdup(kd_out_text(o, NULL));
    kd_out_free(o);
    return t;
}

char *kd_result_text(yajl_val id, const char *result_json)
{
    kd_out *o = kd_out_new();
    const char *idt;
    size_t n;
    char *t;

    if (!o)
        return NULL;
    kd_gen_value(kd_out_gen(o), id);
    idt = kd_out_text(o, NULL);
    n = strlen(idt) + strlen(result_json) + 40;
    if ((t = malloc(n)))
        snprintf(t, n, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}", idt,
                 *result_json ? result_json : "null");
    kd_out_free(o);
    return t;
}

void kd_gen_json(yajl_gen g, const char *json)
{
    char err[64];
    yajl_val v = yajl_tree_parse(json, err, sizeof(err));

    kd_gen_value(g, v);
    if (v)
        yajl_tree_free(v);
}
