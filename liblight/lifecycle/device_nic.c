/* device_nic.c - PV network devices (vifs): from a kl_device_nic (a vif= entry or a
 * network-attach spec) to the store keys of docs/device-net.md (the defaults chosen here: the
 * next free devid, a random 00:16:3e MAC, Keel's vif-bridge script), kl_nic_add (which also
 * records the vif with its MAC in the domain's stored configuration), kl_nic_list,
 * kl_nic_remove (by devid or MAC) and the vifs of a configuration at create/restore. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "lc_int.h"

#define BE(key, ...) (d->bek[d->nbe].k = (key), \
                      snprintf(d->bek[d->nbe].v, sizeof(d->bek[0].v), __VA_ARGS__), d->nbe++)
#define FE(key, ...) (d->fek[d->nfe].k = (key), d->fek[d->nfe].ro = 0, \
                      snprintf(d->fek[d->nfe].v, sizeof(d->fek[0].v), __VA_ARGS__), d->nfe++)

#define VIF_MAX_DEVID 65535
#define VIF_DEFAULT_MTU 1500

/* A Linux interface name: 1..15 characters of [A-Za-z0-9_.-], not "." or "..". */
static int ifname_ok(const char *s)
{
    size_t l = strlen(s);

    return l > 0 && l < 16 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_.-") == l && strcmp(s, ".") && strcmp(s, "..");
}

/* ip=: addresses (IPv4 or IPv6, each with an optional /prefix) separated by blanks. */
static int ip_list_ok(const char *s, char *bad, size_t badlen)
{
    char buf[512], *save = NULL;
    int n = 0;

    if (strlen(s) >= sizeof(buf))
        return 0;
    strcpy(buf, s);
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save), n++) {
        unsigned char a[16];
        char *slash = strchr(t, '/'), *end;
        int v6 = strchr(t, ':') != NULL;
        long plen = 0;
        if (slash) {
            *slash = 0;
            plen = strtol(slash + 1, &end, 10);
        }
        if (inet_pton(v6 ? AF_INET6 : AF_INET, t, a) != 1 ||
            (slash && (!slash[1] || *end || plen < 0 || plen > (v6 ? 128 : 32)))) {
            if (slash)
                *slash = '/';
            snprintf(bad, badlen, "%s", t);
            return 0;
        }
    }
    snprintf(bad, badlen, "(empty)");
    return n > 0;
}

/* The vif's class, backend and type choices: what Keel can serve. */
static int check_nic(kl_ctx *ctx, uint32_t domid, const kl_device_nic *n, const char *what)
{
    const char *bn = n->backend_domname;
    char bad[64];

    if (domid == 0)
        return kl__err(ctx, -EINVAL, "%s: Domain-0 takes no PV network frontend", what);
    if (n->backend_domid != 0 || (bn && strcmp(bn, "0") && strcmp(bn, "Domain-0")))
        return kl__err(ctx, -ENOTSUP, "%s: backend=%s: driver domains are not supported yet "
                       "(the backend is Domain-0)", what, bn ? bn : "?");
    if (n->nictype == KL_NIC_TYPE_VIF_IOEMU)
        return kl__err(ctx, -EINVAL, "%s: type=ioemu: Keel's guests are PV and have no emulated "
                       "interface (use type=vif)", what);
    if (n->vlan)
        return kl__err(ctx, -ENOTSUP, "%s: vlan=%s: VLAN tagging is not supported by "
                       "keel-netback", what, n->vlan);
    if (n->devid > VIF_MAX_DEVID)
        return kl__err(ctx, -EINVAL, "%s: devid %d is out of range (0 to %d)", what, n->devid,
                       VIF_MAX_DEVID);
    if (n->mtu && (n->mtu < 68 || n->mtu > 65535))
        return kl__err(ctx, -EINVAL, "%s: mtu %d is out of range (68 to 65535)", what, n->mtu);
    if (n->ifname && !ifname_ok(n->ifname))
        return kl__err(ctx, -EINVAL, "%s: vifname '%.40s' is not an interface name (1 to 15 "
                       "characters of letters, digits, '_', '.', '-')", what, n->ifname);
    if (n->bridge && !ifname_ok(n->bridge))
        return kl__err(ctx, -EINVAL, "%s: bridge '%.40s' is not an interface name", what,
                       n->bridge);
    if (n->gatewaydev && !ifname_ok(n->gatewaydev))
        return kl__err(ctx, -EINVAL, "%s: gatewaydev '%.40s' is not an interface name", what,
                       n->gatewaydev);
    if (n->ip && !ip_list_ok(n->ip, bad, sizeof(bad)))
        return kl__err(ctx, -EINVAL, "%s: ip: '%.60s' is not an IPv4 or IPv6 address (with an "
                       "optional /prefix)", what, bad);
    /* taken by xl as given, but keel-netback serves unicast MACs only (it refuses the key and
     * closes the device): said here, before anything is written */
    if (n->mac.bytes[0] & 1) {
        char m[KL_MAC_STRLEN];
        kl_mac_to_string(&n->mac, m);
        return kl__err(ctx, -EINVAL, "%s: mac %s is a multicast address (the low bit of its "
                       "first octet is set): a vif needs a unicast MAC", what, m);
    }
    /* xl's grammar accepts rates that round to nothing (1b/s, 10B/s@50ms); Xen writes
     * "0,<usecs>" and its netback never gets a credit to send. Refused here, saying why. */
    if (n->rate_interval_usecs && !n->rate_bytes_per_interval)
        return kl__err(ctx, -EINVAL, "%s: rate allows 0 bytes per %u us replenishment interval: "
                       "no frame could ever be sent (raise the rate or lengthen the interval, "
                       "e.g. rate=8b/s@1s)", what, n->rate_interval_usecs);
    return 0;
}

/* libxl's default MAC: Xen's OUI 00:16:3e and three random bytes, the top bit of the first
 * random byte (the fourth octet) cleared, as libxl's setdefault does: generated addresses stay
 * in 00:16:3e:00:00:00-00:16:3e:7f:ff:ff. The OUI's first octet 0x00 has the multicast bit
 * (0x01) and the locally administered bit (0x02) clear: a unicast, universally administered
 * address. A MAC the user gives is taken as given (no bit changed); a multicast one is refused
 * by check_nic (the spec parser, which accepts it as xl does, warns). */
static void random_mac(kl_mac *m)
{
    uuid_t r;

    uuid_generate_random(r);
    m->bytes[0] = 0x00;
    m->bytes[1] = 0x16;
    m->bytes[2] = 0x3e;
    memcpy(m->bytes + 3, r, 3);
    m->bytes[3] &= 0x7f;
}

/* The next devid: one past the highest the domain has (as libxl), 0 for the first. */
static int next_devid(kl_ctx *ctx, uint32_t domid)
{
    uint32_t *ids;
    int n = kl__dev_ids(ctx, domid, &ids), next = 0;

    for (int i = 0; i < n; i++)
        if (KL__KEY_IS_VIF(ids[i]) && (int)KL__KEY_DEVID(ids[i]) >= next)
            next = (int)KL__KEY_DEVID(ids[i]) + 1;
    free(ids);
    return next;
}

/* Fill d from a vif description (defaults already chosen: devid >= 0, MAC set). */
static int nic_prepare(kl_ctx *ctx, uint32_t domid, const kl_device_nic *n, struct kl__dev *d)
{
    char what[48], mac[KL_MAC_STRLEN];
    kl_dominfo info;
    int rc;

    memset(d, 0, sizeof(*d));
    snprintf(what, sizeof(what), "domain %u: vif %d", domid, n->devid);
    if ((rc = check_nic(ctx, domid, n, what)) < 0 || (rc = kl_domain_info(ctx, domid, &info)) < 0)
        return rc;
    if ((rc = kl__hotplug_find(ctx, n->script && *n->script ? n->script : "vif-bridge",
                               d->script, sizeof(d->script))) < 0) {
        char why[sizeof(ctx->err)];
        snprintf(why, sizeof(why), "%s", kl_ctx_error(ctx));
        return kl__err(ctx, rc, "%s: %s", what, why);
    }
    kl__dev_paths(d, domid, (uint32_t)n->devid, "vif");
    if (n->ifname)
        snprintf(d->ifname, sizeof(d->ifname), "%s", n->ifname);
    else
        snprintf(d->ifname, sizeof(d->ifname), "vif%u.%d", domid, n->devid);
    snprintf(d->netdev, sizeof(d->netdev), "%s", n->gatewaydev ? n->gatewaydev : "");
    kl_mac_to_string(&n->mac, mac);
    BE("frontend", "%s", d->fe);
    BE("frontend-id", "%u", domid);
    BE("online", "1");
    BE("state", "1");
    BE("script", "%s", d->script);
    BE("mac", "%s", mac);
    if (n->bridge)
        BE("bridge", "%s", n->bridge);
    BE("handle", "%d", n->devid);
    BE("type", "vif");
    BE("hotplug-status", "%s", "");
    if (n->ifname)
        BE("vifname", "%s", n->ifname);
    if (n->ip)
        BE("ip", "%s", n->ip);
    if (n->gatewaydev)
        BE("gatewaydev", "%s", n->gatewaydev);
    if (n->rate_interval_usecs)
        BE("rate", "%llu,%u", (unsigned long long)n->rate_bytes_per_interval,
           n->rate_interval_usecs);
    if (n->mtu && n->mtu != VIF_DEFAULT_MTU)
        BE("mtu", "%d", n->mtu);
    FE("backend", "%s", d->be);
    FE("backend-id", "0");
    FE("state", "1");
    FE("handle", "%d", n->devid);
    FE("mac", "%s", mac);
    FE("trusted", "%d", kl_defbool_val_or(n->trusted, true) ? 1 : 0);
    FE("mtu", "%d", n->mtu ? n->mtu : VIF_DEFAULT_MTU);
    d->fek[d->nfe - 1].ro = 1;           /* Domain-0's: the guest reads it, cannot change it */
    return 0;
}

/* Keep the stored configuration in step (xl list -l, save images, restarts): the vif with
 * devid replaced by n (add) or dropped (n NULL). */
static void record(kl_ctx *ctx, uint32_t domid, int devid, const kl_device_nic *n)
{
    kl_domain_config dc;
    int keep = 0;

    kl_domain_config_init(&dc);
    if (kl_domain_get_config(ctx, domid, &dc) == 0) {
        kl_device_nic *nn = calloc((size_t)dc.num_nics + 1, sizeof(*nn));
        for (int i = 0; nn && i < dc.num_nics; i++) {
            if (dc.nics[i].devid == devid) {
                kl_device_nic_dispose(&dc.nics[i]);
                continue;
            }
            nn[keep++] = dc.nics[i];
        }
        if (nn && n) {
            kl_device_nic_init(&nn[keep]);
            kl_device_nic_copy(&nn[keep++], n);
        }
        if (nn) {
            free(dc.nics);
            dc.nics = nn;
            dc.num_nics = keep;
            kl__userdata_store(ctx, domid, &dc);
        }
    }
    kl_domain_config_dispose(&dc);
}

int kl_nic_add(kl_ctx *ctx, uint32_t domid, kl_device_nic *nic, const kl_nic_add_opts *o)
{
    struct kl__dev d;
    int rc, devid = nic->devid;
    kl_mac mac = nic->mac;

    ctx->err[0] = 0;
    if (devid < 0)
        devid = next_devid(ctx, domid);
    if (kl_mac_is_zero(&mac))
        random_mac(&mac);
    nic->devid = devid;
    nic->mac = mac;
    if (nic->nictype == KL_NIC_TYPE_UNKNOWN)
        nic->nictype = KL_NIC_TYPE_VIF;
    if ((rc = nic_prepare(ctx, domid, nic, &d)) < 0 ||
        (rc = kl__dev_add(ctx, &d, o ? o->fe_keys : NULL)) < 0)
        return rc;
    if (!o || !(o->flags & KL_NIC_NO_RECORD))
        record(ctx, domid, devid, nic);
    return 0;
}

static int read_str(kl_ctx *ctx, const char *dir, const char *key, char *out, size_t len)
{
    char path[200], *v = NULL;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    out[0] = 0;
    if ((rc = kl__xs_read(ctx, 0, path, &v)) < 0)
        return rc;
    snprintf(out, len, "%s", v);
    free(v);
    return 0;
}

static int read_int(kl_ctx *ctx, const char *dir, const char *key, long max)
{
    char v[32], *end;
    long x;

    if (read_str(ctx, dir, key, v, sizeof(v)) < 0 || !v[0])
        return -1;
    x = strtol(v, &end, 10);
    return *end || x < 0 || x > max ? -1 : (int)x;
}

static void info_of(kl_ctx *ctx, const struct kl__dev *d, kl_nicinfo *o)
{
    kl_mac m;

    memset(o, 0, sizeof(*o));
    o->devid = d->devid;
    o->frontend_id = d->domid;
    o->backend_state = read_int(ctx, d->be, "state", 8);
    o->frontend_state = read_int(ctx, d->fe, "state", 8);
    o->evtch = read_int(ctx, d->fe, "event-channel", 1 << 30);
    if (o->evtch < 0)
        o->evtch = read_int(ctx, d->fe, "event-channel-tx", 1 << 30);
    o->rref_tx = read_int(ctx, d->fe, "tx-ring-ref", 1l << 31);
    o->rref_rx = read_int(ctx, d->fe, "rx-ring-ref", 1l << 31);
    o->mtu = read_int(ctx, d->fe, "mtu", 65535);
    /* the backend's mac is Domain-0's; one that does not parse is shown as zeros */
    if (read_str(ctx, d->be, "mac", o->mac, sizeof(o->mac)) < 0 || kl_mac_from_string(&m, o->mac))
        snprintf(o->mac, sizeof(o->mac), "00:00:00:00:00:00");
    else
        kl_mac_to_string(&m, o->mac);
    read_str(ctx, d->be, "bridge", o->bridge, sizeof(o->bridge));
    read_str(ctx, d->be, "ip", o->ip, sizeof(o->ip));
    read_str(ctx, d->be, "script", o->script, sizeof(o->script));
    read_str(ctx, d->be, "hotplug-status", o->hotplug_status, sizeof(o->hotplug_status));
    snprintf(o->ifname, sizeof(o->ifname), "%s", d->ifname);
    snprintf(o->backend, sizeof(o->backend), "%s", d->be);
    snprintf(o->frontend, sizeof(o->frontend), "%s", d->fe);
}

int kl_nic_list(kl_ctx *ctx, uint32_t domid, kl_nicinfo **out)
{
    uint32_t *ids;
    kl_dominfo di;
    int n, k = 0;

    *out = NULL;
    if ((n = kl_domain_info(ctx, domid, &di)) < 0)
        return n;
    n = kl__dev_ids(ctx, domid, &ids);
    kl__sort_u32(ids, n);
    if (!(*out = calloc((size_t)n + 1, sizeof(**out)))) {
        free(ids);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        struct kl__dev d;
        if (KL__KEY_IS_VIF(ids[i]) && kl__dev_load(ctx, domid, ids[i], &d) == 0)
            info_of(ctx, &d, &(*out)[k++]);
    }
    free(ids);
    ctx->err[0] = 0;
    return k;
}

/* dev: a devid (decimal) or a MAC address; the devid of the domain's vif, or -ENODEV. */
static int find_vif(kl_ctx *ctx, uint32_t domid, const char *dev, uint32_t *devid)
{
    kl_nicinfo *l;
    kl_mac want, have;
    int n, is_mac = strchr(dev, ':') != NULL, found = -ENODEV;
    char *end;
    unsigned long v = 0;

    if (is_mac ? kl_mac_from_string(&want, dev) != 0
               : (v = strtoul(dev, &end, 10), !*dev || *end || v > VIF_MAX_DEVID))
        return kl__err(ctx, -EINVAL, "domain %u: '%.40s' is neither a device number nor a MAC "
                       "address", domid, dev);
    if ((n = kl_nic_list(ctx, domid, &l)) < 0)
        return n;
    for (int i = 0; i < n && found < 0; i++) {
        if (is_mac ? kl_mac_from_string(&have, l[i].mac) == 0 && !memcmp(&have, &want, sizeof(want))
                   : l[i].devid == v) {
            *devid = l[i].devid;
            found = 0;
        }
    }
    free(l);
    if (found < 0)
        return kl__err(ctx, -ENODEV, "domain %u has no vif %s", domid, dev);
    return 0;
}

int kl_nic_remove(kl_ctx *ctx, uint32_t domid, const char *dev, unsigned flags)
{
    struct kl__dev d;
    uint32_t devid = 0;
    int rc;

    ctx->err[0] = 0;
    if ((rc = find_vif(ctx, domid, dev, &devid)) < 0)
        return rc;
    if ((rc = kl__dev_load(ctx, domid, devid | KL__VIF_KEY, &d)) < 0 && rc != -EPROTO)
        return rc;
    kl__dev_remove(ctx, &d, flags & KL_NIC_FORCE ? 0 : kl__dev_timeout(KL__DESTROY_TIMEOUT_MS),
                   d.script[0] != 0);
    record(ctx, domid, (int)devid, NULL);
    ctx->err[0] = 0;
    return 0;
}

int kl__nics_add_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc,
                        const struct kl__fe_set *fe)
{
    for (int i = 0; i < dc->num_nics; i++) {
        kl_nic_add_opts o = { .flags = KL_NIC_NO_RECORD };
        const struct kl__fe_dev *f;
        kl_device_nic n;
        int rc;
        /* a restored frontend's keys (rings, event channels, state) for the new domid */
        if (fe && dc->nics[i].devid >= 0 &&
            (f = kl__fe_find(fe, (uint32_t)dc->nics[i].devid | KL__VIF_KEY)))
            o.fe_keys = (const char *const *)f->kv;
        kl_device_nic_init(&n);
        kl_device_nic_copy(&n, &dc->nics[i]);
        if (n.devid < 0)
            n.devid = i;
        rc = kl_nic_add(ctx, domid, &n, &o);
        kl_device_nic_dispose(&n);
        if (rc < 0)
            return rc;
    }
    return 0;
}
