/* rt_net_udp.c - UDP of the guest stack (rt_net.h): up to RT_UDP_BINDS bound ports with a
 * callback each, input checks (header and length field within the IP payload, the checksum
 * when the sender filled one in, unless the backend marked it blank), and datagrams out with
 * their checksum (never 0 on the wire: 0xffff instead, as RFC 768 says). */
#include "rt_net.h"

int rt_udp_bind(struct rt_net *n, uint16_t port, rt_udp_fn fn, void *arg)
{
    struct rt_udp_bind *free_b = NULL;

    if (!port || !fn)
        return -RT_NET_EINVAL;
    for (int i = 0; i < RT_UDP_BINDS; i++) {
        if (n->udp[i].port == port)
            free_b = &n->udp[i];               /* rebinding replaces the callback */
        else if (!n->udp[i].port && !free_b)
            free_b = &n->udp[i];
    }
    if (!free_b)
        return -28;
    *free_b = (struct rt_udp_bind){ port, fn, arg };
    return 0;
}

void rt_udp_input(struct rt_net *n, const uint8_t *src_mac, uint32_t src, uint32_t dst,
                  const uint8_t *p, size_t len, unsigned flags)
{
    uint16_t ulen, dport;

    (void)src_mac;
    if (len < RT_UDP_HLEN || (ulen = rt_get16(p + 4)) < RT_UDP_HLEN || ulen > len) {
        n->st.rx_bad++;
        return;
    }
    if (rt_get16(p + 6) && !(flags & RT_NET_RX_CSUM_BLANK) &&
        rt_csum_fold(rt_csum_add(rt_csum_pseudo(src, dst, RT_IPPROTO_UDP, ulen), p, ulen)) != 0) {
        n->st.rx_csum++;
        return;
    }
    n->st.udp_rx++;
    dport = rt_get16(p + 2);
    for (int i = 0; i < RT_UDP_BINDS; i++)
        if (n->udp[i].port == dport) {
            n->udp[i].fn(n, n->udp[i].arg, src, rt_get16(p), dport, p + RT_UDP_HLEN,
                         (size_t)ulen - RT_UDP_HLEN);
            return;
        }
    n->st.udp_noport++;
}

int rt_udp_send_mac(struct rt_net *n, const uint8_t dmac[6], uint32_t dst, uint16_t sport,
                    uint16_t dport, const void *data, size_t len)
{
    uint8_t *b, *u;
    uint16_t sum;
    int rc;

    if (len > RT_UDP_MAX_PAYLOAD)
        return -RT_NET_EMSGSIZE;
    if (!n->ip)
        return -RT_NET_ENETUNREACH;
    if (!(b = n->ops.tx_get(n->ops.ctx))) {
        n->st.tx_nobuf++;
        return -RT_NET_EAGAIN;
    }
    u = b + RT_ETH_HLEN + RT_IP_HLEN;
    rt_put16(u, sport);
    rt_put16(u + 2, dport);
    rt_put16(u + 4, (uint16_t)(RT_UDP_HLEN + len));
    rt_put16(u + 6, 0);
    rt_net_copy(u + RT_UDP_HLEN, data, len);
    sum = rt_csum_fold(rt_csum_add(rt_csum_pseudo(n->ip, dst, RT_IPPROTO_UDP,
                                                  (uint16_t)(RT_UDP_HLEN + len)),
                                   u, RT_UDP_HLEN + len));
    rt_put16(u + 6, sum ? sum : 0xffff);
    rc = rt_ip_send(n, b, dmac, dst, RT_IPPROTO_UDP, RT_UDP_HLEN + len);
    if (rc == 0)
        n->st.udp_tx++;
    return rc;
}

int rt_udp_send(struct rt_net *n, uint32_t dst, uint16_t sport, uint16_t dport, const void *data,
                size_t len)
{
    uint8_t mac[6];
    int rc;

    if (len > RT_UDP_MAX_PAYLOAD)
        return -RT_NET_EMSGSIZE;
    if ((rc = rt_net_resolve(n, dst, mac)) < 0)
        return rc;
    return rt_udp_send_mac(n, mac, dst, sport, dport, data, len);
}
