/* diskbench - PV block throughput and IOPS from inside a guest (rt_blkfront), for
 * bench/bench-blk.sh: sequential write then read of size MiB in requests of bs KiB with seqqd in
 * flight, and 4 KiB random reads over the same area at queue depth 1 and 32 for time ms each;
 * `runs` rounds. Prints one line per round and, at the end, one line per figure:
 *   diskbench: run R seqwrite_kibps=N seqread_kibps=N randread_qd1_iops=N randread_qd32_iops=N
 *   diskbench: result NAME MEDIAN MIN MAX
 *   diskbench: done
 * Command line: size=MiB (default 256) bs=KiB (default 1024, at most the largest request)
 * seqqd=N (default 8) time=MS (default 2000) runs=N (default 5) devid=N ring=ORDER
 * persistent=0 (per-request grants even when the backend offers persistent ones) clockcheck=MS
 * (first sleep MS by the guest's clock between two lines, for the bench to time them). */
#include "rt/keel_guest.h"

#define BLOCK 4096u
#define MAX_QD 64
#define RUNS_MAX 15

struct slot {
    struct rt_blk_req r;
    uint8_t *buf;
    int finished;
};

static struct rt_blk *blk;
static struct slot slots[MAX_QD];
static uint64_t area_blocks, rng = 0x2545F4914F6CDD1DULL;

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void on_done(struct rt_blk *b, struct rt_blk_req *r)
{
    (void)b;
    ((struct slot *)r->data)->finished = 1;
}

/* Keep qd requests of `blocks` 4 KiB blocks in flight: sequential from 0 over the area (rand=0)
 * or at random aligned offsets until `ns` passed. Returns completed requests, -1 on error. */
static int64_t run(int op, uint32_t blocks, uint32_t qd, int rand, uint64_t ns, uint64_t *elapsed)
{
    uint64_t next = 0, start = rt_now(), end = start + ns;
    uint32_t busy = 0;
    int64_t done = 0;
    int stop = 0;

    for (uint32_t i = 0; i < qd; i++)
        slots[i].finished = 0;
    while (busy || !stop) {
        for (uint32_t i = 0; i < qd && !stop; i++) {
            struct slot *s = &slots[i];
            if (s->r.busy)
                continue;
            uint64_t at = rand ? xorshift() % (area_blocks / blocks) * blocks : next;
            if ((!rand && at + blocks > area_blocks) || (rand && rt_now() >= end)) {
                stop = 1;
                break;
            }
            s->r = (struct rt_blk_req){ .op = op, .sector = at * (BLOCK / 512),
                                        .nsectors = (uint64_t)blocks * (BLOCK / 512),
                                        .buf = s->buf, .done = on_done, .data = s };
            int rc = rt_blk_submit(blk, &s->r);
            if (rc == -11 && busy)
                break;
            if (rc < 0) {
                rt_printf("diskbench: FAIL submit: %d\n", rc);
                return -1;
            }
            next = at + blocks;
            busy++;
        }
        rt_blk_wait(blk, 0);
        for (uint32_t i = 0; i < qd; i++) {
            if (!slots[i].finished)
                continue;
            slots[i].finished = 0;
            busy--;
            if (slots[i].r.status) {
                rt_printf("diskbench: FAIL io status %d\n", slots[i].r.status);
                return -1;
            }
            done++;
        }
    }
    *elapsed = rt_now() - start;
    return done;
}

static void sort(uint64_t *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

static void result(const char *name, uint64_t *v, int n)
{
    sort(v, n);
    rt_printf("diskbench: result %s %llu %llu %llu\n", name, (unsigned long long)v[n / 2],
              (unsigned long long)v[0], (unsigned long long)v[n - 1]);
}

int main(void)
{
    uint64_t size = rt_arg_u64("size", 256), bs = rt_arg_u64("bs", 1024) * 1024;
    uint64_t ns = rt_arg_u64("time", 2000) * 1000000ULL, el;
    uint32_t seqqd = (uint32_t)rt_arg_u64("seqqd", 8);
    uint64_t clockcheck = rt_arg_u64("clockcheck", 0);
    int runs = (int)rt_arg_u64("runs", 5), err = 0;
    uint64_t sw[RUNS_MAX], sr[RUNS_MAX], r1[RUNS_MAX], r32[RUNS_MAX];
    struct rt_blk_opts o = { .max_ring_order = (uint32_t)rt_arg_u64("ring", 4),
                             .no_persistent = rt_arg("persistent") && !rt_arg_u64("persistent", 1) };
    const struct rt_blk_info *in;

    if (!(blk = rt_blk_open((uint32_t)rt_arg_u64("devid", 0), &o, &err))) {
        rt_printf("diskbench: FAIL open: %d\n", err);
        return 1;
    }
    in = rt_blk_get_info(blk);
    if (bs > (uint64_t)in->max_segs * BLOCK)
        bs = (uint64_t)in->max_segs * BLOCK;
    bs &= ~(uint64_t)(BLOCK - 1);
    if (size << 20 > in->sectors * 512)
        size = in->sectors * 512 >> 20;
    area_blocks = (size << 20) / BLOCK;
    if (seqqd < 1 || seqqd > MAX_QD)
        seqqd = 8;
    if (runs < 1 || runs > RUNS_MAX)
        runs = 5;
    if (!bs || area_blocks < bs / BLOCK || in->ring_slots < 32) {
        rt_printf("diskbench: FAIL disk or ring too small (%llu MiB, %u slots)\n",
                  (unsigned long long)size, in->ring_slots);
        return 1;
    }
    for (uint32_t i = 0; i < MAX_QD; i++)
        if (!(slots[i].buf = rt_page_alloc((uint32_t)(i < seqqd ? bs / BLOCK : 1)))) {
            rt_printf("diskbench: FAIL out of memory for buffers\n");
            return 1;
        }
    rt_printf("diskbench: vbd %u: %llu MiB area, bs %llu KiB, seqqd %u, ring %u slots, max "
              "request %u KiB, %s grants\n", in->devid, (unsigned long long)size,
              (unsigned long long)(bs >> 10), seqqd, in->ring_slots, in->max_segs * 4,
              in->persistent ? "persistent" : "per-request");
    if (clockcheck) {                          /* bench-blk.sh times this against dom0's clock */
        rt_printf("diskbench: clock start\n");
        rt_sleep_until(rt_now() + clockcheck * 1000000ULL);
        rt_printf("diskbench: clock end %llu ms\n", (unsigned long long)clockcheck);
    }
    for (int r = 0; r < runs; r++) {
        int64_t n;
        uint32_t b = (uint32_t)(bs / BLOCK);
        if ((n = run(RT_BLK_WRITE, b, seqqd, 0, 0, &el)) < 0)
            return 1;
        uint64_t t0 = rt_now();
        int f = rt_blk_flush(blk);             /* timed with the writes: data on stable storage */
        el += rt_now() - t0;
        if (f < 0 && f != -95)
            return 1;
        sw[r] = (uint64_t)n * (bs >> 10) * 1000000000ULL / (el ? el : 1);
        if ((n = run(RT_BLK_READ, b, seqqd, 0, 0, &el)) < 0)
            return 1;
        sr[r] = (uint64_t)n * (bs >> 10) * 1000000000ULL / (el ? el : 1);
        if ((n = run(RT_BLK_READ, 1, 1, 1, ns, &el)) < 0)
            return 1;
        r1[r] = (uint64_t)n * 1000000000ULL / (el ? el : 1);
        if ((n = run(RT_BLK_READ, 1, 32, 1, ns, &el)) < 0)
            return 1;
        r32[r] = (uint64_t)n * 1000000000ULL / (el ? el : 1);
        rt_printf("diskbench: run %d seqwrite_kibps=%llu seqread_kibps=%llu randread_qd1_iops=%llu "
                  "randread_qd32_iops=%llu\n", r + 1, (unsigned long long)sw[r],
                  (unsigned long long)sr[r], (unsigned long long)r1[r], (unsigned long long)r32[r]);
    }
    result("seqwrite_kibps", sw, runs);
    result("seqread_kibps", sr, runs);
    result("randread_qd1_iops", r1, runs);
    result("randread_qd32_iops", r32, runs);
    rt_printf("diskbench: done\n");
    rt_blk_close(blk);
    return 0;
}
