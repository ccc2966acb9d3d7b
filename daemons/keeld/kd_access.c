/* kd_access.c - keeld's access file: roles (full, read-only) for Unix socket groups, TLS client
 * certificates (by subject CN, the handshake having verified them against --tls-ca) and
 * auth.login tokens, in one file (--access). Parsed once at start; every error names the line. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd_access.h"

#define KD_ACCESS_MAX_RULES 1024
#define KD_ACCESS_MAX_VALUE 255
#define KD_TOKEN_MIN 16

enum kind { K_GROUP, K_CERT, K_TOKEN };

struct rule {
    enum kd_role role;
    enum kind kind;
    gid_t gid;
    char value[KD_ACCESS_MAX_VALUE + 1];
};

struct kd_access {
    struct rule *rules;
    size_t n;
};

static int fail(char *err, size_t len, const char *path, unsigned line, const char *what,
                const char *word)
{
    snprintf(err, len, "%s:%u: %s%s%s%s", path, line, what, word ? " '" : "", word ? word : "",
             word ? "'" : "");
    return -EINVAL;
}

/* A group by name or number. */
static int group_id(const char *s, gid_t *gid)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    struct group *g;

    if (*s >= '0' && *s <= '9' && !*end && v < 0xffffffffUL) {
        *gid = (gid_t)v;
        return 0;
    }
    if (!(g = getgrnam(s)))
        return -ENOENT;
    *gid = g->gr_gid;
    return 0;
}

static int parse_line(struct kd_access *a, char *line, const char *path, unsigned no, char *err,
                      size_t len)
{
    char *role, *kind, *value, *extra, *save;
    struct rule r = { 0 };

    if ((role = strchr(line, '#')))
        *role = 0;
    if (!(role = strtok_r(line, " \t\r\n", &save)))
        return 0;
    kind = strtok_r(NULL, " \t\r\n", &save);
    value = strtok_r(NULL, " \t\r\n", &save);
    extra = strtok_r(NULL, " \t\r\n", &save);
    if (!kind || !value)
        return fail(err, len, path, no, "expected ROLE KIND VALUE", NULL);
    if (extra)
        return fail(err, len, path, no, "unexpected text after the value:", extra);
    if (!strcmp(role, "full"))
        r.role = KD_ROLE_FULL;
    else if (!strcmp(role, "readonly"))
        r.role = KD_ROLE_READONLY;
    else
        return fail(err, len, path, no, "unknown role (full, readonly):", role);
    if (strlen(value) > KD_ACCESS_MAX_VALUE)
        return fail(err, len, path, no, "value longer than 255 characters", NULL);
    if (!strcmp(kind, "group")) {
        r.kind = K_GROUP;
        if (group_id(value, &r.gid) < 0)
            return fail(err, len, path, no, "no such group:", value);
    } else if (!strcmp(kind, "cert")) {
        r.kind = K_CERT;
    } else if (!strcmp(kind, "token")) {
        r.kind = K_TOKEN;
        if (strlen(value) < KD_TOKEN_MIN)
            return fail(err, len, path, no, "a token needs at least 16 characters", NULL);
    } else {
        return fail(err, len, path, no, "unknown kind (group, cert, token):", kind);
    }
    if (a->n == KD_ACCESS_MAX_RULES)
        return fail(err, len, path, no, "more than 1024 rules", NULL);
    snprintf(r.value, sizeof(r.value), "%s", value);
    a->rules[a->n++] = r;
    return 0;
}

int kd_access_load(const char *path, struct kd_access **out, char *err, size_t len)
{
    struct kd_access *a = calloc(1, sizeof(*a));
    FILE *f = fopen(path, "re");
    char line[1024];
    unsigned no = 0;
    int rc = 0;

    *out = NULL;
    if (!a || !(a->rules = calloc(KD_ACCESS_MAX_RULES, sizeof(*a->rules)))) {
        rc = -ENOMEM;
        snprintf(err, len, "%s: out of memory", path);
    } else if (!f) {
        rc = -errno;
        snprintf(err, len, "%s: %s", path, strerror(errno));
    }
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        no++;
        if (!strchr(line, '\n') && !feof(f))
            rc = fail(err, len, path, no, "line longer than 1023 characters", NULL);
        else
            rc = parse_line(a, line, path, no, err, len);
    }
    if (f)
        fclose(f);
    if (rc < 0) {
        kd_access_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void kd_access_free(struct kd_access *a)
{
    if (!a)
        return;
    if (a->rules)
        for (size_t i = 0; i < KD_ACCESS_MAX_RULES; i++)
            memset(a->rules[i].value, 0, sizeof(a->rules[i].value));   /* tokens */
    free(a->rules);
    free(a);
}

/* Compares the whole of both strings whatever the first difference (tokens are secrets). */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;

    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i < lb ? i : 0]);
    return d == 0;
}

static enum kd_role match(const struct kd_access *a, enum kind k, gid_t gid, const char *s)
{
    enum kd_role best = KD_ROLE_NONE;

    for (size_t i = 0; a && i < a->n; i++) {
        const struct rule *r = &a->rules[i];
        bool hit = r->kind == k && (k == K_GROUP ? r->gid == gid :
                                    k == K_TOKEN ? same_secret(s, r->value) :
                                    !strcmp(s, r->value));
        if (hit && r->role > best)
            best = r->role;
    }
    return best;
}

enum kd_role kd_access_group(const struct kd_access *a, gid_t gid)
{
    return match(a, K_GROUP, gid, NULL);
}

enum kd_role kd_access_cert(const struct kd_access *a, const char *cn)
{
    return cn ? match(a, K_CERT, 0, cn) : KD_ROLE_NONE;
}

enum kd_role kd_access_token(const struct kd_access *a, const char *token)
{
    return token ? match(a, K_TOKEN, 0, token) : KD_ROLE_NONE;
}

bool kd_access_has(const struct kd_access *a, const char *kind)
{
    enum kind k = !strcmp(kind, "group") ? K_GROUP : !strcmp(kind, "cert") ? K_CERT : K_TOKEN;

    for (size_t i = 0; a && i < a->n; i++)
        if (a->rules[i].kind == k)
            return true;
    return false;
}
