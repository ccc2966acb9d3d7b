/* test-specs.c - the device spec strings against the examples of Xen's documentation
 * (xl-network-configuration(5), xl-disk-configuration(5), xl.cfg(5) vtpm/p9/channel), their
 * error cases, printing back (to_spec -> parse gives an equal device), and CPU lists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define SPEC_OK(T, spec, dev, d) (kl_device_##T##_parse_spec(dev, spec, d) == 0)

#define REPRINT(T, dev, what)                                                        \
    do {                                                                             \
        char *s_ = kl_device_##T##_to_spec(dev);                                      \
        kl_device_##T b_;                                                             \
        kl_device_##T##_init(&b_);                                                    \
        tap_ok(s_ && kl_device_##T##_parse_spec(&b_, s_, NULL) == 0 &&               \
                   kl_device_##T##_equal(&b_, dev),                                  \
               "%s: printed back as `%s', it parses to an equal device", what, s_ ? s_ : "?"); \
        kl_device_##T##_dispose(&b_);                                                 \
        free(s_);                                                                     \
    } while (0)

/* Whether the diagnostics hold a warning containing text. */
static int warned(const kl_diag *d, const char *text)
{
    for (size_t i = 0; i < kl_diag_count(d); i++)
        if (kl_diag_severity(d, i) == KL_SEV_WARNING && strstr(kl_diag_text(d, i), text))
            return 1;
    return 0;
}

/* Every accepted rate prints back (to_spec) as a spec that parses to the same bytes per
 * interval and the same interval: rates that round to 0 bytes, the largest counts and units,
 * octal counts, intervals in every unit. Rates of 0 bytes per interval parse (as xl's) with a
 * warning that such a vif is refused at attach. */
static void test_vif_rates(kl_diag *d)
{
    static const char *const rates[] = {
        "1b/s", "7b/s", "1B/s", "19B/s", "20B/s", "21B/s", "8b/s@1s", "1b/s@8s",
        "999999B/s@1us", "1000000B/s@1us", "1000001B/s@1us", "123456789b/s@333us",
        "368934GB/s", "4294967295GB/s@4us", "4294967295b/s@4294s", "010Mb/s@3ms",
        "3Kb/s@7u", "17MB/s@999999us", "1Gb/s@1000001us", "5B/s@4294967295us", "10Mb/s",
    };
    kl_device_nic n;
    int bad = 0;

    kl_device_nic_init(&n);
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "rate=%s", rates[i]);
        kl_diag_clear(d);
        if (!SPEC_OK(nic, spec, &n, d)) {
            tap_ok(0, "vif: %s parses", spec);
            continue;
        }
        if (!n.rate_bytes_per_interval && !warned(d, "allows 0 bytes per"))
            bad++, tap_diag("%s: 0 bytes per interval without a warning", spec);
        REPRINT(nic, &n, spec);
    }
    tap_ok(bad == 0, "vif: every rate of 0 bytes per interval is accepted with a warning");
    kl_diag_clear(d);
    tap_ok(SPEC_OK(nic, "rate=10Mb/s", &n, d) && kl_diag_count(d) == 0,
           "vif: a rate of some bytes per interval gives no warning");
    /* a value only JSON can hold (bytes per interval no rate gives is impossible; 0 is the
     * extreme) still prints as a spec that parses back to it */
    n.rate_bytes_per_interval = 0;
    n.rate_interval_usecs = 1;
    REPRINT(nic, &n, "vif: 0 bytes per 1 us (from JSON)");
    kl_device_nic_dispose(&n);
}

static void test_vif_mac(kl_diag *d)
{
    kl_device_nic n;

    kl_device_nic_init(&n);
    kl_diag_clear(d);
    tap_ok(SPEC_OK(nic, "mac=01:16:3e:00:00:01", &n, d) && n.mac.bytes[0] == 0x01 &&
               warned(d, "is a multicast address"),
           "vif: a multicast MAC (low bit of the first octet) parses as given, with a warning "
           "(attaching it is refused)");
    kl_diag_clear(d);
    tap_ok(SPEC_OK(nic, "mac=02:00:00:00:00:01", &n, d) && kl_diag_count(d) == 0 &&
               SPEC_OK(nic, "mac=00:16:3e:ff:ff:ff", &n, d) && kl_diag_count(d) == 0,
           "vif: a locally administered MAC and one in Xen's OUI are taken without a warning");
    kl_device_nic_dispose(&n);
}

static void test_vif(kl_diag *d)
{
    static const struct { const char *spec; uint64_t bytes; uint32_t usecs; } rates[] = {
        { "rate=10Mb/s", 62500, 50000 },      /* 1.25 MB/s over the default 50 ms */
        { "rate=250KB/s", 12500, 50000 },
        { "rate=1MB/s@20ms", 20000, 20000 },  /* the manual's "20,000 bytes every 20,000 us" */
        { "rate=1GB/s@100us", 100000, 100 },
        { "rate=8b/s@2s", 2, 2000000 },
    };
    static const char *const bad[] = { "mac=00:16:3e:00:00", "mac=00:16:3e:00:00:0g",
                                       "rate=0Mb/s", "rate=10Mb", "rate=10Mb/s@0ms",
                                       "rate=10Mb/s@5h", "mtu=20", "type=tap", "colour=blue",
                                       "justaflag", "vlan=ten", "devid=-1" };
    kl_device_nic n;

    kl_device_nic_init(&n);
    tap_ok(SPEC_OK(nic, "mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0", &n, d) &&
           n.mac.bytes[0] == 0x00 && n.mac.bytes[2] == 0x3e && n.mac.bytes[5] == 0x76 &&
           !strcmp(n.model, "rtl8139") && !strcmp(n.bridge, "xenbr0"),
           "vif: the manual's first example sets mac, model and bridge");
    REPRINT(nic, &n, "vif example 1");
    tap_ok(SPEC_OK(nic, "", &n, d) && kl_mac_is_zero(&n.mac) && !n.bridge,
           "vif: the empty string is a valid spec with every default");
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        tap_ok(SPEC_OK(nic, rates[i].spec, &n, d) && n.rate_bytes_per_interval == rates[i].bytes &&
                   n.rate_interval_usecs == rates[i].usecs,
               "vif: %s is %llu bytes every %u us", rates[i].spec,
               (unsigned long long)rates[i].bytes, rates[i].usecs);
        REPRINT(nic, &n, rates[i].spec);
    }
    tap_ok(SPEC_OK(nic, "vlan=10p/100+10x4", &n, d) && !strcmp(n.vlan, "10p/100+10x4"),
           "vif: the manual's vlan example is kept");
    tap_ok(SPEC_OK(nic, "netdev=eth1", &n, d) && !strcmp(n.gatewaydev, "eth1"),
           "vif: netdev is an alias of gatewaydev");
    tap_ok(SPEC_OK(nic, " ip=192.0.2.1 , script=vif-route,vifname=web0,backend=netdom,"
                        "type=vif,mtu=9000,devid=3,untrusted", &n, d) &&
               !strcmp(n.ip, "192.0.2.1") && !strcmp(n.script, "vif-route") &&
               !strcmp(n.ifname, "web0") && !strcmp(n.backend_domname, "netdom") &&
               n.nictype == KL_NIC_TYPE_VIF && n.mtu == 9000 && n.devid == 3 &&
               !kl_defbool_val_or(n.trusted, true),
           "vif: ip, script, vifname, backend, type, mtu, devid and untrusted, with blanks");
    REPRINT(nic, &n, "vif with every key");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kl_diag_clear(d);
        tap_ok(kl_device_nic_parse_spec(&n, bad[i], d) == -EINVAL && kl_diag_first_error(d) &&
                   strstr(kl_diag_first_error(d), bad[i]),
               "vif: `%s' is rejected, quoting the spec", bad[i]);
    }
    tap_ok(n.devid == 3, "vif: a rejected spec leaves the device untouched");
    kl_device_nic_dispose(&n);
}

static void disk_same(const char *const *specs, size_t n, const char *what, kl_diag *d)
{
    kl_device_disk first, other;

    kl_device_disk_init(&first);
    kl_device_disk_init(&other);
    tap_ok(SPEC_OK(disk, specs[0], &first, d), "disk: `%s' parses", specs[0]);
    for (size_t i = 1; i < n; i++)
        tap_ok(SPEC_OK(disk, specs[i], &other, d) && kl_device_disk_equal(&first, &other),
               "disk: `%s' is equivalent to `%s' (%s)", specs[i], specs[0], what);
    REPRINT(disk, &first, what);
    kl_device_disk_dispose(&first);
    kl_device_disk_dispose(&other);
}

static void test_disk(kl_diag *d)
{
    static const char *const vol[] = {
        "/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume,raw,hda,rw",
        "/dev/vg/guest-volume,,hda,,", "/dev/vg/guest-volume,raw,hda,rw, ",
        "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
        "raw:/dev/vg/guest-volume,hda,w",
    };
    static const char *const iso[] = {
        "/root/image.iso,,hdc,cdrom", "/root/image.iso,,hdc,,cdrom",
        "/root/image.iso,raw,hdc,devtype=cdrom",
        "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
        "raw:/root/image.iso,hdc:cdrom,ro",
    };
    static const char *const bad[][2] = {
        { "/dev/vg/x", "no vdev specified" },
        { "/x,,xvda,rw,extra", "too many positional parameters" },
        { "/x,qcow3,xvda", "invalid format `qcow3'" },
        { "/x,,xvda,rx", "invalid access `rx'" },
        { "/x,,xvda,devtype=floppy", "invalid devtype" },
        { "/x,,xvda,vdev=xvdb", "`vdev' specified more than once" },
        { "/x,,xvda,bogus=1", "unknown keyword `bogus'" },
        { "/x,,xvda,backendtype=nbd", "invalid backendtype" },
        { "/a,,xvda,target=/b", "`target' specified more than once" },
    };
    kl_device_disk k;

    disk_same(vol, 4, "the manual's volume example", d);
    disk_same(iso, 5, "the manual's cdrom example", d);
    kl_device_disk_init(&k);
    tap_ok(SPEC_OK(disk, "/dev/vg/guest-volume,,hda", &k, d) && k.readwrite == 1 &&
           k.format == KL_DISK_FORMAT_RAW && !k.is_cdrom && !strcmp(k.vdev, "hda") &&
           !strcmp(k.pdev_path, "/dev/vg/guest-volume"),
           "disk: defaults are raw and read-write");
    tap_ok(SPEC_OK(disk, "/root/image.iso,,hdc,cdrom", &k, d) && k.readwrite == 0 && k.is_cdrom &&
           k.removable, "disk: a cdrom defaults to read-only and removable");
    tap_ok(SPEC_OK(disk, ",hdc:cdrom,r", &k, d) && !k.pdev_path && k.is_cdrom &&
           k.format == KL_DISK_FORMAT_EMPTY && !strcmp(k.vdev, "hdc"),
           "disk: xend's empty cdrom form gives an empty drive");
    tap_ok(SPEC_OK(disk, "vdev=xvda, target=/srv/a,b c ", &k, d) &&
           !strcmp(k.pdev_path, "/srv/a,b c "),
           "disk: target= takes the rest of the string, commas and blanks included");
    tap_ok(SPEC_OK(disk, ",,xvda,,target=/late", &k, d) && !strcmp(k.pdev_path, "/late"),
           "disk: target= may follow an empty positional target");
    tap_ok(SPEC_OK(disk, "drbd:resource,xvda,w", &k, d) && !strcmp(k.script, "block-drbd") &&
           !strcmp(k.pdev_path, "resource"), "disk: the deprecated drbd: prefix selects block-drbd");
    tap_ok(SPEC_OK(disk, "tap:aio:/img,xvda,w", &k, d) && !strcmp(k.pdev_path, "/img") &&
           !strcmp(k.vdev, "xvda") && k.readwrite == 1,
           "disk: ignored prefixes are stripped and select the order target, vdev, access");
    kl_diag_clear(d);
    tap_ok(kl_device_disk_parse_spec(&k, "tap:aio:/img,qcow2,xvda", d) == -EINVAL &&
           strstr(kl_diag_first_error(d), "invalid access `xvda'"),
           "disk: in that order a format in second place is taken as the vdev");
    tap_ok(SPEC_OK(disk, "/i,qcow2,xvdz,ro,backend=storage,backendtype=qdisk,script=block-x,"
                         "specification=virtio,direct-io-safe,no-discard,untrusted", &k, d) &&
               k.format == KL_DISK_FORMAT_QCOW2 && !strcmp(k.backend_domname, "storage") &&
               k.backend == KL_DISK_BACKEND_QDISK && !strcmp(k.script, "block-x") &&
               k.specification == KL_DISK_SPECIFICATION_VIRTIO && k.direct_io_safe &&
               !kl_defbool_val_or(k.discard_enable, true) && !kl_defbool_val_or(k.trusted, true),
           "disk: keys and flags");
    REPRINT(disk, &k, "disk with every key");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kl_diag_clear(d);
        tap_ok(kl_device_disk_parse_spec(&k, bad[i][0], d) == -EINVAL && kl_diag_first_error(d) &&
                   strstr(kl_diag_first_error(d), bad[i][1]),
               "disk: `%s' is rejected with \"%s\"", bad[i][0], bad[i][1]);
    }
    kl_device_disk_dispose(&k);
}

static void test_others(kl_diag *d)
{
    kl_device_vtpm t;
    kl_device_p9 p;
    kl_device_channel c;
    char u[KL_UUID_STRLEN];

    kl_device_vtpm_init(&t);
    kl_device_p9_init(&p);
    kl_device_channel_init(&c);
    tap_ok(SPEC_OK(vtpm, "backend=vtpmmgr,uuid=ac0a5b9e-cbe2-4c07-b43b-1f0dbd50eba4", &t, d) &&
           !strcmp(t.backend_domname, "vtpmmgr"), "vtpm: backend and uuid");
    kl_uuid_to_string(&t.uuid, u);
    tap_ok(!strcmp(u, "ac0a5b9e-cbe2-4c07-b43b-1f0dbd50eba4"), "vtpm: the uuid is kept");
    REPRINT(vtpm, &t, "vtpm");
    kl_diag_clear(d);
    tap_ok(kl_device_vtpm_parse_spec(&t, "uuid=ac0a5b9e-cbe2-4c07-b43b-1f0dbd50eba4", d) == -EINVAL &&
           strstr(kl_diag_first_error(d), "missing required backend field"),
           "vtpm: backend is required");
    tap_ok(kl_device_vtpm_parse_spec(&t, "backend=a,uuid=nope", d) == -EINVAL,
           "vtpm: a malformed uuid is rejected");
    tap_ok(kl_device_vtpm_parse_spec(&t, "backend=a,model=tpm2", d) == -EINVAL,
           "vtpm: only backend and uuid are known");
    tap_ok(SPEC_OK(p9, "tag=share,path=/srv/share,security_model=none", &p, d) &&
           !strcmp(p.tag, "share") && !strcmp(p.path, "/srv/share"), "p9: tag, path, model");
    REPRINT(p9, &p, "p9");
    tap_ok(kl_device_p9_parse_spec(&p, "tag=share", NULL) == -EINVAL, "p9: path is required");
    tap_ok(SPEC_OK(channel, "name=org.qemu.guest_agent.0,connection=pty", &c, d) &&
           c.connection == KL_CHANNEL_CONNECTION_PTY, "channel: a pty channel");
    tap_ok(SPEC_OK(channel, "name=agent,connection=socket,path=/run/a.sock,backend=0", &c, d) &&
           !strcmp(c.path, "/run/a.sock"), "channel: a socket channel with its path");
    REPRINT(channel, &c, "channel");
    tap_ok(kl_device_channel_parse_spec(&c, "connection=pty", NULL) == -EINVAL,
           "channel: name is required");
    tap_ok(kl_device_channel_parse_spec(&c, "name=a,connection=serial", NULL) == -EINVAL,
           "channel: connection must be pty or socket");
    kl_device_vtpm_dispose(&t);
    kl_device_p9_dispose(&p);
    kl_device_channel_dispose(&c);
}

static void test_cpulist(kl_diag *d)
{
    static const char *const bad[] = { "", "3-1", "4096", "nodes:0", "1,,2", "x", "^0" };
    kl_bitmap b = { 0, NULL };
    char *s;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);

    tap_ok(kl_cpulist_parse(&b, "0-3,5,^1", d) == 0 && kl_bitmap_count(&b) == 4 &&
           kl_bitmap_test(&b, 0) && !kl_bitmap_test(&b, 1) && kl_bitmap_test(&b, 5),
           "cpus: the manual's \"0-3,5,^1\" is CPUs 0, 2, 3 and 5");
    s = kl_bitmap_to_cpulist(&b);
    tap_ok(s && !strcmp(s, "0,2-3,5"), "cpus: printed back as 0,2-3,5");
    free(s);
    tap_ok(kl_cpulist_parse(&b, "all", d) == 0 && (long)kl_bitmap_count(&b) == ncpu,
           "cpus: all is every CPU of the host");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        tap_ok(kl_cpulist_parse(&b, bad[i], NULL) == -EINVAL, "cpus: `%s' is rejected", bad[i]);
    free(b.map);
}

int main(void)
{
    kl_diag *d = kl_diag_new();

    test_vif(d);
    test_vif_rates(d);
    test_vif_mac(d);
    test_disk(d);
    test_others(d);
    test_cpulist(d);
    kl_diag_free(d);
    return tap_done();
}
