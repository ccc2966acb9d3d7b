/* nb_pgrant.c - keel-netback's persistent mappings of a frontend's buffer grants (used only when
 * the frontend wrote feature-persistent=1: it promises to keep granting the same pool of pages
 * and to tolerate our mapping them until the device disconnects; Keel's guest netfront does).
 * Each reference is mapped once (one kc_gnttab_map, read-only for tx, writable for rx) and kept
 * in a small open-addressing table; a segment whose page is mapped is copied with memcpy instead
 * of a kc_gnttab_copy round trip to the core. A reference that does not map (never granted, a
 * different access, the table full) falls back to the grant copy, which checks it as before.
 * Everything is unmapped at disconnect (the core logs the writable pages dirty then). The guest
 * may change its page while we copy: the data lands in our own buffer and is checked there. */
#include <stdlib.h>
#include <string.h>

#include "nb_int.h"

static uint32_t nb_pg_slot(uint32_t ref)
{
    return (ref * 2654435761u) & (NB_PG_CAP - 1);
}

/* The mapping of ref (with at least the access asked), mapping it if new; NULL: use a copy. */
static uint8_t *nb_pg_get(struct nb_vif *v, uint32_t ref, int writable)
{
    struct nb_pg *t = v->pg;
    uint32_t i = nb_pg_slot(ref);

    for (uint32_t n = 0; n < NB_PG_CAP; n++, i = (i + 1) & (NB_PG_CAP - 1)) {
        if (t[i].addr && t[i].ref == ref)
            return !writable || t[i].writable ? t[i].addr : NULL;
        if (!t[i].addr)
            break;
    }
    if (v->npg >= NB_PG_CAP / 2 || t[i].addr)
        return NULL;                     /* table full enough: copies from here on */
    t[i].addr = kc_gnttab_map(v->kc, v->domid, &ref, 1, writable, NULL);
    if (!t[i].addr)
        return NULL;                     /* not granted (or not so): the copy answers */
    t[i].ref = ref;
    t[i].writable = writable;
    v->npg++;
    return t[i].addr;
}

uint32_t nb_pg_copy(struct nb_vif *v, struct kc_gnttab_copy_seg *segs, uint32_t nseg,
                    uint32_t *rest)
{
    uint32_t nrest = 0;

    for (uint32_t i = 0; i < nseg; i++) {
        struct kc_gnttab_copy_seg *s = &segs[i];
        uint8_t *p;

        if (!v->persistent || (uint32_t)s->offset + s->len > 4096u ||
            !(p = nb_pg_get(v, s->ref, s->to_guest))) {
            rest[nrest++] = i;
            continue;
        }
        if (s->to_guest)
            memcpy(p + s->offset, s->local, s->len);
        else
            memcpy(s->local, p + s->offset, s->len);
        s->status = 0;
    }
    return nrest;
}

void nb_pg_clear(struct nb_vif *v)
{
    if (!v->pg)
        return;
    for (uint32_t i = 0; i < NB_PG_CAP; i++)
        if (v->pg[i].addr) {
            kc_gnttab_unmap(v->kc, v->pg[i].addr, 1);
            v->pg[i].addr = NULL;
        }
    v->npg = 0;
}
