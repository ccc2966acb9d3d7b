/* time.c - system time and the TSC scale published to guests in their shared page. */
#include "config.h"

#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "hv.h"

static uint64_t mono_ns(clockid_t clk)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t hv_now(void)
{
    return mono_ns(CLOCK_MONOTONIC) - hv.boot_mono_ns;
}

uint64_t hv_guest_now(const struct hv_domain *d)
{
    return (uint64_t)((int64_t)hv_now() + d->time_offset);
}

/* Measure the TSC against CLOCK_MONOTONIC and derive mul/shift as the guest formula needs. */
int hv_time_init(void)
{
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    uint64_t t0, t1, c0, c1;
    double ratio;
    int shift = 0;

    hv.boot_mono_ns = mono_ns(CLOCK_MONOTONIC);
    t0 = mono_ns(CLOCK_MONOTONIC);
    c0 = __rdtsc();
    nanosleep(&pause, NULL);
    t1 = mono_ns(CLOCK_MONOTONIC);
    c1 = __rdtsc();
    if (c1 <= c0 || t1 <= t0)
        return -1;
    hv.tsc_hz = (uint64_t)((double)(c1 - c0) * 1e9 / (double)(t1 - t0));
    ratio = 1e9 / (double)hv.tsc_hz;
    while (ratio >= 1.0) {
        ratio /= 2;
        shift++;
    }
    while (ratio < 0.5) {
        ratio *= 2;
        shift--;
    }
    hv.tsc_mul = (uint32_t)(ratio * 4294967296.0);
    hv.tsc_shift = (int8_t)shift;
    hv.spin_cycles = hv.tsc_hz / 1000000 * 30;    /* 30 us */
    hv.runner_spin_ns = 50000;                     /* 50 us */
    return 0;
}

/* Write a fresh time record for every vCPU (version odd while writing) and the wall clock. */
void hv_time_publish(struct hv_domain *d)
{
    struct keel_shared_info *si = d->shared;
    uint64_t tsc = __rdtsc(), now = hv_guest_now(d);
    uint64_t wall = mono_ns(CLOCK_REALTIME) - now;

    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct keel_vcpu_time_info *t = &si->vcpu_info[i].time;
        uint32_t ver = __atomic_load_n(&t->version, __ATOMIC_RELAXED);
        __atomic_store_n(&t->version, (ver | 1) + 0, __ATOMIC_RELEASE);
        t->tsc_timestamp = tsc;
        t->system_time = now;
        t->tsc_to_system_mul = hv.tsc_mul;
        t->tsc_shift = hv.tsc_shift;
        __atomic_store_n(&t->version, (ver | 1) + 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&si->wc_version, si->wc_version | 1, __ATOMIC_RELEASE);
    si->wc_sec = (uint32_t)(wall / 1000000000ULL);
    si->wc_sec_hi = (uint32_t)((wall / 1000000000ULL) >> 32);
    si->wc_nsec = (uint32_t)(wall % 1000000000ULL);
    __atomic_store_n(&si->wc_version, (si->wc_version | 1) + 1, __ATOMIC_RELEASE);
}
