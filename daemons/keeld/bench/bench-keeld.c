/* bench-keeld - keeld's request rate and create latency on a running host, each against a
 * reference measured in the same run:
 *   domain.list round trips over keeld's Unix socket vs the same number of one-line echo round
 *   trips over a Unix socketpair to a thread (the transport's floor);
 *   domain.create (xl.cfg text, through the task and its task.finished event) + destroy vs
 *   kl_domain_create + kl_domain_destroy called directly (with xl.conf's claim_mode, as keeld
 *   and xl create apply it), alternating which goes first after an untimed create;
 * and, for the breakdown: host.ping, kl_domain_list called directly, the phases of the create
 * through keeld (the task's id, task.finished, the destroy) and kl_domain_create alone.
 * Usage: KEEL_RUNDIR=DIR bench-keeld [ROUNDS] (a host and keeld running on DIR, keeld started
 * with --rate 10000000: its default limit of 500 requests/s per connection would answer most
 * of the benchmark's requests with an error, which is refused here). Both paths name
 * the kernel "counter", found by liblight as xl finds it (the build tree's guests/, or
 * $KEEL_GUESTDIR). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "keel/kl_cfg.h"
#include "keel/kl_config.h"
#include "keel/kl_diag.h"
#include "keel/kl_light.h"
#include "keel/kl_xlconf.h"
#include "kbench.h"

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double report(const char *what, double *v, int n, const char *unit)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    printf("%-52s median %10.1f %s  min %10.1f  max %10.1f  (n=%d)\n", what, v[n / 2], unit, v[0],
           v[n - 1], n);
    return v[n / 2];
}

/* Read up to and including a newline into buf, through a read-ahead buffer per descriptor
 * (one descriptor at a time here). Returns bytes kept or -1. */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
    static char ahead[1 << 16];
    static size_t have, pos;
    size_t got = 0;

    for (;;) {
        char ch;
        if (pos == have) {
            ssize_t n = read(fd, ahead, sizeof(ahead));
            if (n <= 0)
                return -1;
            have = (size_t)n;
            pos = 0;
        }
        ch = ahead[pos++];
        if (got < cap - 1)
            buf[got++] = ch;
        if (ch == '\n')
            break;
    }
    buf[got] = 0;
    return (ssize_t)got;
}

static int connect_keeld(const char *rundir)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/keeld/socket", rundir);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    return fd;
}

static void *echo_main(void *arg)
{
    int fd = *(int *)arg;
    char buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    return NULL;
}

/* calls round trips of req on fd; returns calls per second. */
static double rate(int fd, const char *req, int calls, int echo)
{
    static char buf[1 << 16];
    double t0 = now_us();

    for (int i = 0; i < calls; i++) {
        if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
            return 0;
        if (echo) {
            size_t want = strlen(req), got = 0;
            while (got < want) {
                ssize_t n = read(fd, buf, want - got);
                if (n <= 0)
                    return 0;
                got += (size_t)n;
            }
        } else if (read_line(fd, buf, sizeof(buf)) < 0) {
            return 0;
        } else if (!strstr(buf, "\"result\"")) {     /* an error is not a round trip */
            fprintf(stderr, "bench-keeld: keeld answered %s", buf);
            return 0;
        }
    }
    return calls / ((now_us() - t0) / 1e6);
}

/* kl_domain_list called directly, calls times: calls per second (what keeld's domain.list
 * cannot beat: a core round trip and a store READ per domain). */
static double list_direct(kl_ctx *ctx, int calls)
{
    double t0 = now_us();

    for (int i = 0; i < calls; i++) {
        kl_dominfo *d = NULL;
        if (kl_domain_list(ctx, &d) < 0)
            return 0;
        free(d);
    }
    return calls / ((now_us() - t0) / 1e6);
}

/* the phases of the last create_rpc: answered with the task id, task.finished seen, destroyed */
static double ph_reply, ph_event, ph_destroy, ph_dcreate;  /* ph_dcreate: create_direct's create */

static int create_rpc(int fd, int i)
{
    char req[512], line[8192], *p;
    long long task;
    double t0 = now_us();

    snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"method\":\"domain.create\",\"params\":{\"config\":"
             "\"name=\\\"bk%d\\\"\\nkernel=\\\"counter\\\"\\nmemory=16\\n\"},\"id\":1}\n", i);
    if (write(fd, req, strlen(req)) < 0 || read_line(fd, line, sizeof(line)) < 0 ||
        !(p = strstr(line, "\"task\":")))
        return -1;
    ph_reply = now_us() - t0;
    task = atoll(p + 7);
    for (;;) {                                   /* the task's completion event */
        char want[64];
        if (read_line(fd, line, sizeof(line)) < 0)
            return -1;
        snprintf(want, sizeof(want), "\"task\":%lld,", task);
        if (strstr(line, "task.finished") && strstr(line, want))
            break;
    }
    if (!strstr(line, "\"state\":\"done\""))
        return -1;
    ph_event = now_us() - t0 - ph_reply;
    snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"method\":\"domain.destroy\",\"params\":"
             "{\"domain\":\"bk%d\"},\"id\":2}\n", i);
    if (write(fd, req, strlen(req)) < 0 || read_line(fd, line, sizeof(line)) < 0)
        return -1;
    ph_destroy = now_us() - t0 - ph_reply - ph_event;
    return strstr(line, "\"result\"") ? 0 : -1;
}

/* xl.conf's claim_mode, as keeld (and xl create) apply it: KL_CREATE_CLAIM or 0 */
static unsigned create_flags;

static int create_direct(kl_ctx *ctx, int i)
{
    char text[256];
    kl_domain_config dc;
    kl_cfg *cfg = NULL;
    kl_diag *d = kl_diag_new();
    uint32_t domid;
    double t0;
    int rc;

    snprintf(text, sizeof(text), "name=\"bd%d\"\nkernel=\"counter\"\nmemory=16\n", i);
    kl_domain_config_init(&dc);
    rc = kl_cfg_parse_data(&cfg, "bench", text, strlen(text), d);
    if (rc == 0)
        rc = kl_domain_config_from_cfg(&dc, cfg, 0, d);
    t0 = now_us();
    if (rc == 0)
        rc = kl_domain_create(ctx, &dc, create_flags, &domid);
    ph_dcreate = now_us() - t0;
    if (rc == 0)
        rc = kl_domain_destroy(ctx, domid);
    kl_cfg_free(cfg);
    kl_diag_free(d);
    kl_domain_config_dispose(&dc);
    return rc;
}

#define PAIRS 3                  /* create pairs per round */

/* Pair r: one create+destroy each way, the order alternating from pair to pair, a round's
 * first pair after an untimed create: the first create after the request-rate runs took 2-4x
 * the next ones whichever way it went (25-60 ms against 10-15 ms here), so neither way pays
 * that alone; times in us. */
static int create_pair(kl_ctx *ctx, int fd, int r, double *rpc, double *direct)
{
    if (r % PAIRS == 0 && create_direct(ctx, 1000 + r) < 0)   /* untimed: see above */
        return -1;
    for (int k = 0; k < 2; k++) {
        double t0 = now_us();
        if ((k + r) % 2 == 0) {
            if (create_rpc(fd, r) < 0) {
                fprintf(stderr, "bench-keeld: domain.create through RPC failed\n");
                return -1;
            }
            *rpc = now_us() - t0;
        } else {
            if (create_direct(ctx, r) < 0) {
                fprintf(stderr, "bench-keeld: kl_domain_create failed: %s\n", kl_ctx_error(ctx));
                return -1;
            }
            *direct = now_us() - t0;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *rundir = getenv("KEEL_RUNDIR");
    int rounds = argc > 1 ? atoi(argv[1]) : 5, sv[2], fd, n = 0;
    static const char list[] = "{\"jsonrpc\":\"2.0\",\"method\":\"domain.list\",\"id\":1}\n";
    static const char ping[] = "{\"jsonrpc\":\"2.0\",\"method\":\"host.ping\",\"id\":1}\n";
    double rl[32], rp[32], re[32], rd[32], ml, me, mc, md, rql, rqc;
    double cr[32 * PAIRS], cd[32 * PAIRS], pr[32 * PAIRS], pe[32 * PAIRS], pd[32 * PAIRS],
        pc[32 * PAIRS];
    int nc = 0;
    pthread_t th;
    kl_ctx *ctx;

    if (!rundir || rounds < 1 || rounds > 32 || (fd = connect_keeld(rundir)) < 0 ||
        kl_ctx_open(&ctx, rundir) < 0) {
        fprintf(stderr, "bench-keeld: needs KEEL_RUNDIR with a host and keeld running\n");
        return 1;
    }
    {   /* keeld applies xl.conf's claim_mode (default on) as xl create does: so does the reference */
        kl_xl_conf *xc = NULL;
        if (kl_xl_conf_load(&xc, NULL, NULL) == 0 && kl_xl_conf_claim_mode(xc))
            create_flags = KL_CREATE_CLAIM;
        kl_xl_conf_free(xc);
    }
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pthread_create(&th, NULL, echo_main, &sv[1]);
    {
        static const char sub[] = "{\"jsonrpc\":\"2.0\",\"method\":\"events.subscribe\","
                                  "\"params\":{\"topics\":[\"task\"]},\"id\":0}\n";
        if (write(fd, sub, sizeof(sub) - 1) < 0)
            return 1;
    }
    {
        char line[256];
        read_line(fd, line, sizeof(line));
    }
    for (int r = 0; r < rounds; r++) {
        re[n] = rate(sv[0], list, 2000, 1);
        rl[n] = rate(fd, list, 2000, 0);
        rd[n] = list_direct(ctx, 2000);
        rp[n] = rate(fd, ping, 2000, 0);
        if (rl[n] <= 0 || rp[n] <= 0) {
            fprintf(stderr, "bench-keeld: a request failed (keeld's default --rate of 500 "
                    "requests/s per connection refuses most of a benchmark's: start it with "
                    "--rate 10000000)\n");
            return 1;
        }
        for (int k = 0; k < PAIRS; k++) {
            if (create_pair(ctx, fd, r * PAIRS + k, &cr[nc], &cd[nc]) < 0)
                return 1;
            pr[nc] = ph_reply;
            pe[nc] = ph_event;
            pd[nc] = ph_destroy;
            pc[nc++] = ph_dcreate;
        }
        n++;
        for (int k = nc - PAIRS; k < nc; k++)
            printf("round %d pair %d (%s first): create+destroy through keeld %.0f us, directly "
                   "%.0f us\n", r, k % PAIRS, k % 2 ? "directly" : "keeld", cr[k], cd[k]);
    }
    if (!n)
        return 1;
    {   /* ratios per round (case and reference back to back), before report() sorts */
        double ql[32], qc[32 * PAIRS];
        for (int i = 0; i < n; i++)
            ql[i] = re[i] > 0 ? rl[i] / re[i] : 0;
        for (int i = 0; i < nc; i++)
            qc[i] = cd[i] > 0 ? cr[i] / cd[i] : 0;
        qsort(ql, (size_t)n, sizeof(double), cmp);
        qsort(qc, (size_t)nc, sizeof(double), cmp);
        rql = ql[n / 2];
        rqc = qc[nc / 2];
        printf("per-round ratios: domain.list / echo %.3f (%.3f..%.3f); per pair: create RPC / "
               "direct %.2f (%.2f..%.2f)\n", rql, ql[0], ql[n - 1], rqc, qc[0], qc[nc - 1]);
    }
    ml = report("domain.list through keeld (Unix socket)", rl, n, "req/s");
    report("host.ping through keeld (Unix socket)", rp, n, "req/s");
    me = report("reference: line echo over a socketpair", re, n, "req/s");
    report("kl_domain_list called directly (a core call, a store READ a domain)", rd, n, "calls/s");
    mc = report("domain.create+destroy through keeld (task, event)", cr, nc, "us");
    md = report("reference: kl_domain_create+destroy directly", cd, nc, "us");
    report("  through keeld: request to the task's id", pr, nc, "us");
    report("  through keeld: then to task.finished", pe, nc, "us");
    report("  through keeld: domain.destroy", pd, nc, "us");
    report("  directly: kl_domain_create alone", pc, nc, "us");
    printf("ratio domain.list rate / echo rate: %.3f; create through RPC / direct: %.2f\n", ml / me,
           mc / md);
    kbench_result("keeld.list", "keeld domain.list", ml, "req/s", me,
                  "line echo over a socketpair", rql, ">= 0.5");
    kbench_result("keeld.create", "keeld domain.create+destroy (task, event)", mc, "us", md,
                  "kl_domain_create+destroy directly", rqc, "<= 1.1");
    close(sv[0]);
    pthread_join(th, NULL);
    kl_ctx_close(ctx);
    return 0;
}
