/* rt_blkfront.c - the PV block frontend of the guest runtime (blkif, include/keel/io/blkif.h;
 * the store contract in the issue 11 device contract). Open: find device/vbd/<devid>, wait for
 * the backend's InitWait, read its features, grant a ring of 2^order pages and allocate an
 * unbound event channel toward the backend domain, publish ring-ref(s)/event-channel/protocol,
 * Initialised; on the backend's Connected read sectors/info/sector-size and go Connected.
 * I/O: each request takes a ring slot and a shadow entry (id = generation << 32 | slot). With
 * per-request grants the pages of its buffer are granted for the request only and revoked when
 * the response comes (EBUSY: the backend still maps one, retried later, the request completes
 * only then). With persistent grants (feature-persistent offered by the backend, ours written
 * as 1) the data goes through a pool of pages granted once, writable, and kept granted until
 * the device closes: a write copies the buffer into pool pages, a read copies them out when the
 * response came; the backend keeps them mapped, so no grant is mapped, unmapped or revoked per
 * request (the indirect segment pages are granted once per slot the same way). Direct
 * requests carry up to 11 segments; larger ones go INDIRECT when offered. Every response is
 * copied out once and checked (id in flight, operation, status, producer index). Closing: on
 * the backend's Closing no new request is taken, the in-flight ones finish, the frontend goes
 * Closed and revokes the ring; a backend Closed, or its directory found removed (the whole
 * handshake passed between two looks), fails what is still in flight with ENODEV. The event handler only counts; all work runs from
 * rt_blk_poll/rt_blk_wait in the caller's context (one vCPU, not from the upcall). */
#include "keel_guest.h"

#include "keel/io/blkif.h"
#include "keel/io/xenbus.h"

#define E_NOENT 2
#define E_IO 5
#define E_AGAIN 11
#define E_NOMEM 12
#define E_BUSY 16
#define E_NODEV 19
#define E_INVAL 22
#define E_NOSPC 28
#define E_OPNOTSUPP 95
#define E_TIMEDOUT 110

#define BLK_MAX_ORDER 4
#define BLK_DEFAULT_SEGS 256
#define BLK_MAX_SEGS (KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * KEEL_BLKIF_SEGS_PER_INDIRECT_FRAME)
#define BLK_CONNECT_NS (30 * 1000000000ULL)
#define SECS_PER_PAGE KEEL_BLKIF_SECTORS_PER_PAGE
#define BLK_POOL_MAX 4096u                     /* persistent pages (16 MiB) at most */

enum { ST_CONNECTED = 1, ST_CLOSING, ST_FE_CLOSED, ST_CLOSED };

struct blk_shadow {
    uint64_t id;
    struct rt_blk_req *req;
    uint32_t *grefs;                     /* granted, not yet revoked (0 = revoked); persistent:
                                            the pool pages the request uses */
    uint32_t ngrefs, npool;
    uint8_t *ind;                        /* indirect pages, allocated at first use */
    uint32_t ind_refs[KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST]; /* persistent: granted once */
    uint8_t used, answered, op, ind_op;
};

struct blk_pgnt {                        /* one persistently granted page */
    uint8_t *page;
    uint32_t gref;                       /* 0: revoked */
};

struct rt_blk {
    struct rt_xb_dev xb;
    struct rt_blk_info info;
    struct keel_blkif_front ring;
    void *ring_area;
    uint32_t ring_refs[1u << BLK_MAX_ORDER], ring_granted;
    uint32_t port;
    volatile uint32_t kicks;
    struct blk_shadow *shadow;
    uint32_t *free_slots, nfree;
    uint32_t inflight, revoking, gen, ind_pages;
    int state, be_gone;                  /* be_gone: the backend's directory was removed */
    uint64_t bad_responses;
    struct blk_pgnt *pool;               /* persistent grants: pages granted so far */
    uint32_t pool_cap, pool_n, *pool_free, pool_nfree;
};

static uint32_t pages_for(uint64_t bytes)
{
    return (uint32_t)((bytes + KEEL_PAGE_SIZE - 1) / KEEL_PAGE_SIZE);
}

static void blk_event(uint32_t port, void *data)
{
    (void)port;
    ((struct rt_blk *)data)->kicks++;
}

/* Copies of whole sectors to and from the pool (rep movsb: the runtime's memcpy is a byte loop). */
static void blk_copy(void *d, const void *s, uint64_t n)
{
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* ---- grants ---- */

static int grant_table_ready(void)
{
    static int ready;

    if (ready)
        return 0;
    for (uint32_t frames = 32; frames; frames /= 2) {
        int rc = rt_gnttab_init(frames);
        if (rc == 0 || rc == -E_INVAL) {       /* EINVAL with frames > 0: someone set it up */
            ready = 1;
            return 0;
        }
    }
    return -E_NOMEM;
}

/* Revoke what the shadow entry still holds; 1 when nothing is left. */
static int end_grants(struct blk_shadow *s)
{
    int left = 0;

    for (uint32_t i = 0; i < s->ngrefs; i++) {
        if (!s->grefs[i])
            continue;
        if (rt_gnttab_end(s->grefs[i]) == -E_BUSY)
            left = 1;
        else
            s->grefs[i] = 0;
    }
    if (!left)
        s->ngrefs = 0;
    return !left;
}

/* A page of the persistent pool (granted writable at first use); its index or -EAGAIN. */
static int pool_get(struct rt_blk *b)
{
    uint8_t *page;
    int ref;

    if (b->pool_nfree)
        return (int)b->pool_free[--b->pool_nfree];
    if (b->pool_n >= b->pool_cap || !(page = rt_page_alloc(1)))
        return -E_AGAIN;
    if ((ref = rt_gnttab_grant(b->info.backend_id, rt_virt_to_gfn(page), 0)) < 0) {
        rt_page_free(page, 1);
        return -E_AGAIN;
    }
    b->pool[b->pool_n] = (struct blk_pgnt){ page, (uint32_t)ref };
    return (int)b->pool_n++;
}

static void pool_put_all(struct rt_blk *b, struct blk_shadow *s)
{
    for (uint32_t i = 0; i < s->npool; i++)
        b->pool_free[b->pool_nfree++] = s->grefs[i];
    s->npool = 0;
}

/* Revoke the persistent grants (the device is closed); 1 when none is left. */
static int pool_revoke(struct rt_blk *b)
{
    int left = 0;

    for (uint32_t i = 0; i < b->pool_n; i++)
        if (b->pool[i].gref && rt_gnttab_end(b->pool[i].gref) == 0) {
            b->pool[i].gref = 0;
            rt_page_free(b->pool[i].page, 1);
        } else if (b->pool[i].gref)
            left = 1;
    for (uint32_t i = 0; b->shadow && i < b->info.ring_slots; i++)
        for (uint32_t k = 0; k < KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; k++)
            if (b->shadow[i].ind_refs[k] && rt_gnttab_end(b->shadow[i].ind_refs[k]) == 0)
                b->shadow[i].ind_refs[k] = 0;
            else if (b->shadow[i].ind_refs[k])
                left = 1;
    return !left;
}

/* A read through the pool is in: copy the data out to the request's buffer. */
static void pool_copy_out(struct rt_blk *b, struct blk_shadow *s)
{
    const struct rt_blk_req *r = s->req;
    uint64_t addr = (uint64_t)r->buf, end = addr + r->nsectors * KEEL_BLKIF_SECTOR_SIZE;

    for (uint32_t i = 0; i < s->npool && addr < end; i++) {
        uint64_t page = addr & ~(KEEL_PAGE_SIZE - 1);
        uint64_t stop = end < page + KEEL_PAGE_SIZE ? end : page + KEEL_PAGE_SIZE;
        blk_copy((void *)addr, b->pool[s->grefs[i]].page + (addr - page), stop - addr);
        addr = stop;
    }
}

static int grant(struct rt_blk *b, struct blk_shadow *s, const void *page, int readonly)
{
    int ref = rt_gnttab_grant(b->info.backend_id, rt_virt_to_gfn(page), readonly);

    if (ref < 0)
        return ref == -E_NOSPC ? -E_AGAIN : ref;
    s->grefs[s->ngrefs++] = (uint32_t)ref;
    return ref;
}

/* ---- completions ---- */

static int complete(struct rt_blk *b, uint32_t idx)
{
    struct blk_shadow *s = &b->shadow[idx];
    struct rt_blk_req *r = s->req;

    s->used = 0;
    s->req = 0;
    b->free_slots[b->nfree++] = idx;
    b->inflight--;
    r->busy = 0;
    if (r->done)
        r->done(b, r);
    return 1;
}

/* The response (or a failure) is in: revoke, then complete, or wait for the revoke. */
static int finish(struct rt_blk *b, uint32_t idx, int status)
{
    struct blk_shadow *s = &b->shadow[idx];

    s->answered = 1;
    s->req->status = status;
    if (s->npool) {
        if (status == 0 && s->req->op == RT_BLK_READ)
            pool_copy_out(b, s);
        pool_put_all(b, s);
    }
    if (end_grants(s))
        return complete(b, idx);
    b->revoking++;
    return 0;
}

static int retry_revokes(struct rt_blk *b)
{
    int n = 0;

    for (uint32_t i = 0; b->revoking && i < b->info.ring_slots; i++) {
        struct blk_shadow *s = &b->shadow[i];
        if (s->used && s->answered && s->ngrefs && end_grants(s)) {
            b->revoking--;
            n += complete(b, i);
        }
    }
    return n;
}

/* Fail every request the backend has not answered (it closed or misbehaved). */
static int fail_all(struct rt_blk *b, int status)
{
    int n = 0;

    for (uint32_t i = 0; i < b->info.ring_slots; i++)
        if (b->shadow[i].used && !b->shadow[i].answered)
            n += finish(b, i, status);
    return n;
}

static void bad_response(struct rt_blk *b, const struct keel_blkif_response *rsp, const char *why)
{
    if (b->bad_responses++ < 10)
        rt_printf("blkfront: vbd %u: bad response (id %llx op %u status %d): %s\n",
                  b->info.devid, (unsigned long long)rsp->id, rsp->operation, rsp->status, why);
}

static int status_errno(int16_t st)
{
    return st == KEEL_BLKIF_RSP_OKAY ? 0 : st == KEEL_BLKIF_RSP_EOPNOTSUPP ? -E_OPNOTSUPP : -E_IO;
}

static int take_response(struct rt_blk *b, const struct keel_blkif_response *rsp)
{
    uint32_t idx = (uint32_t)rsp->id;
    struct blk_shadow *s;

    if (idx >= b->info.ring_slots || !(s = &b->shadow[idx])->used || s->answered ||
        s->id != rsp->id) {
        bad_response(b, rsp, "no such request in flight");
        return 0;
    }
    s->req->rsp_status = rsp->status;
    s->req->rsp_op = rsp->operation;
    if (rsp->operation != s->op && !(s->op == KEEL_BLKIF_OP_INDIRECT && rsp->operation == s->ind_op)) {
        bad_response(b, rsp, "operation differs from the request's");
        return finish(b, idx, -E_IO);
    }
    if (rsp->status != KEEL_BLKIF_RSP_OKAY && rsp->status != KEEL_BLKIF_RSP_ERROR &&
        rsp->status != KEEL_BLKIF_RSP_EOPNOTSUPP)
        bad_response(b, rsp, "unknown status");
    return finish(b, idx, status_errno(rsp->status));
}

static void start_closing(struct rt_blk *b, const char *why)
{
    if (b->state != ST_CONNECTED)
        return;
    rt_printf("blkfront: vbd %u: closing (%s), %u requests in flight\n", b->info.devid, why,
              b->inflight);
    b->state = ST_CLOSING;
}

static int take_responses(struct rt_blk *b)
{
    int n = 0;
    keel_ring_idx prod = b->ring.s->hdr.rsp_prod;

    keel_rmb();
    if ((keel_ring_idx)(prod - b->ring.rsp_cons) > b->ring.size ||
        (keel_ring_idx)(prod - b->ring.rsp_cons) > (keel_ring_idx)(b->ring.req_prod_pvt - b->ring.rsp_cons)) {
        rt_printf("blkfront: vbd %u: backend published response index %u (consumed %u, "
                  "requested %u): broken backend\n", b->info.devid, prod, b->ring.rsp_cons,
                  b->ring.req_prod_pvt);
        start_closing(b, "broken backend");
        return fail_all(b, -E_IO);
    }
    while (b->ring.rsp_cons != prod) {
        struct keel_blkif_response rsp;
        memcpy(&rsp, &b->ring.s->ring[b->ring.rsp_cons & (b->ring.size - 1)].rsp, sizeof(rsp));
        b->ring.rsp_cons++;
        n += take_response(b, &rsp);
    }
    return n;
}

/* ---- closing ---- */

static void revoke_ring(struct rt_blk *b)
{
    uint32_t npages = 1u << b->info.ring_order;
    int pool_done = pool_revoke(b);

    for (uint32_t i = 0; i < npages; i++)
        if ((b->ring_granted & (1u << i)) && rt_gnttab_end(b->ring_refs[i]) == 0)
            b->ring_granted &= ~(1u << i);
    if (!b->ring_granted && pool_done) {
        b->state = ST_CLOSED;
        rt_xb_unwatch_backend(&b->xb);
        rt_printf("blkfront: vbd %u: closed\n", b->info.devid);
    }
}

static int close_step(struct rt_blk *b, int be_state)
{
    int n = 0;

    if (b->state == ST_CLOSING && (be_state == KEEL_XB_CLOSED || b->be_gone))
        n += fail_all(b, -E_NODEV);            /* the backend is gone: nothing more comes */
    if (b->state == ST_CLOSING && !b->inflight) {
        rt_xb_switch(&b->xb, KEEL_XB_CLOSED);
        b->state = ST_FE_CLOSED;
    }
    if (b->state == ST_FE_CLOSED)
        revoke_ring(b);
    return n;
}

int rt_blk_poll(struct rt_blk *b)
{
    int n = 0, be = -1;

    if (b->revoking)
        n += retry_revokes(b);
    if (b->state == ST_CONNECTED || b->state == ST_CLOSING)
        n += take_responses(b);
    if (rt_xb_event_pending() && b->state != ST_CLOSED) {
        be = rt_xb_state(&b->xb, RT_XB_BACKEND);
        /* a save closed the old backend while we were paused; restored under a new domid, the
         * frontend dir names the new one (the event may be that close, seen only now) */
        if (be != KEEL_XB_CONNECTED && rt_xb_rebind(&b->xb) == 0)
            be = rt_xb_state(&b->xb, RT_XB_BACKEND);
        /* its directory removed: the toolstack finished a close we did not see step by step
         * (Closing and Closed came and went between two looks); requests sent meanwhile will
         * never be answered, so they fail as for Closed */
        if (be == -E_NOENT)
            b->be_gone = 1;
        if (be != KEEL_XB_CONNECTED)
            start_closing(b, be < 0 ? "backend state unreadable" : "backend state changed");
    }
    if (b->state != ST_CONNECTED && b->state != ST_CLOSED)
        n += close_step(b, be);
    return n;
}

/* ---- waiting ---- */

static void blk_sleep(struct rt_blk *b, uint64_t deadline)
{
    volatile struct keel_vcpu_info *vi = rt_this_cpu()->vi;
    uint64_t until = rt_now() + 30000, wake;
    int live = b->state == ST_CONNECTED || b->state == ST_CLOSING;

    while (live && rt_now() < until)             /* a backend on another CPU answers soon */
        if (keel_blkif_front_unconsumed(&b->ring))
            return;
    vi->evtchn_upcall_mask = 1;
    keel_mb();
    if (live && keel_blkif_front_final_check(&b->ring)) {
        rt_enable_events();
        return;
    }
    wake = rt_now() + (b->revoking || b->state == ST_FE_CLOSED ? 1000000ULL : 100000000ULL);
    if (deadline && deadline < wake)
        wake = deadline;
    rt_set_timer(wake);
    rt_block();                                  /* unmasks; returns at once if pending */
    rt_enable_events();
}

int rt_blk_wait(struct rt_blk *b, uint64_t deadline)
{
    for (;;) {
        int n = rt_blk_poll(b);
        if (n)
            return n;
        if (!b->inflight)
            return 0;
        if (deadline && rt_now() >= deadline)
            return -E_TIMEDOUT;
        blk_sleep(b, deadline);
    }
}

uint32_t rt_blk_inflight(const struct rt_blk *b)
{
    return b->inflight;
}

int rt_blk_connected(const struct rt_blk *b)
{
    return b->state == ST_CONNECTED;
}

const struct rt_blk_info *rt_blk_get_info(const struct rt_blk *b)
{
    return &b->info;
}

struct keel_blkif_front *rt_blk_ring(struct rt_blk *b)
{
    return &b->ring;
}

uint32_t rt_blk_port(const struct rt_blk *b)
{
    return b->port;
}

/* ---- submission ---- */

/* Segments for the pages [buf, buf + nsectors*512) touches; 0 or negative errno. */
static int build_segs(struct rt_blk *b, struct blk_shadow *s, struct keel_blkif_segment *seg,
                      const struct rt_blk_req *r, uint32_t nsegs)
{
    uint64_t addr = (uint64_t)r->buf, end = addr + r->nsectors * KEEL_BLKIF_SECTOR_SIZE;

    for (uint32_t i = 0; i < nsegs; i++) {
        uint64_t page = addr & ~(KEEL_PAGE_SIZE - 1);
        uint64_t stop = end < page + KEEL_PAGE_SIZE ? end : page + KEEL_PAGE_SIZE;
        int ref;
        if (b->info.persistent) {              /* a pool page at the same offsets */
            int pi = pool_get(b);
            if (pi < 0)
                return pi;
            s->grefs[s->npool++] = (uint32_t)pi;
            ref = (int)b->pool[pi].gref;
            if (r->op == RT_BLK_WRITE)
                blk_copy(b->pool[pi].page + (addr - page), (const void *)addr, stop - addr);
        } else if ((ref = grant(b, s, (const void *)page, r->op == RT_BLK_WRITE)) < 0) {
            return ref;
        }
        seg[i].gref = (uint32_t)ref;
        seg[i].first_sect = (uint8_t)((addr - page) / KEEL_BLKIF_SECTOR_SIZE);
        seg[i].last_sect = (uint8_t)((stop - page) / KEEL_BLKIF_SECTOR_SIZE - 1);
        seg[i].pad = 0;
        addr = stop;
    }
    return 0;
}

static int build_rw(struct rt_blk *b, struct blk_shadow *s, const struct rt_blk_req *r,
                    struct keel_blkif_request *req)
{
    uint64_t addr = (uint64_t)r->buf, ss = b->info.sector_size / KEEL_BLKIF_SECTOR_SIZE;
    uint32_t nsegs;

    if (!r->buf || (addr & (KEEL_BLKIF_SECTOR_SIZE - 1)) || !r->nsectors ||
        r->nsectors > (uint64_t)BLK_MAX_SEGS * SECS_PER_PAGE || r->sector % ss || r->nsectors % ss ||
        r->sector >= b->info.sectors || r->nsectors > b->info.sectors - r->sector)
        return -E_INVAL;
    nsegs = pages_for((addr & (KEEL_PAGE_SIZE - 1)) + r->nsectors * KEEL_BLKIF_SECTOR_SIZE);
    if (nsegs > b->info.max_segs)
        return -E_INVAL;
    req->sector_number = r->sector;
    if (nsegs <= KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST) {
        req->operation = s->op = (uint8_t)r->op;
        req->nr_segments = (uint8_t)nsegs;
        return build_segs(b, s, req->seg, r, nsegs);
    }
    struct keel_blkif_request_indirect *ind = (struct keel_blkif_request_indirect *)req;
    uint32_t npages = (nsegs + KEEL_BLKIF_SEGS_PER_INDIRECT_FRAME - 1) / KEEL_BLKIF_SEGS_PER_INDIRECT_FRAME;
    if (!s->ind && !(s->ind = rt_page_alloc(b->ind_pages)))
        return -E_NOMEM;
    ind->operation = s->op = KEEL_BLKIF_OP_INDIRECT;
    ind->indirect_op = s->ind_op = (uint8_t)r->op;
    ind->nr_segments = (uint16_t)nsegs;
    ind->sector_number = r->sector;
    ind->handle = (uint16_t)b->info.devid;
    int rc = build_segs(b, s, (struct keel_blkif_segment *)s->ind, r, nsegs);
    for (uint32_t i = 0; rc == 0 && i < npages; i++) {
        if (b->info.persistent) {              /* granted once, writable, kept */
            int ref = s->ind_refs[i] ? (int)s->ind_refs[i] :
                      rt_gnttab_grant(b->info.backend_id, rt_virt_to_gfn(s->ind + i * KEEL_PAGE_SIZE), 0);
            if (ref < 0)
                return ref == -E_NOSPC ? -E_AGAIN : ref;
            ind->indirect_grefs[i] = s->ind_refs[i] = (uint32_t)ref;
            continue;
        }
        int ref = grant(b, s, s->ind + i * KEEL_PAGE_SIZE, 1);
        if (ref < 0)
            return ref;
        ind->indirect_grefs[i] = (uint32_t)ref;
    }
    return rc;
}

static int build(struct rt_blk *b, struct blk_shadow *s, const struct rt_blk_req *r,
                 struct keel_blkif_request *req)
{
    struct keel_blkif_request_discard *dis = (struct keel_blkif_request_discard *)req;

    switch (r->op) {
    case RT_BLK_READ:
    case RT_BLK_WRITE:
        return build_rw(b, s, r, req);
    case RT_BLK_FLUSH:
        if (!b->info.flush && !b->info.barrier)
            return -E_OPNOTSUPP;
        req->operation = s->op = b->info.flush ? KEEL_BLKIF_OP_FLUSH_DISKCACHE
                                               : KEEL_BLKIF_OP_WRITE_BARRIER;
        return 0;
    case RT_BLK_BARRIER:
        if (!b->info.barrier)
            return -E_OPNOTSUPP;
        req->operation = s->op = KEEL_BLKIF_OP_WRITE_BARRIER;
        return 0;
    case RT_BLK_DISCARD:
    case RT_BLK_SECURE_DISCARD:
        if (!b->info.discard || (r->op == RT_BLK_SECURE_DISCARD && !b->info.discard_secure))
            return -E_OPNOTSUPP;
        if (!r->nsectors || r->sector >= b->info.sectors || r->nsectors > b->info.sectors - r->sector)
            return -E_INVAL;
        dis->operation = s->op = KEEL_BLKIF_OP_DISCARD;
        dis->flag = r->op == RT_BLK_SECURE_DISCARD ? KEEL_BLKIF_DISCARD_SECURE : 0;
        dis->sector_number = r->sector;
        dis->nr_sectors = r->nsectors;
        return 0;
    case RT_BLK_RAW:
        if (!r->raw)
            return -E_INVAL;
        memcpy(req, r->raw, sizeof(*req));
        s->op = req->operation;
        s->ind_op = ((const struct keel_blkif_request_indirect *)r->raw)->indirect_op;
        return 0;
    default:
        return -E_INVAL;
    }
}

int rt_blk_submit(struct rt_blk *b, struct rt_blk_req *r)
{
    struct keel_blkif_request req;
    struct blk_shadow *s;
    uint32_t idx;
    int rc;

    if (b->state != ST_CONNECTED)
        return -E_NODEV;
    if (r->busy)
        return -E_INVAL;
    if (!b->nfree || !keel_blkif_front_free(&b->ring))
        return -E_AGAIN;
    idx = b->free_slots[b->nfree - 1];
    s = &b->shadow[idx];
    memset(&req, 0, sizeof(req));
    req.handle = (uint16_t)b->info.devid;
    s->ngrefs = 0;
    s->npool = 0;
    s->ind_op = 0;
    if ((rc = build(b, s, r, &req)) < 0) {
        end_grants(s);                         /* never shown to the backend: cannot be busy */
        pool_put_all(b, s);
        if (rc == -E_AGAIN && !b->inflight)    /* nothing will free pool pages or grants */
            rc = -E_NOMEM;
        return rc;
    }
    b->nfree--;
    s->id = req.id = (uint64_t)++b->gen << 32 | idx;
    s->req = r;
    s->used = 1;
    s->answered = 0;
    r->status = 0;
    r->rsp_status = 0;
    r->rsp_op = -1;
    r->busy = 1;
    b->inflight++;
    memcpy(keel_blkif_front_req_slot(&b->ring, b->ring.req_prod_pvt), &req, sizeof(req));
    b->ring.req_prod_pvt++;
    if (keel_blkif_front_push(&b->ring))
        rt_notify(b->port);
    return 0;
}

/* ---- synchronous wrappers ---- */

#define SYNC_DEPTH 16

static void wait_idle(struct rt_blk *b, struct rt_blk_req *rq, int n)
{
    uint64_t start = rt_now();

    for (;;) {
        int busy = 0;
        for (int i = 0; i < n; i++)
            busy |= rq[i].busy;
        if (!busy)
            return;
        if (rt_blk_wait(b, rt_now() + 10000000000ULL) == -E_TIMEDOUT)
            rt_printf("blkfront: vbd %u: %u requests unanswered for %llu s\n", b->info.devid,
                      b->inflight, (unsigned long long)((rt_now() - start) / 1000000000ULL));
    }
}

static int sync_rw(struct rt_blk *b, int op, uint64_t sector, uint64_t nsectors, void *buf)
{
    struct rt_blk_req rq[SYNC_DEPTH];
    uint64_t ss = b->info.sector_size / KEEL_BLKIF_SECTOR_SIZE;
    uint64_t chunk = (uint64_t)(b->info.max_segs - ((uint64_t)buf & (KEEL_PAGE_SIZE - 1) ? 1 : 0)) *
                     SECS_PER_PAGE / ss * ss;
    int rc = 0;

    memset(rq, 0, sizeof(rq));
    while (nsectors && rc == 0) {
        int n = 0;
        for (; n < SYNC_DEPTH && nsectors; n++) {
            uint64_t len = nsectors < chunk ? nsectors : chunk;
            rq[n] = (struct rt_blk_req){ .op = op, .sector = sector, .nsectors = len, .buf = buf };
            int s = rt_blk_submit(b, &rq[n]);
            if (s == -E_AGAIN && n)
                break;                         /* ring or grants full: wait for this wave */
            if (s < 0) {
                rc = s;
                break;
            }
            sector += len;
            nsectors -= len;
            buf = (uint8_t *)buf + len * KEEL_BLKIF_SECTOR_SIZE;
        }
        wait_idle(b, rq, n);
        for (int i = 0; i < n; i++)
            if (rq[i].status && !rc)
                rc = rq[i].status;
    }
    return rc;
}

static int sync_one(struct rt_blk *b, struct rt_blk_req *r)
{
    int rc = rt_blk_submit(b, r);

    if (rc < 0)
        return rc;
    wait_idle(b, r, 1);
    return r->status;
}

int rt_blk_read(struct rt_blk *b, uint64_t sector, uint64_t nsectors, void *buf)
{
    return sync_rw(b, RT_BLK_READ, sector, nsectors, buf);
}

int rt_blk_write(struct rt_blk *b, uint64_t sector, uint64_t nsectors, const void *buf)
{
    return sync_rw(b, RT_BLK_WRITE, sector, nsectors, (void *)buf);
}

int rt_blk_flush(struct rt_blk *b)
{
    struct rt_blk_req r = { .op = RT_BLK_FLUSH };
    return sync_one(b, &r);
}

int rt_blk_discard(struct rt_blk *b, uint64_t sector, uint64_t nsectors, int secure)
{
    struct rt_blk_req r = { .op = secure ? RT_BLK_SECURE_DISCARD : RT_BLK_DISCARD,
                            .sector = sector, .nsectors = nsectors };
    return sync_one(b, &r);
}

/* ---- open and close ---- */

static void read_features(struct rt_blk *b, const struct rt_blk_opts *o)
{
    struct rt_xb_dev *x = &b->xb;
    uint64_t order = rt_xb_read_u64_or(x, RT_XB_BACKEND, "max-ring-page-order", 0);
    uint64_t pages = rt_xb_read_u64_or(x, RT_XB_BACKEND, "max-ring-pages", 1), ind, segs;
    uint32_t want = o->max_ring_order > BLK_MAX_ORDER ? BLK_MAX_ORDER : o->max_ring_order;

    if (order == 0)                            /* the deprecated page count */
        while (order < BLK_MAX_ORDER && pages >= 2u << order)
            order++;
    b->info.ring_order = (uint32_t)(order < want ? order : want);
    b->info.flush = rt_xb_read_u64_or(x, RT_XB_BACKEND, "feature-flush-cache", 0) == 1;
    b->info.barrier = rt_xb_read_u64_or(x, RT_XB_BACKEND, "feature-barrier", 0) == 1;
    b->info.discard = rt_xb_read_u64_or(x, RT_XB_BACKEND, "feature-discard", 0) == 1;
    b->info.discard_secure = rt_xb_read_u64_or(x, RT_XB_BACKEND, "discard-secure", 0) == 1;
    b->info.discard_granularity = (uint32_t)rt_xb_read_u64_or(x, RT_XB_BACKEND, "discard-granularity", 512);
    b->info.discard_alignment = (uint32_t)rt_xb_read_u64_or(x, RT_XB_BACKEND, "discard-alignment", 0);
    ind = rt_xb_read_u64_or(x, RT_XB_BACKEND, "feature-max-indirect-segments", 0);
    b->info.indirect_segs = ind > BLK_MAX_SEGS ? BLK_MAX_SEGS : (uint32_t)ind;
    segs = o->max_segs ? o->max_segs : BLK_DEFAULT_SEGS;
    if (o->no_indirect || b->info.indirect_segs <= KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST)
        segs = KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST;
    if (segs > b->info.indirect_segs && segs > KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST)
        segs = b->info.indirect_segs;
    b->info.max_segs = (uint32_t)segs;
    b->ind_pages = pages_for(segs * sizeof(struct keel_blkif_segment));
    b->info.persistent = !o->no_persistent &&
                         rt_xb_read_u64_or(x, RT_XB_BACKEND, "feature-persistent", 0) == 1;
}

static int alloc_state(struct rt_blk *b)
{
    uint32_t slots = b->info.ring_slots, per = b->info.max_segs + KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;
    uint32_t *grefs = rt_page_alloc(pages_for((uint64_t)slots * per * sizeof(uint32_t)));

    b->shadow = rt_page_alloc(pages_for((uint64_t)slots * sizeof(struct blk_shadow)));
    b->free_slots = rt_page_alloc(pages_for((uint64_t)slots * sizeof(uint32_t)));
    if (!grefs || !b->shadow || !b->free_slots)
        return -E_NOMEM;
    for (uint32_t i = 0; i < slots; i++) {
        b->shadow[i].grefs = grefs + (uint64_t)i * per;
        b->free_slots[i] = slots - 1 - i;
    }
    b->nfree = slots;
    if (b->info.persistent) {                  /* the pool's pages come at first use */
        uint64_t cap = (uint64_t)slots * b->info.max_segs;
        b->pool_cap = cap < BLK_POOL_MAX ? (uint32_t)cap : BLK_POOL_MAX;
        b->pool = rt_page_alloc(pages_for((uint64_t)b->pool_cap * sizeof(struct blk_pgnt)));
        b->pool_free = rt_page_alloc(pages_for((uint64_t)b->pool_cap * sizeof(uint32_t)));
        if (!b->pool || !b->pool_free)
            return -E_NOMEM;
    }
    return 0;
}

/* Grant the ring, allocate the event channel, publish the keys, go Initialised. */
static int publish(struct rt_blk *b)
{
    uint32_t npages = 1u << b->info.ring_order;
    struct rt_xb_dev *x = &b->xb;
    char key[24];
    int rc, port;

    if (!(b->ring_area = rt_page_alloc(npages)))
        return -E_NOMEM;
    keel_blkif_front_init(&b->ring, b->ring_area, npages * (uint32_t)KEEL_PAGE_SIZE);
    b->info.ring_slots = b->ring.size;
    if ((rc = alloc_state(b)) < 0)
        return rc;
    for (uint32_t i = 0; i < npages; i++) {
        int ref = rt_gnttab_grant(b->info.backend_id,
                                  rt_virt_to_gfn((uint8_t *)b->ring_area + i * KEEL_PAGE_SIZE), 0);
        if (ref < 0)
            return ref;
        b->ring_refs[i] = (uint32_t)ref;
        b->ring_granted |= 1u << i;
    }
    if ((port = rt_alloc_unbound(b->info.backend_id, blk_event, b)) < 0)
        return port;
    b->port = (uint32_t)port;
    if (npages == 1) {
        rt_xb_rm(x, "ring-page-order");
        rc = rt_xb_printf(x, "ring-ref", "%u", b->ring_refs[0]);
    } else {
        rt_xb_rm(x, "ring-ref");
        rc = rt_xb_printf(x, "ring-page-order", "%u", b->info.ring_order);
        for (uint32_t i = 0; rc == 0 && i < npages; i++) {
            rt_snprintf(key, sizeof(key), "ring-ref%u", i);
            rc = rt_xb_printf(x, key, "%u", b->ring_refs[i]);
        }
    }
    if (rc == 0)
        rc = rt_xb_printf(x, "event-channel", "%u", b->port);
    if (rc == 0)
        rc = rt_xb_write(x, "protocol", "x86_64-abi");
    if (rc == 0)
        rc = rt_xb_write(x, "feature-persistent", b->info.persistent ? "1" : "0");
    if (rc == 0)
        rc = rt_xb_switch(x, KEEL_XB_INITIALISED);
    return rc;
}

static int read_geometry(struct rt_blk *b)
{
    struct rt_xb_dev *x = &b->xb;
    uint64_t info = 0, ss = 512, pss;
    int rc;

    if ((rc = rt_xb_read_u64(x, RT_XB_BACKEND, "sectors", &b->info.sectors)) < 0)
        return rc;
    if (rt_xb_read_u64(x, RT_XB_BACKEND, "info", &info) < 0 || info > UINT32_MAX)
        info = 0;
    if (rt_xb_read_u64(x, RT_XB_BACKEND, "sector-size", &ss) < 0)
        ss = 512;
    pss = rt_xb_read_u64_or(x, RT_XB_BACKEND, "physical-sector-size", ss);
    if (ss < 512 || ss > KEEL_PAGE_SIZE || (ss & (ss - 1)) || b->info.sectors >> 54) {
        rt_printf("blkfront: vbd %u: backend geometry sectors=%llu sector-size=%llu refused\n",
                  b->info.devid, (unsigned long long)b->info.sectors, (unsigned long long)ss);
        return -E_INVAL;
    }
    b->info.vdisk_info = (uint32_t)info;
    b->info.sector_size = (uint32_t)ss;
    b->info.physical_sector_size = pss >= ss && pss <= 65536 && !(pss & (pss - 1)) ? (uint32_t)pss : (uint32_t)ss;
    return 0;
}

static int connect(struct rt_blk *b, const struct rt_blk_opts *o)
{
    uint32_t ready = 1u << KEEL_XB_INITWAIT | 1u << KEEL_XB_INITIALISED | 1u << KEEL_XB_CONNECTED;
    uint32_t gone = 1u << KEEL_XB_CLOSING | 1u << KEEL_XB_CLOSED;
    int st, rc;

    st = rt_xb_wait_state(&b->xb, ready | gone, rt_now() + BLK_CONNECT_NS);
    if (st < 0 || (gone & (1u << st)))
        return st < 0 ? st : -E_NODEV;
    read_features(b, o);
    if ((rc = grant_table_ready()) < 0 || (rc = publish(b)) < 0)
        return rc;
    st = rt_xb_wait_state(&b->xb, 1u << KEEL_XB_CONNECTED | gone, rt_now() + BLK_CONNECT_NS);
    if (st < 0 || st != KEEL_XB_CONNECTED)
        return st < 0 ? st : -E_NODEV;
    if ((rc = read_geometry(b)) < 0)
        return rc;
    if ((rc = rt_xb_switch(&b->xb, KEEL_XB_CONNECTED)) < 0)
        return rc;
    b->state = ST_CONNECTED;
    rt_xb_event_pending();                     /* the watch's own events so far */
    return 0;
}

struct rt_blk *rt_blk_open(uint32_t devid, const struct rt_blk_opts *opts, int *err)
{
    struct rt_blk_opts dflt = { .max_ring_order = BLK_MAX_ORDER };
    struct rt_blk *b;
    int rc;

    if ((rc = rt_xs_init()) < 0)
        goto fail;
    if (!(b = rt_page_alloc(pages_for(sizeof(*b))))) {
        rc = -E_NOMEM;
        goto fail;
    }
    if ((rc = rt_xb_open(&b->xb, "vbd", devid)) < 0)
        goto fail;
    b->info.devid = b->xb.devid;
    b->info.backend_id = b->xb.be_id;
    memcpy(b->info.backend, b->xb.be, sizeof(b->info.backend));
    if ((rc = connect(b, opts ? opts : &dflt)) < 0) {
        rt_printf("blkfront: vbd %u: connecting to %s failed (%d): backend state %d, frontend "
                  "state %d\n", b->xb.devid, b->xb.be, rc, rt_xb_state(&b->xb, RT_XB_BACKEND),
                  rt_xb_state(&b->xb, RT_XB_FRONTEND));
        if (b->ring_area) {                    /* published: tell the backend we give up */
            b->state = ST_CLOSING;
            close_step(b, -1);
        }
        goto fail;
    }
    return b;
fail:
    if (err)
        *err = rc;
    return NULL;
}

int rt_blk_close(struct rt_blk *b)
{
    uint64_t deadline = rt_now() + 10000000000ULL;

    while (b->inflight && b->state == ST_CONNECTED && rt_now() < deadline)
        rt_blk_wait(b, deadline);
    if (b->state == ST_CONNECTED) {
        b->state = ST_CLOSING;
        rt_xb_switch(&b->xb, KEEL_XB_CLOSING);
        rt_xb_wait_state(&b->xb, 1u << KEEL_XB_CLOSING | 1u << KEEL_XB_CLOSED, deadline);
    }
    while (b->state != ST_CLOSED && rt_now() < deadline) {
        close_step(b, rt_xb_state(&b->xb, RT_XB_BACKEND));
        if (b->state != ST_CLOSED)
            blk_sleep(b, rt_now() + 1000000ULL);
    }
    return b->state == ST_CLOSED ? 0 : -E_BUSY;
}
