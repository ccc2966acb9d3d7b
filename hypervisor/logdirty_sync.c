/* logdirty_sync.c - the "sync" log-dirty engine (Linux 5.19+: UFFD_FEATURE_WP_HUGETLBFS_SHMEM):
 * the stub registers guest memory for plain (synchronous) userfaultfd write-protection. Enabling
 * protects every page; the first write to a protected page stops the writing vCPU in the kernel
 * and queues a fault on the userfaultfd the core holds. Fault workers (1 per 32 vCPUs, at most
 * one per CPU and 4) read the faults in batches of up to 64, lift the protection of each run of
 * faulting pages with one ioctl (which also wakes the vCPUs waiting there) and then set the
 * pages' bits. A read returns the bits set since the last one and re-protects just those pages,
 * one ioctl per run of adjacent pages (the whole guest in one ioctl when the runs are many).
 * After a batch a worker keeps looking for faults for LD_SPIN_NS before it sleeps in poll(), so
 * a vCPU faulting page after page does not wait for the worker's wake-up each time.
 * Fault-ahead: a fault right after the block a stream's last fault lifted doubles the stream's
 * block (up to LD_MAX_AHEAD pages), so a vCPU writing in order faults about 100 times less; the
 * pages lifted ahead are reported too (more than written, never fewer). KEEL_LOGDIRTY_AHEAD=0:
 * one page per fault. $KEEL_LOGDIRTY_GRANULE=N (a power of two up to 512, default 1): blocks of
 * at least N pages.
 * Disabling hands the lifting of every protection to a thread of its own, outside the core's
 * lock (some 20 ms for 1 GiB): the workers serve faults until it is done, then stop.
 *
 * Ordering that loses no write: a worker lifts the protection BEFORE it sets the bit, and a read
 * takes-and-clears the bits BEFORE it re-protects them; so a page is writable only while its bit
 * is set or about to be set by a worker in the middle of a batch, and a write the read missed is
 * in the next read. A read first waits for the batches in progress (each worker's sequence is
 * odd while it serves one), so once the domain is paused the final read has every write. */
#include "config.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hv.h"
#include "klog.h"
#include "logdirty.h"

#define LD_MAX_WORKERS 4
#define LD_VCPUS_PER_WORKER 32
#define LD_BATCH 64
#define LD_MAX_RUNS 4096               /* more runs than this: re-protect the whole guest */
#define LD_SPIN_NS 50000               /* a worker looks for more faults this long before sleeping */
#define LD_RETIRE_CHUNK (16384)        /* pages lifted per ioctl while retiring (64 MiB) */
#define LD_STREAMS 32                  /* sequential fault streams followed at once */
#define LD_MAX_AHEAD 256               /* pages one fault of a stream lifts at most (1 MiB) */

struct ld_worker {
    struct hv_ld_sync *s;
    pthread_t th;
    uint64_t seq;                      /* atomic: odd while serving a batch */
};

struct hv_ld_sync {
    struct hv_domain *d;
    uint64_t pages;
    uint64_t *bits;                    /* atomic words: pages a worker made writable */
    int stopfd;                        /* eventfd: the workers return */
    uint32_t nworkers;
    uint64_t granule;                  /* pages lifted and reported per fault (power of two) */
    bool adaptive;                     /* follow sequential streams ($KEEL_LOGDIRTY_AHEAD) */
    pthread_mutex_t streams_lock;
    struct { uint64_t next, ahead; } streams[LD_STREAMS];
    uint32_t stream_next;
    int retiring;                      /* atomic: disabled, protections being lifted */
    pthread_t retirer;
    bool retirer_started;
    uint64_t faults, batches;          /* atomic statistics */
    struct ld_worker w[LD_MAX_WORKERS];
};

static void wake_range(struct hv_ld_sync *s, uint64_t addr, uint64_t len)
{
    struct uffdio_range r = { addr, len };

    if (ioctl(s->d->uffd, UFFDIO_WAKE, &r) < 0 && errno != ENOENT && errno != ESRCH)
        klog_debug("logdirty", "domain %u: UFFDIO_WAKE: %s", s->d->domid, strerror(errno));
}

/* How many pages a fault at page p lifts: a fault right after the block the last fault of a
 * stream lifted continues that stream, whose block doubles (up to LD_MAX_AHEAD); any other
 * fault starts a stream of one granule (replacing the oldest of LD_STREAMS). */
static uint64_t ahead_for(struct hv_ld_sync *s, uint64_t p)
{
    uint64_t ahead = s->granule;

    if (!s->adaptive)
        return ahead;
    pthread_mutex_lock(&s->streams_lock);
    for (uint32_t i = 0; i < LD_STREAMS; i++)
        if (s->streams[i].next == p && p) {
            ahead = s->streams[i].ahead * 2 > LD_MAX_AHEAD ? LD_MAX_AHEAD : s->streams[i].ahead * 2;
            s->streams[i].ahead = ahead;
            s->streams[i].next = p + ahead;
            pthread_mutex_unlock(&s->streams_lock);
            return ahead;
        }
    s->streams[s->stream_next].next = p + ahead;
    s->streams[s->stream_next].ahead = ahead;
    s->stream_next = (s->stream_next + 1) % LD_STREAMS;
    pthread_mutex_unlock(&s->streams_lock);
    return ahead;
}

struct ld_range { uint64_t start, end; };

static int cmp_range(const void *a, const void *b)
{
    const struct ld_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Lift the protection of each run of faulting blocks, waking its writers, then mark them. */
static void serve(struct hv_ld_sync *s, const struct uffd_msg *m, size_t n)
{
    struct ld_range r[LD_BATCH];
    size_t k = 0, runs = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t a = m[i].arg.pagefault.address, p;
        if (m[i].event != UFFD_EVENT_PAGEFAULT)
            continue;                  /* no other event was asked for */
        if (a < KEEL_GUEST_BASE || a - KEEL_GUEST_BASE >= s->d->mem_size) {
            wake_range(s, a & ~(KEEL_PAGE_SIZE - 1), KEEL_PAGE_SIZE);
            continue;
        }
        p = ((a - KEEL_GUEST_BASE) >> KEEL_PAGE_SHIFT) & ~(s->granule - 1);
        r[k].start = p;
        r[k].end = p + ahead_for(s, p);
        if (r[k].end > s->pages)
            r[k].end = s->pages;
        k++;
    }
    qsort(r, k, sizeof(r[0]), cmp_range);
    for (size_t i = 0; i < k; i++) {   /* merge overlapping and adjacent blocks */
        if (runs && r[i].start <= r[runs - 1].end) {
            if (r[i].end > r[runs - 1].end)
                r[runs - 1].end = r[i].end;
        } else
            r[runs++] = r[i];
    }
    for (size_t i = 0; i < runs; i++)
        if (hv_ld_protect(s->d, r[i].start, r[i].end - r[i].start, 0, 0) < 0)
            wake_range(s, KEEL_GUEST_BASE + (r[i].start << KEEL_PAGE_SHIFT),
                       (r[i].end - r[i].start) << KEEL_PAGE_SHIFT);
    if (__atomic_load_n(&s->retiring, __ATOMIC_ACQUIRE))
        return;                        /* log-dirty is off: nothing to record */
    for (size_t i = 0; i < runs; i++)
        for (uint64_t p = r[i].start; p < r[i].end; p++)
            __atomic_fetch_or(&s->bits[p / 64], 1ULL << (p % 64), __ATOMIC_RELEASE);
    __atomic_fetch_add(&s->faults, k, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->batches, 1, __ATOMIC_RELAXED);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg)
{
    struct ld_worker *w = arg;
    struct hv_ld_sync *s = w->s;
    struct uffd_msg msgs[LD_BATCH];
    uint64_t last = 0;

    for (;;) {
        struct pollfd p[2] = { { s->d->uffd, POLLIN, 0 }, { s->stopfd, POLLIN, 0 } };
        ssize_t r;
        int spin = mono_ns() - last < LD_SPIN_NS;
        if (poll(p, 2, spin ? 0 : -1) < 0 && errno != EINTR)
            break;
        if (spin && !p[0].revents && !p[1].revents) {
            __builtin_ia32_pause();
            continue;
        }
        if (p[1].revents)
            break;
        if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            poll(&p[1], 1, -1);        /* the domain's memory is gone: wait to be stopped */
            break;
        }
        __atomic_fetch_add(&w->seq, 1, __ATOMIC_SEQ_CST);
        r = read(s->d->uffd, msgs, sizeof(msgs));
        if (r > 0) {
            serve(s, msgs, (size_t)r / sizeof(msgs[0]));
            last = mono_ns();
        }
        __atomic_fetch_add(&w->seq, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* Wait until no worker is in the middle of a batch it had started before now. */
static void quiesce(struct hv_ld_sync *s)
{
    for (uint32_t i = 0; i < s->nworkers; i++) {
        uint64_t v = __atomic_load_n(&s->w[i].seq, __ATOMIC_ACQUIRE);
        if (v & 1)
            while (__atomic_load_n(&s->w[i].seq, __ATOMIC_ACQUIRE) == v)
                sched_yield();
    }
}

static void stop_workers(struct hv_ld_sync *s)
{
    uint64_t one = 1;

    if (s->nworkers && write(s->stopfd, &one, sizeof(one)) != sizeof(one))
        klog_err("logdirty", "domain %u: cannot stop the fault workers", s->d->domid);
    for (uint32_t i = 0; i < s->nworkers; i++)
        pthread_join(s->w[i].th, NULL);
    s->nworkers = 0;
}

static void sync_free(struct hv_domain *d)
{
    struct hv_ld_sync *s = d->ld_sync;

    if (s->retirer_started)
        pthread_join(s->retirer, NULL);
    stop_workers(s);
    if (s->stopfd >= 0)
        close(s->stopfd);
    free(s->bits);
    free(s);
    d->ld_sync = NULL;
}

static uint32_t workers_for(const struct hv_domain *d)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t n = 1 + (d->max_vcpus - 1) / LD_VCPUS_PER_WORKER;

    if (cpus > 0 && n > (uint32_t)cpus)
        n = (uint32_t)cpus;
    return n > LD_MAX_WORKERS ? LD_MAX_WORKERS : n;
}

static uint64_t granule(void)
{
    const char *e = getenv("KEEL_LOGDIRTY_GRANULE");
    unsigned long g = e ? strtoul(e, NULL, 10) : 1;

    return g >= 1 && g <= 512 && !(g & (g - 1)) ? g : 1;
}

int hv_ld_sync_enable(struct hv_domain *d)
{
    struct hv_ld_sync *s;
    uint32_t want = workers_for(d);
    int rc;

    if (d->ld_sync)                    /* the last disable is still lifting protections */
        sync_free(d);
    if (!(s = calloc(1, sizeof(*s))))
        return -ENOMEM;
    s->d = d;
    s->granule = granule();
    s->adaptive = !getenv("KEEL_LOGDIRTY_AHEAD") || strcmp(getenv("KEEL_LOGDIRTY_AHEAD"), "0");
    pthread_mutex_init(&s->streams_lock, NULL);
    s->pages = d->mem_size >> KEEL_PAGE_SHIFT;
    s->stopfd = eventfd(0, EFD_CLOEXEC);
    s->bits = calloc((s->pages + 63) / 64, sizeof(uint64_t));
    d->ld_sync = s;
    if (s->stopfd < 0 || !s->bits) {
        rc = s->stopfd < 0 ? -errno : -ENOMEM;
        sync_free(d);
        return rc;
    }
    for (; s->nworkers < want; s->nworkers++) {
        s->w[s->nworkers].s = s;
        if ((rc = -pthread_create(&s->w[s->nworkers].th, NULL, worker, &s->w[s->nworkers])) < 0) {
            sync_free(d);
            return rc;
        }
    }
    if ((rc = hv_ld_protect(d, 0, s->pages, 1, 0)) < 0) {
        hv_ld_protect(d, 0, s->pages, 0, 0);
        sync_free(d);
        return rc;
    }
    klog_debug("logdirty", "domain %u: sync log-dirty on, %u fault workers", d->domid, s->nworkers);
    return 0;
}

/* Re-protect the pages of snap (bits per page) that are set: one ioctl per run. */
static int reprotect(struct hv_domain *d, const uint64_t *snap, uint64_t pages)
{
    uint64_t runs = 0, run_start = 0;
    int in_run = 0, rc = 0;

    for (uint64_t p = 0; p < pages && runs <= LD_MAX_RUNS; p++) {
        int set = (snap[p / 64] >> (p % 64)) & 1;
        if (!in_run && !snap[p / 64]) {
            p |= 63;                   /* skip an empty word */
            continue;
        }
        if (set && !in_run)
            runs++;
        in_run = set;
    }
    if (runs > LD_MAX_RUNS)
        return hv_ld_protect(d, 0, d->mem_size >> KEEL_PAGE_SHIFT, 1, 0);
    in_run = 0;
    for (uint64_t p = 0; p <= pages; p++) {
        int set = p < pages && ((snap[p / 64] >> (p % 64)) & 1);
        if (set && !in_run)
            run_start = p;
        else if (!set && in_run && (rc = hv_ld_protect(d, run_start, p - run_start, 1, 0)) < 0)
            return rc;
        in_run = set;
        if (!in_run && p < pages && !snap[p / 64])
            p |= 63;
    }
    return 0;
}

long hv_ld_sync_scan(struct hv_domain *d, int clear, uint8_t *bm, uint64_t pages, uint64_t *count)
{
    struct hv_ld_sync *s = d->ld_sync;
    uint64_t nwords = (pages + 63) / 64, *snap;
    long rc = 0;

    if (!s)
        return -EINVAL;
    if (pages > s->pages)
        pages = s->pages;
    if (!(snap = calloc(nwords + 1, sizeof(uint64_t))))
        return -ENOMEM;
    quiesce(s);
    for (uint64_t w = 0; w < nwords; w++) {
        uint64_t mask = (w == nwords - 1 && pages % 64) ? (1ULL << (pages % 64)) - 1 : ~0ULL;
        uint64_t v = clear ? __atomic_fetch_and(&s->bits[w], ~mask, __ATOMIC_ACQ_REL) & mask
                           : __atomic_load_n(&s->bits[w], __ATOMIC_ACQUIRE) & mask;
        snap[w] = v;
        for (; v; v &= v - 1) {
            uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(v);
            if (!(bm[p / 8] & (1u << (p % 8)))) {
                bm[p / 8] |= (uint8_t)(1u << (p % 8));
                (*count)++;
            }
        }
    }
    if (clear)
        rc = reprotect(d, snap, pages);
    free(snap);
    return rc;
}

/* Lift every protection in chunks (each ioctl also wakes the vCPUs waiting in it) while the
 * workers go on serving faults, so no vCPU stays blocked; the workers stop when it is done. */
static void *retire(void *arg)
{
    struct hv_ld_sync *s = arg;
    uint64_t one = 1;
    int rc = 0;

    for (uint64_t p = 0; p < s->pages && rc == 0; p += LD_RETIRE_CHUNK)
        rc = hv_ld_protect(s->d, p, s->pages - p < LD_RETIRE_CHUNK ? s->pages - p : LD_RETIRE_CHUNK,
                           0, 0);
    if (rc < 0 && rc != -ESRCH && rc != -ENOENT)
        klog_err("logdirty", "domain %u: lifting write-protection: %s", s->d->domid, strerror(-rc));
    if (write(s->stopfd, &one, sizeof(one)) != sizeof(one))
        klog_err("logdirty", "domain %u: cannot stop the fault workers", s->d->domid);
    return NULL;
}

/* Off at once: no bit is recorded any more, the protections go in the background (retire). */
int hv_ld_sync_disable(struct hv_domain *d)
{
    struct hv_ld_sync *s = d->ld_sync;
    int rc;

    if (!s)
        return 0;
    __atomic_store_n(&s->retiring, 1, __ATOMIC_RELEASE);
    klog_debug("logdirty", "domain %u: sync log-dirty off after %llu faults in %llu batches",
               d->domid, (unsigned long long)s->faults, (unsigned long long)s->batches);
    if ((rc = -pthread_create(&s->retirer, NULL, retire, s)) < 0) {
        retire(s);                     /* no thread: lift them here */
        sync_free(d);
        return 0;
    }
    s->retirer_started = true;
    return 0;
}

/* Destroy: the workers stop; closing the userfaultfd afterwards (logdirty.c) releases any vCPU
 * still waiting, and the process is being killed anyway. */
void hv_ld_sync_release(struct hv_domain *d)
{
    if (d->ld_sync)
        sync_free(d);
}
