/* bench-vmevent - the round trip of a vm_event breakpoint (guest executes int3 -> the core posts
 * the event -> this process reads it and answers -> the guest runs on), measured inside the guest
 * by the `vmevent` guest (mode=bench) as median and p99, with two references measured in the same
 * run: a null hypercall from the same guest, and a ptrace stop (a traced child executing int3,
 * the tracer waiting for the stop and continuing it) timed here.
 * A second guest (mode=wbench) measures a write-watch loop the same way: each write to a watched
 * frame (access r) is a memory access event answered with EMULATE (let through once: the frame
 * opens for one instruction while the other vCPUs are held, then closes again).
 * Usage: bench-vmevent [EVENTS]  (run from the build tree, as root; default 20000) */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tests/hvhost.h"
#include "keel/ctrl_monitor.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ptrace reference: the child stops at each int3 (SIGTRAP), the parent continues it. */
static void bench_ptrace(uint32_t n, uint64_t *med, uint64_t *p99)
{
    uint64_t *t = calloc(n, sizeof(*t));
    pid_t pid = fork();
    int st;

    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        raise(SIGSTOP);
        for (uint32_t i = 0; i < n; i++)
            __asm__ volatile("int3");
        _exit(0);
    }
    waitpid(pid, &st, 0);                            /* the SIGSTOP */
    ptrace(PTRACE_CONT, pid, NULL, NULL);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t0 = hvhost_now_ns();
        if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st))
            break;
        ptrace(PTRACE_CONT, pid, NULL, NULL);        /* SIGTRAP suppressed: rip is past int3 */
        t[i] = hvhost_now_ns() - t0;
    }
    waitpid(pid, &st, 0);
    /* each sample spans stop -> continue -> next stop: one full round trip of the child */
    qsort(t, n, sizeof(*t), cmp_u64);
    *med = t[n / 2];
    *p99 = t[n - 1 - n / 100];
    free(t);
}

/* The enforcement mechanism alone, in this process: a write to a read-only page, SIGSEGV, the
 * handler opens the page (mprotect), the write completes, the page is closed again (mprotect):
 * what every memory access event costs before any core or consumer work. */
static volatile uint8_t *segv_page;

static void on_segv_ref(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)si; (void)uc;
    mprotect((void *)segv_page, 4096, PROT_READ | PROT_WRITE);
}

static void bench_segv(uint32_t n, uint64_t *med, uint64_t *p99)
{
    uint64_t *t = calloc(n, sizeof(*t));
    struct sigaction sa, old;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv_ref;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, &old);
    segv_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t0 = hvhost_now_ns();
        segv_page[i % 4096] = (uint8_t)i;
        mprotect((void *)segv_page, 4096, PROT_READ);
        t[i] = hvhost_now_ns() - t0;
    }
    munmap((void *)segv_page, 4096);
    sigaction(SIGSEGV, &old, NULL);
    qsort(t, n, sizeof(*t), cmp_u64);
    *med = t[n / 2];
    *p99 = t[n - 1 - n / 100];
    free(t);
}

static int parse(const char *out, const char *what, unsigned long long *med, unsigned long long *p99)
{
    const char *p = strstr(out, what);

    return p && sscanf(p + strlen(what), " median %llu p99 %llu", med, p99) == 2;
}

/* The write-watch loop: one vmevent guest in mode=wbench, its buffer's first frame r. */
static int bench_write(struct hvhost *host, uint32_t n, unsigned long long *med,
                       unsigned long long *p99, unsigned long long *hmed, unsigned long long *hp99)
{
    struct keel_vm_event e;
    unsigned long long buf = 0;
    kc_vm_event *ve;
    uint32_t got = 0;
    const char *p;
    char cmd[64];
    int d;

    snprintf(cmd, sizeof(cmd), "mode=wbench n=%u", n);
    d = hvhost_boot_paused(host, "vmevent", cmd, 1, 16);
    if (d < 0 || kc_monitor_enable(host->h, (uint32_t)d, &ve) < 0 ||
        kc_monitor_guest_request(host->h, (uint32_t)d, true, true) < 0)
        return -1;
    kc_domain_unpause(host->h, (uint32_t)d);
    if (kc_vm_event_get_request(ve, &e, 10000) != 1 ||
        !hvhost_wait_console(host, (uint32_t)d, "buf=", 10000) ||
        !(p = strstr(hvhost_console(host, (uint32_t)d), "buf=")) ||
        sscanf(p + 4, "%llx", &buf) != 1 ||
        kc_mem_access_set(host->h, (uint32_t)d, KEEL_MEM_ACCESS_R,
                          (buf - KEEL_GUEST_BASE) >> 12, 1) < 0)
        return -1;
    e.flags &= KEEL_VM_EVENT_FLAG_VCPU_PAUSED;
    kc_vm_event_put_response(ve, &e);
    while (got < n && kc_vm_event_get_request(ve, &e, 10000) == 1) {
        e.flags = (e.flags & KEEL_VM_EVENT_FLAG_VCPU_PAUSED) | KEEL_VM_EVENT_FLAG_EMULATE;
        kc_vm_event_put_response(ve, &e);
        got++;
    }
    if (!hvhost_wait_console(host, (uint32_t)d, "hypercall median", 60000) ||
        !parse(hvhost_console(host, (uint32_t)d), "bench: write", med, p99) ||
        !parse(hvhost_console(host, (uint32_t)d), "hypercall", hmed, hp99)) {
        fprintf(stderr, "bench-vmevent: no write figures (%u events answered):\n%s\n", got,
                hvhost_console(host, (uint32_t)d));
        return -1;
    }
    kc_monitor_disable(ve);
    kc_domain_destroy(host->h, (uint32_t)d);
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 20000, got = 0;
    unsigned long long bmed = 0, bp99 = 0, hmed = 0, hp99 = 0, wmed = 0, wp99 = 0, h2med = 0,
                       h2p99 = 0;
    uint64_t pmed = 0, pp99 = 0, smed = 0, sp99 = 0;
    struct hvhost host;
    struct keel_vm_event e;
    kc_vm_event *ve;
    char cmd[64];
    int d;

    if (n < 100)
        n = 100;
    if (hvhost_start(&host) < 0) {
        fprintf(stderr, "bench-vmevent: cannot start keel-hv\n");
        return 1;
    }
    snprintf(cmd, sizeof(cmd), "mode=bench n=%u", n);
    d = hvhost_boot_paused(&host, "vmevent", cmd, 1, 16);
    if (d < 0 || kc_monitor_enable(host.h, (uint32_t)d, &ve) < 0 ||
        kc_monitor_software_breakpoint(host.h, (uint32_t)d, true) < 0) {
        fprintf(stderr, "bench-vmevent: %s\n", kc_error(host.h));
        hvhost_stop(&host);
        return 1;
    }
    kc_domain_unpause(host.h, (uint32_t)d);
    while (got < n && kc_vm_event_get_request(ve, &e, 10000) == 1) {
        e.flags &= KEEL_VM_EVENT_FLAG_VCPU_PAUSED;
        kc_vm_event_put_response(ve, &e);
        got++;
    }
    if (!hvhost_wait_console(&host, (uint32_t)d, "hypercall median", 60000) ||
        !parse(hvhost_console(&host, (uint32_t)d), "breakpoint", &bmed, &bp99) ||
        !parse(hvhost_console(&host, (uint32_t)d), "hypercall", &hmed, &hp99)) {
        fprintf(stderr, "bench-vmevent: no figures from the guest (%u events answered):\n%s\n",
                got, hvhost_console(&host, (uint32_t)d));
        hvhost_stop(&host);
        return 1;
    }
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
    if (bench_write(&host, n, &wmed, &wp99, &h2med, &h2p99) < 0) {
        fprintf(stderr, "bench-vmevent: write-watch loop failed: %s\n", kc_error(host.h));
        hvhost_stop(&host);
        return 1;
    }
    hvhost_stop(&host);
    bench_ptrace(n, &pmed, &pp99);
    bench_segv(n, &smed, &sp99);
    printf("vm_event breakpoint round trip   median %8.2f us  p99 %8.2f us  (n=%u)\n",
           bmed / 1000.0, bp99 / 1000.0, n);
    printf("null hypercall (reference)       median %8.2f us  p99 %8.2f us\n", hmed / 1000.0,
           hp99 / 1000.0);
    printf("ptrace int3 stop (reference)     median %8.2f us  p99 %8.2f us\n", pmed / 1000.0,
           pp99 / 1000.0);
    printf("vm_event write-watch round trip  median %8.2f us  p99 %8.2f us  (n=%u, EMULATE)\n",
           wmed / 1000.0, wp99 / 1000.0, n);
    printf("null hypercall (write run)       median %8.2f us  p99 %8.2f us\n", h2med / 1000.0,
           h2p99 / 1000.0);
    printf("SIGSEGV + 2 mprotect (reference)  median %8.2f us  p99 %8.2f us  (the mechanism alone)\n",
           smed / 1000.0, sp99 / 1000.0);
    printf("ratios: breakpoint / hypercall %.1f, breakpoint / ptrace stop %.2f; goal <= 5 us "
           "median: %s\n", hmed ? (double)bmed / (double)hmed : 0.0,
           pmed ? (double)bmed / (double)pmed : 0.0, bmed <= 5000 ? "met" : "not met");
    printf("ratios: write-watch / hypercall %.1f, write-watch / ptrace stop %.2f; goal <= 5 us "
           "median: %s\n", h2med ? (double)wmed / (double)h2med : 0.0,
           pmed ? (double)wmed / (double)pmed : 0.0, wmed <= 5000 ? "met" : "not met");
    return 0;
}
