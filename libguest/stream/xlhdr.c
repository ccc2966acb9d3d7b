/* xlhdr.c - xl's save-file preamble (tools/xl/xl.h): 32-byte magic, then u32 byteorder,
 * mandatory_flags, optional_flags, optional_data_len in the domain's byte order (little
 * endian here), then optional data = u32 config_len + the domain config (JSON incl. NUL). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <yajl/yajl_tree.h>

#include "kg_stream_int.h"

#define BAD(code, ...) do { snprintf(why, whylen, __VA_ARGS__); return (code); } while (0)

const char kg_xl_magic[KG_XL_MAGIC_LEN] = {
    'X', 'e', 'n', ' ', 's', 'a', 'v', 'e', 'd', ' ', 'd', 'o', 'm', 'a', 'i', 'n', ',', ' ',
    'x', 'l', ' ', 'f', 'o', 'r', 'm', 'a', 't', '\n', ' ', '\0', ' ', '\r',
};

int kg_xlhdr_encode(const char *json, uint8_t **out, size_t *len)
{
    size_t clen = json ? strlen(json) + 1 : 0, total;
    uint8_t *p;

    if (!out || !len || clen > UINT32_MAX - 4)
        return -EINVAL;
    total = KG_XL_HEADER_LEN + 4 + clen;
    p = malloc(total);
    if (!p)
        return -ENOMEM;
    memcpy(p, kg_xl_magic, KG_XL_MAGIC_LEN);
    kg_put_le32(p + 32, KG_XL_BYTEORDER);
    kg_put_le32(p + 36, KG_XL_MANDATORY_FLAG_STREAMV2 | (clen ? KG_XL_MANDATORY_FLAG_JSON : 0));
    kg_put_le32(p + 40, 0);
    kg_put_le32(p + 44, (uint32_t)(4 + clen));
    kg_put_le32(p + 48, (uint32_t)clen);
    if (clen)
        memcpy(p + 52, json, clen);
    *out = p;
    *len = total;
    return 0;
}

/* The config must be one NUL-terminated JSON object. */
static int check_config(const char *cfg, uint32_t clen, char *why, size_t whylen)
{
    char err[128];
    yajl_val v;
    int is_obj;

    if (cfg[clen - 1] != '\0')
        BAD(-EBADMSG, "domain config is not NUL-terminated");
    if (strlen(cfg) != clen - 1)
        BAD(-EBADMSG, "domain config has a NUL byte at offset %zu of %u", strlen(cfg), clen);
    err[0] = '\0';
    v = yajl_tree_parse(cfg, err, sizeof err);
    if (!v) {
        char *o = err;
        for (const char *c = err; *c; c++)  /* one line, runs of blanks squeezed */
            if (!((*c == ' ' || *c == '\n') && o > err && o[-1] == ' '))
                *o++ = *c == '\n' ? ' ' : *c;
        *o = '\0';
        BAD(-EBADMSG, "domain config is not valid JSON: %s", err);
    }
    is_obj = YAJL_IS_OBJECT(v);
    yajl_tree_free(v);
    if (!is_obj)
        BAD(-EBADMSG, "domain config JSON is not an object");
    return 0;
}

static int parse_optional(const uint8_t *opt, uint32_t olen, struct kg_xl_header *h,
                          char *why, size_t whylen)
{
    uint32_t clen;

    h->config = NULL;
    h->config_len = 0;
    if (olen == 0) {
        if (h->mandatory_flags & KG_XL_MANDATORY_FLAG_JSON)
            BAD(-EBADMSG, "JSON flag set but there is no optional data");
        return 0;
    }
    if (olen < 4)
        BAD(-EBADMSG, "optional data of %u bytes cannot hold the config length", olen);
    clen = kg_le32(opt);
    if (clen > olen - 4)
        BAD(-EBADMSG, "config length %u exceeds the %u bytes of optional data left", clen,
            olen - 4);
    if (clen == 0) {
        if (h->mandatory_flags & KG_XL_MANDATORY_FLAG_JSON)
            BAD(-EBADMSG, "JSON flag set but the domain config is empty");
        return 0;
    }
    if (!(h->mandatory_flags & KG_XL_MANDATORY_FLAG_JSON))
        BAD(-ENOTSUP, "domain config in the legacy (non-JSON) xl format is not supported");
    h->config = (const char *)opt + 4;
    h->config_len = clen;
    return check_config(h->config, clen, why, whylen);
}

int kg_xlhdr_parse(const uint8_t *buf, size_t len, struct kg_xl_header *h, size_t *consumed,
                   char *why, size_t whylen)
{
    uint32_t order, olen;

    if (!buf || !h || !consumed)
        BAD(-EINVAL, "bad arguments");
    *consumed = KG_XL_HEADER_LEN;
    if (len < KG_XL_MAGIC_LEN && memcmp(buf, kg_xl_magic, len))
        BAD(-EBADMSG, "no xl save-file magic");
    if (len < KG_XL_HEADER_LEN)
        BAD(-EAGAIN, "need %d bytes, have %zu", KG_XL_HEADER_LEN, len);
    if (memcmp(buf, kg_xl_magic, KG_XL_MAGIC_LEN))
        BAD(-EBADMSG, "no xl save-file magic");
    order = kg_le32(buf + 32);
    if (order != KG_XL_BYTEORDER)
        BAD(order == 0x04030201u ? -ENOTSUP : -EBADMSG,
            "byte order mark 0x%08x, expected 0x%08x%s", order, KG_XL_BYTEORDER,
            order == 0x04030201u ? " (big-endian file)" : "");
    h->mandatory_flags = kg_le32(buf + 36);
    h->optional_flags = kg_le32(buf + 40);
    h->optional_data_len = olen = kg_le32(buf + 44);
    if (h->mandatory_flags & ~(KG_XL_MANDATORY_FLAG_JSON | KG_XL_MANDATORY_FLAG_STREAMV2))
        BAD(-ENOTSUP, "unknown mandatory flags 0x%x", h->mandatory_flags);
    if (h->optional_flags)
        BAD(-ENOTSUP, "unknown optional flags 0x%x", h->optional_flags);
    if (!(h->mandatory_flags & KG_XL_MANDATORY_FLAG_STREAMV2))
        BAD(-ENOTSUP, "legacy (pre-v2) stream: STREAMv2 flag not set");
    if (olen > len - KG_XL_HEADER_LEN) {
        *consumed = (size_t)KG_XL_HEADER_LEN + olen;
        BAD(-EAGAIN, "need %zu bytes, have %zu", *consumed, len);
    }
    *consumed = (size_t)KG_XL_HEADER_LEN + olen;
    return parse_optional(buf + KG_XL_HEADER_LEN, olen, h, why, whylen);
}
