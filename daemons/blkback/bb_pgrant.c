/* bb_pgrant.c - keel-blkback's persistent-grant cache (feature-persistent, negotiated in
 * bb_ring.c). With persistent grants the frontend copies data into and out of a pool of pages it
 * granted once (writable); the backend maps each of those references the first time a request
 * names it and keeps the mapping until the ring disconnects, so a request costs no grant map or
 * unmap round trip to the core. The cache is an open-addressing hash gref -> page address,
 * bounded by a capacity: references beyond it are mapped for their request only (the caller's
 * fallback), as Linux's blkback does past its max_persistent_grants. Missing references of one
 * request are mapped together in one kc_gnttab_map call; the ranges it returned are unmapped at
 * release. Nothing here trusts a reference: a reference that does not map is simply not cached
 * and the per-request map reports it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bb_pgrant.h"

static uint32_t bb_pg_hash(uint32_t gref)
{
    return gref * 2654435761u;
}

int bb_pg_init(struct bb_pgrant *pg, uint32_t cap)
{
    uint32_t size = 16;

    memset(pg, 0, sizeof(*pg));
    pg->cap = cap && cap <= BB_PGRANT_MAX ? cap : BB_PGRANT_MAX;
    while (size < 2 * pg->cap)
        size *= 2;
    if (!(pg->tab = calloc(size, sizeof(*pg->tab))))
        return -ENOMEM;
    pg->hmask = size - 1;
    return 0;
}

uint8_t *bb_pg_lookup(struct bb_pgrant *pg, uint32_t gref)
{
    if (!pg->tab)
        return NULL;
    for (uint32_t i = bb_pg_hash(gref) & pg->hmask;; i = (i + 1) & pg->hmask) {
        struct bb_pg_ent *e = &pg->tab[i];
        if (!e->used)
            return NULL;
        if (e->gref == gref)
            return e->addr;
    }
}

static void bb_pg_insert(struct bb_pgrant *pg, uint32_t gref, uint8_t *addr)
{
    uint32_t i = bb_pg_hash(gref) & pg->hmask;

    while (pg->tab[i].used)
        i = (i + 1) & pg->hmask;
    pg->tab[i] = (struct bb_pg_ent){ gref, 1, addr };
    pg->count++;
}

static int bb_pg_add_range(struct bb_pgrant *pg, void *addr, uint32_t count)
{
    if (pg->nranges == pg->ranges_cap) {
        uint32_t ncap = pg->ranges_cap ? pg->ranges_cap * 2 : 64;
        struct bb_pg_range *n = realloc(pg->ranges, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        pg->ranges = n;
        pg->ranges_cap = ncap;
    }
    pg->ranges[pg->nranges++] = (struct bb_pg_range){ addr, count };
    return 0;
}

/* Map the distinct missing references (one call) and cache them; 0 or negative errno. */
static int bb_pg_fill(struct bb_pgrant *pg, kc_handle *kc, uint32_t domid, const uint32_t *miss,
                      uint32_t nmiss)
{
    uint8_t *map;

    pg->map_calls++;
    if (!(map = kc_gnttab_map(kc, domid, miss, nmiss, 1, NULL)))
        return -errno;
    if (bb_pg_add_range(pg, map, nmiss) < 0) {
        kc_gnttab_unmap(kc, map, nmiss);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < nmiss; i++)
        bb_pg_insert(pg, miss[i], map + (size_t)i * 4096u);
    pg->maps += nmiss;
    return 0;
}

uint32_t bb_pg_get(struct bb_pgrant *pg, kc_handle *kc, uint32_t domid, const uint32_t *grefs,
                   uint32_t n, uint8_t **addrs)
{
    uint32_t *miss = NULL, nmiss = 0, left = 0;

    for (uint32_t i = 0; i < n; i++) {
        if ((addrs[i] = bb_pg_lookup(pg, grefs[i]))) {
            pg->hits++;
            continue;
        }
        if (!miss && !(miss = malloc(n * sizeof(*miss))))
            return n;
        uint32_t k = 0;
        while (k < nmiss && miss[k] != grefs[i])      /* a reference named twice: once */
            k++;
        if (k == nmiss)
            miss[nmiss++] = grefs[i];
    }
    if (nmiss && pg->count + nmiss <= pg->cap && bb_pg_fill(pg, kc, domid, miss, nmiss) == 0) {
        for (uint32_t i = 0; i < n; i++)
            if (!addrs[i])
                addrs[i] = bb_pg_lookup(pg, grefs[i]);
    } else if (nmiss) {
        pg->overflow += nmiss;
    }
    free(miss);
    for (uint32_t i = 0; i < n; i++)
        left += !addrs[i];
    return left;
}

void bb_pg_release(struct bb_pgrant *pg, kc_handle *kc)
{
    for (uint32_t i = 0; i < pg->nranges; i++)
        kc_gnttab_unmap(kc, pg->ranges[i].addr, pg->ranges[i].count);
    free(pg->ranges);
    free(pg->tab);
    memset(pg, 0, sizeof(*pg));
}
