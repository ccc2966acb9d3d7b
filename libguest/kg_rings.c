/* kg_rings.c - the toolstack's half of a guest's console and store rings: two reserved guest
 * frames at the top of memory (kg_build keeps its layout below them), one unbound event channel
 * port in the guest for Domain-0 per ring, ring pages zeroed; the result goes into the boot
 * information (device tree /hypervisor keel,{console,store}-{gfn,port}). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "keel/abi.h"
#include "keel/ctrl.h"
#include "keel/guest.h"
#include "kg_err.h"

/* Populate and zero the two ring frames (populate is idempotent: kg_build repeats it). */
static int kg_rings_zero(kc_handle *h, uint32_t domid, uint64_t first, char *err, size_t errlen)
{
    void *p;
    int rc;

    if ((rc = kc_populate_physmap(h, domid, first, KG_RING_PAGES)) < 0)
        return kg__fail(err, errlen, rc, "domain %u: populating ring frames %#llx..: %s",
                             domid, (unsigned long long)first, kc_error(h));
    p = kc_map_foreign(h, domid, PROT_READ | PROT_WRITE, first, KG_RING_PAGES);
    if (!p)
        return kg__fail(err, errlen, errno ? -errno : -EIO,
                             "domain %u: mapping ring frames %#llx..: %s", domid,
                             (unsigned long long)first, kc_error(h));
    memset(p, 0, (size_t)KG_RING_PAGES << KEEL_PAGE_SHIFT);
    kc_unmap_foreign(p, KG_RING_PAGES);
    return 0;
}

int kg_rings_setup(kc_handle *h, uint32_t domid, uint64_t mem_kb, struct kg_build_info *bi,
                   char *err, size_t errlen)
{
    uint64_t frames = (mem_kb << 10) >> KEEL_PAGE_SHIFT, first;
    uint32_t cport = 0, sport = 0;
    int rc;

    if (!h || !bi || frames < 2 * KG_RING_PAGES)
        return kg__fail(err, errlen, -EINVAL, "domain %u: %llu KiB is too small for the "
                             "rings", domid, (unsigned long long)mem_kb);
    first = frames - KG_RING_PAGES;
    if ((rc = kg_rings_zero(h, domid, first, err, errlen)) < 0)
        return rc;
    if ((rc = kc_evtchn_alloc_unbound(h, domid, 0, &cport)) < 0)
        return kg__fail(err, errlen, rc, "domain %u: console event channel: %s", domid,
                             kc_error(h));
    if ((rc = kc_evtchn_alloc_unbound(h, domid, 0, &sport)) < 0)
        return kg__fail(err, errlen, rc, "domain %u: store event channel: %s", domid,
                             kc_error(h));
    bi->console_gfn = first + KG_RING_CONSOLE;
    bi->console_port = cport;
    bi->store_gfn = first + KG_RING_STORE;
    bi->store_port = sport;
    return 0;
}
