/* hello - prints a greeting with what it knows about itself, then powers off. */
#include "rt/keel_guest.h"

int main(void)
{
    rt_printf("Hello from Keel! I am domain %u with %u vCPU(s) and %llu MiB of memory.\n",
              rt_boot.domid, rt_boot.nr_vcpus, (unsigned long long)(rt_boot.mem_bytes >> 20));
    rt_printf("command line: %s\n", rt_boot.cmdline);
    rt_printf("system time %llu ns; goodbye.\n", (unsigned long long)rt_now());
    return 0;
}
