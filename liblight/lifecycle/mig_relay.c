/* mig_relay.c - saving with options: kg_save's progress reports turned into kl_migrate_progress
 * (rate, expected downtime) for the caller, its cancel flag, and for KL_SAVE_ZLIB the relay:
 * kg_save runs in a worker thread writing a libxl stream into a socketpair while the caller's
 * thread writes Keel's compressed preamble and deflates the stream to the destination; the
 * worker's progress and its suspend callback (closing the disks, which uses kl_ctx) are handed
 * over under a lock so both always run in the caller's thread. A destination error or a cancel stops kg_save through its cancel flag. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "keel/guest.h"
#include "mig_int.h"
#include "stream/kg_stream.h"

#define RELAY_BUF (1u << 20)

struct relay {
    const kl_migrate_opts *o;
    kl_migrate_progress p;           /* what the caller is shown */
    uint64_t last_ns, rate_ns, rate_bytes;
    uint32_t last_round;
    int last_stop;
    /* zlib relay */
    pthread_mutex_t lock;
    struct kg_save_progress snap;    /* latest report of the worker */
    int fresh;
    volatile int stop;               /* kg_save's cancel flag */
    int fd;
    z_stream z;
    uint8_t *zbuf;
    uint64_t out;
    int rc;
    char err[256];
    /* worker */
    kc_handle *kc;
    uint32_t domid;
    int wfd;
    struct kg_save_opts so;
    struct kg_save_stats st;
    int wrc;
    char werr[512];
    /* the suspend callback, run in the caller's thread for the worker (it uses kl_ctx) */
    struct kl__save_susp *susp;
    pthread_cond_t cond;
    int susp_req, susp_done, susp_rc, pump_gone;
    int wake[2];                     /* the worker's request wakes the pump's poll */
};

/* Turn a kg_save report into the caller's figures and call back (rate-limited: ~5 per second,
 * plus every round change). Runs in the caller's thread. */
static void report(struct relay *r, const struct kg_save_progress *k, uint64_t out)
{
    kl_migrate_progress *p = &r->p;
    int changed = k->round != r->last_round || k->stop_and_copy != r->last_stop;

    if (!r->o || !r->o->progress || (!changed && k->elapsed_ns - r->last_ns < 200000000ull))
        return;
    if (k->elapsed_ns - r->rate_ns >= 100000000ull) {
        p->rate_mib_s = (double)(k->bytes_written - r->rate_bytes) * 1e9 /
                        (double)(k->elapsed_ns - r->rate_ns) / (1 << 20);
        r->rate_ns = k->elapsed_ns;
        r->rate_bytes = k->bytes_written;
    }
    r->last_ns = k->elapsed_ns;
    r->last_round = k->round;
    r->last_stop = k->stop_and_copy;
    p->round = k->round;
    p->stop_and_copy = k->stop_and_copy;
    p->pages_total = k->pages_total;
    p->pages_sent = k->pages_sent;
    p->pages_dirty = k->last_dirty;
    p->round_pages = k->round_pages;
    p->round_sent = k->round_sent;
    p->bytes_sent = out;
    p->expected_downtime_ms = p->rate_mib_s > 0
        ? (double)k->last_dirty * 4096.0 / (p->rate_mib_s * (1 << 20)) * 1000.0 : 0;
    r->o->progress(p, r->o->arg);
}

static void direct_progress(const struct kg_save_progress *k, void *arg)
{
    report(arg, k, k->bytes_written);
}

static void final_report(struct relay *r, uint64_t out)
{
    if (!r->o || !r->o->progress)
        return;
    r->p.done = 1;
    r->p.stop_and_copy = 1;
    r->p.round = r->st.rounds;
    r->p.pages_sent = r->st.pages_sent;
    r->p.pages_dirty = r->st.last_dirty;
    r->p.bytes_sent = out;
    r->p.downtime_ms = (double)r->st.downtime_ns / 1e6;
    r->o->progress(&r->p, r->o->arg);
}

/* ---- the zlib relay ---- */

static void worker_progress(const struct kg_save_progress *k, void *arg)
{
    struct relay *r = arg;

    pthread_mutex_lock(&r->lock);
    r->snap = *k;
    r->fresh = 1;
    pthread_mutex_unlock(&r->lock);
}

/* kg_save's suspend callback in the worker: hand it to the caller's thread and wait. */
static int worker_suspend(void *arg)
{
    struct relay *r = arg;
    int rc;

    pthread_mutex_lock(&r->lock);
    r->susp_req = 1;
    pthread_mutex_unlock(&r->lock);
    if (write(r->wake[1], "s", 1) < 0) {
        /* the pump still sees susp_req within its 100 ms poll */
    }
    pthread_mutex_lock(&r->lock);
    while (!r->susp_done && !r->pump_gone)
        pthread_cond_wait(&r->cond, &r->lock);
    rc = r->susp_done ? r->susp_rc : -EPIPE;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* In the caller's thread: run the worker's pending suspend request, if any. */
static void serve_suspend(struct relay *r)
{
    int req, rc;

    pthread_mutex_lock(&r->lock);
    req = r->susp_req && !r->susp_done;
    pthread_mutex_unlock(&r->lock);
    if (!req)
        return;
    rc = kl__save_suspend(r->susp);
    pthread_mutex_lock(&r->lock);
    r->susp_rc = rc;
    r->susp_done = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void *worker_main(void *arg)
{
    struct relay *r = arg;
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);     /* a broken socketpair gives EPIPE here */
    r->wrc = kg_save(r->kc, r->domid, r->wfd, &r->so, &r->st, r->werr, sizeof(r->werr));
    shutdown(r->wfd, SHUT_WR);
    return NULL;
}

static int put(struct relay *r, const void *p, size_t n)
{
    int rc = mig_write_all(r->fd, p, n);

    if (rc < 0) {
        snprintf(r->err, sizeof(r->err), "writing the image at byte %llu: %s",
                 (unsigned long long)r->out, strerror(-rc));
        r->stop = 1;
        return r->rc = rc;
    }
    r->out += n;
    return 0;
}

static int zput(struct relay *r, const uint8_t *p, size_t n, int flush)
{
    r->z.next_in = (uint8_t *)(uintptr_t)p;
    r->z.avail_in = (uInt)n;
    do {
        r->z.next_out = r->zbuf;
        r->z.avail_out = RELAY_BUF;
        if (deflate(&r->z, flush) == Z_STREAM_ERROR) {
            snprintf(r->err, sizeof(r->err), "compressing: zlib stream error");
            r->stop = 1;
            return r->rc = -EIO;
        }
        if (put(r, r->zbuf, RELAY_BUF - r->z.avail_out) < 0)
            return r->rc;
    } while (r->z.avail_out == 0 || r->z.avail_in);
    return 0;
}

static void pump(struct relay *r, int in)
{
    uint8_t *buf = malloc(RELAY_BUF);
    struct kg_save_progress k;

    for (;;) {
        struct pollfd pf[2] = { { in, POLLIN, 0 }, { r->wake[0], POLLIN, 0 } };
        ssize_t n;
        int fresh;
        char c;
        serve_suspend(r);
        if (r->o && r->o->cancel && *r->o->cancel)
            r->stop = 1;
        pthread_mutex_lock(&r->lock);
        k = r->snap;
        fresh = r->fresh;
        r->fresh = 0;
        pthread_mutex_unlock(&r->lock);
        if (fresh && !r->rc)
            report(r, &k, r->out);
        if (poll(pf, 2, 100) == 0)
            continue;
        if (pf[1].revents & POLLIN && read(r->wake[0], &c, 1) < 0) {
            /* nothing: the request itself is under the lock */
        }
        if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        n = read(in, buf ? buf : (uint8_t *)r->err, buf ? RELAY_BUF : 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        if (!buf && !r->rc) {
            snprintf(r->err, sizeof(r->err), "out of memory");
            r->rc = -ENOMEM;
            r->stop = 1;
        }
        if (!r->rc && !r->stop)
            zput(r, buf, (size_t)n, Z_NO_FLUSH);   /* else drain until kg_save stops */
    }
    free(buf);
    pthread_mutex_lock(&r->lock);
    r->pump_gone = 1;                /* a worker still asking would wait forever */
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* Keel's compressed preamble: xl's, with the zlib mandatory flag. */
static int z_preamble(struct relay *r, const char *json)
{
    uint8_t *pre;
    size_t len;
    uint32_t flags;
    int rc;

    if ((rc = kg_xlhdr_encode(json, &pre, &len)) < 0) {
        snprintf(r->err, sizeof(r->err), "encoding the preamble: %s", strerror(-rc));
        return r->rc = rc;
    }
    memcpy(&flags, pre + 36, 4);
    flags = htole32(le32toh(flags) | KL_XL_MANDATORY_FLAG_KEEL_ZLIB);
    memcpy(pre + 36, &flags, 4);
    rc = put(r, pre, len);
    free(pre);
    return rc;
}

static int zlib_save(kl_ctx *ctx, struct relay *r)
{
    pthread_t th;
    int sv[2];

    if (deflateInit(&r->z, Z_BEST_SPEED) != Z_OK || !(r->zbuf = malloc(RELAY_BUF)))
        return kl__err(ctx, -ENOMEM, "saving domain %u: cannot set up zlib", r->domid);
    if (z_preamble(r, r->so.xl_config) < 0)
        return kl__err(ctx, r->rc, "saving domain %u: %s", r->domid, r->err);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return kl__err(ctx, -errno, "saving domain %u: socketpair: %s", r->domid, strerror(errno));
    if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        close(sv[0]);
        close(sv[1]);
        return kl__err(ctx, -errno, "saving domain %u: pipe: %s", r->domid, strerror(errno));
    }
    r->wfd = sv[1];
    r->so.cancel = &r->stop;
    r->so.progress = worker_progress;
    r->so.progress_arg = r;
    r->so.suspend = r->susp ? worker_suspend : NULL;
    r->so.suspend_arg = r;
    r->so.emu = r->susp ? r->susp->emu : NULL;
    if (pthread_create(&th, NULL, worker_main, r) != 0) {
        close(sv[0]);
        close(sv[1]);
        close(r->wake[0]);
        close(r->wake[1]);
        return kl__err(ctx, -EAGAIN, "saving domain %u: cannot start the save thread", r->domid);
    }
    pump(r, sv[0]);
    pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    close(r->wake[0]);
    close(r->wake[1]);
    if (r->rc)
        return kl__err(ctx, r->rc, "saving domain %u: %s", r->domid, r->err);
    if (r->wrc < 0)
        return kl__err(ctx, r->wrc, "saving domain %u: %s", r->domid, r->werr);
    if (zput(r, NULL, 0, Z_FINISH) < 0)
        return kl__err(ctx, r->rc, "saving domain %u: %s", r->domid, r->err);
    final_report(r, r->out);
    return 0;
}

int kl__save_relay(kl_ctx *ctx, uint32_t domid, int fd, unsigned flags, const char *json,
                   const kl_migrate_opts *o, struct kl__save_susp *susp)
{
    struct relay *r = calloc(1, sizeof(*r));
    int rc;

    if (!r)
        return kl__err(ctx, -ENOMEM, "saving domain %u: out of memory", domid);
    r->o = o;
    r->fd = fd;
    r->kc = ctx->kc;
    r->domid = domid;
    r->last_round = UINT32_MAX;
    r->so.live = (flags & KL_SAVE_LIVE) != 0;
    r->so.postcopy = (flags & KL_SAVE_POSTCOPY) != 0;    /* mig_postcopy.c */
    r->so.format = (flags & KL_SAVE_ZLIB) ? KG_FMT_LIBXL : KG_FMT_XL;
    r->so.xl_config = json;
    r->susp = susp;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if ((rc = kl__rings_read(ctx, domid, &r->so.rings)) < 0)       /* carried as HVM_PARAMS */
        goto out;
    if (flags & KL_SAVE_ZLIB) {
        rc = zlib_save(ctx, r);
        deflateEnd(&r->z);
        goto out;
    }
    r->so.cancel = o ? o->cancel : NULL;
    r->so.progress = direct_progress;
    r->so.progress_arg = r;
    r->so.suspend = susp ? kl__save_suspend : NULL;     /* kg_save runs on this thread */
    r->so.suspend_arg = susp;
    r->so.emu = susp ? susp->emu : NULL;
    if ((rc = kg_save(ctx->kc, domid, fd, &r->so, &r->st, r->werr, sizeof(r->werr))) < 0)
        kl__err(ctx, rc, "saving domain %u: %s", domid, r->werr);
    else
        final_report(r, r->p.bytes_sent);
out:
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r->zbuf);
    free(r);
    return rc;
}
