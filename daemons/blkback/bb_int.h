/* bb_int.h - keel-blkback internals: one struct bb_dev per device, owned by the worker process
 * that serves it (bb_dev.c: store side and event loop; bb_ring.c: the blkif ring and requests). */
#ifndef BB_INT_H
#define BB_INT_H

#include <stdint.h>
#include <sys/uio.h>

#include "bb_parse.h"
#include "bb_pgrant.h"
#include "bb_remus.h"
#include "bb_target.h"
#include "keel/ctrl.h"
#include "keel/io/blkif.h"
#include "keel/io/xenbus.h"
#include "kxs.h"

#define BB_MAX_RING_ORDER 4u
#define BB_MAX_INDIRECT 256u            /* feature-max-indirect-segments offered */
#define BB_LOG_REJECTS 64u              /* rejected-request lines per device before going quiet */
#define BB_EXIT_STORE 75                /* worker exit: store lost, device left connected: respawn */

/* One request between being read off the ring and its response being published. */
struct bb_inflight {
    struct bb_dev *d;
    keel_ring_idx idx;
    struct bb_req r;
    struct bb_seg *segs;                /* r.seg, or the indirect segments (allocated) */
    void *map;                          /* the data pages, mapped in one range */
    uint32_t map_count;
    uint8_t *bounce;                    /* copy path: the segments' data, page per segment */
    uint32_t *bounce_idx;               /* segment of each bounce page */
    uint32_t bounce_count;
    struct iovec *iov;
    int iovcnt;
    int pending;                        /* target completions awaited */
    int err;                            /* first error of the current step */
    int64_t bytes, expect;
    int16_t status;
    uint8_t done;                       /* response ready */
    uint8_t phase;                      /* 0 data, 1 data then flush, 2 flush */
    uint8_t issued;                     /* reached the target (errors now are I/O errors) */
};

struct bb_dev {
    char kind[8];                       /* vbd | qdisk */
    uint32_t domid, devid;
    char name[48];                      /* "vbd 5/51712" for log lines */
    char be[96], fe[96];
    kxs *xs;
    kc_handle *kc;
    /* target */
    int readonly, cdrom, removable, discard_enable;
    struct bb_target t;
    int target_open;
    struct bb_geom geom;
    /* ring */
    int connected;
    void *ring_area;
    uint32_t ring_pages;
    struct keel_blkif_back back;
    struct bb_inflight **slots;         /* by request index & (size - 1) */
    uint32_t port;
    int evfd;
    unsigned io_inflight;               /* requests whose I/O is under way */
    struct bb_inflight *barrier_wait;   /* a barrier waiting for the I/O before it */
    struct bb_inflight *barrier_active;
    unsigned rejects;
    int datapath_map;                   /* per-request grants mapped, not copied (env) */
    int persistent_offer;               /* feature-persistent=1 written (bb_dev.c) */
    int persistent;                     /* negotiated for this connection (bb_ring.c) */
    struct bb_pgrant pg;                /* the persistent grants mapped (bb_pgrant.c) */
    /* state */
    int my_state;                       /* the BE state this worker last wrote */
    int features_done;
    int hp_error_logged;
    int closing;                        /* close: drain, disconnect, close, state 6, exit */
    int fe_closing;                     /* the frontend closes: drain and disconnect */
    int terminating;                    /* SIGTERM: drain and exit, the store untouched */
    int store_lost;                     /* the store went away: exit BB_EXIT_STORE */
    int exit_now;
    struct bb_remus rm;                 /* Remus disk replication (bb_remus.c) */
};

/* bb_ring.c */
int bb_ring_connect(struct bb_dev *d);
void bb_ring_disconnect(struct bb_dev *d);
void bb_ring_kick(struct bb_dev *d);
void bb_ring_io_done(void *cookie, int res);
/* A frontend broke the protocol or wrote garbage: log and close the device. */
void bb_dev_fail(struct bb_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* bb_dev.c */
int bb_dev_main(const char *rundir, const char *kind, uint32_t domid, uint32_t devid);
int bb_dev_write_state(struct bb_dev *d, int state);

#endif
