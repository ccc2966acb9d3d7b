/* test-rules.c - keel-netback's backend rules (nb_rules.c): the BE keys (mac, ip, rate,
 * vifname) parsed and refused when malformed; anti-spoofing (source MAC; IPv4 source and ARP
 * sender against `ip`, DHCP discover allowed, VLAN-tagged frames refused with `ip`); the rate
 * credit (a frame larger than what is left waits for the next interval, refill capped); the
 * virtio-net header of tx frames (checksum offload, GSO) and software checksum completion. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "nb_rules.h"
#include "tap.h"

static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x01, 0x02, 0x03 };

/* Ethernet + IPv4 + UDP (or TCP) frame from src to dst. */
static size_t ipv4(uint8_t *f, const char *src, const char *dst, uint8_t proto, uint16_t sport,
                   uint16_t dport)
{
    memset(f, 0, 128);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    f[14] = 0x45;
    f[23] = proto;
    inet_pton(AF_INET, src, f + 26);
    inet_pton(AF_INET, dst, f + 30);
    f[34] = (uint8_t)(sport >> 8);
    f[35] = (uint8_t)sport;
    f[36] = (uint8_t)(dport >> 8);
    f[37] = (uint8_t)dport;
    f[46] = 0x50;                        /* TCP data offset 5 */
    return 14 + 20 + 20 + 10;
}

static size_t arp(uint8_t *f, const char *sender)
{
    memset(f, 0, 64);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    f[15] = 1;
    f[16] = 0x08;
    f[18] = 6;
    f[19] = 4;
    f[21] = 1;
    memcpy(f + 22, mac, 6);
    inet_pton(AF_INET, sender, f + 28);
    return 42;
}

int main(void)
{
    uint8_t m[6], f[256];
    uint32_t ips[NB_MAX_IPS];
    unsigned n;
    uint64_t b, u;
    struct nb_rate r;
    struct nb_vnet_hdr h;
    size_t len;

    tap_ok(nb_parse_mac("00:16:3e:0a:Bb:cc", m) == 0 && m[4] == 0xbb, "a MAC address parses");
    tap_ok(nb_parse_mac("01:16:3e:0a:bb:cc", m) < 0, "a multicast MAC is refused");
    tap_ok(nb_parse_mac("00:16:3e:0a:bb", m) < 0 && nb_parse_mac("00-16-3e-0a-bb-cc", m) < 0 &&
           nb_parse_mac("00:16:3e:0a:bb:cg", m) < 0, "short, dashed or non-hex MACs are refused");
    tap_ok(nb_parse_ips("192.0.2.10 192.0.2.11/24", ips, &n) == 0 && n == 2 &&
           ips[1] == inet_addr("192.0.2.11"), "ip: two addresses, a prefix ignored");
    tap_ok(nb_parse_ips("192.0.2.256", ips, &n) < 0 && nb_parse_ips("1.2.3", ips, &n) < 0 &&
           nb_parse_ips("1.2.3.4x", ips, &n) < 0 && nb_parse_ips("", ips, &n) < 0 &&
           nb_parse_ips("1.2.3.4/33", ips, &n) < 0, "malformed ip lists are refused");
    tap_ok(nb_parse_rate("125000,50000", &b, &u) == 0 && b == 125000 && u == 50000,
           "rate 125000,50000 parses");
    tap_ok(nb_parse_rate("0,50000", &b, &u) < 0 && nb_parse_rate("10,", &b, &u) < 0 &&
           nb_parse_rate("10,5000000000", &b, &u) < 0 && nb_parse_rate("99999999999999999999,1", &b, &u) < 0,
           "zero, missing or overflowing rates are refused");
    tap_ok(nb_valid_ifname("vif5.0") && nb_valid_ifname("guest-eth_0") && !nb_valid_ifname("") &&
           !nb_valid_ifname("a/b") && !nb_valid_ifname("0123456789abcdef") && !nb_valid_ifname(".."),
           "vifname: 1..15 of [A-Za-z0-9_.-]");

    nb_parse_ips("192.0.2.10", ips, &n);
    len = ipv4(f, "192.0.2.10", "192.0.2.1", 17, 1000, 7);
    tap_is_int(nb_spoof_check(f, len, mac, ips, n), NB_SPOOF_OK, "IPv4 from the listed address passes");
    tap_is_int(nb_spoof_check(f, len, mac, NULL, 0), NB_SPOOF_OK, "without ip any source passes");
    len = ipv4(f, "192.0.2.99", "192.0.2.1", 17, 1000, 7);
    tap_is_int(nb_spoof_check(f, len, mac, ips, n), NB_SPOOF_IP, "IPv4 from another address is dropped");
    len = ipv4(f, "0.0.0.0", "255.255.255.255", 17, 68, 67);
    tap_is_int(nb_spoof_check(f, len, mac, ips, n), NB_SPOOF_OK, "DHCP 0.0.0.0:68 -> 255.255.255.255:67 passes");
    len = ipv4(f, "0.0.0.0", "255.255.255.255", 17, 68, 68);
    tap_is_int(nb_spoof_check(f, len, mac, ips, n), NB_SPOOF_IP, "other UDP from 0.0.0.0 is dropped");
    len = ipv4(f, "192.0.2.10", "192.0.2.1", 17, 1000, 7);
    f[11] ^= 1;
    tap_is_int(nb_spoof_check(f, len, mac, NULL, 0), NB_SPOOF_MAC, "another source MAC is dropped");
    len = arp(f, "192.0.2.10");
    tap_is_int(nb_spoof_check(f, len, mac, ips, n), NB_SPOOF_OK, "ARP from the listed address passes");
    len = arp(f, "192.0.2.77");
    tap_is_int(nb_spoof_check(f, len, mac, ips, n), NB_SPOOF_IP, "ARP claiming another address is dropped");
    len = arp(f, "192.0.2.10");
    tap_is_int(nb_spoof_check(f, 30, mac, ips, n), NB_SPOOF_IP, "a truncated ARP is dropped");
    f[12] = 0x81;
    f[13] = 0x00;
    tap_is_int(nb_spoof_check(f, len, mac, ips, n), NB_SPOOF_IP, "VLAN-tagged frames with ip set are dropped");
    f[12] = 0x86;
    f[13] = 0xdd;
    tap_is_int(nb_spoof_check(f, len, mac, ips, n), NB_SPOOF_OK, "IPv6 is not restricted by ip");
    tap_is_int(nb_spoof_check(f, 10, mac, NULL, 0), NB_SPOOF_MAC, "a runt cannot prove its MAC");

    nb_rate_init(&r, 10000, 100000, 0);
    tap_ok(nb_rate_take(&r, 10, 6000) && !nb_rate_take(&r, 20, 6000), "rate: 6000 of 10000 pass, the next 6000 wait");
    tap_ok(!nb_rate_take(&r, 99999, 6000), "still waiting just before the interval ends");
    tap_ok(nb_rate_take(&r, 100000, 6000) && r.next_us == 200000, "at the interval the credit is refilled");
    tap_ok(nb_rate_take(&r, 100001, 8000) && !nb_rate_take(&r, 100002, 100), "the refill adds bytes to what was left");
    nb_rate_init(&r, 1000, 1000, 0);
    tap_ok(!nb_rate_take(&r, 0, 1514), "a frame larger than the per-interval credit waits...");
    for (uint64_t t = 1000; t <= 2000; t += 1000)
        if (nb_rate_take(&r, t, 1514))
            break;
    tap_ok(r.remaining < 1000, "...and passes once the credit accumulated (burst allows it)");
    nb_rate_init(&r, 1000, 1000, 0);
    r.remaining = 0;
    for (uint64_t t = 1000; t < 1000000; t += 1000)
        nb_rate_take(&r, t, 200000);
    tap_ok(r.remaining <= 131072, "the credit never grows beyond max(bytes, 128 KiB)");
    nb_rate_init(&r, 0, 0, 0);
    tap_ok(nb_rate_take(&r, 0, 65535), "no rate: unlimited");

    len = ipv4(f, "192.0.2.10", "192.0.2.1", 6, 1000, 80);
    tap_ok(nb_vnet_tx(f, len, 1, 0, 0, 0, &h) == 0 && h.flags == NB_VNET_NEEDS_CSUM &&
           h.csum_start == 34 && h.csum_offset == 16, "TCP csum_blank: NEEDS_CSUM at 34+16");
    tap_ok(nb_vnet_tx(f, len, 1, 1, 1, 1448, &h) == 0 && h.gso_type == NB_VNET_GSO_TCPV4 &&
           h.gso_size == 1448 && h.hdr_len == 54, "TCPv4 GSO: type, mss and header length 54");
    tap_ok(nb_vnet_tx(f, len, 1, 0, 2, 1448, &h) < 0, "a TCPv6 GSO on an IPv4 frame is refused");
    len = ipv4(f, "192.0.2.10", "192.0.2.1", 17, 1000, 7);
    tap_ok(nb_vnet_tx(f, len, 1, 0, 0, 0, &h) == 0 && h.csum_offset == 6, "UDP csum_blank: offset 6");
    tap_ok(nb_vnet_tx(f, len, 1, 0, 1, 1448, &h) < 0, "GSO of a UDP frame is refused");
    tap_ok(nb_vnet_tx(f, len, 0, 1, 0, 0, &h) == 0 && h.flags == NB_VNET_DATA_VALID, "data_validated: DATA_VALID");
    len = arp(f, "192.0.2.10");
    tap_ok(nb_vnet_tx(f, len, 1, 0, 0, 0, &h) < 0, "csum_blank on an ARP frame is refused");

    {
        uint8_t ud[8] = { 0x12, 0x34, 0x00, 0x07, 0x00, 0x08, 0x00, 0x00 };   /* UDP, pseudo 0 */
        uint32_t s = 0;
        tap_ok(nb_csum_finish(ud, 8, 0, 6) == 0, "checksum finished in place");
        for (int i = 0; i < 8; i += 2)
            s += (uint32_t)(ud[i] << 8 | ud[i + 1]);
        while (s >> 16)
            s = (s & 0xffff) + (s >> 16);
        tap_is_int(s, 0xffff, "the data with its checksum sums to 0xffff");
        tap_ok(nb_csum_finish(ud, 8, 4, 6) < 0 && nb_csum_finish(ud, 8, 9, 0) < 0,
               "offsets outside the frame are refused");
    }
    return tap_done();
}
