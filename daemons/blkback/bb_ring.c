/* bb_ring.c - keel-blkback's blkif ring: attach to the frontend's ring pages and event channel,
 * take requests off the ring (each entry copied out once, then parsed by bb_parse.c), map their
 * granted pages, run them on the target, and publish the responses in request order after the
 * I/O completed (so the published rsp_prod always means "everything before it is done": a
 * restarted backend resumes there and nothing is lost or answered twice). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_int.h"
#include "klog.h"

#define BB_IOV_MAX 1024

static void bb_respond(struct bb_dev *d);
static int bb_copy(struct bb_dev *d, struct bb_inflight *f, int to_guest);
static void bb_start(struct bb_dev *d, struct bb_inflight *f);

/* ---- connection ---------------------------------------------------------------------- */

static int bb_fe_u32(struct bb_dev *d, const char *key, uint64_t max, uint64_t *v, int optional)
{
    char p[160];
    int rc;

    snprintf(p, sizeof(p), "%s/%s", d->fe, key);
    rc = kxs_read_u64(d->xs, 0, p, max, v);
    if (rc == -ENOENT && optional)
        return 1;
    if (rc < 0)
        bb_dev_fail(d, "frontend key %s: %s", key,
                    rc == -EINVAL ? "not a number in range" : strerror(-rc));
    return rc;
}

static int bb_ring_refs(struct bb_dev *d, uint32_t *refs, uint32_t *n)
{
    uint64_t order = 0, v;
    char key[32];
    int rc;

    if ((rc = bb_fe_u32(d, "ring-page-order", BB_MAX_RING_ORDER, &order, 1)) < 0)
        return rc;
    *n = 1u << order;
    if (order == 0 && bb_fe_u32(d, "ring-ref", UINT32_MAX, &v, 1) == 0) {
        refs[0] = (uint32_t)v;
        return 0;
    }
    for (uint32_t i = 0; i < *n; i++) {
        snprintf(key, sizeof(key), "ring-ref%u", i);
        if ((rc = bb_fe_u32(d, key, UINT32_MAX, &v, 0)) < 0)
            return rc;
        refs[i] = (uint32_t)v;
    }
    return 0;
}

static int bb_protocol_ok(struct bb_dev *d)
{
    char p[160], *v = NULL;
    int ok;

    snprintf(p, sizeof(p), "%s/protocol", d->fe);
    if (kxs_read(d->xs, 0, p, &v, NULL) == -ENOENT)
        return 1;                        /* native */
    ok = v && !strcmp(v, "x86_64-abi");
    if (!ok)
        bb_dev_fail(d, "frontend protocol '%.40s' is not x86_64-abi", v ? v : "?");
    free(v);
    return ok;
}

/* feature-persistent: used when we offered it and the frontend wrote 1 (anything else: off). */
static void bb_persistent_setup(struct bb_dev *d)
{
    char p[160];
    uint64_t v = 0;

    snprintf(p, sizeof(p), "%s/feature-persistent", d->fe);
    d->persistent = d->persistent_offer && kxs_read_u64(d->xs, 0, p, 1, &v) == 0 && v == 1 &&
                    bb_pg_init(&d->pg, BB_PGRANT_MAX) == 0;
    if (d->persistent)
        klog_info(d->name, "persistent grants in use (cache of %u pages)", d->pg.cap);
    else
        klog_info(d->name, "per-request grants (feature-persistent: backend %d, frontend %s)",
                  d->persistent_offer, v == 1 ? "1" : "0 or absent");
}

int bb_ring_connect(struct bb_dev *d)
{
    uint32_t refs[1u << BB_MAX_RING_ORDER], n = 0, port = 0;
    int16_t st[1u << BB_MAX_RING_ORDER];
    uint64_t evtchn = 0;
    int rc;

    if (bb_ring_refs(d, refs, &n) < 0 || bb_fe_u32(d, "event-channel", UINT32_MAX, &evtchn, 0) < 0 ||
        !bb_protocol_ok(d))
        return -EINVAL;
    memset(st, 0, sizeof(st));
    if (!(d->ring_area = kc_gnttab_map(d->kc, d->domid, refs, n, 1, st))) {
        bb_dev_fail(d, "cannot map the %u ring page(s) (ref %u: status %d): %s", n, refs[0], st[0],
                    kc_error(d->kc));
        return -EINVAL;
    }
    d->ring_pages = n;
    keel_blkif_back_init(&d->back, d->ring_area, n * 4096u);
    if (!(d->slots = calloc(d->back.size, sizeof(*d->slots)))) {
        bb_ring_disconnect(d);
        return -ENOMEM;
    }
    if ((rc = kc_evtchn_bind_interdomain(d->kc, d->domid, (uint32_t)evtchn, &port)) < 0) {
        bb_ring_disconnect(d);
        bb_dev_fail(d, "cannot bind to the frontend's event channel %llu: %s",
                    (unsigned long long)evtchn, kc_error(d->kc));
        return rc;
    }
    d->port = port;
    d->evfd = kc_evtchn_fd(d->kc, port);
    d->connected = 1;
    bb_persistent_setup(d);
    klog_info(d->name, "connected: %u ring page(s) (%u slots), event channel %llu, resuming at "
              "request %u", n, d->back.size, (unsigned long long)evtchn, d->back.req_cons);
    return 0;
}

/* Unmap and unbind; only with no I/O under way. Finished responses are published first. */
void bb_ring_disconnect(struct bb_dev *d)
{
    if (d->slots && d->ring_area) {
        bb_respond(d);
        for (uint32_t i = 0; i < d->back.size; i++)
            if (d->slots[i]) {
                free(d->slots[i]->iov);
                if (d->slots[i]->segs != d->slots[i]->r.seg)
                    free(d->slots[i]->segs);
                free(d->slots[i]);
            }
    }
    free(d->slots);
    d->slots = NULL;
    if (d->persistent) {
        klog_info(d->name, "persistent grants: %llu pages mapped in %llu calls, %llu segments "
                  "found mapped, %llu beyond the cache", (unsigned long long)d->pg.maps,
                  (unsigned long long)d->pg.map_calls, (unsigned long long)d->pg.hits,
                  (unsigned long long)d->pg.overflow);
        bb_pg_release(&d->pg, d->kc);
    }
    d->persistent = 0;
    if (d->connected)
        kc_evtchn_close(d->kc, d->port);
    if (d->ring_area)
        kc_gnttab_unmap(d->kc, d->ring_area, d->ring_pages);
    d->ring_area = NULL;
    d->connected = 0;
    d->evfd = -1;
    d->barrier_wait = d->barrier_active = NULL;
}

/* ---- responses ----------------------------------------------------------------------- */

static void bb_free(struct bb_inflight *f)
{
    free(f->iov);
    if (f->segs != f->r.seg)
        free(f->segs);
    free(f);
}

/* Publish the finished responses in request order; notify if the frontend asked for it. */
static void bb_respond(struct bb_dev *d)
{
    int pushed = 0;

    while (d->back.rsp_prod_pvt != d->back.req_cons) {
        uint32_t slot = d->back.rsp_prod_pvt & (d->back.size - 1);
        struct bb_inflight *f = d->slots[slot];
        struct keel_blkif_response rsp;
        if (!f || !f->done || !bb_remus_may_publish(d, f))
            break;
        memset(&rsp, 0, sizeof(rsp));
        rsp.id = f->r.id;
        rsp.operation = f->r.ring_op;
        rsp.status = f->status;
        memcpy(keel_blkif_back_rsp_slot(&d->back, d->back.rsp_prod_pvt), &rsp, sizeof(rsp));
        d->back.rsp_prod_pvt++;
        d->slots[slot] = NULL;
        bb_free(f);
        pushed = 1;
    }
    if (pushed && keel_blkif_back_push(&d->back))
        kc_evtchn_notify(d->kc, d->port);
}

__attribute__((format(printf, 3, 4)))
static void bb_reject_log(struct bb_dev *d, const struct bb_inflight *f, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (++d->rejects > BB_LOG_REJECTS) {
        if (d->rejects == BB_LOG_REJECTS + 1)
            klog_warn(d->name, "more rejected requests: no longer logged");
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    klog_warn(d->name, "request %u (id %llu, operation %u) rejected: %s", f->idx,
              (unsigned long long)f->r.id, f->r.ring_op, msg);
}

static void bb_finish(struct bb_dev *d, struct bb_inflight *f, int rc)
{
    if (f->map)
        kc_gnttab_unmap(d->kc, f->map, f->map_count);
    f->map = NULL;
    if (f->bounce && rc == 0 && f->r.op == KEEL_BLKIF_OP_READ)
        rc = bb_copy(d, f, 1);                /* the data read goes to the guest's pages */
    free(f->bounce);
    free(f->bounce_idx);
    f->bounce = NULL;
    f->bounce_idx = NULL;
    f->status = bb_parse_status(rc == -EROFS || rc == -EINVAL ? -EIO : rc);
    if (rc < 0 && rc != -EOPNOTSUPP && f->issued)
        klog_warn(d->name, "request %u (operation %u, sector %llu): I/O failed: %s", f->idx,
                  f->r.ring_op, (unsigned long long)f->r.sector, strerror(-rc));
    f->done = 1;
    d->io_inflight--;
    if (d->barrier_active == f)
        d->barrier_active = NULL;
    if (d->barrier_wait && d->io_inflight == 0) {
        struct bb_inflight *b = d->barrier_wait;
        d->barrier_wait = NULL;
        d->barrier_active = b;
        bb_start(d, b);
    }
}

/* ---- data path ----------------------------------------------------------------------- */

/* Map, for this request only, the segments persistent grants did not cover (all of them
 * without feature-persistent): one kc_gnttab_map call, writable only for reads. */
/* Copy path: grant copy between the bounce pages and the guest's segments (to_guest: after a
 * read; else before a write). 0, or -EINVAL with a log line naming the reference. */
static int bb_copy(struct bb_dev *d, struct bb_inflight *f, int to_guest)
{
    struct kc_gnttab_copy_seg *s = calloc(f->bounce_count, sizeof(*s));
    uint32_t failed = 0;
    int rc = 0;

    if (!s)
        return -ENOMEM;
    for (uint32_t k = 0; k < f->bounce_count; k++) {
        const struct bb_seg *g = &f->segs[f->bounce_idx[k]];
        s[k] = (struct kc_gnttab_copy_seg){ .domid = d->domid, .ref = g->gref,
                                            .offset = (uint16_t)(g->first * 512u),
                                            .len = (uint16_t)((g->last - g->first + 1) * 512u),
                                            .to_guest = (uint8_t)to_guest,
                                            .local = f->bounce + (size_t)k * 4096u +
                                                     g->first * 512u };
    }
    if (kc_gnttab_copy(d->kc, s, f->bounce_count, &failed) < 0 || failed) {
        uint32_t bad = 0;
        while (bad + 1 < f->bounce_count && s[bad].status == 0)
            bad++;
        bb_reject_log(d, f, "grant reference %u (segment %u) not copied %s the guest: status %d",
                      s[bad].ref, f->bounce_idx[bad], to_guest ? "to" : "from", s[bad].status);
        rc = -EINVAL;
    }
    free(s);
    return rc;
}

/* The segments the persistent cache did not provide: copied through bounce pages (default,
 * cheaper per request: README "Data path"). The copy from the guest happens now for a write,
 * the copy to the guest after the read completed (bb_finish). */
static int bb_bounce_request(struct bb_dev *d, struct bb_inflight *f, uint8_t **addrs)
{
    uint32_t n = f->r.nr_segs, cnt = 0;

    for (uint32_t i = 0; i < n; i++)
        cnt += !addrs[i];
    if (posix_memalign((void **)&f->bounce, 4096, (size_t)cnt * 4096u)) {
        f->bounce = NULL;
        return -ENOMEM;
    }
    if (!(f->bounce_idx = malloc(cnt * sizeof(uint32_t))))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        if (!addrs[i]) {
            f->bounce_idx[f->bounce_count] = i;
            addrs[i] = f->bounce + (size_t)f->bounce_count++ * 4096u;
        }
    return f->r.op == KEEL_BLKIF_OP_READ ? 0 : bb_copy(d, f, 0);
}

static int bb_map_request(struct bb_dev *d, struct bb_inflight *f, uint8_t **addrs)
{
    uint32_t n = f->r.nr_segs, cnt = 0, *refs = malloc(n * sizeof(uint32_t));
    uint32_t *idx = malloc(n * sizeof(uint32_t));
    int16_t *st = calloc(n, sizeof(int16_t));
    int rc = 0;

    if (!refs || !idx || !st) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        if (!addrs[i]) {
            idx[cnt] = i;
            refs[cnt++] = f->segs[i].gref;
        }
    f->map = kc_gnttab_map(d->kc, d->domid, refs, cnt, f->r.op == KEEL_BLKIF_OP_READ, st);
    if (!f->map) {
        uint32_t bad = 0;
        while (bad + 1 < cnt && st[bad] == 0)
            bad++;
        bb_reject_log(d, f, "grant reference %u (segment %u) not mapped: status %d", refs[bad],
                      idx[bad], st[bad]);
        rc = -EINVAL;
        goto out;
    }
    f->map_count = cnt;
    for (uint32_t k = 0; k < cnt; k++)
        addrs[idx[k]] = (uint8_t *)f->map + (size_t)k * 4096u;
out:
    free(refs);
    free(idx);
    free(st);
    return rc;
}

/* Find the data pages (the persistent-grant cache, else mapped for the request) and describe
 * them as iovecs (adjacent sectors merged). */
static int bb_map(struct bb_dev *d, struct bb_inflight *f)
{
    uint32_t n = f->r.nr_segs, left = n;
    uint8_t **addrs = calloc(n, sizeof(*addrs));
    int rc = 0;

    f->iov = calloc(n, sizeof(struct iovec));
    if (!addrs || !f->iov) {
        free(addrs);
        return -ENOMEM;
    }
    if (d->persistent) {
        uint32_t *refs = malloc(n * sizeof(uint32_t));
        if (refs) {
            for (uint32_t i = 0; i < n; i++)
                refs[i] = f->segs[i].gref;
            left = bb_pg_get(&d->pg, d->kc, d->domid, refs, n, addrs);
            free(refs);
        }
    }
    if (left && (rc = d->datapath_map ? bb_map_request(d, f, addrs)
                                      : bb_bounce_request(d, f, addrs)) < 0)
        goto out;
    for (uint32_t i = 0; i < n; i++) {
        char *p = (char *)addrs[i] + f->segs[i].first * 512u;
        size_t len = (size_t)(f->segs[i].last - f->segs[i].first + 1) * 512u;
        struct iovec *prev = f->iovcnt ? &f->iov[f->iovcnt - 1] : NULL;
        if (prev && (char *)prev->iov_base + prev->iov_len == p)
            prev->iov_len += len;
        else
            f->iov[f->iovcnt++] = (struct iovec){ p, len };
    }
    f->expect = (int64_t)f->r.nr_sectors * 512;
out:
    free(addrs);
    return rc;
}

static void bb_step_issue(struct bb_dev *d, struct bb_inflight *f);

static void bb_step_done(struct bb_dev *d, struct bb_inflight *f)
{
    if (f->err)
        return bb_finish(d, f, f->err);
    if (f->phase <= 1 && f->r.nr_segs && f->bytes != f->expect)
        return bb_finish(d, f, -EIO);              /* short transfer: the target shrank */
    if (f->phase == 1) {
        f->phase = 2;
        return bb_step_issue(d, f);
    }
    bb_finish(d, f, 0);
}

static void bb_step_issue(struct bb_dev *d, struct bb_inflight *f)
{
    struct bb_target *t = &d->t;
    uint64_t off = f->r.sector * 512u;
    int rc = 0;

    f->err = 0;
    f->bytes = 0;
    f->pending = 0;
    f->issued = 1;
    if (f->r.op == KEEL_BLKIF_OP_DISCARD) {
        rc = bb_target_discard(t, off, f->r.nr_sectors * 512u, f);
    } else if (f->phase == 2 || f->r.nr_segs == 0) {
        f->phase = 2;
        rc = bb_target_flush(t, f);
    } else {
        int wr = f->r.op != KEEL_BLKIF_OP_READ;
        for (int i = 0; i < f->iovcnt && rc >= 0; i += BB_IOV_MAX) {
            int cnt = f->iovcnt - i < BB_IOV_MAX ? f->iovcnt - i : BB_IOV_MAX;
            rc = bb_target_rw(t, wr, off, f->iov + i, cnt, f);
            if (rc > 0)
                f->pending += rc;
            for (int k = 0; k < cnt; k++)
                off += f->iov[i + k].iov_len;
        }
        if (rc < 0 && f->pending) {
            f->err = rc;                  /* the submitted part completes first */
            return;
        }
        if (rc >= 0)
            rc = f->pending;
    }
    if (rc < 0)
        return bb_finish(d, f, rc);
    if (f->r.op == KEEL_BLKIF_OP_DISCARD || f->phase == 2)
        f->pending = rc;
    if (f->pending == 0)
        bb_step_done(d, f);
}

void bb_ring_io_done(void *cookie, int res)
{
    struct bb_inflight *f = cookie;

    if (res < 0 && !f->err)
        f->err = res;
    else if (res > 0)
        f->bytes += res;
    if (--f->pending == 0)
        bb_step_done(f->d, f);
}

/* Read the segment list out of the indirect pages (mapped read-only just for the copy). */
static int bb_indirect(struct bb_dev *d, struct bb_inflight *f)
{
    int16_t st[KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST] = { 0 };
    size_t bytes = (size_t)f->r.nr_segs * sizeof(struct keel_blkif_segment);
    char err[160];
    void *pages, *copy;
    uint8_t *cached[KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST] = { 0 };
    int rc;

    copy = malloc(bytes);
    f->segs = malloc(f->r.nr_segs * sizeof(struct bb_seg));
    if (!copy || !f->segs) {
        free(copy);
        return -ENOMEM;
    }
    /* persistent grants: the indirect pages are in the cache too (granted once by the frontend) */
    if (d->persistent &&
        bb_pg_get(&d->pg, d->kc, d->domid, f->r.indirect_grefs, f->r.nr_indirect_pages, cached) == 0) {
        for (size_t off = 0; off < bytes; off += 4096u)    /* once: the frontend may change them */
            memcpy((char *)copy + off, cached[off / 4096u], bytes - off < 4096u ? bytes - off : 4096u);
    } else {
        pages = kc_gnttab_map(d->kc, d->domid, f->r.indirect_grefs, f->r.nr_indirect_pages, 0, st);
        if (!pages) {
            bb_reject_log(d, f, "indirect page grant %u not mapped: status %d",
                          f->r.indirect_grefs[0], st[0]);
            free(copy);
            return -EINVAL;
        }
        memcpy(copy, pages, bytes);                /* once: the frontend may change the page */
        kc_gnttab_unmap(d->kc, pages, f->r.nr_indirect_pages);
    }
    rc = bb_parse_segments(copy, bytes, &d->geom, &f->r, f->segs, err, sizeof(err));
    free(copy);
    if (rc < 0)
        bb_reject_log(d, f, "%s", err);
    return rc;
}

static void bb_start(struct bb_dev *d, struct bb_inflight *f)
{
    int rc = 0;

    if (f->r.nr_segs && (rc = bb_map(d, f)) < 0)
        return bb_finish(d, f, rc);
    f->phase = (f->r.op == KEEL_BLKIF_OP_FLUSH_DISKCACHE ||
                f->r.op == KEEL_BLKIF_OP_WRITE_BARRIER) ? (f->r.nr_segs ? 1 : 2) : 0;
    bb_step_issue(d, f);
}

/* One entry copied off the ring: parse, then reject, queue behind a barrier, or start. */
static void bb_take(struct bb_dev *d, keel_ring_idx idx, const struct keel_blkif_request *q)
{
    struct bb_inflight *f = calloc(1, sizeof(*f));
    char err[160];
    int rc;

    if (!f) {
        bb_dev_fail(d, "out of memory");
        return;
    }
    f->d = d;
    f->idx = idx;
    f->segs = f->r.seg;
    d->slots[idx & (d->back.size - 1)] = f;
    d->io_inflight++;
    rc = bb_parse_request(q, sizeof(*q), &d->geom, &f->r, err, sizeof(err));
    if (rc == 0 && f->r.indirect)
        rc = bb_indirect(d, f);
    else if (rc < 0)
        bb_reject_log(d, f, "%s", err);
    if (rc < 0)
        return bb_finish(d, f, rc == -EOPNOTSUPP ? rc : -EINVAL);
    if (f->r.op == KEEL_BLKIF_OP_WRITE_BARRIER) {
        if (d->io_inflight > 1) {
            d->barrier_wait = f;           /* starts when everything before it is done */
            return;
        }
        d->barrier_active = f;
    }
    bb_start(d, f);
}

void bb_ring_kick(struct bb_dev *d)
{
    int bad = 0;

    while (d->connected && !d->closing && !d->fe_closing && !d->terminating &&
           !d->barrier_wait && !d->barrier_active) {
        keel_ring_idx n = keel_blkif_back_unconsumed(&d->back, &bad);
        if (bad) {
            bb_dev_fail(d, "ring protocol broken: req_prod %u is more than %u ahead of rsp_prod %u",
                        d->back.s->hdr.req_prod, d->back.size, d->back.rsp_prod_pvt);
            break;
        }
        if (n == 0) {
            if (!keel_blkif_back_final_check(&d->back))
                break;
            continue;
        }
        while (n-- && !d->barrier_wait && !d->barrier_active && !d->closing) {
            struct keel_blkif_request q;
            keel_ring_idx idx = d->back.req_cons;
            memcpy(&q, &d->back.s->ring[idx & (d->back.size - 1)].req, sizeof(q));
            d->back.req_cons = idx + 1;
            bb_take(d, idx, &q);
        }
    }
    if (d->connected) {
        bb_target_kick(&d->t);
        bb_respond(d);
    }
}
