/* test-parse.c - keel-blkback's request parser (bb_parse.c): valid reads, writes, flushes,
 * barriers, discards and indirect requests pass with the right description; every malformed
 * field (operation, nr_segments, first/last sector, range past the end or wrapping, discard
 * alignment and flags, indirect limits) and every write on a read-only disk is refused with the
 * status the response must carry and a reason. */
#include <errno.h>
#include <string.h>

#include "bb_parse.h"
#include "tap.h"

static struct keel_blkif_request rw(uint8_t op, uint8_t nseg, uint64_t sector)
{
    struct keel_blkif_request q;

    memset(&q, 0, sizeof(q));
    q.operation = op;
    q.nr_segments = nseg;
    q.id = 0x1234;
    q.sector_number = sector;
    for (int i = 0; i < nseg && i < 11; i++) {
        q.seg[i].gref = 100 + (uint32_t)i;
        q.seg[i].first_sect = 0;
        q.seg[i].last_sect = 7;
    }
    return q;
}

static int parse(const void *e, const struct bb_geom *g, struct bb_req *r, char *err)
{
    return bb_parse_request(e, sizeof(struct keel_blkif_request), g, r, err, 128);
}

int main(void)
{
    struct bb_geom g = { .sectors = 2048, .max_indirect_segs = 1024, .discard_gran = 8,
                         .discard = 1 };
    struct bb_geom ro = g;
    struct keel_blkif_request q;
    struct bb_req r;
    char err[128];
    int rc;

    ro.readonly = 1;
    q = rw(KEEL_BLKIF_OP_READ, 11, 0);
    rc = parse(&q, &g, &r, err);
    tap_ok(rc == 0 && r.nr_segs == 11 && r.nr_sectors == 88 && r.id == 0x1234 &&
           r.op == KEEL_BLKIF_OP_READ && r.seg[10].gref == 110, "a read of 11 full pages passes");
    q = rw(KEEL_BLKIF_OP_WRITE, 1, 2047);
    q.seg[0].first_sect = 3;
    q.seg[0].last_sect = 3;
    tap_ok(parse(&q, &g, &r, err) == 0 && r.nr_sectors == 1,
           "a one-sector write of the last sector passes");
    q = rw(KEEL_BLKIF_OP_WRITE, 1, 2047);
    q.seg[0].first_sect = 3;
    q.seg[0].last_sect = 4;
    tap_ok(parse(&q, &g, &r, err) == -EINVAL && strstr(err, "beyond the end"),
           "a write past the end is refused (%s)", err);
    q = rw(KEEL_BLKIF_OP_READ, 1, UINT64_MAX - 2);
    tap_ok(parse(&q, &g, &r, err) == -EINVAL, "a sector number that wraps is refused");
    q = rw(KEEL_BLKIF_OP_READ, 0, 0);
    tap_ok(parse(&q, &g, &r, err) == -EINVAL && strstr(err, "nr_segments 0"),
           "a read with 0 segments is refused (%s)", err);
    q = rw(KEEL_BLKIF_OP_READ, 12, 0);
    tap_ok(parse(&q, &g, &r, err) == -EINVAL, "a read with 12 segments is refused");
    q = rw(KEEL_BLKIF_OP_READ, 2, 0);
    q.seg[1].first_sect = 5;
    q.seg[1].last_sect = 4;
    tap_ok(parse(&q, &g, &r, err) == -EINVAL && strstr(err, "segment 1"),
           "first_sect > last_sect is refused (%s)", err);
    q = rw(KEEL_BLKIF_OP_READ, 1, 0);
    q.seg[0].last_sect = 8;
    tap_ok(parse(&q, &g, &r, err) == -EINVAL, "last_sect 8 is refused");
    q = rw(9, 1, 0);
    tap_ok(parse(&q, &g, &r, err) == -EINVAL && bb_parse_status(-EINVAL) == KEEL_BLKIF_RSP_ERROR &&
           r.id == 0x1234 && r.ring_op == 9, "an unknown operation is an error, id kept for the answer");
    q = rw(KEEL_BLKIF_OP_RESERVED_1, 1, 0);
    tap_ok(parse(&q, &g, &r, err) == -EINVAL, "the reserved operation 4 is refused");
    q = rw(KEEL_BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
    tap_ok(parse(&q, &g, &r, err) == 0 && r.nr_segs == 0, "an empty flush passes");
    q = rw(KEEL_BLKIF_OP_WRITE_BARRIER, 2, 8);
    tap_ok(parse(&q, &g, &r, err) == 0 && r.nr_sectors == 16, "a barrier write with data passes");
    q = rw(KEEL_BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
    tap_ok(parse(&q, &ro, &r, err) == 0, "an empty flush on a read-only disk passes");
    q = rw(KEEL_BLKIF_OP_WRITE, 1, 0);
    tap_ok(parse(&q, &ro, &r, err) == -EROFS && bb_parse_status(-EROFS) == KEEL_BLKIF_RSP_ERROR,
           "a write on a read-only disk is an error (%s)", err);
    q = rw(KEEL_BLKIF_OP_WRITE_BARRIER, 0, 0);
    tap_ok(parse(&q, &ro, &r, err) == -EROFS, "a barrier on a read-only disk is an error");
    q = rw(KEEL_BLKIF_OP_READ, 1, 0);
    tap_ok(parse(&q, &ro, &r, err) == 0, "a read on a read-only disk passes");

    {
        struct keel_blkif_request_discard d;
        memset(&q, 0, sizeof(q));
        memset(&d, 0, sizeof(d));
        d.operation = KEEL_BLKIF_OP_DISCARD;
        d.id = 7;
        d.sector_number = 8;
        d.nr_sectors = 16;
        memcpy(&q, &d, sizeof(d));
        tap_ok(parse(&q, &g, &r, err) == 0 && r.sector == 8 && r.nr_sectors == 16 && r.id == 7,
               "an aligned discard passes");
        tap_ok(parse(&q, &ro, &r, err) == -EROFS, "a discard on a read-only disk is an error");
        {
            struct bb_geom nod = g;
            nod.discard = 0;
            tap_ok(parse(&q, &nod, &r, err) == -EOPNOTSUPP &&
                   bb_parse_status(-EOPNOTSUPP) == KEEL_BLKIF_RSP_EOPNOTSUPP,
                   "a discard not offered is EOPNOTSUPP");
        }
        d.sector_number = 4;
        memcpy(&q, &d, sizeof(d));
        tap_ok(parse(&q, &g, &r, err) == -EINVAL && strstr(err, "aligned"),
               "a misaligned discard is refused (%s)", err);
        d.sector_number = 2040;
        d.nr_sectors = 8;
        memcpy(&q, &d, sizeof(d));
        tap_ok(parse(&q, &g, &r, err) == 0, "a discard of the last granule passes");
        d.nr_sectors = 16;
        memcpy(&q, &d, sizeof(d));
        tap_ok(parse(&q, &g, &r, err) == -EINVAL, "a discard past the end is refused");
        d.sector_number = 8;
        d.nr_sectors = UINT64_MAX;
        memcpy(&q, &d, sizeof(d));
        tap_ok(parse(&q, &g, &r, err) == -EINVAL, "a discard whose length wraps is refused");
        d.nr_sectors = 0;
        memcpy(&q, &d, sizeof(d));
        tap_ok(parse(&q, &g, &r, err) == -EINVAL, "a discard of 0 sectors is refused");
        d.nr_sectors = 8;
        d.flag = 0x80;
        memcpy(&q, &d, sizeof(d));
        tap_ok(parse(&q, &g, &r, err) == -EINVAL, "unknown discard flags are refused");
        d.flag = KEEL_BLKIF_DISCARD_SECURE;
        memcpy(&q, &d, sizeof(d));
        tap_ok(parse(&q, &g, &r, err) == -EOPNOTSUPP, "secure discard (not offered) is EOPNOTSUPP");
    }
    {
        struct keel_blkif_request_indirect ind;
        struct keel_blkif_segment segs[1024];
        struct bb_seg out[1024];
        memset(&ind, 0, sizeof(ind));
        ind.operation = KEEL_BLKIF_OP_INDIRECT;
        ind.indirect_op = KEEL_BLKIF_OP_WRITE;
        ind.nr_segments = 600;
        ind.sector_number = 0;
        ind.indirect_grefs[0] = 11;
        ind.indirect_grefs[1] = 12;
        ind.id = 99;
        memset(&q, 0, sizeof(q));
        memcpy(&q, &ind, sizeof(ind));
        rc = parse(&q, &g, &r, err);
        tap_ok(rc == 0 && r.indirect && r.nr_indirect_pages == 2 && r.indirect_grefs[1] == 12 &&
               r.op == KEEL_BLKIF_OP_WRITE && r.ring_op == KEEL_BLKIF_OP_INDIRECT,
               "an indirect write of 600 segments needs 2 indirect pages");
        for (int i = 0; i < 1024; i++)
            segs[i] = (struct keel_blkif_segment){ (uint32_t)i, 0, 1, 0 };
        tap_ok(bb_parse_segments(segs, sizeof(segs), &g, &r, out, err, sizeof(err)) == 0 &&
               r.nr_sectors == 1200 && out[599].gref == 599, "its segments pass (1200 sectors)");
        segs[300].last_sect = 9;
        tap_ok(bb_parse_segments(segs, sizeof(segs), &g, &r, out, err, sizeof(err)) == -EINVAL &&
               strstr(err, "segment 300"), "a bad indirect segment is named (%s)", err);
        segs[300].last_sect = 7;
        for (int i = 0; i < 600; i++)
            segs[i].last_sect = 7;
        tap_ok(bb_parse_segments(segs, sizeof(segs), &g, &r, out, err, sizeof(err)) == -EINVAL,
               "indirect segments reaching past the end are refused");
        tap_ok(bb_parse_segments(segs, 8 * 10, &g, &r, out, err, sizeof(err)) == -EINVAL,
               "segments that do not fit the bytes given are refused");
        ind.nr_segments = 1025;
        memcpy(&q, &ind, sizeof(ind));
        tap_ok(parse(&q, &g, &r, err) == -EINVAL, "more indirect segments than offered are refused");
        ind.nr_segments = 0;
        memcpy(&q, &ind, sizeof(ind));
        tap_ok(parse(&q, &g, &r, err) == -EINVAL, "0 indirect segments are refused");
        ind.nr_segments = 8;
        ind.indirect_op = KEEL_BLKIF_OP_FLUSH_DISKCACHE;
        memcpy(&q, &ind, sizeof(ind));
        tap_ok(parse(&q, &g, &r, err) == -EINVAL, "an indirect flush is refused");
        ind.indirect_op = KEEL_BLKIF_OP_WRITE;
        memcpy(&q, &ind, sizeof(ind));
        tap_ok(parse(&q, &ro, &r, err) == -EROFS, "an indirect write on a read-only disk is refused");
        {
            struct bb_geom noi = g;
            noi.max_indirect_segs = 0;
            tap_ok(parse(&q, &noi, &r, err) == -EOPNOTSUPP, "indirect not offered is EOPNOTSUPP");
        }
        ind.sector_number = 2048;
        ind.indirect_op = KEEL_BLKIF_OP_READ;
        memcpy(&q, &ind, sizeof(ind));
        tap_ok(parse(&q, &g, &r, err) == -EINVAL, "an indirect read starting at the end is refused");
    }
    tap_ok(bb_parse_request(&q, 100, &g, &r, err, sizeof(err)) == -EINVAL, "a short entry is refused");
    return tap_done();
}
