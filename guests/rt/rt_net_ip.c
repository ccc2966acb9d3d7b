/* rt_net_ip.c - IPv4 and ICMP of the guest stack (rt_net.h): Internet checksums, header
 * checks on input (version, header length, total length within the frame, header checksum,
 * fragments dropped: the stack never sends or reassembles them), delivery to ICMP/UDP/TCP for
 * our address (UDP also for broadcasts), echo replies, and the IPv4 header on output
 * (DF set, TTL 64, our id counter). */
#include "rt_net.h"

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

uint32_t rt_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = sum;

    for (; len >= 8; p += 8, len -= 8)
        s += (uint64_t)rt_get32(p) + rt_get32(p + 4);
    for (; len >= 2; p += 2, len -= 2)
        s += rt_get16(p);
    if (len)
        s += (uint32_t)p[0] << 8;
    while (s >> 32)
        s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

uint16_t rt_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t rt_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint64_t s = (uint64_t)(src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;

    return (uint32_t)s;
}

static void ip_header(struct rt_net *n, uint8_t *h, uint32_t dst, uint8_t proto, size_t plen)
{
    h[0] = 0x45;
    h[1] = 0;
    rt_put16(h + 2, (uint16_t)(RT_IP_HLEN + plen));
    rt_put16(h + 4, n->ip_id++);
    rt_put16(h + 6, 0x4000);                   /* DF */
    h[8] = 64;
    h[9] = proto;
    rt_put16(h + 10, 0);
    rt_put32(h + 12, n->ip);
    rt_put32(h + 16, dst);
    rt_put16(h + 10, rt_csum_fold(rt_csum_add(0, h, RT_IP_HLEN)));
}

int rt_ip_send(struct rt_net *n, uint8_t *buf, const uint8_t dmac[6], uint32_t dst, uint8_t proto,
               size_t plen)
{
    if (plen > RT_NET_MTU - RT_IP_HLEN) {
        n->ops.tx_put(n->ops.ctx, buf, 0);     /* give the buffer back unsent */
        return -RT_NET_EMSGSIZE;
    }
    ip_header(n, buf + RT_ETH_HLEN, dst, proto, plen);
    return rt_eth_send(n, buf, dmac, RT_ETHERTYPE_IP, RT_IP_HLEN + plen);
}

int rt_ip_send_gso(struct rt_net *n, uint8_t *buf, const uint8_t dmac[6], uint32_t dst,
                   size_t plen, uint16_t mss)
{
    if (plen > RT_NET_GSO_IP_MAX - RT_IP_HLEN)
        return rt_eth_send_gso(n, buf, dmac, RT_NET_GSO_IP_MAX + 1, mss);   /* refused, given back */
    ip_header(n, buf + RT_ETH_HLEN, dst, RT_IPPROTO_TCP, plen);
    return rt_eth_send_gso(n, buf, dmac, RT_IP_HLEN + plen, mss);
}

static void icmp_input(struct rt_net *n, const uint8_t *src_mac, uint32_t src, const uint8_t *p,
                       size_t len)
{
    uint8_t *b, *r;

    if (len < 8 || rt_csum_fold(rt_csum_add(0, p, len)) != 0) {
        n->st.rx_csum += len >= 8;
        n->st.rx_bad += len < 8;
        return;
    }
    if (p[0] != ICMP_ECHO_REQUEST || p[1] != 0 || len > RT_NET_MTU - RT_IP_HLEN)
        return;                                /* only echo is answered, in one frame */
    if (!(b = n->ops.tx_get(n->ops.ctx))) {
        n->st.tx_nobuf++;
        return;
    }
    r = b + RT_ETH_HLEN + RT_IP_HLEN;
    rt_net_copy(r, p, len);
    r[0] = ICMP_ECHO_REPLY;
    rt_put16(r + 2, 0);
    rt_put16(r + 2, rt_csum_fold(rt_csum_add(0, r, len)));
    if (rt_ip_send(n, b, src_mac, src, RT_IPPROTO_ICMP, len) == 0)
        n->st.icmp_echo++;
}

void rt_ip_input(struct rt_net *n, const uint8_t *src_mac, const uint8_t *p, size_t len, unsigned flags)
{
    size_t hl, tl;
    uint32_t src, dst;
    int bcast;

    if (len < RT_IP_HLEN || (p[0] >> 4) != 4 || (hl = (size_t)(p[0] & 15) * 4) < RT_IP_HLEN ||
        hl > len || (tl = rt_get16(p + 2)) < hl || tl > len) {
        n->st.rx_bad++;
        return;
    }
    if (rt_csum_fold(rt_csum_add(0, p, hl)) != 0) {
        n->st.rx_csum++;
        return;
    }
    if (rt_get16(p + 6) & 0x3fff) {            /* MF or a fragment offset */
        n->st.rx_frag++;
        return;
    }
    src = rt_get32(p + 12);
    dst = rt_get32(p + 16);
    bcast = dst == 0xffffffffu || (n->ip && dst == (n->ip | ~n->mask));
    if (!n->ip || (dst != n->ip && !bcast) || (src_mac[0] & 1)) {
        n->st.rx_other++;
        return;
    }
    n->rx_mac = src_mac;
    switch (p[9]) {
    case RT_IPPROTO_ICMP:
        if (!bcast)
            icmp_input(n, src_mac, src, p + hl, tl - hl);
        break;
    case RT_IPPROTO_UDP:
        rt_udp_input(n, src_mac, src, dst, p + hl, tl - hl, flags);
        break;
    case RT_IPPROTO_TCP:
        if (!bcast)
            rt_tcp_input(n, src_mac, src, dst, p + hl, tl - hl, flags);
        break;
    default:
        n->st.rx_other++;
    }
}
