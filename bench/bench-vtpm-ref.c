/* bench-vtpm-ref - the dom0 side of bench-vtpm.sh: round trips of TPM2_GetRandom(32) and
 * TPM2_PCR_Extend(PCR 23, SHA-256) over a Unix stream socket speaking raw TPM 2.0 commands (the
 * server channel of Debian's swtpm, or a keel-vtpmd instance socket), the same commands and
 * the same output form as the tpmcheck guest's bench mode:
 *   ref: run R getrandom_ns=N pcr_extend_ns=N
 *   ref: result NAME MEDIAN MIN MAX
 * Usage: bench-vtpm-ref SOCKET N RUNS [startup]   (startup: send TPM2_Startup(CLEAR) first;
 * TPM_RC_INITIALIZE, already started, is fine). Times with CLOCK_MONOTONIC. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kio.h"

#define RUNS_MAX 15

static uint64_t now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One command: the response code, or -1 on a transport error. */
static long long round_trip(int fd, const uint8_t *cmd, size_t len)
{
    uint8_t rsp[4096];
    uint32_t size;

    if (kio_write_all(fd, cmd, len) < 0 || kio_read_full(fd, rsp, 10) < 0)
        return -1;
    size = be32(rsp + 2);
    if (size < 10 || size > sizeof(rsp) || kio_read_full(fd, rsp + 10, size - 10) < 0)
        return -1;
    return be32(rsp + 6);
}

static const uint8_t startup[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0 };
static const uint8_t getrandom[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 32 };
static uint8_t extend[10 + 4 + 4 + 9 + 4 + 2 + 32];

static void build_extend(void)
{
    uint8_t *p = extend;
    const uint8_t head[] = { 0x80, 0x02, 0, 0, 0, (uint8_t)sizeof(extend), 0, 0, 0x01, 0x82,
                             0, 0, 0, 23,                  /* PCR 23 */
                             0, 0, 0, 9,                   /* authorizationSize */
                             0x40, 0, 0, 0x09, 0, 0, 0, 0, 0, /* TPM_RS_PW, empty */
                             0, 0, 0, 1, 0, 0x0b };        /* one SHA-256 digest */

    memcpy(p, head, sizeof(head));
    memset(p + sizeof(head), 0x5a, 32);
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void result(const char *name, uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    printf("ref: result %s %llu %llu %llu\n", name, (unsigned long long)v[n / 2],
           (unsigned long long)v[0], (unsigned long long)v[n - 1]);
}

int main(int argc, char **argv)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    uint64_t gr[RUNS_MAX], ex[RUNS_MAX];
    long n, runs;
    long long rc;
    int fd;

    if (argc < 4 || strlen(argv[1]) >= sizeof(a.sun_path) || (n = atol(argv[2])) < 1 ||
        (runs = atol(argv[3])) < 1 || runs > RUNS_MAX) {
        fprintf(stderr, "usage: bench-vtpm-ref SOCKET N RUNS(1-%d) [startup]\n", RUNS_MAX);
        return 2;
    }
    strcpy(a.sun_path, argv[1]);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "bench-vtpm-ref: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    build_extend();
    if (argc > 4 && !strcmp(argv[4], "startup") &&
        (rc = round_trip(fd, startup, sizeof(startup))) != 0 && rc != 0x100) {
        fprintf(stderr, "bench-vtpm-ref: TPM2_Startup: response code %#llx\n", rc);
        return 1;
    }
    for (long r = 0; r < runs; r++) {
        uint64_t t0 = now_ns(), t1, t2;
        for (long i = 0; i < n; i++)
            if ((rc = round_trip(fd, getrandom, sizeof(getrandom))) != 0) {
                fprintf(stderr, "bench-vtpm-ref: TPM2_GetRandom: %#llx\n", rc);
                return 1;
            }
        t1 = now_ns();
        for (long i = 0; i < n; i++)
            if ((rc = round_trip(fd, extend, sizeof(extend))) != 0) {
                fprintf(stderr, "bench-vtpm-ref: TPM2_PCR_Extend: %#llx\n", rc);
                return 1;
            }
        t2 = now_ns();
        gr[r] = (t1 - t0) / (uint64_t)n;
        ex[r] = (t2 - t1) / (uint64_t)n;
        printf("ref: run %ld getrandom_ns=%llu pcr_extend_ns=%llu\n", r + 1,
               (unsigned long long)gr[r], (unsigned long long)ex[r]);
    }
    result("getrandom_ns", gr, (int)runs);
    result("pcr_extend_ns", ex, (int)runs);
    close(fd);
    return 0;
}
