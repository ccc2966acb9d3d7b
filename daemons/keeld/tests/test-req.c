/* test-req.c - keeld's request codec: valid requests, notifications and batches; every
 * rejection (not JSON, NUL byte, too deep, empty or oversized batch, bad jsonrpc, method, params
 * or id types, long method names); typed parameter getters; error and result texts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd.h"
#include "tap.h"

static int parse(const char *t, struct kd_batch *b, char *why)
{
    return kd_req_parse(t, strlen(t), b, why, 200);
}

static int one_code(const char *t)
{
    struct kd_batch b;
    char why[200];
    int rc = parse(t, &b, why);

    if (rc == 0) {
        rc = b.reqs[0].code;
        kd_batch_free(&b);
    }
    return rc;
}

static void valid(void)
{
    struct kd_batch b;
    char why[200];

    tap_is_int(parse("{\"jsonrpc\":\"2.0\",\"method\":\"domain.info\",\"params\":{\"domain\":\"x\"},\"id\":4}",
                     &b, why), 0, "a request parses");
    tap_ok(!b.is_batch && b.n == 1 && !strcmp(b.reqs[0].method, "domain.info") && b.reqs[0].id &&
           YAJL_GET_INTEGER(b.reqs[0].id) == 4 && kd_param(b.reqs[0].params, "domain"),
           "method, id and params are taken");
    kd_batch_free(&b);
    tap_is_int(parse("{\"jsonrpc\":\"2.0\",\"method\":\"host.ping\"}", &b, why), 0, "a notification parses");
    tap_ok(b.reqs[0].id == NULL && b.reqs[0].code == 0, "a notification has no id");
    kd_batch_free(&b);
    tap_is_int(parse("[{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":\"x\"},3,{\"jsonrpc\":\"2.0\",\"method\":\"b\",\"id\":null}]",
                     &b, why), 0, "a batch parses");
    tap_ok(b.is_batch && b.n == 3 && b.reqs[0].code == 0 && b.reqs[1].code == KD_INVALID_REQUEST &&
           b.reqs[2].code == 0 && YAJL_IS_NULL(b.reqs[2].id), "each element is checked on its own");
    kd_batch_free(&b);
}

static void rejected(void)
{
    struct kd_batch b;
    char why[200], deep[200], big[8192];

    tap_ok(parse("{not json", &b, why) == KD_PARSE_ERROR, "not JSON: parse error (%s)", why);
    tap_is_int(kd_req_parse("{\"a\":1}\0x", 9, &b, why, sizeof(why)), KD_PARSE_ERROR, "a NUL byte: parse error");
    memset(deep, '[', 40);
    memset(deep + 40, ']', 40);
    deep[80] = 0;
    tap_ok(parse(deep, &b, why) == KD_INVALID_REQUEST, "40 levels deep: refused (%s)", why);
    tap_is_int(parse("[]", &b, why), KD_INVALID_REQUEST, "an empty batch: refused");
    strcpy(big, "[");
    for (int i = 0; i < 65; i++)
        strcat(big, i ? ",1" : "1");
    strcat(big, "]");
    tap_ok(parse(big, &b, why) == KD_INVALID_REQUEST, "a batch of 65: refused (%s)", why);
    tap_is_int(one_code("{\"method\":\"a\",\"id\":1}"), KD_INVALID_REQUEST, "no jsonrpc member");
    tap_is_int(one_code("{\"jsonrpc\":2.0,\"method\":\"a\",\"id\":1}"), KD_INVALID_REQUEST, "jsonrpc as a number");
    tap_is_int(one_code("{\"jsonrpc\":\"2.0\",\"method\":7,\"id\":1}"), KD_INVALID_REQUEST, "method as a number");
    tap_is_int(one_code("{\"jsonrpc\":\"2.0\",\"method\":\"\",\"id\":1}"), KD_INVALID_REQUEST, "an empty method");
    tap_is_int(one_code("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":5,\"id\":1}"), KD_INVALID_REQUEST,
               "params as a number");
    tap_is_int(one_code("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":{}}"), KD_INVALID_REQUEST, "id as an object");
    snprintf(big, sizeof(big), "{\"jsonrpc\":\"2.0\",\"method\":\"%065d\",\"id\":1}", 0);
    tap_is_int(one_code(big), KD_INVALID_REQUEST, "a method name of 65 bytes");
    tap_is_int(one_code("\"just a string\""), KD_INVALID_REQUEST, "a bare string");
}

static void getters(void)
{
    struct kd_batch b;
    char why[200];
    const char *s;
    long long v;
    bool f;

    parse("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"s\":\"x\",\"n\":5,\"b\":true,\"f\":1.5},\"id\":1}", &b, why);
    yajl_val p = b.reqs[0].params;
    tap_ok(kd_param_str(p, "s", &s, true, why, sizeof(why)) == 0 && !strcmp(s, "x"), "a string member");
    tap_ok(kd_param_str(p, "n", &s, true, why, sizeof(why)) < 0 && strstr(why, "\"n\""), "a number is not a string: %s", why);
    tap_ok(kd_param_str(p, "missing", &s, true, why, sizeof(why)) < 0, "a required member that is missing");
    tap_ok(kd_param_str(p, "missing", &s, false, why, sizeof(why)) == 0 && !s, "an optional member that is missing");
    tap_ok(kd_param_int(p, "n", 0, 10, 0, &v, why, sizeof(why)) == 0 && v == 5, "an integer in range");
    tap_ok(kd_param_int(p, "n", 6, 10, 0, &v, why, sizeof(why)) < 0, "an integer out of range: %s", why);
    tap_ok(kd_param_int(p, "f", 0, 10, 0, &v, why, sizeof(why)) < 0, "a fraction is not an integer");
    tap_ok(kd_param_bool(p, "b", false, &f, why, sizeof(why)) == 0 && f, "a boolean");
    tap_ok(kd_param_bool(p, "s", false, &f, why, sizeof(why)) < 0, "a string is not a boolean");
    {
        char *e = kd_error_text(b.reqs[0].id, KD_NO_SUCH_DOMAIN, "no \"x\"");
        char *r = kd_result_text(b.reqs[0].id, "{\"a\":1}");
        tap_ok(e && !strcmp(e, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"no \\\"x\\\"\"}}"),
               "an error response, quoting escaped: %s", e);
        tap_ok(r && !strcmp(r, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":1}}"), "a result response");
        free(e);
        free(r);
    }
    kd_batch_free(&b);
}

int main(void)
{
    valid();
    rejected();
    getters();
    return tap_done();
}
