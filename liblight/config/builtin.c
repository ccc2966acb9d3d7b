/* builtin.c - the value types of kl_builtin.h: defbool, UUID (libuuid), MAC, bitmap, string list,
 * with their init/dispose/copy/equal helpers and JSON forms as libxl writes them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "kl_internal.h"

void kl_defbool_set(kl_defbool *db, bool b) { db->val = b ? 1 : -1; }
void kl_defbool_unset(kl_defbool *db) { db->val = 0; }
bool kl_defbool_is_default(kl_defbool db) { return db.val == 0; }
bool kl_defbool_val_or(kl_defbool db, bool dflt) { return db.val ? db.val > 0 : dflt; }

void kl__defbool_init(kl_defbool *p) { p->val = 0; }
void kl__defbool_dispose(kl_defbool *p) { p->val = 0; }
int kl__defbool_copy(kl_defbool *dst, const kl_defbool *src) { *dst = *src; return 0; }
bool kl__defbool_equal(const kl_defbool *a, const kl_defbool *b) { return a->val == b->val; }
bool kl__defbool_is_default(const kl_defbool *p) { return p->val == 0; }

int kl__defbool_gen_json(yajl_gen g, const kl_defbool *p)
{
    const char *s = p->val == 0 ? "<default>" : p->val > 0 ? "True" : "False";
    return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ? -EINVAL : 0;
}

int kl__defbool_parse_json(kl__jctx *c, yajl_val v, kl_defbool *p)
{
    const char *s = YAJL_IS_STRING(v) ? v->u.string : NULL;

    if (s && !strcmp(s, "<default>"))
        p->val = 0;
    else if (s && !strcmp(s, "True"))
        p->val = 1;
    else if (s && !strcmp(s, "False"))
        p->val = -1;
    else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
        p->val = YAJL_IS_TRUE(v) ? 1 : -1;
    else
        return kl__json_err(c, "expected \"True\", \"False\" or \"<default>\"");
    return 0;
}

void kl_uuid_generate(kl_uuid *u) { uuid_generate(u->bytes); }
bool kl_uuid_is_nil(const kl_uuid *u) { return uuid_is_null(u->bytes); }
void kl_uuid_to_string(const kl_uuid *u, char out[KL_UUID_STRLEN]) { uuid_unparse_lower(u->bytes, out); }

int kl_uuid_from_string(kl_uuid *u, const char *s)
{
    uuid_t t;

    if (!s || strlen(s) != 36 || uuid_parse(s, t))
        return -EINVAL;
    memcpy(u->bytes, t, 16);
    return 0;
}

void kl__uuid_init(kl_uuid *p) { memset(p, 0, sizeof(*p)); }
void kl__uuid_dispose(kl_uuid *p) { memset(p, 0, sizeof(*p)); }
int kl__uuid_copy(kl_uuid *dst, const kl_uuid *src) { *dst = *src; return 0; }
bool kl__uuid_equal(const kl_uuid *a, const kl_uuid *b) { return !memcmp(a, b, sizeof(*a)); }
bool kl__uuid_is_default(const kl_uuid *p) { return kl_uuid_is_nil(p); }

int kl__uuid_gen_json(yajl_gen g, const kl_uuid *p)
{
    char s[KL_UUID_STRLEN];

    kl_uuid_to_string(p, s);
    return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ? -EINVAL : 0;
}

int kl__uuid_parse_json(kl__jctx *c, yajl_val v, kl_uuid *p)
{
    if (!YAJL_IS_STRING(v) || kl_uuid_from_string(p, v->u.string))
        return kl__json_err(c, "expected a UUID string");
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int kl_mac_from_string(kl_mac *m, const char *s)
{
    kl_mac t;

    if (!s || strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        const char *q = s + 3 * i;
        int hi = hexval(q[0]), lo = hexval(q[1]);
        if (hi < 0 || lo < 0 || (i < 5 && q[2] != ':'))
            return -EINVAL;
        t.bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    *m = t;
    return 0;
}

void kl_mac_to_string(const kl_mac *m, char out[KL_MAC_STRLEN])
{
    snprintf(out, KL_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m->bytes[0], m->bytes[1],
             m->bytes[2], m->bytes[3], m->bytes[4], m->bytes[5]);
}

bool kl_mac_is_zero(const kl_mac *m)
{
    static const kl_mac zero;
    return !memcmp(m, &zero, sizeof(zero));
}

void kl__mac_init(kl_mac *p) { memset(p, 0, sizeof(*p)); }
void kl__mac_dispose(kl_mac *p) { memset(p, 0, sizeof(*p)); }
int kl__mac_copy(kl_mac *dst, const kl_mac *src) { *dst = *src; return 0; }
bool kl__mac_equal(const kl_mac *a, const kl_mac *b) { return !memcmp(a, b, sizeof(*a)); }
bool kl__mac_is_default(const kl_mac *p) { return kl_mac_is_zero(p); }

int kl__mac_gen_json(yajl_gen g, const kl_mac *p)
{
    char s[KL_MAC_STRLEN];

    kl_mac_to_string(p, s);
    return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ? -EINVAL : 0;
}

int kl__mac_parse_json(kl__jctx *c, yajl_val v, kl_mac *p)
{
    if (!YAJL_IS_STRING(v) || kl_mac_from_string(p, v->u.string))
        return kl__json_err(c, "expected a MAC address string");
    return 0;
}
