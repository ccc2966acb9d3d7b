/* bb_target.h - the storage a keel-blkback device serves: a raw file or block device driven
 * through io_uring (kind vbd), or an image opened by qemu-nbd and spoken to over NBD with
 * libnbd (kind qdisk). Operations are asynchronous; each completes by calling
 * t->done(cookie, result) from bb_target_process (result 0 or a negative errno). */
#ifndef BB_TARGET_H
#define BB_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

struct nbd_handle;

enum bb_target_kind { BB_TARGET_FILE, BB_TARGET_NBD };

struct bb_target {
    enum bb_target_kind kind;
    int fd;                         /* file or block device (BB_TARGET_FILE) */
    int direct;                     /* opened with O_DIRECT */
    int is_blk;                     /* a block device */
    int readonly;
    uint64_t size;                  /* bytes */
    uint32_t phys_sector;           /* physical block size in bytes */
    int can_discard, can_flush;
    struct io_uring ring;
    int ring_ok;
    struct nbd_handle *nbd;
    int nbd_pid;                    /* its qemu-nbd (0: unknown) */
    unsigned inflight;              /* operations submitted, not yet completed */
    void (*done)(void *cookie, int res);
};

/* Open `path` (kind FILE) or run qemu-nbd on "<format>:<path>" (kind NBD). err gets a reason. */
int bb_target_open(struct bb_target *t, enum bb_target_kind kind, const char *spec, int readonly,
                   void (*done)(void *cookie, int res), char *err, size_t errlen);
void bb_target_close(struct bb_target *t);

/* Read or write iov (cnt entries, each a multiple of 512 bytes) at byte offset off. Each call
 * returns how many completions it will produce (done(cookie, bytes or -errno) each), or a
 * negative errno when nothing was submitted; 0 means it completed at once (successfully).
 * flush and discard produce at most one (done with 0). */
int bb_target_rw(struct bb_target *t, int write, uint64_t off, const struct iovec *iov, int cnt,
                 void *cookie);
int bb_target_flush(struct bb_target *t, void *cookie);
int bb_target_discard(struct bb_target *t, uint64_t off, uint64_t len, void *cookie);

/* The descriptor to poll and the events wanted (-1 when nothing to wait for). */
int bb_target_pollfd(struct bb_target *t, short *events);
/* Advance after poll said the fd is ready (revents); reap completions. */
int bb_target_process(struct bb_target *t, short revents);



/* Internal: submit what was prepared (io_uring); the per-kind halves. */
int bb_target_ready(struct bb_target *t);
void bb_target_kick(struct bb_target *t);
int bb_uring_open(struct bb_target *t, const char *path, char *err, size_t errlen);
void bb_uring_close(struct bb_target *t);
int bb_uring_rw(struct bb_target *t, int write, uint64_t off, const struct iovec *iov, int cnt,
                void *cookie);
int bb_uring_flush(struct bb_target *t, void *cookie);
int bb_uring_discard(struct bb_target *t, uint64_t off, uint64_t len, void *cookie);
int bb_uring_process(struct bb_target *t);
int bb_nbd_open(struct bb_target *t, const char *spec, char *err, size_t errlen);
void bb_nbd_close(struct bb_target *t);
int bb_nbd_rw(struct bb_target *t, int write, uint64_t off, const struct iovec *iov, int cnt,
              void *cookie);
int bb_nbd_flush(struct bb_target *t, void *cookie);
int bb_nbd_discard(struct bb_target *t, uint64_t off, uint64_t len, void *cookie);
int bb_nbd_pollfd(struct bb_target *t, short *events);
int bb_nbd_process(struct bb_target *t, short revents);
#endif
