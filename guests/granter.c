/* granter - grant-table test guest. It registers a grant table, fills `pages` pages with a
 * pattern (page i: every byte 0x41 + i), grants each page to domain `to` read-only and
 * read-write, grants page 0 to domain `other` as well, and `extra` more read-write grants of its
 * last page to `to`; it prints the references, then obeys commands the test writes into its
 * mailbox page (through a foreign mapping) and answers each on the console as
 * "done SEQ ..." lines.
 *
 * Command line: to=D other=D pages=N frames=F extra=M
 * Mailbox commands (struct mbox): 1 END ref; 2 PEEK page offset (prints the byte); 3 INUSE ref;
 * 4 COPYIN dom ref offset len (grant copy from another domain's grant into its scratch page,
 * prints the status and the first byte); 5 COPYOUT dom ref offset len (from its scratch page,
 * filled with 0x5a, into another domain's grant); 6 REGRANT page readonly (a new grant of a page
 * to `to`); 7 SETUP again (rt_gnttab_resume); 8 QUIT; 9 MAP dom ref (a guest's map attempt);
 * 10 QUERY its own table's size. */
#include "rt/keel_guest.h"

struct mbox {
    volatile uint32_t seq;               /* the test bumps it after writing cmd and args */
    uint32_t cmd;
    uint32_t a, b, c, d;
};

static uint8_t *scratch;

static long grant_copy(uint32_t dom, uint32_t ref, uint32_t off, uint32_t len, int in)
{
    struct keel_gnttab_copy op = { 0 };
    long rc;

    op.len = (uint16_t)len;
    if (in) {
        op.flags = KEEL_GNTCOPY_source_gref;
        op.source.u.ref = ref;
        op.source.domid = (uint16_t)dom;
        op.source.offset = (uint16_t)off;
        op.dest.u.gmfn = rt_virt_to_gfn(scratch);
        op.dest.domid = KEEL_DOMID_SELF;
    } else {
        memset(scratch, 0x5a, KEEL_PAGE_SIZE);
        op.flags = KEEL_GNTCOPY_dest_gref;
        op.dest.u.ref = ref;
        op.dest.domid = (uint16_t)dom;
        op.dest.offset = (uint16_t)off;
        op.source.u.gmfn = rt_virt_to_gfn(scratch);
        op.source.domid = KEEL_DOMID_SELF;
    }
    rc = hypercall(KH_GRANT_TABLE_OP, (long)KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_COPY, 1), &op);
    return rc < 0 ? rc : op.status;
}

static void obey(struct mbox *m, uint8_t **page, uint32_t npages, uint32_t to, uint32_t seq)
{
    switch (m->cmd) {
    case 1:
        rt_printf("done %u end ref=%u rc=%d\n", seq, m->a, rt_gnttab_end(m->a));
        break;
    case 2:
        rt_printf("done %u peek page=%u off=%u byte=0x%x\n", seq, m->a, m->b,
                  m->a < npages && m->b < KEEL_PAGE_SIZE ? page[m->a][m->b] : 0xfff);
        break;
    case 3:
        rt_printf("done %u inuse ref=%u %d\n", seq, m->a, rt_gnttab_in_use(m->a));
        break;
    case 4: {
        long st = grant_copy(m->a, m->b, m->c, m->d, 1);
        rt_printf("done %u copyin status=%ld byte=0x%x\n", seq, st, scratch[0]);
        break;
    }
    case 5:
        rt_printf("done %u copyout status=%ld\n", seq, grant_copy(m->a, m->b, m->c, m->d, 0));
        break;
    case 6:
        rt_printf("done %u regrant ref=%d\n", seq,
                  m->a < npages ? rt_gnttab_grant(to, rt_virt_to_gfn(page[m->a]), (int)m->b) : -22);
        break;
    case 7:
        rt_printf("done %u setup rc=%d\n", seq, rt_gnttab_resume());
        break;
    case 9: {                            /* guests may not map (no driver domains) */
        struct keel_gnttab_map_grant_ref mr = { .flags = KEEL_GNTMAP_host_map, .ref = m->b,
                                                .dom = m->a, .host_addr = (uint64_t)scratch };
        long rc = hypercall(KH_GRANT_TABLE_OP, (long)KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_MAP_GRANT_REF, 1),
                            &mr);
        rt_printf("done %u map rc=%ld status=%d\n", seq, rc, mr.status);
        break;
    }
    case 10: {
        struct keel_gnttab_query_size q = { .dom = KEEL_DOMID_SELF };
        long rc = hypercall(KH_GRANT_TABLE_OP, (long)KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_QUERY_SIZE, 1),
                            &q);
        rt_printf("done %u query rc=%ld status=%d frames=%u max=%u\n", seq, rc, q.status,
                  q.nr_frames, q.max_nr_frames);
        break;
    }
    default:
        rt_printf("done %u unknown\n", seq);
        break;
    }
}

int main(void)
{
    uint32_t to = (uint32_t)rt_arg_u64("to", 0), other = (uint32_t)rt_arg_u64("other", 0);
    uint32_t npages = (uint32_t)rt_arg_u64("pages", 4), extra = (uint32_t)rt_arg_u64("extra", 0);
    uint32_t frames = (uint32_t)rt_arg_u64("frames", 2), seen = 0;
    uint8_t *page[16];
    struct mbox *m;
    int rc, first = -1;

    if (npages > 16)
        npages = 16;
    if ((rc = rt_gnttab_init(frames)) < 0) {
        rt_printf("granter: grant table setup failed: %d\n", rc);
        return 1;
    }
    m = rt_page_alloc(1);
    scratch = rt_page_alloc(1);
    for (uint32_t i = 0; i < npages; i++) {
        page[i] = rt_page_alloc(1);
        if (!page[i] || !m || !scratch) {
            rt_printf("granter: out of memory\n");
            return 1;
        }
        memset(page[i], 0x41 + (int)i, KEEL_PAGE_SIZE);
        int ro = rt_gnttab_grant(to, rt_virt_to_gfn(page[i]), 1);
        int rw = rt_gnttab_grant(to, rt_virt_to_gfn(page[i]), 0);
        rt_printf("gref page=%u ro=%d rw=%d gfn=%llu\n", i, ro, rw,
                  (unsigned long long)rt_virt_to_gfn(page[i]));
    }
    rt_printf("gref other=%d\n", rt_gnttab_grant(other, rt_virt_to_gfn(page[0]), 0));
    for (uint32_t i = 0; i < extra; i++) {
        int r = rt_gnttab_grant(to, rt_virt_to_gfn(page[npages - 1]), 0);
        if (first < 0)
            first = r;
        if (r < 0) {
            rt_printf("granter: extra grant %u failed: %d\n", i, r);
            break;
        }
    }
    rt_printf("gref extra first=%d count=%u\n", first, extra);
    rt_printf("mailbox gfn=%llu\n", (unsigned long long)rt_virt_to_gfn(m));
    for (;;) {
        uint32_t seq = __atomic_load_n(&m->seq, __ATOMIC_ACQUIRE);
        if (seq == seen) {
            rt_sleep_until(rt_now() + 1000000);
            continue;
        }
        seen = seq;
        if (m->cmd == 8) {
            rt_printf("done %u quit\n", seq);
            return 0;
        }
        obey(m, page, npages, to, seq);
    }
}
