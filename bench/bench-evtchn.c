/* bench-evtchn - event-channel round trip between a guest and a Domain-0 process, against the
 * null hypercall measured in the same run.
 *
 * A `pingpong` guest in the server role answers each event on a port that the toolstack
 * allocated in it for Domain-0 (as the store and console rings are set up); this process binds
 * that port and times notify -> answer, one round at a time, in three ways:
 *   sleep path: kc_evtchn_notify, poll() on the port's eventfd, kc_evtchn_ack (how an event loop
 *               such as keel-stored's waits: nobody on the Domain-0 side spins);
 *   wait path:  kc_evtchn_notify, kc_evtchn_wait (spins briefly, then sleeps on the eventfds);
 *   wait-only:  the same on a handle set with kc_evtchn_set_wait_only (the guest's watch
 *               stays set between waits).
 * The guest polls before it blocks (evpoll_us, default the runtime's 50). Prints median,
 * p10/p90/p99 of each, the null hypercall round trip from inside a guest (`hcbench`), the
 * ratios and the load average before and after. KEEL_BENCH_PIN=1 pins this process to CPU 0
 * and the guest's vCPU to CPU 1 (as a Xen host gives Domain-0 its own CPUs).
 * Usage: bench-evtchn [ROUNDS [EVPOLL_US]]  (run from the build tree, as root) */
#include "config.h"

#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/hvhost.h"

static void loadavg(const char *when)
{
    char buf[64] = "?";
    FILE *f = fopen("/proc/loadavg", "r");

    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            snprintf(buf, sizeof(buf), "?\n");
        fclose(f);
    }
    printf("load average %s: %s", when, buf);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double stats(const char *name, uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_u64);
    printf("%-44s median %8.3f us  p10 %8.3f  p90 %8.3f  p99 %8.3f  (n=%d)\n", name,
           v[n / 2] / 1000.0, v[n / 10] / 1000.0, v[n * 9 / 10] / 1000.0,
           v[n * 99 / 100] / 1000.0, n);
    return v[n / 2] / 1000.0;
}

/* Null hypercall round trip from inside a guest, in microseconds (hcbench's median). */
static double null_hypercall(struct hvhost *host)
{
    int domid = hvhost_boot(host, "hcbench", "batches=200 per=200", 1, 16);
    const char *out, *p;
    double med = 0;

    if (domid < 0 || !hvhost_wait_console(host, (uint32_t)domid, "hcbench: calls", 60000)) {
        printf("null hypercall benchmark failed\n");
        return 0;
    }
    out = hvhost_console(host, (uint32_t)domid);
    if ((p = strstr(out, "median_ps ")))
        med = strtoull(p + 10, NULL, 10) / 1e6;
    printf("%-44s median %8.3f us  (hcbench, 40000 calls)\n", "null hypercall (xen_version)", med);
    kc_domain_destroy(host->h, (uint32_t)domid);
    return med;
}

static int wait_sleep(kc_handle *h, uint32_t port)
{
    struct pollfd p = { kc_evtchn_fd(h, port), POLLIN, 0 };

    for (;;) {
        if (poll(&p, 1, 5000) != 1)
            return -1;
        if (kc_evtchn_ack(h, port) > 0)
            return 0;
    }
}

static int wait_fast(kc_handle *h, uint32_t port)
{
    uint32_t got[4];
    int n;

    do {
        n = kc_evtchn_wait(h, &port, 1, got, 4, 5000);
    } while (n == 0);
    return n > 0 ? 0 : -1;
}

/* rounds notify -> answer round trips; per-round times in ns into v. */
static int pingpong(kc_handle *h, uint32_t port, int rounds, uint64_t *v, int fast)
{
    for (int i = 0; i < rounds; i++) {
        uint64_t t0 = hvhost_now_ns();
        if (kc_evtchn_notify(h, port) < 0 || (fast ? wait_fast(h, port) : wait_sleep(h, port)) < 0) {
            printf("round %d failed: %s\n", i, kc_error(h));
            return -1;
        }
        v[i] = hvhost_now_ns() - t0;
    }
    return 0;
}

/* KEEL_BENCH_PIN=1: this process on CPU 0, the guest's vCPU 0 on CPU 1. */
static void pin(kc_handle *h, uint32_t domid)
{
    uint64_t hard[KEEL_CPUMAP_WORDS] = { 2 }, soft[KEEL_CPUMAP_WORDS] = { 2 };
    const char *e = getenv("KEEL_BENCH_PIN");
    cpu_set_t set;

    if (!e || strcmp(e, "1"))
        return;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0 ||
        kc_vcpu_setaffinity(h, domid, 0, hard, soft) < 0)
        printf("pinning failed: %s\n", kc_error(h));
    else
        printf("pinned: this process on CPU 0, the guest's vCPU on CPU 1\n");
}

/* Warm up, then time rounds of one path; its median (us), 0 if a round failed. */
static double measure(kc_handle *h, uint32_t port, int rounds, uint64_t *v, int fast,
                      const char *name)
{
    if (pingpong(h, port, 100, v, fast) < 0 || pingpong(h, port, rounds, v, fast) < 0)
        return 0;
    return stats(name, v, rounds);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20000, domid;
    long evpoll = argc > 2 ? atol(argv[2]) : -1;
    uint64_t *v = calloc((size_t)(rounds > 100 ? rounds : 100), sizeof(*v));
    struct hvhost host;
    uint32_t gport, port;
    char cmd[160];
    double hc, slow, fast, only;

    if (rounds < 100)
        rounds = 100;
    if (!v || hvhost_start(&host) < 0) {
        fprintf(stderr, "bench-evtchn: cannot start the hypervisor core (run as root from the build tree)\n");
        return 1;
    }
    loadavg("before");
    hc = null_hypercall(&host);
    domid = hvhost_create(&host, 1, 16);
    if (domid < 0 || kc_evtchn_alloc_unbound(host.h, (uint32_t)domid, 0, &gport) < 0) {
        printf("setup failed: %s\n", kc_error(host.h));
        return 1;
    }
    snprintf(cmd, sizeof(cmd), "role=server port=%u rounds=%d", gport, 3 * rounds + 300);
    if (evpoll >= 0)
        snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " evpoll_us=%ld", evpoll);
    if (hvhost_build(&host, (uint32_t)domid, "pingpong", cmd, 1, 16) < 0 ||
        kc_evtchn_bind_interdomain(host.h, (uint32_t)domid, gport, &port) < 0 ||
        kc_domain_unpause(host.h, (uint32_t)domid) < 0) {
        printf("setup failed: %s\n", kc_error(host.h));
        return 1;
    }
    printf("guest: %s\n", cmd);
    pin(host.h, (uint32_t)domid);
    kc_evtchn_ack(host.h, port);                 /* binding leaves our port pending once */
    slow = measure(host.h, port, rounds, v, 0, "guest<->dom0 round trip, sleep path");
    fast = measure(host.h, port, rounds, v, 1, "guest<->dom0 round trip, kc_evtchn_wait");
    kc_evtchn_set_wait_only(host.h, true);
    only = measure(host.h, port, rounds, v, 1, "guest<->dom0 round trip, wait-only handle");
    kc_evtchn_set_wait_only(host.h, false);
    if (hc > 0)
        printf("ratio to the null hypercall: sleep path %.1f, kc_evtchn_wait %.1f, wait-only %.1f\n",
               slow / hc, fast / hc, only / hc);
    loadavg("after");
    kc_domain_destroy(host.h, (uint32_t)domid);
    hvhost_stop(&host);
    free(v);
    return 0;
}
