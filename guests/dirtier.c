/* dirtier - writes guest memory at a configurable rate and verifies its own checksums; the
 * workload for live migration and Remus. Every page of its working set carries (page index,
 * generation, checksum of the rest); each round rewrites `rate` pages per second and a full pass
 * re-verifies every page. It prints an unbroken tick counter so a copy can be checked for gaps.
 * Command line: size=MiB (working set, default 8), rate=pages/s (default 1000), ticks=N (stop
 * after N seconds, default never), verify=S (full verification every S seconds, default 5). */
#include "rt/keel_guest.h"

#define WORDS (KEEL_PAGE_SIZE / 8)

static uint8_t *area;
static uint64_t pages, errors;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static void write_page(uint64_t i, uint64_t gen)
{
    uint64_t *w = (uint64_t *)(area + i * KEEL_PAGE_SIZE), sum = 0;

    w[0] = i;
    w[1] = gen;
    for (uint64_t k = 3; k < WORDS; k++) {
        w[k] = mix(i * 131 + gen * 7 + k);
        sum += w[k];
    }
    w[2] = sum;
}

static int check_page(uint64_t i)
{
    const uint64_t *w = (const uint64_t *)(area + i * KEEL_PAGE_SIZE);
    uint64_t sum = 0;

    if (w[0] != i)
        return 0;
    for (uint64_t k = 3; k < WORDS; k++) {
        if (w[k] != mix(i * 131 + w[1] * 7 + k))
            return 0;
        sum += w[k];
    }
    return sum == w[2];
}

static uint64_t verify_all(void)
{
    uint64_t bad = 0;

    for (uint64_t i = 0; i < pages; i++)
        if (!check_page(i))
            bad++;
    return bad;
}

extern char _end[] __attribute__((visibility("hidden")));

int main(void)
{
    uint64_t size = rt_arg_u64("size", 8) << 20, rate = rt_arg_u64("rate", 1000);
    uint64_t limit = rt_arg_u64("ticks", 0), every = rt_arg_u64("verify", 5);
    uint64_t start = ((uint64_t)_end + (1ULL << 20) + KEEL_PAGE_SIZE - 1) & ~(KEEL_PAGE_SIZE - 1);
    uint64_t top = KEEL_GUEST_BASE + rt_boot.mem_bytes - (1ULL << 20), gen = 1, next, cursor = 0;

    if (start + size > top)
        size = top > start ? (top - start) & ~(KEEL_PAGE_SIZE - 1) : 0;
    area = (uint8_t *)start;
    pages = size / KEEL_PAGE_SIZE;
    if (!pages)
        rt_panic("dirtier: no memory for a working set");
    rt_printf("dirtier: %llu pages at %p, %llu pages/s\n", (unsigned long long)pages, area,
              (unsigned long long)rate);
    for (uint64_t i = 0; i < pages; i++)
        write_page(i, 0);
    next = rt_now();
    for (uint64_t tick = 1; !limit || tick <= limit; tick++) {
        for (int slice = 0; slice < 10; slice++) {      /* spread the writes over the second */
            for (uint64_t n = slice * rate / 10; n < (slice + 1) * rate / 10; n++) {
                write_page(cursor, gen);
                if (++cursor == pages) {
                    cursor = 0;
                    gen++;
                }
            }
            if (slice < 9)
                rt_sleep_until(next + (uint64_t)(slice + 1) * 100000000ULL);
        }
        if (every && tick % every == 0)
            errors += verify_all();
        rt_printf("dirtier: tick %llu gen %llu errors %llu\n", (unsigned long long)tick,
                  (unsigned long long)gen, (unsigned long long)errors);
        next += 1000000000ULL;
        rt_sleep_until(next);
    }
    errors += verify_all();
    rt_printf("dirtier: done, %llu errors\n", (unsigned long long)errors);
    return errors ? 1 : 0;
}
