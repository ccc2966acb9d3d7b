/* convert.c - from a parsed xl.cfg to a validated kl_domain_config: the domain-wide keys
 * (name, type, uuid, memory, vCPUs, scheduling, kernel, labels, on_* actions, misc) and the
 * all-or-nothing driver; devices and CPU affinity are in convert_dev.c / convert_cpus.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

__attribute__((format(printf, 5, 0)))
static void conv_msg(struct kl__conv *cv, enum kl_severity sev, const char *key,
                     const kl_cfg_value *at, const char *fmt, va_list ap)
{
    kl__pos file = { cv->cfg->nsources ? cv->cfg->sources[0] : NULL, 0, 0 };
    char msg[600];

    vsnprintf(msg, sizeof msg, fmt, ap);
    kl__diag_add(cv->d, sev, at ? &at->pos : &file, "%s: %s", key, msg);
    if (sev == KL_SEV_ERROR)
        cv->errors++;
}

void kl__conv_err(struct kl__conv *cv, const char *key, const kl_cfg_value *at,
                  const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conv_msg(cv, KL_SEV_ERROR, key, at, fmt, ap);
    va_end(ap);
}

void kl__conv_warn(struct kl__conv *cv, const char *key, const kl_cfg_value *at,
                   const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    conv_msg(cv, KL_SEV_WARNING, key, at, fmt, ap);
    va_end(ap);
}

int kl__conv_str(struct kl__conv *cv, const char *key, const char **out)
{
    int rc = kl_cfg_get_string(cv->cfg, key, out, cv->d);

    if (rc == -ENOENT)
        return 0;
    if (rc) {
        cv->errors++;
        return -1;
    }
    return 1;
}

int kl__conv_num(struct kl__conv *cv, const char *key, long long min, long long max,
                 long long *out)
{
    int rc = kl_cfg_get_long(cv->cfg, key, min, max, out, cv->d);

    if (rc == -ENOENT)
        return 0;
    if (rc) {
        cv->errors++;
        return -1;
    }
    return 1;
}

static const kl_cfg_value *at(struct kl__conv *cv, const char *key)
{
    return kl_cfg_lookup(cv->cfg, key);
}

static int dup_str(struct kl__conv *cv, char **dst, const char *s)
{
    free(*dst);
    *dst = strdup(s);
    if (!*dst)
        cv->errors++;
    return *dst ? 0 : -ENOMEM;
}

static void conv_name_type_uuid(struct kl__conv *cv)
{
    kl_domain_create_info *c = &cv->dc->c_info;
    const char *s;
    int r;

    if ((r = kl__conv_str(cv, "name", &s)) == 0)
        kl__conv_err(cv, "name", NULL, "domain name must be specified");
    else if (r > 0 && (!*s || strlen(s) > 64 || strchr(s, '/') || strspn(s, "0123456789") == strlen(s)))
        kl__conv_err(cv, "name", at(cv, "name"), "invalid domain name `%.80s' (1 to 64 "
                     "characters, no `/', not all digits)", s);
    else if (r > 0)
        dup_str(cv, &c->name, s);

    /* pv and hvm are kept (converting is separate from what this host can run); creating
     * such a domain is refused by kl_domain_config_setdefault */
    c->type = KL_DOMAIN_TYPE_PVH;
    if ((r = kl__conv_str(cv, "type", &s)) > 0) {
        if (!strcmp(s, "pv") || !strcmp(s, "hvm")) {
            c->type = strcmp(s, "pv") ? KL_DOMAIN_TYPE_HVM : KL_DOMAIN_TYPE_PV;
            (cv->flags & KL_CONV_STRICT ? kl__conv_err : kl__conv_warn)(
                cv, "type", at(cv, "type"), "type `%s' is kept, but Keel runs paravirtual "
                "guests as type \"pvh\" only: this host cannot create the domain", s);
        } else if (strcmp(s, "pvh")) {
            kl__conv_err(cv, "type", at(cv, "type"), "invalid domain type `%.40s' (expected "
                         "\"pvh\", \"pv\" or \"hvm\")", s);
        }
    } else if (r == 0 && kl__conv_str(cv, "builder", &s) > 0) {
        c->type = strcmp(s, "hvm") ? KL_DOMAIN_TYPE_PV : KL_DOMAIN_TYPE_HVM;
        (cv->flags & KL_CONV_STRICT ? kl__conv_err : kl__conv_warn)(
            cv, "builder", at(cv, "builder"), "deprecated builder=\"%.40s\" selects a %s "
            "guest, kept as type \"%s\"; Keel runs type \"pvh\" only: this host cannot "
            "create the domain", s, strcmp(s, "hvm") ? "pv" : "hvm", strcmp(s, "hvm") ? "pv" : "hvm");
    }

    if ((r = kl__conv_str(cv, "uuid", &s)) > 0) {
        if (kl_uuid_from_string(&c->uuid, s))
            kl__conv_err(cv, "uuid", at(cv, "uuid"), "`%.60s' is not a valid UUID", s);
    } else if (r == 0 && !(cv->flags & KL_CONV_NO_UUID)) {
        kl_uuid_generate(&c->uuid);
    }
}

static void conv_memory_vcpus(struct kl__conv *cv)
{
    kl_domain_build_info *b = &cv->dc->b_info;
    long long mem = 0, max = 0, vcpus = 1, maxv = 0;
    int hm, hx, hv, hmv;

    hm = kl__conv_num(cv, "memory", 1, KL_MEMORY_MAX_MIB, &mem);
    hx = kl__conv_num(cv, "maxmem", 1, KL_MEMORY_MAX_MIB, &max);
    if (hm > 0)
        b->target_memkb = (uint64_t)mem * 1024;
    if (hx > 0)
        b->max_memkb = (uint64_t)max * 1024;
    if (hm > 0 && hx > 0 && max < mem)
        kl__conv_err(cv, "maxmem", at(cv, "maxmem"), "maxmem (%lld MiB) is smaller than memory "
                     "(%lld MiB)", max, mem);

    hv = kl__conv_num(cv, "vcpus", 1, KL_MAX_VCPUS, &vcpus);
    hmv = kl__conv_num(cv, "maxvcpus", 1, KL_MAX_VCPUS, &maxv);
    if (hv < 0)
        vcpus = 1;
    if (hmv > 0 && maxv < vcpus)
        kl__conv_err(cv, "maxvcpus", at(cv, "maxvcpus"), "maxvcpus (%lld) is smaller than vcpus "
                     "(%lld)", maxv, vcpus);
    b->max_vcpus = (int)(hmv > 0 ? maxv : vcpus);
    for (long long i = 0; i < vcpus; i++)
        if (kl_bitmap_set(&b->avail_vcpus, (unsigned)i))
            cv->errors++;
}

static void conv_sched_misc(struct kl__conv *cv)
{
    kl_domain_build_info *b = &cv->dc->b_info;
    long long x;
    const char *s;

    if (kl__conv_num(cv, "cpu_weight", 1, KL_CPU_WEIGHT_MAX, &x) > 0)
        b->sched_params.weight = (int)x;
    if (kl__conv_num(cv, "cap", 0, KL_CAP_MAX, &x) > 0)
        b->sched_params.cap = (int)x;
    if (kl__conv_num(cv, "nomigrate", 0, 1, &x) > 0)
        kl_defbool_set(&b->disable_migrate, x);
    if (kl__conv_num(cv, "driver_domain", 0, 1, &x) > 0)
        kl_defbool_set(&cv->dc->c_info.driver_domain, x);
    if (kl__conv_num(cv, "max_grant_frames", 1, 65535, &x) > 0)
        b->max_grant_frames = (int)x;
    if (kl__conv_num(cv, "max_maptrack_frames", 0, 65535, &x) > 0)
        b->max_maptrack_frames = (int)x;
    if (kl__conv_num(cv, "max_event_channels", 1, 131072, &x) > 0)
        b->event_channels = (uint32_t)x;
    if (kl__conv_str(cv, "pool", &s) > 0)
        dup_str(cv, &cv->dc->c_info.pool_name, s);
}

static void conv_path(struct kl__conv *cv, const char *key, char **dst)
{
    const char *s;

    if (kl__conv_str(cv, key, &s) <= 0)
        return;
    if (!*s)
        kl__conv_err(cv, key, at(cv, key), "empty path");
    else
        dup_str(cv, dst, s);
}

static void conv_boot(struct kl__conv *cv)
{
    kl_domain_build_info *b = &cv->dc->b_info;
    const char *cmdline = NULL, *root = NULL, *extra = NULL;
    int hc, hr, he;

    conv_path(cv, "kernel", &b->kernel);
    conv_path(cv, "ramdisk", &b->ramdisk);
    if (!at(cv, "kernel") && cv->dc->c_info.type == KL_DOMAIN_TYPE_PVH)
        kl__conv_err(cv, "kernel", NULL, "a pvh domain needs kernel= (direct kernel boot)");
    hc = kl__conv_str(cv, "cmdline", &cmdline);
    hr = kl__conv_str(cv, "root", &root);
    he = kl__conv_str(cv, "extra", &extra);
    if (hc > 0) {
        if (hr > 0 || he > 0)
            kl__conv_warn(cv, "cmdline", at(cv, "cmdline"), "ignoring root= and extra= in "
                          "favour of cmdline=");
        dup_str(cv, &b->cmdline, cmdline);
    } else if (hr > 0 || he > 0) {
        char *s;
        if (asprintf(&s, "%s%s%s%s", hr > 0 ? "root=" : "", hr > 0 ? root : "",
                     hr > 0 && he > 0 ? " " : "", he > 0 ? extra : "") < 0) {
            cv->errors++;
            return;
        }
        free(b->cmdline);
        b->cmdline = s;
    }
}

/* A FLASK context: user:role:type with an optional MLS/MCS part. */
static int label_ok(const char *s)
{
    int parts = 1;
    const char *p;

    if (!*s || *s == ':')
        return 0;
    for (p = s; *p; p++) {
        if (*p == ':') {
            if (p[1] == ':' || !p[1])
                return 0;
            parts++;
        } else if (*p <= ' ' || *p > '~') {
            return 0;
        }
    }
    return parts >= 3;
}

static void conv_labels(struct kl__conv *cv)
{
    const char *sec = NULL, *init = NULL;
    int hs = kl__conv_str(cv, "seclabel", &sec), hi = kl__conv_str(cv, "init_seclabel", &init);

    if (hs > 0 && !label_ok(sec)) {
        kl__conv_err(cv, "seclabel", at(cv, "seclabel"), "`%.80s' is not a security label "
                     "(expected user:role:type)", sec);
        hs = -1;
    }
    if (hi > 0 && !label_ok(init)) {
        kl__conv_err(cv, "init_seclabel", at(cv, "init_seclabel"), "`%.80s' is not a security "
                     "label (expected user:role:type)", init);
        hi = -1;
    }
    if (hi > 0) {
        dup_str(cv, &cv->dc->c_info.ssid_label, init);
        if (hs > 0)
            dup_str(cv, &cv->dc->b_info.exec_ssid_label, sec);
    } else if (hs > 0) {
        dup_str(cv, &cv->dc->c_info.ssid_label, sec);
    }
}

static void conv_actions(struct kl__conv *cv)
{
    static const char *const keys[] = { "on_poweroff", "on_reboot", "on_watchdog", "on_crash",
                                        "on_soft_reset" };
    kl_action_on_shutdown *dst[] = { &cv->dc->on_poweroff, &cv->dc->on_reboot,
                                     &cv->dc->on_watchdog, &cv->dc->on_crash,
                                     &cv->dc->on_soft_reset };
    const kl_action_on_shutdown dflt[] = { KL_ACTION_ON_SHUTDOWN_DESTROY,
                                           KL_ACTION_ON_SHUTDOWN_RESTART,
                                           KL_ACTION_ON_SHUTDOWN_DESTROY,
                                           KL_ACTION_ON_SHUTDOWN_DESTROY,
                                           KL_ACTION_ON_SHUTDOWN_SOFT_RESET };
    const char *s;

    for (size_t i = 0; i < 5; i++) {
        *dst[i] = dflt[i];
        if (kl__conv_str(cv, keys[i], &s) > 0 && kl_action_from_xl(s, dst[i]))
            kl__conv_err(cv, keys[i], at(cv, keys[i]), "invalid action `%.40s' (expected "
                         "destroy, restart, rename-restart, preserve, coredump-destroy, "
                         "coredump-restart or soft-reset)", s);
    }
}

/* A value as xl.cfg text: strings quoted, numbers as written, lists bracketed. */
static void value_text(kl__buf *b, const kl_cfg_value *v)
{
    if (kl_cfg_value_kind(v) == KL_CFG_STRING) {
        kl__buf_add_quoted(b, kl_cfg_value_text(v));
    } else if (kl_cfg_value_kind(v) == KL_CFG_NUMBER) {
        kl__buf_add(b, "%s", kl_cfg_value_text(v));
    } else {
        kl__buf_add(b, "[");
        for (size_t i = 0; i < kl_cfg_value_count(v); i++) {
            kl__buf_add(b, "%s", i ? ", " : " ");
            value_text(b, kl_cfg_value_item(v, i));
        }
        kl__buf_add(b, " ]");
    }
}

/* Keep a Xen-only key as a `key = value' line of dc->xen_only. */
static void keep_xen_only(struct kl__conv *cv, const char *k)
{
    kl_string_list *l = &cv->dc->xen_only;
    size_t n = kl_string_list_length(l);
    kl__buf b = { 0 };
    char **nl;

    kl__buf_add(&b, "%s = ", k);
    value_text(&b, kl_cfg_lookup(cv->cfg, k));
    if (!(nl = realloc(*l, (n + 2) * sizeof(*nl))) || !(nl[n] = kl__buf_take(&b))) {
        if (nl)
            *l = nl;
        free(kl__buf_take(&b));
        cv->errors++;
        return;
    }
    nl[n + 1] = NULL;
    *l = nl;
}

static int line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void conv_unknown_keys(struct kl__conv *cv)
{
    size_t n = kl_cfg_key_count(cv->cfg);

    for (size_t i = 0; i < n; i++) {
        const char *k = kl_cfg_key(cv->cfg, i);
        enum kl__key_class c = kl__key_class(k);
        if (c == KL_KEY_KEEL)
            continue;
        const char *what = c == KL_KEY_XEN_ONLY ? "not supported by Keel" : "unknown key";
        bool strict = cv->flags & KL_CONV_STRICT;
        /* at the first setting of the key */
        for (size_t j = 0; j < cv->cfg->n; j++)
            if (!strcmp(cv->cfg->s[j].name, k)) {
                kl__diag_add(cv->d, strict ? KL_SEV_ERROR : KL_SEV_WARNING, &cv->cfg->s[j].pos,
                             "%s: %s%s", k, what, strict ? "" : c == KL_KEY_XEN_ONLY ?
                             "; kept, but this host cannot create a domain using it" :
                             "; ignored");
                break;
            }
        cv->errors += strict;
        if (c == KL_KEY_XEN_ONLY && !strict)
            keep_xen_only(cv, k);
    }
    /* in key order, so that the same settings in any order are the same config */
    if (cv->dc->xen_only)
        qsort(cv->dc->xen_only, kl_string_list_length(&cv->dc->xen_only), sizeof(char *),
              line_cmp);
}

int kl_domain_config_from_cfg(kl_domain_config *dc, const kl_cfg *cfg, unsigned flags,
                              kl_diag *d)
{
    kl_domain_config tmp;
    struct kl__conv cv = { .cfg = cfg, .dc = &tmp, .flags = flags, .d = d };

    kl_domain_config_init(&tmp);
    conv_name_type_uuid(&cv);
    conv_memory_vcpus(&cv);
    kl__conv_cpus(&cv);
    conv_sched_misc(&cv);
    conv_boot(&cv);
    conv_labels(&cv);
    conv_actions(&cv);
    kl__conv_devices(&cv);
    conv_unknown_keys(&cv);
    if (cv.errors) {
        kl_domain_config_dispose(&tmp);
        return -EINVAL;
    }
    kl_domain_config_dispose(dc);
    *dc = tmp;
    return 0;
}

int kl_domain_config_load(kl_domain_config *dc, const char *path, int noverrides,
                          char *const overrides[], unsigned flags, kl_diag *d)
{
    kl_cfg *cfg;
    int rc = kl_cfg_parse_file(&cfg, path, d);

    if (rc)
        return rc;
    rc = kl_cfg_add_overrides(cfg, noverrides, overrides, d);
    if (!rc)
        rc = kl_domain_config_from_cfg(dc, cfg, flags, d);
    kl_cfg_free(cfg);
    return rc;
}
