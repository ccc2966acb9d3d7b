/* bb_remus.h - keel-blkback's side of Remus disk replication (bb_remus.c, docs/remus.md). */
#ifndef BB_REMUS_H
#define BB_REMUS_H

#include <stddef.h>
#include <stdint.h>

struct bb_dev;
struct bb_inflight;

struct bb_remus {
    const char *rundir;
    int fd;                 /* connection to the hub, -1 when the domain is not protected */
    int frozen;             /* between MARK and RESUME: no response is published */
    uint32_t epoch;         /* the epoch being written (the last MARK + 1) */
    uint8_t in[64];         /* a partial message from the hub */
    size_t inlen;
    uint64_t writes;        /* mirrored since connecting (log) */
};

void bb_remus_init(struct bb_remus *rm, const char *rundir);
/* BE `remus` changed (or any store event): connect to the hub when it is 1, close when not. */
void bb_remus_reconcile(struct bb_dev *d, const char *remus_key);
/* The descriptor to poll (-1: none), and what to do when it is readable. */
int bb_remus_pollfd(const struct bb_dev *d);
void bb_remus_input(struct bb_dev *d);
/* Before the response of f is published: 0 while frozen (publish nothing now), else 1 after
 * mirroring f if it changed the disk. */
int bb_remus_may_publish(struct bb_dev *d, const struct bb_inflight *f);
void bb_remus_close(struct bb_dev *d);

#endif
