/* spec_disk.c - the disk spec string (xl-disk-configuration(5)): positional target, format,
 * vdev, access; key=value pairs and flags; `target=' taking the rest of the string; the
 * deprecated "prefix:" forms; parsed into kl_device_disk and printed back. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/kl_config.h"
#include "spec_util.h"

enum { P_TARGET, P_FORMAT, P_VDEV, P_ACCESS, P_N };
static const char *const pnames[P_N] = { "target", "format", "vdev", "access" };

struct dparse {
    kl_device_disk *disk;
    char *val[P_N];     /* borrowed from the token array, or from spec for target= */
    bool given[P_N];
    bool deprecated;    /* a "fmt:" prefix was seen: positional order is target, vdev, access */
    bool cdrom;
    const kl__pos *pos;
    const char *what, *spec;
    kl_diag *d;
};

/* A parameter may be given once; as in Xen's parser, one given empty may be given again, a
 * format may be repeated with the same value, and access= (a keyword) may be given again,
 * the last one winning. */
static int set_param(struct dparse *p, int which, char *v, bool keyword)
{
    if (p->given[which] && !*p->val[which]) {
        p->val[which] = v;
        return 0;
    }
    if (p->given[which] && which == P_FORMAT && (!*v || !strcmp(p->val[which], v))) {
        p->val[which] = *v ? v : p->val[which];
        return 0;
    }
    if (p->given[which] && which == P_ACCESS && keyword) {
        p->val[which] = v;
        return 0;
    }
    if (p->given[which]) {
        kl__spec_err(p->d, p->pos, p->what, p->spec, "`%s' specified more than once",
                     pnames[which]);
        return -EINVAL;
    }
    p->given[which] = true;
    p->val[which] = v;
    return 0;
}

/* Deprecated prefixes before the target: formats, scripts, and ignored ones. */
static char *strip_prefixes(struct dparse *p, char *t)
{
    static const char *const fmts[] = { "raw", "qcow", "qcow2", "vhd" };
    static const char *const scripts[] = { "iscsi", "nbd", "enbd", "drbd" };
    static const char *const ignored[] = { "tapdisk", "tap2", "tap", "aio", "ioemu", "file",
                                           "phy" };
    for (;;) {
        char *colon = strchr(t, ':');
        bool hit = false;
        if (!colon)
            return t;
        *colon = '\0';
        for (size_t i = 0; i < 4; i++)
            if (!strcmp(t, fmts[i])) {
                kl_disk_format_from_string(t, &p->disk->format);
                hit = true;
            }
        for (size_t i = 0; !hit && i < 4; i++)
            if (!strcmp(t, scripts[i])) {
                free(p->disk->script);
                if (asprintf(&p->disk->script, "block-%s", t) < 0)
                    p->disk->script = NULL;
                hit = true;
            }
        for (size_t i = 0; !hit && i < sizeof ignored / sizeof ignored[0]; i++)
            hit = !strcmp(t, ignored[i]);
        *colon = ':';
        if (!hit)
            return t;
        p->deprecated = true;
        t = colon + 1;
    }
}

static int positional(struct dparse *p, char *t)
{
    static const int order[] = { P_TARGET, P_FORMAT, P_VDEV, P_ACCESS };
    char *colon;

    for (size_t i = 0; i < 4; i++) {
        int w = order[i];
        if (p->given[w] || (w == P_FORMAT && p->deprecated))
            continue;
        if (w == P_TARGET)
            t = strip_prefixes(p, t);
        /* ",hdc:cdrom,r" and "raw:/img,xvdb:disk": a vdev carrying its device type after
         * its last colon (as Xen's parser reads it) */
        if ((w == P_FORMAT || w == P_VDEV) && (colon = strrchr(t, ':'))) {
            if (strcmp(colon + 1, "cdrom") && strcmp(colon + 1, "disk")) {
                kl__spec_err(p->d, p->pos, p->what, p->spec,
                             "invalid device type `%.40s' (cdrom or disk)", colon + 1);
                return -EINVAL;
            }
            *colon = '\0';
            p->cdrom = !strcmp(colon + 1, "cdrom");
            p->deprecated = true;
            w = P_VDEV;
        }
        return set_param(p, w, t, false);
    }
    kl__spec_err(p->d, p->pos, p->what, p->spec, "too many positional parameters at `%.40s'",
                 t);
    return -EINVAL;
}

static int keyword(struct dparse *p, char *k, char *v)
{
    kl_device_disk *dk = p->disk;

    for (int i = 0; i < P_N; i++)
        if (!strcmp(k, pnames[i]))
            return set_param(p, i, v, true);
    if (!strcmp(k, "devtype")) {
        if (strcmp(v, "cdrom") && strcmp(v, "disk")) {
            kl__spec_err(p->d, p->pos, p->what, p->spec,
                         "invalid devtype `%.40s' (cdrom or disk)", v);
            return -EINVAL;
        }
        p->cdrom = !strcmp(v, "cdrom");  /* the last device type given wins, as in Xen */
        return 0;
    }
    if (!strcmp(k, "backend"))
        return kl__spec_set(&dk->backend_domname, v);
    if (!strcmp(k, "script"))
        return kl__spec_set(&dk->script, v);
    if (!strcmp(k, "backendtype") && (kl_disk_backend_from_string(v, &dk->backend) ||
                                      dk->backend == KL_DISK_BACKEND_UNKNOWN)) {
        kl__spec_err(p->d, p->pos, p->what, p->spec,
                     "invalid backendtype `%.40s' (expected phy, qdisk, standalone or tap)", v);
        return -EINVAL;
    }
    if (!strcmp(k, "specification") && (kl_disk_specification_from_string(v, &dk->specification) ||
                                        dk->specification == KL_DISK_SPECIFICATION_UNKNOWN)) {
        kl__spec_err(p->d, p->pos, p->what, p->spec,
                     "invalid specification `%.40s' (expected xen or virtio)", v);
        return -EINVAL;
    }
    if (!strcmp(k, "backendtype") || !strcmp(k, "specification"))
        return 0;
    if (!strcmp(k, "grant_usage") || !strncmp(k, "colo-", 5) || !strcmp(k, "active-disk") ||
        !strcmp(k, "hidden-disk")) {
        kl__spec_warn(p->d, p->pos, p->what, p->spec, "`%s' is not supported by Keel; ignored", k);
        return 0;
    }
    kl__spec_err(p->d, p->pos, p->what, p->spec, "unknown keyword `%.40s'", k);
    return -EINVAL;
}

static int flag(struct dparse *p, const char *t)
{
    if (!strcmp(t, "cdrom"))
        p->cdrom = true;
    else if (!strcmp(t, "direct-io-safe"))
        p->disk->direct_io_safe = true;
    else if (!strcmp(t, "discard") || !strcmp(t, "no-discard"))
        kl_defbool_set(&p->disk->discard_enable, !strcmp(t, "discard"));
    else if (!strcmp(t, "trusted") || !strcmp(t, "untrusted"))
        kl_defbool_set(&p->disk->trusted, !strcmp(t, "trusted"));
    else if (!strcmp(t, "colo"))
        kl__spec_warn(p->d, p->pos, p->what, p->spec, "`colo' is not supported by Keel; ignored");
    else
        return 1; /* not a flag */
    return 0;
}

/* Format names as Xen's parser spells them (lower case only). */
static int format_value(const char *s, kl_disk_format *out)
{
    static const struct { const char *n; kl_disk_format f; } fmts[] = {
        { "raw", KL_DISK_FORMAT_RAW }, { "qcow", KL_DISK_FORMAT_QCOW },
        { "qcow2", KL_DISK_FORMAT_QCOW2 }, { "vhd", KL_DISK_FORMAT_VHD },
        { "qed", KL_DISK_FORMAT_QED }, { "empty", KL_DISK_FORMAT_EMPTY },
    };

    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
        if (!strcmp(s, fmts[i].n)) {
            *out = fmts[i].f;
            return 0;
        }
    return -EINVAL;
}

static int finish(struct dparse *p)
{
    kl_device_disk *dk = p->disk;
    const char *fmt = p->val[P_FORMAT], *acc = p->val[P_ACCESS];

    if (fmt && *fmt && format_value(fmt, &dk->format)) {
        kl__spec_err(p->d, p->pos, p->what, p->spec,
                     "invalid format `%.40s' (expected raw, qcow, qcow2, vhd, qed or empty)", fmt);
        return -EINVAL;
    }
    /* as in Xen's parser, a vdev must be given, but an empty one given is accepted here
     * (attaching refuses it) */
    if (!p->given[P_VDEV]) {
        kl__spec_err(p->d, p->pos, p->what, p->spec, "no vdev specified");
        return -EINVAL;
    }
    dk->readwrite = 1;
    if (acc && *acc) {
        if (!strcmp(acc, "rw") || !strcmp(acc, "w"))
            dk->readwrite = 1;
        else if (!strcmp(acc, "ro") || !strcmp(acc, "r"))
            dk->readwrite = 0;
        else {
            kl__spec_err(p->d, p->pos, p->what, p->spec,
                         "invalid access `%.40s' (expected rw, w, ro or r)", acc);
            return -EINVAL;
        }
    }
    if (p->cdrom)
        dk->readwrite = 0; /* a cdrom is read-only whatever the access, as in Xen */
    dk->is_cdrom = dk->removable = p->cdrom;
    if (kl__spec_set(&dk->vdev, p->val[P_VDEV]) || kl__spec_set(&dk->pdev_path, p->val[P_TARGET]))
        return -ENOMEM;
    /* a cdrom without media is "empty" whatever format was given, as in Xen */
    if (p->cdrom && !dk->pdev_path)
        dk->format = KL_DISK_FORMAT_EMPTY;
    else if (dk->format == KL_DISK_FORMAT_UNKNOWN)
        dk->format = KL_DISK_FORMAT_RAW;
    return 0;
}

/* "key" in "key=value" looks like a parameter name: [a-z][a-z0-9_-]* */
static bool keyword_name(const char *b, const char *e)
{
    if (b == e || *b < 'a' || *b > 'z')
        return false;
    for (; b < e; b++)
        if (!islower((unsigned char)*b) && !isdigit((unsigned char)*b) && *b != '_' && *b != '-')
            return false;
    return true;
}

int kl__disk_parse(kl_device_disk *disk, const char *spec, const kl__pos *pos, const char *what,
                   kl_diag *d)
{
    struct dparse p = { .disk = disk, .pos = pos, .what = what, .spec = spec, .d = d };
    char *copy = strdup(spec), *t, *eq, *next;
    int rc = 0;

    if (!copy)
        return -ENOMEM;
    for (t = copy; !rc && t; t = next) {
        while (isspace((unsigned char)*t))
            t++;
        if (!strncmp(t, "target=", 7)) {
            rc = set_param(&p, P_TARGET, t + 7, true); /* also after an empty target */
            break;
        }
        next = strchr(t, ',');
        if (next)
            *next++ = '\0';
        /* as in Xen's disk parser, a comma ending the spec starts no parameter:
         * "/path,,hdb,," is four parameters, the last one empty */
        if (next && !next[strspn(next, " \t\n")])
            next = NULL;
        eq = strchr(t, '=');
        if (eq && keyword_name(t, eq)) {
            *eq = '\0';
            rc = keyword(&p, t, eq + 1);
        } else if (flag(&p, t)) {
            rc = positional(&p, t);
        }
    }
    if (!rc)
        rc = finish(&p);
    free(copy);
    return rc;
}

int kl_device_disk_parse_spec(kl_device_disk *disk, const char *spec, kl_diag *d)
{
    kl_device_disk tmp;
    int rc;

    kl_device_disk_init(&tmp);
    rc = kl__disk_parse(&tmp, spec, NULL, "disk", d);
    if (rc) {
        kl_device_disk_dispose(&tmp);
        return rc;
    }
    kl_device_disk_dispose(disk);
    *disk = tmp;
    return 0;
}

char *kl_device_disk_to_spec(const kl_device_disk *dk)
{
    kl__buf b = { 0 };

    kl__buf_add(&b, "format=%s, vdev=%s, access=%s", kl_disk_format_to_string(dk->format),
                dk->vdev ? dk->vdev : "", dk->readwrite ? "rw" : "ro");
    if (dk->is_cdrom)
        kl__buf_add(&b, ", devtype=cdrom");
    if (dk->backend_domname)
        kl__buf_add(&b, ", backend=%s", dk->backend_domname);
    if (dk->backend != KL_DISK_BACKEND_UNKNOWN)
        kl__buf_add(&b, ", backendtype=%s", kl_disk_backend_to_string(dk->backend));
    if (dk->specification != KL_DISK_SPECIFICATION_UNKNOWN)
        kl__buf_add(&b, ", specification=%s", kl_disk_specification_to_string(dk->specification));
    if (dk->script)
        kl__buf_add(&b, ", script=%s", dk->script);
    if (dk->direct_io_safe)
        kl__buf_add(&b, ", direct-io-safe");
    if (!kl_defbool_is_default(dk->discard_enable))
        kl__buf_add(&b, ", %s", kl_defbool_val_or(dk->discard_enable, true) ? "discard" : "no-discard");
    if (!kl_defbool_is_default(dk->trusted))
        kl__buf_add(&b, ", %s", kl_defbool_val_or(dk->trusted, true) ? "trusted" : "untrusted");
    if (dk->pdev_path)
        kl__buf_add(&b, ", target=%s", dk->pdev_path);
    return kl__buf_take(&b);
}
