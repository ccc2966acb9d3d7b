/* spin - burns its vCPU forever (for scheduler tests); prints a heartbeat every 2^28 loops. */
#include "rt/keel_guest.h"

int main(void)
{
    volatile uint64_t n = 0;

    rt_printf("spin: domain %u spinning\n", rt_boot.domid);
    for (;;)
        if ((++n & ((1ULL << 28) - 1)) == 0)
            rt_printf("spin: %llu\n", (unsigned long long)n);
}
