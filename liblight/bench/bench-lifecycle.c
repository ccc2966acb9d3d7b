/* bench-lifecycle.c - measures `xl create` -> first console output, and create/destroy
 * throughput through liblight; each against a reference measured in the same run: the bare
 * core path (libkeelctrl + libkeelguest, no store, no xl process), as keel-boot does it.
 * Starts its own keel-hv and keel-stored in a private runtime directory.
 * Usage: bench-lifecycle [RUNS]   (from anywhere; $KEEL_BUILDDIR / $KEEL_SRCDIR override the
 * build and source trees it was built from, as for the tests). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keel/guest.h"
#include "keel/kl_light.h"
#include "kbench.h"

static char rundir[64] = "/tmp/keel-bench-XXXXXX";
static const char *bdir;
static pid_t hv = -1, st = -1;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static pid_t spawn(const char *prog, char *const argv[], const char *log)
{
    pid_t p = fork();

    if (p == 0) {
        int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
        if (fd >= 0)
            dup2(fd, 1), dup2(fd, 2);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(prog, argv);
        _exit(127);
    }
    return p;
}

static int wait_file(const char *path)
{
    for (int i = 0; i < 500; i++, usleep(10000))
        if (access(path, F_OK) == 0)
            return 0;
    return -1;
}

static int start_host(void)
{
    char exe[512], sock[128], log[128];

    if (!mkdtemp(rundir))
        return -1;
    snprintf(log, sizeof(log), "%s/host.log", rundir);
    snprintf(exe, sizeof(exe), "%s/hypervisor/keel-hv", bdir);
    hv = spawn(exe, (char *[]){ "keel-hv", "-r", rundir, NULL }, log);
    snprintf(sock, sizeof(sock), "%s/hv.sock", rundir);
    if (wait_file(sock) < 0)
        return -1;
    snprintf(exe, sizeof(exe), "%s/daemons/store/keel-stored", bdir);
    st = spawn(exe, (char *[]){ "keel-stored", "-F", "-n", "-r", rundir, "-l", "error", NULL }, log);
    snprintf(sock, sizeof(sock), "%s/xenstored/socket", rundir);
    return wait_file(sock);
}

static void stop_host(void)
{
    char cmd[128];

    if (st > 0)
        kill(st, SIGTERM), waitpid(st, NULL, 0);
    if (hv > 0)
        kill(hv, SIGTERM), waitpid(hv, NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", rundir);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* median, and the spread as the 10th..90th percentile */
static void stats(double *v, int n, double *med, double *lo, double *hi)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    *med = v[n / 2];
    *lo = v[n / 10];
    *hi = v[n - 1 - n / 10];
}

static int has_console(kc_handle *h, uint32_t domid)
{
    char buf[64];
    size_t len = sizeof(buf);
    uint64_t off = 0;

    return kc_domain_console_read(h, domid, &off, buf, &len, NULL) == 0 && len > 0;
}

/* xl create -e (no monitor) of hello.cfg, until its first console byte. ms, or < 0. */
static double xl_first_output(kl_ctx *ctx, const char *cfg, const char *pfx, int i, int keep)
{
    char xl[512], name[64];
    uint32_t domid;
    uint64_t t0 = now_ns();
    pid_t p;
    int status;

    /* the program itself, not libtool's shell wrapper cli/xl (a bash start and a relink check:
     * 20-30 ms that an installed xl does not pay); main() set LD_LIBRARY_PATH as the wrapper
     * would */
    snprintf(xl, sizeof(xl), "%s/cli/.libs/xl", bdir);
    if (access(xl, X_OK) != 0)
        snprintf(xl, sizeof(xl), "%s/cli/xl", bdir);
    snprintf(name, sizeof(name), "name=%s%d", pfx, i);
    p = spawn(xl, (char *[]){ "xl", "create", "-q", (char *)cfg, name, "on_poweroff=preserve", NULL }, NULL);
    waitpid(p, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) || kl_domain_qualify(ctx, name + 5, &domid) < 0)
        return -1;
    while (!has_console(kl_ctx_kc(ctx), domid))
        if (now_ns() - t0 > 5000000000ULL)
            return -1;
    {
        double ms = (double)(now_ns() - t0) / 1e6;
        if (!keep)
            kl_domain_destroy(ctx, domid);
        return ms;
    }
}

/* The Pss (proportional set size: shared pages divided among their users) of a process in KiB,
 * from /proc/PID/smaps_rollup; -1 when it cannot be read. */
static long pss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Pss: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Whether process pid's command line holds the argument arg. */
static int cmdline_has(pid_t pid, const char *arg)
{
    char path[64], buf[4096];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
        buf[n] = 0;
        if (!strcmp(buf + i, arg))
            return 1;
    }
    return 0;
}

/* The monitors of n domains created with xl (names pfx0..): Pss summed over their processes
 * (a monitor's pages shared with the others count once over all), per domain, in KiB. */
static double monitors_pss(const char *pfx, int n)
{
    char arg[64];
    long sum = 0;
    int found = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            snprintf(arg, sizeof(arg), "name=%s%d", pfx, i);
            if (cmdline_has(pid, arg)) {
                long kb = pss_kb(pid);
                sum += kb > 0 ? kb : 0;
                found++;
                break;
            }
        }
    }
    closedir(d);
    return found == n ? (double)sum / n : -1;
}

/* The reference: bare core create + build + unpause in this process, until the first byte. */
static double bare_first_output(kc_handle *h, const char *kernel)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16 << 10 };
    struct kg_build_info bi = { .kernel = kernel, .mem_kb = 16 << 10, .nr_vcpus = 1,
                                .max_vcpus = 1 };
    struct kg_build_result res;
    char err[256];
    uint32_t domid = 0;
    uint64_t t0 = now_ns();
    double ms;

    if (kc_domain_create(h, &cr, &domid) < 0 || kg_build(h, domid, &bi, &res, err, sizeof(err)) < 0 ||
        kc_domain_unpause(h, domid) < 0)
        return -1;
    while (!has_console(h, domid))
        if (now_ns() - t0 > 5000000000ULL)
            return -1;
    ms = (double)(now_ns() - t0) / 1e6;
    kc_domain_destroy(h, domid);
    return ms;
}

static double light_cycle(kl_ctx *ctx, const char *kernel)
{
    kl_domain_config dc;
    uint32_t domid;
    uint64_t t0 = now_ns();
    int rc;

    kl_domain_config_init(&dc);
    dc.c_info.name = strdup("cyc");
    dc.b_info.kernel = strdup(kernel);
    dc.b_info.target_memkb = dc.b_info.max_memkb = 16 << 10;
    rc = kl_domain_create(ctx, &dc, KL_CREATE_PAUSED, &domid);
    kl_domain_config_dispose(&dc);
    if (rc < 0 || kl_domain_destroy(ctx, domid) < 0)
        return -1;
    return (double)(now_ns() - t0) / 1e6;
}

static double bare_cycle(kc_handle *h, const char *kernel)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16 << 10 };
    struct kg_build_info bi = { .kernel = kernel, .mem_kb = 16 << 10, .nr_vcpus = 1,
                                .max_vcpus = 1 };
    struct kg_build_result res;
    char err[256];
    uint32_t domid = 0;
    uint64_t t0 = now_ns();

    if (kc_domain_create(h, &cr, &domid) < 0 || kg_build(h, domid, &bi, &res, err, sizeof(err)) < 0 ||
        kc_domain_destroy(h, domid) < 0)
        return -1;
    return (double)(now_ns() - t0) / 1e6;
}

static void report(const char *what, double *v, double *ref, int n, const char *unit,
                   const char *id, const char *refname, const char *goal)
{
    double m, lo, hi, rm, rlo, rhi;

    stats(v, n, &m, &lo, &hi);
    stats(ref, n, &rm, &rlo, &rhi);
    printf("%-34s median %8.2f %s (p10 %.2f, p90 %.2f)   reference %8.2f %s (p10 %.2f, p90 %.2f)"
           "   ratio %.2f\n", what, m, unit, lo, hi, rm, unit, rlo, rhi, rm > 0 ? m / rm : 0);
    kbench_result(id, what, m, unit, rm, refname, rm > 0 ? m / rm : 0, goal);
}

/* With CROWD domains running (each with its xl monitor): the monitors' Pss per domain against
 * the budget of 1 MiB of host memory per domain (issue 19: the whole host's, monitors
 * included); and xl create -> first output among them against xl create on the host holding
 * only the ones made so far (every other creation: the first half against the second). */
#define CROWD 50
static int crowded(kl_ctx *ctx, const char *cfg, double *a, double *b, int runs)
{
    double *t = calloc(CROWD, sizeof(double)), pss, m, lo, hi;
    int n = runs < CROWD / 2 ? runs : CROWD / 2, rc = -1;
    uint32_t domid;

    if (!t)
        return -1;
    for (int i = 0; i < CROWD; i++)
        if ((t[i] = xl_first_output(ctx, cfg, "m", i, 1)) < 0) {
            fprintf(stderr, "crowd: domain %d failed: %s\n", i, kl_ctx_error(ctx));
            goto out;
        }
    for (int i = 0; i < n; i++) {
        b[i] = t[i];                              /* 0..n-1 domains already there */
        a[i] = t[CROWD - n + i];                  /* CROWD-n..CROWD-1 */
    }
    report("xl create, 25-49 domains running", a, b, n, "ms", "light.xl_create_crowded",
           "xl create, 0-24 running", "<= 1.2");
    if ((pss = monitors_pss("m", CROWD)) < 0) {
        fprintf(stderr, "crowd: the %d monitors were not all found\n", CROWD);
        goto out;
    }
    stats(t, CROWD, &m, &lo, &hi);
    printf("%-34s %8.0f KiB per domain (%d domains), budget 1024 KiB   ratio %.2f\n",
           "xl monitor Pss", pss, CROWD, pss / 1024);
    kbench_result("light.monitor_pss", "xl monitor Pss per domain", pss, "KiB", 1024,
                  "budget: 1 MiB per domain (whole host)", pss / 1024, "<= 1.0");
    rc = 0;
out:
    for (int i = 0; i < CROWD; i++) {
        char name[16];
        snprintf(name, sizeof(name), "m%d", i);
        if (kl_domain_qualify(ctx, name, &domid) == 0)
            kl_domain_destroy(ctx, domid);
    }
    free(t);
    return rc;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 20;
    char kernel[512], cfg[512];
    double *a, *b;
    kl_ctx *ctx = NULL;
    int rc = 1;

    const char *sdir = getenv("KEEL_SRCDIR") && *getenv("KEEL_SRCDIR") ? getenv("KEEL_SRCDIR")
                                                                        : KEEL_ABS_SRCDIR;

    bdir = getenv("KEEL_BUILDDIR") && *getenv("KEEL_BUILDDIR") ? getenv("KEEL_BUILDDIR")
                                                                : KEEL_ABS_BUILDDIR;
    if (runs < 5)
        runs = 5;
    snprintf(kernel, sizeof(kernel), "%s/guests/hello", bdir);
    snprintf(cfg, sizeof(cfg), "%s/examples/hello.cfg", sdir);
    a = calloc((size_t)runs, sizeof(double));
    b = calloc((size_t)runs, sizeof(double));
    if (!a || !b || start_host() < 0) {
        fprintf(stderr, "bench-lifecycle: cannot start a host from %s\n", bdir);
        goto out;
    }
    setenv("KEEL_RUNDIR", rundir, 1);
    {   /* for cli/.libs/xl: the build tree's libraries, as libtool's wrapper sets them */
        char ldp[4096];
        snprintf(ldp, sizeof(ldp), "%s/liblight/.libs:%s/libguest/.libs:%s/libctrl/.libs:"
                 "%s/common/.libs:%s/policy/.libs", bdir, bdir, bdir, bdir, bdir);
        setenv("LD_LIBRARY_PATH", ldp, 1);
    }
    if (kl_ctx_open(&ctx, rundir) < 0)
        goto out;
    printf("bench-lifecycle: %d runs each; reference = bare libkeelctrl+libkeelguest path\n", runs);
    for (int i = 0; i < runs; i++)
        if ((a[i] = xl_first_output(ctx, cfg, "b", i, 0)) < 0 ||
            (b[i] = bare_first_output(kl_ctx_kc(ctx), kernel)) < 0) {
            fprintf(stderr, "run %d failed: %s\n", i, kl_ctx_error(ctx));
            goto out;
        }
    report("xl create -> first console output", a, b, runs, "ms", "light.xl_create_first",
           "bare create+build+unpause", "<= 2.0");
    for (int i = 0; i < runs; i++)
        if ((a[i] = light_cycle(ctx, kernel)) < 0 || (b[i] = bare_cycle(kl_ctx_kc(ctx), kernel)) < 0) {
            fprintf(stderr, "cycle %d failed: %s\n", i, kl_ctx_error(ctx));
            goto out;
        }
    report("kl create+destroy cycle", a, b, runs, "ms", "light.cycle",
           "bare create+build+destroy", NULL);
    {
        double m, lo, hi;
        stats(a, runs, &m, &lo, &hi);
        printf("%-34s %.1f cycles/s (median)\n", "liblight create/destroy throughput", 1000.0 / m);
    }
    if (crowded(ctx, cfg, a, b, runs) < 0)
        goto out;
    rc = 0;
out:
    kl_ctx_close(ctx);
    stop_host();
    free(a);
    free(b);
    return rc;
}
