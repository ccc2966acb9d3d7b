/* lazymem.c - lazy guest memory: a domain created with KEEL_DOMCTL_CDF_LAZY_MEM runs before its
 * memory is in. Its stub registers guest memory with the one userfaultfd it hands the core for
 * missing-page faults as well as write-protection (a range can belong to one userfaultfd only);
 * a missing page is one the domain's memfd does not hold. One filler thread per domain reads
 * the faults and places each frame with UFFDIO_COPY (or UFFDIO_ZEROPAGE), which fails with
 * EEXIST for a frame that is already there and never overwrites one: a frame the toolstack
 * wrote through the memory descriptor before the source was attached, or one placed by an
 * earlier fill, is kept. Between faults it fills the rest in the background (file source) or
 * takes what the source pushes (channel source), until every frame is in.
 * The core's own accesses (hypercall buffers, grant tables, grant copies and mappings) call
 * hv_lazy_need first, which fills the frames on the caller's thread (file) or asks the channel
 * and waits (bounded); a foreign mapping of all of memory by the toolstack completes the fill
 * first (file) or is refused while a channel still delivers (EBUSY).
 * done[] says which frames are present for good; everything here runs under the domain's
 * lazy mutex, never under the core lock (a caller may hold the core lock; this file never
 * takes it except from the filler thread when nobody waits on it). */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "keel-flask-av.h"
#include "klog.h"
#include "kio.h"
#include "lazymem.h"

#define LZ_CHUNK 256                  /* frames per background step and per read (1 MiB) */
#define LZ_WAIT_MS 10000              /* a channel frame the core needs: how long to wait */

enum { SRC_NONE, SRC_FILE, SRC_CHANNEL };

struct hv_lazy {
    struct hv_domain *d;
    pthread_mutex_t mu;
    pthread_cond_t cv;                 /* frames arrived, or the state changed */
    uint8_t *done;                     /* frames present for good */
    uint64_t pages, left, cursor;
    int state;                         /* KEEL_LAZY_STATE_* (atomic reads outside mu) */
    int kind;                          /* SRC_* */
    int src_fd;
    uint64_t *off;                     /* file: offset of each frame, UINT64_MAX = zeros */
    int stopfd;                        /* eventfd: stop, or a source was attached */
    pthread_t thr;
    bool thr_started;
    uint8_t *buf;                      /* LZ_CHUNK pages, page aligned */
    uint64_t faults, t_attach, t_done;
    uint32_t bg_delay_ms;              /* KEEL_LAZY_BG_DELAY_MS: background fill held back */
};

static inline bool test_done(const struct hv_lazy *L, uint64_t p)
{
    return L->done[p / 8] & (1u << (p % 8));
}

static inline void set_done(struct hv_lazy *L, uint64_t p)
{
    L->done[p / 8] |= (uint8_t)(1u << (p % 8));
    L->left--;
}

static uint64_t addr_of(uint64_t pfn)
{
    return KEEL_GUEST_BASE + (pfn << KEEL_PAGE_SHIFT);
}

bool hv_lazy_incomplete(const struct hv_domain *d)
{
    return d->lazy && __atomic_load_n(&d->lazy->state, __ATOMIC_ACQUIRE) != KEEL_LAZY_STATE_COMPLETE;
}

bool hv_lazy_active(const struct hv_domain *d)
{
    return d->lazy && __atomic_load_n(&d->lazy->state, __ATOMIC_ACQUIRE) == KEEL_LAZY_STATE_FILLING;
}

/* Place n frames at pfn from src (NULL: zeros) into the stub's address space; frames already
 * present are skipped (EEXIST), never overwritten. 0 or a negative errno (ESRCH: the process
 * is gone). */
static int place(struct hv_lazy *L, uint64_t pfn, uint64_t n, const uint8_t *src)
{
    uint64_t i = 0;
    int again = 0;

    while (i < n) {
        int64_t got;
        int r;
        if (src) {
            struct uffdio_copy c = { .dst = addr_of(pfn + i), .src = (uint64_t)(src + (i << KEEL_PAGE_SHIFT)),
                                     .len = (n - i) << KEEL_PAGE_SHIFT };
            r = ioctl(L->d->uffd, UFFDIO_COPY, &c);
            got = c.copy;
        } else {
            struct uffdio_zeropage z = { .range = { addr_of(pfn + i), (n - i) << KEEL_PAGE_SHIFT } };
            r = ioctl(L->d->uffd, UFFDIO_ZEROPAGE, &z);
            got = z.zeropage;
        }
        if (r == 0)
            return 0;
        if (got > 0) {
            i += (uint64_t)got >> KEEL_PAGE_SHIFT;
            continue;
        }
        if (got == -EEXIST || errno == EEXIST) {
            i++;                                     /* present already: kept */
            continue;
        }
        if ((got == -EAGAIN || errno == EAGAIN) && ++again < 10000)
            continue;                                /* the address space was changing */
        return got < 0 ? (int)got : -errno;
    }
    return 0;
}

static void wake(struct hv_lazy *L, uint64_t pfn, uint64_t n)
{
    struct uffdio_range r = { addr_of(pfn), n << KEEL_PAGE_SHIFT };

    ioctl(L->d->uffd, UFFDIO_WAKE, &r);
}

static void mark(struct hv_lazy *L, uint64_t pfn, uint64_t n)
{
    for (uint64_t p = pfn; p < pfn + n; p++)
        if (!test_done(L, p))
            set_done(L, p);
}

static int read_at(int fd, uint8_t *buf, size_t len, uint64_t off)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO;
        got += (size_t)r;
    }
    return 0;
}

/* File source, mu held: fill the frames of [pfn, pfn + n) that are not in yet, runs of frames
 * that are adjacent in the file read and placed together. */
static int fill_file(struct hv_lazy *L, uint64_t pfn, uint64_t n)
{
    uint64_t end = pfn + n;
    int rc;

    for (uint64_t p = pfn; p < end;) {
        uint64_t k = 1;
        if (test_done(L, p)) {
            p++;
            continue;
        }
        while (p + k < end && k < LZ_CHUNK && !test_done(L, p + k) &&
               (L->off[p] == UINT64_MAX ? L->off[p + k] == UINT64_MAX
                                        : L->off[p + k] == L->off[p] + (k << KEEL_PAGE_SHIFT)))
            k++;
        if (L->off[p] == UINT64_MAX) {
            rc = place(L, p, k, NULL);
        } else if ((rc = read_at(L->src_fd, L->buf, (size_t)k << KEEL_PAGE_SHIFT, L->off[p])) == 0) {
            rc = place(L, p, k, L->buf);
        }
        if (rc < 0)
            return rc;
        mark(L, p, k);
        p += k;
    }
    return 0;
}

/* Channel source: ask for frames (the filler thread places them when they arrive). */
static int ask(struct hv_lazy *L, uint64_t pfn, uint64_t n)
{
    struct keel_lazy_req q = { pfn, n };

    return kio_send_all_timeout(L->src_fd, &q, sizeof(q), 1000);
}

static void finish(struct hv_lazy *L)
{
    uint64_t v;

    if (L->left || L->state == KEEL_LAZY_STATE_COMPLETE)
        return;
    L->t_done = hv_now();
    __atomic_store_n(&L->state, KEEL_LAZY_STATE_COMPLETE, __ATOMIC_RELEASE);
    if (L->src_fd >= 0)
        close(L->src_fd);
    L->src_fd = -1;
    free(L->off);
    L->off = NULL;
    pthread_cond_broadcast(&L->cv);
    v = 1;
    if (write(L->stopfd, &v, sizeof(v)) < 0)         /* the filler reports and ends */
        klog_warn("lazymem", "domain %u: cannot wake the filler: %s", L->d->domid, strerror(errno));
}

static void fail(struct hv_lazy *L, int err)
{
    if (L->state != KEEL_LAZY_STATE_FILLING)
        return;
    __atomic_store_n(&L->state, KEEL_LAZY_STATE_FAILED, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&L->cv);
    klog_err("lazymem", "domain %u: the page source failed with %llu frames not in: %s",
             L->d->domid, (unsigned long long)L->left, strerror(-err));
}

int hv_lazy_need(struct hv_domain *d, uint64_t first, uint64_t n)
{
    struct hv_lazy *L = d->lazy;
    struct timespec until;
    int rc = 0;

    if (!hv_lazy_active(d) || !n)
        return 0;
    if (first >= L->pages || n > L->pages - first)
        return -EFAULT;
    pthread_mutex_lock(&L->mu);
    if (L->state == KEEL_LAZY_STATE_FILLING && L->kind == SRC_FILE) {
        if ((rc = fill_file(L, first, n)) < 0)
            fail(L, rc);
        else
            finish(L);
    } else if (L->state == KEEL_LAZY_STATE_FILLING && L->kind == SRC_CHANNEL) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += LZ_WAIT_MS / 1000;
        for (uint64_t p = first; p < first + n && rc == 0; p++) {
            if (!test_done(L, p) && (rc = ask(L, p, 1)) < 0)
                break;
            while (!test_done(L, p) && L->state == KEEL_LAZY_STATE_FILLING && rc == 0)
                rc = -pthread_cond_timedwait(&L->cv, &L->mu, &until);
            if (!test_done(L, p) && rc == 0)
                rc = -EIO;
        }
    }
    if (rc == 0 && L->state == KEEL_LAZY_STATE_FAILED)
        for (uint64_t p = first; p < first + n && rc == 0; p++)
            if (!test_done(L, p))
                rc = -EIO;
    pthread_mutex_unlock(&L->mu);
    return rc < 0 ? -EIO : 0;
}

int hv_lazy_need_bytes(struct hv_domain *d, uint64_t gpa, uint64_t len)
{
    if (!len || !hv_lazy_active(d))
        return 0;
    return hv_lazy_need(d, gpa >> KEEL_PAGE_SHIFT,
                        ((gpa + len - 1) >> KEEL_PAGE_SHIFT) - (gpa >> KEEL_PAGE_SHIFT) + 1);
}

int hv_lazy_zero(struct hv_domain *d, uint64_t first, uint64_t n)
{
    static const uint8_t zero[KEEL_PAGE_SIZE];
    struct hv_lazy *L = d->lazy;
    int rc = 0;

    if (!L || first >= L->pages || n > L->pages - first)
        return -EINVAL;
    pthread_mutex_lock(&L->mu);
    /* what the source holds for these frames is not wanted any more; zeros keep the frames
     * present (a hole would fault again, after the filler has gone) */
    mark(L, first, n);
    for (uint64_t p = first; p < first + n && rc == 0; p++)
        if (pwrite(d->mem_fd, zero, sizeof(zero), (off_t)(p << KEEL_PAGE_SHIFT)) != sizeof(zero))
            rc = -EIO;
    if (L->state == KEEL_LAZY_STATE_FILLING)
        finish(L);
    pthread_mutex_unlock(&L->mu);
    return rc;
}

int hv_lazy_complete_now(struct hv_domain *d)
{
    struct hv_lazy *L = d->lazy;
    int rc = 0;

    if (!hv_lazy_active(d))
        return L && L->state == KEEL_LAZY_STATE_FAILED ? -EIO : 0;
    pthread_mutex_lock(&L->mu);
    if (L->kind == SRC_CHANNEL && L->state == KEEL_LAZY_STATE_FILLING)
        rc = -EBUSY;
    else if (L->state == KEEL_LAZY_STATE_FILLING && (rc = fill_file(L, 0, L->pages)) < 0)
        fail(L, rc);
    else
        finish(L);
    pthread_mutex_unlock(&L->mu);
    return rc;
}

/* A missing-page fault: fill the frame (with a few after it for a file: a guest reading its
 * memory in order faults less), then wake whoever waits there. */
static void serve_fault(struct hv_lazy *L, uint64_t va)
{
    uint64_t pfn = (va - KEEL_GUEST_BASE) >> KEEL_PAGE_SHIFT, n = 16;
    int rc = 0;

    if (va < KEEL_GUEST_BASE || pfn >= L->pages)
        return;
    if (n > L->pages - pfn)
        n = L->pages - pfn;
    pthread_mutex_lock(&L->mu);
    L->faults++;
    if (test_done(L, pfn)) {
        /* present already, or released (balloon) and written with zeros */
        rc = place(L, pfn, 1, NULL);
    } else if (L->state != KEEL_LAZY_STATE_FILLING || L->kind == SRC_NONE) {
        /* no source (yet, or it failed): a vCPU should not be running; zeros keep it from
         * waiting for ever, and the frame is kept as it is */
        if (L->state == KEEL_LAZY_STATE_FAILED) {
            pthread_mutex_unlock(&L->mu);
            return;                                /* the domain is being killed */
        }
        rc = place(L, pfn, 1, NULL);
        mark(L, pfn, 1);
    } else if (L->kind == SRC_FILE) {
        if ((rc = fill_file(L, pfn, n)) < 0)
            fail(L, rc);
    } else {
        rc = ask(L, pfn, 1);                       /* placed when it arrives */
        if (rc < 0)
            fail(L, rc);
        pthread_mutex_unlock(&L->mu);
        return;
    }
    finish(L);
    pthread_mutex_unlock(&L->mu);
    wake(L, pfn, 1);
}

static void drain_faults(struct hv_lazy *L)
{
    struct uffd_msg m[64];

    for (;;) {
        ssize_t r = read(L->d->uffd, m, sizeof(m));
        if (r <= 0)
            return;
        for (size_t i = 0; i < (size_t)r / sizeof(m[0]); i++)
            if (m[i].event == UFFD_EVENT_PAGEFAULT &&
                !(m[i].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
                serve_fault(L, m[i].arg.pagefault.address & ~(uint64_t)(KEEL_PAGE_SIZE - 1));
    }
}

/* Channel: one message (header, then its pages) placed. */
static int take_pages(struct hv_lazy *L)
{
    struct keel_lazy_page h;
    int rc = kio_read_full(L->src_fd, &h, sizeof(h));

    if (rc < 0)
        return rc;
    if (h.magic != KEEL_LAZY_PAGE_MAGIC || !h.count || h.count > LZ_CHUNK || h.pfn >= L->pages ||
        h.count > L->pages - h.pfn)
        return -EPROTO;
    if ((rc = kio_read_full(L->src_fd, L->buf, (size_t)h.count << KEEL_PAGE_SHIFT)) < 0)
        return rc;
    pthread_mutex_lock(&L->mu);
    for (uint64_t p = h.pfn; p < h.pfn + h.count && rc == 0; p++) {
        if (test_done(L, p))
            continue;
        if ((rc = place(L, p, 1, L->buf + ((p - h.pfn) << KEEL_PAGE_SHIFT))) == 0)
            set_done(L, p);
    }
    pthread_cond_broadcast(&L->cv);
    finish(L);
    pthread_mutex_unlock(&L->mu);
    wake(L, h.pfn, h.count);
    return rc;
}

static void bg_step(struct hv_lazy *L)
{
    int rc;

    pthread_mutex_lock(&L->mu);
    while (L->cursor < L->pages && test_done(L, L->cursor))
        L->cursor++;
    if (L->state == KEEL_LAZY_STATE_FILLING && L->cursor < L->pages) {
        uint64_t n = L->pages - L->cursor < LZ_CHUNK ? L->pages - L->cursor : LZ_CHUNK;
        if ((rc = fill_file(L, L->cursor, n)) < 0)
            fail(L, rc);
    }
    finish(L);
    pthread_mutex_unlock(&L->mu);
}

static void report(struct hv_lazy *L)
{
    int state = __atomic_load_n(&L->state, __ATOMIC_ACQUIRE);

    pthread_mutex_lock(&hv.lock);
    if (state == KEEL_LAZY_STATE_COMPLETE)
        hv_printk("Domain %u: lazy memory complete: %llu frames in %llu ms, %llu faults served",
                  L->d->domid, (unsigned long long)L->pages,
                  (unsigned long long)(L->t_done - L->t_attach) / 1000000,
                  (unsigned long long)L->faults);
    else
        hv_printk("Domain %u: lazy memory: the page source broke with %llu frames missing: the "
                  "domain is stopped (killed), its memory cannot be completed", L->d->domid,
                  (unsigned long long)L->left);
    pthread_mutex_unlock(&hv.lock);
}

static void *filler(void *arg)
{
    struct hv_lazy *L = arg;
    uint64_t bg_at = 0;

    for (;;) {
        int state = __atomic_load_n(&L->state, __ATOMIC_ACQUIRE);
        /* the background fill starts once the domain runs: until then it would only compete
         * for the CPU with the restore that is about to start it */
        bool bg = state == KEEL_LAZY_STATE_FILLING && L->kind == SRC_FILE &&
                  !__atomic_load_n(&L->d->pause_count, __ATOMIC_RELAXED);
        struct pollfd p[3] = { { L->d->uffd, POLLIN, 0 }, { L->stopfd, POLLIN, 0 },
                               { state == KEEL_LAZY_STATE_FILLING && L->kind == SRC_CHANNEL
                                 ? L->src_fd : -1, POLLIN, 0 } };
        int timeout = -1;
        if (!bg && state == KEEL_LAZY_STATE_FILLING && L->kind == SRC_FILE)
            timeout = 1;                             /* look again for the unpause */
        if (bg) {
            uint64_t now = hv_now();
            if (!bg_at)
                bg_at = L->t_attach + (uint64_t)L->bg_delay_ms * 1000000;
            timeout = now >= bg_at ? 0 : (int)((bg_at - now) / 1000000) + 1;
        }
        if (poll(p, 3, timeout) < 0 && errno != EINTR)
            break;
        if (p[1].revents) {
            uint64_t v;
            if (read(L->stopfd, &v, sizeof(v)) == sizeof(v) && v >= (1ULL << 32))
                break;                               /* stop; a smaller value: attached */
        }
        if (p[0].revents & POLLIN)
            drain_faults(L);
        if (p[0].revents & (POLLERR | POLLHUP))
            break;                                   /* the process is gone */
        if (p[2].revents) {
            int rc = take_pages(L);
            if (rc < 0) {
                pthread_mutex_lock(&L->mu);
                fail(L, rc);
                pthread_mutex_unlock(&L->mu);
            }
        }
        if (bg && hv_now() >= bg_at && !(p[0].revents & POLLIN))
            bg_step(L);
        state = __atomic_load_n(&L->state, __ATOMIC_ACQUIRE);
        if (state == KEEL_LAZY_STATE_COMPLETE || state == KEEL_LAZY_STATE_FAILED) {
            report(L);
            if (state == KEEL_LAZY_STATE_FAILED && L->d->pidfd >= 0)
                syscall(SYS_pidfd_send_signal, L->d->pidfd, SIGKILL, NULL, 0);
            break;
        }
    }
    return NULL;
}

int hv_lazy_init(struct hv_domain *d)
{
    struct hv_lazy *L = calloc(1, sizeof(*L));
    const char *delay = getenv("KEEL_LAZY_BG_DELAY_MS");

    if (!L)
        return -ENOMEM;
    L->d = d;
    L->pages = L->left = d->mem_size >> KEEL_PAGE_SHIFT;
    L->src_fd = -1;
    L->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    L->done = calloc(L->pages / 8 + 1, 1);
    L->buf = aligned_alloc(KEEL_PAGE_SIZE, (size_t)LZ_CHUNK << KEEL_PAGE_SHIFT);
    L->bg_delay_ms = delay ? (uint32_t)strtoul(delay, NULL, 10) : 0;
    L->state = KEEL_LAZY_STATE_WAITING;
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    d->lazy = L;
    if (L->stopfd < 0 || !L->done || !L->buf)
        return -ENOMEM;
    return 0;
}

int hv_lazy_start(struct hv_domain *d)
{
    struct hv_lazy *L = d->lazy;
    int rc;

    if (!L)
        return 0;
    if (d->uffd < 0) {
        klog_err("lazymem", "domain %u: lazy memory needs the stub's userfaultfd, which it "
                 "could not set up", d->domid);
        return -EOPNOTSUPP;
    }
    if ((rc = pthread_create(&L->thr, NULL, filler, L)) != 0)
        return -rc;
    L->thr_started = true;
    return 0;
}

void hv_lazy_release(struct hv_domain *d)
{
    struct hv_lazy *L = d->lazy;
    uint64_t v = 1ULL << 32;

    if (!L)
        return;
    if (L->thr_started) {
        if (L->kind == SRC_CHANNEL && L->src_fd >= 0)
            shutdown(L->src_fd, SHUT_RDWR);          /* a read in progress ends */
        if (write(L->stopfd, &v, sizeof(v)) < 0)
            klog_warn("lazymem", "domain %u: cannot stop the filler: %s", d->domid, strerror(errno));
        pthread_join(L->thr, NULL);
    }
    pthread_cond_broadcast(&L->cv);
    if (L->src_fd >= 0)
        close(L->src_fd);
    if (L->stopfd >= 0)
        close(L->stopfd);
    pthread_mutex_destroy(&L->mu);
    pthread_cond_destroy(&L->cv);
    free(L->off);
    free(L->done);
    free(L->buf);
    free(L);
    d->lazy = NULL;
}

/* The caller's descriptor number fd, copied into the core (the caller is the connection's peer,
 * as the control socket's credentials say). */
static int take_fd(struct hv_caller *c, int fd)
{
    int pidfd, mine;

    if (!c->conn || fd < 0)
        return -EBADF;
    if ((pidfd = (int)syscall(SYS_pidfd_open, hv_conn_peer_pid(c->conn), 0)) < 0)
        return -errno;
    mine = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    if (mine < 0)
        mine = -errno;
    close(pidfd);
    return mine;
}

/* ATTACH_FILE: the runs, validated (ascending, disjoint, inside guest memory and the file). */
static int build_table(struct hv_lazy *L, const struct keel_lazy_run *runs, uint32_t n, int fd)
{
    struct stat st;
    uint64_t next = 0;

    if (!(L->off = malloc(L->pages * sizeof(uint64_t))))
        return -ENOMEM;
    for (uint64_t p = 0; p < L->pages; p++)
        L->off[p] = UINT64_MAX;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    for (uint32_t i = 0; i < n; i++) {
        const struct keel_lazy_run *r = &runs[i];
        if (r->pfn < next || !r->count || r->pfn >= L->pages || r->count > L->pages - r->pfn ||
            r->count > (uint64_t)st.st_size >> KEEL_PAGE_SHIFT ||
            r->offset > (uint64_t)st.st_size - (r->count << KEEL_PAGE_SHIFT))
            return -EINVAL;
        for (uint64_t k = 0; k < r->count; k++)
            L->off[r->pfn + k] = r->offset + (k << KEEL_PAGE_SHIFT);
        next = r->pfn + r->count;
    }
    return 0;
}

/* Frames the toolstack wrote through the memory descriptor before the source came (rings, a
 * post-copy's grant table) are in: found with SEEK_DATA / SEEK_HOLE over the memfd. */
static void mark_present(struct hv_lazy *L)
{
    off_t off = 0, end = (off_t)(L->pages << KEEL_PAGE_SHIFT);

    while (off < end) {
        off_t data = lseek(L->d->mem_fd, off, SEEK_DATA), hole;
        if (data < 0 || data >= end)
            break;
        hole = lseek(L->d->mem_fd, data, SEEK_HOLE);
        if (hole < 0 || hole > end)
            hole = end;
        mark(L, (uint64_t)data >> KEEL_PAGE_SHIFT,
             (((uint64_t)hole + KEEL_PAGE_SIZE - 1) >> KEEL_PAGE_SHIFT) - ((uint64_t)data >> KEEL_PAGE_SHIFT));
        off = hole;
    }
}

static long attach(struct hv_caller *c, struct hv_lazy *L, struct keel_domctl_lazy_mem *op)
{
    uint64_t v = 1;
    int fd, rc = 0;

    if (L->state != KEEL_LAZY_STATE_WAITING)
        return -EBUSY;
    if (op->op == KEEL_LAZY_ATTACH_FILE &&
        (op->nr_runs > KEEL_LAZY_MAX_RUNS || c->in_len != op->nr_runs * sizeof(struct keel_lazy_run)))
        return -EINVAL;
    if (op->op == KEEL_LAZY_ATTACH_FILE && op->fd < 0 && !op->nr_runs)
        fd = -1;                                     /* no source: every frame left is zero */
    else if ((fd = take_fd(c, op->fd)) < 0)
        return fd;
    pthread_mutex_lock(&L->mu);
    if (op->op == KEEL_LAZY_ATTACH_FILE) {
        struct keel_lazy_run *runs = malloc(c->in_len ? c->in_len : 1);
        if (!runs)
            rc = -ENOMEM;
        else
            memcpy(runs, c->in, c->in_len);          /* the buffer is read once */
        if (rc == 0)
            rc = build_table(L, runs, op->nr_runs, fd);
        free(runs);
        L->kind = SRC_FILE;
    } else {
        struct stat st;
        int type = 0;
        socklen_t tl = sizeof(type);
        if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM)
            rc = -EINVAL;
        L->kind = SRC_CHANNEL;
    }
    if (rc < 0) {
        free(L->off);
        L->off = NULL;
        L->kind = SRC_NONE;
        if (fd >= 0)
            close(fd);
    } else {
        mark_present(L);
        L->src_fd = fd;
        L->t_attach = hv_now();
        __atomic_store_n(&L->state, KEEL_LAZY_STATE_FILLING, __ATOMIC_RELEASE);
        finish(L);                                   /* everything may be in already */
    }
    pthread_mutex_unlock(&L->mu);
    if (rc == 0 && write(L->stopfd, &v, sizeof(v)) < 0)
        rc = -errno;
    return rc;
}

long hv_domctl_lazy_mem(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_lazy_mem *op)
{
    struct hv_lazy *L = d->lazy;

    if (op->op == KEEL_LAZY_STATUS) {
        op->state = L ? (uint32_t)__atomic_load_n(&L->state, __ATOMIC_ACQUIRE) : KEEL_LAZY_STATE_NONE;
        if (L) {
            pthread_mutex_lock(&L->mu);
            op->pages_left = L->left;
            op->faults = L->faults;
            op->fill_ns = L->t_done ? L->t_done - L->t_attach : 0;
            pthread_mutex_unlock(&L->mu);
        }
        return 0;
    }
    if (op->op != KEEL_LAZY_ATTACH_FILE && op->op != KEEL_LAZY_ATTACH_CHANNEL)
        return -EINVAL;
    if (!L) {
        hv_printk("Domain %u: lazy memory source refused: the domain was not created with lazy "
                  "memory", d->domid);
        return -EINVAL;
    }
    return attach(c, L, op);
}
