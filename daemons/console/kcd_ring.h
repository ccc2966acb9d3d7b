/* kcd_ring.h - the PV console ring page (Xen's public io/console.h: struct xencons_interface)
 * and the daemon's side of it: take the guest's output, give it input. Every index in the page
 * is the guest's and hostile: a producer more than the ring's size ahead of the consumer is an
 * error, never a copy. */
#ifndef KCD_RING_H
#define KCD_RING_H

#include <stddef.h>
#include <stdint.h>

#define KCD_IN_SIZE 1024u
#define KCD_OUT_SIZE 2048u

struct kcd_cons_iface {
    char in[KCD_IN_SIZE];
    char out[KCD_OUT_SIZE];
    uint32_t in_cons, in_prod;
    uint32_t out_cons, out_prod;
};

_Static_assert(offsetof(struct kcd_cons_iface, in_cons) == 3072, "console ring layout");
_Static_assert(offsetof(struct kcd_cons_iface, out_prod) == 3084, "console ring layout");

/* Copy the guest's pending output (at most size bytes) to buf and consume it. Returns the
 * number of bytes, 0 if none, -EPROTO if the indices are inconsistent (nothing consumed). */
int kcd_ring_take_output(volatile struct kcd_cons_iface *r, char *buf, size_t size);
/* Produce up to len bytes of input for the guest; returns how many fit, or -EPROTO. */
int kcd_ring_put_input(volatile struct kcd_cons_iface *r, const char *buf, size_t len);

#endif
