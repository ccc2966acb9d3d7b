/* bench-postcopy - post-copy migration (docs/lazy-restore.md) against pre-copy live migration
 * of a 256 MiB dirtier (240 MiB working set) within one core over socket pairs, at two dirty
 * rates (1000 and 100000 pages/s): downtime (from the source's pause to the target's unpause,
 * as the guest sees it) and for post-copy also the time until the target holds every frame.
 * Post-copy sends the state and ring/grant frames, the target runs at once, a server thread
 * answers the core's requests and pushes every frame (what `xl migrate --postcopy` does over
 * its link). Pre-copy is kg_save live with the target restoring while it streams. RESULT
 * lines: post-copy downtime against pre-copy's per rate, and post-copy's downtime at the high
 * rate against the low one (goal: it does not grow with the dirty rate).
 * Usage: bench-postcopy [RUNS]  (run from the build tree, as root) */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hvhost.h"
#include "kbench.h"
#include "kio.h"
#include "keel/ctrl.h"
#include "keel/guest.h"

#define MIB 256

static uint64_t paused_ns;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double stats(const char *name, uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_u64);
    printf("%-46s median %9.3f ms  min %9.3f  max %9.3f  (n=%d)\n", name, v[n / 2] / 1e6,
           v[0] / 1e6, v[n - 1] / 1e6, n);
    return v[n / 2] / 1e6;
}

static void on_progress(const struct kg_save_progress *p, void *arg)
{
    (void)arg;
    if (p->stop_and_copy && !paused_ns)
        paused_ns = hvhost_now_ns();
}

struct target {
    struct hvhost *host;
    int fd, chan, domid, rc, lazy;
    uint64_t unpaused_ns;
    char err[512];
};

static void *receive(void *arg)
{
    struct target *t = arg;
    uint64_t kb = (uint64_t)MIB << 10;

    t->rc = t->lazy ? kg_restore_postcopy(t->host->h, (uint32_t)t->domid, kb, t->fd, t->chan,
                                          NULL, NULL, t->err, sizeof(t->err))
                    : kg_restore(t->host->h, (uint32_t)t->domid, kb, t->fd, NULL, t->err,
                                 sizeof(t->err));
    if (t->rc == 0)
        t->rc = kc_domain_unpause(t->host->h, (uint32_t)t->domid);
    t->unpaused_ns = hvhost_now_ns();
    return NULL;
}

struct server {
    const uint8_t *mem;
    uint64_t pages;
    int chan;
};

static int send_frames(int fd, const uint8_t *mem, uint64_t pfn, uint32_t n)
{
    struct keel_lazy_page h = { KEEL_LAZY_PAGE_MAGIC, n, pfn };
    int rc = kio_send_all(fd, &h, sizeof(h));

    return rc < 0 ? rc : kio_send_all(fd, mem + (pfn << 12), (size_t)n << 12);
}

/* The source side: requests first, every frame pushed meanwhile; ends when the core closes. */
static void *serve(void *arg)
{
    struct server *s = arg;
    uint64_t cursor = 0;

    for (;;) {
        struct pollfd p = { s->chan, POLLIN, 0 };
        struct keel_lazy_req q;
        if (poll(&p, 1, cursor < s->pages ? 0 : 1000) < 0)
            break;
        if (p.revents) {
            if (kio_read_full(s->chan, &q, sizeof(q)) < 0)
                break;                                   /* complete: the core closed it */
            if (q.pfn < s->pages && q.count && q.count <= 256 && q.count <= s->pages - q.pfn &&
                send_frames(s->chan, s->mem, q.pfn, (uint32_t)q.count) < 0)
                break;
            continue;
        }
        if (cursor < s->pages) {
            uint32_t n = s->pages - cursor < 256 ? (uint32_t)(s->pages - cursor) : 256;
            if (send_frames(s->chan, s->mem, cursor, n) < 0)
                break;
            cursor += n;
        }
    }
    return NULL;
}

static int once(struct hvhost *host, uint32_t rate, int post, uint64_t *down, uint64_t *full)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = (uint64_t)MIB << 10,
                                     .flags = post ? KEEL_DOMCTL_CDF_LAZY_MEM : 0 };
    struct kg_save_opts o = { .live = !post, .postcopy = post, .progress = on_progress };
    struct target t = { .host = host, .lazy = post, .chan = -1 };
    struct server sv = { 0 };
    struct kg_save_stats st;
    struct keel_domctl_lazy_mem ls = { 0 };
    char cmd[96], err[512] = "";
    int sp[2], ch[2] = { -1, -1 }, src, mfd = -1, rc;
    uint32_t domid = 0;
    uint64_t size = 0;
    pthread_t th, sth;

    snprintf(cmd, sizeof(cmd), "size=%d rate=%u verify=0", MIB - 16, rate);
    src = hvhost_boot(host, "dirtier", cmd, 1, MIB);
    if (src < 0 || !hvhost_wait_console(host, (uint32_t)src, "tick 2 ", 30000) ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
        (post && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch) < 0) ||
        kc_domain_create(host->h, &cr, &domid) < 0)
        return -1;
    t.fd = sp[1];
    t.chan = ch[0];
    t.domid = (int)domid;
    paused_ns = 0;
    if (post) {                                        /* pause first: post-copy's switch */
        kc_domain_pause(host->h, (uint32_t)src);
        paused_ns = hvhost_now_ns();
    }
    pthread_create(&th, NULL, receive, &t);
    rc = kg_save(host->h, (uint32_t)src, sp[0], &o, &st, err, sizeof(err));
    close(sp[0]);
    pthread_join(th, NULL);
    close(sp[1]);
    if (rc < 0 || t.rc < 0) {
        fprintf(stderr, "bench-postcopy: %s %s\n", err, t.err);
        rc = -1;
    }
    *down = t.unpaused_ns - paused_ns;
    *full = *down;
    if (getenv("KEEL_BENCH_VERBOSE"))
        fprintf(stderr, "%s: stream written in %.3f ms (%llu pages), target unpaused after %.3f ms\n",
                post ? "post" : "pre", st.downtime_ns / 1e6, (unsigned long long)st.pages_sent,
                *down / 1e6);
    if (rc == 0 && post && kc_foreign_fd(host->h, (uint32_t)src, &mfd, &size) == 0) {
        sv.mem = mmap(NULL, size, PROT_READ, MAP_SHARED, mfd, 0);
        sv.pages = size >> 12;
        sv.chan = ch[1];
        close(mfd);
        if (sv.mem != MAP_FAILED) {
            pthread_create(&sth, NULL, serve, &sv);
            while (kc_lazy_status(host->h, domid, &ls) == 0 && ls.state == KEEL_LAZY_STATE_FILLING)
                usleep(200);
            *full = hvhost_now_ns() - paused_ns;
            shutdown(ch[1], SHUT_RDWR);
            pthread_join(sth, NULL);
            munmap((void *)sv.mem, size);
            if (ls.state != KEEL_LAZY_STATE_COMPLETE)
                rc = -1;
        }
    }
    for (int i = 0; i < 2; i++)
        if (ch[i] >= 0)
            close(ch[i]);
    kc_domain_destroy(host->h, (uint32_t)src);
    kc_domain_destroy(host->h, domid);
    return rc;
}

int main(int argc, char **argv)
{
    static const uint32_t rates[2] = { 1000, 100000 };
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    struct hvhost host;
    double low = 0;

    if (runs < 1)
        runs = 1;
    if (hvhost_start(&host) < 0) {
        fprintf(stderr, "bench-postcopy: cannot start a core\n");
        return 1;
    }
    for (int r = 0; r < 2; r++) {
        uint64_t pd[16], pf[16], cd[16], f;
        char id[64], fig[128];
        int n = 0;
        for (int i = 0; i < runs && i < 16; i++) {
            if (once(&host, rates[r], 1, &pd[n], &pf[n]) < 0 || once(&host, rates[r], 0, &cd[n], &f) < 0)
                break;
            n++;
        }
        if (!n)
            continue;
        printf("-- %d MiB guest dirtying %u pages/s\n", MIB, rates[r]);
        double a = stats("post-copy downtime", pd, n), b = stats("pre-copy downtime (reference)", cd, n);
        double c = stats("post-copy: until the target holds every frame", pf, n);
        printf("ratio post-copy / pre-copy downtime: %.3f\n", a / b);
        snprintf(id, sizeof(id), "hv.postcopy_down_%u", rates[r]);
        snprintf(fig, sizeof(fig), "post-copy downtime, %d MiB at %u pages/s", MIB, rates[r]);
        kbench_result(id, fig, a, "ms", b, "pre-copy live migration downtime", a / b, NULL);
        if (r == 0)
            low = a;
        else if (low > 0)
            kbench_result("hv.postcopy_down_growth", "post-copy downtime at 100000 pages/s "
                          "against at 1000 pages/s", a, "ms", low, "post-copy downtime at 1000 "
                          "pages/s", a / low, "<= 1.5");
        snprintf(id, sizeof(id), "hv.postcopy_full_%u", rates[r]);
        snprintf(fig, sizeof(fig), "post-copy until every frame is in, %d MiB at %u pages/s", MIB,
                 rates[r]);
        kbench_result(id, fig, c, "ms", b, "pre-copy live migration downtime", c / b, NULL);
    }
    hvhost_stop(&host);
    return 0;
}
