/* mig_int.h - internals of liblight's save/migration part: the save relay (progress, cancel,
 * compression around kg_save), the compressed-image codec and the handshake I/O. */
#ifndef KEEL_MIG_INT_H
#define KEEL_MIG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lc_int.h"

/* ---- compressed images (mig_zimage.c) ---- */
/* Keel's mandatory xl preamble flag: the v2 stream after the preamble is zlib-deflated. Xen's
 * xl refuses images with unknown mandatory flags, so such an image is never misread. */
#define KL_XL_MANDATORY_FLAG_KEEL_ZLIB 0x80000000u

/* Parse an xl preamble from buf; as kg_xlhdr_parse but accepting the Keel zlib flag (returned
 * in *zlib). -EAGAIN with *consumed = bytes needed when buf is too short. */
int mig_image_header_parse(const uint8_t *buf, size_t len, size_t *consumed, int *zlib,
                           const char **json, uint32_t *json_len, char *why, size_t whylen);

/* Inflater: a thread reading a zlib stream from in_fd and writing the inflated bytes to a
 * socket whose other end (*out_fd) the caller reads. */
struct mig_inflater;
int mig_inflater_start(int in_fd, const char *what, struct mig_inflater **out, int *out_fd,
                       char *err, size_t errlen);
/* Close the caller's end first. Returns 0 if the whole zlib stream was read, valid, and
 * everything it held was consumed; else -errno with a message in err. */
int mig_inflater_finish(struct mig_inflater *z, int out_fd, char *err, size_t errlen);

/* ---- the suspend callback of every save (save.c) ---- */
/* kg_save's suspend callback (arg: this struct): with the guest paused for the final copy, the
 * frontends' keys are read again and must be those the image carries (sent; else -EAGAIN: a
 * frontend was connecting or closing), then every disk's backend finishes its requests and
 * closes (kl__fe_quiesce), so nothing writes guest memory during the copy. It uses ctx: it
 * must run on the thread that owns ctx (the relay hands it over). */
struct kl__save_susp {
    kl_ctx *ctx;
    uint32_t domid;
    const struct kl__fe_set *sent;
    int ran;                         /* disks may have been closed */
    int rc;                          /* the callback's failure, message in err */
    char err[512];
    struct kg_emu_records *emu;      /* the vTPMs' states (vtpm_mig.c), written before END */
};
int kl__save_suspend(void *arg);

/* ---- save relay (mig_relay.c) ---- */
struct kl_migrate_opts;
/* Save domid to fd as an xl save image with kg_save's progress and cancel hooks; with
 * KL_SAVE_ZLIB kg_save runs in a worker thread and this thread deflates its stream (and runs
 * the suspend callback for the worker, so ctx stays on this thread). json: the config for the
 * preamble; susp: kl__save_suspend's argument. The domain is left paused. */
int kl__save_relay(kl_ctx *ctx, uint32_t domid, int fd, unsigned flags, const char *json,
                   const struct kl_migrate_opts *o, struct kl__save_susp *susp);

/* ---- post-copy (mig_postcopy.c, docs/lazy-restore.md) ---- */
/* Source: serve the paused domain's frames on to_fd (requests from from_fd answered first,
 * every frame pushed in order meanwhile) until the target says it holds them all (0); a link
 * error: -errno (message in ctx). *pushed: frames pushed. */
int kl__postcopy_serve(kl_ctx *ctx, uint32_t domid, int to_fd, int from_fd, uint64_t *pushed);
/* Target: relay between the link and chan (the toolstack's end of the core's page channel of
 * domid) until the core has every frame (then the source is told: 0), or a link error. */
int kl__postcopy_relay(kl_ctx *ctx, uint32_t domid, int in_fd, int out_fd, int chan);

/* ---- I/O helpers (mig_io.c) ---- */
/* Write everything; sockets with MSG_NOSIGNAL. 0 or -errno. */
int mig_write_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes, waiting at most timeout_ms per read (< 0: forever) and polling
 * *cancel (may be NULL) every 100 ms. 0, -ECONNRESET at end of stream, -ETIMEDOUT, -ECANCELED,
 * or -errno. */
int mig_read_exact(int fd, void *buf, size_t len, int timeout_ms, volatile int *cancel);

#endif
