/* remus_dev.c - Remus device replication (issue 15, docs/remus.md).
 * Primary ("the hub"): a Unix socket <rundir>/remus/<domid>.sock that the domain's keel-blkback
 * and keel-netback workers connect to once their BE key `remus` is 1 (common/kremus.h). A
 * thread reads them continuously: disk writes are kept per epoch. kg_save's checkpoint callback:
 * PAUSED n - MARK n to every worker and wait for each MARKED (disks then hold their responses,
 * vifs start epoch n+1); RECORDS n - the epoch's disk writes go into the stream as optional
 * records (the first checkpoint also carries each disk whole: the initial sync), then RESUME;
 * RESUMED n - wait for the backup's acknowledgement of n (timeout: the backup is lost), then
 * RELEASE n: the vifs send what the guest sent before checkpoint n.
 * Backup: the disk records of the open checkpoint are kept in memory; when its CHECKPOINT
 * commits they are written to the backup's disk files (the paths of the domain's configuration
 * on this host), fdatasync'd, and the checkpoint is acknowledged. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "klog.h"
#include "kremus.h"
#include "mig_int.h"
#include "remus_dev.h"
#include "stream/kg_stream.h"

#define HUB_MAXDEV 16

struct buf { uint8_t *p; size_t len, cap; };

static int buf_put(struct buf *b, const void *d, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        uint8_t *n;
        while (cap < b->len + len)
            cap *= 2;
        if (!(n = realloc(b->p, cap)))
            return -ENOMEM;
        b->p = n;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, len);
    b->len += len;
    return 0;
}

int kl__remus_timeout(void)
{
    const char *e = getenv("KEEL_REMUS_TIMEOUT_MS");
    long v = e && *e ? strtol(e, NULL, 10) : 1000;

    return v >= 10 && v <= 600000 ? (int)v : 1000;
}

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- primary: the hub ------------------------------------------------------------------ */

struct hub_dev {
    int fd, kind, dead;
    uint32_t devid, marked;
    struct buf in;                   /* partial messages */
    struct buf recs;                 /* disk: u32 length + record body, per write, this epoch */
};

struct kl__remus_hub {
    kl_ctx *ctx;
    uint32_t domid;
    char sock[108];
    int lfd, wake[2], ack_fd, timeout_ms, debug, no_disk, no_net;
    pthread_t th;
    int th_started, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct hub_dev dev[HUB_MAXDEV];
    int ndev;
    struct buf out;                  /* the disk records of the checkpoint being written */
    uint32_t acked;
    uint64_t t_pause, cp_bytes;          /* checkpoint being taken: pause start (us), disk bytes */
    void (*on_cp)(uint32_t n, void *arg);    /* kl_remus_opts.on_checkpoint */
    void *on_cp_arg;
};

static int hub_send(struct hub_dev *d, uint32_t type, uint32_t epoch)
{
    struct { struct kremus_hdr h; struct kremus_epoch e; } m = { { type, 8 }, { epoch, 0 } };

    if (d->dead)
        return -EPIPE;
    if (mig_write_all(d->fd, &m, sizeof(m)) < 0) {
        d->dead = 1;
        return -EPIPE;
    }
    return 0;
}

/* One message from a worker (under mu). */
static int hub_message(struct kl__remus_hub *h, struct hub_dev *d, const struct kremus_hdr *m,
                       const uint8_t *body)
{
    if (m->type == KREMUS_HELLO && m->len == sizeof(struct kremus_hello)) {
        struct kremus_hello he;
        memcpy(&he, body, sizeof(he));
        if (he.kind != KREMUS_DISK && he.kind != KREMUS_NET)
            return -EPROTO;
        d->kind = (int)he.kind;
        d->devid = he.devid;
        return 0;
    }
    if (m->type == KREMUS_MARKED && m->len == sizeof(struct kremus_epoch)) {
        struct kremus_epoch e;
        memcpy(&e, body, sizeof(e));
        d->marked = e.epoch;
        return 0;
    }
    if (m->type == KREMUS_WRITE && d->kind == KREMUS_DISK && m->len >= sizeof(struct kremus_write)) {
        struct kremus_write w;
        struct kremus_disk_rec r;
        uint32_t data = m->len - (uint32_t)sizeof(w), len;
        memcpy(&w, body, sizeof(w));
        if ((w.flags & KREMUS_WRITE_DISCARD) ? data != 0 : data != (uint64_t)w.nsect * 512u)
            return -EPROTO;
        r = (struct kremus_disk_rec){ d->devid, w.flags, w.sector, w.nsect, 0 };
        len = (uint32_t)sizeof(r) + data;
        if (buf_put(&d->recs, &len, 4) < 0 || buf_put(&d->recs, &r, sizeof(r)) < 0 ||
            buf_put(&d->recs, body + sizeof(w), data) < 0)
            return -ENOMEM;
        return 0;
    }
    return -EPROTO;
}

static void hub_read(struct kl__remus_hub *h, struct hub_dev *d)
{
    uint8_t tmp[65536];
    ssize_t r = read(d->fd, tmp, sizeof(tmp));
    size_t off = 0;

    if (r <= 0) {
        if (r < 0 && errno == EINTR)
            return;
        d->dead = 1;
        klog(KLOG_WARN, "light", "remus: domain %u: the backend of %s %u left", h->domid,
             d->kind == KREMUS_NET ? "vif" : "disk", d->devid);
        return;
    }
    if (buf_put(&d->in, tmp, (size_t)r) < 0) {
        d->dead = 1;
        return;
    }
    while (d->in.len - off >= sizeof(struct kremus_hdr)) {
        struct kremus_hdr m;
        memcpy(&m, d->in.p + off, sizeof(m));
        if (m.len > KREMUS_MAX_BODY) {
            d->dead = 1;
            break;
        }
        if (d->in.len - off - sizeof(m) < m.len)
            break;
        if (hub_message(h, d, &m, d->in.p + off + sizeof(m)) < 0) {
            klog(KLOG_WARN, "light", "remus: domain %u: bad message %u (%u bytes) from a "
                 "backend: dropped it", h->domid, m.type, m.len);
            d->dead = 1;
            break;
        }
        off += sizeof(m) + m.len;
    }
    memmove(d->in.p, d->in.p + off, d->in.len - off);
    d->in.len -= off;
}

static void *hub_thread(void *arg)
{
    struct kl__remus_hub *h = arg;

    for (;;) {
        struct pollfd p[2 + HUB_MAXDEV];
        int n = 2, idx[HUB_MAXDEV];
        pthread_mutex_lock(&h->mu);
        if (h->stop) {
            pthread_mutex_unlock(&h->mu);
            return NULL;
        }
        p[0] = (struct pollfd){ h->lfd, POLLIN, 0 };
        p[1] = (struct pollfd){ h->wake[0], POLLIN, 0 };
        for (int i = 0; i < h->ndev; i++)
            if (!h->dev[i].dead) {
                idx[n - 2] = i;
                p[n++] = (struct pollfd){ h->dev[i].fd, POLLIN, 0 };
            }
        pthread_mutex_unlock(&h->mu);
        if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
            return NULL;
        pthread_mutex_lock(&h->mu);
        if (p[1].revents) {
            char c[16];
            if (read(h->wake[0], c, sizeof(c)) < 0) { /* nothing: woken for stop */ }
        }
        if ((p[0].revents & POLLIN) && h->ndev < HUB_MAXDEV) {
            int fd = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                h->dev[h->ndev++] = (struct hub_dev){ .fd = fd };
        }
        for (int i = 2; i < n; i++)
            if (p[i].revents)
                hub_read(h, &h->dev[idx[i - 2]]);
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
}

/* Under mu: wait until pred holds or the timeout passes. */
static int hub_wait(struct kl__remus_hub *h, int (*pred)(struct kl__remus_hub *, uint32_t),
                    uint32_t arg, int timeout_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!pred(h, arg))
        if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT)
            return pred(h, arg) ? 0 : -ETIMEDOUT;
    return 0;
}

static int hub_all_hello(struct kl__remus_hub *h, uint32_t want)
{
    uint32_t n = 0;

    for (int i = 0; i < h->ndev; i++)
        n += h->dev[i].kind != 0 && !h->dev[i].dead;
    return n >= want;
}

static int hub_all_marked(struct kl__remus_hub *h, uint32_t epoch)
{
    for (int i = 0; i < h->ndev; i++)
        if (!h->dev[i].dead && h->dev[i].kind && h->dev[i].marked != epoch)
            return 0;
    return 1;
}

/* Write remus=1 (or remove it) in every BE directory of the domain's kind. */
static int hub_mark_be(struct kl__remus_hub *h, const char *kind, int on)
{
    char path[128], *list = NULL;
    size_t len = 0;
    int n = 0;

    snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%u", kind, h->domid);
    if (kl__xs_directory(h->ctx, 0, path, &list, &len) < 0)
        return 0;
    for (size_t off = 0; off < len; off += strlen(list + off) + 1) {
        char p[192];
        if (!list[off])
            continue;
        snprintf(p, sizeof(p), "%s/%s/remus", path, list + off);
        if (on ? kl__xs_write(h->ctx, 0, p, "1") == 0 : kl__xs_rm(h->ctx, 0, p) == 0)
            n++;
    }
    free(list);
    return n;
}

int kl__remus_hub_start(kl_ctx *ctx, uint32_t domid, int no_disk, int no_net, int ack_fd,
                        int timeout_ms, int debug, struct kl__remus_hub **out)
{
    struct kl__remus_hub *h = calloc(1, sizeof(*h));
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char dir[300];
    int want = 0, rc;

    *out = NULL;
    if (!h)
        return kl__err(ctx, -ENOMEM, "remus: out of memory");
    *h = (struct kl__remus_hub){ .ctx = ctx, .domid = domid, .lfd = -1, .wake = { -1, -1 },
                                 .ack_fd = ack_fd, .timeout_ms = timeout_ms, .debug = debug,
                                 .no_disk = no_disk, .no_net = no_net };
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    snprintf(dir, sizeof(dir), "%s/remus", ctx->rundir);
    mkdir(dir, 0700);
    if ((size_t)snprintf(h->sock, sizeof(h->sock), "%.80s/remus/%u.sock", ctx->rundir, domid) >=
        sizeof(h->sock) - 1 || strlen(ctx->rundir) > 80) {
        free(h);
        return kl__err(ctx, -ENAMETOOLONG, "remus: the runtime directory %s is too long for a "
                       "socket path", ctx->rundir);
    }
    memcpy(sa.sun_path, h->sock, sizeof(h->sock) < sizeof(sa.sun_path) ? sizeof(h->sock) :
           sizeof(sa.sun_path));
    unlink(h->sock);
    if ((h->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(h->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(h->lfd, 16) < 0 ||
        pipe2(h->wake, O_CLOEXEC) < 0) {
        rc = kl__err(ctx, -errno, "remus: domain %u: cannot listen on %s: %s", domid, h->sock,
                     strerror(errno));
        kl__remus_hub_stop(h, 1);
        return rc;
    }
    if (pthread_create(&h->th, NULL, hub_thread, h)) {
        kl__remus_hub_stop(h, 1);
        return kl__err(ctx, -EAGAIN, "remus: cannot start the device thread");
    }
    h->th_started = 1;
    if (!no_disk)
        want += hub_mark_be(h, "vbd", 1);
    if (!no_net)
        want += hub_mark_be(h, "vif", 1);
    pthread_mutex_lock(&h->mu);
    rc = hub_wait(h, hub_all_hello, (uint32_t)want, 5000);
    pthread_mutex_unlock(&h->mu);
    if (rc < 0) {
        kl__remus_hub_stop(h, 1);
        return kl__err(ctx, rc, "remus: domain %u: its backends did not join the replication "
                       "within 5 s (%d devices expected; see keel-blkback/keel-netback logs)",
                       domid, want);
    }
    klog(KLOG_INFO, "light", "remus: domain %u: %d devices protected", domid, want);
    *out = h;
    return 0;
}

static void hub_broadcast(struct kl__remus_hub *h, int kind, uint32_t type, uint32_t epoch)
{
    for (int i = 0; i < h->ndev; i++)
        if (h->dev[i].kind && (!kind || h->dev[i].kind == kind))
            hub_send(&h->dev[i], type, epoch);
}

/* The first checkpoint carries each protected disk whole (read with the guest paused and the
 * backend holding its responses): the backup starts from the primary's disk. */
static int hub_full_disks(struct kl__remus_hub *h, struct kg_stream_writer *w)
{
    kl_domain_config dc;
    uint8_t *chunk = malloc(sizeof(struct kremus_disk_rec) + (1u << 20));
    int rc = 0;

    if (!chunk)
        return -ENOMEM;
    kl_domain_config_init(&dc);
    if (kl_domain_get_config(h->ctx, h->domid, &dc) < 0)
        rc = -EIO;
    for (int i = 0; rc == 0 && i < dc.num_disks; i++) {
        const kl_device_disk *d = &dc.disks[i];
        uint32_t devid;
        uint64_t sector = 0;
        int fd;
        if (!d->readwrite || d->is_cdrom || !d->pdev_path || !d->vdev ||
            kl_disk_vdev_to_devid(d->vdev, &devid) < 0)
            continue;
        if ((fd = open(d->pdev_path, O_RDONLY | O_CLOEXEC)) < 0) {
            rc = -errno;
            break;
        }
        for (;;) {
            ssize_t r = pread(fd, chunk + sizeof(struct kremus_disk_rec), 1u << 20,
                              (off_t)(sector * 512u));
            struct kremus_disk_rec rec = { devid, 0, sector, (uint32_t)(r > 0 ? r / 512 : 0), 0 };
            if (r <= 0 || r % 512) {
                rc = r < 0 ? -errno : 0;
                break;
            }
            memcpy(chunk, &rec, sizeof(rec));
            if ((rc = kg_stream_write_optional(w, KREMUS_REC_DISK, chunk,
                                               sizeof(rec) + (size_t)r)) < 0)
                break;
            sector += (uint64_t)r / 512u;
        }
        close(fd);
    }
    kl_domain_config_dispose(&dc);
    free(chunk);
    return rc;
}

static int hub_records(struct kl__remus_hub *h, struct kg_stream_writer *w, uint32_t n)
{
    int rc = 0;

    if (n == 1 && !h->no_disk && (rc = hub_full_disks(h, w)) < 0)
        return rc;
    for (size_t off = 0; off + 4 <= h->out.len && rc == 0;) {
        uint32_t len;
        memcpy(&len, h->out.p + off, 4);
        rc = kg_stream_write_optional(w, KREMUS_REC_DISK, h->out.p + off + 4, len);
        off += 4 + len;
    }
    h->out.len = 0;
    return rc;
}

static int hub_wait_ack(struct kl__remus_hub *h, uint32_t n)
{
    while (h->acked < n) {
        struct kremus_ack a;
        int rc = mig_read_exact(h->ack_fd, &a, sizeof(a), h->timeout_ms, NULL);
        if (rc < 0)
            return rc == -ETIMEDOUT ? rc : -ECONNRESET;
        if (a.magic != KREMUS_ACK_MAGIC || a.n < h->acked || a.n > n)
            return -EPROTO;
        h->acked = a.n;
    }
    return 0;
}

int kl__remus_hub_checkpoint(void *arg, enum kg_cp_phase phase, uint32_t n,
                             struct kg_stream_writer *w)
{
    struct kl__remus_hub *h = arg;
    uint64_t paused;
    int rc = 0;

    switch (phase) {
    case KG_CP_PAUSED:
        h->t_pause = mono_us();
        h->cp_bytes = 0;
        pthread_mutex_lock(&h->mu);
        hub_broadcast(h, 0, KREMUS_MARK, n);
        rc = hub_wait(h, hub_all_marked, n, h->timeout_ms);
        for (int i = 0; rc == 0 && i < h->ndev; i++)
            if (h->dev[i].kind == KREMUS_DISK && h->dev[i].recs.len) {
                h->cp_bytes += h->dev[i].recs.len;
                if (buf_put(&h->out, h->dev[i].recs.p, h->dev[i].recs.len) < 0)
                    rc = -ENOMEM;
                h->dev[i].recs.len = 0;
            }
        pthread_mutex_unlock(&h->mu);
        if (rc < 0)
            klog(KLOG_WARN, "light", "remus: domain %u: a backend did not close epoch %u",
                 h->domid, n);
        return rc;
    case KG_CP_RECORDS:
        rc = hub_records(h, w, n);
        pthread_mutex_lock(&h->mu);
        hub_broadcast(h, KREMUS_DISK, KREMUS_RESUME, n);
        pthread_mutex_unlock(&h->mu);
        return rc;
    case KG_CP_RESUMED:
        paused = mono_us() - h->t_pause;
        if (h->ack_fd >= 0 && (rc = hub_wait_ack(h, n)) < 0) {
            klog(KLOG_WARN, "light", "remus: domain %u: no acknowledgement of checkpoint %u "
                 "from the backup: %s", h->domid, n, strerror(-rc));
            return rc;
        }
        pthread_mutex_lock(&h->mu);
        hub_broadcast(h, KREMUS_NET, KREMUS_RELEASE, n);
        pthread_mutex_unlock(&h->mu);
        if (h->debug)              /* xl remus -F / --debug: one line per checkpoint */
            fprintf(stderr, "Remus: checkpoint %u: guest paused %llu us, disk %llu KiB "
                    "mirrored, %s %llu us after the pause, output released\n", n,
                    (unsigned long long)paused, (unsigned long long)(h->cp_bytes + 1023) / 1024,
                    h->ack_fd >= 0 ? "acknowledged" : "no backup to acknowledge,",
                    (unsigned long long)(mono_us() - h->t_pause));
        if (h->on_cp)
            h->on_cp(n, h->on_cp_arg);
        return 0;
    }
    return 0;
}

void kl__remus_hub_on_checkpoint(struct kl__remus_hub *h, void (*fn)(uint32_t n, void *arg),
                                 void *arg)
{
    if (h) {
        h->on_cp = fn;
        h->on_cp_arg = arg;
    }
}

void kl__remus_hub_stop(struct kl__remus_hub *h, int release)
{
    if (!h)
        return;
    if (h->th_started) {
        pthread_mutex_lock(&h->mu);
        if (release)
            hub_broadcast(h, KREMUS_NET, KREMUS_RELEASE, UINT32_MAX / 2);
        h->stop = 1;
        pthread_mutex_unlock(&h->mu);
        if (write(h->wake[1], "x", 1) < 0) { /* the thread wakes on poll anyway */ }
        pthread_join(h->th, NULL);
        hub_mark_be(h, "vbd", 0);
        hub_mark_be(h, "vif", 0);
    }
    for (int i = 0; i < h->ndev; i++) {
        close(h->dev[i].fd);
        free(h->dev[i].in.p);
        free(h->dev[i].recs.p);
    }
    if (h->lfd >= 0) {
        close(h->lfd);
        unlink(h->sock);
    }
    if (h->wake[0] >= 0) {
        close(h->wake[0]);
        close(h->wake[1]);
    }
    free(h->out.p);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

/* ---- backup: apply at commit, acknowledge ------------------------------------------------ */

struct bk_disk { uint32_t devid; int fd; uint64_t sectors; };

struct kl__remus_backup {
    struct kg_restore_hooks hooks;
    int ack_fd;
    struct bk_disk disk[HUB_MAXDEV];
    int ndisk;
    struct buf pending;              /* records of the open checkpoint */
    uint64_t applied;
};

static int bk_record(void *arg, uint32_t type, const uint8_t *body, uint32_t len)
{
    struct kl__remus_backup *b = arg;
    struct kremus_disk_rec r;

    if (type != KREMUS_REC_DISK)
        return 0;                    /* another optional record: not ours */
    if (len < sizeof(r))
        return -EPROTO;
    memcpy(&r, body, sizeof(r));
    if ((r.flags & KREMUS_WRITE_DISCARD) ? len != sizeof(r)
                                         : len - sizeof(r) != (uint64_t)r.nsect * 512u)
        return -EPROTO;
    if (buf_put(&b->pending, &len, 4) < 0 || buf_put(&b->pending, body, len) < 0)
        return -ENOMEM;
    return 0;
}

static int bk_apply(struct kl__remus_backup *b, const uint8_t *body, uint32_t len)
{
    struct kremus_disk_rec r;
    struct bk_disk *d = NULL;

    memcpy(&r, body, sizeof(r));
    for (int i = 0; i < b->ndisk && !d; i++)
        if (b->disk[i].devid == r.devid)
            d = &b->disk[i];
    if (!d || r.sector + r.nsect > d->sectors || r.sector + r.nsect < r.sector)
        return -ERANGE;
    if (r.flags & KREMUS_WRITE_DISCARD)
        return fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                         (off_t)(r.sector * 512u), (off_t)r.nsect * 512) < 0 &&
               errno != EOPNOTSUPP ? -errno : 0;
    if (pwrite(d->fd, body + sizeof(r), len - sizeof(r), (off_t)(r.sector * 512u)) !=
        (ssize_t)(len - sizeof(r)))
        return -EIO;
    b->applied++;
    return 0;
}

static int bk_commit(void *arg, uint32_t n)
{
    struct kl__remus_backup *b = arg;
    struct kremus_ack a = { KREMUS_ACK_MAGIC, n };
    int rc = 0;

    for (size_t off = 0; off + 4 <= b->pending.len && rc == 0;) {
        uint32_t len;
        memcpy(&len, b->pending.p + off, 4);
        rc = bk_apply(b, b->pending.p + off + 4, len);
        off += 4 + len;
    }
    b->pending.len = 0;
    if (rc < 0)
        return rc;
    for (int i = 0; i < b->ndisk; i++)
        if (fdatasync(b->disk[i].fd) < 0)
            return -errno;
    if (b->ack_fd >= 0 && mig_write_all(b->ack_fd, &a, sizeof(a)) < 0)
        b->ack_fd = -1;              /* the primary is gone: failover follows */
    return 0;
}

int kl__remus_backup_new(kl_ctx *ctx, const kl_domain_config *dc, int ack_fd,
                         struct kl__remus_backup **out)
{
    struct kl__remus_backup *b = calloc(1, sizeof(*b));

    *out = NULL;
    if (!b)
        return kl__err(ctx, -ENOMEM, "remus: out of memory");
    b->ack_fd = ack_fd;
    b->hooks = (struct kg_restore_hooks){ bk_record, bk_commit, b };
    for (int i = 0; i < dc->num_disks && b->ndisk < HUB_MAXDEV; i++) {
        const kl_device_disk *d = &dc->disks[i];
        struct bk_disk *k = &b->disk[b->ndisk];
        struct stat st;
        if (!d->readwrite || d->is_cdrom || !d->pdev_path || !d->vdev ||
            kl_disk_vdev_to_devid(d->vdev, &k->devid) < 0)
            continue;
        if ((k->fd = open(d->pdev_path, O_WRONLY | O_CLOEXEC)) < 0 || fstat(k->fd, &st) < 0) {
            int rc = -errno;
            kl__remus_backup_free(b);
            return kl__err(ctx, rc, "remus: the backup's copy of disk %s (%s): %s", d->vdev,
                           d->pdev_path, strerror(-rc));
        }
        k->sectors = (uint64_t)st.st_size / 512u;
        b->ndisk++;
    }
    *out = b;
    return 0;
}

const struct kg_restore_hooks *kl__remus_backup_hooks(struct kl__remus_backup *b)
{
    return &b->hooks;
}

void kl__remus_backup_free(struct kl__remus_backup *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->ndisk; i++)
        close(b->disk[i].fd);
    free(b->pending.p);
    free(b);
}
