/* chaos - makes many hypercalls with random families, commands and arguments (pointers into its
 * own memory full of random bytes, or anywhere at all), then reports and powers off. Calls that
 * would only hurt itself are left out (shutdown, block/poll, releasing its own memory, replacing
 * its callback or gs base, starting vCPUs). Command line: calls=N seed=S. */
#include "rt/keel_guest.h"

static uint64_t rng;
static uint8_t scratch[8192] __attribute__((aligned(16)));

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t random_pointer(void)
{
    switch (rnd() % 4) {
    case 0:
        return rnd();                                       /* anywhere */
    case 1:
        return KEEL_GUEST_BASE + rnd() % (rt_boot.mem_bytes + 8192); /* around the end of memory */
    default:
        for (unsigned i = 0; i < sizeof(scratch); i++)
            scratch[i] = (uint8_t)rnd();
        return (uint64_t)&scratch[rnd() % 4096];            /* random bytes */
    }
}

static int allowed(long op, long cmd)
{
    switch (op) {
    case KH_SCHED_OP:
        return cmd == KEEL_SCHEDOP_YIELD || cmd == KEEL_SCHEDOP_REMOTE_SHUTDOWN || cmd > 4;
    case KH_MEMORY_OP:
        return cmd != KEEL_MEMOP_DECREASE_RESERVATION;
    case KH_VCPU_OP:
        return (cmd >> 8) >= KEEL_VCPUOP_SET_PERIODIC_TIMER || (cmd >> 8) == KEEL_VCPUOP_IS_UP;
    case KH_SET_CALLBACKS:
    case KH_SET_SEGMENT_BASE:
        return 0;
    default:
        return 1;
    }
}

int main(void)
{
    static const long ops[] = { KH_MEMORY_OP, KH_SET_TIMER_OP, KH_XEN_VERSION, KH_CONSOLE_IO,
                                KH_VCPU_OP, KH_XSM_OP, KH_SCHED_OP, KH_EVENT_CHANNEL_OP,
                                KH_SYSCTL, KH_DOMCTL, 0, 99, 4096 };
    uint64_t calls = rt_arg_u64("calls", 100000), errors = 0, done = 0;

    rng = rt_arg_u64("seed", 12345) | 1;
    rt_printf("chaos: %llu random hypercalls, seed %llu\n", (unsigned long long)calls,
              (unsigned long long)rng);
    while (done < calls) {
        long op = ops[rnd() % (sizeof(ops) / sizeof(ops[0]))];
        long cmd = rnd() % 3 ? (long)(rnd() % 16) : (long)rnd();
        if (op == KH_VCPU_OP && rnd() % 2)
            cmd = (long)KEEL_VCPUOP_CMD(rnd() % 12, 0);
        if (op == KH_SET_TIMER_OP)
            cmd = 0;
        if (!allowed(op, cmd))
            continue;
        if (op == KH_CONSOLE_IO && rnd() % 8)
            continue;                                      /* keep the console readable */
        errors += hypercall(op, cmd, (const void *)random_pointer()) < 0;
        done++;
    }
    rt_printf("chaos: survived %llu calls, %llu refused\n", (unsigned long long)done,
              (unsigned long long)errors);
    return 0;
}
