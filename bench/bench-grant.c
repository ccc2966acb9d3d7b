/* bench-grant - grant-table operations per second from Domain-0 backends: batched grant copy
 * (64 whole pages per call, guest -> backend) and map+unmap of one page, with 1, 2 and
 * 4 concurrent backend threads (each with its own kc_handle, i.e. its own control connection),
 * serving different guests or different references of one guest. The same runs go to a second
 * core started with KEEL_GRANT_GLOBAL_LOCK=1 (every grant op serialized on one global mutex,
 * the reference; both cores run side by side and their rounds alternate) and the ratio
 * per-domain locks / global lock is printed. Each figure is the median of ROUNDS rounds of
 * ROUND_MS, with the lowest and highest round. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvhost.h"

#define ROUNDS 7
#define ROUND_MS 300
#define NGUESTS 4
#define SEGS 64

enum kind { COPY, MAP };

struct guest {
    int domid;
    uint32_t rw[4];
};

struct worker {
    kc_handle *h;
    uint32_t dom, ref;
    enum kind kind;
    volatile int *stop;
    uint64_t ops;
    int failed;
};

/* Two cores run side by side: [0] with per-domain locks, [1] with KEEL_GRANT_GLOBAL_LOCK=1;
 * their rounds alternate, so both see the same background load. */
struct core {
    struct hvhost host;
    struct guest guests[NGUESTS];
    kc_handle *hs[NGUESTS];
};
static struct core cores[2];

static int boot_guest(struct hvhost *host, struct guest *g)
{
    const char *con, *p;
    char key[32];
    int ro;

    g->domid = hvhost_boot(host, "granter", "to=0 pages=4 frames=1", 1, 16);
    if (g->domid < 0 || !hvhost_wait_console(host, (uint32_t)g->domid, "mailbox gfn=", 10000))
        return -1;
    con = hvhost_console(host, (uint32_t)g->domid);
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "gref page=%d ", i);
        if (!(p = strstr(con, key)) || sscanf(p + strlen(key), "ro=%d rw=%u", &ro, &g->rw[i]) != 2)
            return -1;
    }
    return 0;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    static __thread uint8_t buf[SEGS][4096];
    struct kc_gnttab_copy_seg s[SEGS];

    for (int i = 0; i < SEGS; i++)
        s[i] = (struct kc_gnttab_copy_seg){ .domid = w->dom, .ref = w->ref,
                                            .offset = 0, .len = 4096,
                                            .local = buf[i] };
    while (!*w->stop) {
        if (w->kind == COPY) {
            uint32_t failed = 0;
            if (kc_gnttab_copy(w->h, s, SEGS, &failed) < 0 || failed) {
                w->failed = 1;
                break;
            }
            w->ops += SEGS;
        } else {
            void *p = kc_gnttab_map(w->h, w->dom, &w->ref, 1, 1, NULL);
            if (!p || kc_gnttab_unmap(w->h, p, 1) < 0) {
                w->failed = 1;
                break;
            }
            w->ops++;
        }
    }
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One round: ops/s of nthreads workers (one guest each, or references of guest 0). */
static double round_ops(struct core *co, enum kind kind, int nthreads, int one_guest)
{
    struct worker w[NGUESTS];
    pthread_t t[NGUESTS];
    volatile int stop = 0;
    uint64_t t0, total = 0;

    for (int i = 0; i < nthreads; i++) {
        struct guest *g = one_guest ? &co->guests[0] : &co->guests[i];
        w[i] = (struct worker){ co->hs[i], (uint32_t)g->domid, one_guest ? g->rw[i] : g->rw[0],
                                kind, &stop, 0, 0 };
    }
    t0 = hvhost_now_ns();
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, work, &w[i]);
    usleep(ROUND_MS * 1000);
    stop = 1;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        total += w[i].ops;
        if (w[i].failed)
            fprintf(stderr, "bench-grant: a worker failed: %s\n", kc_error(co->hs[i]));
    }
    return (double)total * 1e9 / (double)(hvhost_now_ns() - t0);
}

static int start_core(struct core *co, int global)
{
    if (global)
        setenv("KEEL_GRANT_GLOBAL_LOCK", "1", 1);
    else
        unsetenv("KEEL_GRANT_GLOBAL_LOCK");
    if (hvhost_start(&co->host) < 0)
        return -1;
    for (int i = 0; i < NGUESTS; i++)
        if (boot_guest(&co->host, &co->guests[i]) < 0 || kc_open(&co->hs[i], co->host.rundir) < 0)
            return -1;
    return 0;
}

static void stop_core(struct core *co)
{
    for (int i = 0; i < NGUESTS; i++)
        kc_close(co->hs[i]);
    hvhost_stop(&co->host);
}

#define NCASES 10
static const char *const case_names[NCASES] = {
    "copy, 1 backend", "copy, 2 backends / 2 guests", "copy, 4 backends / 4 guests",
    "copy, 2 backends / 1 guest", "copy, 4 backends / 1 guest",
    "map+unmap, 1 backend", "map+unmap, 2 backends / 2 guests", "map+unmap, 4 backends / 4 guests",
    "map+unmap, 2 backends / 1 guest", "map+unmap, 4 backends / 1 guest",
};

static void summary(double *r, double *med, double *lo, double *hi)
{
    qsort(r, ROUNDS, sizeof(r[0]), cmp_d);
    *lo = r[0];
    *hi = r[ROUNDS - 1];
    *med = r[ROUNDS / 2];
}

int main(void)
{
    static const int threads[5] = { 1, 2, 4, 2, 4 }, one[5] = { 0, 0, 0, 1, 1 };
    double m[2][NCASES], lo[2][NCASES], hi[2][NCASES];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (start_core(&cores[0], 0) < 0 || start_core(&cores[1], 1) < 0) {
        fprintf(stderr, "bench-grant: cannot start the cores and guests (root, from the build "
                "tree)\n");
        return 1;
    }
    for (int c = 0; c < NCASES; c++) {
        double r[2][ROUNDS];
        for (int round = 0; round < ROUNDS; round++)
            for (int k = 0; k < 2; k++)
                r[k][round] = round_ops(&cores[k], c < 5 ? COPY : MAP, threads[c % 5],
                                        one[c % 5]);
        for (int k = 0; k < 2; k++)
            summary(r[k], &m[k][c], &lo[k][c], &hi[k][c]);
    }
    stop_core(&cores[0]);
    stop_core(&cores[1]);
    printf("bench-grant: %ld CPUs; ops/s, median of %d alternating rounds of %d ms "
           "[lowest, highest]\n", cpus, ROUNDS, ROUND_MS);
    printf("%-38s %26s %26s %7s\n", "", "per-domain locks", "one global lock", "ratio");
    for (int c = 0; c < NCASES; c++)
        printf("%-38s %9.0f [%7.0f,%7.0f] %9.0f [%7.0f,%7.0f] %7.2f\n", case_names[c], m[0][c],
               lo[0][c], hi[0][c], m[1][c], lo[1][c], hi[1][c], m[0][c] / m[1][c]);
    return 0;
}
