/* nb_txparse.h - keel-netback's tx request parser: a pure function over a snapshot of ring
 * slots the worker copied out of the shared page. It groups the slots of one packet (first
 * request, extra-info slots, further fragments), checks them against the contract's rules and
 * says how many slots the packet used, so every slot gets its response. No I/O, no state. */
#ifndef NB_TXPARSE_H
#define NB_TXPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "keel/io/netif.h"

#define NB_TX_MAX_FRAGS KEEL_NETIF_NR_SLOTS_MIN  /* data slots per packet we accept (18) */
#define NB_TX_MAX_EXTRAS 4                       /* extra-info slots per packet */
#define NB_TX_MAX_SLOTS (NB_TX_MAX_FRAGS + NB_TX_MAX_EXTRAS)
#define NB_ETH_HLEN 14

struct nb_tx_limits {
    uint32_t max_frame;        /* largest frame without GSO (mtu + 14 + 4 for a VLAN tag) */
    uint8_t gso_v4, gso_v6;    /* the frontend negotiated feature-gso-tcpv4 / -tcpv6 */
};

struct nb_tx_frag {
    uint32_t gref;
    uint16_t offset, len;
};

struct nb_tx_pkt {
    uint32_t nslots;           /* slots the packet used: always >= 1, also on an error */
    uint32_t nextras;          /* of them extra-info slots (right after the first) */
    uint32_t nfrags;
    uint32_t size;             /* whole frame */
    uint16_t flags;            /* KEEL_NETTXF_* of the first request */
    uint16_t id[NB_TX_MAX_SLOTS];   /* id of each slot's request (extras: 0) */
    struct nb_tx_frag frag[NB_TX_MAX_FRAGS];
    uint8_t gso_type;          /* KEEL_NETIF_GSO_TYPE_*, NONE without a GSO extra */
    uint16_t gso_size;
    uint8_t fatal;             /* on an error: whether it counts toward disabling the vif */
};

/* Results besides a slot count. */
#define NB_TX_INCOMPLETE 0     /* the packet continues past the snapshot: wait for more slots */

/* Parse the packet starting at slots[0]; avail slots are in the snapshot and ring_room more
 * may still come (0: the ring cannot hold more, so a packet still open is malformed).
 * Returns the slot count (> 0) with *pkt filled, NB_TX_INCOMPLETE, or -EINVAL with pkt->nslots
 * (slots to answer with an error), pkt->fatal and a message in err. */
int nb_tx_parse(const union keel_netif_tx_slot_req *slots, uint32_t avail, uint32_t ring_room,
                const struct nb_tx_limits *lim, struct nb_tx_pkt *pkt, char *err, size_t errlen);

#endif
