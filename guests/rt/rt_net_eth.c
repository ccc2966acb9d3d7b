/* rt_net_eth.c - Ethernet and ARP of the guest IPv4 stack (rt_net.h): frame dispatch by
 * ethertype, the ARP cache (16 entries, the oldest replaced), answering requests for our
 * address, gratuitous ARP, next-hop resolution with rate-limited requests, and the stack's
 * setup. Frames shorter than their headers, ARP packets of other hardware/protocol types or
 * lengths, and senders with multicast or zero addresses are dropped and counted. */
#include "rt_net.h"

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero6[6];

#define ARP_REQUEST 1
#define ARP_REPLY 2
#define ARP_LEN 28

void rt_net_init(struct rt_net *n, const uint8_t mac[6], uint32_t ip, uint32_t mask, uint32_t gw,
                 const struct rt_net_ops *ops)
{
    memset(n, 0, sizeof(*n));
    memcpy(n->mac, mac, 6);
    n->ip = ip;
    n->mask = mask;
    n->gw = gw;
    n->ops = *ops;
}

int rt_eth_send(struct rt_net *n, uint8_t *buf, const uint8_t dst[6], uint16_t type, size_t plen)
{
    int rc;

    if (plen > RT_NET_MTU) {
        n->ops.tx_put(n->ops.ctx, buf, 0);     /* give the buffer back unsent */
        return -RT_NET_EMSGSIZE;
    }
    memcpy(buf, dst, 6);
    memcpy(buf + 6, n->mac, 6);
    rt_put16(buf + 12, type);
    rc = n->ops.tx_put(n->ops.ctx, buf, RT_ETH_HLEN + plen);
    if (rc == 0)
        n->st.tx_frames++;
    return rc;
}

int rt_eth_send_gso(struct rt_net *n, uint8_t *buf, const uint8_t dst[6], size_t plen, uint16_t mss)
{
    int rc;

    if (!n->ops.gso_put || plen > RT_NET_GSO_IP_MAX || !mss) {
        if (n->ops.gso_put)
            n->ops.gso_put(n->ops.ctx, buf, 0, 0);
        return -RT_NET_EMSGSIZE;
    }
    memcpy(buf, dst, 6);
    memcpy(buf + 6, n->mac, 6);
    rt_put16(buf + 12, RT_ETHERTYPE_IP);
    rc = n->ops.gso_put(n->ops.ctx, buf, RT_ETH_HLEN + plen, mss);
    if (rc == 0)
        n->st.tx_frames++;
    return rc;
}

static uint8_t *tx_buf(struct rt_net *n)
{
    uint8_t *b = n->ops.tx_get(n->ops.ctx);

    if (!b)
        n->st.tx_nobuf++;
    return b;
}

/* ---- ARP cache ---- */

const struct rt_arp_entry *rt_arp_find(const struct rt_net *n, uint32_t ip)
{
    for (int i = 0; i < RT_ARP_SLOTS; i++)
        if (n->arp[i].state == 2 && n->arp[i].ip == ip)
            return &n->arp[i];
    return NULL;
}

static struct rt_arp_entry *arp_slot(struct rt_net *n, uint32_t ip, int create)
{
    struct rt_arp_entry *old = &n->arp[0];

    for (int i = 0; i < RT_ARP_SLOTS; i++) {
        if (n->arp[i].state && n->arp[i].ip == ip)
            return &n->arp[i];
        if (!n->arp[i].state || (old->state && n->arp[i].stamp < old->stamp))
            old = &n->arp[i];
    }
    if (!create)
        return NULL;
    memset(old, 0, sizeof(*old));
    old->ip = ip;
    return old;
}

static void arp_learn(struct rt_net *n, uint32_t ip, const uint8_t *mac, int create)
{
    struct rt_arp_entry *e = arp_slot(n, ip, create);

    if (!e)
        return;
    memcpy(e->mac, mac, 6);
    e->state = 2;
    e->stamp = n->now;
}

static int arp_send(struct rt_net *n, int op, const uint8_t *dmac, const uint8_t *tha, uint32_t tpa)
{
    uint8_t *b = tx_buf(n), *p;

    if (!b)
        return -RT_NET_EAGAIN;
    p = b + RT_ETH_HLEN;
    rt_put16(p, 1);                            /* Ethernet */
    rt_put16(p + 2, RT_ETHERTYPE_IP);
    p[4] = 6;
    p[5] = 4;
    rt_put16(p + 6, (uint16_t)op);
    memcpy(p + 8, n->mac, 6);
    rt_put32(p + 14, n->ip);
    memcpy(p + 18, tha, 6);
    rt_put32(p + 24, tpa);
    memset(p + ARP_LEN, 0, 46 - ARP_LEN);      /* padded to the Ethernet minimum */
    return rt_eth_send(n, b, dmac, RT_ETHERTYPE_ARP, 46);
}

int rt_net_garp(struct rt_net *n)
{
    int rc;

    if (!n->ip)
        return -RT_NET_EINVAL;
    rc = arp_send(n, ARP_REQUEST, bcast, zero6, n->ip);
    if (rc == 0)
        n->st.arp_garp++;
    return rc;
}

static int bad_sender(const uint8_t *mac, uint32_t ip)
{
    return (mac[0] & 1) || !memcmp(mac, zero6, 6) || ip == 0 || ip == 0xffffffffu ||
           (ip >> 28) == 0xe;
}

void rt_arp_input(struct rt_net *n, const uint8_t *src_mac, const uint8_t *p, size_t len)
{
    uint32_t spa, tpa;
    uint16_t op;

    (void)src_mac;
    if (len < ARP_LEN || rt_get16(p) != 1 || rt_get16(p + 2) != RT_ETHERTYPE_IP || p[4] != 6 ||
        p[5] != 4) {
        n->st.rx_bad++;
        return;
    }
    n->st.arp_rx++;
    op = rt_get16(p + 6);
    spa = rt_get32(p + 14);
    tpa = rt_get32(p + 24);
    if (bad_sender(p + 8, spa) || !n->ip || spa == n->ip)
        return;                                /* nothing to learn, or a conflict: ignore */
    /* RFC 826: update an existing entry; add one when the packet is for us */
    arp_learn(n, spa, p + 8, tpa == n->ip);
    if (op == ARP_REQUEST && tpa == n->ip && arp_send(n, ARP_REPLY, p + 8, p + 8, spa) == 0)
        n->st.arp_replies++;
}

int rt_net_resolve(struct rt_net *n, uint32_t ip, uint8_t mac[6])
{
    struct rt_arp_entry *e;
    uint32_t hop = ip;

    if (!n->ip)
        return -RT_NET_ENETUNREACH;
    if (ip == 0xffffffffu || ip == (n->ip | ~n->mask)) {
        memcpy(mac, bcast, 6);
        return 0;
    }
    if ((ip & n->mask) != (n->ip & n->mask)) {
        if (!n->gw)
            return -RT_NET_ENETUNREACH;
        hop = n->gw;
    }
    e = arp_slot(n, hop, 1);
    if (e->state == 2) {
        memcpy(mac, e->mac, 6);
        return 0;
    }
    if (e->state == 0 || n->now - e->stamp >= RT_ARP_RETRY_NS) {
        e->state = 1;
        e->stamp = n->now;
        if (arp_send(n, ARP_REQUEST, bcast, zero6, hop) == 0)
            n->st.arp_requests++;
    }
    n->st.tx_noarp++;
    return -RT_NET_EAGAIN;
}

void rt_net_input(struct rt_net *n, const uint8_t *frame, size_t len, unsigned flags)
{
    const uint8_t *dst = frame;

    n->st.rx_frames++;
    n->st.rx_bytes += len;
    if (len < RT_ETH_HLEN) {
        n->st.rx_bad++;
        return;
    }
    if (memcmp(dst, n->mac, 6) && memcmp(dst, bcast, 6)) {
        n->st.rx_other++;                      /* not for us (multicast, another host) */
        return;
    }
    switch (rt_get16(frame + 12)) {
    case RT_ETHERTYPE_ARP:
        rt_arp_input(n, frame + 6, frame + RT_ETH_HLEN, len - RT_ETH_HLEN);
        break;
    case RT_ETHERTYPE_IP:
        rt_ip_input(n, frame + 6, frame + RT_ETH_HLEN, len - RT_ETH_HLEN, flags);
        break;
    default:
        n->st.rx_other++;                      /* IPv6, VLAN, ...: not handled */
    }
}

void rt_net_timer(struct rt_net *n)
{
    if (n->tcp)
        rt_tcp_timer(n->tcp);
}

static int parse_num(const char **s, uint32_t max, uint32_t *v)
{
    uint32_t x = 0;
    int digits = 0;

    while (**s >= '0' && **s <= '9' && digits < 3) {
        x = x * 10 + (uint32_t)(**s - '0');
        (*s)++;
        digits++;
    }
    if (!digits || x > max || (**s >= '0' && **s <= '9'))
        return -RT_NET_EINVAL;
    *v = x;
    return 0;
}

int rt_net_parse_ip(const char *s, uint32_t *ip, uint32_t *prefix)
{
    uint32_t a = 0, v, len = 32;

    if (!s)
        return -RT_NET_EINVAL;
    for (int i = 0; i < 4; i++) {
        if (parse_num(&s, 255, &v) < 0 || (i < 3 && *s++ != '.'))
            return -RT_NET_EINVAL;
        a = a << 8 | v;
    }
    if (*s == '/') {
        s++;
        if (parse_num(&s, 32, &len) < 0)
            return -RT_NET_EINVAL;
    }
    if (*s && *s != ' ' && *s != ',')
        return -RT_NET_EINVAL;
    *ip = a;
    if (prefix)
        *prefix = len;
    return 0;
}
