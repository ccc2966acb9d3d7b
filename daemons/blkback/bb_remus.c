/* bb_remus.c - Remus disk replication in keel-blkback (issue 15, docs/remus.md): while the
 * toolstack protects the domain (BE key `remus` = 1), the worker connects to the toolstack's
 * hub (<rundir>/remus/<domid>.sock, common/kremus.h) and, before publishing the response of a
 * write or discard, sends it there (sector, data): a write belongs to the epoch in which its
 * response became visible to the guest. At a checkpoint the hub sends MARK (the guest is
 * paused): the worker answers MARKED and publishes no response until RESUME, so no completion
 * lands in guest memory while the checkpoint is read. The hub carries the writes to the backup,
 * which applies them when the checkpoint that covers them commits (protocol D). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bb_int.h"
#include "klog.h"
#include "kremus.h"

#define BB_REMUS_IOV 64                 /* data pieces per WRITE message */

void bb_remus_init(struct bb_remus *rm, const char *rundir)
{
    memset(rm, 0, sizeof(*rm));
    rm->rundir = rundir;
    rm->fd = -1;
}

static int bb_remus_send(struct bb_dev *d, uint32_t type, const void *a, size_t alen,
                         const struct iovec *data, int cnt)
{
    struct kremus_hdr h = { type, (uint32_t)alen };
    struct iovec iov[2 + BB_REMUS_IOV];
    int n = 0;

    iov[n++] = (struct iovec){ &h, sizeof(h) };
    iov[n++] = (struct iovec){ (void *)a, alen };
    for (int i = 0; i < cnt; i++) {
        h.len += (uint32_t)data[i].iov_len;
        iov[n++] = data[i];
    }
    while (n) {
        ssize_t w = writev(d->rm.fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -EPIPE;
        while (n && (size_t)w >= iov[0].iov_len) {
            w -= (ssize_t)iov[0].iov_len;
            memmove(iov, iov + 1, (size_t)--n * sizeof(iov[0]));
        }
        if (n) {
            iov[0].iov_base = (char *)iov[0].iov_base + w;
            iov[0].iov_len -= (size_t)w;
        }
    }
    return 0;
}

static void bb_remus_connect(struct bb_dev *d)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct kremus_hello hello = { KREMUS_DISK, d->devid };
    int fd;

    if (!strcmp(d->kind, "qdisk")) {
        klog_warn(d->name, "remus: disk images (qdisk) are not replicated; only raw targets");
        return;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), KREMUS_SOCK_FMT, d->rm.rundir, d->domid);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return klog_warn(d->name, "remus: socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        klog_warn(d->name, "remus: cannot reach the replicating toolstack at %s: %s", sa.sun_path,
                  strerror(errno));
        close(fd);
        return;
    }
    d->rm.fd = fd;
    d->rm.frozen = 0;
    d->rm.inlen = 0;
    d->rm.writes = 0;
    if (bb_remus_send(d, KREMUS_HELLO, &hello, sizeof(hello), NULL, 0) < 0)
        return bb_remus_close(d);
    klog_info(d->name, "remus: protected: writes are mirrored to the backup");
}

void bb_remus_close(struct bb_dev *d)
{
    if (d->rm.fd < 0)
        return;
    close(d->rm.fd);
    d->rm.fd = -1;
    klog_info(d->name, "remus: protection ended after %llu mirrored writes",
              (unsigned long long)d->rm.writes);
    if (d->rm.frozen) {
        d->rm.frozen = 0;
        bb_ring_kick(d);            /* publish what MARK held back */
    }
}

void bb_remus_reconcile(struct bb_dev *d, const char *remus_key)
{
    int want = remus_key && !strcmp(remus_key, "1") && d->target_open && !d->readonly;

    if (want && d->rm.fd < 0)
        bb_remus_connect(d);
    else if (!want && d->rm.fd >= 0)
        bb_remus_close(d);
}

int bb_remus_pollfd(const struct bb_dev *d)
{
    return d->rm.fd;
}

static void bb_remus_message(struct bb_dev *d, const struct kremus_hdr *h,
                             const struct kremus_epoch *e)
{
    switch (h->type) {
    case KREMUS_MARK:
        d->rm.frozen = 1;
        if (bb_remus_send(d, KREMUS_MARKED, e, sizeof(*e), NULL, 0) < 0)
            bb_remus_close(d);
        d->rm.epoch = e->epoch + 1;
        break;
    case KREMUS_RESUME:
        d->rm.frozen = 0;
        bb_ring_kick(d);
        break;
    default:
        klog_warn(d->name, "remus: unexpected message %u from the hub: disconnecting", h->type);
        bb_remus_close(d);
    }
}

void bb_remus_input(struct bb_dev *d)
{
    const size_t msg = sizeof(struct kremus_hdr) + sizeof(struct kremus_epoch);
    ssize_t r = read(d->rm.fd, d->rm.in + d->rm.inlen, sizeof(d->rm.in) - d->rm.inlen);

    if (r <= 0) {
        if (r < 0 && errno == EINTR)
            return;
        return bb_remus_close(d);     /* the hub is gone: protection ends */
    }
    d->rm.inlen += (size_t)r;
    while (d->rm.fd >= 0 && d->rm.inlen >= msg) {
        struct kremus_hdr h;
        struct kremus_epoch e;
        memcpy(&h, d->rm.in, sizeof(h));
        memcpy(&e, d->rm.in + sizeof(h), sizeof(e));
        if (h.len != sizeof(e)) {
            klog_warn(d->name, "remus: hub message %u of %u bytes: disconnecting", h.type, h.len);
            return bb_remus_close(d);
        }
        memmove(d->rm.in, d->rm.in + msg, d->rm.inlen - msg);
        d->rm.inlen -= msg;
        bb_remus_message(d, &h, &e);
    }
}

int bb_remus_may_publish(struct bb_dev *d, const struct bb_inflight *f)
{
    struct kremus_write w;
    int data;

    if (d->rm.fd < 0)
        return 1;
    if (d->rm.frozen)
        return 0;
    if (f->status != KEEL_BLKIF_RSP_OKAY)
        return 1;
    data = (f->r.op == KEEL_BLKIF_OP_WRITE || f->r.op == KEEL_BLKIF_OP_WRITE_BARRIER ||
            f->r.op == KEEL_BLKIF_OP_FLUSH_DISKCACHE) && f->r.nr_segs && f->iovcnt;
    if (!data && f->r.op != KEEL_BLKIF_OP_DISCARD)
        return 1;
    w = (struct kremus_write){ f->r.sector, (uint32_t)f->r.nr_sectors,
                               data ? 0 : KREMUS_WRITE_DISCARD };
    for (int i = 0; data && i < f->iovcnt; i += BB_REMUS_IOV) {
        /* one message per BB_REMUS_IOV pieces; sectors follow on */
        int cnt = f->iovcnt - i < BB_REMUS_IOV ? f->iovcnt - i : BB_REMUS_IOV;
        uint64_t bytes = 0;
        for (int k = 0; k < cnt; k++)
            bytes += f->iov[i + k].iov_len;
        w.nsect = (uint32_t)(bytes / 512u);
        if (bb_remus_send(d, KREMUS_WRITE, &w, sizeof(w), f->iov + i, cnt) < 0)
            goto broken;
        w.sector += w.nsect;
    }
    if (!data && bb_remus_send(d, KREMUS_WRITE, &w, sizeof(w), NULL, 0) < 0)
        goto broken;
    d->rm.writes++;
    return 1;
broken:
    klog_warn(d->name, "remus: the hub connection broke: protection ends");
    bb_remus_close(d);
    return 1;
}
