/* nb_txparse.c - keel-netback's tx request parser (see nb_txparse.h). The slots were copied out
 * of the shared ring once by the caller, so nothing here can change under us. First the packet's
 * extent is found (the extra-info chain, then the MORE_DATA chain), so that even a malformed
 * packet is answered slot by slot and the next packet starts at the right place; then the
 * fields are checked: sizes, offsets within the page, slot count, extra types, GSO. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nb_txparse.h"

#define NB_PAGE 4096u

__attribute__((format(printf, 5, 6)))
static int nb_bad(struct nb_tx_pkt *pkt, int fatal, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    pkt->fatal = (uint8_t)fatal;
    return -EINVAL;
}

/* Slot i is needed: 1 if it is in the snapshot, 0 if the caller must wait, -1 if it never can
 * come (the ring is full and the packet is still open). */
static int nb_have(uint32_t i, uint32_t avail, uint32_t ring_room)
{
    if (i < avail)
        return 1;
    return ring_room ? 0 : -1;
}

/* The extra-info slots after the first request: their number, or a negative count of slots used
 * when the chain is too long (error), or NB_TX_INCOMPLETE via *wait. */
static int nb_walk(const union keel_netif_tx_slot_req *s, uint32_t avail, uint32_t ring_room,
                   struct nb_tx_pkt *pkt, int *wait, char *err, size_t errlen)
{
    uint32_t i = 1, more, ndata = 1;
    int h;

    *wait = 0;
    if (s[0].req.flags & KEEL_NETTXF_EXTRA_INFO) {
        do {
            if ((h = nb_have(i, avail, ring_room)) <= 0)
                goto short_;
            more = s[i].extra.flags & KEEL_NETIF_EXTRA_FLAG_MORE;
            pkt->id[i] = 0;
            i++;
            if (++pkt->nextras > NB_TX_MAX_EXTRAS) {
                pkt->nslots = i;
                return nb_bad(pkt, 1, err, errlen, "more than %d extra-info slots",
                              NB_TX_MAX_EXTRAS);
            }
        } while (more);
    }
    more = s[0].req.flags & KEEL_NETTXF_MORE_DATA;
    while (more) {
        if ((h = nb_have(i, avail, ring_room)) <= 0)
            goto short_;
        if (ndata == NB_TX_MAX_FRAGS) {
            /* too many: consume the rest of the chain that is there, then refuse it */
            while (i < avail && (s[i].req.flags & KEEL_NETTXF_MORE_DATA) && i < 4096)
                i++, ndata++;
            pkt->nslots = i < avail ? i + 1 : i;
            return nb_bad(pkt, 1, err, errlen, "more than %d slots in one packet",
                          NB_TX_MAX_FRAGS);
        }
        pkt->id[i] = s[i].req.id;
        more = s[i].req.flags & KEEL_NETTXF_MORE_DATA;
        i++;
        ndata++;
    }
    pkt->nslots = i;
    return 0;
short_:
    if (h == 0) {
        *wait = 1;
        return 0;
    }
    pkt->nslots = i;
    return nb_bad(pkt, 1, err, errlen, "packet still open when the ring is full (%u slots)", i);
}

static int nb_extras(const union keel_netif_tx_slot_req *s, const struct nb_tx_limits *lim,
                     struct nb_tx_pkt *pkt, char *err, size_t errlen)
{
    for (uint32_t i = 1; i <= pkt->nextras; i++) {
        const struct keel_netif_extra_info *x = &s[i].extra;
        if (x->type != KEEL_NETIF_EXTRA_TYPE_GSO)
            return nb_bad(pkt, 1, err, errlen, "extra-info type %u not offered", x->type);
        if (pkt->gso_type != KEEL_NETIF_GSO_TYPE_NONE)
            return nb_bad(pkt, 1, err, errlen, "two GSO extra-info slots");
        if (x->u.gso.type == KEEL_NETIF_GSO_TYPE_TCPV4 ? !lim->gso_v4
            : x->u.gso.type == KEEL_NETIF_GSO_TYPE_TCPV6 ? !lim->gso_v6 : 1)
            return nb_bad(pkt, 1, err, errlen, "GSO type %u not negotiated", x->u.gso.type);
        if (x->u.gso.size == 0)
            return nb_bad(pkt, 1, err, errlen, "GSO segment size 0");
        pkt->gso_type = x->u.gso.type;
        pkt->gso_size = x->u.gso.size;
    }
    return 0;
}

/* Sizes and offsets of the data slots; the first slot's size is the whole frame. */
static int nb_frags(const union keel_netif_tx_slot_req *s, const struct nb_tx_limits *lim,
                    struct nb_tx_pkt *pkt, char *err, size_t errlen)
{
    const struct keel_netif_tx_request *f = &s[0].req;
    uint32_t rest = 0, first;

    if (f->size == 0)
        return nb_bad(pkt, 1, err, errlen, "frame size 0");
    pkt->nfrags = 1;
    for (uint32_t i = 1 + pkt->nextras; i < pkt->nslots; i++) {
        const struct keel_netif_tx_request *r = &s[i].req;
        if ((uint32_t)r->offset + r->size > NB_PAGE)
            return nb_bad(pkt, 1, err, errlen, "fragment %u (offset %u, size %u) crosses its page",
                          i, r->offset, r->size);
        rest += r->size;
        if (r->size)
            pkt->frag[pkt->nfrags++] = (struct nb_tx_frag){ r->gref, r->offset, r->size };
    }
    if (rest > f->size)
        return nb_bad(pkt, 1, err, errlen, "first size %u smaller than the rest's %u", f->size,
                      rest);
    first = f->size - rest;
    if ((uint32_t)f->offset + first > NB_PAGE)
        return nb_bad(pkt, 1, err, errlen, "first fragment (offset %u, size %u) crosses its page",
                      f->offset, first);
    pkt->frag[0] = (struct nb_tx_frag){ f->gref, f->offset, (uint16_t)first };
    if (f->size < NB_ETH_HLEN)
        return nb_bad(pkt, 0, err, errlen, "runt frame of %u bytes", f->size);
    if (pkt->gso_type == KEEL_NETIF_GSO_TYPE_NONE && f->size > lim->max_frame)
        return nb_bad(pkt, 0, err, errlen, "frame of %u bytes without GSO exceeds %u", f->size,
                      lim->max_frame);
    return 0;
}

int nb_tx_parse(const union keel_netif_tx_slot_req *slots, uint32_t avail, uint32_t ring_room,
                const struct nb_tx_limits *lim, struct nb_tx_pkt *pkt, char *err, size_t errlen)
{
    int wait, rc;

    memset(pkt, 0, sizeof(*pkt));
    if (err && errlen)
        err[0] = 0;
    pkt->nslots = 1;
    if (avail == 0)
        return NB_TX_INCOMPLETE;
    pkt->id[0] = slots[0].req.id;
    pkt->flags = slots[0].req.flags;
    pkt->size = slots[0].req.size;
    if ((rc = nb_walk(slots, avail, ring_room, pkt, &wait, err, errlen)) < 0)
        return rc;
    if (wait)
        return NB_TX_INCOMPLETE;
    if ((rc = nb_extras(slots, lim, pkt, err, errlen)) < 0 ||
        (rc = nb_frags(slots, lim, pkt, err, errlen)) < 0)
        return rc;
    return (int)pkt->nslots;
}
