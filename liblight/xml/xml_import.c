/* xml_import.c - libvirt domain XML to a kl_domain_config: the domain-wide elements (name,
 * uuid, memory, vcpu, cputune, os, on_*, clock, features, metadata) become xl.cfg settings as
 * in libvirt's xen-xl converter, devices are in xml_import_dev.c, and the resulting xl.cfg is
 * converted by kl_domain_config_from_cfg, whose diagnostics are moved back onto the XML
 * element each setting came from. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml_int.h"

/* A number with a libvirt memory unit, in KiB (rounded up). */
static int mem_kib(kx_imp *im, xmlNodePtr n, uint64_t *kib)
{
    static const struct { const char *u; uint64_t mul; } units[] = {
        { "b", 1 }, { "bytes", 1 }, { "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
        { "MB", 1000000 }, { "M", 1ull << 20 }, { "MiB", 1ull << 20 },
        { "GB", 1000000000ull }, { "G", 1ull << 30 }, { "GiB", 1ull << 30 },
        { "TB", 1000000000000ull }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 },
    };
    char *unit = kx_prop(n, "unit"), *t = kx_text(n), *end;
    uint64_t mul = 1024, v;
    size_t i;
    int rc = -EINVAL;

    for (i = 0; unit && i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(unit, units[i].u))
            break;
    if (unit && i == sizeof units / sizeof units[0])
        kx_err(im, n, "unit: unknown unit `%.20s'", unit);
    else if (unit)
        mul = units[i].mul;
    if (!t || *t < '0' || *t > '9' || (errno = 0, v = strtoull(t, &end, 10), errno || *end))
        kx_err(im, n, "`%.40s' is not a number", t ? t : "");
    else if (v > (UINT64_MAX / mul))
        kx_err(im, n, "size out of range");
    else if (!(unit && i == sizeof units / sizeof units[0])) {
        *kib = (v * mul + 1023) / 1024;
        rc = 0;
    }
    free(unit);
    free(t);
    return rc;
}

static void kv_mib(kx_imp *im, xmlNodePtr n, const char *key, uint64_t kib)
{
    char s[32];

    if (kib % 1024)
        kx_warn(im, n, "%" PRIu64 " KiB rounded up to %" PRIu64 " MiB", kib, (kib + 1023) / 1024);
    snprintf(s, sizeof s, "%" PRIu64, (kib + 1023) / 1024);
    kx_kv(im, n, key, s);
}

/* <memory> is the maximum and <currentMemory> the balloon target; with one alone, memory =. */
static void emit_memory(kx_imp *im)
{
    uint64_t max = 0, cur = 0;
    int hm = im->mem ? mem_kib(im, im->mem, &max) : -1;
    int hc = im->cur ? mem_kib(im, im->cur, &cur) : -1;

    if (hm == 0 && hc != 0 && max == KL_DEFAULT_MEMKB && im->keel)
        for (xmlNodePtr c = im->keel->children; c; c = c->next)
            if (kx_is_keel(c, "memory-unset"))
                return; /* the size libvirt needed, not a setting of the config */
    if (hc == 0)
        kv_mib(im, im->cur, "memory", cur);
    else if (hm == 0)
        kv_mib(im, im->mem, "memory", max);
    if (hc == 0 && hm == 0)
        kv_mib(im, im->mem, "maxmem", max);
}

static void emit_vcpus(kx_imp *im)
{
    xmlNodePtr n = im->vcpu;
    char *max, *cur, *set;

    if (n) {
        max = kx_text(n);
        cur = kx_prop(n, "current");
        set = kx_prop(n, "cpuset");
        kx_kv(im, n, "vcpus", cur ? cur : max);
        if (cur)
            kx_kv(im, n, "maxvcpus", max);
        if (set && !im->cpus.n)
            kx_kv(im, n, "cpus", set);
        free(max);
        free(cur);
        free(set);
    }
    if (im->cpus.n)
        kx_list_emit(im, "cpus", &im->cpus);
}

/* <cputune><vcpupin vcpu='N' cpuset='...'/>: one CPU list per vCPU, in vCPU order. */
static void do_cputune(kx_imp *im, xmlNodePtr n)
{
    for (xmlNodePtr c = n->children; c; c = c->next) {
        char *v, *set, *end;
        long idx;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!kx_is(c, "vcpupin")) {
            kx_unsupported(im, c, "only vcpupin is part of the configuration");
            continue;
        }
        v = kx_prop(c, "vcpu");
        set = kx_prop(c, "cpuset");
        idx = v ? strtol(v, &end, 10) : -1;
        if (!v || !*v || *end || idx < 0 || idx > KL_MAX_VCPUS)
            kx_err(im, c, "vcpu: missing or invalid vCPU number `%.20s'", v ? v : "");
        else if ((size_t)idx != im->cpus.n)
            kx_err(im, c, "vcpu: vcpupin elements must list vCPUs 0, 1, ... in order "
                   "(expected %zu, found %ld)", im->cpus.n, idx);
        else if (!set)
            kx_err(im, c, "cpuset: missing");
        else {
            kx_list_add(im, &im->cpus, c, set);
            set = NULL;
        }
        free(v);
        free(set);
    }
}

static void do_os(kx_imp *im, xmlNodePtr n)
{
    static const struct { const char *el, *key; } keys[] = {
        { "kernel", "kernel" }, { "initrd", "ramdisk" }, { "cmdline", "cmdline" },
    };
    bool has_type = false;

    for (xmlNodePtr c = n->children; c; c = c->next) {
        char *t;
        size_t i;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (kx_is(c, "type")) {
            has_type = true;
            t = kx_text(c);
            if (t && !strcmp(t, "xenpvh"))
                kx_kv(im, c, "type", "pvh");
            else if (t && (!strcmp(t, "linux") || !strcmp(t, "xen")))
                kx_kv(im, c, "type", "pv");
            else if (t && !strcmp(t, "hvm"))
                kx_kv(im, c, "type", "hvm");
            else
                kx_err(im, c, "unknown OS type `%.40s' (expected xenpvh, linux, xen or hvm)",
                       t ? t : "");
            free(t);
            continue;
        }
        if (kx_is(c, "boot")) {
            if (!im->xl_lines)
                kx_import_boot(im, c, &im->boot);
            if (!im->boot_node)
                im->boot_node = c;
            continue;
        }
        for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (kx_is(c, keys[i].el))
                break;
        if (i < sizeof keys / sizeof keys[0]) {
            t = kx_text(c);
            kx_kv(im, c, keys[i].key, t);
            free(t);
        } else if (c->ns) {
            kx_err(im, c, "unknown element in <os>");
        } else {
            kx_unsupported(im, c, "firmware and boot settings of HVM guests");
        }
    }
    if (!has_type)
        kx_err(im, n, "<type> is missing");
}

static void do_clock(kx_imp *im, xmlNodePtr n)
{
    char *off = kx_prop(n, "offset");

    if (off && !strcmp(off, "localtime") && !im->xl_lines)
        kx_kv_raw(im, n, "localtime", "1");
    else if (off && !strcmp(off, "localtime"))
        ; /* a mirror of the localtime line in <keel:xl> */
    else if (off && strcmp(off, "utc"))
        kx_unsupported(im, n, "clock offsets other than utc and localtime");
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            kx_unsupported(im, c, "clock timers");
    free(off);
}

/* Settings kept in <keel:config> because libvirt's vocabulary has no element for them. */
static const char *const meta_keys[] = {
    "pool", "seclabel", "init_seclabel", "cpu_weight", "cap", "cpus_soft", "nomigrate",
    "driver_domain", "max_maptrack_frames", "on_poweroff", "on_reboot", "on_crash",
    "on_watchdog", "on_soft_reset", "vtpm", "kernel", "ramdisk", NULL
};

static void do_keel_setting(kx_imp *im, xmlNodePtr c)
{
    char *key = kx_prop(c, "name");
    size_t i;
    bool list = false;

    for (i = 0; key && meta_keys[i]; i++)
        if (!strcmp(key, meta_keys[i]))
            break;
    if (!key || !meta_keys[i]) {
        kx_err(im, c, "name: `%.40s' is not a setting kept in Keel's metadata", key ? key : "");
        free(key);
        return;
    }
    for (xmlNodePtr it = c->children; it; it = it->next)
        list |= it->type == XML_ELEMENT_NODE;
    if (list) {
        struct kx_list l = { 0 };
        for (xmlNodePtr it = c->children; it; it = it->next) {
            if (it->type != XML_ELEMENT_NODE)
                continue;
            if (!kx_is_keel(it, "item"))
                kx_err(im, it, "expected <keel:item>");
            else
                kx_list_add(im, &l, it, kx_text(it));
        }
        kx_list_emit(im, key, &l);
        kx_list_free(&l);
    } else {
        char *t = kx_text(c);
        kx_kv(im, c, key, t);
        free(t);
    }
    free(key);
}

static void do_keel(kx_imp *im)
{
    for (xmlNodePtr c = im->keel ? im->keel->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (kx_is_keel(c, "setting"))
            do_keel_setting(im, c);
        else if (!kx_is_keel(c, "disk") && !kx_is_keel(c, "interface") &&
                 !kx_is_keel(c, "memory-unset") && !kx_is_keel(c, "xl") &&
                 !kx_is_keel(c, "channel") && !kx_is_keel(c, "filesystem"))
            kx_err(im, c, "unknown element in Keel's metadata");
    }
}

static void find_keel(kx_imp *im, xmlNodePtr meta)
{
    for (xmlNodePtr c = meta->children; c; c = c->next)
        if (kx_is_keel(c, "config")) {
            if (im->keel)
                kx_err(im, c, "more than one <keel:config>");
            im->keel = c;
        }
}

/* libvirt elements that describe what Keel's configuration does not hold. */
static const char *const known_unsupported[] = {
    "title", "description", "maxMemory", "memoryBacking", "memtune", "blkiotune", "numatune",
    "iothreads", "iothreadids", "resource", "sysinfo", "bootloader", "bootloader_args",
    "idmap", "cpu", "pm", "perf", "keywrap", "launchSecurity", "genid", "seclabel",
    "on_lockfailure", "vcpus", NULL
};

static void do_simple(kx_imp *im, xmlNodePtr c, const char *key)
{
    char *t = kx_text(c);

    kx_kv(im, c, key, t);
    free(t);
}

static void do_child(kx_imp *im, xmlNodePtr c)
{
    static const char *const simple[][2] = {
        { "name", "name" }, { "uuid", "uuid" }, { "on_poweroff", "on_poweroff" },
        { "on_reboot", "on_reboot" }, { "on_crash", "on_crash" },
    };
    size_t i;

    for (i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (kx_is(c, simple[i][0])) {
            do_simple(im, c, simple[i][1]);
            return;
        }
    if (kx_is(c, "memory"))
        im->mem = c;
    else if (kx_is(c, "currentMemory"))
        im->cur = c;
    else if (kx_is(c, "vcpu"))
        im->vcpu = c;
    else if (kx_is(c, "cputune"))
        do_cputune(im, c);
    else if (kx_is(c, "os"))
        do_os(im, c);
    else if (kx_is(c, "clock"))
        do_clock(im, c);
    else if (kx_is(c, "features")) {
        if (!im->xl_lines)
            kx_import_features(im, c);
    } else if (kx_is(c, "devices"))
        kx_import_devices(im, c);
    else if (kx_is(c, "metadata"))
        ;
    else {
        for (i = 0; known_unsupported[i]; i++)
            if (kx_is(c, known_unsupported[i]))
                break;
        if (known_unsupported[i])
            kx_unsupported(im, c, "libvirt setting without an xl.cfg equivalent in Keel");
        else
            kx_err(im, c, "unknown element in <domain>");
    }
}

static void walk(kx_imp *im, xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    char *type;

    if (!root || !kx_is(root, "domain")) {
        kx_err(im, root, "the root element must be <domain>");
        return;
    }
    type = kx_prop(root, "type");
    if (!type || strcmp(type, "xen"))
        kx_err(im, root, "type: Keel reads <domain type='xen'>, not `%.20s'", type ? type : "");
    free(type);
    for (xmlNodePtr c = root->children; c; c = c->next)
        if (kx_is(c, "metadata"))
            find_keel(im, c);
    im->xl_lines = kx_has_xl_lines(im);
    for (xmlNodePtr c = root->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            do_child(im, c);
    emit_memory(im);
    emit_vcpus(im);
    kx_list_emit(im, "disk", &im->disks);
    kx_list_emit(im, "vif", &im->vifs);
    kx_list_emit(im, "p9", &im->p9s);
    kx_list_emit(im, "channel", &im->channels);
    kx_list_emit(im, "pci", &im->pci);
    if (im->boot.len)
        kx_kv(im, im->boot_node, "boot", im->boot.s);
    do_keel(im);
    kx_import_xl_lines(im);
}

static void imp_free(kx_imp *im)
{
    free(im->cfg.s);
    free(im->org);
    kx_list_free(&im->cpus);
    kx_list_free(&im->disks);
    kx_list_free(&im->vifs);
    kx_list_free(&im->p9s);
    kx_list_free(&im->channels);
    kx_list_free(&im->pci);
    free(im->boot.s);
}

/* The cfg text of a document; im->errors counts problems. NULL on parse error or ENOMEM. */
static char *to_cfg(kx_imp *im, const char *xml, size_t len)
{
    xmlDocPtr doc = kx_parse(im->src, xml, len, im->d);

    if (!doc) {
        im->errors++;
        return NULL;
    }
    walk(im, doc);
    xmlFreeDoc(doc);
    if (im->cfg.failed) {
        kl__pos at = { im->src, 0, 0 };
        kl__diag_add(im->d, KL_SEV_ERROR, &at, "out of memory");
        im->errors++;
        return NULL;
    }
    return im->cfg.s ? im->cfg.s : strdup("");
}

char *kl_xml_to_cfg_text(const char *source, const char *xml, size_t len, unsigned flags,
                         kl_diag *d)
{
    kx_imp im = { .src = source ? source : "<xml>", .flags = flags, .d = d };
    char *text = to_cfg(&im, xml, len);

    if (text == im.cfg.s)
        im.cfg.s = NULL;
    imp_free(&im);
    if (im.errors) {
        free(text);
        return NULL;
    }
    return text;
}

#define CFG_SOURCE "\x01xml-cfg"

/* Move one diagnostic of the cfg conversion onto the XML element its line came from. */
static void move_diag(kx_imp *im, const kl_diag *cd, size_t i)
{
    const char *text = kl_diag_text(cd, i), *rest = text;
    enum kl_severity sev = kl_diag_severity(cd, i);
    int line = kl_diag_line(cd, i);
    const char *file = kl_diag_file(cd, i);
    kl__pos at = { im->src, 0, 0 };
    const char *elem = "domain";

    if (file && !strcmp(file, CFG_SOURCE)) {
        /* skip "FILE:LINE:COL: " or "FILE: " */
        rest = text + strlen(CFG_SOURCE);
        rest += strspn(rest, ":0123456789");
        rest += strspn(rest, " ");
    }
    if (!strncmp(rest, "warning: ", 9))
        rest += 9;
    if (line > 0 && (size_t)line <= im->norg) {
        at.line = im->org[line - 1].xline;
        elem = im->org[line - 1].elem;
    }
    kl__diag_add(im->d, sev, &at, "<%s>: %s", elem, rest);
}

int kl_domain_config_from_xml(kl_domain_config *dc, const char *source, const char *xml,
                              size_t len, unsigned flags, kl_diag *d)
{
    kx_imp im = { .src = source ? source : "<xml>", .flags = flags, .d = d };
    kl_diag *cd = kl_diag_new();
    kl_cfg *cfg = NULL;
    char *text;
    int rc = -EINVAL;

    if (!cd)
        return -ENOMEM;
    text = to_cfg(&im, xml, len);
    if (text && !im.errors) {
        rc = kl_cfg_parse_data(&cfg, CFG_SOURCE, text, strlen(text), cd);
        if (!rc)
            rc = kl_domain_config_from_cfg(dc, cfg, flags, cd);
        for (size_t i = 0; i < kl_diag_count(cd); i++)
            move_diag(&im, cd, i);
    } else if (im.cfg.failed) {
        rc = -ENOMEM;
    }
    if (text != im.cfg.s)
        free(text);
    kl_cfg_free(cfg);
    kl_diag_free(cd);
    imp_free(&im);
    return im.errors ? -EINVAL : rc;
}

int kl_domain_config_load_xml(kl_domain_config *dc, const char *path, unsigned flags,
                              kl_diag *d)
{
    kl__pos at = { path, 0, 0 };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    int rc;

    if (!f) {
        rc = -errno;
        kl__diag_add(d, KL_SEV_ERROR, &at, "cannot open: %s", strerror(-rc));
        return rc;
    }
    buf = malloc(KL_XML_MAX_SIZE + 1);
    if (buf)
        len = fread(buf, 1, KL_XML_MAX_SIZE + 1, f);
    rc = !buf ? -ENOMEM : ferror(f) ? -EIO : 0;
    fclose(f);
    if (rc) {
        kl__diag_add(d, KL_SEV_ERROR, &at, "cannot read: %s", strerror(-rc));
        free(buf);
        return rc;
    }
    rc = kl_domain_config_from_xml(dc, path, buf, len, flags, d);
    free(buf);
    return rc;
}
