/* dirtier - writes guest memory at a configurable rate and verifies its own checksums; the
 * workload for live migration and Remus. Every page of its working set carries (page index,
 * generation, checksum of the rest); each round rewrites `rate` pages per second and a full pass
 * re-verifies every page. It prints an unbroken tick counter so a copy can be checked for gaps.
 * Every vCPU takes part: vCPU v owns the v-th slice of the working set and rewrites it in order
 * (rate split between the vCPUs), so a page before the slice's cursor must carry the slice's
 * generation and a page after it the one before: a stale page (a write lost by a copy) fails
 * the verification even though its own checksum is right.
 * Command line: size=MiB (working set, default 8), rate=pages/s (default 1000), ticks=N (stop
 * after N seconds, default never), verify=S (full verification every S seconds, default 5). */
#include "rt/keel_guest.h"

#define WORDS (KEEL_PAGE_SIZE / 8)

static uint8_t *area;
static uint64_t pages, every, limit, rate_per_vcpu;
static uint32_t nvcpus;
static volatile uint32_t finished;       /* secondaries done with their ticks */

struct slice {                           /* one vCPU's part of the working set */
    uint64_t first, count, cursor, gen, errors;
};
static struct slice slices[RT_MAX_VCPUS];

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

/* A slice is right when every page checks and carries the generation its position says. */
static uint64_t verify_slice(const struct slice *sl)
{
    uint64_t bad = 0;

    for (uint64_t j = 0; j < sl->count; j++) {
        const uint64_t *w = (const uint64_t *)(area + (sl->first + j) * KEEL_PAGE_SIZE);
        if (!check_page(sl->first + j) || w[1] != (j < sl->cursor ? sl->gen : sl->gen - 1))
            bad++;
    }
    return bad;
}

static uint64_t total_errors(void)
{
    uint64_t e = 0;

    for (uint32_t v = 0; v < nvcpus; v++)
        e += __atomic_load_n(&slices[v].errors, __ATOMIC_RELAXED);
    return e;
}

/* One second of a vCPU's writes, spread over ten slices, then its verification if due. */
static void run_tick(struct slice *sl, uint64_t tick, uint64_t next)
{
    for (int part = 0; part < 10; part++) {
        for (uint64_t n = part * rate_per_vcpu / 10; n < (part + 1) * rate_per_vcpu / 10; n++) {
            write_page(sl->first + sl->cursor, sl->gen);
            if (++sl->cursor == sl->count) {
                sl->cursor = 0;
                sl->gen++;
            }
        }
        if (part < 9)
            rt_sleep_until(next + (uint64_t)(part + 1) * 100000000ULL);
    }
    if (every && tick % every == 0)
        __atomic_add_fetch(&sl->errors, verify_slice(sl), __ATOMIC_RELAXED);
}

static void secondary(uint32_t vcpu)
{
    uint64_t next = rt_now();

    rt_enable_events();
    for (uint64_t tick = 1; !limit || tick <= limit; tick++) {
        run_tick(&slices[vcpu], tick, next);
        next += 1000000000ULL;
        rt_sleep_until(next);
    }
    __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
}

extern char _end[] __attribute__((visibility("hidden")));

int main(void)
{
    uint64_t size = rt_arg_u64("size", 8) << 20, rate = rt_arg_u64("rate", 1000);
    uint64_t start = ((uint64_t)_end + (1ULL << 20) + KEEL_PAGE_SIZE - 1) & ~(KEEL_PAGE_SIZE - 1);
    uint64_t top = KEEL_GUEST_BASE + rt_boot.mem_bytes - (1ULL << 20), next;

    limit = rt_arg_u64("ticks", 0);
    every = rt_arg_u64("verify", 5);
    if (start + size > top)
        size = top > start ? (top - start) & ~(KEEL_PAGE_SIZE - 1) : 0;
    area = (uint8_t *)start;
    pages = size / KEEL_PAGE_SIZE;
    nvcpus = rt_boot.nr_vcpus;
    if (nvcpus > pages)
        nvcpus = (uint32_t)pages;
    if (!pages)
        rt_panic("dirtier: no memory for a working set");
    rate_per_vcpu = rate / nvcpus ? rate / nvcpus : 1;
    rt_printf("dirtier: %llu pages at %p, %llu pages/s, %u vCPUs\n", (unsigned long long)pages,
              area, (unsigned long long)rate, nvcpus);
    for (uint64_t i = 0; i < pages; i++)
        write_page(i, 0);
    for (uint32_t v = 0; v < nvcpus; v++) {
        slices[v].first = pages * v / nvcpus;
        slices[v].count = pages * (v + 1) / nvcpus - slices[v].first;
        slices[v].gen = 1;
    }
    for (uint32_t v = 1; v < nvcpus; v++)
        if (rt_vcpu_start(v, secondary) < 0)
            rt_panic("dirtier: vcpu %u did not start", v);
    next = rt_now();
    for (uint64_t tick = 1; !limit || tick <= limit; tick++) {
        run_tick(&slices[0], tick, next);
        rt_printf("dirtier: tick %llu gen %llu errors %llu\n", (unsigned long long)tick,
                  (unsigned long long)slices[0].gen, (unsigned long long)total_errors());
        next += 1000000000ULL;
        rt_sleep_until(next);
    }
    while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < nvcpus - 1)
        rt_sleep_until(rt_now() + 10000000ULL);
    for (uint32_t v = 0; v < nvcpus; v++)
        slices[v].errors += verify_slice(&slices[v]);
    rt_printf("dirtier: done, %llu errors\n", (unsigned long long)total_errors());
    return total_errors() ? 1 : 0;
}
