/* memory.c - memory_op: populating and releasing guest frames of the memfd, reservations. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>

#include "hv.h"
#include "keel-flask-av.h"

static bool frame_test(struct hv_domain *d, uint64_t f)
{
    return (d->populated[f / 8] >> (f % 8)) & 1;
}

static void frame_set(struct hv_domain *d, uint64_t f, bool on)
{
    if (on)
        d->populated[f / 8] |= (uint8_t)(1u << (f % 8));
    else
        d->populated[f / 8] &= (uint8_t)~(1u << (f % 8));
}

static long populate(struct hv_domain *d, uint64_t first, uint64_t nr)
{
    uint64_t add = 0;

    for (uint64_t f = first; f < first + nr; f++)
        add += !frame_test(d, f);
    if (d->tot_pages + add > d->max_pages)
        return -ENOMEM;
    for (uint64_t f = first; f < first + nr; f++)
        frame_set(d, f, true);
    d->tot_pages += add;
    return (long)nr;
}

static long release(struct hv_domain *d, uint64_t first, uint64_t nr)
{
    uint64_t gone = 0;

    if (fallocate(d->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)(first << KEEL_PAGE_SHIFT), (off_t)(nr << KEEL_PAGE_SHIFT)) < 0)
        return -errno;
    for (uint64_t f = first; f < first + nr; f++) {
        gone += frame_test(d, f);
        frame_set(d, f, false);
    }
    d->tot_pages -= gone;
    return (long)nr;
}

long hv_do_memory_op(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    struct keel_memory_reservation r;
    struct hv_domain *d;
    uint64_t frames;
    long rc;

    if ((rc = hv_arg_read(c, arg, &r, sizeof(r))) < 0)
        return rc;
    if (!(d = hv_domain_target(c, r.domid)) || d == hv.dom0)
        return -ESRCH;
    if ((rc = hv_xsm_target(c, d, KH_MEMORY_OP, cmd)) < 0)
        return rc;
    if ((rc = hv_xsm_check(c, d, SECCLASS_MMU, cmd == KEEL_MEMOP_CURRENT_RESERVATION ||
                           cmd == KEEL_MEMOP_MAXIMUM_RESERVATION || cmd == KEEL_MEMOP_MAXIMUM_GPFN ?
                           MMU__STAT : MMU__ADJUST)) < 0)
        return rc;
    frames = d->mem_size >> KEEL_PAGE_SHIFT;
    switch (cmd) {
    case KEEL_MEMOP_CURRENT_RESERVATION:
        return (long)d->tot_pages;
    case KEEL_MEMOP_MAXIMUM_RESERVATION:
        return (long)d->max_pages;
    case KEEL_MEMOP_MAXIMUM_GPFN:
        return (long)(frames - 1);
    case KEEL_MEMOP_POPULATE_PHYSMAP:
    case KEEL_MEMOP_INCREASE_RESERVATION:
    case KEEL_MEMOP_DECREASE_RESERVATION:
        break;
    default:
        return -ENOSYS;
    }
    if (r.nr_frames == 0 || r.first_gfn >= frames || r.nr_frames > frames - r.first_gfn)
        return -EINVAL;
    if (cmd == KEEL_MEMOP_DECREASE_RESERVATION)
        return release(d, r.first_gfn, r.nr_frames);
    return populate(d, r.first_gfn, r.nr_frames);
}
