/* rt_net_tcp.c - TCP for one bulk stream (rt_net.h): one connection block, passive open
 * (listen, and listen again after each connection) or active connect; the MSS option (ours
 * 1460, the peer's honoured); in-order receive only (out-of-order segments are dropped and
 * answered with a duplicate ACK), cumulative ACKs (every second segment at once, a lone one
 * within RT_TCP_ACK_DELAY_NS), the advertised window = free receive buffer (no window scaling:
 * at most 65535); sending within the peer's window, go-back-N retransmission on timeout (RTO
 * from 200 ms doubling to 8 s, aborted after RT_TCP_MAX_RETRIES), fast retransmit of the first
 * unacknowledged segment on the third duplicate ACK, zero-window probes; FIN close from both
 * sides with TIME-WAIT; RST on segments for no connection. No congestion control (a LAN
 * bridge), no urgent data, no SACK, no timestamps. Sequence acceptability as RFC 793 (a segment
 * outside our window is answered with an ACK and dropped; RST only at exactly rcv_nxt). */
#include "rt_net.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

struct seg {                             /* a received segment, parsed and checked */
    uint32_t seq, ack;
    uint16_t sport, dport, wnd, mss;
    int wscale;                              /* the window scale option's shift, -1 absent */
    uint8_t flags;
    const uint8_t *data;
    uint32_t dlen;
};

static const char *const state_names[] = {
    "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
    "CLOSING", "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK"
};

const char *rt_tcp_state_name(int state)
{
    return state >= 0 && state <= RT_TCP_LAST_ACK ? state_names[state] : "?";
}

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Our receive window in bytes (what a 16-bit field scaled by rcv_shift can say). */
static uint32_t rcv_window(const struct rt_tcp *t)
{
    return min32(t->rcv_size - t->rcv_len, 65535u << t->rcv_shift);
}

/* The shift our buffer needs (RFC 7323 window scale, at most 14); offered in our SYN. */
static uint8_t wanted_shift(const struct rt_tcp *t)
{
    uint8_t sh = 0;

    while (sh < 14 && (t->rcv_size >> sh) > 65535u)
        sh++;
    return sh;
}

/* The peer's SYN (or SYN+ACK) says whether both scale: without its option, neither does. */
static void take_wscale(struct rt_tcp *t, const struct seg *s)
{
    t->ws_ok = s->wscale >= 0;
    t->snd_shift = t->ws_ok ? (uint8_t)(s->wscale > 14 ? 14 : s->wscale) : 0;
    t->rcv_shift = t->ws_ok ? wanted_shift(t) : 0;
}

static void reset_block(struct rt_tcp *t)
{
    t->snd_head = t->snd_len = 0;
    t->rcv_head = t->rcv_len = 0;
    t->fin_queued = t->fin_sent = t->syn_acked = t->fin_rcvd = 0;
    t->retries = t->dupacks = t->ack_owed = 0;
    t->rtx_at = t->tw_at = t->ack_at = 0;
    t->rto = RT_TCP_RTO_MIN_NS;
    t->mss = 536;
    t->snd_wnd = 0;
    t->snd_shift = t->rcv_shift = 0;
    t->ws_ok = 0;
}

void rt_tcp_init(struct rt_tcp *t, struct rt_net *n, void *snd, uint32_t snd_size, void *rcv,
                 uint32_t rcv_size)
{
    memset(t, 0, sizeof(*t));
    t->n = n;
    t->snd_buf = snd;
    t->snd_size = snd_size;
    t->rcv_buf = rcv;
    t->rcv_size = rcv_size;
    t->state = RT_TCP_CLOSED;
    reset_block(t);
    n->tcp = t;
}

static uint32_t make_iss(const struct rt_tcp *t)
{
    uint64_t x = t->n->now ^ ((uint64_t)t->lport << 32 | (uint64_t)t->rport << 16) ^ t->rip;

    x *= 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(x >> 32);
}

/* The connection is over: back to LISTEN if we serve, else CLOSED. */
static void finish(struct rt_tcp *t, int error)
{
    if (error)
        t->error = error;
    reset_block(t);
    t->state = t->listening ? RT_TCP_LISTEN : RT_TCP_CLOSED;
}

/* ---- output ---- */

/* Copy len bytes at offset off (from snd_una) out of the send ring. */
static void ring_out(const struct rt_tcp *t, uint8_t *dst, uint32_t off, uint32_t len)
{
    uint32_t pos = (t->snd_head + off) % t->snd_size, first = min32(len, t->snd_size - pos);

    rt_net_copy(dst, t->snd_buf + pos, first);
    if (len > first)
        rt_net_copy(dst + first, t->snd_buf, len - first);
}

/* Write the TCP header and len bytes of data (from offset off of the send ring) at h; the
 * checksum complete, or (partial) only the pseudo-header sum, for segmentation offload. */
static uint32_t build_seg(struct rt_tcp *t, uint8_t *h, uint32_t seq, uint8_t flags, uint32_t off,
                          uint32_t len, int partial)
{
    struct rt_net *n = t->n;
    /* a SYN carries MSS, and window scale when we offer it (active open) or the peer did */
    int ws = (flags & F_SYN) && (!(flags & F_ACK) ? wanted_shift(t) > 0 : t->ws_ok);
    uint32_t hlen = flags & F_SYN ? RT_TCP_HLEN + 4 + (ws ? 4u : 0u) : RT_TCP_HLEN;
    uint32_t sum, wf;

    rt_put16(h, t->lport);
    rt_put16(h + 2, t->rport);
    rt_put32(h + 4, seq);
    rt_put32(h + 8, flags & F_ACK ? t->rcv_nxt : 0);
    h[12] = (uint8_t)(hlen / 4 << 4);
    h[13] = flags;
    /* the window of a SYN is never scaled */
    wf = flags & F_SYN ? min32(rcv_window(t), 65535) : rcv_window(t) >> t->rcv_shift;
    rt_put16(h + 14, (uint16_t)wf);
    if (flags & F_ACK)
        t->rcv_adv = t->rcv_nxt + (flags & F_SYN ? wf : wf << t->rcv_shift);
    rt_put32(h + 16, 0);                       /* checksum, urgent pointer */
    if (flags & F_SYN) {
        h[20] = 2;
        h[21] = 4;
        rt_put16(h + 22, RT_TCP_MSS);
        if (ws) {
            h[24] = 1;                         /* NOP, then kind 3 length 3 shift */
            h[25] = 3;
            h[26] = 3;
            h[27] = !(flags & F_ACK) ? wanted_shift(t) : t->rcv_shift;
        }
    }
    if (len)
        ring_out(t, h + hlen, off, len);
    sum = rt_csum_pseudo(n->ip, t->rip, RT_IPPROTO_TCP, (uint16_t)(hlen + len));
    rt_put16(h + 16, partial ? (uint16_t)~rt_csum_fold(sum) : rt_csum_fold(rt_csum_add(sum, h, hlen + len)));
    return hlen;
}

static void sent_seg(struct rt_tcp *t, uint8_t flags)
{
    t->n->st.tcp_tx++;
    if (flags & F_ACK) {
        t->ack_owed = 0;
        t->ack_at = 0;
    }
}

static int send_seg(struct rt_tcp *t, uint32_t seq, uint8_t flags, uint32_t off, uint32_t len)
{
    struct rt_net *n = t->n;
    uint8_t *b = n->ops.tx_get(n->ops.ctx);
    uint32_t hlen;
    int rc;

    if (!b) {
        n->st.tx_nobuf++;
        return -RT_NET_EAGAIN;
    }
    hlen = build_seg(t, b + RT_ETH_HLEN + RT_IP_HLEN, seq, flags, off, len, 0);
    rc = rt_ip_send(n, b, t->rmac, t->rip, RT_IPPROTO_TCP, hlen + len);
    if (rc == 0)
        sent_seg(t, flags);
    return rc;
}

/* One data segment of up to the offload size in a gso_get buffer b (taken by the caller). */
static int send_gso(struct rt_tcp *t, uint8_t *b, uint32_t seq, uint8_t flags, uint32_t off,
                    uint32_t len)
{
    struct rt_net *n = t->n;
    uint32_t hlen = build_seg(t, b + RT_ETH_HLEN + RT_IP_HLEN, seq, flags, off, len, 1);
    int rc = rt_ip_send_gso(n, b, t->rmac, t->rip, hlen + len, t->mss);

    if (rc == 0) {
        sent_seg(t, flags);
        n->st.tcp_tx_gso++;
    }
    return rc;
}

/* The most data one offloaded segment carries: whole MSS-sized pieces within an IPv4 packet. */
static uint32_t gso_cap(const struct rt_tcp *t)
{
    return (RT_NET_GSO_IP_MAX - RT_IP_HLEN - RT_TCP_HLEN) / t->mss * t->mss;
}

/* Send [snd_nxt, snd_nxt + avail): one offloaded segment when the device takes one and more
 * than an MSS is to go, else one MSS. The bytes sent, or a negative errno. */
static int send_data(struct rt_tcp *t, uint32_t avail, uint32_t data_end)
{
    struct rt_net *n = t->n;
    uint8_t *big = avail > t->mss && n->ops.gso_get ? n->ops.gso_get(n->ops.ctx) : NULL;
    uint32_t len = min32(avail, big ? gso_cap(t) : t->mss);
    uint8_t flags = F_ACK | (t->snd_nxt + len == data_end ? F_PSH : 0);
    int rc = big ? send_gso(t, big, t->snd_nxt, flags, t->snd_nxt - t->snd_una, len)
                 : send_seg(t, t->snd_nxt, flags, t->snd_nxt - t->snd_una, len);

    return rc < 0 ? rc : (int)len;
}

static void arm_rtx(struct rt_tcp *t)
{
    if (!t->rtx_at)
        t->rtx_at = t->n->now + t->rto;
}

static int can_send_data(int state)
{
    return state == RT_TCP_ESTABLISHED || state == RT_TCP_CLOSE_WAIT ||
           state == RT_TCP_FIN_WAIT_1 || state == RT_TCP_CLOSING || state == RT_TCP_LAST_ACK;
}

static void send_fin(struct rt_tcp *t)
{
    if (send_seg(t, t->snd_nxt, F_FIN | F_ACK, 0, 0) < 0)
        return;
    t->snd_nxt++;
    if (SEQ_GT(t->snd_nxt, t->snd_max))
        t->snd_max = t->snd_nxt;
    arm_rtx(t);
    if (!t->fin_sent) {
        t->fin_sent = 1;
        t->state = t->state == RT_TCP_CLOSE_WAIT ? RT_TCP_LAST_ACK : RT_TCP_FIN_WAIT_1;
    }
}

void rt_tcp_output(struct rt_tcp *t)
{
    uint32_t data_end = t->snd_una + t->snd_len, win_end = t->snd_una + t->snd_wnd;

    if (can_send_data(t->state)) {
        while (SEQ_LT(t->snd_nxt, data_end) && SEQ_LT(t->snd_nxt, win_end)) {
            int len;
            /* with segmentation offload, a tail shorter than the MSS waits while data is in
             * flight (Nagle, RFC 896): a stream of writes then goes out in whole segments */
            if (t->n->ops.gso_get && data_end - t->snd_nxt < t->mss && t->snd_nxt != t->snd_una &&
                !t->fin_queued)
                break;
            len = send_data(t, min32(data_end - t->snd_nxt, win_end - t->snd_nxt), data_end);
            if (len < 0)
                break;
            t->snd_nxt += (uint32_t)len;
            if (SEQ_GT(t->snd_nxt, t->snd_max)) {
                t->tx_bytes += t->snd_nxt - t->snd_max;   /* new data, not resent */
                t->snd_max = t->snd_nxt;
            }
            arm_rtx(t);
        }
        if (t->fin_queued && t->snd_nxt == data_end)
            send_fin(t);
        if (t->snd_len && !t->snd_wnd && t->snd_nxt == t->snd_una)
            arm_rtx(t);                        /* zero window: the timer probes */
    }
    if (t->ack_owed >= 2 && t->state != RT_TCP_SYN_SENT)
        send_seg(t, t->snd_nxt, F_ACK, 0, 0);
}

/* A RST answering a segment that belongs to no connection (RFC 793's reset generation). */
static void send_reset(struct rt_net *n, const uint8_t *mac, uint32_t dst, const struct seg *s)
{
    struct rt_tcp tmp;

    if (s->flags & F_RST)
        return;
    memset(&tmp, 0, sizeof(tmp));
    tmp.n = n;
    tmp.rip = dst;
    tmp.lport = s->dport;
    tmp.rport = s->sport;
    memcpy(tmp.rmac, mac, 6);
    if (s->flags & F_ACK) {
        send_seg(&tmp, s->ack, F_RST, 0, 0);
    } else {
        tmp.rcv_nxt = s->seq + s->dlen + !!(s->flags & F_SYN) + !!(s->flags & F_FIN);
        send_seg(&tmp, 0, F_RST | F_ACK, 0, 0);
    }
    n->st.tcp_rst_sent++;
}

/* ---- the application's side ---- */

int rt_tcp_listen(struct rt_tcp *t, uint16_t port)
{
    if (!port || (t->state != RT_TCP_CLOSED && t->state != RT_TCP_LISTEN))
        return -RT_NET_EINVAL;
    reset_block(t);
    t->lport = port;
    t->listening = 1;
    t->error = 0;
    t->state = RT_TCP_LISTEN;
    return 0;
}

int rt_tcp_connect(struct rt_tcp *t, uint32_t ip, uint16_t rport, uint16_t lport)
{
    int rc;

    if (t->state != RT_TCP_CLOSED || !rport)
        return -RT_NET_EINVAL;
    if ((rc = rt_net_resolve(t->n, ip, t->rmac)) < 0)
        return rc;
    reset_block(t);
    t->rip = ip;
    t->rport = rport;
    t->lport = lport ? lport : (uint16_t)(49152 + (t->n->now >> 10) % 16384);
    t->listening = 0;
    t->error = 0;
    t->iss = make_iss(t);
    t->snd_una = t->snd_nxt = t->snd_max = t->iss;
    t->state = RT_TCP_SYN_SENT;
    if (send_seg(t, t->iss, F_SYN, 0, 0) == 0)
        t->snd_nxt = t->snd_max = t->iss + 1;
    arm_rtx(t);
    return 0;
}

int rt_tcp_send(struct rt_tcp *t, const void *data, size_t len)
{
    uint32_t take, pos, first;

    if ((t->state != RT_TCP_ESTABLISHED && t->state != RT_TCP_CLOSE_WAIT) || t->fin_queued)
        return -RT_NET_ENOTCONN;
    take = (uint32_t)(len < t->snd_size - t->snd_len ? len : t->snd_size - t->snd_len);
    pos = (t->snd_head + t->snd_len) % t->snd_size;
    first = min32(take, t->snd_size - pos);
    rt_net_copy(t->snd_buf + pos, data, first);
    if (take > first)
        rt_net_copy(t->snd_buf, (const uint8_t *)data + first, take - first);
    t->snd_len += take;
    rt_tcp_output(t);
    return (int)take;
}

int rt_tcp_recv(struct rt_tcp *t, void *buf, size_t len)
{
    uint32_t take = (uint32_t)(len < t->rcv_len ? len : t->rcv_len);
    uint32_t first = min32(take, t->rcv_size - t->rcv_head);

    if (buf) {
        rt_net_copy(buf, t->rcv_buf + t->rcv_head, first);
        if (take > first)
            rt_net_copy((uint8_t *)buf + first, t->rcv_buf, take - first);
    }
    t->rcv_head = (t->rcv_head + take) % t->rcv_size;
    t->rcv_len -= take;
    /* the window's right edge moved by half the buffer or 64 KiB (the most a segment carries)
     * past what we last advertised: tell the peer, which may be waiting for it (RFC 1122's
     * receiver-side silly window avoidance, in whole offloaded segments) */
    if (take && (int32_t)(t->rcv_nxt + rcv_window(t) - t->rcv_adv) >= (int32_t)min32(t->rcv_size / 2, 65536) &&
        (t->state == RT_TCP_ESTABLISHED || t->state == RT_TCP_FIN_WAIT_1 ||
         t->state == RT_TCP_FIN_WAIT_2))
        send_seg(t, t->snd_nxt, F_ACK, 0, 0);
    return (int)take;
}

int rt_tcp_eof(const struct rt_tcp *t)
{
    return t->fin_rcvd && !t->rcv_len;
}

uint32_t rt_tcp_unsent(const struct rt_tcp *t)
{
    return t->snd_len;
}

int rt_tcp_close(struct rt_tcp *t)
{
    switch (t->state) {
    case RT_TCP_LISTEN:
        t->listening = 0;
        finish(t, 0);
        break;
    case RT_TCP_SYN_SENT:
        finish(t, 0);
        break;
    case RT_TCP_SYN_RCVD:
    case RT_TCP_ESTABLISHED:
    case RT_TCP_CLOSE_WAIT:
        t->fin_queued = 1;
        rt_tcp_output(t);
        break;
    default:
        break;
    }
    return 0;
}

void rt_tcp_abort(struct rt_tcp *t)
{
    if (t->state != RT_TCP_CLOSED && t->state != RT_TCP_LISTEN && t->state != RT_TCP_SYN_SENT)
        send_seg(t, t->snd_nxt, F_RST | F_ACK, 0, 0);
    t->listening = 0;
    finish(t, -RT_NET_ECONNRESET);
}

/* ---- input ---- */

static int parse(const uint8_t *p, size_t len, struct seg *s)
{
    size_t doff;

    if (len < RT_TCP_HLEN || (doff = (size_t)(p[12] >> 4) * 4) < RT_TCP_HLEN || doff > len)
        return -1;
    s->sport = rt_get16(p);
    s->dport = rt_get16(p + 2);
    s->seq = rt_get32(p + 4);
    s->ack = rt_get32(p + 8);
    s->flags = p[13] & 0x3f;
    s->wnd = rt_get16(p + 14);
    s->data = p + doff;
    s->dlen = (uint32_t)(len - doff);
    s->mss = 0;
    s->wscale = -1;
    for (size_t i = RT_TCP_HLEN; i < doff;) {  /* options: MSS and window scale are read */
        uint8_t kind = p[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= doff || p[i + 1] < 2 || i + p[i + 1] > doff)
            break;                             /* malformed: ignore the rest */
        if (kind == 2 && p[i + 1] == 4)
            s->mss = rt_get16(p + i + 2);
        if (kind == 3 && p[i + 1] == 3)
            s->wscale = p[i + 2];
        i += p[i + 1];
    }
    return 0;
}

static void take_mss(struct rt_tcp *t, const struct seg *s)
{
    uint16_t m = s->mss ? s->mss : 536;

    t->mss = m < 64 ? 64 : m > RT_TCP_MSS ? RT_TCP_MSS : m;
}

static void listen_input(struct rt_tcp *t, const uint8_t *mac, uint32_t src, const struct seg *s)
{
    if (s->flags & F_RST)
        return;
    if ((s->flags & F_ACK) || !(s->flags & F_SYN)) {
        send_reset(t->n, mac, src, s);
        return;
    }
    reset_block(t);
    t->rip = src;
    t->rport = s->sport;
    memcpy(t->rmac, mac, 6);
    t->irs = s->seq;
    t->rcv_nxt = s->seq + 1;
    take_mss(t, s);
    take_wscale(t, s);
    t->iss = make_iss(t);
    t->snd_una = t->iss;
    t->snd_wnd = s->wnd;
    t->state = RT_TCP_SYN_RCVD;
    t->error = 0;
    if (send_seg(t, t->iss, F_SYN | F_ACK, 0, 0) == 0)
        t->snd_nxt = t->snd_max = t->iss + 1;
    else
        t->snd_nxt = t->snd_max = t->iss;
    arm_rtx(t);
}

static void syn_sent_input(struct rt_tcp *t, const struct seg *s)
{
    int ack_ok = (s->flags & F_ACK) && s->ack == t->iss + 1;

    if ((s->flags & F_ACK) && !ack_ok) {
        if (!(s->flags & F_RST))
            send_reset(t->n, t->rmac, t->rip, s);
        return;
    }
    if (s->flags & F_RST) {
        if (ack_ok)
            finish(t, -RT_NET_ECONNREFUSED);
        return;
    }
    if (!(s->flags & F_SYN) || !ack_ok)
        return;                                /* simultaneous open is not supported */
    t->irs = s->seq;
    t->rcv_nxt = s->seq + 1;
    take_mss(t, s);
    take_wscale(t, s);
    t->snd_una = t->snd_nxt = t->snd_max = t->iss + 1;
    t->snd_wnd = s->wnd;
    t->syn_acked = 1;
    t->rtx_at = 0;
    t->retries = 0;
    t->state = RT_TCP_ESTABLISHED;
    send_seg(t, t->snd_nxt, F_ACK, 0, 0);
}

/* Is the segment inside our receive window (RFC 793's four cases)? */
static int acceptable(const struct rt_tcp *t, const struct seg *s)
{
    uint32_t wnd = rcv_window(t), len = s->dlen + !!(s->flags & F_FIN);

    if (!len)
        return wnd ? SEQ_GEQ(s->seq, t->rcv_nxt) && SEQ_LT(s->seq, t->rcv_nxt + wnd)
                   : s->seq == t->rcv_nxt;
    if (!wnd)
        return 0;
    return SEQ_LT(s->seq, t->rcv_nxt + wnd) && SEQ_GT(s->seq + len, t->rcv_nxt);
}

/* The cumulative ACK; 0 to go on with the segment, -1 when it is done with. */
static int ack_input(struct rt_tcp *t, const struct seg *s)
{
    uint32_t fin_seq = t->snd_una + t->snd_len;

    if (t->state == RT_TCP_SYN_RCVD) {
        if (s->ack != t->iss + 1) {
            send_reset(t->n, t->rmac, t->rip, s);
            return -1;
        }
        t->snd_una = t->iss + 1;
        t->syn_acked = 1;
        t->state = RT_TCP_ESTABLISHED;
        t->rtx_at = 0;
        t->retries = 0;
        fin_seq = t->snd_una + t->snd_len;
    }
    if (SEQ_GT(s->ack, t->snd_max)) {           /* acknowledges what we never sent */
        send_seg(t, t->snd_nxt, F_ACK, 0, 0);
        return -1;
    }
    if (SEQ_GT(s->ack, t->snd_una)) {
        uint32_t acked = min32(s->ack - t->snd_una, t->snd_len);
        t->snd_head = (t->snd_head + acked) % t->snd_size;
        t->snd_len -= acked;
        t->snd_una = s->ack;
        if (SEQ_LT(t->snd_nxt, t->snd_una))
            t->snd_nxt = t->snd_una;
        t->retries = 0;
        t->dupacks = 0;
        t->rto = RT_TCP_RTO_MIN_NS;
        t->rtx_at = 0;
        if (t->snd_nxt != t->snd_una)
            arm_rtx(t);
        if (t->fin_sent && s->ack == fin_seq + 1) {   /* our FIN is acknowledged */
            if (t->state == RT_TCP_FIN_WAIT_1)
                t->state = RT_TCP_FIN_WAIT_2;
            else if (t->state == RT_TCP_CLOSING) {
                t->state = RT_TCP_TIME_WAIT;
                t->tw_at = t->n->now + RT_TCP_TIME_WAIT_NS;
            } else if (t->state == RT_TCP_LAST_ACK) {
                finish(t, 0);
                return -1;
            }
        }
    } else if (s->ack == t->snd_una && !s->dlen && t->snd_nxt != t->snd_una &&
               ((uint32_t)s->wnd << t->snd_shift) == t->snd_wnd && ++t->dupacks == 3 && t->snd_len) {
        uint32_t len = min32(min32(t->snd_len, t->mss), t->snd_nxt - t->snd_una);
        if (len && send_seg(t, t->snd_una, F_ACK, 0, len) == 0) {   /* fast retransmit */
            t->retransmits++;
            t->n->st.tcp_retx++;
        }
    }
    if (SEQ_GEQ(s->ack, t->snd_una))
        t->snd_wnd = (uint32_t)s->wnd << t->snd_shift;
    return 0;
}

/* In-order data and FIN. */
static void data_input(struct rt_tcp *t, struct seg *s)
{
    int fin = !!(s->flags & F_FIN);

    if (SEQ_LT(s->seq, t->rcv_nxt)) {          /* trim what we already have */
        uint32_t skip = t->rcv_nxt - s->seq;
        if (skip > s->dlen) {
            fin = 0;                            /* the FIN too is old */
            skip = s->dlen;
        }
        s->data += skip;
        s->dlen -= skip;
        s->seq += skip;
    }
    if (s->seq != t->rcv_nxt) {                 /* a gap: ask again for rcv_nxt */
        send_seg(t, t->snd_nxt, F_ACK, 0, 0);
        return;
    }
    if (s->dlen) {
        uint32_t take = min32(s->dlen, t->rcv_size - t->rcv_len);
        uint32_t pos = (t->rcv_head + t->rcv_len) % t->rcv_size, first = min32(take, t->rcv_size - pos);
        rt_net_copy(t->rcv_buf + pos, s->data, first);
        if (take > first)
            rt_net_copy(t->rcv_buf, s->data + first, take - first);
        t->rcv_len += take;
        t->rcv_nxt += take;
        t->rx_bytes += take;
        if (take < s->dlen)
            fin = 0;                            /* cut: the FIN comes again later */
        if (take) {
            t->ack_owed += take > RT_TCP_MSS ? 2 : 1;   /* an offloaded segment: ACK at once */
            if (!t->ack_at)
                t->ack_at = t->n->now + RT_TCP_ACK_DELAY_NS;
        }
    }
    if (!fin)
        return;
    t->rcv_nxt++;
    t->fin_rcvd = 1;
    if (t->state == RT_TCP_ESTABLISHED)
        t->state = RT_TCP_CLOSE_WAIT;
    else if (t->state == RT_TCP_FIN_WAIT_1)
        t->state = RT_TCP_CLOSING;
    else if (t->state == RT_TCP_FIN_WAIT_2) {
        t->state = RT_TCP_TIME_WAIT;
        t->tw_at = t->n->now + RT_TCP_TIME_WAIT_NS;
    }
    send_seg(t, t->snd_nxt, F_ACK, 0, 0);
}

static void conn_input(struct rt_tcp *t, struct seg *s)
{
    if (t->state == RT_TCP_SYN_SENT) {
        syn_sent_input(t, s);
        return;
    }
    if (t->state == RT_TCP_SYN_RCVD && (s->flags & F_SYN) && !(s->flags & F_ACK) && s->seq == t->irs) {
        send_seg(t, t->iss, F_SYN | F_ACK, 0, 0);   /* our SYN-ACK was lost */
        return;
    }
    if (!acceptable(t, s)) {
        if (!(s->flags & F_RST))
            send_seg(t, t->snd_nxt, F_ACK, 0, 0);
        return;
    }
    if (s->flags & F_RST) {
        if (s->seq == t->rcv_nxt)
            finish(t, -RT_NET_ECONNRESET);
        else
            send_seg(t, t->snd_nxt, F_ACK, 0, 0);   /* challenge ACK (RFC 5961) */
        return;
    }
    if (s->flags & F_SYN) {
        send_seg(t, t->snd_nxt, F_ACK, 0, 0);
        return;
    }
    if (!(s->flags & F_ACK) || ack_input(t, s) < 0)
        return;
    if (t->state == RT_TCP_ESTABLISHED || t->state == RT_TCP_FIN_WAIT_1 ||
        t->state == RT_TCP_FIN_WAIT_2)
        data_input(t, s);
    else if (t->state == RT_TCP_TIME_WAIT && (s->flags & F_FIN)) {
        t->tw_at = t->n->now + RT_TCP_TIME_WAIT_NS;
        send_seg(t, t->snd_nxt, F_ACK, 0, 0);
    }
    rt_tcp_output(t);
}

void rt_tcp_input(struct rt_net *n, const uint8_t *src_mac, uint32_t src, uint32_t dst,
                  const uint8_t *p, size_t len, unsigned flags)
{
    struct rt_tcp *t = n->tcp;
    struct seg s;

    if (parse(p, len, &s) < 0) {
        n->st.rx_bad++;
        return;
    }
    if (!(flags & RT_NET_RX_CSUM_BLANK) &&
        rt_csum_fold(rt_csum_add(rt_csum_pseudo(src, dst, RT_IPPROTO_TCP, (uint16_t)len), p, len))) {
        n->st.rx_csum++;
        return;
    }
    n->st.tcp_rx++;
    if (t && t->state != RT_TCP_CLOSED && t->state != RT_TCP_LISTEN && src == t->rip &&
        s.sport == t->rport && s.dport == t->lport)
        conn_input(t, &s);
    else if (t && t->state == RT_TCP_LISTEN && s.dport == t->lport)
        listen_input(t, src_mac, src, &s);
    else
        send_reset(n, src_mac, src, &s);
}

void rt_tcp_timer(struct rt_tcp *t)
{
    uint64_t now = t->n->now;

    if (t->state == RT_TCP_CLOSED || t->state == RT_TCP_LISTEN)
        return;
    if (t->state == RT_TCP_TIME_WAIT) {
        if (now >= t->tw_at)
            finish(t, 0);
        return;
    }
    if (t->rtx_at && now >= t->rtx_at) {
        int probe = t->snd_wnd == 0 && t->snd_len && t->syn_acked;
        t->rtx_at = 0;
        if (!probe && ++t->retries > RT_TCP_MAX_RETRIES) {
            if (t->state != RT_TCP_SYN_SENT)
                send_seg(t, t->snd_nxt, F_RST | F_ACK, 0, 0);
            finish(t, -RT_NET_ETIMEDOUT);      /* a server listens again */
            return;
        }
        t->rto = t->rto * 2 > RT_TCP_RTO_MAX_NS ? RT_TCP_RTO_MAX_NS : t->rto * 2;
        t->retransmits++;
        t->n->st.tcp_retx++;
        if (t->state == RT_TCP_SYN_SENT)
            send_seg(t, t->iss, F_SYN, 0, 0);
        else if (t->state == RT_TCP_SYN_RCVD)
            send_seg(t, t->iss, F_SYN | F_ACK, 0, 0);
        else if (probe) {                      /* one byte past a zero window */
            if (send_seg(t, t->snd_una, F_ACK, 0, 1) == 0 && t->snd_nxt == t->snd_una)
                t->snd_nxt = t->snd_una + 1;
            if (SEQ_GT(t->snd_nxt, t->snd_max)) {
                t->tx_bytes += t->snd_nxt - t->snd_max;
                t->snd_max = t->snd_nxt;
            }
        } else
            t->snd_nxt = t->snd_una;           /* go back N; output sends again */
        arm_rtx(t);
    }
    if (t->ack_owed && t->ack_at && now >= t->ack_at)
        send_seg(t, t->snd_nxt, F_ACK, 0, 0);
    rt_tcp_output(t);
}
