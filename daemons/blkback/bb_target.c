/* bb_target.c - keel-blkback's storage front door: dispatches each operation to the io_uring
 * half (raw files, block devices: bb_uring.c) or the NBD half (images through qemu-nbd:
 * bb_nbd.c). */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "bb_target.h"

int bb_target_open(struct bb_target *t, enum bb_target_kind kind, const char *spec, int readonly,
                   void (*done)(void *cookie, int res), char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    t->kind = kind;
    t->readonly = readonly;
    t->done = done;
    return kind == BB_TARGET_NBD ? bb_nbd_open(t, spec, err, errlen)
                                 : bb_uring_open(t, spec, err, errlen);
}

void bb_target_close(struct bb_target *t)
{
    if (t->kind == BB_TARGET_NBD)
        bb_nbd_close(t);
    else
        bb_uring_close(t);
}

int bb_target_rw(struct bb_target *t, int write, uint64_t off, const struct iovec *iov, int cnt,
                 void *cookie)
{
    if (write && t->readonly)
        return -EROFS;              /* never reaches the image */
    return t->kind == BB_TARGET_NBD ? bb_nbd_rw(t, write, off, iov, cnt, cookie)
                                    : bb_uring_rw(t, write, off, iov, cnt, cookie);
}

int bb_target_flush(struct bb_target *t, void *cookie)
{
    return t->kind == BB_TARGET_NBD ? bb_nbd_flush(t, cookie) : bb_uring_flush(t, cookie);
}

int bb_target_discard(struct bb_target *t, uint64_t off, uint64_t len, void *cookie)
{
    if (t->readonly)
        return -EROFS;
    if (!t->can_discard)
        return -EOPNOTSUPP;
    return t->kind == BB_TARGET_NBD ? bb_nbd_discard(t, off, len, cookie)
                                    : bb_uring_discard(t, off, len, cookie);
}

int bb_target_pollfd(struct bb_target *t, short *events)
{
    if (t->kind == BB_TARGET_NBD)
        return bb_nbd_pollfd(t, events);
    *events = POLLIN;
    return t->ring_ok && t->inflight ? t->ring.ring_fd : -1;
}

int bb_target_process(struct bb_target *t, short revents)
{
    return t->kind == BB_TARGET_NBD ? bb_nbd_process(t, revents) : bb_uring_process(t);
}

/* Completions waiting to be processed (io_uring targets; 0 for NBD, which is polled). */
int bb_target_ready(struct bb_target *t)
{
    return t->kind == BB_TARGET_FILE && t->ring_ok && t->inflight && io_uring_cq_ready(&t->ring);
}

void bb_target_kick(struct bb_target *t)
{
    if (t->kind == BB_TARGET_FILE && t->ring_ok)
        io_uring_submit(&t->ring);
}
