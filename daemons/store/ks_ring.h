/* ks_ring.h - the shared xenstore ring page, laid out as docs/misc/xenstore-ring.txt and
 * xs_wire.h describe: request and response byte rings with free-running indices, then
 * the server feature bits, the connection state and the error field. Used by the ring
 * transport and by anything playing the guest side (tests, the in-tree guest client). */
#ifndef KS_RING_H
#define KS_RING_H

#include <stddef.h>
#include <stdint.h>

#define KS_RING_SIZE 1024u
#define KS_RING_MASK(i) ((i) & (KS_RING_SIZE - 1))

#define KS_FEATURE_RECONNECTION 1u
#define KS_FEATURE_ERROR 2u
#define KS_FEATURE_WATCHDEPTH 4u
#define KS_FEATURES_SUPPORTED (KS_FEATURE_RECONNECTION | KS_FEATURE_ERROR | KS_FEATURE_WATCHDEPTH)

#define KS_RING_CONNECTED 0u
#define KS_RING_RECONNECT 1u

#define KS_RING_ERR_NONE 0u
#define KS_RING_ERR_COMM 1u
#define KS_RING_ERR_RINGIDX 2u
#define KS_RING_ERR_PROTO 3u

struct ks_ring_iface {
    char req[KS_RING_SIZE];
    char rsp[KS_RING_SIZE];
    uint32_t req_cons, req_prod;
    uint32_t rsp_cons, rsp_prod;
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
    uint32_t evtchn_port;
};

_Static_assert(offsetof(struct ks_ring_iface, req_cons) == 2048, "ring layout");
_Static_assert(offsetof(struct ks_ring_iface, server_features) == 2064, "ring layout");
_Static_assert(offsetof(struct ks_ring_iface, error) == 2072, "ring layout");

#endif
