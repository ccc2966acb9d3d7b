/* logdirty.c - log-dirty mode for live migration and Remus: the domain's guest memory is
 * registered for asynchronous userfaultfd write-protection at boot (the stub hands the core its
 * userfaultfd); enabling protects every page; one PAGEMAP_SCAN of the domain's pagemap returns
 * the pages written since and re-protects them in the same pass. Pages the core writes itself
 * (hypercall results) are recorded separately and merged. The toolstack's own writes through a
 * foreign mapping are not tracked (it does not write during a migration). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "grant.h"
#include "hv.h"
#include "klog.h"

/* Linux 6.7+ UAPI values missing from Debian 12's headers (checked at run time). */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
struct page_region { uint64_t start, end, categories; };
struct pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

static int protect(struct hv_domain *d, int on)
{
    struct uffdio_writeprotect wp = { .range = { KEEL_GUEST_BASE, d->mem_size },
                                      .mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };

    return ioctl(d->uffd, UFFDIO_WRITEPROTECT, &wp) < 0 ? -errno : 0;
}

static int enable(struct hv_domain *d)
{
    char path[64];
    int rc;

    if (d->uffd < 0)
        return -EOPNOTSUPP;
    if (d->logdirty)
        return -EBUSY;
    snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)d->pid);
    if (d->pagemap_fd < 0 && (d->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    d->core_dirty = calloc((d->mem_size >> KEEL_PAGE_SHIFT) / 8 + 1, 1);
    if (!d->core_dirty)
        return -ENOMEM;
    if ((rc = protect(d, 1)) < 0) {
        free(d->core_dirty);
        d->core_dirty = NULL;
        return rc;
    }
    d->logdirty = true;
    return 0;
}

static int disable(struct hv_domain *d)
{
    if (!d->logdirty)
        return 0;
    /* The pages stay write-protected: with asynchronous write-protection the kernel lifts it
     * on the first write to each page by itself. Lifting it here would walk the whole guest
     * under the core's lock (some 20 ms for 1 GiB), right in a migration's downtime. */
    d->logdirty = false;
    free(d->core_dirty);
    d->core_dirty = NULL;
    return 0;
}

void hv_logdirty_mark(struct hv_domain *d, uint64_t gpa, size_t len)
{
    if (!d->logdirty || !len)
        return;
    for (uint64_t p = gpa >> KEEL_PAGE_SHIFT; p <= (gpa + len - 1) >> KEEL_PAGE_SHIFT; p++)
        d->core_dirty[p / 8] |= (uint8_t)(1u << (p % 8));
}

void hv_logdirty_release(struct hv_domain *d)
{
    free(d->core_dirty);
    d->core_dirty = NULL;
    if (d->uffd >= 0)
        close(d->uffd);
    if (d->pagemap_fd >= 0)
        close(d->pagemap_fd);
    d->uffd = d->pagemap_fd = -1;
}

/* Walk the guest range with PAGEMAP_SCAN, setting bits for written pages (and re-protecting
 * them when clear is set). */
static long scan(struct hv_domain *d, int clear, uint8_t *bm, uint64_t pages, uint64_t *count)
{
    struct page_region regs[512];
    struct pm_scan_arg a;
    uint64_t end = KEEL_GUEST_BASE + (pages << KEEL_PAGE_SHIFT), start = KEEL_GUEST_BASE;

    while (start < end) {
        long n;
        memset(&a, 0, sizeof(a));
        a.size = sizeof(a);
        a.flags = clear ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : PM_SCAN_CHECK_WPASYNC;
        a.start = start;
        a.end = end;
        a.vec = (uint64_t)regs;
        a.vec_len = sizeof(regs) / sizeof(regs[0]);
        a.category_mask = PAGE_IS_WRITTEN;
        a.return_mask = PAGE_IS_WRITTEN;
        if ((n = ioctl(d->pagemap_fd, PAGEMAP_SCAN, &a)) < 0)
            return errno == EINVAL || errno == ENOTTY ? -EOPNOTSUPP : -errno;
        for (long i = 0; i < n; i++)
            for (uint64_t va = regs[i].start; va < regs[i].end; va += KEEL_PAGE_SIZE) {
                uint64_t p = (va - KEEL_GUEST_BASE) >> KEEL_PAGE_SHIFT;
                if (!(bm[p / 8] & (1u << (p % 8)))) {
                    bm[p / 8] |= (uint8_t)(1u << (p % 8));
                    (*count)++;
                }
            }
        if (a.walk_end <= start)
            break;
        start = a.walk_end;
    }
    return 0;
}

static long read_dirty(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_shadow_op *op,
                       int clear)
{
    uint64_t pages = d->mem_size >> KEEL_PAGE_SHIFT, count = 0;
    uint8_t *bm;
    long rc;

    if (!d->logdirty)
        return -EINVAL;
    if (op->pages < pages)
        pages = op->pages;
    if (!(bm = calloc(pages / 8 + 1, 1)))
        return -ENOMEM;
    hv_gnttab_dirty_mapped(d);
    for (uint64_t p = 0; p < pages; p++)
        if (d->core_dirty[p / 8] & (1u << (p % 8))) {
            bm[p / 8] |= (uint8_t)(1u << (p % 8));
            count++;
        }
    if (clear)
        memset(d->core_dirty, 0, (d->mem_size >> KEEL_PAGE_SHIFT) / 8 + 1);
    rc = scan(d, clear, bm, pages, &count);
    if (rc == 0)
        rc = hv_buf_write(c, op->bitmap, bm, (pages + 7) / 8);
    free(bm);
    op->pages = pages;
    op->dirty_count = count;
    return rc;
}

long hv_domctl_shadow_op(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_shadow_op *op)
{
    long rc;

    if (d->dead)
        return -EINVAL;
    switch (op->op) {
    case KEEL_SHADOW_OP_OFF:
        rc = disable(d);
        break;
    case KEEL_SHADOW_OP_ENABLE_LOGDIRTY:
        rc = enable(d);
        break;
    case KEEL_SHADOW_OP_CLEAN:
    case KEEL_SHADOW_OP_PEEK:
        rc = read_dirty(c, d, op, op->op == KEEL_SHADOW_OP_CLEAN);
        break;
    default:
        return -EINVAL;
    }
    op->mode = d->logdirty;
    return rc;
}
