/* bb_parse.c - keel-blkback's request parser (see bb_parse.h). Everything in a ring entry is
 * chosen by the frontend: each field is checked against the protocol's limits and the disk's
 * geometry before anything else uses it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bb_parse.h"

__attribute__((format(printf, 4, 5)))
static int bb_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* [sector, sector + n) inside the disk, without overflow. */
static int bb_in_disk(uint64_t sector, uint64_t n, uint64_t sectors)
{
    return sector <= sectors && n <= sectors - sector;
}

/* Check one segment descriptor; adds its sectors to *total. */
static int bb_check_seg(const struct keel_blkif_segment *s, uint32_t i, struct bb_seg *out,
                        uint64_t *total, char *err, size_t errlen)
{
    if (s->first_sect > s->last_sect || s->last_sect >= KEEL_BLKIF_SECTORS_PER_PAGE)
        return bb_fail(-EINVAL, err, errlen, "segment %u: sectors %u..%u not within 0..7", i,
                       s->first_sect, s->last_sect);
    out->gref = s->gref;
    out->first = s->first_sect;
    out->last = s->last_sect;
    *total += (uint64_t)(s->last_sect - s->first_sect + 1);
    return 0;
}

static int bb_check_range(const struct bb_req *r, uint64_t n, const struct bb_geom *g, char *err,
                          size_t errlen)
{
    if (!bb_in_disk(r->sector, n, g->sectors))
        return bb_fail(-EINVAL, err, errlen,
                       "sectors %llu..+%llu beyond the end of the disk (%llu sectors)",
                       (unsigned long long)r->sector, (unsigned long long)n,
                       (unsigned long long)g->sectors);
    return 0;
}

static int bb_parse_direct(const struct keel_blkif_request *q, const struct bb_geom *g,
                           struct bb_req *r, char *err, size_t errlen)
{
    uint32_t min = q->operation == KEEL_BLKIF_OP_READ || q->operation == KEEL_BLKIF_OP_WRITE;
    uint64_t total = 0;
    int rc;

    if (q->nr_segments < min || q->nr_segments > KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST)
        return bb_fail(-EINVAL, err, errlen, "nr_segments %u not in %u..%u", q->nr_segments, min,
                       KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST);
    if (g->readonly && q->operation != KEEL_BLKIF_OP_READ &&
        !(q->operation == KEEL_BLKIF_OP_FLUSH_DISKCACHE && q->nr_segments == 0))
        return bb_fail(-EROFS, err, errlen, "operation %u on a read-only disk", q->operation);
    r->nr_segs = q->nr_segments;
    for (uint32_t i = 0; i < r->nr_segs; i++) {
        struct keel_blkif_segment s;
        memcpy(&s, &q->seg[i], sizeof(s));
        if ((rc = bb_check_seg(&s, i, &r->seg[i], &total, err, errlen)) < 0)
            return rc;
    }
    r->nr_sectors = total;
    return bb_check_range(r, total, g, err, errlen);
}

static int bb_parse_discard(const struct keel_blkif_request_discard *d, const struct bb_geom *g,
                            struct bb_req *r, char *err, size_t errlen)
{
    uint64_t gran = g->discard_gran ? g->discard_gran : 1;

    if (!g->discard)
        return bb_fail(-EOPNOTSUPP, err, errlen, "discard not offered for this disk");
    if (g->readonly)
        return bb_fail(-EROFS, err, errlen, "discard on a read-only disk");
    if (d->flag & ~KEEL_BLKIF_DISCARD_SECURE)
        return bb_fail(-EINVAL, err, errlen, "discard flags 0x%x unknown", d->flag);
    if (d->flag & KEEL_BLKIF_DISCARD_SECURE)
        return bb_fail(-EOPNOTSUPP, err, errlen, "secure discard not offered");
    r->sector = d->sector_number;
    r->nr_sectors = d->nr_sectors;
    if (r->nr_sectors == 0)
        return bb_fail(-EINVAL, err, errlen, "discard of 0 sectors");
    if (bb_check_range(r, r->nr_sectors, g, err, errlen) < 0)
        return -EINVAL;
    if (r->sector % gran || (r->nr_sectors % gran && r->sector + r->nr_sectors != g->sectors))
        return bb_fail(-EINVAL, err, errlen,
                       "discard %llu+%llu not aligned to the granularity of %llu sectors",
                       (unsigned long long)r->sector, (unsigned long long)r->nr_sectors,
                       (unsigned long long)gran);
    return 0;
}

static int bb_parse_indirect(const struct keel_blkif_request_indirect *q,
                             const struct bb_geom *g, struct bb_req *r, char *err, size_t errlen)
{
    if (!g->max_indirect_segs)
        return bb_fail(-EOPNOTSUPP, err, errlen, "indirect requests not offered");
    if (q->indirect_op != KEEL_BLKIF_OP_READ && q->indirect_op != KEEL_BLKIF_OP_WRITE)
        return bb_fail(-EINVAL, err, errlen, "indirect operation %u is not read or write",
                       q->indirect_op);
    if (q->nr_segments < 1 || q->nr_segments > g->max_indirect_segs ||
        q->nr_segments > BB_MAX_INDIRECT_SEGS)
        return bb_fail(-EINVAL, err, errlen, "indirect nr_segments %u not in 1..%u",
                       q->nr_segments, g->max_indirect_segs);
    if (g->readonly && q->indirect_op == KEEL_BLKIF_OP_WRITE)
        return bb_fail(-EROFS, err, errlen, "indirect write on a read-only disk");
    r->op = q->indirect_op;
    r->indirect = 1;
    r->sector = q->sector_number;
    r->nr_segs = q->nr_segments;
    r->nr_indirect_pages = (r->nr_segs + KEEL_BLKIF_SEGS_PER_INDIRECT_FRAME - 1) /
                           KEEL_BLKIF_SEGS_PER_INDIRECT_FRAME;
    memcpy(r->indirect_grefs, q->indirect_grefs, r->nr_indirect_pages * sizeof(uint32_t));
    return bb_check_range(r, 1, g, err, errlen);
}

int bb_parse_request(const void *entry, size_t len, const struct bb_geom *g, struct bb_req *r,
                     char *err, size_t errlen)
{
    struct keel_blkif_request q;

    memset(r, 0, sizeof(*r));
    if (err && errlen)
        err[0] = 0;
    if (len < sizeof(q))
        return bb_fail(-EINVAL, err, errlen, "entry of %zu bytes is short", len);
    memcpy(&q, entry, sizeof(q));
    r->id = q.id;
    r->op = r->ring_op = q.operation;
    r->sector = q.sector_number;
    switch (q.operation) {
    case KEEL_BLKIF_OP_READ:
    case KEEL_BLKIF_OP_WRITE:
    case KEEL_BLKIF_OP_WRITE_BARRIER:
    case KEEL_BLKIF_OP_FLUSH_DISKCACHE:
        return bb_parse_direct(&q, g, r, err, errlen);
    case KEEL_BLKIF_OP_DISCARD: {
        struct keel_blkif_request_discard d;
        memcpy(&d, entry, sizeof(d));
        return bb_parse_discard(&d, g, r, err, errlen);
    }
    case KEEL_BLKIF_OP_INDIRECT: {
        struct keel_blkif_request_indirect ind;
        memcpy(&ind, entry, sizeof(ind));
        return bb_parse_indirect(&ind, g, r, err, errlen);
    }
    default:
        return bb_fail(-EINVAL, err, errlen, "unknown operation %u", q.operation);
    }
}

int bb_parse_segments(const void *bytes, size_t len, const struct bb_geom *g, struct bb_req *r,
                      struct bb_seg *out, char *err, size_t errlen)
{
    const unsigned char *p = bytes;
    uint64_t total = 0;
    int rc;

    if (r->nr_segs > BB_MAX_INDIRECT_SEGS || len / sizeof(struct keel_blkif_segment) < r->nr_segs)
        return bb_fail(-EINVAL, err, errlen, "%u segments do not fit in %zu bytes", r->nr_segs,
                       len);
    for (uint32_t i = 0; i < r->nr_segs; i++) {
        struct keel_blkif_segment s;
        memcpy(&s, p + (size_t)i * sizeof(s), sizeof(s));
        if ((rc = bb_check_seg(&s, i, &out[i], &total, err, errlen)) < 0)
            return rc;
    }
    r->nr_sectors = total;
    return bb_check_range(r, total, g, err, errlen);
}

int16_t bb_parse_status(int rc)
{
    if (rc == 0)
        return KEEL_BLKIF_RSP_OKAY;
    return rc == -EOPNOTSUPP ? KEEL_BLKIF_RSP_EOPNOTSUPP : KEEL_BLKIF_RSP_ERROR;
}
