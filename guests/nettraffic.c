/* nettraffic - bulk traffic over the PV network for bench/ and tests (rt_netif: netfront + the
 * IPv4 stack). One mode per boot; it also answers ARP and ping while it runs. Output lines use
 * bench-net-ref's format so both ends of a run read alike:
 *   nettraffic: send: proto=udp|tcp pkts=N bytes=B secs=S mbit=M [txerr=E]
 *   nettraffic: sink: proto=udp|tcp pkts=N bytes=B secs=S mbit=M kpps=K [lost=L] [bad=X]
 *   nettraffic: tick: proto=udp pkts=N bytes=B      (udpsink, once a second while data flows)
 *   nettraffic: FAIL <why>
 * Modes (mode=):
 *   udpsend  peer=IP port=P size=BYTES (1..1472, default 1472) count=N or secs=S (default
 *            secs=5): datagrams as fast as tx buffers allow, each starting with its 64-bit
 *            sequence number; then three empty datagrams, 20 ms apart, mark the end
 *   udpsink  port=P (default 5001) secs=S (from the first datagram; default: until an empty
 *            datagram, or idle=S (default 3) seconds without one once data came) count=N:
 *            counts, and reports sequence gaps as lost (-1 when the sender is not nettraffic)
 *   tcpsend  peer=IP port=P bytes=N (default 256 MiB) or secs=S: one connection, a pattern
 *            stream (byte i = i*7 + (i>>8)) written 64 KiB at a time, FIN at the end; its
 *            result line also has retx=R (retransmissions) and gso=G (segments sent for
 *            segmentation offload)
 *   (tcp modes: bufkb=K, the TCP send and receive buffers, KiB each, default 512)
 *   tcpsink  port=P (default 5001) streams=N (default 1): accepts, counts, checks the pattern
 *            (verify=0 to skip), reports at FIN
 * Address: ip=A.B.C.D/len (or the backend's ip key), gw=. Powers off when done. */
#include "rt/keel_guest.h"

#define NS 1000000000ULL

static struct rt_nif nif;
static uint8_t payload[RT_UDP_MAX_PAYLOAD];

static uint64_t mbit(uint64_t bytes, uint64_t ns)
{
    return ns ? bytes * 8 * 1000 / ns : 0;
}

static void secs_str(char *b, uint64_t ns)
{
    rt_snprintf(b, 24, "%llu.%03llu", (unsigned long long)(ns / NS),
                (unsigned long long)(ns % NS / 1000000));
}

/* Poll, and sleep until something happens or ns pass when nothing did. */
static int step(uint64_t ns)
{
    int n = rt_nif_poll(&nif);

    if (n == -19)
        return n;
    if (n == 0 && ns)
        rt_nif_wait(&nif, rt_now() + ns);
    return n;
}

static int parse_peer(uint32_t *ip)
{
    if (rt_net_parse_ip(rt_arg("peer"), ip, NULL) < 0) {
        rt_printf("nettraffic: FAIL peer=IP missing or bad\n");
        return -1;
    }
    return 0;
}

/* Resolve the peer's MAC (ARP) within 5 s. */
static int resolve(uint32_t ip)
{
    uint64_t until = rt_now() + 5 * NS;
    uint8_t mac[6];

    while (rt_now() < until) {
        nif.net.now = rt_now();
        if (rt_net_resolve(&nif.net, ip, mac) == 0)
            return 0;
        if (step(10000000ULL) == -19)
            break;
    }
    rt_printf("nettraffic: FAIL no ARP answer from the peer\n");
    return -1;
}

static int udpsend(void)
{
    uint32_t peer, size = (uint32_t)rt_arg_u64("size", RT_UDP_MAX_PAYLOAD);
    uint16_t port = (uint16_t)rt_arg_u64("port", 5001);
    uint64_t count = rt_arg_u64("count", 0), secs = rt_arg_u64("secs", count ? 0 : 5);
    uint64_t seq = 0, bytes = 0, start, end;
    char s[24];

    if (parse_peer(&peer) < 0 || resolve(peer) < 0)
        return 1;
    if (size < 8 || size > RT_UDP_MAX_PAYLOAD)
        size = size < 8 ? 8 : RT_UDP_MAX_PAYLOAD;
    start = rt_now();
    end = secs ? start + secs * NS : 0;
    while ((!count || seq < count) && (!end || rt_now() < end)) {
        memcpy(payload, &seq, 8);
        nif.net.now = rt_now();
        int rc = rt_udp_send(&nif.net, peer, 5001, port, payload, size);
        if (rc == 0) {
            seq++;
            bytes += size;
            if (seq % 64 == 0 && step(0) == -19)
                break;
        } else if (rc == -11) {
            if (step(1000000ULL) == -19)
                break;
        } else {
            rt_printf("nettraffic: FAIL udp send %d\n", rc);
            return 1;
        }
    }
    end = rt_now();
    /* the end markers, 20 ms apart: a sink whose queue overflowed under the burst drains first */
    for (int i = 0; i < 3; i++) {
        uint64_t gap = rt_now() + 20000000ULL, t;
        while ((t = rt_now()) < gap)
            if (step(gap - t) == -19)
                break;
        while (rt_udp_send(&nif.net, peer, 5001, port, payload, 0) == -11)
            if (step(1000000ULL) == -19)
                break;
    }
    secs_str(s, end - start);
    const struct rt_nf_stats *st = rt_nf_get_stats(nif.nf);
    rt_printf("nettraffic: send: proto=udp pkts=%llu bytes=%llu secs=%s mbit=%llu txerr=%llu "
              "txfull=%llu notify=%llu events=%llu\n",
              (unsigned long long)seq, (unsigned long long)bytes, s,
              (unsigned long long)mbit(bytes, end - start), (unsigned long long)st->tx_errors,
              (unsigned long long)st->tx_full, (unsigned long long)st->tx_notify,
              (unsigned long long)st->kicks);
    return 0;
}

struct sink {
    uint64_t pkts, bytes, first, last, next_seq, lost, tick_at;
    int done, foreign;                   /* foreign: payloads are not our sequence numbers */
};

static void on_dgram(struct rt_net *n, void *arg, uint32_t src, uint16_t sport, uint16_t dport,
                     const uint8_t *data, size_t len)
{
    struct sink *k = arg;
    uint64_t seq;

    (void)src, (void)sport, (void)dport;
    if (!len) {
        if (k->pkts)
            k->done = 1;
        return;
    }
    if (!k->pkts)
        k->first = k->tick_at = n->now;
    k->pkts++;
    k->bytes += len;
    k->last = n->now;
    if (len >= 8 && !k->foreign) {
        memcpy(&seq, data, 8);
        if (seq > k->next_seq + (1u << 20))
            k->foreign = 1;              /* not nettraffic's udpsend: no loss count */
        else if (seq > k->next_seq)
            k->lost += seq - k->next_seq;
        if (seq >= k->next_seq)
            k->next_seq = seq + 1;
    }
}

static int udpsink(void)
{
    static struct sink k;
    uint16_t port = (uint16_t)rt_arg_u64("port", 5001);
    uint64_t secs = rt_arg_u64("secs", 0), count = rt_arg_u64("count", 0), ns;
    uint64_t idle = rt_arg_u64("idle", 3);
    char s[24];

    rt_udp_bind(&nif.net, port, on_dgram, &k);
    rt_printf("nettraffic: udpsink listening on port %u\n", port);
    while (!k.done && (!count || k.pkts < count) && (!secs || !k.pkts || rt_now() < k.first + secs * NS)) {
        if (step(100000000ULL) == -19)
            break;
        if (k.pkts && rt_now() >= k.last + idle * NS) {
            rt_printf("nettraffic: udpsink: nothing for %llu s: the end markers were lost\n",
                      (unsigned long long)idle);
            break;                       /* a sender gone, or its end markers dropped */
        }
        if (k.pkts && rt_now() >= k.tick_at + NS) {
            k.tick_at += NS;
            rt_printf("nettraffic: tick: proto=udp pkts=%llu bytes=%llu\n",
                      (unsigned long long)k.pkts, (unsigned long long)k.bytes);
        }
    }
    ns = k.last - k.first;
    secs_str(s, ns);
    rt_printf("nettraffic: sink: proto=udp pkts=%llu bytes=%llu secs=%s mbit=%llu kpps=%llu lost=%lld\n",
              (unsigned long long)k.pkts, (unsigned long long)k.bytes, s,
              (unsigned long long)mbit(k.bytes, ns), (unsigned long long)(ns ? k.pkts * 1000000 / ns : 0),
              k.foreign ? -1LL : (long long)k.lost);
    return 0;
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 7 + (i >> 8));
}

/* pattern(i) repeats every 64 KiB (i * 7 and i >> 8 both wrap mod 256 there): two periods in
 * a table let a chunk of up to 64 KiB at any stream offset be sent or checked in place. */
#define PAT_PERIOD 65536u
static uint8_t pat[2 * PAT_PERIOD];

static void pat_init(void)
{
    for (uint32_t i = 0; i < sizeof(pat); i++)
        pat[i] = pattern(i);
}

/* Bytes of buf[0, n) that differ from the pattern at stream offset off (n <= PAT_PERIOD). */
static uint64_t pat_bad(const uint8_t *buf, uint32_t n, uint64_t off)
{
    const uint8_t *p = pat + off % PAT_PERIOD;
    uint64_t bad = 0;
    uint32_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        __builtin_memcpy(&a, buf + i, 8);
        __builtin_memcpy(&b, p + i, 8);
        if (a != b)
            for (uint32_t k = i; k < i + 8; k++)
                bad += buf[k] != p[k];
    }
    for (; i < n; i++)
        bad += buf[i] != p[i];
    return bad;
}

static struct rt_tcp tcb;

static int tcp_setup(void)
{
    /* 512 KiB each way (window scaling; 256 KiB gave 231 Mbit/s, 512 KiB 558, 1 MiB 372) */
    uint64_t kb = rt_arg_u64("bufkb", 512);
    uint32_t pages = (uint32_t)(kb < 16 ? 4 : kb > 65536 ? 16384 : kb / 4);
    void *snd = rt_page_alloc(pages), *rcv = rt_page_alloc(pages);

    if (!snd || !rcv) {
        rt_printf("nettraffic: FAIL no memory for TCP buffers\n");
        return -1;
    }
    rt_tcp_init(&tcb, &nif.net, snd, pages * 4096, rcv, pages * 4096);
    pat_init();
    return 0;
}

static int tcpsend(void)
{
    uint32_t peer;
    uint16_t port = (uint16_t)rt_arg_u64("port", 5001);
    uint64_t total = rt_arg_u64("bytes", rt_arg("secs") ? 0 : 256ULL << 20), secs = rt_arg_u64("secs", 0);
    uint64_t sent = 0, start, end, deadline;
    char s[24];
    int rc;

    if (parse_peer(&peer) < 0 || resolve(peer) < 0 || tcp_setup() < 0)
        return 1;
    deadline = rt_now() + 10 * NS;             /* refused: the sink may not listen yet */
    do {
        nif.net.now = rt_now();
        if ((rc = rt_tcp_connect(&tcb, peer, port, 0)) < 0) {
            rt_printf("nettraffic: FAIL connect %d\n", rc);
            return 1;
        }
        while (tcb.state == RT_TCP_SYN_SENT && rt_now() < deadline)
            step(10000000ULL);
        if (tcb.state == RT_TCP_CLOSED && tcb.error == -RT_NET_ECONNREFUSED)
            rt_sleep_until(rt_now() + NS / 5);
    } while (tcb.state == RT_TCP_CLOSED && tcb.error == -RT_NET_ECONNREFUSED && rt_now() < deadline);
    if (tcb.state != RT_TCP_ESTABLISHED) {
        rt_printf("nettraffic: FAIL connect: %s error %d (segments in %llu out %llu, resets sent %llu, "
                  "csum %llu)\n", rt_tcp_state_name(tcb.state), tcb.error,
                  (unsigned long long)nif.net.st.tcp_rx, (unsigned long long)nif.net.st.tcp_tx,
                  (unsigned long long)nif.net.st.tcp_rst_sent, (unsigned long long)nif.net.st.rx_csum);
        return 1;
    }
    start = rt_now();
    end = secs ? start + secs * NS : 0;
    while ((total ? sent < total : rt_now() < end) && tcb.state == RT_TCP_ESTABLISHED) {
        uint64_t want = total && total - sent < PAT_PERIOD ? total - sent : PAT_PERIOD;
        nif.net.now = rt_now();
        rc = rt_tcp_send(&tcb, pat + sent % PAT_PERIOD, want);   /* 64 KiB writes, as the reference */
        if (rc > 0)
            sent += (uint64_t)rc;
        if (step(rc < (int)want ? 1000000ULL : 0) == -19)
            break;
    }
    nif.net.now = rt_now();
    rt_tcp_close(&tcb);
    deadline = rt_now() + 30 * NS;
    while (tcb.state != RT_TCP_CLOSED && tcb.state != RT_TCP_TIME_WAIT && tcb.state != RT_TCP_FIN_WAIT_2 &&
           rt_now() < deadline)
        step(10000000ULL);
    end = rt_now();
    secs_str(s, end - start);
    rt_printf("nettraffic: send: proto=tcp pkts=%llu bytes=%llu secs=%s mbit=%llu retx=%llu gso=%llu "
              "state=%s error=%d\n", (unsigned long long)nif.net.st.tcp_tx,
              (unsigned long long)tcb.tx_bytes, s, (unsigned long long)mbit(tcb.tx_bytes, end - start),
              (unsigned long long)tcb.retransmits, (unsigned long long)nif.net.st.tcp_tx_gso,
              rt_tcp_state_name(tcb.state), tcb.error);
    return tcb.error ? 1 : 0;
}

static int tcpsink(void)
{
    static uint8_t buf[PAT_PERIOD];
    uint16_t port = (uint16_t)rt_arg_u64("port", 5001);
    uint64_t streams = rt_arg_u64("streams", 1), verify = rt_arg_u64("verify", 1);

    if (tcp_setup() < 0 || rt_tcp_listen(&tcb, port) < 0)
        return 1;
    rt_printf("nettraffic: tcpsink listening on port %u\n", port);
    for (uint64_t k = 0; !streams || k < streams; k++) {
        uint64_t got = 0, bad = 0, start = 0, pkts0;
        char s[24];
        while (tcb.state == RT_TCP_LISTEN || tcb.state == RT_TCP_SYN_RCVD)
            if (step(100000000ULL) == -19)
                return 1;
        start = rt_now();
        pkts0 = nif.net.st.tcp_rx;
        while (!rt_tcp_eof(&tcb) && tcb.state != RT_TCP_LISTEN) {
            int n;
            nif.net.now = rt_now();
            while ((n = rt_tcp_recv(&tcb, verify ? buf : NULL, sizeof(buf))) > 0) {
                if (verify)
                    bad += pat_bad(buf, (uint32_t)n, got);
                got += (uint64_t)n;
            }
            if (rt_tcp_eof(&tcb))
                break;
            if (step(10000000ULL) == -19)
                return 1;
        }
        uint64_t ns = rt_now() - start;
        nif.net.now = rt_now();
        rt_tcp_close(&tcb);
        secs_str(s, ns);
        rt_printf("nettraffic: sink: proto=tcp pkts=%llu bytes=%llu secs=%s mbit=%llu kpps=%llu bad=%llu "
                  "state=%s\n", (unsigned long long)(nif.net.st.tcp_rx - pkts0), (unsigned long long)got, s,
                  (unsigned long long)mbit(got, ns),
                  (unsigned long long)(ns ? (nif.net.st.tcp_rx - pkts0) * 1000000 / ns : 0),
                  (unsigned long long)bad, rt_tcp_state_name(tcb.state));
        uint64_t until = rt_now() + 5 * NS;    /* our FIN is acknowledged, back to LISTEN */
        while (tcb.state != RT_TCP_LISTEN && rt_now() < until)
            step(10000000ULL);
    }
    return 0;
}

int main(void)
{
    const char *mode = rt_arg("mode");
    struct rt_nf_opts o = { .timeout_ms = 60000 };
    int rc;

    if ((rc = rt_nif_open(&nif, (uint32_t)rt_arg_u64("devid", 0), &o)) < 0) {
        rt_printf("nettraffic: FAIL no vif (%d)\n", rc);
        return 1;
    }
    for (int i = 0; i < 5; i++)                /* the first gratuitous ARP goes out */
        step(1000000ULL);
    if (mode && !strncmp(mode, "udpsend", 7))
        rc = udpsend();
    else if (mode && !strncmp(mode, "udpsink", 7))
        rc = udpsink();
    else if (mode && !strncmp(mode, "tcpsend", 7))
        rc = tcpsend();
    else if (mode && !strncmp(mode, "tcpsink", 7))
        rc = tcpsink();
    else {
        rt_printf("nettraffic: FAIL mode=udpsend|udpsink|tcpsend|tcpsink\n");
        rc = 1;
    }
    for (uint64_t until = rt_now() + NS / 2; rt_now() < until;)   /* the last frames leave */
        step(1000000ULL);
    return rc;
}
