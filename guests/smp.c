/* smp - brings up every vCPU; each reports in; the boot vCPU waits for all, then powers off. */
#include "rt/keel_guest.h"

static volatile uint32_t reported, ipis;
static int ipi_port;

static void on_ipi(uint32_t port, void *data)
{
    (void)port;
    (void)data;
    __atomic_add_fetch(&ipis, 1, __ATOMIC_SEQ_CST);
}
static volatile uint8_t seen[RT_MAX_VCPUS];

static void secondary(uint32_t vcpu)
{
    seen[vcpu] = 1;
    rt_printf("vcpu %u reporting\n", vcpu);
    __atomic_add_fetch(&reported, 1, __ATOMIC_SEQ_CST);
    rt_notify((uint32_t)ipi_port);           /* an IPI to vCPU 0 */
}

int main(void)
{
    uint32_t n = rt_boot.nr_vcpus;
    uint64_t deadline;

    rt_printf("smp: bringing up %u vCPUs\n", n);
    ipi_port = rt_bind_ipi(0, on_ipi, 0);
    rt_enable_events();
    seen[0] = 1;
    reported = 1;
    for (uint32_t i = 1; i < n; i++) {
        int rc = rt_vcpu_start(i, secondary);
        if (rc < 0)
            rt_panic("smp: vcpu %u did not start (%d)", i, rc);
    }
    deadline = rt_now() + 60ULL * 1000000000ULL;
    while (__atomic_load_n(&reported, __ATOMIC_SEQ_CST) < n && rt_now() < deadline)
        hypercall(KH_SCHED_OP, KEEL_SCHEDOP_YIELD, 0);
    for (uint32_t i = 0; i < n; i++)
        if (!seen[i])
            rt_panic("smp: vcpu %u never reported", i);
    rt_printf("smp: all %u vCPUs reported in\n", n);
    for (uint64_t seen = rt_events_seen();
         __atomic_load_n(&ipis, __ATOMIC_SEQ_CST) == 0 && n > 1 && rt_now() < deadline;
         seen = rt_events_seen())
        rt_block_since(seen);
    rt_printf("smp: IPIs received on vCPU 0\n");
    return 0;
}
