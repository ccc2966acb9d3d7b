/* xml_xen.c - the settings Keel keeps but cannot run (kl_domain_config.xen_only: Xen-only
 * xl.cfg keys such as vnc, pci, boot, pae) in domain XML. Export writes every kept line
 * exactly as <keel:xl>key = value</keel:xl> in the metadata, and for libvirt's tools also the
 * elements libvirt's xen-xl converter writes for the common ones (features, clock localtime,
 * os/boot, VNC graphics, pty serial, USB input, PCI hostdev). Import reads <keel:xl> lines when
 * present (they are exact; the elements written beside them are then not read again), and
 * otherwise maps those elements of a foreign document back to the xl keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "xml_int.h"

static void prop(xmlNodePtr n, const char *name, const char *v)
{
    xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)v);
}

static const char *get(const kl_cfg *cfg, const char *key)
{
    const kl_cfg_value *v = kl_cfg_lookup(cfg, key);

    return v && kl_cfg_value_kind(v) != KL_CFG_LIST ? kl_cfg_value_text(v) : NULL;
}

static bool is_one(const kl_cfg *cfg, const char *key)
{
    const char *s = get(cfg, key);

    return s && !strcmp(s, "1");
}

static xmlNodePtr child_named(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = parent->children; c; c = c->next)
        if (kx_is(c, name))
            return c;
    return kx_child(parent, name, NULL);
}

static void export_features(const kl_cfg *cfg, xmlNodePtr root)
{
    static const char *const on[] = { "pae", "acpi", "apic", "viridian" };
    xmlNodePtr f = NULL;

    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++)
        if (is_one(cfg, on[i]))
            kx_child(f ? f : (f = child_named(root, "features")), on[i], NULL);
    if (get(cfg, "hap") && !strcmp(get(cfg, "hap"), "0"))
        prop(kx_child(f ? f : (f = child_named(root, "features")), "hap", NULL), "state", "off");
    if (is_one(cfg, "localtime"))
        prop(kx_child(root, "clock", NULL), "offset", "localtime");
}

static void export_boot(const kl_cfg *cfg, xmlNodePtr os)
{
    const char *b = get(cfg, "boot");

    for (; b && *b; b++) {
        const char *dev = *b == 'c' ? "hd" : *b == 'd' ? "cdrom" : *b == 'n' ? "network"
                        : *b == 'a' ? "fd" : NULL;
        if (dev)
            prop(kx_child(os, "boot", NULL), "dev", dev);
    }
}

static void export_vnc(const kl_cfg *cfg, xmlNodePtr devs)
{
    const char *display = get(cfg, "vncdisplay"), *s;
    char port[24];
    xmlNodePtr g;
    long d;

    if (!is_one(cfg, "vnc"))
        return;
    g = kx_child(devs, "graphics", NULL);
    prop(g, "type", "vnc");
    d = display ? strtol(display, NULL, 0) : -1;
    if (d >= 0 && d < 60000) {
        snprintf(port, sizeof port, "%ld", 5900 + d);
        prop(g, "port", port);
        prop(g, "autoport", "no");
    } else {
        prop(g, "autoport", "yes");
    }
    if ((s = get(cfg, "vnclisten")))
        prop(g, "listen", s);
    if ((s = get(cfg, "vncpasswd")))
        prop(g, "passwd", s);
    if ((s = get(cfg, "keymap")))
        prop(g, "keymap", s);
}

static void export_pci(const kl_cfg *cfg, xmlNodePtr devs)
{
    const kl_cfg_value *l = kl_cfg_lookup(cfg, "pci");

    for (size_t i = 0; l && kl_cfg_value_kind(l) == KL_CFG_LIST && i < kl_cfg_value_count(l); i++) {
        const char *s = kl_cfg_value_text(kl_cfg_value_item(l, i));
        unsigned dom = 0, bus, slot, fn;
        char a[4][16];
        xmlNodePtr h, src, addr;
        if (!s || (sscanf(s, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4 &&
                   (dom = 0, sscanf(s, "%x:%x.%x", &bus, &slot, &fn) != 3)))
            continue;
        h = kx_child(devs, "hostdev", NULL);
        prop(h, "mode", "subsystem");
        prop(h, "type", "pci");
        prop(h, "managed", "no");
        src = kx_child(h, "source", NULL);
        addr = kx_child(src, "address", NULL);
        snprintf(a[0], sizeof a[0], "0x%04x", dom & 0xffff);
        snprintf(a[1], sizeof a[1], "0x%02x", bus & 0xff);
        snprintf(a[2], sizeof a[2], "0x%02x", slot & 0x1f);
        snprintf(a[3], sizeof a[3], "0x%x", fn & 7);
        prop(addr, "domain", a[0]);
        prop(addr, "bus", a[1]);
        prop(addr, "slot", a[2]);
        prop(addr, "function", a[3]);
    }
}

static void export_misc(const kl_cfg *cfg, xmlNodePtr devs)
{
    const char *s;

    if ((s = get(cfg, "serial")) && !strcmp(s, "pty")) {
        xmlNodePtr ser = kx_child(devs, "serial", NULL);
        prop(ser, "type", "pty");
        prop(kx_child(ser, "target", NULL), "port", "0");
    }
    if ((s = get(cfg, "usbdevice")) && (!strcmp(s, "tablet") || !strcmp(s, "mouse") ||
                                        !strcmp(s, "keyboard"))) {
        xmlNodePtr in = kx_child(devs, "input", NULL);
        prop(in, "type", s);
        prop(in, "bus", "usb");
    }
}

void kx_export_xen_only(const kl_domain_config *dc, xmlNodePtr root, xmlNodePtr keel)
{
    kl__buf text = { 0 };
    kl_cfg *cfg = NULL;
    xmlNodePtr os = NULL, devs = NULL;

    for (char **l = dc->xen_only; l && *l; l++) {
        kx_child(keel, "xl", *l);
        kl__buf_add(&text, "%s\n", *l);
    }
    if (!text.s || kl_cfg_parse_data(&cfg, "xen_only", text.s, text.len, NULL)) {
        free(kl__buf_take(&text));
        return;
    }
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (kx_is(c, "os"))
            os = c;
        if (kx_is(c, "devices"))
            devs = c;
    }
    export_features(cfg, root);
    if (os)
        export_boot(cfg, os);
    if (devs) {
        export_vnc(cfg, devs);
        export_misc(cfg, devs);
        export_pci(cfg, devs);
    }
    kl_cfg_free(cfg);
    free(kl__buf_take(&text));
}

/* ---- import ---- */

bool kx_has_xl_lines(kx_imp *im)
{
    for (xmlNodePtr c = im->keel ? im->keel->children : NULL; c; c = c->next)
        if (kx_is_keel(c, "xl"))
            return true;
    return false;
}

/* Each <keel:xl> line must be one setting of a key Xen knows and Keel keeps. */
void kx_import_xl_lines(kx_imp *im)
{
    for (xmlNodePtr c = im->keel ? im->keel->children : NULL; c; c = c->next) {
        char *t;
        kl_cfg *cfg = NULL;
        if (!kx_is_keel(c, "xl"))
            continue;
        t = kx_text(c);
        if (!t || strchr(t, '\n') || strchr(t, ';') != NULL ||
            kl_cfg_parse_data(&cfg, "keel:xl", t, strlen(t), NULL) || kl_cfg_key_count(cfg) != 1 ||
            kl__key_class(kl_cfg_key(cfg, 0)) != KL_KEY_XEN_ONLY) {
            /* a ';' may only appear inside a quoted value; such lines are refused too, simply */
            kx_err(im, c, "`%.60s' is not one xl.cfg setting of a Xen-only key", t ? t : "");
        } else {
            kl__buf_add(&im->cfg, "%s\n", t);
            kx_origin_line(im, c);
        }
        kl_cfg_free(cfg);
        free(t);
    }
}

void kx_kv_raw(kx_imp *im, xmlNodePtr n, const char *key, const char *num)
{
    kl__buf_add(&im->cfg, "%s = %s\n", key, num);
    kx_origin_line(im, n);
}

/* <features> of a foreign document: pae, acpi, apic, viridian on; hap off. */
void kx_import_features(kx_imp *im, xmlNodePtr n)
{
    for (xmlNodePtr f = n->children; f; f = f->next) {
        char *state;
        if (f->type != XML_ELEMENT_NODE)
            continue;
        state = kx_prop(f, "state");
        if (kx_is(f, "pae") || kx_is(f, "acpi") || kx_is(f, "apic") || kx_is(f, "viridian"))
            kx_kv_raw(im, f, (const char *)f->name, state && !strcmp(state, "off") ? "0" : "1");
        else if (kx_is(f, "hap"))
            kx_kv_raw(im, f, "hap", state && !strcmp(state, "off") ? "0" : "1");
        else
            kx_unsupported(im, f, "a hypervisor feature without an xl.cfg key");
        free(state);
    }
}

void kx_import_boot(kx_imp *im, xmlNodePtr os, kl__buf *boot)
{
    char *dev = kx_prop(os, "dev");
    const char *c = !dev ? NULL : !strcmp(dev, "hd") ? "c" : !strcmp(dev, "cdrom") ? "d"
                  : !strcmp(dev, "network") ? "n" : !strcmp(dev, "fd") ? "a" : NULL;

    if (c)
        kl__buf_add(boot, "%s", c);
    else
        kx_err(im, os, "dev: unknown boot device `%.20s'", dev ? dev : "");
    free(dev);
}

/* Foreign devices with an xl mapping: VNC graphics, pty serial, USB input, PCI hostdev.
 * Returns false when the element is not one of them. */
bool kx_import_xen_device(kx_imp *im, xmlNodePtr c, struct kx_list *pci)
{
    char *type = kx_prop(c, "type"), *v = NULL;
    bool done = true;

    if (kx_is(c, "graphics") && type && !strcmp(type, "vnc")) {
        char *port = kx_prop(c, "port"), *autoport = kx_prop(c, "autoport");
        kx_kv_raw(im, c, "vnc", "1");
        if (port && (!autoport || strcmp(autoport, "yes")) && atol(port) >= 5900) {
            char d[24];
            snprintf(d, sizeof d, "%ld", atol(port) - 5900);
            kx_kv_raw(im, c, "vncdisplay", d);
        }
        if ((v = kx_prop(c, "listen")))
            kx_kv(im, c, "vnclisten", v);
        free(v);
        if ((v = kx_prop(c, "passwd")))
            kx_kv(im, c, "vncpasswd", v);
        free(v);
        if ((v = kx_prop(c, "keymap")))
            kx_kv(im, c, "keymap", v);
        free(v);
        free(port);
        free(autoport);
    } else if (kx_is(c, "serial") && type && !strcmp(type, "pty")) {
        kx_kv(im, c, "serial", "pty");
    } else if (kx_is(c, "input") && type && (v = kx_prop(c, "bus")) && !strcmp(v, "usb")) {
        kx_kv(im, c, "usbdevice", type);
        free(v);
    } else if (kx_is(c, "input") && type && v) {
        free(v); /* not a USB input: no xl key */
        done = false;
    } else if (kx_is(c, "hostdev") && type && !strcmp(type, "pci")) {
        xmlNodePtr a = NULL;
        for (xmlNodePtr s = c->children; s && !a; s = s->next)
            if (kx_is(s, "source"))
                for (a = s->children; a && !kx_is(a, "address"); a = a->next)
                    ;
        if (!a) {
            kx_err(im, c, "<source><address .../></source> is missing");
        } else {
            char *d = kx_prop(a, "domain"), *b = kx_prop(a, "bus"), *s = kx_prop(a, "slot");
            char *f = kx_prop(a, "function"), *spec = NULL;
            if (!b || !s || !f ||
                asprintf(&spec, "%04lx:%02lx:%02lx.%lx", d ? strtoul(d, NULL, 0) : 0,
                         strtoul(b, NULL, 0), strtoul(s, NULL, 0), strtoul(f, NULL, 0)) < 0)
                kx_err(im, a, "bus, slot and function are needed");
            else
                kx_list_add(im, pci, c, spec);
            free(d), free(b), free(s), free(f);
        }
    } else {
        done = false;
    }
    free(type);
    return done;
}
