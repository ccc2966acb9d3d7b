/* bench-vmevent - the round trip of a vm_event breakpoint (guest executes int3 -> the core posts
 * the event -> this process reads it and answers -> the guest runs on), measured inside the guest
 * by the `vmevent` guest (mode=bench) as median and p99, with two references measured in the same
 * run: a null hypercall from the same guest, and a ptrace stop (a traced child executing int3,
 * the tracer waiting for the stop and continuing it) timed here.
 * Usage: bench-vmevent [EVENTS]  (run from the build tree, as root; default 20000) */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int parse(const char *out, const char *what, unsigned long long *med, unsigned long long *p99)
{
    const char *p = strstr(out, what);

    return p && sscanf(p + strlen(what), " median %llu p99 %llu", med, p99) == 2;
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 20000, got = 0;
    unsigned long long bmed = 0, bp99 = 0, hmed = 0, hp99 = 0;
    uint64_t pmed = 0, pp99 = 0;
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
    hvhost_stop(&host);
    bench_ptrace(n, &pmed, &pp99);
    printf("vm_event breakpoint round trip   median %8.2f us  p99 %8.2f us  (n=%u)\n",
           bmed / 1000.0, bp99 / 1000.0, n);
    printf("null hypercall (reference)       median %8.2f us  p99 %8.2f us\n", hmed / 1000.0,
           hp99 / 1000.0);
    printf("ptrace int3 stop (reference)     median %8.2f us  p99 %8.2f us\n", pmed / 1000.0,
           pp99 / 1000.0);
    printf("ratios: breakpoint / hypercall %.1f, breakpoint / ptrace stop %.2f; goal <= 5 us "
           "median: %s\n", hmed ? (double)bmed / (double)hmed : 0.0,
           pmed ? (double)bmed / (double)pmed : 0.0, bmed <= 5000 ? "met" : "not met");
    return 0;
}
