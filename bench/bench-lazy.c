/* bench-lazy.c - lazy restore (docs/lazy-restore.md) against today's eager restore, for a
 * 128 MiB and a 1 GiB guest whose memory is written (a dirtier): restore -> guest running
 * (create + restore + unpause, the image in a /dev/shm file) lazily and eagerly, alternated in
 * the same run, and for the lazy one the time until the whole image is in memory (the core's
 * fill). Prints median and spread, the ratio lazy / eager, and RESULT lines (goal <= 0.1).
 * Usage: bench-lazy [ITERATIONS]  (run from the build tree, as root) */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvhost.h"
#include "kbench.h"
#include "keel/ctrl.h"
#include "keel/guest.h"

#define IMG "/dev/shm/keel-bench-lazy.img"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double stats(const char *name, uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_u64);
    printf("%-46s median %10.3f ms  min %10.3f  max %10.3f  (n=%d)\n", name, v[n / 2] / 1e6,
           v[0] / 1e6, v[n - 1] / 1e6, n);
    return v[n / 2] / 1e6;
}

/* A dirtier of mib MiB with its working set written, saved into IMG and destroyed. */
static int make_image(struct hvhost *host, uint64_t mib)
{
    char cmd[64], err[512];
    struct kg_save_opts o = { 0 };
    struct kg_save_stats st;
    int domid, fd, rc;

    snprintf(cmd, sizeof(cmd), "size=%llu rate=1 verify=0", (unsigned long long)(mib - 8));
    domid = hvhost_boot(host, "dirtier", cmd, 1, mib);
    if (domid < 0 || !hvhost_wait_console(host, (uint32_t)domid, "tick 1 ", 60000))
        return -1;
    fd = open(IMG, O_RDWR | O_CREAT | O_TRUNC, 0600);
    rc = fd < 0 ? -1 : kg_save(host->h, (uint32_t)domid, fd, &o, &st, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "bench-lazy: save: %s\n", err);
    if (fd >= 0)
        close(fd);
    kc_domain_destroy(host->h, (uint32_t)domid);
    return rc;
}

/* One restore: ns until the guest runs; *full: until every frame is in (lazy only); *cr: of
 * it the domain's creation in the core. */
static int64_t restore(struct hvhost *host, uint64_t mib, int lazy, uint64_t *full, uint64_t *cr_ns)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = mib << 10,
                                     .flags = lazy ? KEEL_DOMCTL_CDF_LAZY_MEM : 0 };
    struct keel_domctl_lazy_mem ls = { 0 };
    uint64_t t0 = hvhost_now_ns(), run;
    uint32_t domid = 0;
    char err[512];
    int fd = open(IMG, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0 || kc_domain_create(host->h, &cr, &domid) < 0)
        return -1;
    *cr_ns = hvhost_now_ns() - t0;
    rc = lazy ? kg_restore_lazy(host->h, domid, mib << 10, fd, NULL, NULL, err, sizeof(err))
              : kg_restore(host->h, domid, mib << 10, fd, NULL, err, sizeof(err));
    if (rc == 0)
        rc = kc_domain_unpause(host->h, domid);
    run = hvhost_now_ns() - t0;
    close(fd);
    while (rc == 0 && lazy && kc_lazy_status(host->h, domid, &ls) == 0 &&
           ls.state == KEEL_LAZY_STATE_FILLING)
        usleep(200);
    *full = lazy ? hvhost_now_ns() - t0 : run;
    if (rc < 0 || (lazy && ls.state != KEEL_LAZY_STATE_COMPLETE))
        fprintf(stderr, "bench-lazy: restore (%s): %s\n", lazy ? "lazy" : "eager",
                rc < 0 ? err : "the fill did not complete");
    kc_domain_destroy(host->h, domid);
    usleep(300000);         /* the next creation not measured while the kernel frees this one */
    return rc < 0 ? -1 : (int64_t)run;
}

static void bench_size(struct hvhost *host, uint64_t mib, int iters)
{
    uint64_t *lz = calloc((size_t)iters, 8), *eg = calloc((size_t)iters, 8);
    uint64_t *fl = calloc((size_t)iters, 8), full, c;
    uint64_t *lcr = calloc((size_t)iters, 8), *ecr = calloc((size_t)iters, 8);
    char id[64], fig[128];
    int n = 0;

    if (make_image(host, mib) < 0) {
        fprintf(stderr, "bench-lazy: no %llu MiB image\n", (unsigned long long)mib);
        return;
    }
    for (int i = 0; i < iters; i++) {
        int64_t a = restore(host, mib, 1, &full, &c), b;
        fl[n] = full;
        lcr[n] = c;
        b = restore(host, mib, 0, &full, &c);
        if (a < 0 || b < 0)
            break;
        ecr[n] = c;
        lz[n] = (uint64_t)a;
        eg[n++] = (uint64_t)b;
    }
    for (int i = 0; i < n; i++) {                    /* the restore alone, creation apart */
        lcr[i] = lz[i] > lcr[i] ? lz[i] - lcr[i] : 0;
        ecr[i] = eg[i] > ecr[i] ? eg[i] - ecr[i] : 0;
    }
    if (n) {
        double l, e, f;
        printf("-- %llu MiB guest (%llu MiB written), image in /dev/shm\n",
               (unsigned long long)mib, (unsigned long long)(mib - 8));
        l = stats("lazy restore -> guest running", lz, n);
        e = stats("eager restore -> guest running (reference)", eg, n);
        f = stats("lazy restore -> whole image in memory", fl, n);
        stats("  of lazy: restore + start (creation apart)", lcr, n);
        stats("  of eager: restore + start (creation apart)", ecr, n);
        printf("ratio lazy / eager: %.3f (goal <= 0.1); whole image in after %.1f ms (%.2f x eager)\n",
               l / e, f, f / e);
        snprintf(id, sizeof(id), "hv.restore_lazy_%llu", (unsigned long long)mib);
        snprintf(fig, sizeof(fig), "lazy restore %llu MiB -> guest running", (unsigned long long)mib);
        kbench_result(id, fig, l, "ms", e, "eager restore (create+restore+start)", l / e, "<= 0.1");
        snprintf(id, sizeof(id), "hv.restore_lazy_full_%llu", (unsigned long long)mib);
        snprintf(fig, sizeof(fig), "lazy restore %llu MiB -> whole image in memory",
                 (unsigned long long)mib);
        kbench_result(id, fig, f, "ms", e, "eager restore (create+restore+start)", f / e, NULL);
    }
    unlink(IMG);
    free(lz);
    free(eg);
    free(fl);
    free(lcr);
    free(ecr);
}

int main(int argc, char **argv)
{
    struct hvhost host;
    int iters = argc > 1 ? atoi(argv[1]) : 5;

    if (iters < 1)
        iters = 1;
    if (hvhost_start(&host) < 0) {
        fprintf(stderr, "bench-lazy: cannot start a core\n");
        return 1;
    }
    bench_size(&host, 128, iters);
    bench_size(&host, 1024, iters);
    hvhost_stop(&host);
    return 0;
}
