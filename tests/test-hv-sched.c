/* test-hv-sched - credit weights and caps have real effect: two spinning domains pinned to one
 * CPU with weights 256 and 512 share it 1:2 (within 10 %); a cap limits a domain's CPU use;
 * parameters and pinning are validated and read back. */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

static struct hvhost host;

static uint64_t cpu_ns(int domid)
{
    struct keel_domctl_info info;

    return kc_domain_getinfo(host.h, (uint32_t)domid, &info) == 0 ? info.cpu_time_ns : 0;
}

static int pin0(int domid)
{
    uint64_t one[KEEL_CPUMAP_WORDS] = { 1, 0 };

    return kc_vcpu_setaffinity(host.h, (uint32_t)domid, 0, one, NULL);
}

static void test_weights(void)
{
    int a = hvhost_boot(&host, "spin", "", 1, 16), b = hvhost_boot(&host, "spin", "", 1, 16);
    uint64_t a0, b0, a1, b1;
    uint64_t hard[KEEL_CPUMAP_WORDS];
    uint32_t w, c;
    double ratio;

    tap_ok(a > 0 && b > 0, "two spinning domains");
    tap_is_int(pin0(a), 0, "pin the first to CPU 0");
    tap_is_int(pin0(b), 0, "pin the second to CPU 0");
    tap_ok(kc_vcpu_getaffinity(host.h, (uint32_t)a, 0, hard, NULL) == 0 && hard[0] == 1,
           "the pinning reads back");
    tap_is_int(kc_sched_credit_set(host.h, (uint32_t)a, 256, 0), 0, "weight 256 on the first");
    tap_is_int(kc_sched_credit_set(host.h, (uint32_t)b, 512, 0), 0, "weight 512 on the second");
    tap_ok(kc_sched_credit_get(host.h, (uint32_t)b, &w, &c) == 0 && w == 512 && c == 0,
           "the weight reads back");
    usleep(500000);
    a0 = cpu_ns(a);
    b0 = cpu_ns(b);
    sleep(4);
    a1 = cpu_ns(a);
    b1 = cpu_ns(b);
    ratio = a1 > a0 ? (double)(b1 - b0) / (double)(a1 - a0) : 0;
    tap_diag("cpu time over 4 s: weight 256 %.2f s, weight 512 %.2f s, ratio %.3f",
             (a1 - a0) / 1e9, (b1 - b0) / 1e9, ratio);
    tap_ok(ratio > 1.8 && ratio < 2.2, "weights 256:512 split one CPU 1:2 within 10%% (%.3f)", ratio);
    kc_domain_destroy(host.h, (uint32_t)a);
    kc_domain_destroy(host.h, (uint32_t)b);
}

static void test_cap_and_errors(void)
{
    int a = hvhost_boot(&host, "spin", "", 1, 16);
    uint64_t none[KEEL_CPUMAP_WORDS] = { 0, 0 }, t0, t1;
    double share;

    tap_is_int(kc_sched_credit_set(host.h, (uint32_t)a, 256, 25), 0, "cap at 25 percent of a CPU");
    usleep(300000);
    t0 = cpu_ns(a);
    sleep(2);
    t1 = cpu_ns(a);
    share = (double)(t1 - t0) / 2e9;
    tap_diag("capped domain used %.1f%% of a CPU", share * 100);
    tap_ok(share > 0.15 && share < 0.30, "a 25%% cap holds (%.1f%%)", share * 100);
    tap_is_int(kc_sched_credit_set(host.h, (uint32_t)a, 0, 0), -EINVAL, "weight 0 is refused");
    tap_is_int(kc_sched_credit_set(host.h, (uint32_t)a, 70000, 0), -EINVAL, "weight 70000 is refused");
    tap_is_int(kc_sched_credit_set(host.h, (uint32_t)a, 256, 500), -EINVAL,
               "a cap above 100 percent per vCPU is refused");
    tap_is_int(kc_vcpu_setaffinity(host.h, (uint32_t)a, 0, none, NULL), -EINVAL,
               "an empty CPU map is refused");
    tap_is_int(kc_vcpu_setaffinity(host.h, (uint32_t)a, 5, NULL, NULL), -ENOENT,
               "pinning a missing vCPU is refused");
    kc_domain_destroy(host.h, (uint32_t)a);
}

int main(void)
{
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    test_weights();
    test_cap_and_errors();
    hvhost_stop(&host);
    return tap_done();
}
