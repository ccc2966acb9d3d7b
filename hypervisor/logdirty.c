/* logdirty.c - log-dirty mode for live migration and Remus (KEEL_DOMCTL_SHADOW_OP): enable,
 * read (and clear) the dirty bitmap, disable, dispatched to the domain's engine (logdirty.h:
 * "async" on PAGEMAP_SCAN, "sync" on write-protect faults). Common to both: pages the core writes
 * itself (hypercall results, grant copies, writable grant mappings) are recorded here and merged
 * into every read. The toolstack's own writes through a foreign mapping are not tracked (it does
 * not write during a migration). */
#include "config.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "grant.h"
#include "hv.h"
#include "klog.h"
#include "logdirty.h"

/* Write-protect (on) or release (off) guest frames [first, first + n). A release wakes the
 * vCPUs waiting on those frames unless dontwake. */
int hv_ld_protect(struct hv_domain *d, uint64_t first, uint64_t n, int on, int dontwake)
{
    struct uffdio_writeprotect wp = {
        .range = { KEEL_GUEST_BASE + (first << KEEL_PAGE_SHIFT), n << KEEL_PAGE_SHIFT },
        .mode = (on ? UFFDIO_WRITEPROTECT_MODE_WP : 0) |
                (dontwake ? UFFDIO_WRITEPROTECT_MODE_DONTWAKE : 0) };
    int tries = 0;

    while (ioctl(d->uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
        if (errno != EAGAIN || ++tries > 1000)
            return -errno;
    }
    return 0;
}

static int enable(struct hv_domain *d)
{
    int rc;

    if (d->uffd < 0 || d->ld_engine == HV_LD_NONE)
        return -EOPNOTSUPP;
    if (d->logdirty)
        return -EBUSY;
    if (hv_lazy_incomplete(d)) {         /* lazymem.c: missing faults share the userfaultfd */
        hv_printk("Domain %u: log-dirty mode refused: its memory is still coming in (lazy "
                  "restore or post-copy migration; retry once complete)", d->domid);
        return -EBUSY;
    }
    if (hv_mem_access_restricted(d)) {   /* mem_access.c: one user of protections at a time */
        hv_printk("Domain %u: log-dirty mode refused: vm_event memory access restrictions are "
                  "in place (lift them or end monitoring first)", d->domid);
        return -EBUSY;
    }
    d->core_dirty = calloc((d->mem_size >> KEEL_PAGE_SHIFT) / 8 + 1, 1);
    if (!d->core_dirty)
        return -ENOMEM;
    rc = d->ld_engine == HV_LD_SYNC ? hv_ld_sync_enable(d) : hv_ld_async_enable(d);
    if (rc < 0) {
        klog_warn("logdirty", "domain %u: enabling log-dirty mode (%s engine): %s", d->domid,
                  hv_logdirty_engine_name(d->ld_engine), strerror(-rc));
        free(d->core_dirty);
        d->core_dirty = NULL;
        return rc;
    }
    d->logdirty = true;
    return 0;
}

static int disable(struct hv_domain *d)
{
    int rc = 0;

    if (!d->logdirty)
        return 0;
    if (d->ld_engine == HV_LD_SYNC)
        rc = hv_ld_sync_disable(d);
    d->logdirty = false;
    free(d->core_dirty);
    d->core_dirty = NULL;
    return rc;
}

void hv_logdirty_mark(struct hv_domain *d, uint64_t gpa, size_t len)
{
    if (!d->logdirty || !len)
        return;
    for (uint64_t p = gpa >> KEEL_PAGE_SHIFT; p <= (gpa + len - 1) >> KEEL_PAGE_SHIFT; p++)
        d->core_dirty[p / 8] |= (uint8_t)(1u << (p % 8));
}

/* The domain is going: no fault is served any more, its process is dead or being killed. */
void hv_logdirty_release(struct hv_domain *d)
{
    hv_ld_sync_release(d);
    hv_ld_async_release(d);
    free(d->core_dirty);
    d->core_dirty = NULL;
    d->logdirty = false;
    if (d->uffd >= 0)
        close(d->uffd);
    d->uffd = -1;
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
    rc = d->ld_engine == HV_LD_SYNC ? hv_ld_sync_scan(d, clear, bm, pages, &count)
                                    : hv_ld_async_scan(d, clear, bm, pages, &count);
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
