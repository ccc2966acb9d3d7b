/* diskcheck - the disk-side companion of dirtier: writes patterned 4 KiB blocks over the first
 * size MiB of a PV disk with the block protocol (rt_blkfront), flushes, reads them back and
 * verifies, keeping qd requests of bs KiB in flight. The pattern is the device contract's
 * (block b, word i = splitmix64 of (b*512+i) ^ seed*golden), so dom0 can check the image with
 * tests/diskpattern.py and cmp. One pass by default; loop=N makes N passes and loop=0 runs
 * forever, pass p using seed+p (so a lost write shows as the previous pass's data), with a tick
 * line every second. Result lines (machine-readable):
 *   diskcheck: ok wrote N MiB verified N MiB seed S passes P
 *   diskcheck: FAIL block B word W got X want Y     (or FAIL io/open/size with the reason)
 * Command line: size=MiB (default 64) seed=S (default 1) mode=write|verify|both (default both)
 * qd=N (default 8) bs=KiB (default 64) loop=N devid=N (default: the first vbd) ring=ORDER
 * (largest ring page order to use, default 4) indirect=0 (no INDIRECT requests). */
#include "rt/keel_guest.h"

#define BLOCK 4096u
#define WORDS (BLOCK / 8)
#define MAX_QD 512

struct slot {
    struct rt_blk_req r;
    uint8_t *buf;
    uint64_t block;                      /* first 4 KiB block of the request */
    uint32_t nblocks;
    int finished;
};

static struct rt_blk *blk;
static struct slot slots[MAX_QD];
static uint32_t qd, bs_blocks;
static uint64_t total_blocks, done_blocks, tick, next_tick, pass;
static int failed;

static uint64_t mix(uint64_t seed, uint64_t x)
{
    uint64_t z = x ^ (seed * 0x9E3779B97F4A7C15ULL);

    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void fill(uint8_t *buf, uint64_t block, uint32_t n, uint64_t seed)
{
    uint64_t *w = (uint64_t *)buf;

    for (uint64_t k = 0; k < (uint64_t)n * WORDS; k++)
        w[k] = mix(seed, block * WORDS + k);
}

static int check(const uint8_t *buf, uint64_t block, uint32_t n, uint64_t seed)
{
    const uint64_t *w = (const uint64_t *)buf;

    for (uint64_t k = 0; k < (uint64_t)n * WORDS; k++) {
        uint64_t want = mix(seed, block * WORDS + k);
        if (w[k] != want) {
            rt_printf("diskcheck: FAIL block %llu word %llu got %016llx want %016llx (pass %llu "
                      "seed %llu)\n", (unsigned long long)(block + k / WORDS),
                      (unsigned long long)(k % WORDS), (unsigned long long)w[k],
                      (unsigned long long)want, (unsigned long long)pass,
                      (unsigned long long)seed);
            return -1;
        }
    }
    return 0;
}

static void on_done(struct rt_blk *b, struct rt_blk_req *r)
{
    (void)b;
    ((struct slot *)r->data)->finished = 1;
}

static void maybe_tick(const char *phase)
{
    if (rt_now() < next_tick)
        return;
    next_tick += 1000000000ULL;
    rt_printf("diskcheck: tick %llu pass %llu %s %llu/%llu MiB\n", (unsigned long long)++tick,
              (unsigned long long)pass, phase, (unsigned long long)(done_blocks * BLOCK >> 20),
              (unsigned long long)(total_blocks * BLOCK >> 20));
}

/* One sweep over the area: op RT_BLK_WRITE (fill then write) or RT_BLK_READ (read then check). */
static int sweep(int op, uint64_t seed)
{
    uint64_t next = 0;
    uint32_t busy = 0;

    done_blocks = 0;
    for (uint32_t i = 0; i < qd; i++)
        slots[i].finished = 0;
    while ((next < total_blocks || busy) && !failed) {
        for (uint32_t i = 0; i < qd && next < total_blocks; i++) {
            struct slot *s = &slots[i];
            if (s->r.busy || s->nblocks)
                continue;
            s->block = next;
            s->nblocks = (uint32_t)(total_blocks - next < bs_blocks ? total_blocks - next : bs_blocks);
            if (op == RT_BLK_WRITE)
                fill(s->buf, s->block, s->nblocks, seed);
            s->r = (struct rt_blk_req){ .op = op, .sector = s->block * (BLOCK / 512),
                                        .nsectors = (uint64_t)s->nblocks * (BLOCK / 512),
                                        .buf = s->buf, .done = on_done, .data = s };
            int rc = rt_blk_submit(blk, &s->r);
            if (rc == -11 && busy) {         /* ring or grant table full for now */
                s->nblocks = 0;
                break;
            }
            if (rc < 0) {
                rt_printf("diskcheck: FAIL io submit %s sector %llu status %d\n",
                          op == RT_BLK_WRITE ? "write" : "read",
                          (unsigned long long)s->r.sector, rc);
                failed = 1;
                break;
            }
            next += s->nblocks;
            busy++;
        }
        int rc = rt_blk_wait(blk, rt_now() + 10000000000ULL);
        if (rc == -110)
            rt_printf("diskcheck: %u requests unanswered for 10 s\n", rt_blk_inflight(blk));
        for (uint32_t i = 0; i < qd; i++) {
            struct slot *s = &slots[i];
            if (!s->finished)
                continue;
            s->finished = 0;
            busy--;
            if (s->r.status) {
                rt_printf("diskcheck: FAIL io %s sector %llu status %d (blkif %d)\n",
                          op == RT_BLK_WRITE ? "write" : "read", (unsigned long long)s->r.sector,
                          s->r.status, s->r.rsp_status);
                failed = 1;
            } else if (op == RT_BLK_READ && check(s->buf, s->block, s->nblocks, seed) < 0) {
                failed = 1;
            }
            done_blocks += s->nblocks;
            s->nblocks = 0;
        }
        maybe_tick(op == RT_BLK_WRITE ? "written" : "verified");
    }
    while (rt_blk_inflight(blk))             /* after a failure: let the rest finish */
        rt_blk_wait(blk, 0);
    return failed ? -1 : 0;
}

static int setup(uint64_t size_mib)
{
    const struct rt_blk_info *in = rt_blk_get_info(blk);
    uint64_t bs = rt_arg_u64("bs", 64) * 1024, max = (uint64_t)in->max_segs * BLOCK;

    if (size_mib << 20 > in->sectors * 512) {
        rt_printf("diskcheck: FAIL size %llu MiB > disk %llu MiB\n", (unsigned long long)size_mib,
                  (unsigned long long)(in->sectors * 512 >> 20));
        return -1;
    }
    if (!bs || bs % BLOCK || bs > max) {
        bs = bs > max ? max : 64 * 1024 > max ? max : 64 * 1024;
        rt_printf("diskcheck: bs set to %llu KiB (multiples of 4 KiB, at most %llu KiB)\n",
                  (unsigned long long)(bs >> 10), (unsigned long long)(max >> 10));
    }
    bs_blocks = (uint32_t)(bs / BLOCK);
    total_blocks = (size_mib << 20) / BLOCK;
    qd = (uint32_t)rt_arg_u64("qd", 8);
    if (qd < 1)
        qd = 1;
    if (qd > in->ring_slots)
        qd = in->ring_slots;
    if (qd > MAX_QD)
        qd = MAX_QD;
    for (uint32_t i = 0; i < qd; i++)
        if (!(slots[i].buf = rt_page_alloc(bs_blocks))) {
            rt_printf("diskcheck: memory for %u buffers only\n", i);
            if (!(qd = i))
                return -1;
        }
    rt_printf("diskcheck: vbd %u (%s): %llu MiB, sector-size %u, ring order %u (%u slots), "
              "max request %u KiB%s%s%s%s; checking %llu MiB, qd %u, bs %u KiB\n", in->devid,
              in->backend, (unsigned long long)(in->sectors * 512 >> 20), in->sector_size,
              in->ring_order, in->ring_slots, in->max_segs * 4,
              in->max_segs > 11 ? ", indirect" : "", in->flush ? ", flush" : "",
              in->discard ? ", discard" : "", in->persistent ? ", persistent grants" : "",
              (unsigned long long)size_mib, qd, bs_blocks * 4);
    return 0;
}

/* After a failure: finish what is in flight and follow the device to Closed if it is closing. */
static int fail(void)
{
    while (rt_blk_inflight(blk))
        rt_blk_wait(blk, 0);
    if (!rt_blk_connected(blk))
        rt_blk_close(blk);
    return 1;
}

int main(void)
{
    uint64_t size = rt_arg_u64("size", 64), seed = rt_arg_u64("seed", 1);
    uint64_t loop = rt_arg_u64("loop", 1), wrote = 0, verified = 0;
    const char *m = rt_arg("mode");
    int do_write = !m || !strncmp(m, "write", 5) || !strncmp(m, "both", 4);
    int do_verify = !m || !strncmp(m, "verify", 6) || !strncmp(m, "both", 4);
    struct rt_blk_opts o = { .max_ring_order = (uint32_t)rt_arg_u64("ring", 4),
                             .no_indirect = rt_arg("indirect") && !rt_arg_u64("indirect", 1),
                             .no_persistent = rt_arg("persistent") && !rt_arg_u64("persistent", 1) };
    int err = 0;

    if (!(blk = rt_blk_open((uint32_t)rt_arg_u64("devid", 0), &o, &err))) {
        rt_printf("diskcheck: FAIL open: %d\n", err);
        return 1;
    }
    if (setup(size) < 0)
        return 1;
    next_tick = rt_now() + 1000000000ULL;
    for (pass = 0; !loop || pass < loop; pass++) {
        uint64_t s = seed + pass;
        if (do_write) {
            if (sweep(RT_BLK_WRITE, s) < 0)
                return fail();
            int rc = rt_blk_flush(blk);
            if (rc < 0 && rc != -95) {
                rt_printf("diskcheck: FAIL io flush status %d\n", rc);
                return fail();
            }
            wrote += size;
        }
        if (do_verify) {
            if (sweep(RT_BLK_READ, s) < 0)
                return fail();
            verified += size;
        }
        if (loop != 1)
            rt_printf("diskcheck: pass %llu seed %llu ok\n", (unsigned long long)pass,
                      (unsigned long long)s);
    }
    rt_printf("diskcheck: ok wrote %llu MiB verified %llu MiB seed %llu passes %llu\n",
              (unsigned long long)wrote, (unsigned long long)verified,
              (unsigned long long)(seed + pass - 1), (unsigned long long)pass);
    rt_blk_close(blk);
    return 0;
}
