/* keel/io/blkif.h - the PV block protocol (Xen's blkif, x86_64 layout): ring entries, operations,
 * status codes and the limits a frontend and backend negotiate through the store (see
 * daemons/blkback/README.md for the keys). Sectors are always 512-byte units. */
#ifndef KEEL_IO_BLKIF_H
#define KEEL_IO_BLKIF_H

#include <stdint.h>

#include "keel/io/ring.h"

#define KEEL_BLKIF_OP_READ 0
#define KEEL_BLKIF_OP_WRITE 1
#define KEEL_BLKIF_OP_WRITE_BARRIER 2
#define KEEL_BLKIF_OP_FLUSH_DISKCACHE 3
#define KEEL_BLKIF_OP_RESERVED_1 4
#define KEEL_BLKIF_OP_DISCARD 5
#define KEEL_BLKIF_OP_INDIRECT 6

#define KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8
#define KEEL_BLKIF_SEGS_PER_INDIRECT_FRAME 512   /* 4096 / sizeof(struct keel_blkif_segment) */
#define KEEL_BLKIF_SECTOR_SIZE 512
#define KEEL_BLKIF_SECTORS_PER_PAGE 8

#define KEEL_BLKIF_RSP_OKAY 0
#define KEEL_BLKIF_RSP_ERROR (-1)
#define KEEL_BLKIF_RSP_EOPNOTSUPP (-2)

#define KEEL_BLKIF_DISCARD_SECURE 1

#define KEEL_VDISK_CDROM 0x1
#define KEEL_VDISK_REMOVABLE 0x2
#define KEEL_VDISK_READONLY 0x4

struct keel_blkif_segment {
    uint32_t gref;
    uint8_t first_sect, last_sect;        /* inclusive sector indices within the frame (0..7) */
    uint16_t pad;
};

struct keel_blkif_request {               /* 112 bytes */
    uint8_t operation;
    uint8_t nr_segments;
    uint16_t handle;
    uint32_t pad;
    uint64_t id;
    uint64_t sector_number;
    struct keel_blkif_segment seg[KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

struct keel_blkif_request_discard {       /* 32 bytes, in a request slot */
    uint8_t operation;                    /* KEEL_BLKIF_OP_DISCARD */
    uint8_t flag;                         /* KEEL_BLKIF_DISCARD_SECURE */
    uint16_t handle;
    uint32_t pad;
    uint64_t id;
    uint64_t sector_number;
    uint64_t nr_sectors;
};

struct keel_blkif_request_indirect {      /* 64 bytes, in a request slot */
    uint8_t operation;                    /* KEEL_BLKIF_OP_INDIRECT */
    uint8_t indirect_op;                  /* READ or WRITE */
    uint16_t nr_segments;
    uint32_t pad;
    uint64_t id;
    uint64_t sector_number;
    uint16_t handle;
    uint16_t pad1;
    uint32_t indirect_grefs[KEEL_BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    uint32_t pad2;
};

struct keel_blkif_response {              /* 16 bytes */
    uint64_t id;
    uint8_t operation;
    uint8_t pad;
    int16_t status;
    uint32_t pad1;
};

KEEL_RING_DEFINE(keel_blkif, struct keel_blkif_request, struct keel_blkif_response)

_Static_assert(sizeof(struct keel_blkif_segment) == 8, "blkif segment layout");
_Static_assert(sizeof(struct keel_blkif_request) == 112, "blkif request layout");
_Static_assert(sizeof(struct keel_blkif_request_discard) == 32, "blkif discard layout");
_Static_assert(sizeof(struct keel_blkif_request_indirect) == 64, "blkif indirect layout");
_Static_assert(sizeof(struct keel_blkif_response) == 16, "blkif response layout");

#endif
