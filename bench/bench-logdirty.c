/* bench-logdirty - the two log-dirty engines side by side in one run: one core started with
 * KEEL_LOGDIRTY=async and one with =sync, their runs alternating. For each engine, on a 1 GiB
 * dirtier: the cost of one read-and-clear with nothing dirty (guest paused) and with ~2000 pages
 * dirty; the guest's write rate (pages/s of a full-speed writing loop over 256 MiB) with log-dirty
 * on (read-and-clear every 100 ms, as pre-copy rounds do) against the same loop with log-dirty
 * off, and the read-and-clear cost during that loop; a live migration of the 1 GiB guest (900 MiB
 * working set, 10000 pages/s) over a socket pair: total time and downtime. Prints median, min and
 * max per figure and the ratio to async. The sync engine runs twice: as it comes (a fault
 * continuing a sequential stream lifts a growing block ahead) and exact (KEEL_LOGDIRTY_AHEAD=0:
 * one page per fault).
 * Usage: bench-logdirty [RUNS]  (run from the build tree, as root) */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tests/hvhost.h"

#define MIB 1024
#define PAGES ((uint64_t)MIB * 256)
#define MAX_RUNS 16

enum { CLEAN_IDLE, CLEAN_2K, CLEAN_BUSY, RATE_OFF, RATE_ON, SLOWDOWN, MIG_TOTAL, MIG_DOWN, MIG_SENDER, NFIG };
static const char *fig_name[NFIG] = {
    "read-and-clear, 1 GiB, nothing dirty (ms)", "read-and-clear, 1 GiB, ~2000 pages dirty (ms)",
    "read-and-clear during the writing loop (ms)", "writing loop, log-dirty off (kpages/s)",
    "writing loop, log-dirty on (kpages/s)", "writing loop: on / off", "live migration 1 GiB: total (ms)",
    "live migration 1 GiB: downtime (ms)", "  of which the sender's stop-and-copy (ms)",
};

struct engine {
    const char *name, *env, *ahead;
    struct hvhost host;
    int up;
    double v[NFIG][MAX_RUNS];
    int n[NFIG];
};

static void put(struct engine *e, int fig, double v)
{
    if (e->n[fig] < MAX_RUNS)
        e->v[fig][e->n[fig]++] = v;
}

static double ms_since(uint64_t t0)
{
    return (double)(hvhost_now_ns() - t0) / 1e6;
}

static double timed_clean(struct engine *e, int domid, uint8_t *bm)
{
    uint64_t n, t0 = hvhost_now_ns();

    if (kc_logdirty_read(e->host.h, (uint32_t)domid, 1, bm, PAGES, &n) < 0)
        return -1;
    return ms_since(t0);
}

/* Read-and-clear cost on a 1 GiB dirtier writing 2000 pages/s. */
static void clean_cost(struct engine *e)
{
    static uint8_t bm[PAGES / 8];
    int domid = hvhost_boot(&e->host, "dirtier", "size=900 rate=2000 verify=0", 1, MIB);

    if (domid < 0 || !hvhost_wait_console(&e->host, (uint32_t)domid, "tick 1 ", 30000) ||
        kc_logdirty_enable(e->host.h, (uint32_t)domid) < 0) {
        fprintf(stderr, "bench-logdirty: %s: no dirtier in log-dirty mode\n", e->name);
        return;
    }
    timed_clean(e, domid, bm);
    sleep(1);
    put(e, CLEAN_2K, timed_clean(e, domid, bm));
    kc_domain_pause(e->host.h, (uint32_t)domid);
    timed_clean(e, domid, bm);
    put(e, CLEAN_IDLE, timed_clean(e, domid, bm));
    kc_domain_destroy(e->host.h, (uint32_t)domid);
}

/* Pages the dirtier has written since it started: its slice (the whole working set with one
 * vCPU) holds generation g before the cursor and g - 1 after it. */
static uint64_t written(const uint8_t *area, uint64_t ws)
{
    uint64_t g, lo = 0, hi = ws;

    memcpy(&g, area + 8, 8);
    while (lo < hi) {                    /* first page whose generation is not g */
        uint64_t mid = (lo + hi) / 2, x;
        memcpy(&x, area + mid * KEEL_PAGE_SIZE + 8, 8);
        if (x == g)
            lo = mid + 1;
        else
            hi = mid;
    }
    return g ? (g - 1) * ws + lo : 0;
}

static double rate_over(const uint8_t *area, uint64_t ws, struct engine *e, int domid, int on)
{
    static uint8_t bm[PAGES / 8];
    uint64_t w0 = written(area, ws), t0 = hvhost_now_ns(), w1;

    for (int i = 0; i < 15; i++) {
        usleep(100000);
        if (on)
            put(e, CLEAN_BUSY, timed_clean(e, domid, bm));
    }
    w1 = written(area, ws);
    return (double)(w1 - w0) / ((double)(hvhost_now_ns() - t0) / 1e9) / 1000.0;
}

/* The guest's write rate with log-dirty off, then on. */
static void slowdown(struct engine *e)
{
    int domid = hvhost_boot(&e->host, "dirtier", "size=256 rate=100000000 verify=0", 1, MIB);
    const char *con;
    uint64_t ws, addr;
    uint8_t *area;
    double off, on;

    if (domid < 0 || !hvhost_wait_console(&e->host, (uint32_t)domid, " pages at ", 5000)) {
        fprintf(stderr, "bench-logdirty: %s: the writing loop did not start\n", e->name);
        return;
    }
    con = hvhost_console(&e->host, (uint32_t)domid);
    ws = strtoull(strstr(con, "dirtier: ") + 9, NULL, 10);
    addr = strtoull(strstr(con, " pages at ") + 10, NULL, 16);
    area = kc_map_foreign(e->host.h, (uint32_t)domid, PROT_READ,
                          (addr - KEEL_GUEST_BASE) >> KEEL_PAGE_SHIFT, ws);
    if (!area) {
        fprintf(stderr, "bench-logdirty: %s: cannot map the working set\n", e->name);
        return;
    }
    usleep(500000);                      /* past the initial fill */
    off = rate_over(area, ws, e, domid, 0);
    kc_logdirty_enable(e->host.h, (uint32_t)domid);
    on = rate_over(area, ws, e, domid, 1);
    kc_logdirty_disable(e->host.h, (uint32_t)domid);
    put(e, RATE_OFF, off);
    put(e, RATE_ON, on);
    put(e, SLOWDOWN, on / off);
    kc_unmap_foreign(area, ws);
    kc_domain_destroy(e->host.h, (uint32_t)domid);
}

struct target {
    struct hvhost *host;
    int fd, domid, rc;
    uint64_t unpaused_ns;
};

static uint64_t paused_ns;

static void on_progress(const struct kg_save_progress *p, void *arg)
{
    (void)arg;
    if (p->stop_and_copy && !paused_ns)
        paused_ns = hvhost_now_ns();
}

static void *receive(void *arg)
{
    struct target *t = arg;
    char err[256];

    t->rc = kg_restore(t->host->h, (uint32_t)t->domid, (uint64_t)MIB << 10, t->fd, NULL, err,
                       sizeof(err));
    if (t->rc == 0)
        t->rc = kc_domain_unpause(t->host->h, (uint32_t)t->domid);
    t->unpaused_ns = hvhost_now_ns();
    return NULL;
}

/* A live migration of the 1 GiB dirtier to a new domain on the same core. */
static void migration(struct engine *e)
{
    struct kg_save_opts o = { .live = 1, .progress = on_progress };
    struct target t = { .host = &e->host };
    struct kg_save_stats st;
    int src = hvhost_boot(&e->host, "dirtier", "size=900 rate=10000 verify=0", 1, MIB), sv[2], rc;
    char err[256] = "";
    pthread_t th;
    uint64_t t0;

    if (src < 0 || !hvhost_wait_console(&e->host, (uint32_t)src, "tick 1 ", 30000) ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    t.fd = sv[1];
    t.domid = hvhost_create(&e->host, 1, MIB);
    paused_ns = 0;
    pthread_create(&th, NULL, receive, &t);
    t0 = hvhost_now_ns();
    rc = kg_save(e->host.h, (uint32_t)src, sv[0], &o, &st, err, sizeof(err));
    close(sv[0]);
    pthread_join(th, NULL);
    close(sv[1]);
    if (rc < 0 || t.rc < 0)
        fprintf(stderr, "bench-logdirty: %s: migration failed: %s\n", e->name, err);
    else {
        put(e, MIG_TOTAL, (double)(t.unpaused_ns - t0) / 1e6);
        put(e, MIG_DOWN, (double)(t.unpaused_ns - paused_ns) / 1e6);
        put(e, MIG_SENDER, (double)st.downtime_ns / 1e6);
        printf("  %s: migration %u rounds, %llu pages sent, %llu in the stop-and-copy\n", e->name,
               st.rounds, (unsigned long long)st.pages_sent, (unsigned long long)st.last_dirty);
    }
    kc_domain_destroy(e->host.h, (uint32_t)src);
    if (t.domid > 0)
        kc_domain_destroy(e->host.h, (uint32_t)t.domid);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(struct engine *e, int f)
{
    qsort(e->v[f], (size_t)e->n[f], sizeof(double), cmp_d);
    return e->n[f] ? e->v[f][e->n[f] / 2] : 0;
}

static void report(struct engine *eng, int ne)
{
    printf("\n%-43s", "figure");
    for (int i = 0; i < ne; i++)
        printf(" | %-7s median [min - max]      ", eng[i].name);
    printf(" | ratio to async\n");
    for (int f = 0; f < NFIG; f++) {
        double m[3] = { 0, 0, 0 };
        printf("%-43s", fig_name[f]);
        for (int i = 0; i < ne; i++) {
            struct engine *e = &eng[i];
            m[i] = median(e, f);
            if (e->n[f])
                printf(" | %9.3f [%8.3f - %8.3f]", m[i], e->v[f][0], e->v[f][e->n[f] - 1]);
            else
                printf(" | %-29s", "  -");
        }
        for (int i = 1; i < ne && m[0] > 0; i++)
            printf(" | %s %.2f", eng[i].name, m[i] / m[0]);
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    static struct engine eng[3] = { { .name = "async", .env = "async" },
                                    { .name = "sync", .env = "sync" },
                                    { .name = "sync-1", .env = "sync", .ahead = "0" } };
    int runs = argc > 1 ? atoi(argv[1]) : 3;

    if (runs < 1 || runs > MAX_RUNS)
        runs = 3;
    for (int i = 0; i < 3; i++) {
        setenv("KEEL_LOGDIRTY", eng[i].env, 1);
        if (eng[i].ahead)
            setenv("KEEL_LOGDIRTY_AHEAD", eng[i].ahead, 1);
        else
            unsetenv("KEEL_LOGDIRTY_AHEAD");
        eng[i].up = hvhost_start(&eng[i].host) == 0;
        if (!eng[i].up)
            printf("bench-logdirty: the %s engine is not available here (see keel-hv's log)\n",
                   eng[i].name);
    }
    printf("bench-logdirty: %d runs, engines taking turns; 1 GiB guests\n", runs);
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < 3; i++) {
            struct engine *e = &eng[(r + i) % 3];   /* rotate which goes first */
            if (!e->up)
                continue;
            if (!getenv("BENCH_ONLY_MIG")) {
                clean_cost(e);
                slowdown(e);
            }
            migration(e);
        }
    for (int i = 0; i < 3; i++)
        if (eng[i].up)
            hvhost_stop(&eng[i].host);
    report(eng, 3);
    return 0;
}
