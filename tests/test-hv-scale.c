/* test-hv-scale - a 128-vCPU domain where every vCPU reports in, and 200 domains of 16 MiB
 * running at once, destroyed with nothing left behind. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "hvhost.h"
#include "tap.h"

#define NDOMS 200

static struct hvhost host;

static void test_128_vcpus(void)
{
    int domid = hvhost_boot(&host, "smp", "", KEEL_MAX_VCPUS, 32);

    tap_ok(domid > 0, "a 128-vCPU domain is created");
    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "all 128 vCPUs reported in", 60000),
           "every one of 128 vCPUs reports in");
    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "smp: IPIs received on vCPU 0", 10000),
           "secondary vCPUs reach vCPU 0 with IPIs over an IPI event channel");
    tap_is_int(hvhost_wait_shutdown(&host, (uint32_t)domid, 10000), KEEL_SHUTDOWN_POWEROFF,
               "the 128-vCPU domain powers off");
    kc_domain_destroy(host.h, (uint32_t)domid);
}

static void test_200_domains(void)
{
    static int doms[NDOMS];
    static struct keel_domctl_info info[NDOMS + 8];
    int ok = 0, counting = 0, n, destroyed = 0;
    uint64_t t0 = hvhost_now_ns();

    for (int i = 0; i < NDOMS; i++) {
        doms[i] = hvhost_boot(&host, "counter", "interval=500", 1, 16);
        ok += doms[i] > 0;
    }
    tap_is_int(ok, NDOMS, "200 domains of 16 MiB are created");
    tap_diag("created 200 domains in %llu ms", (unsigned long long)((hvhost_now_ns() - t0) / 1000000));
    for (int i = 0; i < NDOMS; i++)
        counting += doms[i] > 0 && hvhost_wait_console(&host, (uint32_t)doms[i], "counter 1", 10000);
    tap_is_int(counting, NDOMS, "all 200 run at once (each has counted)");
    n = kc_domain_list(host.h, 1, info, NDOMS + 8);
    tap_is_int(n, NDOMS, "the domain list shows 200 domains");
    tap_is_int(hvhost_count_children(host.pid), NDOMS, "one process per domain");
    t0 = hvhost_now_ns();
    for (int i = 0; i < NDOMS; i++)
        destroyed += doms[i] > 0 && kc_domain_destroy(host.h, (uint32_t)doms[i]) == 0;
    tap_is_int(destroyed, NDOMS, "all 200 are destroyed");
    tap_diag("destroyed 200 domains in %llu ms", (unsigned long long)((hvhost_now_ns() - t0) / 1000000));
    tap_is_int(hvhost_count_children(host.pid), 0, "no domain process is left");
}

int main(void)
{
    int fds0;

    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    test_128_vcpus();
    fds0 = hvhost_count_fds(host.pid);   /* after a first domain: the runtime has warmed up */
    test_200_domains();
    tap_is_int(hvhost_count_fds(host.pid), fds0, "no descriptor is left in the core");
    tap_is_int(hvhost_count_fds_to(host.pid, "memfd:keel"), 0, "no domain memfd is left in the core");
    hvhost_stop(&host);
    return tap_done();
}
