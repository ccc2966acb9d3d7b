/* test-wire.c - the encoding between keeld's client-facing process and its privileged part
 * (kd_wire.c): requests and batches survive the trip (method, id, params, number flags,
 * elements the front refused); the privileged side marks a read-only role's state-changing
 * methods denied; and it refuses, without crashing, every truncation of a valid message and
 * hostile ones: no role, unknown method index or error code, counts beyond the message, NUL in
 * a string, nesting too deep, a malformed number, params of the wrong type, trailing bytes.
 * The method table here is the test's own (three names): kd_wire.c looks methods up by index
 * only through kd_method_index/kd_method_at/kd_method_readonly. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd_wire.h"
#include "tap.h"

static const struct kd_method table[] = {
    { "host.ping", NULL, false }, { "domain.destroy", NULL, false }, { "domain.list", NULL, false },
};

int kd_method_index(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(table[i].name, name))
            return i;
    return -1;
}

const struct kd_method *kd_method_at(unsigned idx)
{
    return idx < 3 ? &table[idx] : NULL;
}

bool kd_method_readonly(const char *name)
{
    return strcmp(name, "domain.destroy") != 0;
}

/* Encode a JSON message as the front does: the bytes (malloc'd) and their length. */
static unsigned char *encode(const char *json, size_t *len)
{
    struct kd_batch b;
    char why[200];
    unsigned char *p;

    if (kd_req_parse(json, strlen(json), &b, why, sizeof(why)) != 0)
        return NULL;
    kd_wire_req_prepare(&b);
    *len = kd_wire_req_size(&b);
    if ((p = malloc(*len)))
        kd_wire_req_write(&b, p);
    kd_batch_free(&b);
    return p;
}

static char *json_of(yajl_val v)
{
    kd_out *o = kd_out_new();
    char *t;

    kd_gen_value(kd_out_gen(o), v);
    t = strdup(kd_out_text(o, NULL));
    kd_out_free(o);
    return t;
}

static void round_trip(void)
{
    size_t len;
    unsigned char *p = encode("{\"jsonrpc\":\"2.0\",\"method\":\"domain.destroy\",\"id\":\"a\\u00e9\","
                              "\"params\":{\"domain\":7,\"x\":[1.5,true,null,{\"k\":\"v\"}],\"big\":-42}}", &len);
    struct kd_batch b;
    char why[200], *t;

    tap_ok(p != NULL, "a request is encoded");
    tap_is_int(kd_wire_req_read(p, len, KD_ROLE_FULL, &b, why, sizeof(why)), 0, "and decoded");
    tap_ok(!b.is_batch && b.n == 1 && !b.reqs[0].code && !strcmp(b.reqs[0].method, "domain.destroy"),
           "the method comes back by its index");
    t = json_of(b.reqs[0].params);
    tap_ok(!strcmp(t, "{\"domain\":7,\"x\":[1.5,true,null,{\"k\":\"v\"}],\"big\":-42}"),
           "params come back unchanged (%s)", t);
    free(t);
    t = json_of(b.reqs[0].id);
    tap_ok(!strcmp(t, "\"a\xc3\xa9\""), "the id comes back (%s)", t);
    free(t);
    tap_ok(YAJL_IS_INTEGER(kd_param(b.reqs[0].params, "big")) &&
           YAJL_GET_INTEGER(kd_param(b.reqs[0].params, "big")) == -42 &&
           !YAJL_IS_INTEGER(kd_param(b.reqs[0].params, "x")->u.array.values[0]) &&
           YAJL_IS_DOUBLE(kd_param(b.reqs[0].params, "x")->u.array.values[0]),
           "numbers keep yajl's integer and double flags");
    t = json_of(b.reqs[0].self);
    tap_ok(strstr(t, "\"jsonrpc\":\"2.0\"") && strstr(t, "\"method\":\"domain.destroy\""),
           "the request object (for tasks) is whole: %s", t);
    free(t);
    kd_batch_free(&b);
    tap_is_int(kd_wire_req_read(p, len, KD_ROLE_READONLY, &b, why, sizeof(why)), 0,
               "a read-only connection's request decodes");
    tap_ok(b.reqs[0].code == KD_DENIED && strstr(b.reqs[0].why, "read-only"),
           "but a state-changing method is denied by the privileged side (%s)", b.reqs[0].why);
    kd_batch_free(&b);
    for (size_t cut = 0; cut < len; cut++)
        if (kd_wire_req_read(p, cut, KD_ROLE_FULL, &b, why, sizeof(why)) != -EPROTO) {
            tap_ok(0, "a message cut to %zu of %zu bytes is refused", cut, len);
            free(p);
            return;
        }
    tap_ok(1, "every truncation (0..%zu bytes) is refused as malformed", len - 1);
    free(p);
}

static void batches(void)
{
    size_t len;
    unsigned char *p = encode("[{\"jsonrpc\":\"2.0\",\"method\":\"host.ping\",\"id\":1},"
                              "{\"jsonrpc\":\"2.0\",\"method\":\"no.such\",\"id\":2},"
                              "{\"jsonrpc\":\"1.0\",\"method\":\"host.ping\",\"id\":3},"
                              "{\"jsonrpc\":\"2.0\",\"method\":\"domain.list\",\"params\":{\"n\":"
                              "1111111111111111111111111111111111111111111111111111111111111111111111"
                              "1111111111111111111111111111111111111111111111111111111111111111111111"
                              "1111111111111111111111111111111111111111111111111111111111111111111111"
                              "1111111111111111111111111111111111111111111111111111111111111111111111},"
                              "\"id\":4}]", &len);
    struct kd_batch b;
    char why[200];

    tap_ok(p && kd_wire_req_read(p, len, KD_ROLE_FULL, &b, why, sizeof(why)) == 0,
           "a batch of four is encoded and decoded");
    tap_ok(b.is_batch && b.n == 4 && !b.reqs[0].code && b.reqs[1].code == KD_METHOD_NOT_FOUND &&
           strstr(b.reqs[1].why, "no.such") && b.reqs[2].code == KD_INVALID_REQUEST &&
           b.reqs[3].code == KD_INVALID_PARAMS,
           "elements keep their own errors (unknown method, bad envelope, a 280-digit number)");
    tap_ok(b.reqs[1].id && YAJL_GET_INTEGER(b.reqs[1].id) == 2, "a refused element keeps its id");
    kd_batch_free(&b);
    free(p);
}

/* A hand-made message: header, one element of method m and code, id tag, then body bytes. */
static size_t mk(unsigned char *o, uint16_t m, int32_t code, const unsigned char *body, size_t bl)
{
    uint16_t n = 1;

    o[0] = 0;
    o[1] = 0;
    memcpy(o + 2, &n, 2);
    memcpy(o + 4, &m, 2);
    memcpy(o + 6, &code, 4);
    o[10] = 0;                       /* no reason text */
    memcpy(o + 11, body, bl);
    return 11 + bl;
}

static int read_rc(const unsigned char *p, size_t len, enum kd_role role)
{
    struct kd_batch b;
    char why[200];
    int rc = kd_wire_req_read(p, len, role, &b, why, sizeof(why));

    if (rc == 0)
        kd_batch_free(&b);
    return rc;
}

static void hostile(void)
{
    static const unsigned char ok_body[] = { 1 /* id null */, 0 /* no params */ };
    static const unsigned char huge_count[] = { 0, 6, 0xff, 0xff, 0xff, 0x7f };
    static const unsigned char nul_str[] = { 4, 3, 0, 0, 0, 'a', 0, 'b', 0 };
    static const unsigned char bad_num[] = { 5, 2, '1', 'x', 0 };
    static const unsigned char str_params[] = { 0, 4, 1, 0, 0, 0, 'a' };
    static const unsigned char bad_tag[] = { 9, 0 };
    unsigned char m[512], deep[256];
    size_t l, d = 0;

    l = mk(m, 0, 0, ok_body, sizeof(ok_body));
    tap_is_int(read_rc(m, l, KD_ROLE_FULL), 0, "a hand-made minimal message is accepted");
    tap_is_int(read_rc(m, l, 0), -EPROTO, "a connection without a role is refused");
    tap_is_int(read_rc(m, l, 7), -EPROTO, "an unknown role is refused");
    m[l] = 0;
    tap_is_int(read_rc(m, l + 1, KD_ROLE_FULL), -EPROTO, "trailing bytes are refused");
    l = mk(m, 3, 0, ok_body, sizeof(ok_body));
    tap_is_int(read_rc(m, l, KD_ROLE_FULL), -EPROTO, "a method index beyond the table is refused");
    l = mk(m, KD_WIRE_NO_METHOD, -1, ok_body, sizeof(ok_body));
    tap_is_int(read_rc(m, l, KD_ROLE_FULL), -EPROTO, "an unknown error code is refused");
    l = mk(m, 0, KD_DENIED, ok_body, sizeof(ok_body));
    tap_is_int(read_rc(m, l, KD_ROLE_FULL), -EPROTO, "an error with a method index is refused");
    l = mk(m, 0, 0, huge_count, sizeof(huge_count));
    tap_is_int(read_rc(m, l, KD_ROLE_FULL), -EPROTO, "a count of 2^31 in a short message is refused");
    l = mk(m, 0, 0, nul_str, sizeof(nul_str));
    tap_is_int(read_rc(m, l, KD_ROLE_FULL), -EPROTO, "a NUL inside a string is refused");
    l = mk(m, 0, 0, bad_num, sizeof(bad_num));
    tap_is_int(read_rc(m, l, KD_ROLE_FULL), -EPROTO, "a malformed number is refused");
    l = mk(m, 0, 0, str_params, sizeof(str_params));
    tap_is_int(read_rc(m, l, KD_ROLE_FULL), -EPROTO, "params that are a string are refused");
    l = mk(m, 0, 0, bad_tag, sizeof(bad_tag));
    tap_is_int(read_rc(m, l, KD_ROLE_FULL), -EPROTO, "an unknown tag is refused");
    deep[d++] = 0;                   /* no id */
    for (int i = 0; i < 40; i++) {   /* params: 40 nested arrays of one element */
        uint32_t one = 1;
        deep[d++] = 6;
        memcpy(deep + d, &one, 4);
        d += 4;
        if (d > sizeof(deep) - 6)
            break;
    }
    deep[d++] = 1;
    l = mk(m, 0, 0, deep, d);
    tap_ok(read_rc(m, l, KD_ROLE_FULL) == -EPROTO, "nesting 40 deep (more than %d) is refused",
           KD_MAX_DEPTH);
}

int main(void)
{
    round_trip();
    batches();
    hostile();
    return tap_done();
}
