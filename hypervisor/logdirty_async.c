/* logdirty_async.c - the "async" log-dirty engine (Linux 6.7+): the stub registers guest memory
 * for asynchronous userfaultfd write-protection, so the kernel itself lifts the protection on a
 * page's first write and marks it written; enabling protects every page; one PAGEMAP_SCAN of the
 * stub's pagemap returns the pages written since and re-protects them in the same pass. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hv.h"
#include "logdirty.h"

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

/* Is PAGEMAP_SCAN there? An empty walk of our own pagemap answers 0 where it is. */
int hv_ld_async_probe(void)
{
    struct pm_scan_arg a;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return -errno;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.start = a.end = 0x10000;
    rc = ioctl(fd, PAGEMAP_SCAN, &a) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int hv_ld_async_enable(struct hv_domain *d)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)d->pid);
    if (d->pagemap_fd < 0 && (d->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    return hv_ld_protect(d, 0, d->mem_size >> KEEL_PAGE_SHIFT, 1, 0);
}

/* Walk the guest range with PAGEMAP_SCAN, setting bits for written pages (and re-protecting
 * them when clear is set). The protection is never lifted by disabling: the kernel lifts it on
 * the first write to each page by itself, and walking the whole guest under the core's lock
 * (some 20 ms for 1 GiB) would sit right in a migration's downtime. */
long hv_ld_async_scan(struct hv_domain *d, int clear, uint8_t *bm, uint64_t pages, uint64_t *count)
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
                if (p < pages && !(bm[p / 8] & (1u << (p % 8)))) {
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

void hv_ld_async_release(struct hv_domain *d)
{
    if (d->pagemap_fd >= 0)
        close(d->pagemap_fd);
    d->pagemap_fd = -1;
}
