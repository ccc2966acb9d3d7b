/* test-grammar.c - the xl.cfg grammar through the kl_cfg API: value kinds and texts, numbers
 * in three bases, string escapes, nested and multi-line lists, comments, `;', `+=', later
 * assignment wins, the typed getters' errors, and command-line overrides (including their
 * all-or-nothing rollback). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static kl_cfg *parse(const char *text, kl_diag *d)
{
    kl_cfg *cfg = NULL;

    kl_diag_clear(d);
    if (kl_cfg_parse_data(&cfg, "g.cfg", text, strlen(text), d))
        return NULL;
    return cfg;
}

static const char *text_of(const kl_cfg *cfg, const char *key)
{
    const kl_cfg_value *v = kl_cfg_lookup(cfg, key);
    return v ? kl_cfg_value_text(v) : NULL;
}

static void test_values(kl_diag *d)
{
    kl_cfg *cfg = parse("a = 'single'\nb = \"double\"\nc = 0x1f; d = 017 ; e = 42\n"
                        "f = [ 1, 'two', [ \"three\", [] ], ]\n"
                        "g.h_i = 'dots and underscores in keys'\n", d);
    const kl_cfg_value *f;
    long long x;

    tap_ok(cfg != NULL, "strings, numbers, nested lists and `;' parse");
    if (!cfg)
        return;
    tap_ok(!strcmp(text_of(cfg, "a"), "single") && !strcmp(text_of(cfg, "b"), "double"),
           "single and double quoted strings lose their quotes");
    tap_ok(kl_cfg_value_kind(kl_cfg_lookup(cfg, "c")) == KL_CFG_NUMBER &&
           !strcmp(text_of(cfg, "c"), "0x1f"), "a number keeps the text it was written with");
    tap_ok(kl_cfg_get_long(cfg, "c", 0, 1000, &x, d) == 0 && x == 31, "0x1f reads as 31");
    tap_ok(kl_cfg_get_long(cfg, "d", 0, 1000, &x, d) == 0 && x == 15, "017 reads as octal 15");
    tap_ok(kl_cfg_get_long(cfg, "e", 0, 1000, &x, d) == 0 && x == 42, "42 reads as decimal");
    f = kl_cfg_lookup(cfg, "f");
    tap_ok(f && kl_cfg_value_kind(f) == KL_CFG_LIST && kl_cfg_value_count(f) == 3,
           "a list with a trailing comma has three items");
    tap_ok(f && kl_cfg_value_count(kl_cfg_value_item(f, 2)) == 2 &&
           kl_cfg_value_count(kl_cfg_value_item(kl_cfg_value_item(f, 2), 1)) == 0,
           "lists nest, and [] is an empty list");
    tap_ok(f && kl_cfg_value_line(kl_cfg_value_item(f, 1)) == 4 &&
           kl_cfg_value_column(kl_cfg_value_item(f, 1)) == 10,
           "a list item knows its line and column");
    tap_ok(text_of(cfg, "g.h_i") != NULL, "keys may contain dots and underscores");
    tap_is_int(kl_cfg_key_count(cfg), 7, "seven distinct keys");
    kl_cfg_free(cfg);
}

static void test_escapes_comments(kl_diag *d)
{
    kl_cfg *cfg = parse("# leading comment\n\n  s = \"t\\tn\\nq\\\"b\\\\x\\x41o\\101\" # trailing\n"
                        "l = [ # comment in a list\n  'a', # after an item\n\n  'b'\n]\n"
                        "last = 'no newline at the end'", d);

    tap_ok(cfg != NULL, "comments anywhere and a last line without newline parse");
    if (!cfg)
        return;
    tap_ok(!strcmp(text_of(cfg, "s"), "t\tn\nq\"b\\xAoA"),
           "escapes \\t \\n \\\" \\\\ \\x41 \\101 are decoded");
    tap_is_int(kl_cfg_value_count(kl_cfg_lookup(cfg, "l")), 2, "a list spans lines with comments");
    tap_ok(!strcmp(text_of(cfg, "last"), "no newline at the end"), "the last assignment needs no terminator");
    kl_cfg_free(cfg);
}

static void test_append_and_override(kl_diag *d)
{
    kl_cfg *cfg = parse("s = 'a'\ns += 'b'\nl = ['x']\nl += ['y', ['z']]\nn = 1\nn = 2\n"
                        "fresh += 'like ='\nm = 5\nm += 12\nsn = 'v'\nsn += 7\n", d);
    const kl_cfg_value *l;

    tap_ok(cfg != NULL, "+= and reassignment parse");
    if (!cfg)
        return;
    tap_ok(!strcmp(text_of(cfg, "s"), "ab"), "+= concatenates strings");
    l = kl_cfg_lookup(cfg, "l");
    tap_ok(kl_cfg_value_count(l) == 3 && !strcmp(kl_cfg_value_text(kl_cfg_value_item(l, 0)), "x") &&
           !strcmp(kl_cfg_value_text(kl_cfg_value_item(l, 1)), "y"),
           "+= appends list items after the earlier ones");
    tap_ok(!strcmp(text_of(cfg, "n"), "2"), "a later assignment wins");
    tap_ok(!strcmp(text_of(cfg, "fresh"), "like ="), "+= without an earlier setting acts like =");
    tap_ok(!strcmp(text_of(cfg, "m"), "512") &&
           kl_cfg_value_kind(kl_cfg_lookup(cfg, "m")) == KL_CFG_NUMBER,
           "+= concatenates two numbers as written, as Xen does (5 += 12 is the number 512)");
    tap_ok(!strcmp(text_of(cfg, "sn"), "v7") &&
           kl_cfg_value_kind(kl_cfg_lookup(cfg, "sn")) == KL_CFG_STRING,
           "+= of a number to a string gives the string \"v7\"");
    kl_cfg_free(cfg);
}

static void test_getters(kl_diag *d)
{
    kl_cfg *cfg = parse("s = 'abc'\nq = \"512\"\nl = [1]\n", d);
    const kl_cfg_value *v;
    const char *s;
    long long x;

    tap_ok(cfg != NULL, "getter fixture parses");
    if (!cfg)
        return;
    tap_ok(kl_cfg_get_long(cfg, "missing", 0, 1, &x, d) == -ENOENT && kl_diag_count(d) == 0,
           "a missing key is -ENOENT without a diagnostic");
    tap_ok(kl_cfg_get_long(cfg, "q", 0, 1000, &x, d) == 0 && x == 512,
           "a quoted number is accepted as a number, as in xl");
    tap_ok(kl_cfg_get_long(cfg, "s", 0, 1000, &x, d) == -EINVAL, "a word is not a number");
    tu_error_at(d, 1, 5, "s: `abc' is not a number", "number getter on a string");
    kl_diag_clear(d);
    tap_ok(kl_cfg_get_long(cfg, "q", 0, 100, &x, d) == -EINVAL, "range is checked");
    tu_error_at(d, 2, 5, "out of range (must be between 0 and 100)", "range error");
    kl_diag_clear(d);
    tap_ok(kl_cfg_get_string(cfg, "l", &s, d) == -EINVAL, "a list is not a single value");
    tu_error_at(d, 3, 5, "l: is a list but should be a single value", "string getter on a list");
    kl_diag_clear(d);
    tap_ok(kl_cfg_get_list(cfg, "s", &v, d) == -EINVAL, "a string is not a list");
    kl_cfg_free(cfg);
}

static void test_overrides(kl_diag *d)
{
    kl_cfg *cfg = parse("name = 'file'\nvif = ['bridge=a']\nmemory = 256\n", d);
    char *ok_args[] = { "name=\"cli\"", "vif += ['bridge=b']", "memory=512", "kernel=/boot/k",
                        "extra=console=hvc0", "cmdline = 'x'; vcpus = 2" };
    char *bad_args[] = { "memory=1024", "vcpus = [", "name='never'" };
    long long x;

    tap_ok(cfg != NULL, "override base parses");
    if (!cfg)
        return;
    tap_ok(kl_cfg_add_overrides(cfg, 6, ok_args, d) == 0, "key=value overrides apply");
    tap_ok(!strcmp(text_of(cfg, "name"), "cli"), "an override wins over the file");
    tap_is_int(kl_cfg_value_count(kl_cfg_lookup(cfg, "vif")), 2, "an override can += the file's list");
    tap_ok(kl_cfg_get_long(cfg, "memory", 0, 4096, &x, d) == 0 && x == 512, "a number override");
    tap_ok(!strcmp(text_of(cfg, "kernel"), "/boot/k") &&
           !strcmp(text_of(cfg, "extra"), "console=hvc0"),
           "an unquoted override value is taken as a string (Keel extension)");
    tap_ok(text_of(cfg, "vcpus") && !strcmp(text_of(cfg, "vcpus"), "2"),
           "one argument may hold several `;'-separated settings");
    kl_diag_clear(d);
    tap_ok(kl_cfg_add_overrides(cfg, 3, bad_args, d) == -EINVAL, "a malformed override is rejected");
    tu_error_at(d, 2, 10, "expected a value", "override error names the argument number and column");
    tap_ok(kl_diag_first_error(d) && strstr(kl_diag_first_error(d), "<command line>:2:10"),
           "override errors are located at <command line>:ARG:COL");
    tap_ok(kl_cfg_get_long(cfg, "memory", 0, 4096, &x, d) == 0 && x == 512 &&
           !strcmp(text_of(cfg, "name"), "cli"),
           "a rejected override batch leaves the config unchanged (all or nothing)");
    kl_cfg_free(cfg);
}

static void test_errors(kl_diag *d)
{
    static const struct { const char *text; int line, col; const char *frag; } cases[] = {
        { "a = 1\nb = 'x' 'y'\n", 2, 9, "expected a newline or `;'" },
        { "a = [1 2]\n", 1, 8, "expected `,' or `]' in the list opened at line 1 column 5" },
        { "a = [1,,2]\n", 1, 8, "expected a value" },
        { "= 1\n", 1, 1, "expected a key name" },
        { "a = -1\n", 1, 5, "not Python" },
        { "a = True\n", 1, 5, "upper-case" },
        { "a = 1.5\n", 1, 6, "not Python" },
        { "a = 0xg\n", 1, 7, "expected a newline or `;'" },
        { "a = 12abz\n", 1, 9, "expected a newline or `;'" },
        { "a = 'x\\0'\n", 1, 7, "NUL character" },
        { "a = 'x\\x4'\n", 1, 7, "two hexadecimal digits" },
        { "a = 'never closed\n", 1, 5, "unterminated string" },
        { "a = \"mixed quotes'\n", 1, 5, "unterminated string" },
        { "a = [\n", 2, 1, "near end of file: expected a value" },
        { "a = 1\n\x01", 2, 1, "unexpected character" },
        { "a = 'caf\xc3\xa9'\nb = 'bad \xc3('\n", 2, 5, "string is not valid UTF-8" },
        { "a = 'overlong \\xc0\\x80'\n", 1, 5, "string is not valid UTF-8" },
        { "a = 'x'\na += [1]\n", 2, 3, "can't add a list to a string" },
    };
    kl_cfg *cfg;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kl_diag_clear(d);
        cfg = NULL;
        tap_ok(kl_cfg_parse_data(&cfg, "e.cfg", cases[i].text, strlen(cases[i].text), d) ==
                   -EINVAL && cfg == NULL, "syntax error case %zu is rejected with nothing built", i);
        tu_error_at(d, cases[i].line, cases[i].col, cases[i].frag, "syntax error case");
    }
    kl_diag_clear(d);
    tap_ok(kl_cfg_parse_file(&cfg, "/nonexistent/keel.cfg", d) == -ENOENT &&
           strstr(kl_diag_first_error(d), "/nonexistent/keel.cfg: cannot open config file"),
           "an unreadable file is -ENOENT with the file named");
}

int main(void)
{
    kl_diag *d = kl_diag_new();

    test_values(d);
    test_escapes_comments(d);
    test_append_and_override(d);
    test_getters(d);
    test_overrides(d);
    test_errors(d);
    kl_diag_free(d);
    return tap_done();
}
