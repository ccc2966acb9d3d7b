/* test-hv-claims - memory claims in the core (KEEL_MEMOP_CLAIM_PAGES, Xen's XENMEM_claim_pages):
 * a claim shows in the domain's info and physinfo, populating consumes it, 0 cancels it, Xen's
 * refusals (a second claim, not above the domain's pages, above its maximum, unknown domain,
 * Domain-0), ENOMEM beyond the free unclaimed memory, claimed memory kept from other domains,
 * and a destroyed domain's claim gone with it.
 * `test-hv-claims claim DOMID PAGES` instead stakes (PAGES 0: cancels) a claim on the host of
 * $KEEL_RUNDIR and prints the errno name on failure: test-xl-claims.sh uses it to see a claim
 * through xl, which stakes claims only while it creates a domain. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvhost.h"
#include "tap.h"

#define MIB_PAGES(m) ((uint64_t)(m) << (20 - KEEL_PAGE_SHIFT))

static struct hvhost host;

static uint64_t outstanding(uint32_t domid)
{
    struct keel_domctl_info in;

    return kc_domain_getinfo(host.h, domid, &in) == 0 && in.domid == domid ? in.outstanding_pages
                                                                            : (uint64_t)-1;
}

static struct keel_sysctl_physinfo phys(void)
{
    struct keel_sysctl_physinfo pi = { 0 };

    kc_physinfo(host.h, &pi);
    return pi;
}

/* A domain of 60 GiB: claims of more than the host has free fit within its maximum. */
static void big_domain(uint32_t small)
{
    struct keel_sysctl_physinfo pi = phys();
    uint64_t margin = MIB_PAGES(8);
    int big;

    if (pi.free_pages + MIB_PAGES(1024) > MIB_PAGES(61440)) {
        tap_ok(1, "# SKIP the host has more than 59 GiB free: no domain can claim beyond it");
        return;
    }
    if ((big = hvhost_create(&host, 1, 61440)) < 0)
        tap_bail("cannot create a 60 GiB domain: %d", big);
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)big, MIB_PAGES(61440)) == -ENOMEM &&
           outstanding((uint32_t)big) == 0, "a claim beyond the free memory fails with ENOMEM");
    pi = phys();
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)big, pi.free_pages - margin) == 0 &&
           phys().outstanding_pages == pi.free_pages - margin,
           "a claim of all but 8 MiB of the free memory is granted");
    tap_ok(kc_domain_claim_pages(host.h, small, kc_current_reservation(host.h, small) +
                                 MIB_PAGES(32)) == -ENOMEM,
           "another domain's claim cannot take the claimed memory");
    tap_ok(kc_populate_physmap(host.h, small, MIB_PAGES(16), MIB_PAGES(32)) == -ENOMEM,
           "a domain without a claim cannot populate claimed memory");
    tap_ok(kc_domain_destroy(host.h, (uint32_t)big) == 0 && phys().outstanding_pages == 0,
           "destroying the claiming domain drops its claim");
    tap_ok(kc_populate_physmap(host.h, small, MIB_PAGES(16), MIB_PAGES(32)) == 0,
           "then the memory can be populated again");
}

static int claim_tool(const char *domid, const char *pages)
{
    kc_handle *h;
    int rc;

    if (kc_open(&h, getenv("KEEL_RUNDIR")) < 0) {
        fprintf(stderr, "cannot reach the host of $KEEL_RUNDIR\n");
        return 2;
    }
    rc = kc_domain_claim_pages(h, (uint32_t)strtoul(domid, NULL, 0), strtoull(pages, NULL, 0));
    if (rc < 0)
        printf("%s\n", rc == -ENOMEM ? "ENOMEM" : rc == -EINVAL ? "EINVAL"
                       : rc == -ESRCH ? "ESRCH" : strerror(-rc));
    kc_close(h);
    return rc < 0;
}

int main(int argc, char **argv)
{
    struct keel_sysctl_physinfo before, during;
    uint64_t want = MIB_PAGES(64);
    int d;

    if (argc == 4 && !strcmp(argv[1], "claim"))
        return claim_tool(argv[2], argv[3]);

    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    if ((d = hvhost_create(&host, 1, 64)) < 0)
        tap_bail("cannot create a domain: %d", d);
    before = phys();
    tap_ok(before.outstanding_pages == 0 && outstanding((uint32_t)d) == 0, "no claim at first");
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)d, want) == 0, "Domain-0 claims 64 MiB");
    during = phys();
    tap_ok(outstanding((uint32_t)d) == want && during.outstanding_pages == want,
           "the claim shows in the domain's info and in physinfo");
    tap_ok(during.free_pages + want / 2 < before.free_pages,
           "free memory leaves the claim out (%llu -> %llu pages)",
           (unsigned long long)before.free_pages, (unsigned long long)during.free_pages);
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)d, want) == -EINVAL,
           "a second claim while one is outstanding is refused (EINVAL)");
    tap_ok(kc_populate_physmap(host.h, (uint32_t)d, 0, MIB_PAGES(16)) == 0 &&
           outstanding((uint32_t)d) == want - MIB_PAGES(16) &&
           phys().outstanding_pages == want - MIB_PAGES(16),
           "populating 16 MiB consumes 16 MiB of the claim");
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)d, 0) == 0 && outstanding((uint32_t)d) == 0 &&
           phys().outstanding_pages == 0, "a claim of 0 cancels it");
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)d, MIB_PAGES(16)) == -EINVAL &&
           kc_domain_claim_pages(host.h, (uint32_t)d, MIB_PAGES(8)) == -EINVAL,
           "a claim not above the domain's pages is refused (EINVAL)");
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)d, want + 1) == -EINVAL &&
           kc_domain_claim_pages(host.h, (uint32_t)d, UINT64_MAX) == -EINVAL,
           "a claim above the domain's maximum (or of 2^64-1 pages) is refused (EINVAL)");
    tap_ok(kc_domain_claim_pages(host.h, 4000, want) == -ESRCH &&
           kc_domain_claim_pages(host.h, KEEL_DOMID_INVALID, want) == -ESRCH,
           "a claim for an unknown domain fails with ESRCH");
    tap_ok(kc_domain_claim_pages(host.h, 0, want) == -ESRCH, "Domain-0 cannot be claimed for");
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)d, MIB_PAGES(48)) == 0 &&
           outstanding((uint32_t)d) == MIB_PAGES(32),
           "a claim counts only the pages beyond what the domain has (48 MiB total: 32 MiB)");
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)d, 0) == 0, "cancelled again");
    big_domain((uint32_t)d);
    tap_ok(kc_domain_claim_pages(host.h, (uint32_t)d, want) == 0 &&
           kc_domain_destroy(host.h, (uint32_t)d) == 0 && phys().outstanding_pages == 0,
           "a destroyed domain's claim is gone");
    hvhost_stop(&host);
    return tap_done();
}
