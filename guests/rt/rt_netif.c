/* rt_netif.c - the IPv4 stack (rt_net.h) on a PV network frontend (rt_netfront.c): the stack's
 * transmit hooks are netfront's tx pool pages, received frames go to rt_net_input (in place),
 * the address comes from the command line or the backend's `ip` key, and a gratuitous ARP goes
 * out whenever netfront saw the backend (re)connect. */
#include "keel_guest.h"

#include "keel/io/netif.h"

static uint8_t *nif_tx_get(void *ctx)
{
    return rt_nf_tx_buf(((struct rt_nif *)ctx)->nf);
}

static int nif_tx_put(void *ctx, uint8_t *buf, size_t len)
{
    return rt_nf_tx_send(((struct rt_nif *)ctx)->nf, buf, len);
}

static uint8_t *nif_gso_get(void *ctx)
{
    return rt_nf_gso_buf(((struct rt_nif *)ctx)->nf);
}

static int nif_gso_put(void *ctx, uint8_t *buf, size_t len, uint16_t mss)
{
    return rt_nf_gso_send(((struct rt_nif *)ctx)->nf, buf, len, mss);
}

static void nif_rx(void *ctx, const uint8_t *frame, size_t len, unsigned flags)
{
    struct rt_nif *s = ctx;

    rt_net_input(&s->net, frame, len, flags & KEEL_NETRXF_CSUM_BLANK ? RT_NET_RX_CSUM_BLANK : 0);
}

const char *rt_nif_ntoa(uint32_t ip, char *buf)
{
    rt_snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return buf;
}

/* Our address: ip= of the command line, else the backend's `ip` key (first address, /24). */
static void pick_address(struct rt_nif *s, uint32_t *ip, uint32_t *mask, uint32_t *gw)
{
    char be_ip[128];
    uint32_t prefix = 24;

    *ip = *mask = *gw = 0;
    if (rt_arg("ip")) {
        if (rt_net_parse_ip(rt_arg("ip"), ip, &prefix) < 0) {
            rt_printf("netif: ip=%.20s is not an address: no IPv4 address\n", rt_arg("ip"));
            *ip = 0;
            return;
        }
    } else if (rt_nf_backend_read(s->nf, "ip", be_ip, sizeof(be_ip)) > 0) {
        if (rt_net_parse_ip(be_ip, ip, NULL) < 0)
            *ip = 0;
        prefix = 24;
    }
    if (!*ip)
        return;
    *mask = prefix ? ~0u << (32 - prefix) : 0;
    if (rt_arg("gw") && rt_net_parse_ip(rt_arg("gw"), gw, NULL) < 0)
        *gw = 0;
}

int rt_nif_open(struct rt_nif *s, uint32_t devid, const struct rt_nf_opts *opts)
{
    struct rt_net_ops ops = { nif_tx_get, nif_tx_put, s, nif_gso_get, nif_gso_put };
    uint32_t ip, mask, gw, prefix = 0;
    char a[16], g[16];
    int err = 0;

    memset(s, 0, sizeof(*s));
    if (!(s->nf = rt_nf_open(devid, opts, &err)))
        return err;
    pick_address(s, &ip, &mask, &gw);
    rt_net_init(&s->net, rt_nf_get_info(s->nf)->mac, ip, mask, gw, &ops);
    for (uint32_t m = mask; m; m <<= 1)
        prefix++;
    rt_printf("netif: vif %u: address %s/%u gateway %s\n", rt_nf_get_info(s->nf)->devid,
              rt_nif_ntoa(ip, a), prefix, rt_nif_ntoa(gw, g));
    return 0;
}

int rt_nif_poll(struct rt_nif *s)
{
    int rc, n;

    s->net.now = rt_now();
    rc = rt_nf_poll(s->nf);
    if (rc == -19)
        return rc;
    if (rt_nf_announce(s->nf) != s->announced && rt_nf_connected(s->nf) && s->net.ip &&
        rt_net_garp(&s->net) == 0) {
        s->announced = rt_nf_announce(s->nf);
        s->garps++;
    }
    n = rt_nf_rx(s->nf, nif_rx, s, 64);
    s->net.now = rt_now();
    rt_net_timer(&s->net);
    return n;
}

static uint64_t earlier(uint64_t a, uint64_t b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

void rt_nif_wait(struct rt_nif *s, uint64_t deadline)
{
    const struct rt_tcp *t = s->net.tcp;

    if (t && t->state != RT_TCP_CLOSED && t->state != RT_TCP_LISTEN)
        deadline = earlier(deadline, earlier(t->rtx_at, earlier(t->ack_owed ? t->ack_at : 0, t->tw_at)));
    if (rt_nf_announce(s->nf) != s->announced)
        deadline = earlier(deadline, rt_now() + 1000000ULL);   /* the GARP waits for a buffer */
    rt_nf_wait(s->nf, deadline, 1);
}
