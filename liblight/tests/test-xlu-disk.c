/* test-xlu-disk.c - differential test of the disk spec parser against Xen's own, libxlutil's
 * xlu_disk_parse (Debian's libxen-dev): a generated set of specs (positional forms with every
 * combination of target, format, vdev and access values, empty positions and trailing commas;
 * key=value forms in several orders; flags and keys appended to both) is parsed by both, and
 * they must agree on acceptance and, for accepted specs, on target, vdev, format, access and
 * cdrom. Built only when libxlutil is found (configure: XLU); prints TAP, one line per class
 * of spec and one overall, with every disagreement as a diagnostic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#ifndef KEEL_HAVE_XLU
int main(void)
{
    printf("1..0 # SKIP Xen's libxlutil not found at configure time (Debian: libxen-dev)\n");
    return 0;
}
#else
#include <libxl.h>
#include <libxlutil.h>

#include <keel/kl_config.h>

struct result {
    int ok;
    char target[256], vdev[64];
    int format, rw, cdrom;
};

static XLU_Config *xlu;

static void xen_parse(const char *spec, struct result *r)
{
    libxl_device_disk d;
    int rc;

    libxl_device_disk_init(&d);
    rc = xlu_disk_parse(xlu, 1, &spec, &d);
    memset(r, 0, sizeof(*r));
    r->ok = rc == 0;
    snprintf(r->target, sizeof r->target, "%s", d.pdev_path ? d.pdev_path : "");
    snprintf(r->vdev, sizeof r->vdev, "%s", d.vdev ? d.vdev : "");
    r->format = d.format;
    r->rw = d.readwrite;
    r->cdrom = d.is_cdrom;
    libxl_device_disk_dispose(&d);
}

static void keel_parse(const char *spec, struct result *r)
{
    kl_device_disk d;

    kl_device_disk_init(&d);
    memset(r, 0, sizeof(*r));
    r->ok = kl_device_disk_parse_spec(&d, spec, NULL) == 0;
    snprintf(r->target, sizeof r->target, "%s", d.pdev_path ? d.pdev_path : "");
    snprintf(r->vdev, sizeof r->vdev, "%s", d.vdev ? d.vdev : "");
    r->format = d.format;
    r->rw = d.readwrite;
    r->cdrom = d.is_cdrom;
    kl_device_disk_dispose(&d);
}

static int total, agreed, class_total, class_agreed, shown;

static void check(const char *spec)
{
    struct result x, k;
    int same;

    xen_parse(spec, &x);
    keel_parse(spec, &k);
    same = x.ok == k.ok && (!x.ok || (!strcmp(x.target, k.target) && !strcmp(x.vdev, k.vdev) &&
                                      x.format == k.format && x.rw == k.rw &&
                                      x.cdrom == k.cdrom));
    total++, class_total++;
    if (same) {
        agreed++, class_agreed++;
    } else if (shown++ < 60) {
        tap_diag("`%s': xen %s target=`%s' vdev=`%s' format=%d rw=%d cdrom=%d; keel %s "
                 "target=`%s' vdev=`%s' format=%d rw=%d cdrom=%d", spec,
                 x.ok ? "accepts" : "refuses", x.target, x.vdev, x.format, x.rw, x.cdrom,
                 k.ok ? "accepts" : "refuses", k.target, k.vdev, k.format, k.rw, k.cdrom);
    }
}

static void end_class(const char *what)
{
    tap_ok(class_agreed == class_total, "%s: Keel and libxlutil agree on %d of %d specs", what,
           class_agreed, class_total);
    class_total = class_agreed = 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const targets[] = { "/img/a.img", "", "/dev/vg/x", "raw:/img/r",
                                       "qcow2:/img/q", "phy:/dev/sda", "tap:aio:/img/t",
                                       "file:/img/f" };
static const char *const formats[] = { NULL, "", "raw", "qcow2", "vhd", "qed", "empty", "RAW",
                                       "qcow", "bogus" };
static const char *const vdevs[] = { NULL, "", "xvda", "hdc", "sdb", "hdc:cdrom", "xvdb:disk",
                                     "xvda1" };
static const char *const accesses[] = { NULL, "", "rw", "r", "ro", "w", "x" };
static const char *const extras[] = { "", ",devtype=disk", ",devtype=cdrom", ",cdrom",
                                      ",backendtype=phy", ",backendtype=qdisk",
                                      ",backendtype=bogus", ",direct-io-safe", ",discard",
                                      ",no-discard", ",script=block-x", ",", ",,", ", ",
                                      ",devtype=floppy", ",backend=dd", ",access=ro",
                                      ",format=raw", ",vdev=xvdq", ",specification=xen" };

/* target[,format[,vdev[,access]]] with NULL ending the list early */
static void positional(char *buf, size_t len, const char *t, const char *f, const char *v,
                       const char *a, const char *extra)
{
    int n = snprintf(buf, len, "%s", t);

    if (f)
        n += snprintf(buf + n, len - (size_t)n, ",%s", f);
    if (f && v)
        n += snprintf(buf + n, len - (size_t)n, ",%s", v);
    if (f && v && a)
        n += snprintf(buf + n, len - (size_t)n, ",%s", a);
    snprintf(buf + n, len - (size_t)n, "%s", extra);
}

int main(void)
{
    char spec[512];

    xlu = xlu_cfg_init(fopen("/dev/null", "w"), "test-xlu-disk");
    if (!xlu)
        tap_bail("xlu_cfg_init failed");
    /* 1. the positional form: target, format, vdev, access over every value */
    for (size_t t = 0; t < 4; t++)
        for (size_t f = 0; f < N(formats); f++)
            for (size_t v = 0; v < N(vdevs); v++)
                for (size_t a = 0; a < N(accesses); a++) {
                    positional(spec, sizeof spec, targets[t], formats[f], vdevs[v], accesses[a], "");
                    check(spec);
                }
    end_class("positional target,format,vdev,access");
    /* 2. deprecated prefixes on the target */
    for (size_t t = 3; t < N(targets); t++)
        for (size_t v = 2; v < N(vdevs); v++)
            for (size_t a = 0; a < N(accesses); a++) {
                snprintf(spec, sizeof spec, "%s,%s%s%s", targets[t], vdevs[v], accesses[a] ? "," : "",
                         accesses[a] ? accesses[a] : "");
                check(spec);
                positional(spec, sizeof spec, targets[t], "", vdevs[v], accesses[a], "");
                check(spec);
            }
    end_class("deprecated prefixes");
    /* 3. flags and keys after a positional spec */
    for (size_t e = 0; e < N(extras); e++)
        for (size_t t = 0; t < 3; t++)
            for (size_t v = 1; v < 5; v++)
                for (size_t a = 0; a < 4; a++) {
                    positional(spec, sizeof spec, targets[t], "raw", vdevs[v], accesses[a], extras[e]);
                    check(spec);
                }
    end_class("positional spec followed by flags and keys");
    /* 4. key=value forms, target= last */
    for (size_t f = 0; f < N(formats); f++)
        for (size_t v = 0; v < N(vdevs); v++)
            for (size_t a = 0; a < N(accesses); a++) {
                int n = 0;
                spec[0] = '\0';
                if (formats[f])
                    n += snprintf(spec + n, sizeof spec - (size_t)n, "format=%s, ", formats[f]);
                if (vdevs[v])
                    n += snprintf(spec + n, sizeof spec - (size_t)n, "vdev=%s, ", vdevs[v]);
                if (accesses[a])
                    n += snprintf(spec + n, sizeof spec - (size_t)n, "access=%s, ", accesses[a]);
                snprintf(spec + n, sizeof spec - (size_t)n, "target=/img/k,with,commas");
                check(spec);
            }
    end_class("key=value forms");
    tap_ok(agreed == total, "overall: Keel and libxlutil agree on %d of %d generated disk specs",
           agreed, total);
    xlu_cfg_destroy(xlu);
    return tap_done();
}
#endif
