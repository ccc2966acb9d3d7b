/* bench-migrate - live migration of a 1 GiB guest (a dirtier writing a fixed number of pages per
 * second over a 900 MiB working set) from one domain to a new one over a socket pair, the
 * receiving side restoring while the sender streams: total time, downtime (from the source's
 * pause to the target's unpause, as the guest sees it), rounds and pages. Reference in the same
 * run: memcpy of 1 GiB, and the time to push 1 GiB through the same kind of socket pair.
 * Usage: bench-migrate [RUNS] [PAGES_PER_SECOND]  (run from the build tree, as root) */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tests/hvhost.h"

#define MIB 1024

struct target {
    struct hvhost *host;
    int fd, domid, rc;
    uint64_t restored_ns, unpaused_ns;
    char err[512];
};

static uint64_t paused_ns;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void stats(const char *name, uint64_t *v, int n, double *median)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_u64);
    *median = v[n / 2] / 1e6;
    printf("%-46s median %9.3f ms  min %9.3f  max %9.3f  (n=%d)\n", name, *median, v[0] / 1e6,
           v[n - 1] / 1e6, n);
}

static void on_progress(const struct kg_save_progress *p, void *arg)
{
    (void)arg;
    if (p->stop_and_copy && !paused_ns)
        paused_ns = hvhost_now_ns();          /* reported right after the source paused */
}

static void *receive(void *arg)
{
    struct target *t = arg;

    t->rc = kg_restore(t->host->h, (uint32_t)t->domid, (uint64_t)MIB << 10, t->fd, NULL, t->err,
                       sizeof(t->err));
    t->restored_ns = hvhost_now_ns();
    if (t->rc == 0)
        t->rc = kc_domain_unpause(t->host->h, (uint32_t)t->domid);
    t->unpaused_ns = hvhost_now_ns();
    return NULL;
}

/* One migration; 0 with total and downtime in ns. */
static uint64_t unpause_ns;

static int migrate_once(struct hvhost *host, const char *cmdline, uint64_t *total, uint64_t *down,
                        struct kg_save_stats *st)
{
    struct kg_save_opts o = { .live = 1, .progress = on_progress };
    struct target t = { .host = host };
    int src = hvhost_boot(host, "dirtier", cmdline, 1, MIB), sv[2], rc;
    char err[512] = "";
    pthread_t th;
    uint64_t t0;

    if (src < 0 || !hvhost_wait_console(host, (uint32_t)src, "tick 1 ", 20000) ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    t.fd = sv[1];
    t.domid = hvhost_create(host, 1, MIB);
    paused_ns = 0;
    pthread_create(&th, NULL, receive, &t);
    t0 = hvhost_now_ns();
    rc = kg_save(host->h, (uint32_t)src, sv[0], &o, st, err, sizeof(err));
    close(sv[0]);
    pthread_join(th, NULL);
    close(sv[1]);
    if (rc < 0 || t.rc < 0)
        fprintf(stderr, "bench-migrate: %s %s\n", err, t.err);
    *total = t.unpaused_ns - t0;
    *down = t.unpaused_ns - paused_ns;
    unpause_ns = t.unpaused_ns - t.restored_ns;
    kc_domain_destroy(host->h, (uint32_t)src);
    if (t.domid > 0)
        kc_domain_destroy(host->h, (uint32_t)t.domid);
    return rc < 0 || t.rc < 0 ? -1 : 0;
}

static void *drain(void *arg)
{
    static char buf[1 << 20];
    int fd = *(int *)arg;

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    return NULL;
}

/* References: memcpy of 1 GiB, and 1 GiB through a socket pair to a reader thread. */
static void references(uint64_t *cp, uint64_t *sock)
{
    size_t size = (size_t)MIB << 20, chunk = 4 << 20;
    char *a = malloc(size), *b = malloc(size);
    int sv[2];
    pthread_t th;
    uint64_t t0;

    memset(a, 1, size);
    memset(b, 2, size);
    t0 = hvhost_now_ns();
    memcpy(b, a, size);
    *cp = hvhost_now_ns() - t0;
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    pthread_create(&th, NULL, drain, &sv[1]);
    t0 = hvhost_now_ns();
    for (size_t off = 0; off < size; off += chunk)
        for (size_t done = 0; done < chunk;) {
            ssize_t n = write(sv[0], a + off + done, chunk - done);
            if (n <= 0)
                break;
            done += (size_t)n;
        }
    close(sv[0]);
    pthread_join(th, NULL);
    *sock = hvhost_now_ns() - t0;
    close(sv[1]);
    free(a);
    free(b);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5, n = 0;
    unsigned long rate = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
    uint64_t total[32], down[32], cp[32], sock[32];
    double mt, md, mc, ms;
    char cmdline[96];
    struct hvhost host;

    if (runs < 1 || runs > 32)
        runs = 5;
    if (hvhost_start(&host) < 0) {
        fprintf(stderr, "bench-migrate: cannot start the hypervisor core (run as root from the build tree)\n");
        return 1;
    }
    snprintf(cmdline, sizeof(cmdline), "size=900 rate=%lu verify=0", rate);
    printf("bench-migrate: 1 GiB guest, 900 MiB working set, %lu pages/s dirtied\n", rate);
    for (int i = 0; i < runs; i++) {
        struct kg_save_stats st;
        if (migrate_once(&host, cmdline, &total[n], &down[n], &st) < 0)
            continue;
        printf("  run %d: %u rounds, %llu pages sent, %llu in the stop-and-copy, total %.1f ms, "
               "downtime %.3f ms (the sender's stop-and-copy %.3f ms, the target's unpause %.3f ms)\n", i,
               st.rounds, (unsigned long long)st.pages_sent, (unsigned long long)st.last_dirty,
               total[n] / 1e6, down[n] / 1e6, st.downtime_ns / 1e6, unpause_ns / 1e6);
        references(&cp[n], &sock[n]);
        n++;
    }
    hvhost_stop(&host);
    if (!n) {
        printf("bench-migrate: no migration succeeded\n");
        return 1;
    }
    stats("live migration 1 GiB, total", total, n, &mt);
    stats("live migration 1 GiB, downtime", down, n, &md);
    stats("reference: memcpy of 1 GiB", cp, n, &mc);
    stats("reference: 1 GiB through a socket pair", sock, n, &ms);
    printf("ratio total / memcpy: %.2f; total / socket pair: %.2f; downtime goal 10 ms: %s\n",
           mt / mc, mt / ms, md <= 10.0 ? "met" : "missed");
    return 0;
}
