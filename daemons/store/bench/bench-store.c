/* bench-store.c - reads and writes per second over keel-stored's Unix socket, one client
 * doing synchronous round trips, against a reference measured in the same run: a raw
 * Unix-socket echo round trip of the same request size. The store runs in a child process
 * with its journal on (periodic fdatasync, the daemon's default) in a temporary directory,
 * confined as keel-stored's request process is (ks_confine.c: chroot to the journal's
 * directory and the nobody user when run as root, and the seccomp filter), so the figures
 * include the filter's cost on each system call of the request path.
 * Prints median and spread (min..max) over several runs, and the ratio to the echo; then the
 * CPU time the store's process and the libevent echo's spend per request (their on-CPU time
 * from /proc/PID/schedstat around each case): what the store adds per request, which the
 * machine's load moves far less than throughput. */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "klog.h"
#include "ks_confine.h"
#include "ks_store.h"
#include "ksock.h"
#include "kio.h"
#include "ks_wire.h"

#define RUNS 9
#define OPS 10000

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Nanoseconds process `pid` (single-threaded) has run on a CPU so far; 0 if unknown. */
static double cpu_ns(pid_t pid)
{
    char path[64];
    unsigned long long ns = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
    if (!(f = fopen(path, "r")))
        return 0;
    if (fscanf(f, "%llu", &ns) != 1)
        ns = 0;
    fclose(f);
    return (double)ns;
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(arg, NULL);
}

static void run_store(const char *dir, const char *sock, enum ks_sync sync)
{
    struct event_base *base = event_base_new();
    struct event *ev = evsignal_new(base, SIGTERM, stop_cb, base);
    struct passwd *pw = getpwnam("nobody");
    uid_t uid = pw ? pw->pw_uid : 65534;
    gid_t gid = pw ? pw->pw_gid : 65534;
    int lfd = ksock_listen(sock, 0600, 64, SOCK_NONBLOCK), rc;
    struct ks_config cfg;
    struct ks_store *s;
    char err[256];

    ks_config_defaults(&cfg);
    cfg.statedir = dir;
    cfg.sync = sync;
    cfg.peer_uid = geteuid() == 0 ? 0 : -1;
    evsignal_add(ev, NULL);
    if (lfd < 0 || (geteuid() == 0 && chown(dir, uid, gid) < 0))
        _exit(1);
    if ((rc = ks_confine_jail(dir, uid, gid, err, sizeof(err))) < 0 ||
        ks_confine_filter(err, sizeof(err)) < 0) {
        fprintf(stderr, "bench-store: %s\n", err);
        _exit(1);
    }
    if (rc == 1)
        cfg.statedir = "/";
    if (ks_store_new(base, &cfg, &s) < 0 || ks_sock_adopt(s, lfd) < 0)
        _exit(1);
    event_base_dispatch(base);
    ks_store_free(s);
    event_free(ev);
    event_base_free(base);
    _exit(0);
}

/* The echo reference: blocking read + write, a process per connection (so N clients get N
 * echo processes: what the machine gives N independent round-trip pairs). */
static void run_echo(const char *sock)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int l = socket(AF_UNIX, SOCK_STREAM, 0), c;
    char buf[8192];
    ssize_t n;

    if (strlen(sock) >= sizeof(sa.sun_path))
        _exit(1);
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 16) < 0)
        _exit(1);
    signal(SIGCHLD, SIG_IGN);
    while ((c = accept(l, NULL, NULL)) >= 0) {
        if (fork() == 0) {
            while ((n = read(c, buf, sizeof(buf))) > 0)
                if (write(c, buf, (size_t)n) != n)
                    break;
            _exit(0);
        }
        close(c);
    }
    _exit(0);
}

/* The same echo on a libevent loop (epoll_wait + read + write per request, as keel-stored
 * pays): separates what the event loop costs from what the store adds. */
static void levecho_cb(evutil_socket_t fd, short what, void *arg)
{
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n == 0 || (n < 0 && errno != EAGAIN) || (n > 0 && write(fd, buf, (size_t)n) != n))
        event_base_loopbreak(arg);
}

static void levaccept_cb(evutil_socket_t l, short what, void *arg)
{
    int c = accept(l, NULL, NULL);
    struct event *ev;

    if (c >= 0 && (ev = event_new(arg, c, EV_READ | EV_PERSIST, levecho_cb, arg)))
        event_add(ev, NULL);
}

static void levtick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static void run_levecho(const char *sock)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct event_base *base = event_base_new();
    struct timeval tv = { 1, 0 };
    int l = socket(AF_UNIX, SOCK_STREAM, 0);

    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    if (!base || l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 16) < 0)
        _exit(1);
    event_add(event_new(base, l, EV_READ | EV_PERSIST, levaccept_cb, base), NULL);
    /* a 1 s timer, as the store's periodic sync: libevent then reads the clock each round */
    event_add(event_new(base, -1, EV_PERSIST, levtick_cb, NULL), &tv);
    event_base_dispatch(base);
    _exit(0);
}

static int dial(const char *sock)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(sock) >= sizeof(sa.sun_path))
        exit(1);
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    for (int i = 0; i < 200; i++) {
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        close(fd);
        usleep(10000);
    }
    fprintf(stderr, "bench-store: cannot connect to %s\n", sock);
    exit(1);
}

static int full(int fd, void *buf, size_t len, int wr)
{
    return wr ? kio_write_all(fd, buf, len) : kio_read_full(fd, buf, len);
}

/* One request/reply round trip with the store. */
static int talk(int fd, uint32_t type, const char *payload, size_t len)
{
    char buf[KS_HDR_SIZE + KS_PAYLOAD_MAX];
    struct ks_hdr h = { type, 1, 0, (uint32_t)len };

    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), payload, len);
    if (full(fd, buf, sizeof(h) + len, 1) < 0 || full(fd, &h, sizeof(h), 0) < 0 ||
        h.len > KS_PAYLOAD_MAX || full(fd, buf, h.len, 0) < 0)
        return -1;
    return h.type == KS_ERROR ? -1 : 0;
}

static double bench_reads(int fd, int ops)
{
    double t = now();

    for (int i = 0; i < ops; i++)
        if (talk(fd, KS_READ, "/bench/key", 11) < 0)
            exit(1);
    return ops / (now() - t);
}

static double bench_writes(int fd, int ops)
{
    char req[64];
    double t = now();

    for (int i = 0; i < ops; i++) {
        int n = snprintf(req, sizeof(req), "/bench/k%d%cvalue-%d", i % 100, '\0', i);
        if (talk(fd, KS_WRITE, req, (size_t)n) < 0)
            exit(1);
    }
    return ops / (now() - t);
}

static double bench_echo(int fd, int ops)
{
    char buf[KS_HDR_SIZE + 11];
    double t = now();

    memset(buf, 'e', sizeof(buf));
    for (int i = 0; i < ops; i++)
        if (full(fd, buf, sizeof(buf), 1) < 0 || full(fd, buf, sizeof(buf), 0) < 0)
            exit(1);
    return ops / (now() - t);
}

enum kind { ECHO, READS, WRITES };

static double bench_kind(int fd, enum kind k, int ops)
{
    return k == ECHO ? bench_echo(fd, ops) : k == READS ? bench_reads(fd, ops)
                                                        : bench_writes(fd, ops);
}

/* n clients at once, each its own process and connection doing `ops` synchronous round
 * trips; all start together. Returns the total operations per second. */
static double bench_multi(const char *sock, int n, enum kind k, int ops)
{
    int ready[2], go[2];
    pid_t pids[16];
    double t;
    char c;

    if (n > 16 || pipe(ready) < 0 || pipe(go) < 0)
        exit(1);
    for (int i = 0; i < n; i++) {
        if ((pids[i] = fork()) == 0) {
            int fd = dial(sock);
            close(go[1]);
            if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 0)
                _exit(1);
            bench_kind(fd, k, ops);
            _exit(0);
        }
    }
    close(ready[1]);
    close(go[0]);
    for (int i = 0; i < n; i++)
        if (read(ready[0], &c, 1) != 1)
            exit(1);
    t = now();
    close(go[1]);       /* every client starts */
    for (int i = 0; i < n; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            exit(1);
    }
    t = now() - t;
    close(ready[0]);
    return n * ops / t;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v)
{
    qsort(v, RUNS, sizeof(*v), cmp);
    return v[RUNS / 2];
}

/* Human line, then the machine-readable one bench/run-all collects. The ratio is the median
 * of the per-round ratios (each round measures the case and its reference back to back, so a
 * load that changes between rounds cancels out); goal: the least ratio issue 19 asks (0: none). */
static void report(const char *what, const char *id, const double *v, const char *refname,
                   const double *ref, double goal)
{
    double vs[RUNS], rr[RUNS], rs[RUNS], m, ratio;

    for (int i = 0; i < RUNS; i++) {
        vs[i] = v[i];
        rs[i] = ref[i];
        rr[i] = ref[i] > 0 ? v[i] / ref[i] : 0.0;
    }
    m = median(vs);
    ratio = median(rr);
    printf("%-34s median %9.0f ops/s  spread %9.0f..%-9.0f  ratio to %s %.2f (%.2f..%.2f)\n",
           what, m, vs[0], vs[RUNS - 1], refname, ratio, rr[0], rr[RUNS - 1]);
    printf("RESULT {\"id\":\"%s\",\"figure\":\"%s\",\"value\":%.0f,\"unit\":\"ops/s\","
           "\"ref\":%.0f,\"ref_name\":\"%s\",\"ratio\":%.3f", id, what, m, median(rs), refname,
           ratio);
    if (goal > 0)
        printf(",\"goal\":\">= %.2f\"", goal);
    printf("}\n");
}

/* CPU time per request (lower is better); the ratio is the libevent echo's CPU per echo over
 * the case's, per round, so 1.0 means the store costs what the event loop alone does. */
static void report_cpu(const char *what, const char *id, const double *v, const double *ref)
{
    double vs[RUNS], rr[RUNS], rs[RUNS], m, ratio;

    for (int i = 0; i < RUNS; i++) {
        vs[i] = v[i];
        rs[i] = ref[i];
        rr[i] = v[i] > 0 ? ref[i] / v[i] : 0.0;
    }
    m = median(vs);
    ratio = median(rr);
    printf("%-34s median %9.0f ns     spread %9.0f..%-9.0f  libevent echo / it %.2f (%.2f..%.2f)\n",
           what, m, vs[0], vs[RUNS - 1], ratio, rr[0], rr[RUNS - 1]);
    printf("RESULT {\"id\":\"%s\",\"figure\":\"%s\",\"value\":%.0f,\"unit\":\"ns\","
           "\"ref\":%.0f,\"ref_name\":\"libevent echo CPU per echo\",\"ratio\":%.3f}\n", id, what,
           m, median(rs), ratio);
}

int main(void)
{
    char dir[] = "/tmp/ks-bench.XXXXXX", ssock[256], esock[256], ysock[256], ydir[256], cmd[300],
         lsock[256];
    double r[RUNS], w[RUNS], y[RUNS], e[RUNS], l[RUNS];
    double me[RUNS], mr[RUNS], mw[RUNS], my[RUNS], y1[RUNS];
    double cl[RUNS], cr[RUNS], cw[RUNS], c0;
    pid_t store, echo, ystore, lev;
    int sfd, efd, yfd, lfd, nc = (int)sysconf(_SC_NPROCESSORS_ONLN) * 2;

    klog_init("bench-store", KLOG_ERROR, NULL);
    if (nc < 2)
        nc = 2;
    if (nc > 16)
        nc = 16;
    if (!mkdtemp(dir))
        return 1;
    snprintf(ssock, sizeof(ssock), "%s/socket", dir);
    snprintf(esock, sizeof(esock), "%s/echo", dir);
    snprintf(lsock, sizeof(lsock), "%s/levecho", dir);
    snprintf(ysock, sizeof(ysock), "%s/sync/socket", dir);
    snprintf(ydir, sizeof(ydir), "%s/sync", dir);
    if (mkdir(ydir, 0700) < 0)
        return 1;
    if ((store = fork()) == 0)
        run_store(dir, ssock, KS_SYNC_PERIODIC);
    if ((ystore = fork()) == 0)
        run_store(ydir, ysock, KS_SYNC_ALWAYS);
    if ((echo = fork()) == 0)
        run_echo(esock);
    if ((lev = fork()) == 0)
        run_levecho(lsock);
    sfd = dial(ssock);
    efd = dial(esock);
    yfd = dial(ysock);
    lfd = dial(lsock);
    if (talk(sfd, KS_WRITE, "/bench/key\0value", 16) < 0)
        return 1;
    for (int i = 0; i < RUNS; i++) {     /* the cases take turns: each sees the same load */
        e[i] = bench_echo(efd, OPS);
        c0 = cpu_ns(lev);
        l[i] = bench_echo(lfd, OPS);
        cl[i] = (cpu_ns(lev) - c0) / OPS;
        c0 = cpu_ns(store);
        r[i] = bench_reads(sfd, OPS);
        cr[i] = (cpu_ns(store) - c0) / OPS;
        c0 = cpu_ns(store);
        w[i] = bench_writes(sfd, OPS);
        cw[i] = (cpu_ns(store) - c0) / OPS;
        y1[i] = bench_writes(yfd, OPS / 20);
        me[i] = bench_multi(esock, nc, ECHO, OPS / nc);
        mr[i] = bench_multi(ssock, nc, READS, OPS / nc);
        mw[i] = bench_multi(ssock, nc, WRITES, OPS / nc);
        my[i] = bench_multi(ysock, nc, WRITES, OPS / 20 / nc);
        y[i] = y1[i];
    }
    printf("keel-stored socket benchmark: %d runs x %d synchronous round trips; one client, then "
           "%d clients at once (2 per CPU), each case in turn\n", RUNS, OPS, nc);
    report("unix-socket echo (ref)", "store.echo", e, "echo", e, 0);
    report("libevent echo (event-loop floor)", "store.levecho", l, "echo", e, 0);
    report("store READ", "store.read", r, "echo", e, 0.95);
    report("store WRITE (journaled)", "store.write", w, "echo", e, 0.9);
    report("store READ / libevent echo", "store.read_lev", r, "libevent echo", l, 0);
    report("store WRITE / libevent echo", "store.write_lev", w, "libevent echo", l, 0);
    report("store WRITE (sync always)", "store.write_sync", y, "echo", e, 0);
    {
        char what[64];
        snprintf(what, sizeof(what), "unix-socket echo, %d pairs", nc);
        report(what, "store.echo_multi", me, "echo", e, 0);
        snprintf(what, sizeof(what), "store READ, %d clients", nc);
        report(what, "store.read_multi", mr, "echo pairs", me, 0.95);
        snprintf(what, sizeof(what), "store WRITE, %d clients", nc);
        report(what, "store.write_multi", mw, "echo pairs", me, 0.9);
        snprintf(what, sizeof(what), "store WRITE sync always, %d clients", nc);
        report(what, "store.write_sync_multi", my, "1 client", y1, 0);
    }
    report_cpu("libevent echo CPU per echo", "store.cpu_levecho", cl, cl);
    report_cpu("store CPU per READ", "store.cpu_read", cr, cl);
    report_cpu("store CPU per WRITE (journaled)", "store.cpu_write", cw, cl);
    close(sfd);
    close(efd);
    close(yfd);
    close(lfd);
    kill(store, SIGTERM);
    kill(ystore, SIGTERM);
    kill(echo, SIGTERM);
    kill(lev, SIGTERM);
    waitpid(store, NULL, 0);
    waitpid(ystore, NULL, 0);
    waitpid(echo, NULL, 0);
    waitpid(lev, NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
