/* bb_uring.c - keel-blkback's raw-file and block-device engine: io_uring through liburing.
 * Reads and writes go straight between the granted guest pages and the target (O_DIRECT when
 * the target accepts 512-byte aligned direct I/O, the page cache otherwise); flush is
 * fdatasync and discard fallocate(PUNCH_HOLE|KEEP_SIZE) as io_uring operations; block devices
 * are discarded with BLKDISCARD. Completions are reaped from the ring's pollable fd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bb_target.h"

#define BB_URING_DEPTH 256u

/* Can this descriptor do 512-byte aligned O_DIRECT reads? */
static int bb_direct_ok(int fd)
{
    void *buf = NULL;
    ssize_t n;

    if (posix_memalign(&buf, 4096, 4096))
        return 0;
    n = pread(fd, buf, 512, 0);
    free(buf);
    return n >= 0;
}

static int bb_open_fd(const char *path, int readonly, int direct)
{
    return open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY |
                          (direct ? O_DIRECT : 0));
}

static int bb_geometry(struct bb_target *t, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(t->fd, &st) < 0) {
        snprintf(err, errlen, "stat %s: %s", path, strerror(errno));
        return -errno;
    }
    if (S_ISBLK(st.st_mode)) {
        uint64_t sz = 0;
        int lbs = 512;
        unsigned pbs = 512;
        if (ioctl(t->fd, BLKGETSIZE64, &sz) < 0) {
            snprintf(err, errlen, "size of block device %s: %s", path, strerror(errno));
            return -errno;
        }
        if (ioctl(t->fd, BLKSSZGET, &lbs) == 0 && lbs > 512 && t->direct)
            t->direct = -1;                 /* 512-byte direct I/O impossible: reopen */
        ioctl(t->fd, BLKPBSZGET, &pbs);
        t->is_blk = 1;
        t->size = sz;
        t->phys_sector = pbs >= 512 && pbs <= 65536 ? pbs : 512;
    } else if (S_ISREG(st.st_mode)) {
        t->size = (uint64_t)st.st_size;
        t->phys_sector = 512;
    } else {
        snprintf(err, errlen, "%s is neither a regular file nor a block device", path);
        return -EINVAL;
    }
    t->can_discard = 1;
    t->can_flush = 1;
    return 0;
}

/* The ring may only read, write, sync and fallocate (io_uring operations bypass seccomp: an
 * unrestricted ring could open files), and nothing more can be registered; then enable it. */
static int bb_uring_restrict(struct bb_target *t)
{
    static const unsigned char ops[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
                                         IORING_OP_FALLOCATE };
    struct io_uring_restriction r[sizeof(ops)];
    int rc;

    memset(r, 0, sizeof(r));
    for (size_t i = 0; i < sizeof(ops); i++) {
        r[i].opcode = IORING_RESTRICTION_SQE_OP;
        r[i].sqe_op = ops[i];
    }
    /* the raw register call: Debian 12's liburing 2.3 declares but does not export
     * io_uring_register_restrictions / io_uring_enable_rings */
    rc = io_uring_register(t->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, r, sizeof(ops));
    if (rc < 0)
        return rc;
    rc = io_uring_register(t->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
    return rc < 0 ? rc : 0;
}

int bb_uring_open(struct bb_target *t, const char *path, char *err, size_t errlen)
{
    struct io_uring_params p;
    int rc;

    t->direct = 1;
    t->fd = bb_open_fd(path, t->readonly, 1);
    if (t->fd < 0 && errno == EINVAL) {        /* tmpfs and others: no O_DIRECT */
        t->direct = 0;
        t->fd = bb_open_fd(path, t->readonly, 0);
    }
    if (t->fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "open %s (%s): %s", path, t->readonly ? "read-only" : "read-write",
                 strerror(errno));
        return rc;
    }
    if ((rc = bb_geometry(t, path, err, errlen)) < 0)
        goto fail;
    if (t->direct == -1 || (t->direct && !bb_direct_ok(t->fd))) {
        close(t->fd);
        t->direct = 0;
        if ((t->fd = bb_open_fd(path, t->readonly, 0)) < 0) {
            rc = -errno;
            snprintf(err, errlen, "reopen %s: %s", path, strerror(errno));
            return rc;
        }
    }
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_R_DISABLED;
    p.cq_entries = BB_URING_DEPTH * 8;
    if ((rc = io_uring_queue_init_params(BB_URING_DEPTH, &t->ring, &p)) < 0) {
        snprintf(err, errlen, "io_uring setup: %s", strerror(-rc));
        goto fail;
    }
    t->ring_ok = 1;
    if ((rc = bb_uring_restrict(t)) < 0) {
        snprintf(err, errlen, "io_uring restrictions: %s", strerror(-rc));
        bb_uring_close(t);
        return rc;
    }
    return 0;
fail:
    close(t->fd);
    t->fd = -1;
    return rc;
}

void bb_uring_close(struct bb_target *t)
{
    if (t->ring_ok) {
        while (t->inflight && bb_uring_process(t) >= 0 && t->inflight) {
            struct io_uring_cqe *cqe;
            if (io_uring_wait_cqe(&t->ring, &cqe) < 0)
                break;
        }
        io_uring_queue_exit(&t->ring);
    }
    t->ring_ok = 0;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* A free submission slot: submitting what is queued frees them all. */
static struct io_uring_sqe *bb_sqe(struct bb_target *t)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);

    if (!sqe) {
        io_uring_submit(&t->ring);
        sqe = io_uring_get_sqe(&t->ring);
    }
    return sqe;
}

int bb_uring_rw(struct bb_target *t, int write, uint64_t off, const struct iovec *iov, int cnt,
                void *cookie)
{
    struct io_uring_sqe *sqe = bb_sqe(t);

    if (!sqe)
        return -EAGAIN;
    if (write)
        io_uring_prep_writev(sqe, t->fd, iov, (unsigned)cnt, off);
    else
        io_uring_prep_readv(sqe, t->fd, iov, (unsigned)cnt, off);
    io_uring_sqe_set_data(sqe, cookie);
    t->inflight++;
    return 1;
}

int bb_uring_flush(struct bb_target *t, void *cookie)
{
    struct io_uring_sqe *sqe = bb_sqe(t);

    if (!sqe)
        return -EAGAIN;
    io_uring_prep_fsync(sqe, t->fd, t->is_blk ? 0 : IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data(sqe, cookie);
    t->inflight++;
    return 1;
}

int bb_uring_discard(struct bb_target *t, uint64_t off, uint64_t len, void *cookie)
{
    struct io_uring_sqe *sqe;

    if (t->is_blk) {
        uint64_t range[2] = { off, len };
        if (ioctl(t->fd, BLKDISCARD, range) < 0)
            return errno == EINVAL || errno == ENOTTY ? -EOPNOTSUPP : -errno;
        return 0;                            /* done synchronously */
    }
    {
        if (!(sqe = bb_sqe(t)))
            return -EAGAIN;
        io_uring_prep_fallocate(sqe, t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                off, len);
    }
    io_uring_sqe_set_data(sqe, cookie);
    t->inflight++;
    return 1;
}

int bb_uring_process(struct bb_target *t)
{
    struct io_uring_cqe *cqe;
    int n = 0;

    while (io_uring_peek_cqe(&t->ring, &cqe) == 0) {
        void *cookie = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&t->ring, cqe);
        t->inflight--;
        n++;
        t->done(cookie, res);
    }
    return n;
}
