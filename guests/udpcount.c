/* udpcount - a counter service for the Remus tests (docs/remus.md): a UDP counter on the
 * runtime's IPv4 stack (rt_netif) whose value lives on the first PV disk (rt_blkfront).
 * Each increment is logged on the disk before it is answered: value V is written to sector
 * 1 + (V mod slots) as the text "udpcount V\n" (padded with zeros) and the reply leaves only
 * when that write completed. At start the value is the largest V found in the log (so the
 * state survives a restart on the same disk), and dom0 can check the image the same way.
 * Protocol (port=P, default 7001), one datagram each way:
 *   "inc S"  -> "val V S"            (V: the value after this increment; S echoed)
 *   "get S"  -> "val V S disk D"     (D: the largest value in the log, read back now)
 * Lines: udpcount: ready ip A mac M value V slots N | udpcount: FAIL <why>
 *        udpcount: alive value V   (debug=1: every 500 ms)
 * Command line: ip=A.B.C.D/len, port=P, slots=N (log sectors, default 1024; the disk must hold
 * 1 + N sectors), devid=N (vif), vbd=N (disk; 0 = the first), debug=1. */
#include "rt/keel_guest.h"

#define QMAX 64

struct req { uint32_t ip; uint16_t port; uint8_t mac[6]; int get; char seq[24]; };

static struct rt_nif nif;
static struct rt_blk *blk;
static struct req queue[QMAX];
static unsigned qlen;
static uint64_t value, slots;
static uint8_t sect[512] __attribute__((aligned(512)));
static uint8_t logbuf[64 * 512] __attribute__((aligned(512)));

static uint64_t parse_u64(const char *p, size_t len, int *ok)
{
    uint64_t v = 0;
    size_t i = 0;

    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    *ok = i > 0;
    return v;
}

/* The largest value in the log on disk (0 when empty), or a negative errno. */
static int64_t disk_value(void)
{
    uint64_t best = 0;

    for (uint64_t s = 0; s < slots; s += 64) {
        uint64_t cnt = slots - s < 64 ? slots - s : 64;
        int rc = rt_blk_read(blk, 1 + s, cnt, logbuf);
        if (rc < 0)
            return rc;
        for (uint64_t k = 0; k < cnt; k++) {
            const char *p = (const char *)logbuf + k * 512;
            int ok;
            uint64_t v;
            if (memcmp(p, "udpcount ", 9))
                continue;
            v = parse_u64(p + 9, 20, &ok);
            if (ok && v > best)
                best = v;
        }
    }
    return (int64_t)best;
}

static void on_datagram(struct rt_net *n, void *arg, uint32_t src, uint16_t sport, uint16_t dport,
                        const uint8_t *data, size_t len)
{
    struct req *r;
    size_t s;

    (void)arg;
    (void)dport;
    if (qlen == QMAX || len < 4 || len > 4 + sizeof(r->seq) - 1)
        return;                          /* full or malformed: dropped, the client retries */
    if (memcmp(data, "inc ", 4) && memcmp(data, "get ", 4))
        return;
    r = &queue[qlen++];
    r->ip = src;
    r->port = sport;
    memcpy(r->mac, n->rx_mac, 6);
    r->get = data[0] == 'g';
    for (s = 0; s < len - 4 && data[4 + s] >= '0' && data[4 + s] <= '9'; s++)
        r->seq[s] = (char)data[4 + s];
    r->seq[s] = 0;
}

static void answer(const struct req *r)
{
    char out[96];
    int len;

    if (r->get) {
        int64_t d = disk_value();
        len = rt_snprintf(out, sizeof(out), "val %llu %s disk %lld", (unsigned long long)value,
                          r->seq, (long long)d);
    } else {
        int rc;
        value++;
        memset(sect, 0, sizeof(sect));
        rt_snprintf((char *)sect, sizeof(sect), "udpcount %llu\n", (unsigned long long)value);
        if ((rc = rt_blk_write(blk, 1 + value % slots, 1, sect)) < 0) {
            value--;
            rt_printf("udpcount: FAIL write of value %llu: %d\n",
                      (unsigned long long)value + 1, rc);
            return;                      /* no answer: the increment did not happen */
        }
        len = rt_snprintf(out, sizeof(out), "val %llu %s", (unsigned long long)value, r->seq);
    }
    rt_udp_send_mac(&nif.net, r->mac, r->ip, (uint16_t)rt_arg_u64("port", 7001), r->port, out,
                    (size_t)len);
}

static void serve(void)
{
    const struct rt_nf_info *info = rt_nf_get_info(nif.nf);
    char a[16];

    rt_udp_bind(&nif.net, (uint16_t)rt_arg_u64("port", 7001), on_datagram, NULL);
    rt_printf("udpcount: ready ip %s mac %02x:%02x:%02x:%02x:%02x:%02x value %llu slots %llu\n",
              rt_nif_ntoa(nif.net.ip, a), info->mac[0], info->mac[1], info->mac[2], info->mac[3],
              info->mac[4], info->mac[5], (unsigned long long)value, (unsigned long long)slots);
    uint64_t beat = rt_now();
    for (;;) {
        int n = rt_nif_poll(&nif);
        if (n == -19)
            return;
        if (rt_arg_u64("debug", 0) && rt_now() >= beat) {
            beat = rt_now() + 500000000ULL;
            rt_printf("udpcount: alive value %llu\n", (unsigned long long)value);
        }
        for (unsigned i = 0; i < qlen; i++)
            answer(&queue[i]);
        qlen = 0;
        if (n == 0)
            rt_nif_wait(&nif, rt_now() + 1000000000ULL);
    }
}

int main(void)
{
    struct rt_nf_opts o = { .timeout_ms = 30000 };
    int64_t v;
    int err = 0;

    slots = rt_arg_u64("slots", 1024);
    if (!(blk = rt_blk_open((uint32_t)rt_arg_u64("vbd", 0), NULL, &err))) {
        rt_printf("udpcount: FAIL open disk: %d\n", err);
        return 1;
    }
    if (slots < 1 || slots + 1 > rt_blk_get_info(blk)->sectors) {
        rt_printf("udpcount: FAIL the disk holds no %llu log sectors\n", (unsigned long long)slots);
        return 1;
    }
    if ((v = disk_value()) < 0) {
        rt_printf("udpcount: FAIL reading the log: %lld\n", (long long)v);
        return 1;
    }
    value = (uint64_t)v;
    for (;;) {
        int rc = rt_nif_open(&nif, (uint32_t)rt_arg_u64("devid", 0), &o);
        if (rc == 0)
            serve();
        else
            rt_printf("udpcount: no vif yet (%d), waiting\n", rc);
        rt_sleep_until(rt_now() + 1000000000ULL);
    }
}
