/* test-corpus.c - the xl.cfg corpus in tests/cfg: every valid config parses and converts
 * without error, matches its golden JSON (NAME.json, when present) and survives printing back
 * to xl.cfg; every invalid config fails with its first error at the position and with the
 * message fragment named on its first line ("# expect: LINE:COL: fragment"), leaving the
 * caller's config untouched. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

static void check_reprint(const kl_domain_config *dc, const char *name)
{
    char *text = kl_domain_config_to_cfg(dc);
    kl_domain_config back;
    kl_diag *d = kl_diag_new();
    int rc;

    kl_domain_config_init(&back);
    rc = text ? tu_convert(text, &back, KL_CONV_NO_UUID, d) : -1;
    tap_ok(rc == 0 && kl_domain_config_equal(dc, &back),
           "%s: printed back as xl.cfg, it converts to an equal config", name);
    if (rc)
        tap_diag("%s\n%s", text ? text : "(null)", kl_diag_first_error(d));
    kl_domain_config_dispose(&back);
    kl_diag_free(d);
    free(text);
}

static void check_valid(const char *dir, const char *name)
{
    char *path, *golden_path, *golden, *json;
    kl_domain_config dc;
    kl_diag *d = kl_diag_new();
    int rc;

    if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&golden_path, "%s/%.*s.json", dir,
                                                            (int)strlen(name) - 4, name) < 0)
        tap_bail("out of memory");
    kl_domain_config_init(&dc);
    rc = kl_domain_config_load(&dc, path, 0, NULL, KL_CONV_NO_UUID, d);
    tap_ok(rc == 0 && kl_diag_errors(d) == 0, "valid/%s parses and converts without error", name);
    if (rc)
        kl_diag_print(d, stdout);
    json = kl_domain_config_to_json(&dc);
    golden = tu_read(golden_path);
    if (golden) {
        int same = json && !strcmp(json, golden);
        tap_ok(same, "valid/%s gives the JSON in its golden file", name);
        if (!same)
            tap_diag("got:\n%s", json ? json : "(null)");
    }
    check_reprint(&dc, name);
    free(golden);
    free(json);
    free(golden_path);
    free(path);
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
}

static void check_invalid(const char *dir, const char *name)
{
    char *path, *text, frag[256] = "";
    int line = -1, col = -1, rc;
    kl_domain_config dc, before;
    kl_diag *d = kl_diag_new();

    if (asprintf(&path, "%s/%s", dir, name) < 0)
        tap_bail("out of memory");
    text = tu_read(path);
    if (!text || sscanf(text, "# expect: %d:%d: %255[^\n]", &line, &col, frag) != 3)
        tap_bail("%s: no `# expect: LINE:COL: fragment' first line", path);
    kl_domain_config_init(&dc);
    dc.c_info.name = strdup("untouched");
    dc.b_info.max_vcpus = 3;
    kl_domain_config_copy(&before, &dc);
    rc = kl_domain_config_load(&dc, path, 0, NULL, KL_CONV_NO_UUID, d);
    tap_ok(rc < 0, "invalid/%s is rejected", name);
    tu_error_at(d, line, col, frag, name);
    tap_ok(kl_diag_first_error(d) && !strncmp(kl_diag_first_error(d), path, strlen(path)),
           "invalid/%s: the message starts with the file name", name);
    tap_ok(kl_domain_config_equal(&dc, &before), "invalid/%s: the caller's config is untouched",
           name);
    kl_domain_config_dispose(&dc);
    kl_domain_config_dispose(&before);
    kl_diag_free(d);
    free(text);
    free(path);
}

static int walk(const char *sub, void (*fn)(const char *, const char *))
{
    char *dir = tu_path(sub);
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort), count = 0;

    if (n < 0)
        tap_bail("cannot read %s", dir);
    for (int i = 0; i < n; i++) {
        if (has_suffix(ents[i]->d_name, ".cfg")) {
            fn(dir, ents[i]->d_name);
            count++;
        }
        free(ents[i]);
    }
    free(ents);
    free(dir);
    return count;
}

int main(void)
{
    int nv = walk("cfg/valid", check_valid);
    int ni = walk("cfg/invalid", check_invalid);

    tap_ok(nv >= 8 && ni >= 30, "the corpus has its valid (%d) and invalid (%d) configs", nv, ni);
    return tap_done();
}
