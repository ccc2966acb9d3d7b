/* bench-hv - figures of the hypervisor core on this machine, each with a reference measured in
 * the same run:
 *   hypercall round trip from inside a guest (median, p99) vs the raw `syscall` instruction;
 *   create -> first guest instruction (TSC stamp written by the `first` guest) and destroy,
 *   vs fork+exec+wait of /bin/true;
 *   log-dirty read-and-clear of a 1 GiB guest vs memcpy of 1 GiB;
 *   save and restore of 128 MiB vs memcpy of 128 MiB; live save of a 1 GiB dirtying guest.
 * Usage: bench-hv [ITERATIONS [create]]  (run from the build tree, as root; `create`: only the
 * create figures, with the create/build split) */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include "../tests/hvhost.h"
#include "kbench.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void stats(const char *name, uint64_t *v, int n, const char *unit, double *median)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_u64);
    printf("%-40s median %9.3f %s  p10 %9.3f  p90 %9.3f  p99 %9.3f  (n=%d)\n", name,
           v[n / 2] / 1000.0, unit, v[n / 10] / 1000.0, v[n * 9 / 10] / 1000.0,
           v[n * 99 / 100] / 1000.0, n);
    if (median)
        *median = v[n / 2] / 1000.0;
}

/* Raw system call cost: getppid through the syscall instruction, in picoseconds per call. */
static double bench_syscall(void)
{
    uint64_t v[400];
    double med;

    for (int b = 0; b < 400; b++) {
        uint64_t t0 = hvhost_now_ns();
        for (int i = 0; i < 200; i++)
            syscall(SYS_getppid);
        v[b] = (hvhost_now_ns() - t0) * 1000 / 200;
    }
    stats("raw syscall (getppid), ns", v, 400, "ns", &med);
    return med;
}

static double bench_hypercall(struct hvhost *host)
{
    int domid = hvhost_boot(host, "hcbench", "batches=400 per=200", 1, 16);
    const char *out, *p;
    unsigned long long med = 0, p99 = 0;

    if (domid < 0 || !hvhost_wait_console(host, (uint32_t)domid, "hcbench: calls", 60000)) {
        printf("hypercall benchmark failed\n");
        return 0;
    }
    out = hvhost_console(host, (uint32_t)domid);
    p = strstr(out, "median_ps ");
    if (p)
        med = strtoull(p + 10, NULL, 10);
    p = strstr(out, "p99_ps ");
    if (p)
        p99 = strtoull(p + 7, NULL, 10);
    printf("%-40s median %9.3f ns  p99 %9.3f ns  (80000 calls in batches of 200)\n",
           "hypercall round trip (xen_version)", med / 1000.0, p99 / 1000.0);
    kc_domain_destroy(host->h, (uint32_t)domid);
    return med / 1000.0;
}

static void bench_create(struct hvhost *host, int iters, uint64_t tsc_khz)
{
    uint64_t *first = calloc((size_t)iters, 8), *destroy = calloc((size_t)iters, 8);
    uint64_t *fork_ns = calloc((size_t)iters, 8), *cr_ns = calloc((size_t)iters, 8);
    uint64_t *build_ns = calloc((size_t)iters, 8), *run_ns = calloc((size_t)iters, 8);
    int n = 0;

    for (int i = 0; i < iters; i++) {
        uint64_t t0 = __rdtsc(), stamp = 0, d0, c0 = hvhost_now_ns(), u0;
        int domid = hvhost_create(host, 1, 16);
        volatile uint64_t *mbox;
        if (domid < 0)
            break;
        cr_ns[n] = hvhost_now_ns() - c0;
        c0 = hvhost_now_ns();
        if (hvhost_build(host, (uint32_t)domid, "first", "", 1, 16) < 0) {
            kc_domain_destroy(host->h, (uint32_t)domid);
            break;
        }
        build_ns[n] = hvhost_now_ns() - c0;
        mbox = kc_map_foreign(host->h, (uint32_t)domid, PROT_READ, 512, 1);
        u0 = __rdtsc();
        kc_domain_unpause(host->h, (uint32_t)domid);
        for (int spin = 0; mbox && !(stamp = *mbox) && spin < 100000000; spin++)
            __builtin_ia32_pause();
        if (mbox)
            kc_unmap_foreign((void *)mbox, 1);
        d0 = hvhost_now_ns();
        kc_domain_destroy(host->h, (uint32_t)domid);
        destroy[n] = hvhost_now_ns() - d0;
        first[n] = stamp > t0 ? (stamp - t0) * 1000000 / tsc_khz : 0;
        run_ns[n] = stamp > u0 ? (stamp - u0) * 1000000 / tsc_khz : 0;
        n++;
    }
    for (int i = 0; i < iters; i++) {
        uint64_t t0 = hvhost_now_ns();
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        waitpid(pid, NULL, 0);
        fork_ns[i] = hvhost_now_ns() - t0;
    }
    if (n) {
        double a, b, c;
        stats("  of which: domain create (core)", cr_ns, n, "us", NULL);
        stats("  of which: build (libguest)", build_ns, n, "us", NULL);
        stats("  of which: unpause -> first instruction", run_ns, n, "us", NULL);
        stats("create+build -> first guest instruction", first, n, "us", &a);
        stats("destroy", destroy, n, "us", &b);
        stats("reference: fork+exec+wait /bin/true", fork_ns, iters, "us", &c);
        printf("ratio create->first / fork+exec: %.2f; destroy / fork+exec: %.2f\n", a / c, b / c);
        kbench_result("hv.create_first", "create+build -> first guest instruction", a, "us", c,
                      "fork+exec+wait /bin/true", a / c, "<= 1.0");
        kbench_result("hv.destroy", "destroy", b, "us", c, "fork+exec+wait /bin/true", b / c,
                      NULL);
    }
    free(first);
    free(destroy);
    free(fork_ns);
    free(cr_ns);
    free(build_ns);
    free(run_ns);
}

/* Log-dirty read-and-clear (one PAGEMAP_SCAN) over a 1 GiB guest that dirties 1000 pages/s,
 * against copying the same 1 GiB with memcpy (what a migration without a dirty log would do). */
static void bench_logdirty(struct hvhost *host)
{
    const uint64_t pages = 262144;
    static uint8_t bm[262144 / 8];
    uint64_t v[30], r[3], dirty;
    int domid = hvhost_boot(host, "dirtier", "size=64 rate=1000 verify=0", 1, 1024);
    char *a = malloc(1ULL << 30), *b = malloc(1ULL << 30);

    if (domid < 0 || !a || !b || kc_logdirty_enable(host->h, (uint32_t)domid) < 0) {
        printf("log-dirty benchmark failed: %s\n", kc_error(host->h));
        free(a);
        free(b);
        return;
    }
    for (int i = 0; i < 30; i++) {
        uint64_t t0;
        usleep(10000);
        t0 = hvhost_now_ns();
        kc_logdirty_read(host->h, (uint32_t)domid, 1, bm, pages, &dirty);
        v[i] = hvhost_now_ns() - t0;
    }
    memset(a, 1, 1ULL << 30);
    memset(b, 2, 1ULL << 30);
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = hvhost_now_ns();
        memcpy(b, a, 1ULL << 30);
        r[i] = hvhost_now_ns() - t0;
    }
    {
        double s, m;
        stats("log-dirty read+clear, 1 GiB guest", v, 30, "us", &s);
        stats("reference: memcpy of 1 GiB", r, 3, "us", &m);
        printf("ratio scan / memcpy(1 GiB): %.4f (last scan found %llu dirty pages)\n", s / m,
               (unsigned long long)dirty);
    }
    kc_domain_destroy(host->h, (uint32_t)domid);
    free(a);
    free(b);
}

/* A reader draining a pipe, as the other end of a streamed save (migration, compression). */
static void *drain_pipe(void *arg)
{
    static char buf[1 << 20];
    int fd = *(int *)arg;

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    return NULL;
}

static uint64_t save_to_pipe(struct hvhost *host, int domid)
{
    struct kg_save_opts o = { 0 };
    struct kg_save_stats st;
    char err[512];
    pthread_t th;
    uint64_t t0;
    int p[2];

    if (pipe(p) < 0)
        return 0;
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    pthread_create(&th, NULL, drain_pipe, &p[0]);
    t0 = hvhost_now_ns();
    kg_save(host->h, (uint32_t)domid, p[1], &o, &st, err, sizeof(err));
    close(p[1]);
    pthread_join(th, NULL);
    t0 = hvhost_now_ns() - t0;
    close(p[0]);
    return t0;
}

/* The references a save into a file is fair against, each of 128 MiB from a buffer in memory:
 * memcpy into fresh memory (its pages are allocated as the copy goes, as a new file's are),
 * and write(2) into a new /dev/shm file and over that allocated file (what the kernel's tmpfs
 * write path costs for the same bytes, whoever writes them). */
static void save_refs(const char *a, uint64_t size, uint64_t *fresh, uint64_t *wnew,
                      uint64_t *wover)
{
    const char *path = "/dev/shm/keel-bench.ref";
    uint64_t t0 = hvhost_now_ns();
    char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd;

    if (m != MAP_FAILED) {
        memcpy(m, a, size);
        *fresh = hvhost_now_ns() - t0;
        munmap(m, size);
    }
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    t0 = hvhost_now_ns();
    if (fd >= 0 && write(fd, a, size) == (ssize_t)size) {
        *wnew = hvhost_now_ns() - t0;
        t0 = hvhost_now_ns();
        if (pwrite(fd, a, size, 0) == (ssize_t)size)
            *wover = hvhost_now_ns() - t0;
    }
    if (fd >= 0)
        close(fd);
    unlink(path);
}

/* Save of a 128 MiB guest (120 MiB of it written) to a memory-backed file and its restore into a new domain, against
 * memcpy of 128 MiB; then a live save of a 1 GiB guest dirtying 10000 pages/s (downtime = the
 * guest's pause until the end of the stream). */
static void bench_save_restore(struct hvhost *host)
{
    const uint64_t mib = 128, size = mib << 20;
    uint64_t save[5], save_pre[5], save_pipe[5], rest[5], cp[5];
    uint64_t cpf[5] = { 0 }, wnew[5] = { 0 }, wover[5] = { 0 };
    char *a = malloc(size), *b = malloc(size);
    struct kg_save_stats st;
    char err[512];
    int n = 0;

    memset(a, 1, size);
    memset(b, 2, size);
    for (int i = 0; i < 5; i++) {
        int domid = hvhost_boot(host, "dirtier", "size=120 rate=1 verify=0", 1, mib), fd, nd;
        struct kg_save_opts o = { 0 };
        uint64_t t0;
        if (domid < 0 || !hvhost_wait_console(host, (uint32_t)domid, "tick 1 ", 10000))
            break;                            /* its 120 MiB working set is written by now */
        /* into a new file (the page cache is allocated as it goes), then over that file */
        fd = open("/dev/shm/keel-bench.save", O_RDWR | O_CREAT | O_TRUNC, 0600);
        t0 = hvhost_now_ns();
        kg_save(host->h, (uint32_t)domid, fd, &o, &st, err, sizeof(err));
        save[n] = hvhost_now_ns() - t0;
        lseek(fd, 0, SEEK_SET);
        t0 = hvhost_now_ns();
        kg_save(host->h, (uint32_t)domid, fd, &o, &st, err, sizeof(err));
        save_pre[n] = hvhost_now_ns() - t0;
        save_pipe[n] = save_to_pipe(host, domid);
        kc_domain_destroy(host->h, (uint32_t)domid);
        lseek(fd, 0, SEEK_SET);
        t0 = hvhost_now_ns();
        nd = hvhost_create(host, 1, mib);
        kg_restore(host->h, (uint32_t)nd, mib << 10, fd, NULL, err, sizeof(err));
        kc_domain_unpause(host->h, (uint32_t)nd);
        rest[n] = hvhost_now_ns() - t0;
        close(fd);
        kc_domain_destroy(host->h, (uint32_t)nd);
        save_refs(a, size, &cpf[n], &wnew[n], &wover[n]);
        t0 = hvhost_now_ns();
        memcpy(b, a, size);
        cp[n++] = hvhost_now_ns() - t0;
    }
    unlink("/dev/shm/keel-bench.save");
    if (n) {
        double s, sp, spp, r, c, cf, wn, wo;
        stats("save 128 MiB to a new /dev/shm file", save, n, "us", &s);
        stats("save 128 MiB over an allocated file", save_pre, n, "us", &sp);
        stats("save 128 MiB into a pipe (a reader drains it)", save_pipe, n, "us", &spp);
        stats("restore 128 MiB (create+restore+start)", rest, n, "us", &r);
        stats("reference: memcpy of 128 MiB", cp, n, "us", &c);
        stats("reference: memcpy into fresh memory", cpf, n, "us", &cf);
        stats("reference: write() into a new /dev/shm file", wnew, n, "us", &wn);
        stats("reference: write() over the allocated file", wover, n, "us", &wo);
        printf("save / fair reference: %.2f (new file / memcpy into fresh memory), %.2f "
               "(allocated file / memcpy); / the same write(2) from memory: %.2f (new), %.2f "
               "(allocated)\n", cf / s, c / sp, wn / s, wo / sp);
        printf("save throughput / memcpy: %.2f (new file), %.2f (allocated file), %.2f (pipe); "
               "restore / memcpy: %.2f\n", c / s, c / sp, c / spp, c / r);
        kbench_result("hv.save_file", "save 128 MiB to a new file (throughput)", s, "us", cf,
                      "memcpy of 128 MiB into fresh memory", cf / s, ">= 0.8");
        kbench_result("hv.save_file_over", "save 128 MiB over an allocated file (throughput)",
                      sp, "us", c, "memcpy of 128 MiB", c / sp, ">= 0.8");
        kbench_result("hv.save_file_write", "save 128 MiB to a new file / write(2) of it",
                      s, "us", wn, "write() of 128 MiB into a new /dev/shm file", wn / s, NULL);
        kbench_result("hv.save_over_write", "save 128 MiB over a file / write(2) of it", sp,
                      "us", wo, "write() of 128 MiB over the allocated file", wo / sp, NULL);
        kbench_result("hv.save_pipe", "save 128 MiB into a pipe (throughput)", spp, "us", c,
                      "memcpy of 128 MiB", c / spp, NULL);
        kbench_result("hv.restore", "restore 128 MiB (create+restore+start, throughput)", r,
                      "us", c, "memcpy of 128 MiB", c / r, NULL);
    }
    free(a);
    free(b);
    {
        int domid = hvhost_boot(host, "dirtier", "size=512 rate=10000 verify=0", 1, 1024);
        struct kg_save_opts o = { .live = 1 };
        int fd = open("/dev/null", O_WRONLY);
        if (domid > 0 && hvhost_wait_console(host, (uint32_t)domid, "tick 1 ", 10000) &&
            kg_save(host->h, (uint32_t)domid, fd, &o, &st, err, sizeof(err)) == 0)
            printf("live save of a 1 GiB guest dirtying 10000 pages/s: %u rounds, %llu pages, "
                   "downtime %.3f ms, total %.1f ms\n", st.rounds, (unsigned long long)st.pages_sent,
                   st.downtime_ns / 1e6, st.total_ns / 1e6);
        close(fd);
        if (domid > 0)
            kc_domain_destroy(host->h, (uint32_t)domid);
    }
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 50;
    struct keel_sysctl_physinfo pi;
    struct hvhost host;
    double sc, hc;

    if (hvhost_start(&host) < 0) {
        fprintf(stderr, "bench-hv: cannot start the hypervisor core (run as root from the build tree)\n");
        return 1;
    }
    kc_physinfo(host.h, &pi);
    printf("bench-hv: %u CPUs, TSC %u kHz\n", pi.nr_cpus, pi.cpu_khz);
    if (argc > 2 && !strcmp(argv[2], "create")) {
        bench_create(&host, iters < 1 ? 1 : iters, pi.cpu_khz);
        hvhost_keep_log(&host, "BENCH_HV_LOG", "bench-hv");
        hvhost_stop(&host);
        return 0;
    }
    sc = bench_syscall();
    hc = bench_hypercall(&host);
    if (sc > 0) {
        printf("ratio hypercall / raw syscall: %.1f\n", hc / sc);
        kbench_result("hv.hypercall", "hypercall round trip (guest)", hc, "ns", sc,
                      "raw syscall getppid", hc / sc, NULL);
    }
    bench_create(&host, iters < 1 ? 1 : iters, pi.cpu_khz);
    bench_logdirty(&host);
    bench_save_restore(&host);
    hvhost_stop(&host);
    return 0;
}
