/* mig_postcopy.c - post-copy live migration (Keel extension, docs/lazy-restore.md), after xl's
 * handshake has moved the domain's state and ring frames and the target runs it:
 *  - source (kl__postcopy_serve): the paused source domain's memory, mapped read-only, is
 *    served on the link: each keel_lazy_req the target sends is answered at once with a
 *    keel_lazy_page message; between requests every frame is pushed in order (1 MiB messages).
 *    It ends when the target says every frame is in (a request with count 0), the source is
 *    then destroyed by the caller;
 *  - target (kl__postcopy_relay): a relay between the link and the core's page channel of the
 *    lazy domain (requests out, pages in), until the core closes the channel (every frame in):
 *    then it tells the source.
 * A link that breaks while frames are missing: the target kills its copy (it cannot run on
 * without them; the core does it when its channel closes early) and the source, after waiting
 * KL_POSTCOPY_FENCE_MS for the target to notice, resumes its copy from the switch-over point.
 * So exactly one side runs. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kio.h"
#include "klog.h"
#include "mig_int.h"

#define PC_CHUNK 256                  /* frames per pushed message (1 MiB) */
#define PC_SILENCE_MS 5000            /* target: no byte from the source while frames are asked */

static int send_frames(int fd, const uint8_t *mem, uint64_t pfn, uint32_t n)
{
    struct keel_lazy_page h = { KEEL_LAZY_PAGE_MAGIC, n, pfn };
    struct iovec v[2] = { { &h, sizeof(h) }, { (void *)(mem + (pfn << KEEL_PAGE_SHIFT)),
                                               (size_t)n << KEEL_PAGE_SHIFT } };
    size_t total = v[0].iov_len + v[1].iov_len, done = 0;

    while (done < total) {
        ssize_t w;
        struct iovec cur[2];
        int k = 0;
        size_t skip = done;
        for (int i = 0; i < 2; i++) {
            if (skip >= v[i].iov_len) {
                skip -= v[i].iov_len;
                continue;
            }
            cur[k].iov_base = (uint8_t *)v[i].iov_base + skip;
            cur[k++].iov_len = v[i].iov_len - skip;
            skip = 0;
        }
        w = writev(fd, cur, k);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        done += (size_t)w;
    }
    return 0;
}

int kl__postcopy_serve(kl_ctx *ctx, uint32_t domid, int to_fd, int from_fd, uint64_t *pushed)
{
    uint64_t size = 0, pages, cursor = 0;
    uint8_t *mem;
    int mfd = -1, rc;

    *pushed = 0;
    if ((rc = kc_foreign_fd(ctx->kc, domid, &mfd, &size)) < 0)
        return kl__err(ctx, rc, "post-copy: domain %u's memory: %s", domid, kc_error(ctx->kc));
    mem = mmap(NULL, size, PROT_READ, MAP_SHARED, mfd, 0);
    close(mfd);
    if (mem == MAP_FAILED)
        return kl__err(ctx, -errno, "post-copy: mapping domain %u's memory", domid);
    pages = size >> KEEL_PAGE_SHIFT;
    for (rc = 0; rc == 0;) {
        struct pollfd p = { from_fd, POLLIN, 0 };
        struct keel_lazy_req q;
        int r = poll(&p, 1, cursor < pages ? 0 : 60000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 && cursor >= pages) {
            rc = kl__err(ctx, -ETIMEDOUT, "post-copy: every frame sent, no word from the target "
                         "for 60 s");
            break;
        }
        if (r > 0) {
            if ((rc = mig_read_exact(from_fd, &q, sizeof(q), 10000, NULL)) < 0) {
                kl__err(ctx, rc, "post-copy: reading the target's requests: %s", strerror(-rc));
                break;
            }
            if (q.count == 0)
                break;                               /* the target holds every frame */
            if (q.pfn >= pages || q.count > PC_CHUNK || q.count > pages - q.pfn) {
                rc = kl__err(ctx, -EPROTO, "post-copy: the target asked for frames %#llx + %llu "
                             "of %llu", (unsigned long long)q.pfn, (unsigned long long)q.count,
                             (unsigned long long)pages);
                break;
            }
            if ((rc = send_frames(to_fd, mem, q.pfn, (uint32_t)q.count)) < 0)
                kl__err(ctx, rc, "post-copy: sending frames: %s", strerror(-rc));
            continue;
        }
        uint32_t n = pages - cursor < PC_CHUNK ? (uint32_t)(pages - cursor) : PC_CHUNK;
        if ((rc = send_frames(to_fd, mem, cursor, n)) < 0)
            kl__err(ctx, rc, "post-copy: pushing frames: %s", strerror(-rc));
        cursor += n;
        *pushed += n;
    }
    munmap(mem, size);
    return rc;
}

/* Link -> core: one page message, passed on whole. */
static int pass_pages(int in_fd, int chan, uint8_t *buf)
{
    struct keel_lazy_page h;
    int rc;

    if ((rc = mig_read_exact(in_fd, &h, sizeof(h), PC_SILENCE_MS, NULL)) < 0)
        return rc;
    if (h.magic != KEEL_LAZY_PAGE_MAGIC || !h.count || h.count > PC_CHUNK)
        return -EPROTO;
    if ((rc = mig_read_exact(in_fd, buf, (size_t)h.count << KEEL_PAGE_SHIFT, PC_SILENCE_MS,
                             NULL)) < 0)
        return rc;
    if ((rc = kio_send_all(chan, &h, sizeof(h))) < 0)
        return rc;
    return kio_send_all(chan, buf, (size_t)h.count << KEEL_PAGE_SHIFT);
}

struct pump {
    int in_fd, chan, rc;
    uint8_t *buf;
};

/* Link -> core, on a thread of its own: requests core -> link never wait behind pages. */
static void *pump_pages(void *arg)
{
    struct pump *p = arg;

    while ((p->rc = pass_pages(p->in_fd, p->chan, p->buf)) == 0)
        ;
    shutdown(p->chan, SHUT_RD);           /* the request side sees the end too */
    return NULL;
}

int kl__postcopy_relay(kl_ctx *ctx, uint32_t domid, int in_fd, int out_fd, int chan)
{
    struct pump p = { in_fd, chan, 0, malloc((size_t)PC_CHUNK << KEEL_PAGE_SHIFT) };
    struct keel_domctl_lazy_mem st;
    pthread_t t;
    int rc = 0;

    if (!p.buf || pthread_create(&t, NULL, pump_pages, &p) != 0) {
        free(p.buf);
        return kl__err(ctx, -ENOMEM, "post-copy: cannot start the page relay");
    }
    for (;;) {                            /* core -> link: the requests */
        struct keel_lazy_req q;
        int r = kio_read_full(chan, &q, sizeof(q));
        if (r < 0)
            break;                        /* the core closed the channel, or the pump ended */
        if ((rc = mig_write_all(out_fd, &q, sizeof(q))) < 0) {
            kl__err(ctx, rc, "post-copy: the link to the source broke: %s", strerror(-rc));
            break;
        }
    }
    if (rc == 0 && kc_lazy_status(ctx->kc, domid, &st) == 0 &&
        st.state == KEEL_LAZY_STATE_COMPLETE) {
        struct keel_lazy_req q = { UINT64_MAX, 0 };   /* every frame is in: the source may go */
        rc = mig_write_all(out_fd, &q, sizeof(q));
    } else if (rc == 0) {
        rc = kl__err(ctx, p.rc < 0 ? p.rc : -EIO, "post-copy: the link from the source broke "
                     "with frames of domain %u missing: %s", domid, p.rc == -ECONNRESET ?
                     "the source closed it" : p.rc < 0 ? strerror(-p.rc) : "the channel ended");
    }
    shutdown(chan, SHUT_RDWR);            /* the pump's writes fail */
    pthread_cancel(t);                    /* or its wait for the link ends (a cancellation point) */
    pthread_join(t, NULL);
    free(p.buf);
    return rc;
}
