/* spec_nic.c - the vif spec string (xl-network-configuration(5)): comma-separated key=value
 * pairs and flags, parsed into kl_device_nic, and printed back. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/kl_config.h"
#include "spec_util.h"

/* The number of a rate or interval as xl reads it: digits only, a leading 0 meaning octal (xl
 * converts with strtoull base 0), reading stopping at the first digit that is not of the base.
 * 0 and values over UINT32_MAX are out of range. */
static int rate_number(const char *s, const char **end, uint64_t *out)
{
    char *e;

    errno = 0;
    *out = strtoull(s, &e, 0);
    *end = e;
    if (errno || *out == 0 || *out > UINT32_MAX)
        return -ERANGE;
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

/* "<digits>[G|M|K](B|b)/s": bytes per second (decimal multipliers, bits divided by 8 after). */
static int rate_bytes(const char *s, uint64_t *out)
{
    size_t n = strspn(s, "0123456789");
    const char *u = s + n, *end;
    uint64_t v;
    int rc;

    u += *u == 'G' || *u == 'M' || *u == 'K';
    if (!all_digits(s, n) || (*u != 'B' && *u != 'b') || strcmp(u + 1, "/s"))
        return -EINVAL;
    if ((rc = rate_number(s, &end, &v)))
        return rc;
    if (*end == 'G' || *end == 'M' || *end == 'K')
        v *= *end == 'G' ? 1000000000ull : *end == 'M' ? 1000000ull : 1000ull;
    if (end[0] == 'b' || end[1] == 'b')
        v /= 8;
    *out = v;
    return 0;
}

/* "<digits>[m|u][s]" (no unit: seconds; m: milliseconds; u: microseconds), in microseconds. */
static int rate_interval(const char *s, uint32_t *out)
{
    size_t n = strspn(s, "0123456789");
    const char *u = s + n, *end;
    uint64_t v;
    int rc;

    u += *u == 'm' || *u == 'u';
    u += *u == 's';
    if (!all_digits(s, n) || *u)
        return -EINVAL;
    if ((rc = rate_number(s, &end, &v)))
        return rc;
    if (*end == 's' || !*end)
        v *= 1000000;
    else if (*end == 'm')
        v *= 1000;
    if (v > UINT32_MAX)
        return -ERANGE;
    *out = (uint32_t)v;
    return 0;
}

static int parse_rate(kl_device_nic *nic, const char *rate, const char **why)
{
    uint64_t bps;
    uint32_t usecs = 50000;
    char buf[128], *at;
    int rc;

    if (strlen(rate) >= sizeof buf || !*rate) {
        *why = "invalid rate";
        return -EINVAL;
    }
    strcpy(buf, rate);
    at = strchr(buf, '@');
    if (at)
        *at++ = '\0';
    if ((rc = rate_bytes(buf, &bps))) {
        *why = rc == -ERANGE ? "rate overflow" : "invalid rate (expected e.g. 10Mb/s or 1MB/s@20ms)";
        return rc;
    }
    if (at && (rc = rate_interval(at, &usecs))) {
        *why = rc == -ERANGE ? "replenishment interval overflow" : "invalid replenishment interval";
        return rc;
    }
    if (bps > UINT64_MAX / usecs) {
        *why = "rate overflow";
        return -ERANGE;
    }
    nic->rate_bytes_per_interval = bps * usecs / 1000000;
    nic->rate_interval_usecs = usecs;
    return 0;
}

/* A rate that parses back to exactly these bytes per interval: parsing keeps
 * floor(bytes_per_second * usecs / 10^6), so any bytes_per_second in [lo, hi] will do; the
 * largest unit (GB/s ... B/s, then Gb/s ... b/s) that reaches one with a count of 1..UINT32_MAX is
 * printed. A value no rate gives (possible only from JSON) is printed as the nearest. */
static void print_rate(char *out, size_t len, uint64_t bytes, uint32_t usecs)
{
    static const struct { uint64_t mul; unsigned div; const char *unit; } units[] = {
        { 1000000000ull, 1, "GB/s" }, { 1000000ull, 1, "MB/s" }, { 1000ull, 1, "KB/s" },
        { 1, 1, "B/s" }, { 1000000000ull, 8, "Gb/s" }, { 1000000ull, 8, "Mb/s" },
        { 1000ull, 8, "Kb/s" }, { 1, 8, "b/s" },
    };
    unsigned __int128 lo = ((unsigned __int128)bytes * 1000000 + usecs - 1) / usecs;
    unsigned __int128 hi = ((unsigned __int128)(bytes + 1) * 1000000 - 1) / usecs;

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        /* the smallest count whose rate reaches lo: count * mul / div >= lo */
        unsigned __int128 n = (lo * units[i].div + units[i].mul - 1) / units[i].mul;
        if (n == 0)
            n = 1;
        if (n <= UINT32_MAX && n * units[i].mul / units[i].div <= hi) {
            snprintf(out, len, "%" PRIu64 "%s@%" PRIu32 "us", (uint64_t)n, units[i].unit, usecs);
            return;
        }
    }
    snprintf(out, len, "%" PRIu64 "B/s@%" PRIu32 "us", lo > UINT32_MAX ? (uint64_t)UINT32_MAX :
             (uint64_t)lo, usecs);
}

/* vlan: terms separated by '/': N[p|u], N-M[u], N+OxC[u] with IDs 1..4094. */
static int vlan_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr("0123456789pu/+x-", *s))
            return 0;
    return 1;
}

static int nic_key(kl_device_nic *nic, const char *k, const char *v, const kl__pos *pos,
                   const char *what, const char *spec, kl_diag *d)
{
    const struct { const char *key; char **field; } strs[] = {
        { "bridge", &nic->bridge }, { "ip", &nic->ip }, { "script", &nic->script },
        { "vifname", &nic->ifname }, { "model", &nic->model },
        { "gatewaydev", &nic->gatewaydev }, { "netdev", &nic->gatewaydev },
        { "backend", &nic->backend_domname },
    };
    const char *why = NULL;
    char *end;
    long n;

    /* every model names an emulated NIC (rtl8139, e1000, ...): a PV guest gets a vif */
    if (!strcmp(k, "model") && *v)
        kl__spec_warn(d, pos, what, spec, "model=%.40s names an emulated NIC; Keel's guests "
                      "are PV and get a vif: ignored", v);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (!strcmp(k, strs[i].key))
            return kl__spec_set(strs[i].field, v);
    if (!strcmp(k, "mac")) {
        if (kl_mac_from_string(&nic->mac, v))
            why = "invalid MAC address (expected six hex pairs such as 00:16:3e:12:34:56)";
        else if (nic->mac.bytes[0] & 1)  /* parsed as xl does; kl_nic_add refuses it */
            kl__spec_warn(d, pos, what, spec, "mac=%.20s is a multicast address (the low bit of "
                          "the first octet is set): such a vif is refused when attached; use "
                          "Xen's 00:16:3e OUI or a locally administered address such as "
                          "02:xx:xx:xx:xx:xx", v);
    } else if (!strcmp(k, "type")) {
        if (!strcmp(v, "ioemu"))
            nic->nictype = KL_NIC_TYPE_VIF_IOEMU;
        else if (!strcmp(v, "vif"))
            nic->nictype = KL_NIC_TYPE_VIF;
        else
            why = "invalid type (expected vif or ioemu)";
    } else if (!strcmp(k, "rate")) {
        /* accepted as xl does, but a vif with it cannot be attached (kl_nic_add refuses it) */
        if (!parse_rate(nic, v, &why) && !nic->rate_bytes_per_interval)
            kl__spec_warn(d, pos, what, spec, "rate=%.40s allows 0 bytes per %" PRIu32 " us "
                          "interval: no frame could ever be sent; such a vif is refused when "
                          "attached (raise the rate or lengthen the interval)", v,
                          nic->rate_interval_usecs);
    } else if (!strcmp(k, "mtu") || !strcmp(k, "devid")) {
        errno = 0;
        n = strtol(v, &end, 10);
        if (!*v || *end || errno || (!strcmp(k, "mtu") ? n < 68 || n > 65535 : n < 0 || n > 65535))
            why = !strcmp(k, "mtu") ? "invalid mtu (expected 68 to 65535)"
                                    : "invalid devid (expected 0 to 65535)";
        else if (!strcmp(k, "mtu"))
            nic->mtu = (int)n;
        else
            nic->devid = (int)n;
    } else if (!strcmp(k, "vlan")) {
        if (!vlan_ok(v))
            why = "invalid vlan (expected e.g. 10, 10p/20 or 10p/100+10x4)";
        else
            return kl__spec_set(&nic->vlan, v);
    } else if (!strcmp(k, "accel") || !strcmp(k, "forwarddev")) {
        kl__spec_warn(d, pos, what, spec, "`%s' is not supported by Keel; ignored", k);
    } else {
        kl__spec_err(d, pos, what, spec, "unknown keyword `%.40s'", k);
        return -EINVAL;
    }
    if (why) {
        kl__spec_err(d, pos, what, spec, "%s: `%.60s'", why, v);
        return -EINVAL;
    }
    return 0;
}

int kl__nic_parse(kl_device_nic *nic, const char *spec, const kl__pos *pos, const char *what,
                  kl_diag *d)
{
    char **toks = kl__spec_split(spec), *v;
    int rc = 0;

    if (!toks)
        return -ENOMEM;
    for (size_t i = 0; !rc && toks[i]; i++) {
        char *t = toks[i];
        if (!*t)
            continue;
        if (kl__spec_kv(t, &v))
            rc = nic_key(nic, t, v, pos, what, spec, d);
        else if (!strcmp(t, "trusted") || !strcmp(t, "untrusted"))
            kl_defbool_set(&nic->trusted, !strcmp(t, "trusted"));
        else {
            kl__spec_err(d, pos, what, spec, "unknown flag `%.40s' (expected key=value)", t);
            rc = -EINVAL;
        }
    }
    kl__spec_free(toks);
    return rc;
}

int kl_device_nic_parse_spec(kl_device_nic *nic, const char *spec, kl_diag *d)
{
    kl_device_nic tmp;
    int rc;

    kl_device_nic_init(&tmp);
    rc = kl__nic_parse(&tmp, spec, NULL, "vif", d);
    if (rc) {
        kl_device_nic_dispose(&tmp);
        return rc;
    }
    kl_device_nic_dispose(nic);
    *nic = tmp;
    return 0;
}

static void add_kv(kl__buf *b, const char *k, const char *v)
{
    if (v)
        kl__buf_add(b, "%s%s=%s", b->len ? "," : "", k, v);
}

char *kl_device_nic_to_spec(const kl_device_nic *nic)
{
    kl__buf b = { 0 };
    char mac[KL_MAC_STRLEN];

    kl__buf_add(&b, "%s", "");
    if (!kl_mac_is_zero(&nic->mac)) {
        kl_mac_to_string(&nic->mac, mac);
        add_kv(&b, "mac", mac);
    }
    add_kv(&b, "bridge", nic->bridge);
    add_kv(&b, "ip", nic->ip);
    add_kv(&b, "script", nic->script);
    add_kv(&b, "vifname", nic->ifname);
    add_kv(&b, "model", nic->model);
    add_kv(&b, "gatewaydev", nic->gatewaydev);
    add_kv(&b, "backend", nic->backend_domname);
    add_kv(&b, "vlan", nic->vlan);
    if (nic->nictype)
        add_kv(&b, "type", nic->nictype == KL_NIC_TYPE_VIF ? "vif" : "ioemu");
    if (nic->mtu)
        kl__buf_add(&b, "%smtu=%d", b.len ? "," : "", nic->mtu);
    if (nic->devid >= 0)
        kl__buf_add(&b, "%sdevid=%d", b.len ? "," : "", nic->devid);
    if (nic->rate_interval_usecs) {
        char rate[64];
        print_rate(rate, sizeof rate, nic->rate_bytes_per_interval, nic->rate_interval_usecs);
        kl__buf_add(&b, "%srate=%s", b.len ? "," : "", rate);
    }
    if (!kl_defbool_is_default(nic->trusted))
        kl__buf_add(&b, "%s%s", b.len ? "," : "",
                    kl_defbool_val_or(nic->trusted, true) ? "trusted" : "untrusted");
    return kl__buf_take(&b);
}
