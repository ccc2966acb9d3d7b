/* bench-blk-ref.c - the dom0 reference for bench-blk.sh: the access patterns of the diskbench
 * guest run directly on the image file with io_uring (liburing), O_DIRECT when the file system
 * takes it (as keel-blkback opens raw targets): sequential write (then fdatasync, timed with the
 * writes) and read of SIZE MiB in BS KiB requests with SEQQD in flight, and 4 KiB random reads
 * at queue depth 1 and 32 for TIME ms each; RUNS rounds. Prints the guest's line format:
 *   dom0: run R seqwrite_kibps=N seqread_kibps=N randread_qd1_iops=N randread_qd32_iops=N
 *   dom0: result NAME MEDIAN MIN MAX
 * Usage: bench-blk-ref FILE SIZE_MIB BS_KIB SEQQD TIME_MS RUNS */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_QD 64
#define RUNS_MAX 15

static int fd;
static struct io_uring ring;
static uint8_t *bufs[MAX_QD];
static uint64_t area_blocks, rng = 0x2545F4914F6CDD1DULL;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Same loop as diskbench's run(): requests of `blocks` 4 KiB blocks, qd in flight. */
static int64_t run(int write, uint32_t blocks, uint32_t qd, int rand, uint64_t ns, uint64_t *elapsed)
{
    uint64_t next = 0, start = now_ns(), end = start + ns;
    uint32_t busy = 0, free_slots[MAX_QD], nfree = qd;
    int64_t done = 0;
    int stop = 0;

    for (uint32_t i = 0; i < qd; i++)
        free_slots[i] = i;
    while (busy || !stop) {
        while (nfree && !stop) {
            uint64_t at = rand ? xorshift() % (area_blocks / blocks) * blocks : next;
            if ((!rand && at + blocks > area_blocks) || (rand && now_ns() >= end)) {
                stop = 1;
                break;
            }
            uint32_t slot = free_slots[--nfree];
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            if (write)
                io_uring_prep_write(sqe, fd, bufs[slot], blocks * 4096u, at * 4096);
            else
                io_uring_prep_read(sqe, fd, bufs[slot], blocks * 4096u, at * 4096);
            io_uring_sqe_set_data64(sqe, slot);
            next = at + blocks;
            busy++;
        }
        if (busy) {
            struct io_uring_cqe *cqe;
            int rc = io_uring_submit_and_wait(&ring, 1);
            if (rc < 0) {
                fprintf(stderr, "bench-blk-ref: io_uring: %s\n", strerror(-rc));
                return -1;
            }
            while (io_uring_peek_cqe(&ring, &cqe) == 0) {
                if (cqe->res != (int)(blocks * 4096u)) {
                    fprintf(stderr, "bench-blk-ref: %s returned %d\n", write ? "write" : "read",
                            cqe->res);
                    return -1;
                }
                free_slots[nfree++] = (uint32_t)io_uring_cqe_get_data64(cqe);
                io_uring_cqe_seen(&ring, cqe);
                busy--;
                done++;
            }
        }
    }
    *elapsed = now_ns() - start;
    return done;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void result(const char *name, uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_u64);
    printf("dom0: result %s %llu %llu %llu\n", name, (unsigned long long)v[n / 2],
           (unsigned long long)v[0], (unsigned long long)v[n - 1]);
}

int main(int argc, char **argv)
{
    uint64_t sw[RUNS_MAX], sr[RUNS_MAX], r1[RUNS_MAX], r32[RUNS_MAX], el, bs, ns;
    uint32_t seqqd;
    int runs, direct = 1;

    if (argc != 7) {
        fprintf(stderr, "usage: bench-blk-ref FILE SIZE_MIB BS_KIB SEQQD TIME_MS RUNS\n");
        return 2;
    }
    area_blocks = strtoull(argv[2], NULL, 10) * 256;
    bs = strtoull(argv[3], NULL, 10) * 1024;
    seqqd = (uint32_t)atoi(argv[4]);
    ns = strtoull(argv[5], NULL, 10) * 1000000ULL;
    runs = atoi(argv[6]);
    if (!area_blocks || !bs || bs % 4096 || area_blocks < bs / 4096 || seqqd < 1 ||
        seqqd > MAX_QD || runs < 1 || runs > RUNS_MAX) {
        fprintf(stderr, "bench-blk-ref: bad arguments\n");
        return 2;
    }
    fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0 && errno == EINVAL) {
        direct = 0;
        fd = open(argv[1], O_RDWR);
    }
    if (fd < 0) {
        fprintf(stderr, "bench-blk-ref: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (int i = 0; i < MAX_QD; i++)
        if (posix_memalign((void **)&bufs[i], 4096, i < (int)seqqd ? bs : 4096))
            return 1;
    if (io_uring_queue_init(MAX_QD, &ring, 0) < 0)
        return 1;
    printf("dom0: %s, %llu MiB area, bs %llu KiB, seqqd %u%s\n", argv[1],
           (unsigned long long)(area_blocks / 256), (unsigned long long)(bs >> 10), seqqd,
           direct ? ", O_DIRECT" : ", buffered");
    for (int r = 0; r < runs; r++) {
        uint32_t b = (uint32_t)(bs / 4096);
        int64_t n;
        if ((n = run(1, b, seqqd, 0, 0, &el)) < 0)
            return 1;
        uint64_t t0 = now_ns();
        fdatasync(fd);
        el += now_ns() - t0;
        sw[r] = (uint64_t)n * (bs >> 10) * 1000000000ULL / (el ? el : 1);
        if ((n = run(0, b, seqqd, 0, 0, &el)) < 0)
            return 1;
        sr[r] = (uint64_t)n * (bs >> 10) * 1000000000ULL / (el ? el : 1);
        if ((n = run(0, 1, 1, 1, ns, &el)) < 0)
            return 1;
        r1[r] = (uint64_t)n * 1000000000ULL / (el ? el : 1);
        if ((n = run(0, 1, 32, 1, ns, &el)) < 0)
            return 1;
        r32[r] = (uint64_t)n * 1000000000ULL / (el ? el : 1);
        printf("dom0: run %d seqwrite_kibps=%llu seqread_kibps=%llu randread_qd1_iops=%llu "
               "randread_qd32_iops=%llu\n", r + 1, (unsigned long long)sw[r],
               (unsigned long long)sr[r], (unsigned long long)r1[r], (unsigned long long)r32[r]);
        fflush(stdout);
    }
    result("seqwrite_kibps", sw, runs);
    result("seqread_kibps", sr, runs);
    result("randread_qd1_iops", r1, runs);
    result("randread_qd32_iops", r32, runs);
    io_uring_queue_exit(&ring);
    close(fd);
    return 0;
}
