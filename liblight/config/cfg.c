/* cfg.c - the parsed xl.cfg: construction (file, data, command-line overrides; all or
 * nothing), lookup with "last setting wins", and typed getters with positioned errors. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_int.h"

void kl__cfg_value_free(struct kl_cfg_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        kl__cfg_value_free(v->items[i]);
    free(v->items);
    free(v->text);
    free(v);
}

int kl__cfg_list_append(struct kl_cfg_value *list, struct kl_cfg_value *item)
{
    if (list->n == list->cap) {
        size_t ncap = list->cap ? list->cap * 2 : 4;
        struct kl_cfg_value **ni = realloc(list->items, ncap * sizeof(*ni));
        if (!ni)
            return -ENOMEM;
        list->items = ni;
        list->cap = ncap;
    }
    list->items[list->n++] = item;
    return 0;
}

struct kl_cfg_value *kl__cfg_value_copy(const struct kl_cfg_value *v)
{
    struct kl_cfg_value *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->kind = v->kind;
    c->pos = v->pos;
    if (v->text && !(c->text = strdup(v->text)))
        goto fail;
    for (size_t i = 0; i < v->n; i++) {
        struct kl_cfg_value *it = kl__cfg_value_copy(v->items[i]);
        if (!it || kl__cfg_list_append(c, it)) {
            kl__cfg_value_free(it);
            goto fail;
        }
    }
    return c;
fail:
    kl__cfg_value_free(c);
    return NULL;
}

const char *kl__cfg_add_source(kl_cfg *cfg, const char *name)
{
    char **ns = realloc(cfg->sources, (cfg->nsources + 1) * sizeof(*ns));

    if (!ns)
        return NULL;
    cfg->sources = ns;
    if (!(ns[cfg->nsources] = strdup(name ? name : "<config>")))
        return NULL;
    return ns[cfg->nsources++];
}

void kl__cfg_truncate(kl_cfg *cfg, size_t keep)
{
    while (cfg->n > keep) {
        cfg->n--;
        free(cfg->s[cfg->n].name);
        kl__cfg_value_free(cfg->s[cfg->n].value);
    }
}

void kl_cfg_free(kl_cfg *cfg)
{
    if (!cfg)
        return;
    kl__cfg_truncate(cfg, 0);
    free(cfg->s);
    for (size_t i = 0; i < cfg->nsources; i++)
        free(cfg->sources[i]);
    free(cfg->sources);
    free(cfg);
}

int kl_cfg_parse_data(kl_cfg **out, const char *source, const char *data, size_t len,
                      kl_diag *d)
{
    kl__pos where = { source, 0, 0 };
    kl_cfg *cfg;
    int rc;

    *out = NULL;
    if (len > KL_CFG_MAX_BYTES) {
        kl__diag_add(d, KL_SEV_ERROR, &where, "config larger than %u bytes", KL_CFG_MAX_BYTES);
        return -EFBIG;
    }
    if (!(cfg = calloc(1, sizeof(*cfg))))
        return -ENOMEM;
    rc = kl__cfg_parse_into(cfg, source, data, len, 1, d);
    if (rc) {
        kl_cfg_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

static int read_all(int fd, char **buf, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);

    if (!b)
        return -ENOMEM;
    for (;;) {
        ssize_t r;
        if (n == cap) {
            char *nb = cap > KL_CFG_MAX_BYTES ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return cap > KL_CFG_MAX_BYTES ? -EFBIG : -ENOMEM;
            }
            b = nb;
            cap *= 2;
        }
        r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *buf = b;
    *len = n;
    return 0;
}

int kl_cfg_parse_file(kl_cfg **out, const char *path, kl_diag *d)
{
    kl__pos where = { path, 0, 0 };
    char *buf = NULL;
    size_t len = 0;
    int fd, rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        kl__diag_add(d, KL_SEV_ERROR, &where, "cannot open config file: %s", strerror(-rc));
        return rc;
    }
    rc = read_all(fd, &buf, &len);
    close(fd);
    if (rc) {
        kl__diag_add(d, KL_SEV_ERROR, &where, "cannot read config file: %s",
                     rc == -EFBIG ? "file too large" : strerror(-rc));
        return rc;
    }
    rc = kl_cfg_parse_data(out, path, buf, len, d);
    free(buf);
    return rc;
}

/* Keel extension: `key=word' with an unquoted value that is not a number or a list (as
 * scripts write `name=web1') is taken as `key="word"'. Returns a malloc'd rewrite or NULL. */
static char *quote_bare_value(const char *arg)
{
    const char *eq = strchr(arg, '=');
    const char *v = eq ? eq + 1 : NULL;
    kl__buf b = { 0 };

    if (!eq || eq == arg || eq[-1] == '+' || strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789._")
        != (size_t)(eq - arg) || arg[0] < 'a' || arg[0] > 'z')
        return NULL;
    if (!*v || strchr("\"'[ \t#", *v) || (*v >= '0' && *v <= '9') || strpbrk(v, "\n;"))
        return NULL;
    kl__buf_add(&b, "%.*s=", (int)(eq - arg), arg);
    kl__buf_add_quoted(&b, v);
    return kl__buf_take(&b);
}

int kl_cfg_add_overrides(kl_cfg *cfg, int argc, char *const argv[], kl_diag *d)
{
    size_t keep = cfg->n;

    for (int i = 0; i < argc; i++) {
        char *q = quote_bare_value(argv[i]);
        const char *text = q ? q : argv[i];
        int rc = kl__cfg_parse_into(cfg, "<command line>", text, strlen(text), i + 1, d);
        free(q);
        if (rc) {
            kl__cfg_truncate(cfg, keep);
            return rc;
        }
    }
    return 0;
}

const struct kl_cfg_setting *kl__cfg_last(const kl_cfg *cfg, const char *key)
{
    for (size_t i = cfg->n; i-- > 0;)
        if (!strcmp(cfg->s[i].name, key))
            return &cfg->s[i];
    return NULL;
}

const kl_cfg_value *kl_cfg_lookup(const kl_cfg *cfg, const char *key)
{
    const struct kl_cfg_setting *s = kl__cfg_last(cfg, key);

    return s ? s->value : NULL;
}

static bool first_of_name(const kl_cfg *cfg, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(cfg->s[j].name, cfg->s[i].name))
            return false;
    return true;
}

size_t kl_cfg_key_count(const kl_cfg *cfg)
{
    size_t n = 0;

    for (size_t i = 0; i < cfg->n; i++)
        n += first_of_name(cfg, i);
    return n;
}

const char *kl_cfg_key(const kl_cfg *cfg, size_t k)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (first_of_name(cfg, i) && k-- == 0)
            return cfg->s[i].name;
    return NULL;
}

enum kl_cfg_kind kl_cfg_value_kind(const kl_cfg_value *v) { return v->kind; }
const char *kl_cfg_value_text(const kl_cfg_value *v) { return v->text; }
size_t kl_cfg_value_count(const kl_cfg_value *v) { return v->n; }
const char *kl_cfg_value_file(const kl_cfg_value *v) { return v->pos.file; }
int kl_cfg_value_line(const kl_cfg_value *v) { return v->pos.line; }
int kl_cfg_value_column(const kl_cfg_value *v) { return v->pos.col; }

const kl_cfg_value *kl_cfg_value_item(const kl_cfg_value *v, size_t i)
{
    return i < v->n ? v->items[i] : NULL;
}

int kl_cfg_get_string(const kl_cfg *cfg, const char *key, const char **out, kl_diag *d)
{
    const kl_cfg_value *v = kl_cfg_lookup(cfg, key);

    if (!v)
        return -ENOENT;
    if (v->kind == KL_CFG_LIST) {
        kl__diag_add(d, KL_SEV_ERROR, &v->pos, "%s: is a list but should be a single value",
                     key);
        return -EINVAL;
    }
    *out = v->text;
    return 0;
}

int kl_cfg_get_long(const kl_cfg *cfg, const char *key, long long min, long long max,
                    long long *out, kl_diag *d)
{
    const char *s;
    char *end;
    long long x;
    int rc = kl_cfg_get_string(cfg, key, &s, d);

    if (rc)
        return rc;
    errno = 0;
    x = strtoll(s, &end, 0);
    if (!*s || *end || errno) {
        kl__diag_add(d, KL_SEV_ERROR, &kl_cfg_lookup(cfg, key)->pos,
                     "%s: `%.60s' is not a number", key, s);
        return -EINVAL;
    }
    if (x < min || x > max) {
        kl__diag_add(d, KL_SEV_ERROR, &kl_cfg_lookup(cfg, key)->pos,
                     "%s: %lld is out of range (must be between %lld and %lld)", key, x, min,
                     max);
        return -EINVAL;
    }
    *out = x;
    return 0;
}

int kl_cfg_get_list(const kl_cfg *cfg, const char *key, const kl_cfg_value **out, kl_diag *d)
{
    const kl_cfg_value *v = kl_cfg_lookup(cfg, key);

    if (!v)
        return -ENOENT;
    if (v->kind != KL_CFG_LIST) {
        kl__diag_add(d, KL_SEV_ERROR, &v->pos, "%s: is a single value but should be a list",
                     key);
        return -EINVAL;
    }
    *out = v;
    return 0;
}
