/* bb_pgrant.h - keel-blkback's persistent-grant cache (feature-persistent): per device, the
 * frontend's data-page grant references mapped once and kept (gref -> address in the worker),
 * bounded; everything is unmapped at disconnect. */
#ifndef BB_PGRANT_H
#define BB_PGRANT_H

#include <stdint.h>

#include "keel/ctrl.h"

#define BB_PGRANT_MAX 8192u             /* cached grants per device (32 MiB of guest pages) */

struct bb_pg_ent {
    uint32_t gref;
    uint32_t used;
    uint8_t *addr;
};

struct bb_pg_range {
    void *addr;
    uint32_t count;
};

struct bb_pgrant {
    uint32_t cap, count, hmask;          /* hash: open addressing, hmask + 1 >= 2 * cap */
    struct bb_pg_ent *tab;
    struct bb_pg_range *ranges;          /* what kc_gnttab_map returned, for the unmap */
    uint32_t nranges, ranges_cap;
    uint64_t hits, maps, map_calls, overflow;   /* counters for the disconnect log line */
};

/* 0, or -ENOMEM; cap 0 or > BB_PGRANT_MAX: BB_PGRANT_MAX. */
int bb_pg_init(struct bb_pgrant *pg, uint32_t cap);
/* The cached address of gref's page, or NULL. */
uint8_t *bb_pg_lookup(struct bb_pgrant *pg, uint32_t gref);
/* Look up n references (addrs[i] = page or NULL); those missing are mapped writable in one
 * kc_gnttab_map call and cached while the cache has room for all of them. Returns how many
 * are still missing (not cached: the caller maps them for the request only). */
uint32_t bb_pg_get(struct bb_pgrant *pg, kc_handle *kc, uint32_t domid, const uint32_t *grefs,
                   uint32_t n, uint8_t **addrs);
/* Unmap everything and free the cache (the structure may be initialised again). */
void bb_pg_release(struct bb_pgrant *pg, kc_handle *kc);

#endif
