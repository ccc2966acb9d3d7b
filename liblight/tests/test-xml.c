/* test-xml.c - libvirt domain XML import and export (keel/kl_xml.h):
 * - every xl.cfg of examples/, tests/cfg/valid and tests/xml/cfg converts cfg -> XML -> config
 *   equal to the original, prints back as the same xl.cfg, and its XML is a fixed point;
 * - every each tests/xml/valid/NAME.xml converts XML -> config -> xl.cfg -> config -> XML to the XML
 *   the first import exports;
 * - every each tests/xml/invalid/NAME.xml fails with its first error on the line and with the text of
 *   its "<!-- expect: LINE: fragment -->" first line;
 * - hostile and broken documents (entities, billion laughs, external entities, truncation at
 *   every byte, oversize, deep nesting) fail with an error, never a crash;
 * - libvirt elements Keel cannot hold are warnings, errors with KL_CONV_STRICT.
 * With KEEL_XML_OUT=DIR, every exported XML is also written there (test-xml-libvirt.sh). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keel/kl_xml.h>

#include "testutil.h"

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

static void save_out(const char *name, const char *xml)
{
    const char *dir = getenv("KEEL_XML_OUT");
    char *p;
    FILE *f;

    if (!dir || asprintf(&p, "%s/%s.xml", dir, name) < 0)
        return;
    for (char *c = p + strlen(dir) + 1; *c; c++)
        if (*c == '/')
            *c = '_';
    if ((f = fopen(p, "w"))) {
        fputs(xml, f);
        fclose(f);
    }
    free(p);
}

/* cfg -> config -> XML -> config: equal, same xl.cfg, XML a fixed point. */
static void cfg_round_trip(const char *path, const char *name)
{
    kl_domain_config dc, back;
    kl_diag *d = kl_diag_new();
    char *xml = NULL, *xml2 = NULL, *c1 = NULL, *c2 = NULL;
    size_t nwarn;
    int rc;

    kl_domain_config_init(&dc);
    kl_domain_config_init(&back);
    rc = kl_domain_config_load(&dc, path, 0, NULL, KL_CONV_NO_UUID, d);
    tap_ok(rc == 0, "%s: the xl.cfg converts", name);
    if (rc)
        tap_diag("%s", kl_diag_first_error(d));
    nwarn = kl_diag_count(d);
    xml = kl_domain_config_to_xml(&dc, -1);
    kl_diag_clear(d);
    rc = xml ? kl_domain_config_from_xml(&back, name, xml, strlen(xml), KL_CONV_NO_UUID, d) : -1;
    tap_ok(rc == 0 && kl_domain_config_equal(&dc, &back),
           "%s: cfg -> XML -> config gives an equal config", name);
    if (rc || !kl_domain_config_equal(&dc, &back))
        tap_diag("%s\n%s", xml ? xml : "(null)", kl_diag_first_error(d) ? kl_diag_first_error(d) : "");
    c1 = kl_domain_config_to_cfg(&dc);
    c2 = kl_domain_config_to_cfg(&back);
    tap_ok(c1 && c2 && !strcmp(c1, c2), "%s: cfg -> XML -> cfg prints the same xl.cfg", name);
    if (c1 && c2 && strcmp(c1, c2))
        tap_diag("before:\n%safter:\n%s", c1, c2);
    xml2 = kl_domain_config_to_xml(&back, -1);
    tap_ok(xml && xml2 && !strcmp(xml, xml2), "%s: exported XML is a fixed point", name);
    tap_ok(kl_diag_count(d) <= nwarn, "%s: the XML import warns no more than the xl.cfg (%zu)",
           name, nwarn);
    for (size_t i = 0; i < kl_diag_count(d) && kl_diag_count(d) > nwarn; i++)
        tap_diag("%s", kl_diag_text(d, i));
    if (xml)
        save_out(name, xml);
    free(xml), free(xml2), free(c1), free(c2);
    kl_domain_config_dispose(&dc);
    kl_domain_config_dispose(&back);
    kl_diag_free(d);
}

/* XML -> config -> cfg -> config -> XML equals the XML of the first import. */
static void xml_round_trip(const char *path, const char *name)
{
    kl_domain_config dc, viacfg;
    kl_diag *d = kl_diag_new();
    char *xml1 = NULL, *xml2 = NULL, *cfg = NULL;
    int rc;

    kl_domain_config_init(&dc);
    kl_domain_config_init(&viacfg);
    rc = kl_domain_config_load_xml(&dc, path, KL_CONV_NO_UUID, d);
    tap_ok(rc == 0, "%s: the XML imports", name);
    if (rc)
        tap_diag("%s", kl_diag_first_error(d));
    xml1 = kl_domain_config_to_xml(&dc, -1);
    cfg = kl_domain_config_to_cfg(&dc);
    rc = cfg ? tu_convert(cfg, &viacfg, KL_CONV_NO_UUID, d) : -1;
    xml2 = kl_domain_config_to_xml(&viacfg, -1);
    tap_ok(rc == 0 && xml1 && xml2 && !strcmp(xml1, xml2),
           "%s: XML -> cfg -> XML gives the same XML", name);
    if (rc == 0 && xml1 && xml2 && strcmp(xml1, xml2))
        tap_diag("first:\n%ssecond:\n%s", xml1, xml2);
    if (xml1)
        save_out(name, xml1);
    free(xml1), free(xml2), free(cfg);
    kl_domain_config_dispose(&dc);
    kl_domain_config_dispose(&viacfg);
    kl_diag_free(d);
}

static void xml_invalid(const char *path, const char *name)
{
    char *text = tu_read(path), frag[200] = "";
    kl_domain_config dc;
    kl_diag *d = kl_diag_new();
    int line = 0, rc;
    long i;

    kl_domain_config_init(&dc);
    if (!text || sscanf(text, "<!-- expect: %d: %199[^\n]", &line, frag) != 2) {
        tap_ok(0, "%s: has an expect line", name);
        free(text);
        kl_diag_free(d);
        return;
    }
    if (strstr(frag, " -->"))
        *strstr(frag, " -->") = '\0';
    rc = kl_domain_config_from_xml(&dc, name, text, strlen(text), KL_CONV_NO_UUID, d);
    i = tu_first_error(d);
    tap_ok(rc != 0 && i >= 0 && kl_diag_line(d, (size_t)i) == line &&
           strstr(kl_diag_text(d, (size_t)i), frag) &&
           !strncmp(kl_diag_text(d, (size_t)i), name, strlen(name)),
           "%s: refused at line %d with \"%s\"", name, line, frag);
    if (i < 0 || kl_diag_line(d, (size_t)i) != line || !strstr(kl_diag_text(d, (size_t)i), frag))
        tap_diag("got: %s", i >= 0 ? kl_diag_text(d, (size_t)i) : "(no error)");
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
    free(text);
}

static void each(const char *rel, const char *suffix, void (*fn)(const char *, const char *),
                 const char *prefix)
{
    const char *src = getenv("KEEL_SRCDIR");
    char *dir, *path, *name;
    struct dirent **ents;
    int n;

    if (asprintf(&dir, "%s/%s", src ? src : "..", rel) < 0)
        tap_bail("out of memory");
    n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        tap_bail("cannot read %s", dir);
    for (int i = 0; i < n; i++) {
        if (has_suffix(ents[i]->d_name, suffix) &&
            asprintf(&path, "%s/%s", dir, ents[i]->d_name) >= 0) {
            if (asprintf(&name, "%s%s", prefix, ents[i]->d_name) >= 0)
                fn(path, name);
            free(name);
            free(path);
        }
        free(ents[i]);
    }
    free(ents);
    free(dir);
}

static int import_rc(const char *xml, size_t len, unsigned flags, kl_diag *d)
{
    kl_domain_config dc;
    int rc;

    kl_domain_config_init(&dc);
    rc = kl_domain_config_from_xml(&dc, "t.xml", xml, len, flags, d);
    kl_domain_config_dispose(&dc);
    return rc;
}

static const char minimal[] =
    "<domain type='xen'>\n  <name>m</name>\n  <memory unit='MiB'>16</memory>\n"
    "  <os><type>xenpvh</type><kernel>/k</kernel></os>\n</domain>\n";

static void hostile(void)
{
    static const char *const docs[][2] = {
        { "<?xml version='1.0'?>\n<!DOCTYPE lolz [\n <!ENTITY lol 'lol'>\n"
          " <!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
          " <!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n"
          "]>\n<domain type='xen'><name>&lol3;</name></domain>", "billion laughs" },
        { "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n"
          "<domain type='xen'><name>&x;</name></domain>", "external entity" },
        { "<!DOCTYPE domain SYSTEM 'http://127.0.0.1:1/domain.dtd'>\n<domain type='xen'/>",
          "external DTD" },
        { "<domain type='xen'><name>&undefined;</name></domain>", "undefined entity" },
        { "<domain type='xen'><name>a</name>", "unclosed root" },
        { "", "empty document" },
        { "<domain type='kvm'><name>a</name></domain>", "a kvm domain" },
        { "<notdomain/>", "another root element" },
        { "\xff\xfe<\x00", "binary junk" },
    };
    kl_diag *d = kl_diag_new();
    size_t len = strlen(minimal);
    int all = 1;
    char *big;

    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        kl_diag_clear(d);
        int rc = import_rc(docs[i][0], strlen(docs[i][0]), 0, d);
        tap_ok(rc != 0 && kl_diag_errors(d) > 0, "hostile: %s is refused with an error", docs[i][1]);
        if (kl_diag_errors(d))
            tap_diag("%s", kl_diag_first_error(d));
    }
    kl_diag_clear(d);
    tap_ok(import_rc(minimal, len, 0, d) == 0, "the minimal document imports");
    for (size_t cut = 0; cut < len - 1; cut++) {
        kl_diag_clear(d);
        if (import_rc(minimal, cut, 0, d) == 0 || !kl_diag_errors(d))
            all = 0;
    }
    tap_ok(all, "every truncation of the minimal document fails with an error");
    big = malloc(KL_XML_MAX_SIZE + 16);
    if (!big)
        tap_bail("out of memory");
    memset(big, ' ', KL_XML_MAX_SIZE + 15);
    memcpy(big, "<domain type='xen'>", 19);
    kl_diag_clear(d);
    tap_ok(import_rc(big, KL_XML_MAX_SIZE + 15, 0, d) != 0 &&
           strstr(kl_diag_first_error(d), "larger than"), "an oversize document is refused");
    free(big);
    {
        size_t depth = 5000, n = 0;
        char *deep = malloc(depth * 7 + 64);
        n += (size_t)sprintf(deep, "<domain type='xen'>");
        for (size_t i = 0; i < depth; i++)
            n += (size_t)sprintf(deep + n, "<a>");
        kl_diag_clear(d);
        tap_ok(import_rc(deep, n, 0, d) != 0, "5000 nested elements fail cleanly");
        free(deep);
    }
    kl_diag_free(d);
}

static void unsupported(void)
{
    const char *doc =
        "<domain type='xen'>\n  <name>g</name>\n  <memory unit='MiB'>16</memory>\n"
        "  <os><type>xenpvh</type><kernel>/k</kernel></os>\n"
        "  <devices>\n    <graphics type='vnc' port='5901'/>\n  </devices>\n</domain>\n";
    kl_diag *d = kl_diag_new();

    tap_ok(import_rc(doc, strlen(doc), 0, d) == 0 && kl_diag_count(d) == 2 &&
           kl_diag_line(d, 0) == 6 && kl_diag_line(d, 1) == 6 &&
           strstr(kl_diag_text(d, 0), "warning: <graphics>: vnc: not supported by Keel; kept") &&
           strstr(kl_diag_text(d, 1), "warning: <graphics>: vncdisplay:"),
           "<graphics> becomes vnc= and vncdisplay=, kept with a warning naming the element "
           "and its line 6");
    if (kl_diag_count(d))
        tap_diag("%s", kl_diag_text(d, 0));
    kl_diag_clear(d);
    tap_ok(import_rc(doc, strlen(doc), KL_CONV_STRICT, d) != 0 && kl_diag_line(d, 0) == 6,
           "<graphics> is an error with KL_CONV_STRICT");
    {
        const char *drm = "<domain type='xen'><name>g</name><memory unit='MiB'>16</memory>"
                          "<os><type>xenpvh</type><kernel>/k</kernel></os><devices>"
                          "<tpm model='tpm-tis'/></devices></domain>";
        kl_diag_clear(d);
        tap_ok(import_rc(drm, strlen(drm), 0, d) == 0 && kl_diag_count(d) == 1 &&
               strstr(kl_diag_text(d, 0), "warning: <tpm>: not supported by Keel") &&
               strstr(kl_diag_text(d, 0), "ignored"),
               "a libvirt device without an xl mapping is a warning: ignored");
    }
    kl_diag_free(d);
}

static void untouched(void)
{
    const char *bad = "<domain type='xen'><name>x</name><memory>zz</memory></domain>";
    kl_domain_config dc, ref;
    kl_diag *d = kl_diag_new();

    kl_domain_config_init(&dc);
    kl_domain_config_init(&ref);
    kl_domain_config_from_xml(&dc, "a.xml", minimal, strlen(minimal), KL_CONV_NO_UUID, d);
    kl_domain_config_copy(&ref, &dc);
    tap_ok(kl_domain_config_from_xml(&dc, "b.xml", bad, strlen(bad), 0, d) != 0 &&
           kl_domain_config_equal(&dc, &ref), "a failed import leaves the caller's config as it was");
    tap_ok(kl_text_is_xml(" \n<domain/>", 10) && !kl_text_is_xml("name = \"x\"", 10),
           "kl_text_is_xml tells XML from xl.cfg");
    kl_domain_config_dispose(&dc);
    kl_domain_config_dispose(&ref);
    kl_diag_free(d);
}

int main(void)
{
    each("examples", ".cfg", cfg_round_trip, "examples/");
    each("liblight/tests/cfg/valid", ".cfg", cfg_round_trip, "cfg/valid/");
    each("liblight/tests/xml/cfg", ".cfg", cfg_round_trip, "xml/cfg/");
    each("liblight/tests/xml/valid", ".xml", xml_round_trip, "xml/valid/");
    each("liblight/tests/xml/invalid", ".xml", xml_invalid, "xml/invalid/");
    hostile();
    unsupported();
    untouched();
    return tap_done();
}
