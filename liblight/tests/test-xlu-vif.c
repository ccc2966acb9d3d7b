/* test-xlu-vif.c - differential test of the vif spec's rate= against Xen's own parser,
 * libxlutil's xlu_vif_parse_rate (Debian's libxen-dev): generated rates (numbers in several
 * notations, every unit, intervals in every unit, malformed and overflowing forms) are parsed by
 * both, and they must agree on acceptance and, for accepted rates, on the bytes per interval and
 * the interval. Keel parses the whole vif spec `rate=...`; the rest of the vif grammar is xl's
 * own code (xl_parse.c), not in libxlutil, so it has no oracle here. Every accepted rate must
 * also print back (kl_device_nic_to_spec) as a spec that parses to the same values. Built only
 * when libxlutil is found (configure: XLU); TAP, one line per class and one overall. */
#include <errno.h>
#include <inttypes.h>
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
    uint64_t bytes;
    uint32_t usecs;
};

static XLU_Config *xlu;
static int total, agreed, class_total, class_agreed, shown, printed_ok, printed_total;

static void xen_parse(const char *rate, struct result *r)
{
    libxl_device_nic n;

    libxl_device_nic_init(&n);
    memset(r, 0, sizeof(*r));
    errno = 0;   /* libxlutil tests errno after strtoull without clearing it first */
    r->ok = xlu_vif_parse_rate(xlu, rate, &n) == 0;
    r->bytes = n.rate_bytes_per_interval;
    r->usecs = n.rate_interval_usecs;
    libxl_device_nic_dispose(&n);
}

static int keel_spec(const char *spec, struct result *r)
{
    kl_device_nic n;

    kl_device_nic_init(&n);
    memset(r, 0, sizeof(*r));
    r->ok = kl_device_nic_parse_spec(&n, spec, NULL) == 0;
    r->bytes = n.rate_bytes_per_interval;
    r->usecs = n.rate_interval_usecs;
    kl_device_nic_dispose(&n);
    return r->ok;
}

/* An accepted rate prints back as a spec that parses to the same bytes and interval. */
static void round_trip(const char *spec, const struct result *k)
{
    kl_device_nic n;
    struct result again;
    char *text;

    kl_device_nic_init(&n);
    kl_device_nic_parse_spec(&n, spec, NULL);
    text = kl_device_nic_to_spec(&n);
    kl_device_nic_dispose(&n);
    printed_total++;
    if (text && keel_spec(text, &again) && again.bytes == k->bytes && again.usecs == k->usecs) {
        printed_ok++;
    } else if (shown++ < 60) {
        tap_diag("`%s' (%" PRIu64 " B per %" PRIu32 " us) prints as `%s', which %s", spec,
                 k->bytes, k->usecs, text ? text : "(nothing)",
                 text && again.ok ? "parses to other values" : "does not parse");
    }
    free(text);
}

static void check(const char *rate)
{
    struct result x, k;
    char spec[256];

    snprintf(spec, sizeof spec, "rate=%s", rate);
    xen_parse(rate, &x);
    keel_spec(spec, &k);
    total++, class_total++;
    if (x.ok == k.ok && (!x.ok || (x.bytes == k.bytes && x.usecs == k.usecs))) {
        agreed++, class_agreed++;
    } else if (shown++ < 60) {
        tap_diag("rate `%s': xen %s %" PRIu64 " B per %" PRIu32 " us; keel %s %" PRIu64
                 " B per %" PRIu32 " us", rate, x.ok ? "accepts" : "refuses", x.bytes, x.usecs,
                 k.ok ? "accepts" : "refuses", k.bytes, k.usecs);
    }
    if (k.ok)
        round_trip(spec, &k);
}

static void end_class(const char *what)
{
    tap_ok(class_agreed == class_total, "%s: Keel and libxlutil agree on %d of %d rates", what,
           class_agreed, class_total);
    class_total = class_agreed = 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const numbers[] = { "0", "1", "7", "8", "10", "100", "1000", "123456",
                                       "4294967295", "4294967296", "18446744073709551615",
                                       "18446744073709551616", "010", "019", "08", "0x10", "1.5", "-1",
                                       " 5", "5 ", "", "1e3", "+3" };
static const char *const units[] = { "b/s", "B/s", "Kb/s", "KB/s", "Mb/s", "MB/s", "Gb/s",
                                     "GB/s", "kb/s", "kB/s", "mb/s", "Tb/s", "b", "B", "Mb",
                                     "Mb/", "/s", "", "bps", "b/m" };
static const char *const intervals[] = { "", "@1s", "@20ms", "@100us", "@1ms", "@0ms", "@0s",
                                         "@0", "@", "@1", "@1h", "@5000000us", "@4294s",
                                         "@4295s", "@4294967295us", "@4294967296us", "@1.5s",
                                         "@abc", "@10 ms", "@ 10ms", "@10ms@10ms", "@50000ms",
                                         "@10m", "@10u", "@10ums", "@010ms", "@019ms",
                                         "@08s", "@10S", "@10MS" };

int main(void)
{
    char rate[128];

    xlu = xlu_cfg_init(fopen("/dev/null", "w"), "test-xlu-vif");
    if (!xlu)
        tap_bail("xlu_cfg_init failed");
    for (size_t n = 0; n < N(numbers); n++)
        for (size_t u = 0; u < N(units); u++) {
            snprintf(rate, sizeof rate, "%s%s", numbers[n], units[u]);
            check(rate);
        }
    end_class("number and unit");
    for (size_t n = 0; n < 9; n++)
        for (size_t u = 0; u < 8; u++)
            for (size_t i = 0; i < N(intervals); i++) {
                snprintf(rate, sizeof rate, "%s%s%s", numbers[n], units[u], intervals[i]);
                check(rate);
            }
    end_class("number, unit and interval");
    tap_ok(agreed == total, "overall: Keel and libxlutil agree on %d of %d generated rates",
           agreed, total);
    tap_ok(printed_ok == printed_total,
           "every accepted rate prints back as a spec that parses to the same values (%d of %d)",
           printed_ok, printed_total);
    xlu_cfg_destroy(xlu);
    return tap_done();
}
#endif
