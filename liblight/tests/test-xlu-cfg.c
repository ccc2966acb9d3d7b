/* test-xlu-cfg.c - differential test of the xl.cfg grammar against Xen's own parser,
 * libxlutil's xlu_cfg_readdata (Debian's libxen-dev): generated configs of one to three
 * settings (keys valid and not, `=` / `+=` / none, strings with escapes, numbers in every
 * base, nested lists with and without trailing commas, `;` / newline separators, comments)
 * are read by both; they must agree on acceptance and, when both accept, on the value of every
 * key (strings, numbers as written, lists item by item). Keel's documented extensions (CR as
 * blank, \x and octal escapes, upper-case hex digits, a comment ending the file) are not
 * generated. SKIP without libxlutil. TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#ifndef KEEL_HAVE_XLU
int main(void)
{
    printf("1..0 # SKIP Xen's libxlutil not found at configure time (Debian: libxen-dev)\n");
    return 0;
}
#else
#include <libxlutil.h>

#include <keel/kl_cfg.h>

static FILE *devnull;
static int total, agreed, shown;

static const char *const keys[] = { "name", "vif", "a.b_1", "memory" };
static const char *const bad_keys[] = { "Name", "1x", "_x", "a-b" };
static const char *const ops[] = { " = ", "=", " += ", " ", " == " };
static const char *const values[] = {
    "'web'", "\"web 1\"", "\"q\\\"q\"", "'a\\'b'", "\"tab\\tnl\\n\"", "\"\"", "''", "\"back\\\\\"",
    "0", "7", "010", "0x1f", "-1", "1.5", "1e3", "12abc",
    "[]", "[ 'a' ]", "['a',]", "[ 'a', 'b' ]", "[1, 'b', [2, 'c']]", "['a' 'b']", "[,]",
    "[\n  'x', # c\n  'y',\n]", "[ [ ] ]", "'unterminated", "[ 'a'", "bare", "\"\\q\"",
};
static const char *const seps[] = { "\n", ";", "; \n", " # comment\n", "\n\n", "" };

static int xen_value_equal(XLU_Config *x, XLU_ConfigValue *xv, const kl_cfg_value *kv)
{
    if (xlu_cfg_value_type(xv) == XLU_STRING) {
        char *s = NULL;
        int same;
        if (kl_cfg_value_kind(kv) == KL_CFG_LIST || xlu_cfg_value_get_string(x, xv, &s, 1))
            return 0;
        same = s && !strcmp(s, kl_cfg_value_text(kv));
        return same;
    }
    {
        XLU_ConfigList *l = NULL;
        size_t n = kl_cfg_value_count(kv);
        if (kl_cfg_value_kind(kv) != KL_CFG_LIST || xlu_cfg_value_get_list(x, xv, &l, 1))
            return 0;
        for (size_t i = 0; i < n; i++) {
            XLU_ConfigValue *item = xlu_cfg_get_listitem2(l, (int)i);
            if (!item || !xen_value_equal(x, item, kl_cfg_value_item(kv, i)))
                return 0;
        }
        return xlu_cfg_get_listitem2(l, (int)n) == NULL;
    }
}

/* The value of key as xlu sees it, compared with Keel's. */
static int key_equal(XLU_Config *x, const kl_cfg *k, const char *key)
{
    const kl_cfg_value *kv = kl_cfg_lookup(k, key);
    XLU_ConfigList *l = NULL;
    const char *s = NULL;

    if (!xlu_cfg_get_string(x, key, &s, 1))
        return kv && kl_cfg_value_kind(kv) != KL_CFG_LIST && !strcmp(s, kl_cfg_value_text(kv));
    if (!xlu_cfg_get_list(x, key, &l, NULL, 1)) {
        size_t n;
        if (!kv || kl_cfg_value_kind(kv) != KL_CFG_LIST)
            return 0;
        n = kl_cfg_value_count(kv);
        for (size_t i = 0; i < n; i++) {
            XLU_ConfigValue *item = xlu_cfg_get_listitem2(l, (int)i);
            if (!item || !xen_value_equal(x, item, kl_cfg_value_item(kv, i)))
                return 0;
        }
        return xlu_cfg_get_listitem2(l, (int)n) == NULL;
    }
    return kv == NULL;
}

static void check(const char *text)
{
    XLU_Config *x = xlu_cfg_init(devnull, "gen.cfg");
    kl_cfg *k = NULL;
    int xok, kok, same;

    xok = x && xlu_cfg_readdata(x, text, (int)strlen(text)) == 0;
    kok = kl_cfg_parse_data(&k, "gen.cfg", text, strlen(text), NULL) == 0;
    same = xok == kok;
    for (size_t i = 0; same && xok && i < sizeof keys / sizeof keys[0]; i++)
        same = key_equal(x, k, keys[i]);
    total++;
    if (same)
        agreed++;
    else if (shown++ < 40)
        tap_diag("Xen %s, Keel %s%s: \"%s\"", xok ? "accepts" : "refuses",
                 kok ? "accepts" : "refuses", xok && kok ? " (values differ)" : "", text);
    kl_cfg_free(k);
    if (x)
        xlu_cfg_destroy(x);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
    char text[1024];
    int before;

    if (!(devnull = fopen("/dev/null", "w")))
        tap_bail("/dev/null");
    /* one setting: every value with every operator and separator */
    before = agreed;
    for (size_t v = 0; v < N(values); v++)
        for (size_t o = 0; o < N(ops); o++)
            for (size_t s = 0; s < N(seps); s++) {
                snprintf(text, sizeof text, "name%s%s%s", ops[o], values[v], seps[s]);
                check(text);
            }
    tap_ok(agreed - before == total, "one setting: agreement on %d of %d configs", agreed - before, total);
    /* keys valid and not */
    before = agreed;
    {
        int t0 = total;
        for (size_t b = 0; b < N(bad_keys); b++)
            for (size_t v = 0; v < 8; v++) {
                snprintf(text, sizeof text, "%s = %s\n", bad_keys[b], values[v]);
                check(text);
            }
        tap_ok(agreed - before == total - t0, "key names: agreement on %d of %d configs",
               agreed - before, total - t0);
    }
    /* two and three settings: a later setting wins, += appends */
    before = agreed;
    {
        int t0 = total;
        for (size_t a = 0; a < N(values); a += 2)
            for (size_t b = 0; b < N(values); b += 3)
                for (size_t s = 0; s < 3; s++)
                    for (size_t o = 0; o < 3; o++) {
                        snprintf(text, sizeof text, "vif = %s%sa.b_1 = 3%svif%s%s\nmemory=%s\n",
                                 values[a], seps[s], seps[s], ops[o], values[b], values[8 + s]);
                        check(text);
                    }
        tap_ok(agreed - before == total - t0, "several settings: agreement on %d of %d configs",
               agreed - before, total - t0);
    }
    tap_ok(agreed == total, "overall: Keel and libxlutil agree on %d of %d generated configs",
           agreed, total);
    return tap_done();
}
#endif
