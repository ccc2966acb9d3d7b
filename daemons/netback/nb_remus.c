/* nb_remus.c - Remus network output commit in keel-netback (issue 15, docs/remus.md): while the
 * toolstack protects the domain (BE key `remus` = 1), the worker connects to the toolstack's
 * hub (<rundir>/remus/<domid>.sock, common/kremus.h) and holds every frame the guest sends
 * (after the anti-spoofing and rate rules, with its virtio-net header) instead of writing it to
 * the tap. MARK n (the guest is paused for checkpoint n) closes epoch n: the frames held so far
 * belong to it; RELEASE n (the backup acknowledged checkpoint n) writes them to the tap, in
 * order. Frames towards the guest are not held. The hold is bounded (NB_REMUS_CAP bytes): a
 * frame beyond it is dropped and counted, as a full queue would. A closed hub connection (or
 * the BE key removed) ends protection and drops what is still held: the hub sends RELEASE
 * before it stops unless it fenced the domain or died (docs/remus.md). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "klog.h"
#include "kremus.h"
#include "nb_int.h"
#include "nb_remus.h"

#define NB_REMUS_CAP (16u << 20)

struct nb_held {
    struct nb_held *next;
    uint32_t epoch, queue, len;
    uint8_t data[];
};

struct nb_remus {
    int fd;
    uint32_t epoch;                 /* epoch of the frames held now (last MARK + 1) */
    uint8_t in[64];
    size_t inlen;
    struct nb_held *head, *tail;
    size_t bytes;
    uint64_t held, released, dropped;
};

static void nb_remus_send_upto(struct nb_vif *v, uint32_t epoch, int all)
{
    struct nb_remus *r = v->remus;

    while (r->head && (all || (int32_t)(r->head->epoch - epoch) <= 0)) {
        struct nb_held *h = r->head;
        struct nb_queue *q = h->queue < v->nqueues ? &v->q[h->queue] : &v->q[0];
        if (v->connected && q->tapfd >= 0 && write(q->tapfd, h->data, h->len) == (ssize_t)h->len)
            r->released++;
        else
            v->st.tx_dropped++;
        r->head = h->next;
        r->bytes -= h->len;
        free(h);
    }
    if (!r->head)
        r->tail = NULL;
}

void nb_remus_close(struct nb_vif *v, int flush)
{
    struct nb_remus *r = v->remus;

    if (!r)
        return;
    if (flush)
        nb_remus_send_upto(v, 0, 1);
    while (r->head) {                /* not released: the backup never had the state */
        struct nb_held *h = r->head;
        r->head = h->next;
        r->dropped++;
        v->st.tx_dropped++;
        free(h);
    }
    klog_info(v->name, "remus: output commit ends: %llu frames held, %llu released, %llu dropped",
              (unsigned long long)r->held, (unsigned long long)r->released,
              (unsigned long long)r->dropped);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
    v->remus = NULL;
}

static int nb_remus_send(struct nb_remus *r, uint32_t type, uint32_t a, uint32_t b)
{
    struct { struct kremus_hdr h; uint32_t a, b; } m = { { type, 8 }, a, b };

    return write(r->fd, &m, sizeof(m)) == (ssize_t)sizeof(m) ? 0 : -EPIPE;
}

static void nb_remus_open(struct nb_vif *v)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct nb_remus *r = calloc(1, sizeof(*r));
    int fd;

    if (!r)
        return;
    snprintf(sa.sun_path, sizeof(sa.sun_path), KREMUS_SOCK_FMT, v->rundir, v->domid);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        klog_warn(v->name, "remus: cannot reach the replicating toolstack at %s: %s",
                  sa.sun_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(r);
        return;
    }
    r->fd = fd;
    v->remus = r;
    if (nb_remus_send(r, KREMUS_HELLO, KREMUS_NET, v->devid) < 0)
        return nb_remus_close(v, 1);
    klog_info(v->name, "remus: output commit: frames are held until the backup has the state "
              "that sent them");
}

void nb_remus_reconcile(struct nb_vif *v)
{
    char p[160], *val = NULL;
    int want;

    snprintf(p, sizeof(p), "%s/remus", v->be);
    want = kxs_read(v->xs, 0, p, &val, NULL) == 0 && val && !strcmp(val, "1") && v->connected;
    free(val);
    if (want && !v->remus)
        nb_remus_open(v);
    else if (!want && v->remus)
        nb_remus_close(v, 0);        /* the hub sent RELEASE first unless it fenced */
}

int nb_remus_fd(const struct nb_vif *v)
{
    return v->remus ? v->remus->fd : -1;
}

static void nb_remus_message(struct nb_vif *v, uint32_t type, uint32_t epoch)
{
    struct nb_remus *r = v->remus;

    switch (type) {
    case KREMUS_MARK:
        r->epoch = epoch + 1;
        if (nb_remus_send(r, KREMUS_MARKED, epoch, 0) < 0)
            nb_remus_close(v, 1);
        break;
    case KREMUS_RELEASE:
        nb_remus_send_upto(v, epoch, 0);
        break;
    case KREMUS_RESUME:
        break;
    default:
        klog_warn(v->name, "remus: unexpected message %u from the hub: disconnecting", type);
        nb_remus_close(v, 1);
    }
}

void nb_remus_input(struct nb_vif *v)
{
    const size_t msg = sizeof(struct kremus_hdr) + sizeof(struct kremus_epoch);
    struct nb_remus *r = v->remus;
    ssize_t n = read(r->fd, r->in + r->inlen, sizeof(r->in) - r->inlen);

    if (n <= 0) {
        if (n < 0 && errno == EINTR)
            return;
        return nb_remus_close(v, 0);  /* the hub is gone: it sent RELEASE first unless it
                                       * fenced or died; unacknowledged output never leaves */
    }
    r->inlen += (size_t)n;
    while (v->remus && r->inlen >= msg) {
        struct kremus_hdr h;
        struct kremus_epoch e;
        memcpy(&h, r->in, sizeof(h));
        memcpy(&e, r->in + sizeof(h), sizeof(e));
        if (h.len != sizeof(e)) {
            klog_warn(v->name, "remus: hub message %u of %u bytes: disconnecting", h.type, h.len);
            return nb_remus_close(v, 1);
        }
        memmove(r->in, r->in + msg, r->inlen - msg);
        r->inlen -= msg;
        nb_remus_message(v, h.type, e.epoch);
    }
}

ssize_t nb_remus_hold(struct nb_vif *v, struct nb_queue *q, const struct iovec *iov, int cnt)
{
    struct nb_remus *r = v->remus;
    struct nb_held *h;
    size_t len = 0, off = 0;

    for (int i = 0; i < cnt; i++)
        len += iov[i].iov_len;
    if (r->bytes + len > NB_REMUS_CAP || !(h = malloc(sizeof(*h) + len))) {
        r->dropped++;
        return -1;
    }
    for (int i = 0; i < cnt; i++) {
        memcpy(h->data + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    *h = (struct nb_held){ NULL, r->epoch, q->idx, (uint32_t)len };
    if (r->tail)
        r->tail->next = h;
    else
        r->head = h;
    r->tail = h;
    r->bytes += len;
    r->held++;
    return (ssize_t)len;
}
