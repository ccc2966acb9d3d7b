/* grant.h - internals of the core's grant tables shared by grant.c (tables, setup, query, entry
 * pinning), grant_map.c (Domain-0 map/unmap, maptrack) and grant_copy.c (batched copy). */
#ifndef KEEL_HV_GRANT_H
#define KEEL_HV_GRANT_H

#include "hv.h"

#define HV_MAPTRACK_PER_FRAME 512u       /* maptrack entries per "frame", as Xen's 8-byte entries */

struct hv_gnt_active {                   /* the core's view of one entry in use */
    uint32_t lock;                       /* spinlock */
    uint32_t pins_rd, pins_wr;           /* mappings and copies in progress */
    uint32_t frame;                      /* granter frame captured at the first pin */
};

struct hv_gnttab {
    struct hv_domain *d;
    uint64_t instance;                   /* d->instance */
    int refs;                            /* atomic: grant ops holding this table */
    pthread_rwlock_t rw;                 /* readers: map/unmap/copy; writer: setup, teardown */
    struct keel_grant_entry_v1 *tab;     /* the guest's frames, MAP_SHARED from d->mem_fd */
    struct hv_gnt_active *active;        /* one per entry */
    uint64_t first_gfn;
    uint32_t nr_frames, nr_entries;
    uint32_t max_frames;
    uint32_t max_maptrack;               /* entries this domain may map as a grantee */
    long nr_pinned;                      /* atomic: entries with pins */
};

/* grant.c */
void hv_gnttab_enter(void);
void hv_gnttab_leave(void);
uint32_t hv_gnttab_dom0_maptrack_limit(void);
struct hv_gnttab *hv_gnttab_get(uint32_t domid);   /* a reference, or NULL */
void hv_gnttab_put(struct hv_gnttab *g);
/* With g->rw held for reading: check entry ref for grantee (and write), mark it in use. */
int hv_gnttab_pin(struct hv_gnttab *g, uint32_t ref, uint16_t grantee, bool write, uint64_t *frame);
void hv_gnttab_unpin(struct hv_gnttab *g, uint32_t ref, bool write);
void hv_gnttab_dirty(struct hv_domain *d, uint64_t gpa, size_t len);
void hv_gnttab_dirty_mapped(struct hv_domain *d);   /* writable-mapped frames: dirty (hv.lock) */
int hv_gnttab_xsm(uint32_t ssid, uint32_t tsid, uint32_t perm);

/* grant_map.c, grant_copy.c */
long hv_gnttab_map(struct hv_caller *c, uint32_t count, uint64_t arg);
long hv_gnttab_unmap(struct hv_caller *c, uint32_t count, uint64_t arg);
long hv_gnttab_copy(struct hv_caller *c, uint32_t count, uint64_t arg);

#endif
