/* bb_parse.h - keel-blkback's request parser: one ring entry (copied out of the shared ring) and
 * the disk's geometry and limits in, a validated request description or an error string out.
 * Pure functions: no I/O, no allocation, no global state (fuzzed in fuzz/fuzz-parse.c). */
#ifndef BB_PARSE_H
#define BB_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "keel/io/blkif.h"

#define BB_MAX_INDIRECT_SEGS \
    (KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * KEEL_BLKIF_SEGS_PER_INDIRECT_FRAME)

struct bb_geom {
    uint64_t sectors;               /* disk size in 512-byte sectors */
    uint32_t max_indirect_segs;     /* what feature-max-indirect-segments offers; 0: no INDIRECT */
    uint32_t discard_gran;          /* discard granularity in sectors (>= 1) */
    uint8_t readonly;               /* mode=r: writes and discards are refused */
    uint8_t discard;                /* feature-discard offered */
};

struct bb_seg {
    uint32_t gref;
    uint8_t first, last;            /* inclusive sector indices within the 4 KiB frame */
};

/* What a request asks for. op is the effective operation (an INDIRECT request's indirect_op);
 * ring_op is what the frontend wrote, echoed in the response. */
struct bb_req {
    uint64_t id;
    uint64_t sector;                /* first sector on the disk */
    uint64_t nr_sectors;            /* data sectors of all segments, or the discard length */
    uint32_t nr_segs;
    uint32_t nr_indirect_pages;
    uint32_t indirect_grefs[KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    uint8_t op, ring_op;
    uint8_t indirect;               /* segments are in the indirect pages (bb_parse_segments) */
    uint8_t secure;                 /* discard flag BLKIF_DISCARD_SECURE */
    struct bb_seg seg[KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST];   /* direct requests only */
};

/* Parse one request slot (len bytes, at least sizeof(struct keel_blkif_request)).
 * Returns 0; -EINVAL (malformed: answer BLKIF_RSP_ERROR), -EROFS (a write on a read-only
 * disk: BLKIF_RSP_ERROR) or -EOPNOTSUPP (an operation not offered: BLKIF_RSP_EOPNOTSUPP), with
 * a reason in err. r->id and r->ring_op are filled even on failure (for the response).
 * For an INDIRECT request, r->nr_sectors is 0 until bb_parse_segments has checked the segments
 * read from the indirect pages. */
int bb_parse_request(const void *entry, size_t len, const struct bb_geom *g, struct bb_req *r,
                     char *err, size_t errlen);

/* Check r->nr_segs segment descriptors (8 bytes each, as in the indirect pages: `bytes` holds
 * at least r->nr_segs * 8 bytes) into out[], and the whole range against the disk; sets
 * r->nr_sectors. 0 or -EINVAL with a reason. */
int bb_parse_segments(const void *bytes, size_t len, const struct bb_geom *g, struct bb_req *r,
                      struct bb_seg *out, char *err, size_t errlen);

/* The response status for a parse result. */
int16_t bb_parse_status(int rc);

#endif
