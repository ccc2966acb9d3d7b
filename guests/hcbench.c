/* hcbench - measures the hypercall round trip from inside a guest: batches of null hypercalls
 * (xen_version), timed with the TSC; prints the median and 99th percentile per call in ns.
 * Command line: batches=N (default 200), per=N calls per batch (default 100). */
#include "rt/keel_guest.h"

static uint64_t samples[2000];

static void sort(uint64_t *a, uint64_t n)
{
    for (uint64_t i = 1; i < n; i++)
        for (uint64_t j = i; j > 0 && a[j - 1] > a[j]; j--) {
            uint64_t t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
}

int main(void)
{
    uint64_t batches = rt_arg_u64("batches", 200), per = rt_arg_u64("per", 100);

    if (batches > 2000)
        batches = 2000;
    if (!per)
        per = 1;
    for (int w = 0; w < 1000; w++)
        hypercall(KH_XEN_VERSION, KEEL_VERSION_VERSION, 0);
    for (uint64_t b = 0; b < batches; b++) {
        uint64_t t0 = rt_now();
        for (uint64_t i = 0; i < per; i++)
            hypercall(KH_XEN_VERSION, KEEL_VERSION_VERSION, 0);
        samples[b] = (rt_now() - t0) * 1000 / per;     /* picoseconds per call */
    }
    sort(samples, batches);
    rt_printf("hcbench: calls %llu median_ps %llu p99_ps %llu min_ps %llu max_ps %llu\n",
              (unsigned long long)(batches * per), (unsigned long long)samples[batches / 2],
              (unsigned long long)samples[batches * 99 / 100], (unsigned long long)samples[0],
              (unsigned long long)samples[batches - 1]);
    return 0;
}
