/* kc_memory.c - libkeelctrl: guest memory reservations, claims and foreign mapping. */
#include "config.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kc_private.h"

static long memop(kc_handle *h, uint64_t cmd, uint32_t domid, uint64_t first, uint64_t nr)
{
    struct keel_memory_reservation r = { .first_gfn = first, .nr_frames = nr, .domid = domid };

    return kc_hypercall(h, KH_MEMORY_OP, cmd, &r, sizeof(r), NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
}

int kc_populate_physmap(kc_handle *h, uint32_t domid, uint64_t first_gfn, uint64_t nr)
{
    long rc = memop(h, KEEL_MEMOP_POPULATE_PHYSMAP, domid, first_gfn, nr);

    return rc < 0 ? (int)kc_fail(rc, "populating %llu frames at %#llx in domain %u",
                                 (unsigned long long)nr, (unsigned long long)first_gfn, domid) : 0;
}

int kc_decrease_reservation(kc_handle *h, uint32_t domid, uint64_t first_gfn, uint64_t nr)
{
    long rc = memop(h, KEEL_MEMOP_DECREASE_RESERVATION, domid, first_gfn, nr);

    return rc < 0 ? (int)kc_fail(rc, "releasing %llu frames at %#llx in domain %u",
                                 (unsigned long long)nr, (unsigned long long)first_gfn, domid) : 0;
}

long kc_current_reservation(kc_handle *h, uint32_t domid)
{
    long rc = memop(h, KEEL_MEMOP_CURRENT_RESERVATION, domid, 0, 0);

    return rc < 0 ? kc_fail(rc, "current reservation of domain %u", domid) : rc;
}

long kc_maximum_reservation(kc_handle *h, uint32_t domid)
{
    long rc = memop(h, KEEL_MEMOP_MAXIMUM_RESERVATION, domid, 0, 0);

    return rc < 0 ? kc_fail(rc, "maximum reservation of domain %u", domid) : rc;
}

int kc_domain_claim_pages(kc_handle *h, uint32_t domid, uint64_t nr_pages)
{
    long rc = memop(h, KEEL_MEMOP_CLAIM_PAGES, domid, 0, nr_pages);

    if (rc >= 0)
        return 0;
    if (nr_pages == 0)
        return (int)kc_fail(rc, "cancelling the memory claim of domain %u", domid);
    return (int)kc_fail(rc, "claiming %llu pages (%llu MiB) for domain %u%s",
                        (unsigned long long)nr_pages,
                        (unsigned long long)(nr_pages >> (20 - KEEL_PAGE_SHIFT)), domid,
                        rc == -ENOMEM ? ": the host's free, unclaimed memory is short" : "");
}

int kc_foreign_fd(kc_handle *h, uint32_t domid, int *fd, uint64_t *size)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_FOREIGN_MAP, .domain = domid };
    int fds[1], n = 0;
    long rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, fds, 1, &n);

    if (rc >= 0 && n != 1)
        rc = -EPROTO;
    if (rc < 0) {
        if (n == 1)
            close(fds[0]);
        return (int)kc_fail(rc, "mapping the memory of domain %u", domid);
    }
    *fd = fds[0];
    if (size)
        *size = dc.u.max_mem.max_memkb << 10;
    return 0;
}

void *kc_map_foreign(kc_handle *h, uint32_t domid, int prot, uint64_t first_gfn, uint64_t nr)
{
    uint64_t size;
    void *p;
    int fd;

    if (kc_foreign_fd(h, domid, &fd, &size) < 0)
        return NULL;
    if (!nr || first_gfn >= size >> KEEL_PAGE_SHIFT || nr > (size >> KEEL_PAGE_SHIFT) - first_gfn) {
        close(fd);
        kc_fail(-EINVAL, "mapping frames %#llx+%llu of domain %u (it has %llu)",
                (unsigned long long)first_gfn, (unsigned long long)nr, domid,
                (unsigned long long)(size >> KEEL_PAGE_SHIFT));
        errno = EINVAL;
        return NULL;
    }
    p = mmap(NULL, nr << KEEL_PAGE_SHIFT, prot, MAP_SHARED, fd, (off_t)(first_gfn << KEEL_PAGE_SHIFT));
    close(fd);
    if (p == MAP_FAILED) {
        kc_fail(-errno, "mapping the memory of domain %u", domid);
        return NULL;
    }
    return p;
}

int kc_unmap_foreign(void *p, uint64_t nr)
{
    return munmap(p, nr << KEEL_PAGE_SHIFT) < 0 ? -errno : 0;
}

static long shadow(kc_handle *h, uint32_t domid, uint32_t op, uint8_t *bm, uint64_t pages,
                   uint64_t *dirty)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_SHADOW_OP, .domain = domid };
    size_t got = 0;
    long rc;

    dc.u.shadow.op = op;
    dc.u.shadow.pages = pages;
    rc = kc_domctl(h, &dc, NULL, 0, bm, bm ? (size_t)((pages + 7) / 8) : 0, &got, NULL, 0, NULL);
    if (rc >= 0 && dirty)
        *dirty = dc.u.shadow.dirty_count;
    return rc;
}

int kc_logdirty_enable(kc_handle *h, uint32_t domid)
{
    long rc = shadow(h, domid, KEEL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0, NULL);

    return rc < 0 ? (int)kc_fail(rc, "enabling log-dirty mode of domain %u", domid) : 0;
}

int kc_logdirty_disable(kc_handle *h, uint32_t domid)
{
    long rc = shadow(h, domid, KEEL_SHADOW_OP_OFF, NULL, 0, NULL);

    return rc < 0 ? (int)kc_fail(rc, "disabling log-dirty mode of domain %u", domid) : 0;
}

int kc_logdirty_read(kc_handle *h, uint32_t domid, int clear, uint8_t *bitmap, uint64_t pages,
                     uint64_t *dirty)
{
    long rc;

    if ((pages + 7) / 8 > (1U << 20))
        return (int)kc_fail(-E2BIG, "a dirty bitmap of %llu pages", (unsigned long long)pages);
    rc = shadow(h, domid, clear ? KEEL_SHADOW_OP_CLEAN : KEEL_SHADOW_OP_PEEK, bitmap, pages, dirty);
    return rc < 0 ? (int)kc_fail(rc, "reading the dirty bitmap of domain %u", domid) : 0;
}
