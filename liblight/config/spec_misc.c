/* spec_misc.c - the vtpm, p9 and channel spec strings (key=value lists, xl.cfg(5)), parsed
 * into their device types and printed back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/kl_config.h"
#include "spec_util.h"

typedef int (*kv_fn)(void *dev, const char *k, const char *v, const kl__pos *pos,
                     const char *what, const char *spec, kl_diag *d);

/* Every non-empty token must be key=value; fn handles each pair. */
static int parse_kv_spec(void *dev, kv_fn fn, const char *spec, const kl__pos *pos,
                         const char *what, kl_diag *d)
{
    char **toks = kl__spec_split(spec), *v;
    int rc = 0;

    if (!toks)
        return -ENOMEM;
    for (size_t i = 0; !rc && toks[i]; i++) {
        if (!*toks[i])
            continue;
        if (!kl__spec_kv(toks[i], &v)) {
            kl__spec_err(d, pos, what, spec, "expected key=value, got `%.40s'", toks[i]);
            rc = -EINVAL;
        } else {
            rc = fn(dev, toks[i], v, pos, what, spec, d);
        }
    }
    kl__spec_free(toks);
    return rc;
}

static int unknown(const char *k, const kl__pos *pos, const char *what, const char *spec,
                   kl_diag *d)
{
    kl__spec_err(d, pos, what, spec, "unknown keyword `%.40s'", k);
    return -EINVAL;
}

static int vtpm_kv(void *dev, const char *k, const char *v, const kl__pos *pos, const char *what,
                   const char *spec, kl_diag *d)
{
    kl_device_vtpm *t = dev;

    if (!strcmp(k, "backend"))
        return kl__spec_set(&t->backend_domname, v);
    if (!strcmp(k, "uuid")) {
        if (kl_uuid_from_string(&t->uuid, v)) {
            kl__spec_err(d, pos, what, spec, "invalid uuid `%.40s'", v);
            return -EINVAL;
        }
        return 0;
    }
    return unknown(k, pos, what, spec, d);
}

int kl__vtpm_parse(kl_device_vtpm *vtpm, const char *spec, const kl__pos *pos, const char *what,
                   kl_diag *d)
{
    int rc = parse_kv_spec(vtpm, vtpm_kv, spec, pos, what, d);

    if (!rc && !vtpm->backend_domname) {
        kl__spec_err(d, pos, what, spec, "missing required backend field");
        rc = -EINVAL;
    }
    return rc;
}

static int p9_kv(void *dev, const char *k, const char *v, const kl__pos *pos, const char *what,
                 const char *spec, kl_diag *d)
{
    kl_device_p9 *p = dev;

    if (!strcmp(k, "tag"))
        return kl__spec_set(&p->tag, v);
    if (!strcmp(k, "path"))
        return kl__spec_set(&p->path, v);
    if (!strcmp(k, "security_model"))
        return kl__spec_set(&p->security_model, v);
    if (!strcmp(k, "backend"))
        return kl__spec_set(&p->backend_domname, v);
    return unknown(k, pos, what, spec, d);
}

int kl__p9_parse(kl_device_p9 *p9, const char *spec, const kl__pos *pos, const char *what,
                 kl_diag *d)
{
    int rc = parse_kv_spec(p9, p9_kv, spec, pos, what, d);

    if (!rc && (!p9->tag || !p9->path)) {
        kl__spec_err(d, pos, what, spec, "missing required %s field", p9->tag ? "path" : "tag");
        rc = -EINVAL;
    }
    return rc;
}

static int channel_kv(void *dev, const char *k, const char *v, const kl__pos *pos,
                      const char *what, const char *spec, kl_diag *d)
{
    kl_device_channel *c = dev;

    if (!strcmp(k, "name"))
        return kl__spec_set(&c->name, v);
    if (!strcmp(k, "path"))
        return kl__spec_set(&c->path, v);
    if (!strcmp(k, "backend"))
        return kl__spec_set(&c->backend_domname, v);
    if (!strcmp(k, "connection")) {
        if (kl_channel_connection_from_string(v, &c->connection) ||
            c->connection == KL_CHANNEL_CONNECTION_UNKNOWN) {
            kl__spec_err(d, pos, what, spec, "invalid connection `%.40s' (expected pty or socket)",
                         v);
            return -EINVAL;
        }
        return 0;
    }
    return unknown(k, pos, what, spec, d);
}

int kl__channel_parse(kl_device_channel *ch, const char *spec, const kl__pos *pos,
                      const char *what, kl_diag *d)
{
    int rc = parse_kv_spec(ch, channel_kv, spec, pos, what, d);
    const char *why = NULL;

    if (rc)
        return rc;
    if (!ch->name)
        why = "missing required name field";
    else if (ch->connection == KL_CHANNEL_CONNECTION_UNKNOWN)
        why = "missing required connection field";
    else if (ch->connection == KL_CHANNEL_CONNECTION_SOCKET && !ch->path)
        why = "a socket connection needs a path";
    else if (ch->connection == KL_CHANNEL_CONNECTION_PTY && ch->path)
        why = "a pty connection takes no path";
    if (why) {
        kl__spec_err(d, pos, what, spec, "%s", why);
        return -EINVAL;
    }
    return 0;
}

#define PUBLIC_PARSE(T, fn, what)                                                   \
    int kl_device_##T##_parse_spec(kl_device_##T *dev, const char *spec, kl_diag *d) \
    {                                                                               \
        kl_device_##T tmp;                                                          \
        int rc;                                                                     \
        kl_device_##T##_init(&tmp);                                                 \
        rc = fn(&tmp, spec, NULL, what, d);                                         \
        if (rc) {                                                                   \
            kl_device_##T##_dispose(&tmp);                                          \
            return rc;                                                              \
        }                                                                           \
        kl_device_##T##_dispose(dev);                                               \
        *dev = tmp;                                                                 \
        return 0;                                                                   \
    }
PUBLIC_PARSE(vtpm, kl__vtpm_parse, "vtpm")
PUBLIC_PARSE(p9, kl__p9_parse, "p9")
PUBLIC_PARSE(channel, kl__channel_parse, "channel")

static void add_kv(kl__buf *b, const char *k, const char *v)
{
    if (v)
        kl__buf_add(b, "%s%s=%s", b->len ? "," : "", k, v);
}

char *kl_device_vtpm_to_spec(const kl_device_vtpm *t)
{
    kl__buf b = { 0 };
    char u[KL_UUID_STRLEN];

    kl__buf_add(&b, "%s", "");
    add_kv(&b, "backend", t->backend_domname);
    if (!kl_uuid_is_nil(&t->uuid)) {
        kl_uuid_to_string(&t->uuid, u);
        add_kv(&b, "uuid", u);
    }
    return kl__buf_take(&b);
}

char *kl_device_p9_to_spec(const kl_device_p9 *p)
{
    kl__buf b = { 0 };

    kl__buf_add(&b, "%s", "");
    add_kv(&b, "tag", p->tag);
    add_kv(&b, "path", p->path);
    add_kv(&b, "security_model", p->security_model);
    add_kv(&b, "backend", p->backend_domname);
    return kl__buf_take(&b);
}

char *kl_device_channel_to_spec(const kl_device_channel *c)
{
    kl__buf b = { 0 };

    kl__buf_add(&b, "%s", "");
    add_kv(&b, "name", c->name);
    if (c->connection != KL_CHANNEL_CONNECTION_UNKNOWN)
        add_kv(&b, "connection", kl_channel_connection_to_string(c->connection));
    add_kv(&b, "path", c->path);
    add_kv(&b, "backend", c->backend_domname);
    return kl__buf_take(&b);
}
