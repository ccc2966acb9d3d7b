/* bench-density - many domains at once on one private core: N `counter` domains of 16 MiB (each
 * wakes once a second and prints a line), and what the host pays for them:
 *   create (create + build + unpause) at N running domains vs on an empty host (median of a few);
 *   the core's CPU with N/10 and with N domains running, and per guest event (each counter wakes
 *   once a second: one timer event and one console hypercall);
 *   host memory per domain beyond its guest pages: Pss of the stub process outside guest memory
 *   (smaps, the guest mapping left out) plus the core's growth in Pss, divided by N; the kernel's
 *   own growth (Slab, page tables, kernel stacks) is printed beside it;
 *   destroy of all N, and a check that nothing is left (no domain process, no memfd or descriptor
 *   in the core, no cgroup directory, only Domain-0 listed);
 *   stop of the core (SIGTERM) with N domains running: its time and whether it ended by itself.
 * The bare core only (libctrl + libguest, like bench-hv): no store, no xl monitor.
 * Usage: bench-density [N [SECONDS]]  (root, from the build tree; N default 1000; SECONDS bounds
 * the create phase, default 900). Raises its own RLIMIT_NOFILE (the core inherits it). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tests/hvhost.h"
#include "kbench.h"

#define REPS 7
#define GUEST_BASE 0x100000000000ULL        /* KEEL_GUEST_BASE: the guest mapping in a stub */

static struct hvhost host;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double median_us(uint64_t *v, int n, double *p10, double *p90)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_u64);
    *p10 = v[n / 10] / 1000.0;
    *p90 = v[n * 9 / 10] / 1000.0;
    return v[n / 2] / 1000.0;
}

static int boot_counter(void)
{
    return hvhost_boot(&host, "counter", "interval=1000", 1, 16);
}

/* Median time of REPS creates (create + build + unpause), each destroyed after it runs. */
static double create_median(const char *what)
{
    uint64_t v[REPS];
    double p10, p90, med;
    int n = 0;

    uint64_t vc[REPS], vb[REPS], vd[REPS];
    double x, y;

    for (int i = 0; i < REPS; i++) {
        uint64_t t0 = hvhost_now_ns(), t1, t2, t3;
        int d = hvhost_create(&host, 1, 16);
        t1 = hvhost_now_ns();
        if (d < 0)
            continue;
        if (hvhost_build(&host, (uint32_t)d, "counter", "interval=1000", 1, 16) < 0 ||
            kc_domain_unpause(host.h, (uint32_t)d) < 0) {
            kc_domain_destroy(host.h, (uint32_t)d);
            continue;
        }
        t2 = hvhost_now_ns();
        kc_domain_destroy(host.h, (uint32_t)d);
        t3 = hvhost_now_ns();
        vc[n] = t1 - t0;
        vb[n] = t2 - t1;
        vd[n] = t3 - t2;
        v[n++] = t2 - t0;
    }
    if (!n)
        return 0;
    med = median_us(v, n, &p10, &p90);
    printf("create at %-22s median %8.0f us  p10 %8.0f  p90 %8.0f  (n=%d)\n", what, med, p10, p90, n);
    printf("  of which core create %.0f us, build + unpause %.0f us; destroy %.0f us (medians)\n",
           median_us(vc, n, &x, &y), median_us(vb, n, &x, &y), median_us(vd, n, &x, &y));
    return med;
}

/* Time on CPU of a process's threads, in seconds (schedstat: exact, where utime and stime are
 * sampled at the tick and miss the short wake-ups of an idle guest). */
static double cpu_s(pid_t pid)
{
    char path[300];
    unsigned long long ns, sum = 0;
    struct dirent *e;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if (!(d = opendir(path)))
        return 0;
    while ((e = readdir(d))) {
        FILE *f;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        if (!(f = fopen(path, "re")))
            continue;
        if (fscanf(f, "%llu", &ns) == 1)
            sum += ns;
        fclose(f);
    }
    closedir(d);
    return sum / 1e9;
}

/* Busy and total jiffies of the whole machine (/proc/stat). */
static void machine_jiffies(unsigned long long *busy, unsigned long long *total)
{
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "re");

    *busy = *total = 0;
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7]) == 8) {
        for (int i = 0; i < 8; i++)
            *total += v[i];
        *busy = *total - v[3] - v[4];
    }
    if (f)
        fclose(f);
}

static double machine_busy = -1;         /* of the last core_cpu window, 0..1 */

/* The core's CPU over `secs` seconds, in cores (and the machine's busy share beside it). */
static double core_cpu(int secs)
{
    double c0 = cpu_s(host.pid);
    uint64_t t0 = hvhost_now_ns();
    unsigned long long b0, j0, b1, j1;

    machine_jiffies(&b0, &j0);
    sleep((unsigned)secs);
    machine_jiffies(&b1, &j1);
    machine_busy = j1 > j0 ? (double)(b1 - b0) / (double)(j1 - j0) : -1;
    return (cpu_s(host.pid) - c0) / ((hvhost_now_ns() - t0) / 1e9);
}

/* Pss in KiB: the whole process (smaps_rollup), or only outside the guest mapping (smaps). */
static long pss_kb(pid_t pid, int skip_guest)
{
    char path[64], line[256];
    unsigned long long lo = 0;
    long total = 0, v;
    int in_guest = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, skip_guest ? "smaps" : "smaps_rollup");
    if (!(f = fopen(path, "re")))
        return -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long hi;
        if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in_guest = skip_guest && lo == GUEST_BASE;
        else if (sscanf(line, "Pss: %ld kB", &v) == 1 && !in_guest)
            total += v;
    }
    fclose(f);
    return total;
}

/* Sum over the core's domain processes (keel-stub children) of their Pss outside guest memory
 * (or, with cpu, of their CPU seconds). */
struct stub_sum { double sum; int count, cpu; };

static void add_stub(pid_t p, void *arg)
{
    struct stub_sum *s = arg;
    double k = s->cpu ? cpu_s((int)p) : (double)pss_kb((int)p, 1);

    if (k >= 0) {
        s->sum += k;
        s->count++;
    }
}

static double stubs_sum(int *count, int cpu)
{
    struct stub_sum s = { 0, 0, cpu };

    hvhost_each_domain_process(host.pid, add_stub, &s);
    *count = s.count;
    return s.sum;
}

/* Slab + PageTables + KernelStack from /proc/meminfo, KiB */
static long kernel_kb(void)
{
    char line[256];
    long v, sum = 0;
    FILE *f = fopen("/proc/meminfo", "re");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Slab: %ld", &v) == 1 || sscanf(line, "PageTables: %ld", &v) == 1 ||
            sscanf(line, "KernelStack: %ld", &v) == 1)
            sum += v;
    fclose(f);
    return sum;
}

/* Cgroup directories of this core's domains (keel/h<instance>/d<domid>, the instance named as
 * hypervisor/cgroup.c names it from the runtime directory) in any hierarchy. */
static size_t cgroups_left(void)
{
    unsigned long h = 5381;
    char pat[128];
    glob_t g;
    size_t n = 0;

    for (const char *p = host.rundir; *p; p++)
        h = h * 33 + (unsigned char)*p;
    for (int v = 0; v < 2; v++) {
        snprintf(pat, sizeof(pat), "/sys/fs/cgroup/%skeel/h%08lx/d*", v ? "" : "*/",
                 h & 0xffffffffUL);
        if (glob(pat, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0)
            n += g.gl_pathc;
        globfree(&g);
    }
    return n;
}

/* Start n domains; stop early at the deadline. Returns how many run; ids in doms. */
static int create_many(int *doms, int n, uint64_t deadline, double *cpu_tenth)
{
    int made = 0;

    if (cpu_tenth)
        *cpu_tenth = -1;
    for (int i = 0; i < n && hvhost_now_ns() < deadline; i++) {
        int d = boot_counter();
        if (d < 0) {
            printf("create %d failed: %s\n", i + 1, strerror(-d));
            break;
        }
        doms[made++] = d;
        if (cpu_tenth && made == n / 10 && n >= 100) {
            *cpu_tenth = core_cpu(5);
            printf("the core's CPU with %d counter domains: %.3f of a core\n", made, *cpu_tenth);
        }
        if (made % 100 == 0)
            printf("  %d domains running\n", made), fflush(stdout);
    }
    return made;
}

static int destroy_all(const int *doms, int n)
{
    int ok = 0;

    for (int i = 0; i < n; i++)
        ok += kc_domain_destroy(host.h, (uint32_t)doms[i]) == 0;
    return ok;
}

/* SIGTERM the core and wait for it (up to limit_s); SIGKILL after that. Returns seconds. */
static double stop_core(int limit_s, int *killed)
{
    uint64_t t0 = hvhost_now_ns();
    int status;

    *killed = 0;
    kc_close(host.h);
    host.h = NULL;
    kill(host.pid, SIGTERM);
    while (waitpid(host.pid, &status, WNOHANG) == 0) {
        if (hvhost_now_ns() - t0 > (uint64_t)limit_s * 1000000000ULL) {
            kill(host.pid, SIGKILL);
            waitpid(host.pid, &status, 0);
            *killed = 1;
            break;
        }
        usleep(10000);
    }
    host.pid = 0;
    return (hvhost_now_ns() - t0) / 1e9;
}

static int raise_nofile(void)
{
    struct rlimit rl = { 1 << 20, 1 << 20 };
    FILE *f = fopen("/proc/sys/fs/nr_open", "re");
    unsigned long nr = 0;

    if (f && fscanf(f, "%lu", &nr) == 1 && nr < rl.rlim_max)
        rl.rlim_cur = rl.rlim_max = nr;
    if (f)
        fclose(f);
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        return 0;
    getrlimit(RLIMIT_NOFILE, &rl);           /* no CAP_SYS_RESOURCE: up to the hard limit */
    rl.rlim_cur = rl.rlim_max;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000, secs = argc > 2 ? atoi(argv[2]) : 900, *doms;
    int made, counted = 0, stubs, killed, warm;
    double empty, loaded, cpu0, cpu_n, cpu_tenth, stop_s, stub_cpu;
    long hv_pss0, hv_pss, stub_pss, k0, k1;
    uint64_t t0;

    if (n < 1 || !(doms = calloc((size_t)n, sizeof(*doms))))
        return 2;
    if (raise_nofile() < 0)
        fprintf(stderr, "bench-density: cannot raise RLIMIT_NOFILE: %s\n", strerror(errno));
    if (hvhost_start(&host) < 0) {
        fprintf(stderr, "bench-density: cannot start the core (run as root from the build tree)\n");
        return 1;
    }
    printf("bench-density: %d counter domains of 16 MiB (interval=1000: one wake-up and one line "
           "a second each), bare core\n", n);
    warm = boot_counter();                  /* the runtime warms up: first create, first thread */
    if (warm > 0)
        kc_domain_destroy(host.h, (uint32_t)warm);
    empty = create_median("an empty host");
    cpu0 = core_cpu(3);
    hv_pss0 = pss_kb(host.pid, 0);
    k0 = kernel_kb();

    t0 = hvhost_now_ns();
    made = create_many(doms, n, t0 + (uint64_t)secs * 1000000000ULL, &cpu_tenth);
    printf("created %d of %d domains in %.1f s\n", made, n, (hvhost_now_ns() - t0) / 1e9);
    for (int i = 0; i < made; i++)
        counted += hvhost_wait_console(&host, (uint32_t)doms[i], "counter 1", 10000);
    printf("%d of %d print their lines (all running at once)\n", counted, made);

    loaded = create_median("N running domains");
    stub_cpu = stubs_sum(&stubs, 1);
    cpu_n = core_cpu(10);
    stub_cpu = (stubs_sum(&stubs, 1) - stub_cpu) / 10;
    hv_pss = pss_kb(host.pid, 0);
    stub_pss = (long)stubs_sum(&stubs, 0);
    k1 = kernel_kb();
    printf("the core's CPU: %.4f of a core empty, %.3f with %d domains (%.1f us per guest wake-up); "
           "the whole machine %.0f%% busy meanwhile (every process, other users' too)\n",
           cpu0, cpu_n, made, made ? cpu_n * 1e6 / made : 0, machine_busy * 100);
    printf("the domain processes' CPU meanwhile: %.3f of a core (%.1f us per guest wake-up)\n",
           stub_cpu, made ? stub_cpu * 1e6 / made : 0);
    if (cpu_tenth >= 0)
        printf("per guest wake-up: %.1f us at %d domains, %.1f us at %d (ratio %.2f)\n",
               cpu_tenth * 1e6 / (n / 10), n / 10, cpu_n * 1e6 / made, made,
               cpu_tenth > 0 ? (cpu_n / made) / (cpu_tenth / (n / 10)) : 0);
    printf("memory: core Pss %ld -> %ld KiB, %d stubs %ld KiB outside guest memory; kernel "
           "(slab, page tables, stacks) +%ld KiB\n", hv_pss0, hv_pss, stubs, stub_pss, k1 - k0);
    if (made) {
        double per = ((double)(hv_pss - hv_pss0) + (double)stub_pss) / made;
        printf("host memory per domain beyond guest pages: %.0f KiB (core %.0f + stub %.0f); "
               "kernel %.0f KiB more\n", per, (double)(hv_pss - hv_pss0) / made,
               (double)stub_pss / made, (double)(k1 - k0) / made);
        kbench_result("density.mem_per_domain", "host memory per domain beyond guest pages (Pss)",
                      per / 1024, "MiB", 1, "1 MiB", per / 1024, "<= 1.0");
    }
    if (empty > 0 && loaded > 0) {
        char fig[96];
        snprintf(fig, sizeof(fig), "create at %d running domains vs an empty host", made);
        printf("ratio create at N / empty: %.2f\n", loaded / empty);
        kbench_result("density.create_ratio", fig, loaded, "us", empty, "create on an empty host",
                      loaded / empty, "<= 1.2");
    }
    if (cpu_tenth > 0 && made)
        kbench_result("density.core_cpu_per_event", "core CPU per guest wake-up at N / at N/10",
                      cpu_n * 1e6 / made, "us", cpu_tenth * 1e6 / (n / 10), "at N/10 domains",
                      (cpu_n / made) / (cpu_tenth / (n / 10)), "<= 1.2");

    t0 = hvhost_now_ns();
    counted = destroy_all(doms, made);
    printf("destroyed %d of %d in %.2f s\n", counted, made, (hvhost_now_ns() - t0) / 1e9);
    {
        static struct keel_domctl_info info[8];
        int listed = kc_domain_list(host.h, 0, info, 8), procs = hvhost_count_children(host.pid);
        int memfds = hvhost_count_fds_to(host.pid, "memfd:keel");
        size_t cg = cgroups_left();
        printf("left after destroying all: %d domain processes, %d domain memfds in the core, %zu "
               "cgroup directories, %d domains listed (Domain-0 only: 1) -> %s\n", procs, memfds,
               cg, listed, procs == 0 && memfds == 0 && cg == 0 && listed == 1 ? "nothing left"
                                                                            : "SOMETHING LEFT");
    }

    made = create_many(doms, n, hvhost_now_ns() + (uint64_t)secs * 1000000000ULL, NULL);
    hvhost_keep_log(&host, "BENCH_DENSITY_LOG", "bench-density");
    stop_s = stop_core(300, &killed);
    printf("stop of the core with %d domains running: %.2f s, %s; %zu cgroup directories left\n",
           made, stop_s, killed ? "KILLED after 300 s" : "ended by itself", cgroups_left());
    hvhost_stop(&host);
    free(doms);
    return 0;
}
