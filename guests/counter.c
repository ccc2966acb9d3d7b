/* counter - prints an incrementing counter on a periodic timer, forever.
 * Command line: interval=MS (default 1000), limit=N (stop after N, default never). */
#include "rt/keel_guest.h"

static volatile uint64_t ticks;

static void on_timer(uint32_t port, void *data)
{
    (void)port;
    (void)data;
    ticks++;
}

int main(void)
{
    uint64_t interval = rt_arg_u64("interval", 1000), limit = rt_arg_u64("limit", 0), shown = 0;

    if (interval < 1)
        interval = 1;
    rt_bind_virq(KEEL_VIRQ_TIMER, 0, on_timer, 0);
    rt_set_periodic(interval * 1000000ULL);
    rt_enable_events();
    rt_printf("counter: domain %u counting every %llu ms\n", rt_boot.domid,
              (unsigned long long)interval);
    for (;;) {
        for (uint64_t seen = rt_events_seen(); shown == ticks; seen = rt_events_seen())
            rt_block_since(seen);
        while (shown < ticks)
            rt_printf("counter %llu\n", (unsigned long long)++shown);
        if (limit && shown >= limit)
            return 0;
    }
}
