/* bench-blkback-path - keel-blkback's data path choice, map or copy, measured per request as the
 * worker runs it, against a granter guest: for requests of 1, 11 (44 KiB) and 256 (1 MiB)
 * segments, guest -> disk (a write request) and disk -> guest (a read request):
 *   map:  kc_gnttab_map of the request's references, preadv/pwritev straight on the mapped
 *         pages, kc_gnttab_unmap (what bb_ring.c does without persistent grants);
 *   copy: kc_gnttab_copy between the guest's pages and a backend buffer, and the file I/O on the
 *         buffer;
 *   ref:  the same file I/O from a local buffer with no grant operation at all (the reference).
 * The file is in the build tree's runtime directory (page cache). Each figure is the median of
 * ROUNDS rounds of ROUND_MS in microseconds per request with the lowest and highest round; the
 * three methods alternate inside every round, so they see the same background load. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hvhost.h"

#define ROUNDS 7
#define ROUND_MS 150
#define MAXSEG 256

enum method { MAP, COPY, REF, NMETHOD };
static const char *const mname[NMETHOD] = { "map", "copy", "ref (no grant)" };

static kc_handle *h;
static uint32_t dom, refs[MAXSEG];
static int fd;
static uint8_t *buf;

/* One request of n segments; write: guest -> file. 0 or -1. */
static int one(enum method m, int n, int write)
{
    struct iovec iov[MAXSEG];
    int rc = 0;

    if (m == MAP) {
        uint8_t *p = kc_gnttab_map(h, dom, refs, (uint32_t)n, !write, NULL);
        if (!p)
            return -1;
        for (int i = 0; i < n; i++)
            iov[i] = (struct iovec){ p + (size_t)i * 4096, 4096 };
        if ((write ? pwritev(fd, iov, n, 0) : preadv(fd, iov, n, 0)) != (ssize_t)n * 4096)
            rc = -1;
        if (kc_gnttab_unmap(h, p, (uint32_t)n) < 0)
            rc = -1;
        return rc;
    }
    if (m == COPY) {
        struct kc_gnttab_copy_seg s[MAXSEG];
        uint32_t failed = 0;
        for (int i = 0; i < n; i++)
            s[i] = (struct kc_gnttab_copy_seg){ .domid = dom, .ref = refs[i], .len = 4096,
                                                .to_guest = (uint8_t)!write,
                                                .local = buf + (size_t)i * 4096 };
        if (!write && pread(fd, buf, (size_t)n * 4096, 0) != (ssize_t)n * 4096)
            return -1;
        if (kc_gnttab_copy(h, s, (uint32_t)n, &failed) < 0 || failed)
            return -1;
        if (write && pwrite(fd, buf, (size_t)n * 4096, 0) != (ssize_t)n * 4096)
            return -1;
        return 0;
    }
    return (write ? pwrite(fd, buf, (size_t)n * 4096, 0) : pread(fd, buf, (size_t)n * 4096, 0)) ==
           (ssize_t)n * 4096 ? 0 : -1;
}

/* Microseconds per request over about ROUND_MS. */
static double round_us(enum method m, int n, int write)
{
    uint64_t t0 = hvhost_now_ns(), t;
    long count = 0;

    do {
        for (int i = 0; i < 16; i++, count++)
            if (one(m, n, write) < 0) {
                fprintf(stderr, "bench-blkback-path: %s of %d segments failed: %s\n", mname[m], n,
                        kc_error(h));
                exit(1);
            }
        t = hvhost_now_ns();
    } while (t - t0 < ROUND_MS * 1000000ull);
    return (double)(t - t0) / 1e3 / (double)count;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    static const int sizes[3] = { 1, 11, 256 };
    struct hvhost host;
    char path[300];
    const char *con, *p;
    int first = -1, d;

    if (hvhost_start(&host) < 0 ||
        (d = hvhost_boot(&host, "granter", "to=0 pages=1 frames=2 extra=256", 1, 16)) < 0 ||
        !hvhost_wait_console(&host, (uint32_t)d, "mailbox gfn=", 10000) ||
        kc_open(&h, host.rundir) < 0) {
        fprintf(stderr, "bench-blkback-path: cannot start the core and the granter (root, from "
                "the build tree)\n");
        return 1;
    }
    dom = (uint32_t)d;
    con = hvhost_console(&host, dom);
    if (!(p = strstr(con, "gref extra first=")) || sscanf(p, "gref extra first=%d", &first) != 1 ||
        first < 0) {
        fprintf(stderr, "bench-blkback-path: no extra grants in the granter's output\n");
        return 1;
    }
    for (int i = 0; i < MAXSEG; i++)
        refs[i] = (uint32_t)(first + i);
    snprintf(path, sizeof(path), "%s/path.img", host.rundir);
    if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        posix_memalign((void **)&buf, 4096, MAXSEG * 4096) || ftruncate(fd, MAXSEG * 4096) < 0) {
        perror("bench-blkback-path: image");
        return 1;
    }
    memset(buf, 0x33, MAXSEG * 4096);
    printf("bench-blkback-path: us per request, median of %d rounds of %d ms [lowest, highest]; "
           "file in the page cache\n", ROUNDS, ROUND_MS);
    printf("%-22s %24s %24s %24s %9s\n", "", mname[0], mname[1], mname[2], "copy/map");
    for (int w = 1; w >= 0; w--)
        for (int si = 0; si < 3; si++) {
            double r[NMETHOD][ROUNDS], med[NMETHOD];
            char name[40];
            for (int k = 0; k < ROUNDS; k++)
                for (int m = 0; m < NMETHOD; m++)
                    r[m][k] = round_us((enum method)m, sizes[si], w);
            snprintf(name, sizeof(name), "%s %d KiB", w ? "write" : "read", sizes[si] * 4);
            printf("%-22s", name);
            for (int m = 0; m < NMETHOD; m++) {
                qsort(r[m], ROUNDS, sizeof(double), cmp_d);
                med[m] = r[m][ROUNDS / 2];
                printf(" %8.2f [%6.2f,%7.2f]", med[m], r[m][0], r[m][ROUNDS - 1]);
            }
            printf(" %9.2f\n", med[COPY] / med[MAP]);
        }
    close(fd);
    kc_close(h);
    hvhost_stop(&host);
    return 0;
}
