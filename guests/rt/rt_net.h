/* rt_net.h - the guest runtime's small IPv4 stack: Ethernet + ARP (rt_net_eth.c), IPv4 + ICMP
 * echo + checksums (rt_net_ip.c), UDP (rt_net_udp.c) and one-stream TCP (rt_net_tcp.c).
 * Pure logic over frames: it knows nothing of netfront, the hypervisor or the clock. The owner
 * feeds received frames to rt_net_input, sets rt_net.now (ns) before each call, calls
 * rt_net_timer now and then, and gives the stack two transmit hooks (a frame buffer of at least
 * RT_NET_FRAME_MAX bytes, and "send these len bytes of it"). So the same sources build into the
 * freestanding guests and into the host unit test (tests/test-rtnet.c).
 * Addresses and ports are in host byte order in every API; the wire is big-endian. Everything
 * received is hostile: every length is checked against the frame before it is read.
 * Errors are negative errno values (-11 EAGAIN: no tx buffer or the next hop not resolved yet,
 * an ARP request went out; -22 EINVAL; -90 EMSGSIZE; -101 ENETUNREACH; -107 ENOTCONN). */
#ifndef RT_NET_H
#define RT_NET_H

#include <stddef.h>
#include <stdint.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#define RT_NET_EAGAIN 11
#define RT_NET_EINVAL 22
#define RT_NET_EMSGSIZE 90
#define RT_NET_ENETUNREACH 101
#define RT_NET_ENOTCONN 107
#define RT_NET_ECONNRESET 104
#define RT_NET_ETIMEDOUT 110
#define RT_NET_ECONNREFUSED 111

#define RT_ETH_HLEN 14
#define RT_NET_MTU 1500
#define RT_NET_FRAME_MAX (RT_ETH_HLEN + RT_NET_MTU)
#define RT_IP_HLEN 20
#define RT_UDP_HLEN 8
#define RT_TCP_HLEN 20
#define RT_UDP_MAX_PAYLOAD (RT_NET_MTU - RT_IP_HLEN - RT_UDP_HLEN)   /* 1472 */
#define RT_TCP_MSS (RT_NET_MTU - RT_IP_HLEN - RT_TCP_HLEN)           /* 1460 */
#define RT_NET_GSO_FRAME_MAX 65535u                       /* a netif packet's 16-bit size */
#define RT_NET_GSO_IP_MAX (RT_NET_GSO_FRAME_MAX - RT_ETH_HLEN)

#define RT_ETHERTYPE_IP 0x0800
#define RT_ETHERTYPE_ARP 0x0806
#define RT_IPPROTO_ICMP 1
#define RT_IPPROTO_TCP 6
#define RT_IPPROTO_UDP 17

#define RT_ARP_SLOTS 16
#define RT_UDP_BINDS 8
#define RT_ARP_RETRY_NS 100000000ULL   /* at most one request per address per 100 ms */

/* rt_net_input flags */
#define RT_NET_RX_CSUM_BLANK 1          /* the L4 checksum is a partial one (netif CSUM_BLANK) */

struct rt_net;
struct rt_tcp;

/* A received UDP datagram for a bound port (data points into the frame; valid during the call). */
typedef void (*rt_udp_fn)(struct rt_net *n, void *arg, uint32_t src_ip, uint16_t sport,
                          uint16_t dport, const uint8_t *data, size_t len);

struct rt_net_ops {
    uint8_t *(*tx_get)(void *ctx);                     /* >= RT_NET_FRAME_MAX bytes, or NULL */
    int (*tx_put)(void *ctx, uint8_t *buf, size_t len); /* send and give back; len 0: unsent */
    void *ctx;
    /* Optional TCP segmentation offload (netif GSO, TCPv4): gso_get gives a buffer of
     * RT_NET_GSO_FRAME_MAX bytes, or NULL when the device does not take GSO frames now (not
     * negotiated, or busy); gso_put sends len bytes of it as one TCPv4 frame whose TCP checksum
     * is partial (the pseudo-header sum) and which the far end cuts into mss-byte segments
     * (len 0: given back unsent). Both NULL: every segment is at most one MSS. */
    uint8_t *(*gso_get)(void *ctx);
    int (*gso_put)(void *ctx, uint8_t *buf, size_t len, uint16_t mss);
};

struct rt_net_stats {
    uint64_t rx_frames, rx_bytes, rx_bad, rx_csum, rx_other, rx_frag;
    uint64_t arp_rx, arp_replies, arp_requests, arp_garp;
    uint64_t icmp_echo, udp_rx, udp_tx, udp_noport, tcp_rx, tcp_tx, tcp_rst_sent, tcp_retx;
    uint64_t tcp_tx_gso;                /* of tcp_tx: frames sent for segmentation offload */
    uint64_t tx_frames, tx_nobuf, tx_noarp;
};

struct rt_arp_entry {
    uint32_t ip;
    uint8_t mac[6];
    uint8_t state;                      /* 0 free, 1 waiting for a reply, 2 resolved */
    uint64_t stamp;                     /* learned, or when the request went out */
};

struct rt_udp_bind {
    uint16_t port;
    rt_udp_fn fn;
    void *arg;
};

struct rt_net {
    uint8_t mac[6];
    uint32_t ip, mask, gw;              /* ip 0: no address (answers nothing) */
    uint64_t now;                       /* ns, set by the owner before each call */
    struct rt_net_ops ops;
    struct rt_arp_entry arp[RT_ARP_SLOTS];
    struct rt_udp_bind udp[RT_UDP_BINDS];
    struct rt_tcp *tcp;                 /* the one TCP connection block, if any */
    const uint8_t *rx_mac;              /* source MAC of the frame being handled (callbacks) */
    uint16_t ip_id;
    struct rt_net_stats st;
};

/* ---- checksums (rt_net_ip.c) ---- */
uint32_t rt_csum_add(uint32_t sum, const void *data, size_t len);   /* 16-bit words, big-endian */
uint16_t rt_csum_fold(uint32_t sum);                                 /* ~folded, wire order value */
uint32_t rt_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* ---- byte order helpers ---- */
static inline uint16_t rt_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void rt_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void rt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Bulk copy (the runtime's memcpy is a byte loop). */
static inline void rt_net_copy(void *d, const void *s, size_t n)
{
#if defined(__x86_64__)
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
#else
    memcpy(d, s, n);
#endif
}

/* ---- setup and input (rt_net_eth.c) ---- */
void rt_net_init(struct rt_net *n, const uint8_t mac[6], uint32_t ip, uint32_t mask, uint32_t gw,
                 const struct rt_net_ops *ops);
/* One received Ethernet frame (flags RT_NET_RX_*). Replies (ARP, ICMP) go out from here, and
 * UDP callbacks and TCP processing run from here. */
void rt_net_input(struct rt_net *n, const uint8_t *frame, size_t len, unsigned flags);
/* Timers: TCP retransmission, delayed ACKs, TIME-WAIT. Call after a batch of input too. */
void rt_net_timer(struct rt_net *n);
/* Gratuitous ARP for our address (a request with sender = target = our address, broadcast). */
int rt_net_garp(struct rt_net *n);
/* The MAC of the next hop toward ip, or -EAGAIN after sending (rate-limited) an ARP request. */
int rt_net_resolve(struct rt_net *n, uint32_t ip, uint8_t mac[6]);
/* The ARP cache entry for ip (resolved), or NULL. */
const struct rt_arp_entry *rt_arp_find(const struct rt_net *n, uint32_t ip);
/* Parse "a.b.c.d" or "a.b.c.d/len" (up to a space, comma or the end): 0 or -EINVAL. */
int rt_net_parse_ip(const char *s, uint32_t *ip, uint32_t *prefix);
/* Send an Ethernet frame whose payload the caller wrote at buf + RT_ETH_HLEN (buf from tx_get). */
int rt_eth_send(struct rt_net *n, uint8_t *buf, const uint8_t dst[6], uint16_t type, size_t plen);
void rt_arp_input(struct rt_net *n, const uint8_t *src_mac, const uint8_t *p, size_t len);

/* The GSO counterpart of rt_eth_send: buf from ops.gso_get, plen up to RT_NET_GSO_IP_MAX. */
int rt_eth_send_gso(struct rt_net *n, uint8_t *buf, const uint8_t dst[6], size_t plen, uint16_t mss);

/* ---- IPv4 + ICMP (rt_net_ip.c) ---- */
void rt_ip_input(struct rt_net *n, const uint8_t *src_mac, const uint8_t *p, size_t len, unsigned flags);
/* Fill the IPv4 header at buf + RT_ETH_HLEN for plen payload bytes and send to dst via dmac. */
int rt_ip_send(struct rt_net *n, uint8_t *buf, const uint8_t dmac[6], uint32_t dst, uint8_t proto,
               size_t plen);
/* The same for a TCP frame of up to RT_NET_GSO_IP_MAX bytes in a gso_get buffer, sent for
 * segmentation into mss-byte segments (its TCP checksum field holds the pseudo-header sum). */
int rt_ip_send_gso(struct rt_net *n, uint8_t *buf, const uint8_t dmac[6], uint32_t dst,
                   size_t plen, uint16_t mss);

/* ---- UDP (rt_net_udp.c) ---- */
int rt_udp_bind(struct rt_net *n, uint16_t port, rt_udp_fn fn, void *arg);   /* 0, -ENOSPC(28) */
int rt_udp_send(struct rt_net *n, uint32_t dst, uint16_t sport, uint16_t dport, const void *data,
                size_t len);
/* Reply to a datagram just received from a peer whose MAC is known (no ARP needed). */
int rt_udp_send_mac(struct rt_net *n, const uint8_t dmac[6], uint32_t dst, uint16_t sport,
                    uint16_t dport, const void *data, size_t len);
void rt_udp_input(struct rt_net *n, const uint8_t *src_mac, uint32_t src, uint32_t dst,
                  const uint8_t *p, size_t len, unsigned flags);

/* ---- TCP, one connection (rt_net_tcp.c) ---- */
enum rt_tcp_state {
    RT_TCP_CLOSED, RT_TCP_LISTEN, RT_TCP_SYN_SENT, RT_TCP_SYN_RCVD, RT_TCP_ESTABLISHED,
    RT_TCP_FIN_WAIT_1, RT_TCP_FIN_WAIT_2, RT_TCP_CLOSING, RT_TCP_TIME_WAIT, RT_TCP_CLOSE_WAIT,
    RT_TCP_LAST_ACK
};

#define RT_TCP_RTO_MIN_NS 200000000ULL      /* 200 ms: a LAN, the initial and smallest RTO */
#define RT_TCP_RTO_MAX_NS 8000000000ULL
#define RT_TCP_MAX_RETRIES 10
#define RT_TCP_TIME_WAIT_NS 1000000000ULL
#define RT_TCP_ACK_DELAY_NS 1000000ULL      /* a lone segment's ACK waits at most 1 ms */

struct rt_tcp {
    struct rt_net *n;
    int state, listening, error;        /* error: why it closed (negative errno) */
    uint32_t rip;
    uint16_t lport, rport, mss;         /* mss: the peer's (what we send) */
    uint8_t rmac[6];
    /* send side: snd_buf holds [snd_una, snd_una + snd_len) */
    uint8_t *snd_buf;
    uint32_t snd_size, snd_head, snd_len;   /* snd_head: buffer offset of snd_una */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd;
    uint8_t snd_shift, rcv_shift, ws_ok;    /* window scale (RFC 7323): both SYNs carried it */
    int fin_queued, fin_sent, syn_acked;
    /* receive side: rcv_buf holds in-order bytes the application has not read */
    uint8_t *rcv_buf;
    uint32_t rcv_size, rcv_head, rcv_len;
    uint32_t irs, rcv_nxt, rcv_adv;     /* rcv_adv: the right edge of the window last sent */
    int fin_rcvd;
    /* timers */
    uint64_t rto, rtx_at, tw_at, ack_at;
    uint32_t retries, dupacks, ack_owed;
    uint64_t rx_bytes, tx_bytes, retransmits, bad_segs;
};

/* Buffers given by the caller; sizes up to 1 GiB. Attaches the block to n (one per stack). */
void rt_tcp_init(struct rt_tcp *t, struct rt_net *n, void *snd, uint32_t snd_size, void *rcv,
                 uint32_t rcv_size);
int rt_tcp_listen(struct rt_tcp *t, uint16_t port);     /* and again after each connection */
int rt_tcp_connect(struct rt_tcp *t, uint32_t ip, uint16_t rport, uint16_t lport);
/* Queue bytes for sending (what fits in the send buffer): bytes taken, or -ENOTCONN. */
int rt_tcp_send(struct rt_tcp *t, const void *data, size_t len);
/* Take received bytes (buf NULL: discard them): bytes, 0 when none (see rt_tcp_eof). */
int rt_tcp_recv(struct rt_tcp *t, void *buf, size_t len);
int rt_tcp_eof(const struct rt_tcp *t);                 /* the peer sent FIN and all is read */
int rt_tcp_close(struct rt_tcp *t);                     /* FIN after the queued data */
void rt_tcp_abort(struct rt_tcp *t);                    /* RST, CLOSED */
uint32_t rt_tcp_unsent(const struct rt_tcp *t);         /* queued or unacknowledged bytes */
const char *rt_tcp_state_name(int state);
void rt_tcp_input(struct rt_net *n, const uint8_t *src_mac, uint32_t src, uint32_t dst,
                  const uint8_t *p, size_t len, unsigned flags);
void rt_tcp_timer(struct rt_tcp *t);
void rt_tcp_output(struct rt_tcp *t);

#endif
