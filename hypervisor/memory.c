/* memory.c - memory_op: populating and releasing guest frames of the memfd, reservations, and
 * memory claims (Xen's XENMEM_claim_pages): a claim stakes pages of the host's free memory for a
 * domain about to be built; populating consumes it; while any claim is outstanding, a domain may
 * populate beyond its own claim only from memory nobody claimed. */
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

uint64_t hv_mem_free_pages(void)
{
    uint64_t avail = hv_meminfo_kb("MemAvailable") / (KEEL_PAGE_SIZE / 1024), used = 0;

    for (uint32_t i = 1; i < HV_MAX_DOMAINS; i++)
        if (hv.domains[i] && hv.domains[i]->ready)
            used += hv.domains[i]->tot_pages;
    return avail > used ? avail - used : 0;
}

/* A domain being destroyed has dropped its claim already: it is not counted. */
uint64_t hv_claims_outstanding(void)
{
    uint64_t sum = 0;

    for (uint32_t i = 1; i < HV_MAX_DOMAINS; i++)
        if (hv.domains[i] && !hv.domains[i]->destroying)
            sum += hv.domains[i]->outstanding_pages;
    return sum;
}

static uint64_t unclaimed_pages(void)
{
    uint64_t avail = hv_mem_free_pages(), claimed = hv_claims_outstanding();

    return avail > claimed ? avail - claimed : 0;
}

/* Stake (pages > 0) or cancel (0) d's claim, with Xen's rules: one claim at a time, for a total
 * above what d has and within its maximum; the claim is the part beyond what d has. */
static long claim(struct hv_domain *d, uint64_t pages)
{
    uint64_t want, left;

    if (pages == 0) {
        d->outstanding_pages = 0;
        return 0;
    }
    if (d->outstanding_pages || pages <= d->tot_pages || pages > d->max_pages)
        return -EINVAL;
    want = pages - d->tot_pages;
    if (want > (left = unclaimed_pages())) {
        hv_printk("Domain %u: claim of %llu pages refused: %llu free and unclaimed", d->domid,
                  (unsigned long long)want, (unsigned long long)left);
        return -ENOMEM;
    }
    d->outstanding_pages = want;
    return 0;
}

static long claim_op(struct hv_caller *c, struct hv_domain *d,
                     const struct keel_memory_reservation *r)
{
    long rc;

    if (!hv_is_priv(c))                       /* Xen: XSM_PRIV, the toolstack only */
        return -EPERM;
    if ((rc = hv_xsm_check(c, d, SECCLASS_DOMAIN2, DOMAIN2__SETCLAIM)) < 0)
        return rc;
    if (r->first_gfn || r->pad)
        return -EINVAL;
    return claim(d, r->nr_frames);
}

static long populate(struct hv_domain *d, uint64_t first, uint64_t nr)
{
    uint64_t add = 0, own;

    for (uint64_t f = first; f < first + nr; f++)
        add += !frame_test(d, f);
    if (d->tot_pages + add > d->max_pages)
        return -ENOMEM;
    own = add < d->outstanding_pages ? add : d->outstanding_pages;
    /* what the domain's own claim does not cover comes from memory nobody has claimed */
    if (add > own && hv_claims_outstanding() && add - own > unclaimed_pages())
        return -ENOMEM;
    for (uint64_t f = first; f < first + nr; f++)
        frame_set(d, f, true);
    d->tot_pages += add;
    d->outstanding_pages -= own;
    return (long)nr;
}

static long release(struct hv_domain *d, uint64_t first, uint64_t nr)
{
    uint64_t gone = 0;
    long rc;

    if (d->lazy) {                        /* lazymem.c: a hole would fault again: zeros */
        if ((rc = hv_lazy_zero(d, first, nr)) < 0)
            return rc;
    } else if (fallocate(d->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                         (off_t)(first << KEEL_PAGE_SHIFT), (off_t)(nr << KEEL_PAGE_SHIFT)) < 0) {
        return -errno;
    }
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
    if (cmd == KEEL_MEMOP_CLAIM_PAGES)
        return claim_op(c, d, &r);
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
