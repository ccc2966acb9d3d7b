/* test-rtnet.c - the guest runtime's IPv4 stack (guests/rt/rt_net_*.c) built for the host and
 * fed crafted frames: checksums against known values, address parsing, ARP (answers, learning,
 * gratuitous ARP, resolution), ICMP echo, UDP in and out, the TCP state machine (passive and
 * active open, in-order data, cumulative and delayed ACKs, window, go-back-N retransmission,
 * fast retransmit, zero-window probe, FIN from both sides, TIME-WAIT, RST rules, retries
 * exhausted), and malformed or truncated frames of every layer, then a seeded flood of mutated
 * frames. The shim gives the stack one transmit buffer at a time and keeps what it sends;
 * every frame sent is checked (IPv4 header checksum, L4 checksum, lengths). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rt_net.h"
#include "tap.h"

#define MAXQ 64
#define FRAME 2048

static uint8_t q[MAXQ][FRAME];
static size_t qlen[MAXQ];
static unsigned nq, gets, puts_, released, tx_refuse;
static uint8_t txbuf[FRAME];

static uint8_t *shim_get(void *ctx)
{
    (void)ctx;
    if (tx_refuse)
        return NULL;
    gets++;
    return txbuf;
}

static int shim_put(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    puts_++;
    if (!len) {
        released++;
        return 0;
    }
    if (len > RT_NET_FRAME_MAX || nq >= MAXQ)
        return -90;
    memcpy(q[nq], buf, len);
    qlen[nq++] = len;
    return 0;
}

static const uint8_t our_mac[6] = { 0x00, 0x16, 0x3e, 0x01, 0x02, 0x03 };
static const uint8_t peer_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
static const uint8_t bc_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
#define OUR_IP 0xC000020Au   /* 192.0.2.10 */
#define PEER_IP 0xC0000201u  /* 192.0.2.1 */
#define FAR_IP 0xC6336401u   /* 198.51.100.1 */

static struct rt_net net;
static uint64_t now_ns = 1000000000ULL;

static void setup(void)
{
    struct rt_net_ops ops = { shim_get, shim_put, NULL, NULL, NULL };

    rt_net_init(&net, our_mac, OUR_IP, 0xffffff00u, PEER_IP, &ops);
    net.now = now_ns;
    nq = 0;
}

static void clear_q(void)
{
    nq = 0;
}

static void feed(const uint8_t *f, size_t len)
{
    net.now = now_ns;
    rt_net_input(&net, f, len, 0);
}

static void tick(uint64_t ns)
{
    now_ns += ns;
    net.now = now_ns;
    rt_net_timer(&net);
}

/* ---- crafting ---- */

static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    rt_put16(f + 12, type);
    return RT_ETH_HLEN;
}

static size_t ip_frame(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *pl,
                       size_t plen)
{
    uint8_t *h = f + eth(f, our_mac, peer_mac, RT_ETHERTYPE_IP);

    memset(h, 0, RT_IP_HLEN);
    h[0] = 0x45;
    rt_put16(h + 2, (uint16_t)(RT_IP_HLEN + plen));
    rt_put16(h + 4, 77);
    h[8] = 64;
    h[9] = proto;
    rt_put32(h + 12, src);
    rt_put32(h + 16, dst);
    rt_put16(h + 10, rt_csum_fold(rt_csum_add(0, h, RT_IP_HLEN)));
    memcpy(h + RT_IP_HLEN, pl, plen);
    return RT_ETH_HLEN + RT_IP_HLEN + plen;
}

static size_t udp_frame(uint8_t *f, uint16_t sport, uint16_t dport, const void *data, size_t len,
                        int csum)
{
    uint8_t u[FRAME];

    rt_put16(u, sport);
    rt_put16(u + 2, dport);
    rt_put16(u + 4, (uint16_t)(8 + len));
    rt_put16(u + 6, 0);
    memcpy(u + 8, data, len);
    if (csum) {
        uint16_t s = rt_csum_fold(rt_csum_add(rt_csum_pseudo(PEER_IP, OUR_IP, 17, (uint16_t)(8 + len)),
                                              u, 8 + len));
        rt_put16(u + 6, s ? s : 0xffff);
    }
    return ip_frame(f, PEER_IP, OUR_IP, RT_IPPROTO_UDP, u, 8 + len);
}

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

static size_t tcp_frame(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                        uint8_t flags, uint16_t wnd, uint16_t mss, const void *data, size_t len)
{
    uint8_t t[FRAME];
    size_t hl = mss ? 24 : 20;

    memset(t, 0, hl);
    rt_put16(t, sport);
    rt_put16(t + 2, dport);
    rt_put32(t + 4, seq);
    rt_put32(t + 8, ack);
    t[12] = (uint8_t)(hl / 4 << 4);
    t[13] = flags;
    rt_put16(t + 14, wnd);
    if (mss) {
        t[20] = 2;
        t[21] = 4;
        rt_put16(t + 22, mss);
    }
    if (len)
        memcpy(t + hl, data, len);
    rt_put16(t + 16, rt_csum_fold(rt_csum_add(rt_csum_pseudo(PEER_IP, OUR_IP, 6, (uint16_t)(hl + len)),
                                              t, hl + len)));
    return ip_frame(f, PEER_IP, OUR_IP, RT_IPPROTO_TCP, t, hl + len);
}

/* ---- checking what the stack sent ---- */

struct out {                             /* a sent IPv4 frame, parsed */
    int ok;                              /* IP and L4 checksums and lengths right */
    uint32_t src, dst;
    uint8_t proto;
    const uint8_t *l4;
    size_t l4len;
};

static struct out parse_out(unsigned i)
{
    struct out o = { 0 };
    const uint8_t *f = q[i], *h = f + RT_ETH_HLEN;
    size_t len = qlen[i], tl;

    if (len < 34 || rt_get16(f + 12) != RT_ETHERTYPE_IP || memcmp(f + 6, our_mac, 6))
        return o;
    tl = rt_get16(h + 2);
    if (h[0] != 0x45 || tl > len - RT_ETH_HLEN || tl < 20 ||
        rt_csum_fold(rt_csum_add(0, h, 20)) != 0)
        return o;
    o.src = rt_get32(h + 12);
    o.dst = rt_get32(h + 16);
    o.proto = h[9];
    o.l4 = h + 20;
    o.l4len = tl - 20;
    if (o.proto == 1)
        o.ok = rt_csum_fold(rt_csum_add(0, o.l4, o.l4len)) == 0;
    else
        o.ok = rt_csum_fold(rt_csum_add(rt_csum_pseudo(o.src, o.dst, o.proto, (uint16_t)o.l4len),
                                        o.l4, o.l4len)) == 0;
    return o;
}

struct tseg {
    int ok;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd, mss;
    size_t dlen;
    const uint8_t *data;
};

static struct tseg tcp_out(unsigned i)
{
    struct out o = parse_out(i);
    struct tseg s = { 0 };
    size_t doff;

    if (!o.ok || o.proto != 6 || o.l4len < 20 || (doff = (size_t)(o.l4[12] >> 4) * 4) > o.l4len)
        return s;
    s.ok = 1;
    s.seq = rt_get32(o.l4 + 4);
    s.ack = rt_get32(o.l4 + 8);
    s.flags = o.l4[13];
    s.wnd = rt_get16(o.l4 + 14);
    if (doff == 24 && o.l4[20] == 2 && o.l4[21] == 4)
        s.mss = rt_get16(o.l4 + 22);
    s.dlen = o.l4len - doff;
    s.data = o.l4 + doff;
    return s;
}

/* ---- tests ---- */

static void test_checksums(void)
{
    static const uint8_t v[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    static const uint8_t odd[] = { 0x01, 0x02, 0x03 };
    uint8_t big[1001];

    tap_ok(rt_csum_fold(rt_csum_add(0, v, sizeof(v))) == (uint16_t)~0xddf2,
           "checksum of RFC 1071's example words is ~0xddf2");
    tap_ok(rt_csum_fold(rt_csum_add(0, odd, 3)) == (uint16_t)~(0x0102 + 0x0300),
           "an odd length pads the last byte on the right");
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 3);
    uint32_t split = rt_csum_add(rt_csum_add(0, big, 500), big + 500, 501 - 1);
    split += (uint32_t)big[1000] << 8;
    tap_ok(rt_csum_fold(split) == rt_csum_fold(rt_csum_add(0, big, 1000) + ((uint32_t)big[1000] << 8)),
           "checksums over split even-length pieces add up to the whole");
    tap_ok(rt_csum_pseudo(0xC000020A, 0xC0000201, 17, 12) == 0xC000 + 0x020A + 0xC000 + 0x0201 + 17 + 12,
           "the pseudo header sums addresses, protocol and length");
}

static void test_parse_ip(void)
{
    uint32_t ip = 0, len = 0;

    tap_ok(rt_net_parse_ip("192.0.2.10/24", &ip, &len) == 0 && ip == OUR_IP && len == 24,
           "ip=192.0.2.10/24 parses to address and prefix");
    tap_ok(rt_net_parse_ip("192.0.2.10 port=7", &ip, &len) == 0 && len == 32,
           "an address ends at a space (command line), prefix 32 by default");
    tap_ok(rt_net_parse_ip("256.0.0.1", &ip, NULL) < 0 && rt_net_parse_ip("1.2.3", &ip, NULL) < 0 &&
           rt_net_parse_ip("1.2.3.4/33", &ip, &len) < 0 && rt_net_parse_ip("1.2.3.4x", &ip, NULL) < 0 &&
           rt_net_parse_ip("", &ip, NULL) < 0 && rt_net_parse_ip("1..2.3", &ip, NULL) < 0 &&
           rt_net_parse_ip("0001.2.3.4", &ip, NULL) < 0 && rt_net_parse_ip(NULL, &ip, NULL) < 0,
           "bad addresses are refused (octet > 255, three octets, prefix 33, trailing junk, empty)");
}

static size_t arp_frame(uint8_t *f, const uint8_t *dst, int op, const uint8_t *sha, uint32_t spa,
                        uint32_t tpa)
{
    uint8_t *p = f + eth(f, dst, sha, RT_ETHERTYPE_ARP);

    rt_put16(p, 1);
    rt_put16(p + 2, 0x0800);
    p[4] = 6;
    p[5] = 4;
    rt_put16(p + 6, (uint16_t)op);
    memcpy(p + 8, sha, 6);
    rt_put32(p + 14, spa);
    memset(p + 18, 0, 6);
    rt_put32(p + 24, tpa);
    return 14 + 28;
}

static void test_arp(void)
{
    uint8_t f[FRAME], mac[6];
    size_t n;

    setup();
    n = arp_frame(f, bc_mac, 1, peer_mac, PEER_IP, OUR_IP);
    feed(f, n);
    tap_ok(nq == 1 && qlen[0] == 60 && !memcmp(q[0], peer_mac, 6) && rt_get16(q[0] + 12) == 0x0806 &&
           rt_get16(q[0] + 20) == 2 && !memcmp(q[0] + 22, our_mac, 6) && rt_get32(q[0] + 28) == OUR_IP &&
           !memcmp(q[0] + 32, peer_mac, 6) && rt_get32(q[0] + 38) == PEER_IP,
           "an ARP request for our address gets a reply (our MAC and address, to the asker)");
    tap_ok(rt_arp_find(&net, PEER_IP) != NULL, "the asker is learned into the ARP cache");
    clear_q();
    n = arp_frame(f, bc_mac, 1, peer_mac, 0xC0000205u, 0xC0000206u);
    feed(f, n);
    tap_ok(nq == 0 && !rt_arp_find(&net, 0xC0000205u),
           "a request for another address is not answered nor learned");
    n = arp_frame(f, bc_mac, 1, bc_mac, 0xC0000207u, OUR_IP);
    feed(f, n);
    tap_ok(nq == 0 && !rt_arp_find(&net, 0xC0000207u), "a multicast sender MAC is ignored");
    feed(f, 14 + 20);
    tap_ok(nq == 0 && net.st.rx_bad == 1, "a truncated ARP packet is dropped and counted");
    n = arp_frame(f, bc_mac, 1, peer_mac, PEER_IP, OUR_IP);
    f[18] = 8;                                 /* hardware length 8 */
    feed(f, n);
    tap_ok(nq == 0 && net.st.rx_bad == 2, "an ARP packet with a wrong hardware length is dropped");

    setup();
    tap_ok(rt_net_garp(&net) == 0 && nq == 1 && !memcmp(q[0], bc_mac, 6) && rt_get16(q[0] + 20) == 1 &&
           rt_get32(q[0] + 28) == OUR_IP && rt_get32(q[0] + 38) == OUR_IP,
           "gratuitous ARP: broadcast request with sender and target = our address");
    clear_q();
    tap_ok(rt_net_resolve(&net, 0xC0000202u, mac) == -11 && nq == 1 && rt_get32(q[0] + 38) == 0xC0000202u,
           "resolving an unknown neighbour sends an ARP request and says EAGAIN");
    tap_ok(rt_net_resolve(&net, 0xC0000202u, mac) == -11 && nq == 1,
           "a second try within 100 ms sends no second request");
    clear_q();
    n = arp_frame(f, our_mac, 2, peer_mac, 0xC0000202u, OUR_IP);
    feed(f, n);
    tap_ok(nq == 0 && rt_net_resolve(&net, 0xC0000202u, mac) == 0 && !memcmp(mac, peer_mac, 6),
           "the reply resolves it");
    tap_ok(rt_net_resolve(&net, FAR_IP, mac) == -11 && nq == 1 && rt_get32(q[0] + 38) == PEER_IP,
           "an off-link address resolves through the gateway");
    tap_ok(rt_net_resolve(&net, 0xC00002ffu, mac) == 0 && !memcmp(mac, bc_mac, 6),
           "the subnet broadcast needs no ARP");
}

static void test_icmp(void)
{
    uint8_t f[FRAME], icmp[64];
    size_t n;
    struct out o;

    setup();
    memset(icmp, 0, sizeof(icmp));
    icmp[0] = 8;
    rt_put16(icmp + 4, 0x1234);
    rt_put16(icmp + 6, 7);
    for (int i = 8; i < 64; i++)
        icmp[i] = (uint8_t)i;
    rt_put16(icmp + 2, rt_csum_fold(rt_csum_add(0, icmp, 64)));
    n = ip_frame(f, PEER_IP, OUR_IP, 1, icmp, 64);
    feed(f, n);
    o = parse_out(0);
    tap_ok(nq == 1 && o.ok && o.proto == 1 && o.src == OUR_IP && o.dst == PEER_IP && o.l4len == 64 &&
           o.l4[0] == 0 && !memcmp(o.l4 + 4, icmp + 4, 60) && !memcmp(q[0], peer_mac, 6),
           "an echo request gets an echo reply (same id, sequence, data; checksums right)");
    clear_q();
    icmp[10] ^= 1;
    n = ip_frame(f, PEER_IP, OUR_IP, 1, icmp, 64);
    feed(f, n);
    tap_ok(nq == 0 && net.st.rx_csum == 1, "an echo request with a bad ICMP checksum is dropped");
    icmp[10] ^= 1;
    n = ip_frame(f, PEER_IP, OUR_IP, 1, icmp, 64);
    f[14 + 10] ^= 0x55;
    feed(f, n);
    tap_ok(nq == 0 && net.st.rx_csum == 2, "a bad IPv4 header checksum is dropped");
    n = ip_frame(f, PEER_IP, OUR_IP, 1, icmp, 64);
    feed(f, n - 1);
    tap_ok(nq == 0 && net.st.rx_bad == 1, "a total length past the frame is dropped");
    n = ip_frame(f, PEER_IP, OUR_IP, 1, icmp, 64);
    f[14] = 0x44;
    rt_put16(f + 24, 0);
    rt_put16(f + 24, rt_csum_fold(rt_csum_add(0, f + 14, 16)));
    feed(f, n);
    tap_ok(nq == 0 && net.st.rx_bad == 2, "a header length under 20 is dropped");
    n = ip_frame(f, PEER_IP, OUR_IP, 1, icmp, 64);
    rt_put16(f + 20, 0x2000);                  /* MF */
    rt_put16(f + 24, 0);
    rt_put16(f + 24, rt_csum_fold(rt_csum_add(0, f + 14, 20)));
    feed(f, n);
    tap_ok(nq == 0 && net.st.rx_frag == 1, "fragments are dropped and counted");
    n = ip_frame(f, PEER_IP, 0xC0000299u, 1, icmp, 64);
    feed(f, n);
    tap_ok(nq == 0, "a packet for another address is not answered");
    feed(f, 10);
    tap_ok(nq == 0 && net.st.rx_bad == 3, "a frame shorter than an Ethernet header is dropped");
    net.ip = 0;
    n = ip_frame(f, PEER_IP, OUR_IP, 1, icmp, 64);
    feed(f, n);
    tap_ok(nq == 0, "without an address the stack answers nothing");
}

struct udp_seen {
    int calls;
    uint32_t src;
    uint16_t sport, dport;
    size_t len;
    uint8_t data[FRAME];
};

static void on_udp(struct rt_net *n, void *arg, uint32_t src, uint16_t sport, uint16_t dport,
                   const uint8_t *data, size_t len)
{
    struct udp_seen *s = arg;

    (void)n;
    s->calls++;
    s->src = src;
    s->sport = sport;
    s->dport = dport;
    s->len = len;
    memcpy(s->data, data, len);
}

static void test_udp(void)
{
    static struct udp_seen seen;
    uint8_t f[FRAME], data[RT_UDP_MAX_PAYLOAD + 1];
    size_t n;
    struct out o;

    setup();
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i ^ 0x5a);
    tap_ok(rt_udp_bind(&net, 7, on_udp, &seen) == 0, "bind port 7");
    n = udp_frame(f, 40000, 7, "hello", 5, 1);
    feed(f, n);
    tap_ok(seen.calls == 1 && seen.src == PEER_IP && seen.sport == 40000 && seen.dport == 7 &&
           seen.len == 5 && !memcmp(seen.data, "hello", 5), "a datagram reaches its port's callback");
    n = udp_frame(f, 40000, 7, "hello", 5, 0);
    feed(f, n);
    tap_ok(seen.calls == 2, "a datagram without checksum (0) is accepted");
    n = udp_frame(f, 40000, 7, "hello", 5, 1);
    f[n - 1] ^= 1;
    feed(f, n);
    tap_ok(seen.calls == 2 && net.st.rx_csum == 1, "a bad UDP checksum is dropped and counted");
    net.now = now_ns;
    rt_net_input(&net, f, n, RT_NET_RX_CSUM_BLANK);
    tap_ok(seen.calls == 3, "a checksum the backend marked blank is not checked");
    n = udp_frame(f, 40000, 7, "hello", 5, 1);
    rt_put16(f + 34 + 4, 200);                 /* UDP length beyond the IP payload */
    feed(f, n);
    tap_ok(seen.calls == 3 && net.st.rx_bad == 1, "a UDP length past the IP payload is dropped");
    n = udp_frame(f, 40000, 9, "x", 1, 1);
    feed(f, n);
    tap_ok(seen.calls == 3 && net.st.udp_noport == 1, "a datagram for an unbound port is counted");
    feed(f, 14 + 20 + 4);
    tap_ok(net.st.rx_bad >= 1 && seen.calls == 3, "a truncated UDP header is dropped");

    clear_q();
    tap_ok(rt_udp_send_mac(&net, peer_mac, PEER_IP, 7, 40000, data, 1000) == 0 && nq == 1,
           "send a 1000-byte datagram");
    o = parse_out(0);
    tap_ok(o.ok && o.proto == 17 && o.l4len == 1008 && rt_get16(o.l4) == 7 && rt_get16(o.l4 + 2) == 40000 &&
           rt_get16(o.l4 + 6) != 0 && !memcmp(o.l4 + 8, data, 1000) && qlen[0] == 14 + 20 + 1008 &&
           (rt_get16(q[0] + 20) & 0x4000),
           "it carries the data, ports, a right UDP checksum and IPv4 header, DF set");
    clear_q();
    tap_ok(rt_udp_send_mac(&net, peer_mac, PEER_IP, 7, 40000, data, RT_UDP_MAX_PAYLOAD) == 0 &&
           qlen[0] == RT_NET_FRAME_MAX, "a 1472-byte datagram fills a 1514-byte frame");
    tap_ok(rt_udp_send_mac(&net, peer_mac, PEER_IP, 7, 40000, data, RT_UDP_MAX_PAYLOAD + 1) == -90,
           "a larger one is EMSGSIZE");
    clear_q();
    tap_ok(rt_udp_send(&net, 0xC0000203u, 7, 7, data, 10) == -11 && nq == 1 && rt_get16(q[0] + 12) == 0x0806,
           "sending to an unresolved neighbour sends ARP and says EAGAIN");
    tx_refuse = 1;
    tap_ok(rt_udp_send_mac(&net, peer_mac, PEER_IP, 7, 40000, data, 10) == -11 && net.st.tx_nobuf >= 1,
           "no transmit buffer: EAGAIN, counted");
    tx_refuse = 0;
    tap_ok(gets == puts_, "every transmit buffer taken was given back (%u taken, %u back)", gets, puts_);
}

/* ---- TCP ---- */

static uint8_t sndb[8192], rcvb[4096];
static struct rt_tcp tcb;

static void tcp_setup(void)
{
    setup();
    rt_tcp_init(&tcb, &net, sndb, sizeof(sndb), rcvb, sizeof(rcvb));
}

static void tseg_in(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd, const void *d, size_t len)
{
    uint8_t f[FRAME];
    size_t n = tcp_frame(f, 40000, 5001, seq, ack, flags, wnd, 0, d, len);
    feed(f, n);
}

static void test_tcp_passive(void)
{
    uint8_t f[FRAME], d[3000], got[4096];
    struct tseg s;
    size_t n;
    uint32_t iss, pseq = 1000;

    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(i * 13);
    tcp_setup();
    n = tcp_frame(f, 40000, 5001, pseq, 0, SYN, 8192, 0, NULL, 0);
    feed(f, n);
    tap_ok(nq == 1 && tcp_out(0).flags == (RST | ACK) && tcp_out(0).ack == pseq + 1,
           "a SYN to a port nobody listens on gets RST+ACK acknowledging it");
    clear_q();
    tap_ok(rt_tcp_listen(&tcb, 5001) == 0 && tcb.state == RT_TCP_LISTEN, "listen on 5001");
    n = tcp_frame(f, 40000, 5001, pseq, 0, ACK, 8192, 0, NULL, 0);
    feed(f, n);
    tap_ok(nq == 1 && tcp_out(0).flags == RST && tcb.state == RT_TCP_LISTEN,
           "an ACK to the listener gets a RST, the listener stays");
    clear_q();
    n = tcp_frame(f, 40000, 5001, pseq, 0, SYN, 8192, 1000, NULL, 0);
    feed(f, n);
    s = tcp_out(0);
    iss = s.seq;
    tap_ok(nq == 1 && s.ok && s.flags == (SYN | ACK) && s.ack == pseq + 1 && s.mss == 1460 &&
           tcb.state == RT_TCP_SYN_RCVD && tcb.mss == 1000,
           "SYN (MSS 1000) gets SYN+ACK with our MSS 1460; SYN-RECEIVED; the peer's MSS kept");
    pseq++;
    clear_q();
    tick(RT_TCP_RTO_MIN_NS);
    tap_ok(nq == 1 && tcp_out(0).flags == (SYN | ACK) && tcp_out(0).seq == iss,
           "the SYN+ACK is sent again when the RTO passes");
    clear_q();
    tseg_in(pseq, iss + 2, ACK, 8192, NULL, 0);
    tap_ok(tcb.state == RT_TCP_SYN_RCVD && nq == 1 && tcp_out(0).flags == RST && tcp_out(0).seq == iss + 2,
           "in SYN-RECEIVED an unacceptable ACK gets a RST (seq = its ACK), no state change");
    clear_q();
    tseg_in(pseq, iss + 1, ACK, 8192, NULL, 0);
    tap_ok(tcb.state == RT_TCP_ESTABLISHED && nq == 0, "the right ACK: ESTABLISHED");

    tseg_in(pseq, iss + 1, ACK, 8192, d, 1000);
    tap_ok(tcb.rcv_len == 1000 && nq == 0, "in-order data is taken; a lone segment's ACK is delayed");
    tseg_in(pseq + 1000, iss + 1, ACK | PSH, 8192, d + 1000, 1000);
    s = tcp_out(0);
    tap_ok(nq == 1 && s.flags == ACK && s.ack == pseq + 2000 && s.wnd == 4096 - 2000,
           "the second segment is acknowledged at once, cumulatively; window = free buffer");
    clear_q();
    tseg_in(pseq + 3000, iss + 1, ACK, 8192, d, 500);
    tap_ok(nq == 1 && tcp_out(0).ack == pseq + 2000 && tcb.rcv_len == 2000,
           "an out-of-order segment is dropped with a duplicate ACK");
    clear_q();
    tseg_in(pseq + 500, iss + 1, ACK, 8192, d + 500, 500);
    tap_ok(nq == 1 && tcp_out(0).ack == pseq + 2000 && tcb.rcv_len == 2000,
           "an old retransmission is answered with an ACK and not taken twice");
    clear_q();
    tseg_in(pseq + 1500, iss + 1, ACK, 8192, d + 1500, 1000);   /* overlaps 500 old bytes */
    tap_ok(tcb.rcv_len == 2500 && tcb.rcv_nxt == pseq + 2500, "an overlapping segment's new part is taken");
    tseg_in(pseq + 2500, iss + 1, ACK, 8192, d + 2500, 500);
    tap_ok(rt_tcp_recv(&tcb, got, sizeof(got)) == 3000 && !memcmp(got, d, 3000),
           "the application reads the 3000 bytes in order, intact");
    clear_q();
    tick(RT_TCP_ACK_DELAY_NS);
    tap_ok(nq <= 1, "a delayed ACK goes out at most once");
    clear_q();
    tseg_in(pseq + 3000, iss + 1, ACK, 8192, d, 1400);
    tseg_in(pseq + 4400, iss + 1, ACK, 8192, d, 1400);
    tseg_in(pseq + 5800, iss + 1, ACK, 8192, d, 1400);
    tap_ok(tcb.rcv_len == 4096, "data past the window is cut at the buffer's size");
    tick(RT_TCP_ACK_DELAY_NS);
    s = tcp_out(nq - 1);
    tap_ok(s.wnd == 0 && s.ack == pseq + 3000 + 4096, "a full buffer advertises a zero window");
    clear_q();
    tap_ok(rt_tcp_recv(&tcb, NULL, 4096) == 4096 && nq == 1 && tcp_out(0).wnd == 4096,
           "reading opens the window and sends a window update");
    pseq += 3000 + 4096;
    clear_q();

    tap_ok(rt_tcp_send(&tcb, d, 2500) == 2500, "the server queues 2500 bytes");
    tap_ok(nq == 3 && tcp_out(0).dlen == 1000 && tcp_out(1).dlen == 1000 && tcp_out(2).dlen == 500 &&
           tcp_out(0).seq == iss + 1 && !memcmp(tcp_out(1).data, d + 1000, 1000) &&
           (tcp_out(2).flags & PSH), "sent in MSS-sized segments (the peer's 1000), PSH on the last");
    clear_q();
    tseg_in(pseq, iss + 2501, ACK, 8192, NULL, 0);
    tap_ok(rt_tcp_unsent(&tcb) == 0 && tcb.rtx_at == 0, "all acknowledged: nothing left, timer off");

    tseg_in(pseq, iss + 2501, ACK | FIN, 8192, NULL, 0);
    tap_ok(tcb.state == RT_TCP_CLOSE_WAIT && nq == 1 && tcp_out(0).ack == pseq + 1 && rt_tcp_eof(&tcb),
           "the peer's FIN: CLOSE-WAIT, acknowledged, end of stream");
    clear_q();
    tseg_in(pseq, iss + 2501, ACK | FIN, 8192, NULL, 0);
    tap_ok(nq == 1 && tcp_out(0).ack == pseq + 1 && tcb.state == RT_TCP_CLOSE_WAIT,
           "a retransmitted FIN is acknowledged again");
    clear_q();
    rt_tcp_close(&tcb);
    tap_ok(tcb.state == RT_TCP_LAST_ACK && nq == 1 && (tcp_out(0).flags & FIN) && tcp_out(0).seq == iss + 2501,
           "close sends our FIN: LAST-ACK");
    clear_q();
    tseg_in(pseq + 1, iss + 2502, ACK, 8192, NULL, 0);
    tap_ok(tcb.state == RT_TCP_LISTEN, "its ACK ends the connection; the server listens again");
    tap_ok(gets == puts_, "every transmit buffer came back");
}

static void test_tcp_active(void)
{
    uint8_t f[FRAME], d[8192];
    struct tseg s;
    size_t n;
    uint32_t iss, pseq = 50000;

    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(i * 31 + 1);
    tcp_setup();
    tap_ok(rt_tcp_connect(&tcb, PEER_IP, 5001, 40000) == -11 && nq == 1 && rt_get16(q[0] + 12) == 0x0806,
           "connect to an unresolved peer sends ARP and says EAGAIN");
    clear_q();
    n = arp_frame(f, our_mac, 2, peer_mac, PEER_IP, OUR_IP);
    feed(f, n);
    tap_ok(rt_tcp_connect(&tcb, PEER_IP, 5001, 40000) == 0 && tcb.state == RT_TCP_SYN_SENT && nq == 1 &&
           tcp_out(0).flags == SYN && tcp_out(0).mss == 1460, "then connect sends SYN with MSS: SYN-SENT");
    iss = tcp_out(0).seq;
    clear_q();
    n = tcp_frame(f, 5001, 40000, pseq, iss + 5, SYN | ACK, 3000, 1000, NULL, 0);
    feed(f, n);
    tap_ok(tcb.state == RT_TCP_SYN_SENT && nq == 1 && tcp_out(0).flags == RST && tcp_out(0).seq == iss + 5,
           "a SYN+ACK with a wrong ACK gets a RST, still SYN-SENT");
    clear_q();
    n = tcp_frame(f, 5001, 40000, pseq, iss + 1, SYN | ACK, 3000, 1000, NULL, 0);
    feed(f, n);
    pseq++;
    tap_ok(tcb.state == RT_TCP_ESTABLISHED && nq == 1 && tcp_out(0).flags == ACK && tcp_out(0).ack == pseq,
           "the right SYN+ACK: ESTABLISHED, acknowledged");
    clear_q();
    tap_ok(rt_tcp_send(&tcb, d, sizeof(d)) == 8192, "queue 8192 bytes");
    tap_ok(nq == 3 && tcp_out(2).seq == iss + 1 + 2000 && tcp_out(2).dlen == 1000,
           "only the peer's window (3000) is sent");
#define PIN(seq, ack, fl, wnd) do { uint8_t fr_[FRAME]; size_t n_ = tcp_frame(fr_, 5001, 40000, seq, ack, fl, wnd, 0, NULL, 0); feed(fr_, n_); } while (0)
    clear_q();
    PIN(pseq, iss + 2001, ACK, 3000);
    tap_ok(nq == 2 && tcp_out(0).seq == iss + 3001 && tcp_out(1).seq == iss + 4001,
           "a cumulative ACK of 2000 slides the window: 2000 more bytes go");
    clear_q();
    tick(RT_TCP_RTO_MIN_NS);
    s = tcp_out(0);
    tap_ok(nq == 3 && s.seq == iss + 2001 && !memcmp(s.data, d + 2000, 1000) && tcb.rto == 2 * RT_TCP_RTO_MIN_NS,
           "after the RTO, go-back-N resends from the first unacknowledged byte; RTO doubles");
    clear_q();
    PIN(pseq, iss + 2001, ACK, 3000);
    PIN(pseq, iss + 2001, ACK, 3000);
    tap_ok(nq == 0, "two duplicate ACKs send nothing");
    PIN(pseq, iss + 2001, ACK, 3000);
    tap_ok(nq == 1 && tcp_out(0).seq == iss + 2001, "the third duplicate ACK fast-retransmits one segment");
    clear_q();
    PIN(pseq, iss + 5001, ACK, 0);
    tap_ok(nq == 0 && tcb.snd_wnd == 0, "a zero window stops sending");
    tick(RT_TCP_RTO_MIN_NS);
    tap_ok(nq == 1 && tcp_out(0).dlen == 1 && tcp_out(0).seq == iss + 5001,
           "the timer probes the zero window with one byte");
    clear_q();
    PIN(pseq, iss + 5001, ACK, 8192);
    tap_ok(nq >= 3 && tcp_out(0).seq == iss + 5002, "the window opens: sending resumes after the probe byte");
    clear_q();
    PIN(pseq, iss + 8193, ACK, 8192);
    tap_ok(rt_tcp_unsent(&tcb) == 0 && tcb.tx_bytes == 8192, "all 8192 bytes acknowledged");
    PIN(pseq, iss + 9999, ACK, 8192);
    tap_ok(nq == 1 && tcp_out(0).ack == pseq, "an ACK beyond what was sent is answered, not taken");
    clear_q();
    PIN(pseq + 7, iss + 8193, RST, 8192);
    tap_ok(tcb.state == RT_TCP_ESTABLISHED && nq == 1 && tcp_out(0).flags == ACK,
           "a RST off rcv_nxt is ignored with a challenge ACK");
    clear_q();
    rt_tcp_close(&tcb);
    tap_ok(tcb.state == RT_TCP_FIN_WAIT_1 && nq == 1 && tcp_out(0).flags == (FIN | ACK), "close: FIN, FIN-WAIT-1");
    clear_q();
    PIN(pseq, iss + 8194, ACK, 8192);
    tap_ok(tcb.state == RT_TCP_FIN_WAIT_2, "our FIN acknowledged: FIN-WAIT-2");
    PIN(pseq, iss + 8194, ACK | FIN, 8192);
    tap_ok(tcb.state == RT_TCP_TIME_WAIT && nq == 1 && tcp_out(0).ack == pseq + 1,
           "the peer's FIN: TIME-WAIT, acknowledged");
    tick(RT_TCP_TIME_WAIT_NS);
    tap_ok(tcb.state == RT_TCP_CLOSED && tcb.error == 0, "TIME-WAIT ends: CLOSED, no error");

    /* reset in sequence; retries exhausted */
    clear_q();
    tap_ok(rt_tcp_connect(&tcb, PEER_IP, 5001, 40001) == 0, "connect again");
    iss = tcp_out(0).seq;
    n = tcp_frame(f, 5001, 40001, pseq, iss + 1, RST | ACK, 0, 0, NULL, 0);
    feed(f, n);
    tap_ok(tcb.state == RT_TCP_CLOSED && tcb.error == -111, "RST+ACK to our SYN: refused (ECONNREFUSED)");
    clear_q();
    rt_tcp_connect(&tcb, PEER_IP, 5001, 40002);
    for (int i = 0; i <= RT_TCP_MAX_RETRIES && tcb.state != RT_TCP_CLOSED; i++)
        tick(RT_TCP_RTO_MAX_NS);
    tap_ok(tcb.state == RT_TCP_CLOSED && tcb.error == -110 && nq == RT_TCP_MAX_RETRIES + 1,
           "an unanswered SYN is sent %d times in all, then the connect times out", RT_TCP_MAX_RETRIES + 1);
    tap_ok(gets == puts_, "every transmit buffer came back");
}

/* A SYN from the peer with MSS and window scale options. */
static size_t tcp_syn_ws(uint8_t *f, uint32_t seq, uint8_t shift)
{
    uint8_t t[28];

    memset(t, 0, sizeof(t));
    rt_put16(t, 40000);
    rt_put16(t + 2, 5001);
    rt_put32(t + 4, seq);
    t[12] = (uint8_t)(28 / 4 << 4);
    t[13] = SYN;
    rt_put16(t + 14, 65535);
    t[20] = 2;
    t[21] = 4;
    rt_put16(t + 22, 1460);
    t[24] = 1;                               /* NOP, window scale */
    t[25] = 3;
    t[26] = 3;
    t[27] = shift;
    rt_put16(t + 16, rt_csum_fold(rt_csum_add(rt_csum_pseudo(PEER_IP, OUR_IP, 6, 28), t, 28)));
    return ip_frame(f, PEER_IP, OUR_IP, RT_IPPROTO_TCP, t, 28);
}

static void test_tcp_wscale(void)
{
    static uint8_t big[512 * 1024];
    uint8_t f[FRAME], d[1000];
    struct out o;
    struct tseg s;
    uint32_t iss, pseq = 7000;

    memset(d, 7, sizeof(d));
    setup();
    rt_tcp_init(&tcb, &net, sndb, sizeof(sndb), big, sizeof(big));
    rt_tcp_listen(&tcb, 5001);
    feed(f, tcp_syn_ws(f, pseq, 7));
    o = parse_out(0);
    tap_ok(nq == 1 && o.ok && o.proto == 6 && o.l4len >= 28 && (o.l4[12] >> 4) == 7 && o.l4[24] == 1 &&
           o.l4[25] == 3 && o.l4[26] == 3 && o.l4[27] == 4 && rt_get16(o.l4 + 14) == 65535,
           "a SYN with window scale 7 gets a SYN+ACK with ours (4 for 512 KiB), its window unscaled");
    iss = o.ok && o.l4len >= 8 ? rt_get32(o.l4 + 4) : 0;
    pseq++;
    clear_q();
    tseg_in(pseq, iss + 1, ACK, 100, NULL, 0);
    tap_ok(tcb.state == RT_TCP_ESTABLISHED && tcb.snd_wnd == 100u << 7,
           "the peer's window fields are scaled by its shift (100 << 7)");
    tseg_in(pseq, iss + 1, ACK | PSH, 100, d, sizeof(d));
    tseg_in(pseq + 1000, iss + 1, ACK | PSH, 100, d, sizeof(d));
    s = tcp_out(nq ? nq - 1 : 0);
    tap_ok(nq >= 1 && s.ok && s.flags == ACK && s.ack == pseq + 2000 && s.wnd == (sizeof(big) - 2000) >> 4,
           "our ACK's window field is the free buffer >> 4 (%u)", s.wnd);
}

/* ---- TCP segmentation offload: a shim that takes GSO frames ---- */

static uint8_t gso_tx[RT_NET_GSO_FRAME_MAX], gso_q[4][RT_NET_GSO_FRAME_MAX];
static size_t gso_len[4];
static uint16_t gso_mss[4];
static unsigned gso_n, gso_gets, gso_puts, gso_refuse;

static uint8_t *gso_get(void *ctx)
{
    (void)ctx;
    if (gso_refuse)
        return NULL;
    gso_gets++;
    return gso_tx;
}

static int gso_put(void *ctx, uint8_t *buf, size_t len, uint16_t mss)
{
    (void)ctx;
    gso_puts++;
    if (!len)
        return 0;
    if (buf != gso_tx || len > RT_NET_GSO_FRAME_MAX || gso_n >= 4)
        return -90;
    memcpy(gso_q[gso_n], buf, len);
    gso_len[gso_n] = len;
    gso_mss[gso_n++] = mss;
    return 0;
}

/* A GSO frame as the far end sees it once it completed the partial checksum: checks the IPv4
 * header, that the TCP checksum field held the pseudo-header sum, and returns the data. */
static int gso_frame_ok(unsigned i, uint32_t *seq, const uint8_t **data, size_t *dlen)
{
    static uint8_t f[RT_NET_GSO_FRAME_MAX];
    uint8_t *h = f + RT_ETH_HLEN, *t = h + RT_IP_HLEN;
    size_t tl;

    memcpy(f, gso_q[i], gso_len[i]);
    tl = rt_get16(h + 2);
    if (rt_get16(f + 12) != RT_ETHERTYPE_IP || h[0] != 0x45 || h[9] != RT_IPPROTO_TCP ||
        tl + RT_ETH_HLEN != gso_len[i] || rt_csum_fold(rt_csum_add(0, h, 20)) != 0)
        return 0;
    rt_put16(t + 16, rt_csum_fold(rt_csum_add(0, t, tl - 20)));    /* what the device does */
    if (rt_csum_fold(rt_csum_add(rt_csum_pseudo(OUR_IP, PEER_IP, 6, (uint16_t)(tl - 20)), t,
                                 tl - 20)) != 0)
        return 0;
    *seq = rt_get32(t + 4);
    *data = gso_q[i] + RT_ETH_HLEN + RT_IP_HLEN + (size_t)(t[12] >> 4) * 4;
    *dlen = tl - 20 - (size_t)(t[12] >> 4) * 4;
    return 1;
}

static void test_tcp_gso(void)
{
    static uint8_t snd[256 * 1024], rcv[256 * 1024], d[200000];
    struct rt_net_ops ops = { shim_get, shim_put, NULL, gso_get, gso_put };
    uint8_t f[FRAME];
    const uint8_t *data;
    size_t dlen;
    uint32_t iss, seq, pseq = 9000;
    struct out o;
    int good = 1;

    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(i * 7 + i / 251);
    rt_net_init(&net, our_mac, OUR_IP, 0xffffff00u, PEER_IP, &ops);
    net.now = now_ns;
    nq = 0;
    rt_tcp_init(&tcb, &net, snd, sizeof(snd), rcv, sizeof(rcv));
    rt_tcp_listen(&tcb, 5001);
    feed(f, tcp_syn_ws(f, pseq, 7));
    o = parse_out(0);
    iss = o.ok && o.l4len >= 8 ? rt_get32(o.l4 + 4) : 0;
    pseq++;
    clear_q();
    tseg_in(pseq, iss + 1, ACK, 4096, NULL, 0);                /* window 4096 << 7 = 512 KiB */
    tap_ok(tcb.state == RT_TCP_ESTABLISHED && tcb.mss == 1460, "GSO: connection established, peer MSS 1460");
    tap_ok(rt_tcp_send(&tcb, d, sizeof(d)) == (int)sizeof(d), "200000 bytes queued");
    tap_ok(gso_n == 4 && nq == 0, "sent as 4 offloaded frames, no ordinary segment (%u, %u)", gso_n, nq);
    for (unsigned i = 0; i < gso_n; i++) {
        size_t want = i < 3 ? 44 * 1460 : sizeof(d) - 3 * 44 * 1460;
        good &= gso_frame_ok(i, &seq, &data, &dlen) && gso_mss[i] == 1460 && dlen == want &&
                seq == iss + 1 + i * 44 * 1460 && !memcmp(data, d + i * 44 * 1460, dlen);
    }
    tap_ok(good, "each offloaded frame: up to 44 x 1460 bytes, in order, segment size 1460, its "
           "TCP checksum field the pseudo-header sum (the far end completes it)");
    tap_ok(net.st.tcp_tx_gso == 4, "tcp_tx_gso counts them");
    gso_n = 0;
    gso_refuse = 1;
    tseg_in(pseq, iss + 1 + sizeof(d), ACK, 4096, NULL, 0);
    tap_ok(rt_tcp_send(&tcb, d, 5000) == 5000 && gso_n == 0 && nq == 3 && tcp_out(0).ok &&
           tcp_out(0).dlen == 1460 && tcp_out(2).dlen == 1460,
           "with no GSO buffer the stack falls back to MSS-sized segments (%u sent)", nq);
    tap_ok(rt_tcp_unsent(&tcb) == 5000, "the 620-byte tail waits while data is in flight (Nagle)");
    clear_q();
    tseg_in(pseq, iss + 1 + sizeof(d) + 3 * 1460, ACK, 4096, NULL, 0);
    tap_ok(nq == 1 && tcp_out(0).dlen == 620 && (tcp_out(0).flags & PSH),
           "and goes once they are acknowledged");
    tseg_in(pseq, iss + 1 + sizeof(d) + 5000, ACK, 4096, NULL, 0);
    gso_refuse = 0;
    clear_q();
    {                                          /* a large segment in, checksum partial */
        static uint8_t big[RT_NET_GSO_FRAME_MAX];
        uint8_t *h = big + RT_ETH_HLEN, *t = h + RT_IP_HLEN;
        size_t n = 30000;
        eth(big, our_mac, peer_mac, RT_ETHERTYPE_IP);
        memset(h, 0, 40);
        h[0] = 0x45;
        rt_put16(h + 2, (uint16_t)(40 + n));
        h[8] = 64;
        h[9] = 6;
        rt_put32(h + 12, PEER_IP);
        rt_put32(h + 16, OUR_IP);
        rt_put16(h + 10, rt_csum_fold(rt_csum_add(0, h, 20)));
        rt_put16(t, 40000);
        rt_put16(t + 2, 5001);
        rt_put32(t + 4, pseq);
        rt_put32(t + 8, iss + 1);
        t[12] = 5 << 4;
        t[13] = ACK;
        rt_put16(t + 14, 4096);
        memcpy(t + 20, d, n);
        rt_put16(t + 16, (uint16_t)~rt_csum_fold(rt_csum_pseudo(PEER_IP, OUR_IP, 6, (uint16_t)(20 + n))));
        net.now = now_ns;
        rt_net_input(&net, big, RT_ETH_HLEN + 40 + n, RT_NET_RX_CSUM_BLANK);
        tap_ok(tcb.rcv_len == n && tcb.rcv_nxt == pseq + n, "a 30000-byte segment with a partial "
               "checksum (CSUM_BLANK) is taken whole");
        tap_ok(nq >= 1 && tcp_out(nq - 1).ack == pseq + n, "and acknowledged at once");
    }
    tap_ok(gso_gets == gso_puts, "every GSO buffer came back");
    clear_q();
}

static void test_malformed_tcp(void)
{
    uint8_t f[FRAME];
    size_t n;

    tcp_setup();
    rt_tcp_listen(&tcb, 5001);
    n = tcp_frame(f, 40000, 5001, 1, 0, SYN, 8192, 0, NULL, 0);
    f[14 + 20 + 12] = 0xf0;                    /* data offset 60 > segment */
    feed(f, n);
    tap_ok(nq == 0 && tcb.state == RT_TCP_LISTEN && net.st.rx_bad == 1, "a data offset past the segment is dropped");
    n = tcp_frame(f, 40000, 5001, 1, 0, SYN, 8192, 0, NULL, 0);
    f[14 + 20 + 12] = 0x40;                    /* data offset 16 < 20 */
    feed(f, n);
    tap_ok(nq == 0 && net.st.rx_bad == 2, "a data offset under 20 is dropped");
    n = tcp_frame(f, 40000, 5001, 1, 0, SYN, 8192, 1000, NULL, 0);
    f[14 + 20 + 21] = 0;                       /* option length 0 */
    rt_put16(f + 14 + 20 + 16, 0);
    rt_put16(f + 14 + 20 + 16, rt_csum_fold(rt_csum_add(rt_csum_pseudo(PEER_IP, OUR_IP, 6, 24), f + 34, 24)));
    feed(f, n);
    tap_ok(tcb.state == RT_TCP_SYN_RCVD && tcb.mss == 536, "a malformed option is ignored (default MSS 536)");
    tcp_setup();
    rt_tcp_listen(&tcb, 5001);
    n = tcp_frame(f, 40000, 5001, 1, 0, SYN, 8192, 0, NULL, 0);
    f[n - 1] ^= 0x10;
    feed(f, n);
    tap_ok(tcb.state == RT_TCP_LISTEN && net.st.rx_csum == 1, "a bad TCP checksum is dropped");
}

/* A seeded flood of mutated frames: nothing may read past a frame (ASan watches), every
 * frame the stack sends is well formed, and buffers come back. */
static uint64_t rng = 0x1234567;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void test_flood(void)
{
    static struct udp_seen seen;
    uint8_t base[6][FRAME], heap_len[6];
    size_t blen[6];
    unsigned bad_out = 0;
    uint8_t icmp[16] = { 8 };

    (void)heap_len;
    tcp_setup();
    rt_tcp_listen(&tcb, 5001);
    rt_udp_bind(&net, 7, on_udp, &seen);
    rt_put16(icmp + 2, rt_csum_fold(rt_csum_add(0, icmp, 16)));
    blen[0] = udp_frame(base[0], 1, 7, "abcdefgh", 8, 1);
    blen[1] = tcp_frame(base[1], 40000, 5001, 9, 0, SYN, 8192, 1200, NULL, 0);
    blen[2] = tcp_frame(base[2], 40000, 5001, 10, 0, ACK, 8192, 0, "data", 4);
    blen[3] = arp_frame(base[3], bc_mac, 1, peer_mac, PEER_IP, OUR_IP);
    blen[4] = ip_frame(base[4], PEER_IP, OUR_IP, 1, icmp, 16);
    blen[5] = tcp_frame(base[5], 40000, 5001, 10, 0, ACK | FIN, 8192, 0, NULL, 0);
    for (int i = 0; i < 200000; i++) {
        unsigned k = rnd() % 6, flips = rnd() % 4;
        size_t len = blen[k];
        uint8_t *fr = malloc(FRAME);
        memcpy(fr, base[k], len);
        for (unsigned j = 0; j < flips; j++)
            fr[14 + rnd() % (len - 14)] = (uint8_t)rnd();
        if (rnd() % 4 == 0)
            len = 14 + rnd() % (len - 13);
        uint8_t *exact = malloc(len);          /* exact size: a read past the end is caught */
        memcpy(exact, fr, len);
        feed(exact, len);
        free(exact);
        free(fr);
        for (unsigned j = 0; j < nq; j++)
            if (rt_get16(q[j] + 12) == 0x0800 && !parse_out(j).ok)
                bad_out++;
        clear_q();
        if (i % 1000 == 0)
            tick(RT_TCP_RTO_MIN_NS);
    }
    tap_ok(bad_out == 0, "200000 mutated frames: every frame sent back is well formed (%u bad)", bad_out);
    tap_ok(gets == puts_, "every transmit buffer came back (%u taken)", gets);
    tap_diag("flood: rx_bad %llu rx_csum %llu rst %llu tcp state %s",
             (unsigned long long)net.st.rx_bad, (unsigned long long)net.st.rx_csum,
             (unsigned long long)net.st.tcp_rst_sent, rt_tcp_state_name(tcb.state));
}

int main(void)
{
    test_checksums();
    test_parse_ip();
    test_arp();
    test_icmp();
    test_udp();
    test_tcp_passive();
    test_tcp_active();
    test_tcp_wscale();
    test_tcp_gso();
    test_malformed_tcp();
    test_flood();
    return tap_done();
}
