/* nb_rules.c - keel-netback's backend rules as pure functions (see nb_rules.h): the BE keys the
 * toolstack wrote are parsed and checked here (they are store values: hostile in principle),
 * tx frames are checked against the vif's MAC and `ip` list, the `rate` credit is kept, and the
 * virtio-net header of a tx frame is built from the guest's checksum flags and GSO extra. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nb_rules.h"

static int nb_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int nb_parse_mac(const char *s, uint8_t mac[6])
{
    if (strlen(s) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        int h = nb_hex(s[3 * i]), l = nb_hex(s[3 * i + 1]);
        if (h < 0 || l < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -EINVAL;
        mac[i] = (uint8_t)(h << 4 | l);
    }
    if (mac[0] & 1)
        return -EINVAL;                  /* a multicast source address is never a vif's */
    return 0;
}

/* One dotted quad of exactly four decimal parts 0..255; *end after it. */
static int nb_parse_ip(const char *s, const char **end, uint32_t *ip)
{
    uint8_t b[4];

    for (int i = 0; i < 4; i++) {
        unsigned v = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (!digits || digits > 3 || v > 255 || (i < 3 && *s++ != '.'))
            return -EINVAL;
        b[i] = (uint8_t)v;
    }
    memcpy(ip, b, 4);
    *end = s;
    return 0;
}

int nb_parse_ips(const char *s, uint32_t *ips, unsigned *n)
{
    *n = 0;
    for (;;) {
        while (*s == ' ')
            s++;
        if (!*s)
            return *n ? 0 : -EINVAL;
        if (*n == NB_MAX_IPS || nb_parse_ip(s, &s, &ips[*n]) < 0)
            return -EINVAL;
        if (*s == '/') {                 /* a prefix length: 0..32 */
            unsigned v = 0, digits = 0;
            for (s++; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
                v = v * 10 + (unsigned)(*s - '0');
            if (!digits || v > 32)
                return -EINVAL;
        }
        if (*s && *s != ' ')
            return -EINVAL;
        (*n)++;
    }
}

static int nb_parse_dec(const char *s, const char **end, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        if (x > (max - (uint64_t)(*p - '0')) / 10)
            return -EINVAL;
        x = x * 10 + (uint64_t)(*p++ - '0');
    }
    if (p == s)
        return -EINVAL;
    *end = p;
    *v = x;
    return 0;
}

int nb_parse_rate(const char *s, uint64_t *bytes, uint64_t *usecs)
{
    const char *p;

    if (nb_parse_dec(s, &p, UINT64_MAX / 2, bytes) < 0 || *p++ != ',' ||
        nb_parse_dec(p, &p, UINT32_MAX, usecs) < 0 || *p || !*bytes || !*usecs)
        return -EINVAL;
    return 0;
}

int nb_valid_ifname(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return 0;
    return 1;
}

static int nb_ip_listed(const uint8_t *a, const uint32_t *ips, unsigned nips)
{
    for (unsigned i = 0; i < nips; i++)
        if (!memcmp(a, &ips[i], 4))
            return 1;
    return 0;
}

/* DHCP from 0.0.0.0 to 255.255.255.255, UDP 68 -> 67 (a client without its address yet). */
static int nb_dhcp(const uint8_t *ip, size_t len)
{
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    static const uint8_t any[4] = { 0, 0, 0, 0 }, bcast[4] = { 255, 255, 255, 255 };

    if (ihl < 20 || len < ihl + 8 || ip[9] != 17 || memcmp(ip + 12, any, 4) ||
        memcmp(ip + 16, bcast, 4))
        return 0;
    return ip[ihl] == 0 && ip[ihl + 1] == 68 && ip[ihl + 2] == 0 && ip[ihl + 3] == 67;
}

int nb_spoof_check(const uint8_t *f, size_t len, const uint8_t mac[6], const uint32_t *ips,
                   unsigned nips)
{
    uint16_t type;

    if (len < 14 || memcmp(f + 6, mac, 6))
        return NB_SPOOF_MAC;
    if (!nips)
        return NB_SPOOF_OK;
    type = (uint16_t)(f[12] << 8 | f[13]);
    switch (type) {
    case 0x0800:                         /* IPv4: its source must be listed */
        if (len < 14 + 20 || (f[14] >> 4) != 4)
            return NB_SPOOF_IP;
        if (nb_ip_listed(f + 26, ips, nips) || nb_dhcp(f + 14, len - 14))
            return NB_SPOOF_OK;
        return NB_SPOOF_IP;
    case 0x0806: {                       /* ARP: the sender protocol address */
        static const uint8_t zero[4] = { 0, 0, 0, 0 };
        if (len < 14 + 28 || f[16] != 0x08 || f[17] != 0x00 || f[19] != 4)
            return NB_SPOOF_IP;
        if (nb_ip_listed(f + 28, ips, nips) || !memcmp(f + 28, zero, 4))  /* a probe */
            return NB_SPOOF_OK;
        return NB_SPOOF_IP;
    }
    case 0x8100: case 0x88a8: case 0x9100:
        return NB_SPOOF_IP;              /* tagged frames would carry IPv4 past the check */
    default:
        return NB_SPOOF_OK;              /* IPv6 and other protocols: not restricted by `ip` */
    }
}

void nb_rate_init(struct nb_rate *r, uint64_t bytes, uint64_t usecs, uint64_t now_us)
{
    r->bytes = bytes;
    r->usecs = usecs ? usecs : 1;
    r->remaining = bytes;
    r->next_us = now_us + r->usecs;
}

int nb_rate_take(struct nb_rate *r, uint64_t now_us, uint32_t size)
{
    if (!r->bytes)
        return 1;
    if (size > r->remaining && now_us >= r->next_us) {
        uint64_t burst = r->bytes > 131072 ? r->bytes : 131072;
        uint64_t c = r->remaining + r->bytes;
        r->remaining = c < burst ? c : burst;
        r->next_us = now_us + r->usecs;
    }
    if (size > r->remaining)
        return 0;
    r->remaining -= size;
    return 1;
}

/* The L4 header of an IPv4/IPv6 frame (one VLAN tag allowed): offset, protocol. */
static int nb_l4(const uint8_t *f, size_t len, size_t *off, uint8_t *proto, int *v6)
{
    size_t l3 = 14;
    uint16_t type;

    if (len < 14)
        return -EINVAL;
    type = (uint16_t)(f[12] << 8 | f[13]);
    if (type == 0x8100 && len >= 18) {
        type = (uint16_t)(f[16] << 8 | f[17]);
        l3 = 18;
    }
    if (type == 0x0800) {
        size_t ihl;
        if (len < l3 + 20 || (f[l3] >> 4) != 4 || (ihl = (size_t)(f[l3] & 15) * 4) < 20)
            return -EINVAL;
        *off = l3 + ihl;
        *proto = f[l3 + 9];
        *v6 = 0;
    } else if (type == 0x86dd) {
        if (len < l3 + 40 || (f[l3] >> 4) != 6)
            return -EINVAL;
        *off = l3 + 40;
        *proto = f[l3 + 6];
        *v6 = 1;
    } else {
        return -EINVAL;
    }
    return *off <= len ? 0 : -EINVAL;
}

int nb_vnet_tx(const uint8_t *f, size_t len, int csum_blank, int data_valid, int gso_type,
               uint16_t gso_size, struct nb_vnet_hdr *h)
{
    size_t off = 0;
    uint8_t proto = 0;
    int v6 = 0;

    memset(h, 0, sizeof(*h));
    if (!csum_blank && !gso_type) {
        h->flags = data_valid ? NB_VNET_DATA_VALID : 0;
        return 0;
    }
    if (nb_l4(f, len, &off, &proto, &v6) < 0)
        return -EINVAL;
    if (proto == 6) {
        if (len < off + 20)
            return -EINVAL;
        h->csum_offset = 16;
    } else if (proto == 17 && !gso_type) {
        if (len < off + 8)
            return -EINVAL;
        h->csum_offset = 6;
    } else {
        return -EINVAL;
    }
    /* GSO implies a partial checksum (the segments' checksums are computed by the stack) */
    h->flags = NB_VNET_NEEDS_CSUM;
    h->csum_start = (uint16_t)off;
    if (gso_type) {
        if ((gso_type == 1 && v6) || (gso_type == 2 && !v6) || !gso_size)
            return -EINVAL;
        h->gso_type = gso_type == 1 ? NB_VNET_GSO_TCPV4 : NB_VNET_GSO_TCPV6;
        h->gso_size = gso_size;
        h->hdr_len = (uint16_t)(off + (size_t)(f[off + 12] >> 4) * 4);
        if (h->hdr_len > len)
            return -EINVAL;
    }
    return 0;
}

int nb_csum_finish(uint8_t *f, size_t len, uint16_t start, uint16_t offset)
{
    uint32_t sum = 0;
    size_t i;
    uint16_t c;

    if (start >= len || (size_t)start + offset + 2 > len)
        return -EINVAL;
    for (i = start; i + 1 < len; i += 2)
        sum += (uint32_t)(f[i] << 8 | f[i + 1]);
    if (i < len)
        sum += (uint32_t)(f[i] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    c = (uint16_t)~sum;
    if (c == 0 && offset == 6)
        c = 0xffff;                      /* UDP: 0 would mean "no checksum" */
    f[start + offset] = (uint8_t)(c >> 8);
    f[start + offset + 1] = (uint8_t)c;
    return 0;
}
