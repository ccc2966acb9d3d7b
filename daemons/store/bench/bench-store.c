/* bench-store.c - reads and writes per second over keel-stored's Unix socket, one client
 * doing synchronous round trips, against a reference measured in the same run: a raw
 * Unix-socket echo round trip of the same request size. The store runs in a child process
 * with its journal on (periodic fdatasync, the daemon's default) in a temporary directory.
 * Prints median and spread (min..max) over several runs, and the ratio to the echo. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "klog.h"
#include "ks_store.h"
#include "kio.h"
#include "ks_wire.h"

#define RUNS 5
#define OPS 20000

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(arg, NULL);
}

static void run_store(const char *dir, const char *sock, enum ks_sync sync)
{
    struct event_base *base = event_base_new();
    struct event *ev = evsignal_new(base, SIGTERM, stop_cb, base);
    struct ks_config cfg;
    struct ks_store *s;

    ks_config_defaults(&cfg);
    cfg.statedir = dir;
    cfg.sync = sync;
    evsignal_add(ev, NULL);
    if (ks_store_new(base, &cfg, &s) < 0 || ks_sock_listen(s, sock) < 0)
        _exit(1);
    event_base_dispatch(base);
    ks_store_free(s);
    event_free(ev);
    event_base_free(base);
    _exit(0);
}

static void run_echo(const char *sock)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int l = socket(AF_UNIX, SOCK_STREAM, 0), c;
    char buf[8192];
    ssize_t n;

    if (strlen(sock) >= sizeof(sa.sun_path))
        _exit(1);
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0)
        _exit(1);
    c = accept(l, NULL, NULL);
    while (c >= 0 && (n = read(c, buf, sizeof(buf))) > 0)
        if (write(c, buf, (size_t)n) != n)
            break;
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

static double bench_reads(int fd)
{
    double t = now();

    for (int i = 0; i < OPS; i++)
        if (talk(fd, KS_READ, "/bench/key", 11) < 0)
            exit(1);
    return OPS / (now() - t);
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

static double bench_echo(int fd)
{
    char buf[KS_HDR_SIZE + 11];
    double t = now();

    memset(buf, 'e', sizeof(buf));
    for (int i = 0; i < OPS; i++)
        if (full(fd, buf, sizeof(buf), 1) < 0 || full(fd, buf, sizeof(buf), 0) < 0)
            exit(1);
    return OPS / (now() - t);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, double ref)
{
    qsort(v, RUNS, sizeof(*v), cmp);
    printf("%-26s median %9.0f ops/s  spread %9.0f..%-9.0f  ratio to echo %.2f\n", what,
           v[RUNS / 2], v[0], v[RUNS - 1], ref > 0 ? v[RUNS / 2] / ref : 0.0);
}

int main(void)
{
    char dir[] = "/tmp/ks-bench.XXXXXX", ssock[256], esock[256], ysock[256], ydir[256], cmd[300];
    double r[RUNS], w[RUNS], y[RUNS], e[RUNS], eref;
    pid_t store, echo, ystore;
    int sfd, efd, yfd;

    klog_init("bench-store", KLOG_ERROR, NULL);
    if (!mkdtemp(dir))
        return 1;
    snprintf(ssock, sizeof(ssock), "%s/socket", dir);
    snprintf(esock, sizeof(esock), "%s/echo", dir);
    snprintf(ysock, sizeof(ysock), "%s/sync/socket", dir);
    snprintf(ydir, sizeof(ydir), "%s/sync", dir);
    if ((store = fork()) == 0)
        run_store(dir, ssock, KS_SYNC_PERIODIC);
    if ((ystore = fork()) == 0)
        run_store(ydir, ysock, KS_SYNC_ALWAYS);
    if ((echo = fork()) == 0)
        run_echo(esock);
    sfd = dial(ssock);
    efd = dial(esock);
    yfd = dial(ysock);
    if (talk(sfd, KS_WRITE, "/bench/key\0value", 16) < 0)
        return 1;
    for (int i = 0; i < RUNS; i++) {
        e[i] = bench_echo(efd);
        r[i] = bench_reads(sfd);
        w[i] = bench_writes(sfd, OPS);
        y[i] = bench_writes(yfd, OPS / 20);
    }
    qsort(e, RUNS, sizeof(*e), cmp);
    eref = e[RUNS / 2];
    printf("keel-stored socket benchmark: %d runs x %d synchronous round trips, one client\n",
           RUNS, OPS);
    report("unix-socket echo (ref)", e, eref);
    report("store READ", r, eref);
    report("store WRITE (journaled)", w, eref);
    report("store WRITE (sync always)", y, eref);
    close(sfd);
    close(efd);
    close(yfd);
    kill(store, SIGTERM);
    kill(ystore, SIGTERM);
    waitpid(store, NULL, 0);
    waitpid(ystore, NULL, 0);
    waitpid(echo, NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
