/* test-xlhdr.c - xl save-file preamble: encode/parse round trip, byte layout, incremental
 * parsing (-EAGAIN with the size needed) and every rejection: magic, byte order, unknown
 * flags, legacy stream, config length and NUL, invalid or non-object JSON. */
#include <errno.h>
#include <string.h>

#include "kg_stream.h"
#include "tap.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

static int parse(const uint8_t *b, size_t len, struct kg_xl_header *h, size_t *used, char *why)
{
    return kg_xlhdr_parse(b, len, h, used, why, 200);
}

static void round_trip(void)
{
    const char *cfg = "{\"c_info\":{\"type\":\"pvh\",\"name\":\"vm1\"},\"b_info\":{\"max_memkb\":131072}}";
    struct kg_xl_header h;
    uint8_t *b;
    size_t len, used = 0;
    char why[200] = "";

    tap_ok(kg_xlhdr_encode(cfg, &b, &len) == 0, "encode a preamble with a JSON config");
    tap_ok(len == 48 + 4 + strlen(cfg) + 1, "preamble is 48 + 4 + config incl. NUL bytes");
    tap_ok(!memcmp(b, "Xen saved domain, xl format\n \0 \r", 32), "32-byte xl magic");
    tap_ok(le32(b + 32) == 0x01020304 && le32(b + 36) == 3 && le32(b + 40) == 0 &&
           le32(b + 44) == 4 + strlen(cfg) + 1 && le32(b + 48) == strlen(cfg) + 1,
           "byte order mark, flags JSON|STREAMv2, optional data length, config length");
    tap_ok(parse(b, len, &h, &used, why) == 0 && used == len, "parse consumes the whole preamble");
    tap_ok(h.config && !strcmp(h.config, cfg) && h.config_len == strlen(cfg) + 1 &&
           h.mandatory_flags == 3, "config and flags round-trip");
    for (size_t n = 0; n < len; n++) {
        int rc = parse(b, n, &h, &used, why);
        if (rc != -EAGAIN || used != (n < 48 ? 48 : len)) {
            tap_ok(0, "prefix of %zu bytes: rc %d used %zu", n, rc, used);
            break;
        }
        if (n == len - 1)
            tap_ok(1, "every prefix asks for more (48 bytes, then the full length)");
    }
    free(b);
    tap_ok(kg_xlhdr_encode(NULL, &b, &len) == 0 && len == 52 && le32(b + 36) == 2 &&
           parse(b, len, &h, &used, why) == 0 && !h.config, "preamble without a config");
    free(b);
}

static void rejects(void)
{
    const char *cfg = "{\"a\":1}";
    struct kg_xl_header h;
    uint8_t *b, *c;
    size_t len, used;
    char why[200];

#define REJECT(mut, code, needle, what)                                                       \
    do {                                                                                      \
        memcpy(c, b, len);                                                                    \
        mut;                                                                                  \
        int rc_ = parse(c, len, &h, &used, why);                                              \
        if (rc_ != (code) || !strstr(why, needle))                                            \
            tap_diag("rc %d: %s", rc_, why);                                                  \
        tap_ok(rc_ == (code) && strstr(why, needle), "%s is rejected", what);                 \
    } while (0)
    kg_xlhdr_encode(cfg, &b, &len);
    c = malloc(len + 16);
    REJECT(c[5] = 'X', -EBADMSG, "magic", "a wrong magic");
    REJECT(put32(c + 32, 0x04030201), -ENOTSUP, "big-endian", "a big-endian byte order mark");
    REJECT(put32(c + 32, 0x11111111), -EBADMSG, "byte order", "a garbage byte order mark");
    REJECT(put32(c + 36, 7), -ENOTSUP, "unknown mandatory flags", "an unknown mandatory flag");
    REJECT(put32(c + 40, 1), -ENOTSUP, "unknown optional flags", "an unknown optional flag");
    REJECT(put32(c + 36, 1), -ENOTSUP, "legacy", "a legacy (pre-v2) stream");
    REJECT(put32(c + 48, 100), -EBADMSG, "exceeds", "a config length beyond the optional data");
    REJECT(c[len - 1] = '}', -EBADMSG, "not NUL-terminated", "a config without NUL");
    REJECT(c[52 + 2] = 0, -EBADMSG, "NUL byte", "a config with an interior NUL");
    REJECT(c[52 + 5] = ',', -EBADMSG, "not valid JSON", "invalid JSON");
    REJECT(memcpy(c + 52, "[1,2,3]", 8), -EBADMSG, "not an object", "a JSON array");
    REJECT(put32(c + 36, 2), -ENOTSUP, "non-JSON", "a config without the JSON flag");
    REJECT(put32(c + 48, 0), -EBADMSG, "empty", "the JSON flag with an empty config");
    REJECT(put32(c + 44, 2), -EBADMSG, "cannot hold", "optional data shorter than its length field");
#undef REJECT
    free(c);
    free(b);
}

int main(void)
{
    round_trip();
    rejects();
    return tap_done();
}
