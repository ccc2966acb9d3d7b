/* keel/io/netif.h - the PV network protocol (Xen's netif, x86_64 layout): tx and rx ring
 * entries, their flags, extra-info segments (GSO, multicast, hash), status codes and the control
 * ring. Written from the facts in Xen's public io/netif.h; the store keys both sides negotiate
 * are listed in daemons/netback/README.md. Everything a peer writes into a shared page is
 * hostile: copy an entry out of its slot once, then check it. */
#ifndef KEEL_IO_NETIF_H
#define KEEL_IO_NETIF_H

#include <stdint.h>

#include "keel/io/ring.h"

/* Tx request flags (guest -> backend). */
#define KEEL_NETTXF_CSUM_BLANK (1u << 0)     /* the protocol checksum field is not filled in */
#define KEEL_NETTXF_DATA_VALIDATED (1u << 1) /* the checksum was checked or is known good */
#define KEEL_NETTXF_MORE_DATA (1u << 2)      /* another fragment of this packet follows */
#define KEEL_NETTXF_EXTRA_INFO (1u << 3)     /* an extra-info slot follows this request */

/* Rx response flags (backend -> guest): note csum_blank and data_validated swap bits vs tx. */
#define KEEL_NETRXF_DATA_VALIDATED (1u << 0)
#define KEEL_NETRXF_CSUM_BLANK (1u << 1)
#define KEEL_NETRXF_MORE_DATA (1u << 2)
#define KEEL_NETRXF_EXTRA_INFO (1u << 3)
#define KEEL_NETRXF_GSO_PREFIX (1u << 4)     /* deprecated; never produced by Keel */

/* Extra-info types and flags. */
#define KEEL_NETIF_EXTRA_TYPE_NONE 0
#define KEEL_NETIF_EXTRA_TYPE_GSO 1
#define KEEL_NETIF_EXTRA_TYPE_MCAST_ADD 2
#define KEEL_NETIF_EXTRA_TYPE_MCAST_DEL 3
#define KEEL_NETIF_EXTRA_TYPE_HASH 4
#define KEEL_NETIF_EXTRA_TYPE_MAX 5
#define KEEL_NETIF_EXTRA_FLAG_MORE (1u << 0)

#define KEEL_NETIF_GSO_TYPE_NONE 0
#define KEEL_NETIF_GSO_TYPE_TCPV4 1
#define KEEL_NETIF_GSO_TYPE_TCPV6 2

/* Response status: negative errors, 0 okay, 1 for a slot consumed by extra info. Rx responses
 * with status > 0 carry the byte count. */
#define KEEL_NETIF_RSP_DROPPED (-2)
#define KEEL_NETIF_RSP_ERROR (-1)
#define KEEL_NETIF_RSP_OKAY 0
#define KEEL_NETIF_RSP_NULL 1

#define KEEL_NETIF_NR_SLOTS_MIN 18           /* slots per packet a backend must accept */
#define KEEL_NETIF_MAX_TX_SIZE 0xFFFF        /* largest packet, all fragments together */

struct keel_netif_tx_request {            /* 12 bytes */
    uint32_t gref;                        /* grant of the page holding this fragment */
    uint16_t offset;                      /* of the fragment within the page */
    uint16_t flags;                       /* KEEL_NETTXF_* */
    uint16_t id;                          /* echoed in the response */
    uint16_t size;                        /* first fragment: the whole packet; later: this one */
};

struct keel_netif_tx_response {           /* 4 bytes (the ring slot is 12) */
    uint16_t id;
    int16_t status;
};

struct keel_netif_rx_request {            /* 8 bytes */
    uint16_t id;
    uint16_t pad;
    uint32_t gref;                        /* grant of an empty page the backend fills */
};

struct keel_netif_rx_response {           /* 8 bytes */
    uint16_t id;
    uint16_t offset;                      /* of the data within the page */
    uint16_t flags;                       /* KEEL_NETRXF_* */
    int16_t status;                       /* < 0 error, else bytes in this fragment */
};

struct keel_netif_extra_info {            /* 8 bytes, in a tx or rx slot */
    uint8_t type;                         /* KEEL_NETIF_EXTRA_TYPE_* */
    uint8_t flags;                        /* KEEL_NETIF_EXTRA_FLAG_* */
    union {
        struct {
            uint16_t size;                /* maximum segment size */
            uint8_t type;                 /* KEEL_NETIF_GSO_TYPE_* */
            uint8_t pad;
            uint16_t features;
        } gso;
        struct {
            uint8_t addr[6];
        } mcast;
        struct {
            uint8_t type;
            uint8_t algorithm;
            uint8_t value[4];
        } hash;
        uint16_t pad[3];
    } u;
};

/* A tx slot is 12 bytes: the extra-info overlays its first 8. */
union keel_netif_tx_slot_req {
    struct keel_netif_tx_request req;
    struct keel_netif_extra_info extra;
};

KEEL_RING_DEFINE(keel_netif_tx, struct keel_netif_tx_request, struct keel_netif_tx_response)
KEEL_RING_DEFINE(keel_netif_rx, struct keel_netif_rx_request, struct keel_netif_rx_response)

/* Control ring (feature-ctrl-ring): requests and responses, 16 and 12 bytes. */
#define KEEL_NETIF_CTRL_TYPE_INVALID 0
#define KEEL_NETIF_CTRL_TYPE_GET_HASH_FLAGS 1
#define KEEL_NETIF_CTRL_TYPE_SET_HASH_FLAGS 2
#define KEEL_NETIF_CTRL_TYPE_SET_HASH_KEY 3
#define KEEL_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE 4
#define KEEL_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE 5
#define KEEL_NETIF_CTRL_TYPE_SET_HASH_MAPPING 6
#define KEEL_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM 7
#define KEEL_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE 8
#define KEEL_NETIF_CTRL_TYPE_ADD_GREF_MAPPING 9
#define KEEL_NETIF_CTRL_TYPE_DEL_GREF_MAPPING 10

#define KEEL_NETIF_CTRL_STATUS_SUCCESS 0
#define KEEL_NETIF_CTRL_STATUS_NOT_SUPPORTED 1
#define KEEL_NETIF_CTRL_STATUS_INVALID_PARAMETER 2
#define KEEL_NETIF_CTRL_STATUS_BUFFER_OVERFLOW 3

struct keel_netif_ctrl_request {          /* 16 bytes */
    uint16_t id;
    uint16_t type;
    uint32_t data[3];
};

struct keel_netif_ctrl_response {         /* 12 bytes */
    uint16_t id;
    uint16_t type;
    uint32_t status;
    uint32_t data;
};

KEEL_RING_DEFINE(keel_netif_ctrl, struct keel_netif_ctrl_request, struct keel_netif_ctrl_response)

_Static_assert(sizeof(struct keel_netif_tx_request) == 12, "netif tx request layout");
_Static_assert(sizeof(struct keel_netif_tx_response) == 4, "netif tx response layout");
_Static_assert(sizeof(struct keel_netif_rx_request) == 8, "netif rx request layout");
_Static_assert(sizeof(struct keel_netif_rx_response) == 8, "netif rx response layout");
_Static_assert(sizeof(struct keel_netif_extra_info) == 8, "netif extra info layout");
_Static_assert(sizeof(union keel_netif_tx_slot_req) == 12, "netif tx slot layout");
_Static_assert(sizeof(struct keel_netif_ctrl_request) == 16, "netif ctrl request layout");
_Static_assert(sizeof(struct keel_netif_ctrl_response) == 12, "netif ctrl response layout");

#endif
