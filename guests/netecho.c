/* netecho - the PV network's echo guest: opens the first vif (rt_netif: netfront + the IPv4
 * stack), answers ARP and ICMP echo, and echoes UDP datagrams on port 7 and on port=P back to
 * their sender. Runs until shut down; when the vif closes (network-detach) it waits for the
 * next one. Lines (machine-readable):
 *   netecho: ready ip A.B.C.D mac M devid N
 *   netecho: garp N                 (each gratuitous ARP: first connect, backend back again)
 *   netecho: stats rx R tx T echoed E pings P bad B csum C   (every 10 s when it changed)
 *   netecho: vif closed
 * Command line: ip=A.B.C.D/len (or the backend's `ip` key), gw=A.B.C.D, port=P, devid=N. */
#include "rt/keel_guest.h"

static struct rt_nif nif;
static uint64_t echoed, echo_fail;

static void echo(struct rt_net *n, void *arg, uint32_t src, uint16_t sport, uint16_t dport,
                 const uint8_t *data, size_t len)
{
    (void)arg;
    if (rt_udp_send_mac(n, n->rx_mac, src, dport, sport, data, len) == 0)
        echoed++;
    else
        echo_fail++;
}

static void report(void)
{
    static uint64_t last_rx = ~0ULL, last_tx;
    const struct rt_net_stats *st = &nif.net.st;

    if (st->rx_frames == last_rx && st->tx_frames == last_tx)
        return;
    last_rx = st->rx_frames;
    last_tx = st->tx_frames;
    rt_printf("netecho: stats rx %llu tx %llu echoed %llu failed %llu pings %llu bad %llu csum %llu "
              "arp %llu/%llu\n", (unsigned long long)st->rx_frames, (unsigned long long)st->tx_frames,
              (unsigned long long)echoed, (unsigned long long)echo_fail,
              (unsigned long long)st->icmp_echo, (unsigned long long)st->rx_bad,
              (unsigned long long)st->rx_csum, (unsigned long long)st->arp_rx,
              (unsigned long long)st->arp_replies);
}

static void serve(void)
{
    const struct rt_nf_info *info = rt_nf_get_info(nif.nf);
    uint64_t garps = 0, next_report = rt_now() + 10000000000ULL;
    uint32_t port = (uint32_t)rt_arg_u64("port", 0);
    char a[16];

    rt_udp_bind(&nif.net, 7, echo, NULL);
    if (port && port < 65536 && port != 7)
        rt_udp_bind(&nif.net, (uint16_t)port, echo, NULL);
    rt_printf("netecho: ready ip %s mac %02x:%02x:%02x:%02x:%02x:%02x devid %u\n",
              rt_nif_ntoa(nif.net.ip, a), info->mac[0], info->mac[1], info->mac[2], info->mac[3],
              info->mac[4], info->mac[5], info->devid);
    for (;;) {
        int n = rt_nif_poll(&nif);
        if (n == -19) {
            rt_printf("netecho: vif closed\n");
            return;
        }
        if (nif.garps != garps) {
            garps = nif.garps;
            rt_printf("netecho: garp %llu\n", (unsigned long long)garps);
        }
        if (rt_now() >= next_report) {
            next_report = rt_now() + 10000000000ULL;
            report();
        }
        if (n == 0)
            rt_nif_wait(&nif, rt_now() + 1000000000ULL);
    }
}

int main(void)
{
    uint32_t devid = (uint32_t)rt_arg_u64("devid", 0);
    struct rt_nf_opts o = { .timeout_ms = 30000 };
    int last = 1;

    for (;;) {
        int rc = rt_nif_open(&nif, devid, &o);
        if (rc == 0)
            serve();
        else if (rc != last)
            rt_printf("netecho: no vif yet (%d), waiting\n", rc);
        last = rc;
        rt_sleep_until(rt_now() + 1000000000ULL);
    }
}
