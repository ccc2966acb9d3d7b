/* test-store-rings.c - kg_rings_setup on a real core: the two ring frames are the last two
 * pages of the guest's memory, zeroed, kept out of kg_build's layout; the ports are unbound
 * ports of the guest for Domain-0 that the toolstack can bind; the guest still boots. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "hvhost.h"
#include "keel/abi.h"
#include "tap.h"

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void check_ports(struct hvhost *host, uint32_t domid, const struct kg_build_info *bi)
{
    uint32_t local = 0, again = 0;

    tap_ok(kc_evtchn_bind_interdomain(host->h, domid, bi->store_port, &local) == 0,
           "the store port is unbound in the guest for Domain-0: Domain-0 binds it");
    tap_ok(kc_evtchn_bind_interdomain(host->h, domid, bi->store_port, &again) < 0,
           "once bound it cannot be bound again");
    kc_evtchn_close(host->h, local);
    tap_ok(bi->console_port != bi->store_port, "console and store ports differ");
    local = 0;
    tap_ok(kc_evtchn_bind_interdomain(host->h, domid, bi->console_port, &local) == 0 &&
           kc_evtchn_fd(host->h, local) >= 0, "Domain-0 binds the console port and gets an fd");
    kc_evtchn_close(host->h, local);
}

int main(void)
{
    struct hvhost host;
    struct kg_build_info bi = { .kernel = hvhost_guest("hello"), .mem_kb = 4 << 10,
                                .nr_vcpus = 1, .max_vcpus = 1 };
    struct kg_build_result res;
    char err[512] = "";
    uint8_t *p;
    int domid;

    if (hvhost_start(&host) < 0)
        tap_bail("cannot start keel-hv");
    domid = hvhost_create(&host, 1, 4);
    tap_ok(domid > 0, "create a 4 MiB domain");
    tap_ok(kg_rings_setup(host.h, (uint32_t)domid, 4 << 10, &bi, err, sizeof(err)) == 0,
           "kg_rings_setup succeeds (%s)", err);
    tap_ok(bi.console_gfn == 1022 && bi.store_gfn == 1023,
           "console and store rings are the last two frames (%llu, %llu)",
           (unsigned long long)bi.console_gfn, (unsigned long long)bi.store_gfn);
    check_ports(&host, (uint32_t)domid, &bi);
    p = kc_map_foreign(host.h, (uint32_t)domid, PROT_READ | PROT_WRITE, bi.console_gfn, 2);
    tap_ok(p && all_zero(p, 2 * KEEL_PAGE_SIZE), "both ring pages are mapped and zero");
    tap_ok(kg_build(host.h, (uint32_t)domid, &bi, &res, err, sizeof(err)) == 0,
           "kg_build succeeds with the rings reserved (%s)", err);
    tap_ok(res.fdt_gpa + KG_FDT_MAX <= bi.console_gfn << KEEL_PAGE_SHIFT,
           "the builder placed nothing in the ring frames");
    tap_ok(p && all_zero(p, 2 * KEEL_PAGE_SIZE), "ring pages are still zero after the build");
    if (p)
        kc_unmap_foreign(p, 2);
    tap_ok(kc_domain_unpause(host.h, (uint32_t)domid) == 0 &&
           hvhost_wait_console(&host, (uint32_t)domid, "Hello", 5000),
           "the guest boots and prints with rings in its device tree");
    memset(&bi, 0, sizeof(bi));
    tap_ok(kg_rings_setup(host.h, (uint32_t)domid, 4, &bi, err, sizeof(err)) == -EINVAL &&
           bi.store_gfn == 0, "a memory too small for the rings is refused");
    kc_domain_destroy(host.h, (uint32_t)domid);
    domid = hvhost_boot(&host, "xsguest", "exit=1", 1, 4);
    tap_ok(domid > 0 && hvhost_wait_console(&host, (uint32_t)domid, "no store ring (-2)", 5000),
           "a guest built without rings finds none in its device tree (and says so)");
    if (domid > 0)
        kc_domain_destroy(host.h, (uint32_t)domid);
    hvhost_stop(&host);
    return tap_done();
}
