/* test-txparse.c - keel-netback's tx parser (nb_txparse.c): single- and multi-slot packets,
 * GSO extras, packets still being published, and every malformed case of the contract (size 0,
 * a fragment crossing its page, the first size smaller than the rest, more than 18 slots, an
 * extra-info type not offered, a GSO type not negotiated, a runt, a frame beyond the MTU without
 * GSO, a packet still open when the ring is full): each is refused, says whether it is fatal,
 * and names how many slots it used so that each gets its response. */
#include <errno.h>
#include <string.h>

#include "nb_txparse.h"
#include "tap.h"

static union keel_netif_tx_slot_req s[64];
static struct nb_tx_limits lim = { .max_frame = 1518, .gso_v4 = 1, .gso_v6 = 0 };

static void req(int i, uint32_t gref, uint16_t off, uint16_t flags, uint16_t id, uint16_t size)
{
    memset(&s[i], 0, sizeof(s[i]));
    s[i].req = (struct keel_netif_tx_request){ gref, off, flags, id, size };
}

static void gso(int i, uint8_t type, uint16_t mss, uint8_t flags)
{
    memset(&s[i], 0, sizeof(s[i]));
    s[i].extra.type = KEEL_NETIF_EXTRA_TYPE_GSO;
    s[i].extra.flags = flags;
    s[i].extra.u.gso.type = type;
    s[i].extra.u.gso.size = mss;
}

int main(void)
{
    struct nb_tx_pkt p;
    char err[160];
    int rc;

    req(0, 8, 100, 0, 7, 60);
    rc = nb_tx_parse(s, 1, 255, &lim, &p, err, sizeof(err));
    tap_ok(rc == 1 && p.nfrags == 1 && p.size == 60 && p.frag[0].gref == 8 &&
           p.frag[0].offset == 100 && p.frag[0].len == 60 && p.id[0] == 7,
           "a one-slot frame of 60 bytes is one fragment of 60 bytes");
    rc = nb_tx_parse(s, 0, 256, &lim, &p, err, sizeof(err));
    tap_is_int(rc, NB_TX_INCOMPLETE, "an empty snapshot is incomplete");

    /* three slots: 1000 bytes = 400 + 300 + 300 */
    req(0, 8, 0, KEEL_NETTXF_MORE_DATA | KEEL_NETTXF_CSUM_BLANK, 1, 1000);
    req(1, 9, 3796, KEEL_NETTXF_MORE_DATA, 2, 300);
    req(2, 10, 0, 0, 3, 300);
    rc = nb_tx_parse(s, 3, 253, &lim, &p, err, sizeof(err));
    tap_ok(rc == 3 && p.nfrags == 3 && p.frag[0].len == 400 && p.frag[1].len == 300 &&
           p.frag[1].offset == 3796 && p.frag[2].gref == 10 && p.id[2] == 3 &&
           (p.flags & KEEL_NETTXF_CSUM_BLANK), "three slots: the first fragment holds the rest");
    rc = nb_tx_parse(s, 2, 254, &lim, &p, err, sizeof(err));
    tap_is_int(rc, NB_TX_INCOMPLETE, "the same packet with its last slot unpublished waits");
    rc = nb_tx_parse(s, 2, 0, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal && p.nslots == 2,
           "still open when the ring is full: fatal, both slots answered (%s)", err);

    /* GSO: first slot, extra, then a fragment */
    req(0, 8, 0, KEEL_NETTXF_EXTRA_INFO | KEEL_NETTXF_MORE_DATA, 1, 5000);
    gso(1, KEEL_NETIF_GSO_TYPE_TCPV4, 1448, 0);
    req(2, 9, 0, 0, 2, 1000);
    rc = nb_tx_parse(s, 3, 253, &lim, &p, err, sizeof(err));
    tap_ok(rc == 3 && p.nextras == 1 && p.gso_type == KEEL_NETIF_GSO_TYPE_TCPV4 &&
           p.gso_size == 1448 && p.nfrags == 2 && p.frag[0].len == 4000 && p.id[1] == 0 &&
           p.id[2] == 2, "a GSO packet of 5000 bytes: extra slot, 4000 + 1000");
    gso(1, KEEL_NETIF_GSO_TYPE_TCPV6, 1448, 0);
    rc = nb_tx_parse(s, 3, 253, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal && p.nslots == 3, "a GSO type not negotiated: fatal (%s)", err);
    gso(1, KEEL_NETIF_GSO_TYPE_TCPV4, 0, 0);
    rc = nb_tx_parse(s, 3, 253, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal, "GSO segment size 0: fatal (%s)", err);
    s[1].extra.type = KEEL_NETIF_EXTRA_TYPE_MCAST_ADD;
    rc = nb_tx_parse(s, 3, 253, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal && p.nslots == 3, "an extra type not offered (multicast): fatal (%s)", err);
    s[1].extra.type = 77;
    rc = nb_tx_parse(s, 3, 253, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal, "an unknown extra type: fatal (%s)", err);
    for (int i = 1; i <= 6; i++)
        gso(i, KEEL_NETIF_GSO_TYPE_TCPV4, 1448, KEEL_NETIF_EXTRA_FLAG_MORE);
    rc = nb_tx_parse(s, 8, 200, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal, "an endless extra-info chain: fatal (%s)", err);

    /* sizes and offsets */
    req(0, 8, 0, 0, 1, 0);
    rc = nb_tx_parse(s, 1, 255, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal && p.nslots == 1, "size 0: fatal (%s)", err);
    req(0, 8, 4000, 0, 1, 200);
    rc = nb_tx_parse(s, 1, 255, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal, "a first fragment crossing its page: fatal (%s)", err);
    req(0, 8, 0, KEEL_NETTXF_MORE_DATA, 1, 1000);
    req(1, 9, 4000, 0, 2, 200);
    rc = nb_tx_parse(s, 2, 254, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal && p.nslots == 2, "a later fragment crossing its page: fatal (%s)", err);
    req(0, 8, 0, KEEL_NETTXF_MORE_DATA, 1, 100);
    req(1, 9, 0, 0, 2, 200);
    rc = nb_tx_parse(s, 2, 254, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal && p.nslots == 2, "first size smaller than the rest: fatal (%s)", err);
    req(0, 8, 0, 0, 1, 10);
    rc = nb_tx_parse(s, 1, 255, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && !p.fatal && p.nslots == 1, "a runt of 10 bytes: an error, not fatal (%s)", err);
    req(0, 8, 0, KEEL_NETTXF_MORE_DATA, 1, 3000);
    req(1, 9, 0, 0, 2, 1000);
    rc = nb_tx_parse(s, 2, 254, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && !p.fatal, "3000 bytes without GSO beyond the 1518 of the MTU: an error (%s)", err);
    req(0, 8, 0, 0, 1, 1518);
    rc = nb_tx_parse(s, 1, 255, &lim, &p, err, sizeof(err));
    tap_is_int(rc, 1, "1518 bytes (MTU 1500 with a VLAN tag) pass");

    /* slot counts: 18 data slots pass, 19 do not */
    for (int i = 0; i < 19; i++)
        req(i, 8 + (uint32_t)i, 0, KEEL_NETTXF_MORE_DATA, (uint16_t)i, i ? 64 : 18 * 64);
    s[17].req.flags = 0;
    rc = nb_tx_parse(s, 19, 200, &lim, &p, err, sizeof(err));
    tap_ok(rc == 18 && p.nfrags == 18 && p.frag[0].len == 64, "18 data slots: accepted");
    s[17].req.flags = KEEL_NETTXF_MORE_DATA;
    s[18].req.flags = 0;
    rc = nb_tx_parse(s, 19, 200, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal && p.nslots == 19, "19 data slots: fatal, all 19 answered (%s)", err);
    for (int i = 0; i < 40; i++)
        req(i, 8, 0, KEEL_NETTXF_MORE_DATA, (uint16_t)i, 64);
    rc = nb_tx_parse(s, 40, 200, &lim, &p, err, sizeof(err));
    tap_ok(rc == -EINVAL && p.fatal && p.nslots == 40, "a chain of 40 that has not ended: fatal, the 40 are consumed");
    tap_ok(err[0] != 0 && memchr(err, 0, sizeof(err)) != NULL, "errors carry a reason");
    return tap_done();
}
