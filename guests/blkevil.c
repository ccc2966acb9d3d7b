/* blkevil - a hostile PV block frontend, one attack per boot, for the backend's tests: each
 * malformed request must get an error response or the device closed, never an OK, and never
 * hurt the backend or other guests (the test checks those from dom0). After the attack it tries
 * one ordinary read of sector 0 and reports whether the device still works. Lines:
 *   blkevil: attempt=NAME sent ...
 *   blkevil: attempt=NAME response op=O status=S | closed (backend state N) | no response
 *   blkevil: attempt=NAME after: read ok | read failed (E) | device closed
 *   blkevil: result NAME error-response|closed|refused|UNHANDLED
 * Attempts (attempt=): badsegs (12 segments in a direct request), zerosegs (a read with none),
 * pastend (a read past the last sector), badsect (first_sect > last_sect), lastsect (last_sect
 * 8: beyond the page), badgref (a reference beyond the grant table), notgranted (a revoked
 * reference), rogrant (a read into a read-only grant), badop (operation 99), discard-pastend,
 * indirect-bad (more segments than feature-max-indirect-segments), indirect-badgref (an
 * indirect page never granted), indirect-badop (indirect_op = flush), ringflood (req_prod far
 * beyond the ring), garbage-store (unparseable ring-ref/event-channel/ring-page-order before
 * Initialised), store-badref (a ring-ref never granted). devid=N picks the disk. */
#include "rt/keel_guest.h"

#include "keel/io/blkif.h"
#include "keel/io/xenbus.h"

#define WAIT_NS (5 * 1000000000ULL)

static const char *name;
static struct rt_blk *blk;
static const struct rt_blk_info *in;
static uint8_t *page, *page2;

static int grant(const void *p, int ro)
{
    int ref = rt_gnttab_grant(in->backend_id, rt_virt_to_gfn(p), ro);

    if (ref < 0)
        rt_panic("blkevil: grant failed: %d", ref);
    return ref;
}

static void ungrant(int ref)
{
    uint64_t until = rt_now() + WAIT_NS;

    while (rt_gnttab_end((uint32_t)ref) == -16 && rt_now() < until)
        rt_sleep_until(rt_now() + 1000000ULL);
}

static void rw_req(struct keel_blkif_request *q, uint8_t op, uint64_t sector, uint8_t nseg)
{
    memset(q, 0, sizeof(*q));
    q->operation = op;
    q->nr_segments = nseg;
    q->handle = (uint16_t)in->devid;
    q->sector_number = sector;
}

/* Send one raw request and report what came back: 1 error/closed, 0 OK (unhandled). */
static int send(const void *raw)
{
    struct rt_blk_req r = { .op = RT_BLK_RAW, .raw = raw };
    uint64_t until = rt_now() + WAIT_NS;
    int rc = rt_blk_submit(blk, &r);

    if (rc < 0) {
        rt_printf("blkevil: attempt=%s submit refused: %d\n", name, rc);
        return 1;
    }
    rt_printf("blkevil: attempt=%s sent op %u\n", name, ((const uint8_t *)raw)[0]);
    while (r.busy && rt_now() < until)
        rt_blk_wait(blk, until);
    if (r.busy) {
        rt_printf("blkevil: attempt=%s no response in 5 s\n", name);
        return 1;
    }
    if (r.rsp_op < 0) {
        rt_printf("blkevil: attempt=%s closed (status %d)\n", name, r.status);
        return 1;
    }
    rt_printf("blkevil: attempt=%s response op=%d status=%d\n", name, r.rsp_op, r.rsp_status);
    return r.rsp_status != KEEL_BLKIF_RSP_OKAY;
}

static int attack_rw(void)
{
    struct keel_blkif_request q;
    int ref = grant(page, 0), rc;

    rw_req(&q, KEEL_BLKIF_OP_READ, 0, 1);
    q.seg[0] = (struct keel_blkif_segment){ .gref = (uint32_t)ref, .first_sect = 0, .last_sect = 7 };
    if (!strcmp(name, "badsegs")) {
        q.nr_segments = KEEL_BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
    } else if (!strcmp(name, "zerosegs")) {
        q.nr_segments = 0;
    } else if (!strcmp(name, "pastend")) {
        q.sector_number = in->sectors - 4;     /* the last 4 sectors and 4 beyond */
    } else if (!strcmp(name, "badsect")) {
        q.seg[0].first_sect = 5;
        q.seg[0].last_sect = 2;
    } else if (!strcmp(name, "lastsect")) {
        q.seg[0].last_sect = 8;
    } else if (!strcmp(name, "badgref")) {
        q.seg[0].gref = 0x00ffffff;
    } else if (!strcmp(name, "notgranted")) {
        int gone = grant(page2, 0);
        ungrant(gone);
        q.seg[0].gref = (uint32_t)gone;
    } else if (!strcmp(name, "rogrant")) {
        int ro = grant(page2, 1);
        q.seg[0].gref = (uint32_t)ro;
        rc = send(&q);
        ungrant(ro);
        ungrant(ref);
        return rc;
    } else if (!strcmp(name, "badop")) {
        q.operation = 99;
    }
    rc = send(&q);
    ungrant(ref);
    return rc;
}

static int attack_discard(void)
{
    struct keel_blkif_request q;
    struct keel_blkif_request_discard *d = (struct keel_blkif_request_discard *)&q;

    memset(&q, 0, sizeof(q));
    d->operation = KEEL_BLKIF_OP_DISCARD;
    d->handle = (uint16_t)in->devid;
    d->sector_number = in->sectors - 8;
    d->nr_sectors = 1ULL << 40;
    return send(&q);
}

static int attack_indirect(void)
{
    struct keel_blkif_request q;
    struct keel_blkif_request_indirect *r = (struct keel_blkif_request_indirect *)&q;
    struct keel_blkif_segment *segs = (struct keel_blkif_segment *)page2;
    int data = grant(page, 0), ind, rc;

    if (!in->indirect_segs)
        rt_printf("blkevil: attempt=%s: the backend offers no INDIRECT (sending it anyway)\n", name);
    for (int i = 0; i < KEEL_BLKIF_SEGS_PER_INDIRECT_FRAME; i++)
        segs[i] = (struct keel_blkif_segment){ .gref = (uint32_t)data, .first_sect = 0, .last_sect = 7 };
    ind = grant(page2, 1);
    memset(&q, 0, sizeof(q));
    r->operation = KEEL_BLKIF_OP_INDIRECT;
    r->indirect_op = KEEL_BLKIF_OP_READ;
    r->handle = (uint16_t)in->devid;
    r->nr_segments = 2;
    r->indirect_grefs[0] = (uint32_t)ind;
    if (!strcmp(name, "indirect-bad"))
        r->nr_segments = (uint16_t)(in->indirect_segs + 1 > 4096 ? 4097 : in->indirect_segs + 1);
    else if (!strcmp(name, "indirect-badgref"))
        r->indirect_grefs[0] = 0x00fffff0;
    else
        r->indirect_op = KEEL_BLKIF_OP_FLUSH_DISKCACHE;
    rc = send(&q);
    ungrant(ind);
    ungrant(data);
    return rc;
}

static int attack_ringflood(void)
{
    struct keel_blkif_front *f = rt_blk_ring(blk);
    struct rt_xb_dev x;
    uint64_t until = rt_now() + WAIT_NS;
    int st = -1;

    f->s->hdr.req_prod = f->req_prod_pvt + 1000 * f->size;
    keel_mb();
    rt_notify(rt_blk_port(blk));
    rt_printf("blkevil: attempt=%s sent req_prod %u on a ring of %u\n", name, f->s->hdr.req_prod,
              f->size);
    if (rt_xb_open(&x, "vbd", in->devid) == 0)
        st = rt_xb_wait_state(&x, 1u << KEEL_XB_CLOSING | 1u << KEEL_XB_CLOSED, until);
    rt_printf("blkevil: attempt=%s backend state %d after 5 s, %u responses pending\n", name,
              st < 0 ? rt_xb_state(&x, RT_XB_BACKEND) : st,
              (unsigned)(f->s->hdr.rsp_prod - f->rsp_cons));
    f->s->hdr.req_prod = f->req_prod_pvt;      /* sane again for the read after */
    return 1;
}

/* Store attacks: negotiate by hand with hostile values, see where the backend goes. */
static int attack_store(uint32_t devid)
{
    struct rt_xb_dev x;
    int rc, st;

    if ((rc = rt_xs_init()) < 0 || (rc = rt_xb_open(&x, "vbd", devid)) < 0) {
        rt_printf("blkevil: attempt=%s: no device (%d)\n", name, rc);
        return 0;
    }
    st = rt_xb_wait_state(&x, 1u << KEEL_XB_INITWAIT, rt_now() + 30 * 1000000000ULL);
    if (!strcmp(name, "garbage-store")) {
        rt_xb_write(&x, "ring-ref", "not-a-number");
        rt_xb_write(&x, "ring-page-order", "4294967297");
        rt_xb_write(&x, "event-channel", "-1");
        rt_xb_write(&x, "protocol", "x86_32-abi\x01");
    } else {
        int port = rt_alloc_unbound(x.be_id, 0, 0);
        rt_xb_write(&x, "ring-ref", "4000");
        rt_xb_printf(&x, "event-channel", "%d", port);
        rt_xb_write(&x, "protocol", "x86_64-abi");
    }
    rt_xb_switch(&x, KEEL_XB_INITIALISED);
    rt_printf("blkevil: attempt=%s sent (backend was in state %d)\n", name, st);
    st = rt_xb_wait_state(&x, 1u << KEEL_XB_CONNECTED | 1u << KEEL_XB_CLOSING | 1u << KEEL_XB_CLOSED,
                          rt_now() + WAIT_NS);
    if (st < 0)
        st = rt_xb_state(&x, RT_XB_BACKEND);
    rt_printf("blkevil: attempt=%s backend state %d\n", name, st);
    rt_printf("blkevil: result %s %s\n", name, st == KEEL_XB_CONNECTED ? "UNHANDLED" : "refused");
    return st != KEEL_XB_CONNECTED;
}

static void after(void)
{
    int rc;

    if (!rt_blk_connected(blk)) {
        rt_printf("blkevil: attempt=%s after: device closed\n", name);
        return;
    }
    rc = rt_blk_read(blk, 0, 8, page);
    if (rc == 0)
        rt_printf("blkevil: attempt=%s after: read ok\n", name);
    else
        rt_printf("blkevil: attempt=%s after: read failed (%d)%s\n", name, rc,
                  rt_blk_connected(blk) ? "" : ", device closed");
}

int main(void)
{
    uint32_t devid = (uint32_t)rt_arg_u64("devid", 0);
    int err = 0, handled;

    static const char *known[] = { "badsegs", "zerosegs", "pastend", "badsect", "lastsect",
        "badgref", "notgranted", "rogrant", "badop", "discard-pastend", "indirect-bad",
        "indirect-badgref", "indirect-badop", "ringflood", "garbage-store", "store-badref" };
    static char arg[32];
    const char *a = rt_arg("attempt");
    size_t n = 0;

    while (a && a[n] && a[n] != ' ' && n < sizeof(arg) - 1) {
        arg[n] = a[n];                         /* rt_arg's value runs to the next blank */
        n++;
    }
    for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]) && !name; i++)
        if (!strcmp(arg, known[i]))
            name = known[i];
    if (!name) {
        rt_printf("blkevil: attempt= missing or unknown ('%s')\n", arg);
        return 1;
    }
    if (!strcmp(name, "garbage-store") || !strcmp(name, "store-badref"))
        return attack_store(devid) ? 0 : 1;
    if (!(blk = rt_blk_open(devid, 0, &err))) {
        rt_printf("blkevil: FAIL open: %d\n", err);
        return 1;
    }
    in = rt_blk_get_info(blk);
    page = rt_page_alloc(1);
    page2 = rt_page_alloc(1);
    if (!page || !page2)
        return 1;
    if (!strncmp(name, "indirect-", 9))
        handled = attack_indirect();
    else if (!strcmp(name, "discard-pastend"))
        handled = attack_discard();
    else if (!strcmp(name, "ringflood"))
        handled = attack_ringflood();
    else
        handled = attack_rw();
    after();
    rt_printf("blkevil: result %s %s\n", name,
              !handled ? "UNHANDLED" : rt_blk_connected(blk) ? "error-response" : "closed");
    return handled ? 0 : 1;
}
