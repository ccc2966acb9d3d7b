/* fuzz-parse.c - libFuzzer target of keel-blkback's request parser: the input is a ring entry
 * (112 bytes), 8 bytes of geometry (disk size, limits, flags) and the bytes of indirect pages.
 * Checks that the parser never reads out of bounds and that what it accepts holds: segment
 * sectors within 0..7, the range inside the disk, counts within the limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bb_parse.h"

static struct bb_seg segs[BB_MAX_INDIRECT_SEGS];

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_accepted(const struct bb_req *r, const struct bb_geom *g, const struct bb_seg *s)
{
    check(r->sector <= g->sectors && r->nr_sectors <= g->sectors - r->sector);
    for (uint32_t i = 0; r->op != KEEL_BLKIF_OP_DISCARD && i < r->nr_segs; i++)
        check(s[i].first <= s[i].last && s[i].last < 8);
    if (r->op == KEEL_BLKIF_OP_READ || r->op == KEEL_BLKIF_OP_WRITE)
        check(r->nr_segs >= 1);
    check(r->nr_segs <= (r->indirect ? g->max_indirect_segs : 11));
    if (g->readonly)
        check(r->op == KEEL_BLKIF_OP_READ ||
              (r->op == KEEL_BLKIF_OP_FLUSH_DISKCACHE && r->nr_segs == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bb_geom g;
    struct bb_req r;
    char err[160];
    uint8_t entry[sizeof(struct keel_blkif_request)];
    int rc;

    if (size < sizeof(entry) + 8)
        return 0;
    memcpy(entry, data, sizeof(entry));
    g.sectors = ((uint64_t)data[112] << 16 | (uint64_t)data[113] << 8 | data[114]) *
                (data[115] & 0x80 ? 0x100000ull : 1);
    g.max_indirect_segs = ((uint32_t)data[116] << 8 | data[117]) % (BB_MAX_INDIRECT_SEGS + 1);
    g.discard_gran = data[118] % 17;
    g.readonly = data[119] & 1;
    g.discard = (data[119] >> 1) & 1;
    rc = bb_parse_request(entry, sizeof(entry), &g, &r, err, sizeof(err));
    check(memchr(err, 0, sizeof(err)) != NULL);
    if (rc < 0) {
        check(err[0] != 0);
        return 0;
    }
    if (!r.indirect) {
        check_accepted(&r, &g, r.seg);
        return 0;
    }
    check(r.nr_indirect_pages >= 1 && r.nr_indirect_pages <= 8);
    rc = bb_parse_segments(data + 120, size - 120, &g, &r, segs, err, sizeof(err));
    if (rc == 0)
        check_accepted(&r, &g, segs);
    else
        check(err[0] != 0);
    return 0;
}
