/* netevil - a PV network frontend written by hand for keel-netback's tests: it sets up its own
 * tx and rx rings (one page each, granted to domain 0), split or shared event channels, writes
 * the frontend keys of docs/device-net.md and goes Connected; then, by mode:
 *   mode=good  sends well-formed UDP broadcast frames from its MAC and ip= ("netevil <domid>
 *              seq N"), one every 100 ms until run= seconds passed, posts rx buffers and prints
 *              every frame the backend delivers to it.
 *   mode=evil  one good frame, then the attacks, one line each with the status it got:
 *              oversized (3000 bytes without GSO), badoffset (a fragment crossing its page),
 *              toomany (19 slots), notgranted (a reference it never granted), tinyflood (200
 *              runts of 10 bytes at once), spoofmac, spoofip, badextra (an unknown extra type);
 *              then it keeps sending fatal ones until the backend disables the vif (BE state 6).
 *   mode=flood sends 1514-byte frames as fast as the ring allows (128 per push) for run= seconds
 *              and prints the rate the backend took them at (a quick tx throughput figure).
 * Lines: "netevil: connected ...", "netevil: tx seq N status S", "netevil: rx len L ...",
 *        "netevil: attack=NAME status S [count N]", "netevil: disabled after N more (state S)".
 * Arguments: devid=N (default 0), mode=good|evil, ip=a.b.c.d, split=0|1, run=seconds. */
#include "rt/keel_guest.h"

#include "keel/io/netif.h"
#include "keel/io/xenbus.h"

#define NRX 64

static struct rt_xb_dev xb;
static struct keel_netif_tx_front tx;
static struct keel_netif_rx_front rx;
static uint32_t port_tx, port_rx;
static uint8_t *data;                    /* the page frames are built in (granted read-only) */
static int data_ref;
static uint8_t *rxpage[NRX];
static int rxref[NRX];
static uint8_t mac[6], myip[4];
static uint16_t next_id;

static void on_event(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int parse_ip(const char *s, uint8_t ip[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned v = 0, n = 0;
        while (*s >= '0' && *s <= '9' && n < 4)
            v = v * 10 + (unsigned)(*s++ - '0'), n++;
        if (!n || v > 255 || (i < 3 && *s++ != '.'))
            return -1;
        ip[i] = (uint8_t)v;
    }
    return 0;
}

/* Our own bind: device/vif/<devid> (devid 0 is a valid vif), its backend from the FE keys. */
static int bind_dev(uint32_t devid)
{
    memset(&xb, 0, sizeof(xb));
    xb.devid = devid;
    rt_snprintf(xb.fe, sizeof(xb.fe), "device/vif/%u", devid);
    rt_snprintf(xb.token, sizeof(xb.token), "netevil-%u", devid);
    return rt_xb_read(&xb, RT_XB_FRONTEND, "backend", xb.be, sizeof(xb.be)) < 0 ? -1 : 0;
}

static void kick_tx(void)
{
    if (keel_netif_tx_front_push(&tx))
        rt_notify(port_tx);
}

static int setup(int split)
{
    uint8_t *txp = rt_page_alloc(1), *rxp = rt_page_alloc(1);
    char m[32];
    int txref, rxr;

    if (!txp || !rxp || !(data = rt_page_alloc(1)))
        return -1;
    keel_netif_tx_front_init(&tx, txp, KEEL_PAGE_SIZE);
    keel_netif_rx_front_init(&rx, rxp, KEEL_PAGE_SIZE);
    txref = rt_gnttab_grant(0, rt_virt_to_gfn(txp), 0);
    rxr = rt_gnttab_grant(0, rt_virt_to_gfn(rxp), 0);
    data_ref = rt_gnttab_grant(0, rt_virt_to_gfn(data), 1);
    if (txref < 0 || rxr < 0 || data_ref < 0)
        return -1;
    port_tx = (uint32_t)rt_alloc_unbound(0, on_event, NULL);
    port_rx = split ? (uint32_t)rt_alloc_unbound(0, on_event, NULL) : port_tx;
    if (rt_xb_read(&xb, RT_XB_FRONTEND, "mac", m, sizeof(m)) != 17)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(hexv(m[3 * i]) << 4 | hexv(m[3 * i + 1]));
    rt_xb_printf(&xb, "tx-ring-ref", "%d", txref);
    rt_xb_printf(&xb, "rx-ring-ref", "%d", rxr);
    if (split) {
        rt_xb_printf(&xb, "event-channel-tx", "%u", port_tx);
        rt_xb_printf(&xb, "event-channel-rx", "%u", port_rx);
    } else {
        rt_xb_printf(&xb, "event-channel", "%u", port_tx);
    }
    rt_xb_write(&xb, "request-rx-copy", "1");
    rt_xb_write(&xb, "feature-rx-notify", "1");
    rt_xb_write(&xb, "feature-sg", "1");
    /* post the rx buffers */
    for (int i = 0; i < NRX; i++) {
        struct keel_netif_rx_request *q;
        rxpage[i] = rt_page_alloc(1);
        rxref[i] = rt_gnttab_grant(0, rt_virt_to_gfn(rxpage[i]), 0);
        q = keel_netif_rx_front_req_slot(&rx, rx.req_prod_pvt++);
        q->id = (uint16_t)i;
        q->gref = (uint32_t)rxref[i];
    }
    keel_netif_rx_front_push(&rx);
    rt_enable_events();
    return rt_xb_switch(&xb, KEEL_XB_CONNECTED);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;

    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* A UDP broadcast frame from src mac/ip to port 7 in the data page at off; its length. */
static uint16_t frame(uint32_t off, const uint8_t *smac, const uint8_t *sip, const char *text)
{
    uint8_t *f = data + off;
    size_t tl = strlen(text), ul = 8 + tl, il = 20 + ul;
    uint16_t c;

    memset(f, 0xff, 6);
    memcpy(f + 6, smac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    memset(f + 14, 0, 20);
    f[14] = 0x45;
    f[16] = (uint8_t)(il >> 8);
    f[17] = (uint8_t)il;
    f[22] = 64;
    f[23] = 17;
    memcpy(f + 26, sip, 4);
    memset(f + 30, 0xff, 4);
    c = csum(f + 14, 20);
    f[24] = (uint8_t)(c >> 8);
    f[25] = (uint8_t)c;
    f[34] = 0x30;                        /* source port 12345 */
    f[35] = 0x39;
    f[36] = 0;
    f[37] = 7;
    f[38] = (uint8_t)(ul >> 8);
    f[39] = (uint8_t)ul;
    f[40] = f[41] = 0;
    memcpy(f + 42, text, tl);
    return (uint16_t)(14 + il < 60 ? 60 : 14 + il);
}

static void put(uint32_t gref, uint16_t off, uint16_t flags, uint16_t size)
{
    struct keel_netif_tx_request *q = keel_netif_tx_front_req_slot(&tx, tx.req_prod_pvt++);

    q->gref = gref;
    q->offset = off;
    q->flags = flags;
    q->id = next_id++;
    q->size = size;
}

/* Wait for n responses: the status of the first non-NULL one, or 99 when none came (closed). */
static int wait_rsp(uint32_t n, uint32_t *errors)
{
    uint64_t until = rt_now() + 3000000000ULL;
    int first = 99;

    *errors = 0;
    while (n && rt_now() < until) {
        while (n && keel_netif_tx_front_unconsumed(&tx)) {
            struct keel_netif_tx_response r;
            memcpy(&r, &tx.s->ring[tx.rsp_cons & (tx.size - 1)].rsp, sizeof(r));
            tx.rsp_cons++;
            n--;
            if (r.status == KEEL_NETIF_RSP_NULL)
                continue;
            if (first == 99)
                first = r.status;
            *errors += r.status == KEEL_NETIF_RSP_ERROR;
        }
        if (n)
            rt_sleep_until(rt_now() + 200000ULL);
    }
    return first;
}

static void poll_rx(void)
{
    while (keel_netif_rx_front_unconsumed(&rx)) {
        struct keel_netif_rx_response r;
        struct keel_netif_rx_request *q;
        memcpy(&r, &rx.s->ring[rx.rsp_cons & (rx.size - 1)].rsp, sizeof(r));
        rx.rsp_cons++;
        if (r.id < NRX && r.status > 0 && r.offset == 0) {
            const uint8_t *f = rxpage[r.id];
            int n = r.status > 60 ? 60 : r.status;
            char txt[64];
            int k = 0;
            for (int i = 42; i < n && k < 62; i++)
                txt[k++] = f[i] >= 32 && f[i] < 127 ? (char)f[i] : '.';
            txt[k] = 0;
            rt_printf("netevil: rx len %d flags %u from %02x:%02x:%02x:%02x:%02x:%02x text '%s'\n",
                      r.status, r.flags, f[6], f[7], f[8], f[9], f[10], f[11], txt);
        } else {
            rt_printf("netevil: rx id %u status %d offset %u\n", r.id, r.status, r.offset);
        }
        /* post the buffer again */
        q = keel_netif_rx_front_req_slot(&rx, rx.req_prod_pvt++);
        q->id = r.id < NRX ? r.id : 0;
        q->gref = (uint32_t)rxref[q->id];
    }
    if (keel_netif_rx_front_push(&rx))
        rt_notify(port_rx);
    keel_netif_rx_front_final_check(&rx);
}

static int send_one(const char *name, uint32_t gref, uint16_t off, uint16_t flags, uint16_t size)
{
    uint32_t errs;
    int st;

    put(gref, off, flags, size);
    kick_tx();
    st = wait_rsp(1, &errs);
    rt_printf("netevil: attack=%s status %d\n", name, st);
    return st;
}

static void good(uint64_t run)
{
    uint64_t end = rt_now() + run * 1000000000ULL, next = 0;
    uint32_t seq = 0, errs;
    char text[64];

    while (rt_now() < end) {
        if (rt_now() >= next) {
            uint16_t len;
            int st;
            rt_snprintf(text, sizeof(text), "netevil %u seq %u", rt_boot.domid, seq);
            len = frame(0, mac, myip, text);
            put((uint32_t)data_ref, 0, KEEL_NETTXF_DATA_VALIDATED, len);
            kick_tx();
            st = wait_rsp(1, &errs);
            rt_printf("netevil: tx seq %u status %d\n", seq, st);
            seq++;
            next = rt_now() + 100000000ULL;
            if (st == 99 && rt_xb_state(&xb, RT_XB_BACKEND) == KEEL_XB_CLOSED)
                break;
        }
        poll_rx();
        rt_sleep_until(rt_now() + 5000000ULL);
    }
    rt_printf("netevil: good done, %u frames sent\n", seq);
}

static void evil(void)
{
    uint8_t other[6] = { 0x00, 0x16, 0x3e, 0x66, 0x66, 0x66 }, badip[4] = { 203, 0, 113, 66 };
    uint16_t len;
    uint32_t errs, n;
    int st, more;

    len = frame(0, mac, myip, "netevil evil first");
    send_one("good", (uint32_t)data_ref, 0, 0, len);
    len = frame(0, mac, myip, "netevil oversized");
    put((uint32_t)data_ref, 0, KEEL_NETTXF_MORE_DATA, 3000);
    put((uint32_t)data_ref, 0, 0, 1500);
    kick_tx();
    rt_printf("netevil: attack=oversized status %d\n", wait_rsp(2, &errs));
    send_one("badoffset", (uint32_t)data_ref, 4000, 0, 200);
    for (int i = 0; i < 19; i++)
        put((uint32_t)data_ref, 0, i < 18 ? KEEL_NETTXF_MORE_DATA : 0, i ? 64 : 19 * 64);
    kick_tx();
    rt_printf("netevil: attack=toomany status %d\n", wait_rsp(19, &errs));
    send_one("notgranted", 0x7ffu, 0, 0, 60);
    for (int i = 0; i < 200; i++)
        put((uint32_t)data_ref, 0, 0, 10);
    kick_tx();
    st = wait_rsp(200, &errs);
    rt_printf("netevil: attack=tinyflood status %d count %u\n", st, errs);
    len = frame(0, other, myip, "netevil spoofmac");
    send_one("spoofmac", (uint32_t)data_ref, 0, 0, len);
    len = frame(0, mac, badip, "netevil spoofip");
    send_one("spoofip", (uint32_t)data_ref, 0, 0, len);
    {
        struct keel_netif_extra_info *x;
        len = frame(0, mac, myip, "netevil badextra");
        put((uint32_t)data_ref, 0, KEEL_NETTXF_EXTRA_INFO, len);
        x = (struct keel_netif_extra_info *)keel_netif_tx_front_req_slot(&tx, tx.req_prod_pvt++);
        memset(x, 0, sizeof(*x));
        x->type = 77;
        kick_tx();
        rt_printf("netevil: attack=badextra status %d\n", wait_rsp(2, &errs));
    }
    /* keep going until the backend has had enough */
    for (n = 0, more = 1; more && n < 100; n++) {
        put((uint32_t)data_ref, 4000, 0, 200);
        kick_tx();
        if (wait_rsp(1, &errs) == 99)
            more = 0;
        if (rt_xb_state(&xb, RT_XB_BACKEND) == KEEL_XB_CLOSED)
            more = 0;
    }
    rt_printf("netevil: disabled after %u more (state %d)\n", n,
              rt_xb_state(&xb, RT_XB_BACKEND));
}

static void flood(uint64_t run)
{
    uint64_t start = rt_now(), end = start + run * 1000000000ULL, frames = 0, ok = 0;
    uint32_t errs;
    uint16_t len;
    char text[1500];

    memset(text, 'x', sizeof(text) - 1);
    text[1514 - 42] = 0;
    len = frame(0, mac, myip, text);
    while (rt_now() < end) {
        for (int i = 0; i < 128; i++)
            put((uint32_t)data_ref, 0, KEEL_NETTXF_DATA_VALIDATED, len);
        kick_tx();
        if (wait_rsp(128, &errs) != 0)
            break;
        frames += 128;
        ok += 128 - errs;
    }
    end = rt_now() - start;
    rt_printf("netevil: flood %llu frames of %u bytes in %llu ms = %llu Mbit/s, %llu kframes/s\n",
              (unsigned long long)frames, len, (unsigned long long)(end / 1000000ULL),
              (unsigned long long)(frames * len * 8ULL * 1000ULL / (end ? end : 1)),
              (unsigned long long)(frames * 1000000ULL / (end ? end : 1)));
    (void)ok;
}

int main(void)
{
    uint32_t devid = (uint32_t)rt_arg_u64("devid", 0);
    const char *mode = rt_arg("mode"), *ip = rt_arg("ip");
    int st;

    if (rt_xs_init() < 0 || rt_gnttab_init(4) < 0 || bind_dev(devid) < 0) {
        rt_printf("netevil: no vif %u\n", devid);
        rt_shutdown(KEEL_SHUTDOWN_POWEROFF);
    }
    if (!ip || parse_ip(ip, myip) < 0)
        parse_ip("192.0.2.10", myip);
    st = rt_xb_wait_state(&xb, 1u << KEEL_XB_INITWAIT, rt_now() + 20000000000ULL);
    if (st < 0 || setup((int)rt_arg_u64("split", 1)) < 0) {
        rt_printf("netevil: setup failed (backend state %d)\n", st);
        rt_shutdown(KEEL_SHUTDOWN_POWEROFF);
    }
    st = rt_xb_wait_state(&xb, 1u << KEEL_XB_CONNECTED | 1u << KEEL_XB_CLOSED,
                          rt_now() + 20000000000ULL);
    rt_printf("netevil: connected (backend state %d) mac %02x:%02x:%02x:%02x:%02x:%02x\n", st,
              mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    if (st != KEEL_XB_CONNECTED)
        rt_shutdown(KEEL_SHUTDOWN_POWEROFF);
    if (mode && !strncmp(mode, "evil", 4) && (mode[4] == 0 || mode[4] == ' '))
        evil();
    else if (mode && !strncmp(mode, "flood", 5) && (mode[5] == 0 || mode[5] == ' '))
        flood(rt_arg_u64("run", 5));
    else
        good(rt_arg_u64("run", 30));
    rt_printf("netevil: end\n");
    rt_shutdown(KEEL_SHUTDOWN_POWEROFF);
}
