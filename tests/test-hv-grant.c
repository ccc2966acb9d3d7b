/* test-hv-grant - grant tables on a real core, with hostile grantees and granters: Domain-0 maps
 * (read-only, writable, refused), revoking entries in use, bad references, batched statuses,
 * copies both ways and across a page, guest-to-guest copy, maptrack exhaustion, destroying the
 * granter or closing the grantee's connection while mapped, re-registration, FLASK denial.
 * Guests run `granter` (guests/granter.c) and obey commands written to their mailbox page. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvhost.h"
#include "keel/privcmd.h"
#include "tap.h"

#define MAPTRACK_FRAMES 1                /* the core runs with 512 maptrack entries per connection */
#define PER_CONN (MAPTRACK_FRAMES * 512)

static struct hvhost host;

struct mbox {
    volatile uint32_t seq;
    uint32_t cmd;
    uint32_t a, b, c, d;
};

struct granter {
    int domid;
    struct mbox *mb;
    uint32_t seq;
    int ro[16], rw[16];
    unsigned long long gfn[16], mbox_gfn;
    int other, extra_first;
    char line[256];
};

static int create_labelled(const char *label)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16 << 10 };
    uint32_t domid = 0;

    if (label)
        snprintf(cr.label, sizeof(cr.label), "%s", label);
    return kc_domain_create(host.h, &cr, &domid) < 0 ? -1 : (int)domid;
}

/* Boot `granter` in created domain g->domid and read what it printed. */
static int start_granter(struct granter *g, const char *cmdline, uint32_t pages)
{
    const char *con, *p;
    unsigned long long gfn;
    char key[32];

    if (g->domid < 0 || hvhost_build(&host, (uint32_t)g->domid, "granter", cmdline, 1, 16) < 0 ||
        kc_domain_unpause(host.h, (uint32_t)g->domid) < 0 ||
        !hvhost_wait_console(&host, (uint32_t)g->domid, "mailbox gfn=", 10000))
        return -1;
    con = hvhost_console(&host, (uint32_t)g->domid);
    for (uint32_t i = 0; i < pages; i++) {
        snprintf(key, sizeof(key), "gref page=%u ", i);
        if (!(p = strstr(con, key)) ||
            sscanf(p + strlen(key), "ro=%d rw=%d gfn=%llu", &g->ro[i], &g->rw[i], &g->gfn[i]) != 3)
            return -1;
    }
    if (!(p = strstr(con, "gref other=")) || sscanf(p, "gref other=%d", &g->other) != 1 ||
        !(p = strstr(con, "gref extra first=")) ||
        sscanf(p, "gref extra first=%d", &g->extra_first) != 1 ||
        !(p = strstr(con, "mailbox gfn=")) || sscanf(p, "mailbox gfn=%llu", &gfn) != 1)
        return -1;
    /* NULL when the policy forbids Domain-0 to map this guest (then it takes no commands) */
    g->mbox_gfn = gfn;
    g->mb = kc_map_foreign(host.h, (uint32_t)g->domid, PROT_READ | PROT_WRITE, gfn, 1);
    return 0;
}

/* Send a command; returns its answer line (after "done SEQ "), or "" on timeout. */
static const char *cmd(struct granter *g, uint32_t c, uint32_t a, uint32_t b, uint32_t cc, uint32_t d)
{
    char want[32];
    const char *p, *e;

    g->mb->cmd = c;
    g->mb->a = a;
    g->mb->b = b;
    g->mb->c = cc;
    g->mb->d = d;
    __atomic_store_n(&g->mb->seq, ++g->seq, __ATOMIC_RELEASE);
    snprintf(want, sizeof(want), "done %u ", g->seq);
    g->line[0] = 0;
    if (!hvhost_wait_console(&host, (uint32_t)g->domid, want, 10000))
        return g->line;
    p = strstr(hvhost_console(&host, (uint32_t)g->domid), want) + strlen(want);
    e = strchr(p, '\n');
    snprintf(g->line, sizeof(g->line), "%.*s", e ? (int)(e - p) : (int)strlen(p), p);
    return g->line;
}

static int peek(struct granter *g, uint32_t page, uint32_t off)
{
    unsigned v = 0x1000;
    char want[48];

    snprintf(want, sizeof(want), "peek page=%u off=%u byte=", page, off);
    const char *l = cmd(g, 2, page, off, 0, 0);
    if (!strncmp(l, want, strlen(want)))
        v = (unsigned)strtoul(l + strlen(want), NULL, 16);
    return (int)v;
}

static int end_ref(struct granter *g, int ref)
{
    int rc = 1;
    char want[40];

    snprintf(want, sizeof(want), "end ref=%d rc=", ref);
    const char *l = cmd(g, 1, (uint32_t)ref, 0, 0, 0);
    if (!strncmp(l, want, strlen(want)))
        rc = atoi(l + strlen(want));
    return rc;
}

static int in_use(struct granter *g, int ref)
{
    char want[40];

    snprintf(want, sizeof(want), "inuse ref=%d ", ref);
    const char *l = cmd(g, 3, (uint32_t)ref, 0, 0, 0);
    return strncmp(l, want, strlen(want)) ? -1 : atoi(l + strlen(want));
}

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static struct granter A, B;

static void test_map(void)
{
    uint32_t ref, nr = 0, max = 0;
    int16_t st[4];
    uint8_t *p;

    int rc = kc_gnttab_query_size(host.h, (uint32_t)A.domid, &nr, &max);
    if (!tap_ok(rc == 0 && nr == 2 && max == KEEL_GNTTAB_DEFAULT_MAX_FRAMES,
                "query_size: 2 frames registered, default max"))
        tap_diag("rc %d (%s), %u frames, max %u", rc, kc_error(host.h), nr, max);
    tap_ok(kc_gnttab_query_size(host.h, 3999, &nr, &max) == -ESRCH,
           "query_size of a domain that does not exist fails");
    ref = (uint32_t)A.ro[0];
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, st);
    tap_ok(p && st[0] == KEEL_GNTST_okay && all_bytes(p, 4096, 0x41),
           "Domain-0 maps a read-only grant and sees the granter's page");
    tap_is_int(in_use(&A, A.ro[0]), 1, "the mapped entry is marked in use (GTF_reading)");
    tap_is_int(kc_gnttab_unmap(host.h, p, 1), 0, "unmap it");
    tap_is_int(in_use(&A, A.ro[0]), 0, "unmapped: no longer in use");

    ref = (uint32_t)A.rw[1];
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 1, st);
    tap_ok(p != NULL, "Domain-0 maps a read-write grant writable");
    if (p) {
        p[5] = 0x99;
        tap_is_int(peek(&A, 1, 5), 0x99, "the granter sees Domain-0's write");
        tap_is_int(kc_gnttab_unmap(host.h, p, 1), 0, "unmap the writable mapping");
    }
    ref = (uint32_t)A.ro[1];
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 1, st);
    tap_ok(!p && st[0] == KEEL_GNTST_permission_denied && errno == EACCES,
           "a read-only grant is refused for a writable map");
    tap_is_int(in_use(&A, A.ro[1]), 0, "the refused map leaves the entry free");
    ref = (uint32_t)A.other;
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, st);
    tap_ok(!p && st[0] == KEEL_GNTST_permission_denied,
           "mapping a grant given to another domain is refused");
    ref = 3;
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, st);
    tap_ok(!p && st[0] == KEEL_GNTST_general_error, "a reserved entry never granted is refused");
    ref = 700;
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, st);
    tap_ok(!p && st[0] == KEEL_GNTST_general_error, "an entry never granted is refused");
    ref = 2 * 512;
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, st);
    tap_ok(!p && st[0] == KEEL_GNTST_bad_gntref, "a reference past the table is bad_gntref");
    ref = 0xffffffffu;
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, st);
    tap_ok(!p && st[0] == KEEL_GNTST_bad_gntref, "reference 0xffffffff is bad_gntref");
    ref = (uint32_t)A.ro[0];
    p = kc_gnttab_map(host.h, 3999, &ref, 1, 0, st);
    tap_ok(!p && st[0] == KEEL_GNTST_bad_domain, "a domain that does not exist is bad_domain");
    p = kc_gnttab_map(host.h, 0, &ref, 1, 0, st);
    tap_ok(!p && st[0] == KEEL_GNTST_bad_domain, "Domain-0 has no grant table");
}

/* Grant-table calls a guest makes on its own behalf; Domain-0 reads a registration back. */
static void test_guest_side(void)
{
    struct keel_gnttab_setup_table st = { .dom = (uint32_t)A.domid };
    long rc;

    tap_ok(starts(cmd(&A, 9, (uint32_t)B.domid, (uint32_t)B.ro[0], 0, 0), "map rc=-95 status=-1"),
           "a guest's map is refused (no driver domains): EOPNOTSUPP, general_error");
    tap_ok(starts(cmd(&A, 10, 0, 0, 0, 0), "query rc=0 status=0 frames=2 max=64"),
           "a guest queries its own table");
    rc = kc_hypercall(host.h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_SETUP_TABLE, 1),
                      &st, sizeof(st), NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    tap_ok(rc == 0 && st.status == 0 && st.nr_frames == 2 && st.first_gfn > 256,
           "Domain-0 reads a guest's table registration back");
}

/* A hostile granter writes its table entries behind the runtime's back (Domain-0 plays it through
 * a foreign mapping of A's table, at references A's runtime never handed out). */
static void test_hostile_granter(void)
{
    struct keel_gnttab_setup_table st = { .dom = (uint32_t)A.domid };
    struct keel_grant_entry_v1 *t = NULL;
    uint32_t ref = 600;
    uint8_t *p, *q;
    int16_t s1;

    if (kc_hypercall(host.h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_SETUP_TABLE, 1),
                     &st, sizeof(st), NULL, 0, NULL, 0, NULL, NULL, 0, NULL) == 0 && !st.status)
        t = kc_map_foreign(host.h, (uint32_t)A.domid, PROT_READ | PROT_WRITE, st.first_gfn, 2);
    if (!tap_ok(t != NULL, "the granter's table, as the granter sees it"))
        return;
#define ENTRY(r, fl, dm, fr) do { t[r].domid = (dm); t[r].frame = (uint32_t)(fr); \
        __atomic_store_n(&t[r].flags, (uint16_t)(fl), __ATOMIC_RELEASE); } while (0)
    ENTRY(600, KEEL_GTF_permit_access, 0, A.gfn[0]);
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 1, NULL);
    tap_ok(p && all_bytes(p, 4096, 0x41) && (t[600].flags & (KEEL_GTF_reading | KEEL_GTF_writing)) ==
           (KEEL_GTF_reading | KEEL_GTF_writing), "an entry written by hand maps; reading and writing set");
    t[600].frame = (uint32_t)A.gfn[1];                     /* retarget it while in use */
    q = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, NULL);
    tap_ok(q && all_bytes(q, 4096, 0x41),
           "a frame changed while the entry is in use does not move later mappings");
    if (q)
        kc_gnttab_unmap(host.h, q, 1);
    t[600].domid = (uint16_t)B.domid;                      /* hand it to another domain */
    q = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, &s1);
    tap_ok(!q && s1 == KEEL_GNTST_permission_denied, "retargeted to another domain: refused");
    __atomic_store_n(&t[600].flags, 0, __ATOMIC_RELEASE);  /* revoke by force, no cmpxchg */
    tap_ok(p && kc_gnttab_unmap(host.h, p, 1) == 0 && t[600].flags == 0,
           "a forced revoke: the unmap is okay and the entry stays revoked");
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, &s1);
    tap_ok(!p && s1 == KEEL_GNTST_general_error, "and cannot be mapped any more");
    ENTRY(601, KEEL_GTF_permit_access, 0, 1u << 30);
    ENTRY(602, KEEL_GTF_transitive, 0, A.gfn[0]);
    ENTRY(603, KEEL_GTF_accept_transfer, 0, A.gfn[0]);
    ENTRY(604, KEEL_GTF_permit_access | KEEL_GTF_sub_page, 0, A.gfn[0]);
    ENTRY(605, KEEL_GTF_permit_access | KEEL_GTF_reading | KEEL_GTF_writing, 0, A.gfn[0]);
    {
        uint32_t refs[5] = { 601, 602, 603, 604, 605 };
        int16_t st5[5];
        p = kc_gnttab_map(host.h, (uint32_t)A.domid, refs, 5, 0, st5);
        tap_ok(!p && st5[0] == KEEL_GNTST_bad_page && st5[1] == KEEL_GNTST_general_error &&
               st5[2] == KEEL_GNTST_general_error && st5[3] == KEEL_GNTST_general_error &&
               st5[4] == KEEL_GNTST_okay,
               "frame beyond memory: bad_page; transitive, accept_transfer, sub_page refused");
        tap_ok((t[601].flags & (KEEL_GTF_reading | KEEL_GTF_writing)) == 0,
               "the refused frame left no in-use bit behind");
        tap_ok(t[605].flags == KEEL_GTF_permit_access,
               "in-use bits are the core's: those a granter forged are gone after the last unmap");
    }
    for (int r = 600; r <= 605; r++)
        t[r].flags = 0;
    kc_unmap_foreign(t, 2);
#undef ENTRY
}

/* Writable mappings and copies into a guest are logged dirty (live migration). */
static void test_logdirty(void)
{
    uint8_t bm[512];
    uint64_t dirty;
    uint32_t ref;
    uint8_t *p;
    uint8_t v = 0x31;
    struct kc_gnttab_copy_seg s = { .domid = (uint32_t)A.domid, .ref = (uint32_t)A.rw[3],
                                    .offset = 0, .len = 1, .to_guest = 1, .local = &v };
#define BIT(g) (bm[(g) / 8] & (1u << ((g) % 8)))

    if (kc_logdirty_enable(host.h, (uint32_t)A.domid) < 0) {
        tap_diag("log-dirty mode unavailable here (%s): skipping its checks", kc_error(host.h));
        return;
    }
    kc_logdirty_read(host.h, (uint32_t)A.domid, 1, bm, 4096, &dirty);
    ref = (uint32_t)A.rw[1];
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 1, NULL);
    ref = (uint32_t)A.ro[2];
    uint8_t *q = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, NULL);
    if (p)
        p[7] = 1;
    if (p)
        kc_gnttab_unmap(host.h, p, 1);
    if (q)
        kc_gnttab_unmap(host.h, q, 1);
    kc_gnttab_copy(host.h, &s, 1, NULL);
    memset(bm, 0, sizeof(bm));
    tap_ok(kc_logdirty_read(host.h, (uint32_t)A.domid, 1, bm, 4096, &dirty) == 0 &&
           BIT(A.gfn[1]) && BIT(A.gfn[3]) && !BIT(A.gfn[2]),
           "log-dirty: the writably mapped page and the copied-into page are dirty, a read-only one not");
    kc_logdirty_disable(host.h, (uint32_t)A.domid);
#undef BIT
}

static void test_batch(void)
{
    uint32_t refs[4] = { (uint32_t)A.ro[2], (uint32_t)A.rw[2], 900, (uint32_t)A.ro[3] };
    struct keel_gnttab_map_grant_ref m[2];
    struct keel_gnttab_unmap_grant_ref u = { 0 };
    int16_t st[4];
    uint8_t *p;
    long rc;

    p = kc_gnttab_map(host.h, (uint32_t)A.domid, refs, 4, 0, st);
    tap_ok(!p && st[0] == 0 && st[1] == 0 && st[2] == KEEL_GNTST_general_error && st[3] == 0,
           "a batch with one bad reference: per-element statuses");
    tap_ok(in_use(&A, A.ro[2]) == 0 && in_use(&A, A.ro[3]) == 0,
           "a failed map leaves nothing mapped or in use");
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, refs, 2, 0, st);
    tap_ok(p && all_bytes(p, 4096, 0x43) && all_bytes(p + 4096, 4096, 0x43),
           "two references mapped into one contiguous range");
    tap_is_int(kc_gnttab_unmap(host.h, p, 1), -EINVAL, "unmapping part of a range is refused");
    tap_is_int(kc_gnttab_unmap(host.h, p, 2), 0, "unmap the whole range");
    tap_is_int(kc_gnttab_unmap(host.h, p, 2), -EINVAL, "unmapping it twice is refused");
    /* raw: bad flags, unknown handle */
    memset(m, 0, sizeof(m));
    m[0].flags = KEEL_GNTMAP_readonly;            /* no host_map */
    m[0].dom = (uint32_t)A.domid;
    m[0].ref = (uint32_t)A.ro[0];
    m[1] = m[0];
    m[1].flags = KEEL_GNTMAP_host_map | KEEL_GNTMAP_readonly | (1u << 9);
    rc = kc_hypercall(host.h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_MAP_GRANT_REF, 2),
                      m, sizeof(m), NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    tap_ok(rc == 0 && m[0].status == KEEL_GNTST_general_error &&
           m[1].status == KEEL_GNTST_general_error, "maps without host_map or with unknown flags fail");
    u.handle = 12345;
    rc = kc_hypercall(host.h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_UNMAP_GRANT_REF, 1),
                      &u, sizeof(u), NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    tap_ok(rc == 0 && u.status == KEEL_GNTST_bad_handle, "unmapping an unknown handle: bad_handle");
    rc = kc_hypercall(host.h, KH_GRANT_TABLE_OP,
                      KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_MAP_GRANT_REF, KEEL_GNTTAB_MAX_BATCH + 1),
                      m, sizeof(m), NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    tap_is_int(rc, -E2BIG, "a batch over KEEL_GNTTAB_MAX_BATCH is refused");
    rc = kc_hypercall(host.h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_MAP_GRANT_REF, 3),
                      m, sizeof(m), NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    tap_is_int(rc, -EINVAL, "a batch whose array is shorter than its count is refused");
    rc = kc_hypercall(host.h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_GET_VERSION, 0),
                      NULL, 0, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    tap_is_int(rc, 1, "get_version: 1");
}

static void test_revoke(void)
{
    uint32_t ref = (uint32_t)A.rw[2];
    uint8_t *p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 1, NULL);

    tap_ok(p != NULL, "map a writable grant");
    tap_is_int(end_ref(&A, A.rw[2]), -16, "the granter cannot revoke an entry in use (EBUSY)");
    tap_ok(p && all_bytes(p, 4096, 0x43), "the mapping still shows the page");
    tap_ok(!strcmp(cmd(&A, 7, 0, 0, 0, 0), "setup rc=-5"),
           "re-registering the table while an entry is in use is refused");
    tap_is_int(kc_gnttab_unmap(host.h, p, 1), 0, "unmap");
    tap_is_int(end_ref(&A, A.rw[2]), 0, "after unmap the granter revokes it");
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 1, NULL);
    tap_ok(!p, "a revoked grant cannot be mapped");
    tap_ok(!strcmp(cmd(&A, 7, 0, 0, 0, 0), "setup rc=0"),
           "re-registering with nothing in use works");
    ref = (uint32_t)A.ro[2];
    p = kc_gnttab_map(host.h, (uint32_t)A.domid, &ref, 1, 0, NULL);
    tap_ok(p && all_bytes(p, 4096, 0x43), "entries survive re-registration");
    if (p)
        kc_gnttab_unmap(host.h, p, 1);
}

static void test_copy(void)
{
    uint8_t in[64], out[8];
    struct kc_gnttab_copy_seg s[3];
    struct keel_gnttab_copy op;
    uint32_t failed = 9;
    long rc;

    memset(s, 0, sizeof(s));
    memset(in, 0, sizeof(in));
    memset(out, 0x77, sizeof(out));
    s[0] = (struct kc_gnttab_copy_seg){ .domid = (uint32_t)A.domid, .ref = (uint32_t)A.ro[3],
                                        .offset = 100, .len = 50, .local = in };
    s[1] = (struct kc_gnttab_copy_seg){ .domid = (uint32_t)A.domid, .ref = (uint32_t)A.rw[3],
                                        .offset = 10, .len = 8, .to_guest = 1, .local = out };
    s[2] = (struct kc_gnttab_copy_seg){ .domid = (uint32_t)A.domid, .ref = (uint32_t)A.ro[3],
                                        .offset = 20, .len = 8, .to_guest = 1, .local = out };
    rc = kc_gnttab_copy(host.h, s, 3, &failed);
    tap_ok(rc == 0 && failed == 1, "batched copy: two of three succeed");
    tap_ok(s[0].status == 0 && all_bytes(in, 50, 0x44) && in[50] == 0,
           "copy from a grant into a local buffer");
    tap_ok(s[1].status == 0 && peek(&A, 3, 10) == 0x77 && peek(&A, 3, 17) == 0x77 &&
           peek(&A, 3, 18) == 0x44, "copy from a local buffer into a writable grant");
    tap_ok(s[2].status == KEEL_GNTST_permission_denied && peek(&A, 3, 20) == 0x44,
           "copy into a read-only grant is refused");
    tap_ok(in_use(&A, A.rw[3]) == 0, "a finished copy leaves the entry free");
    s[0].offset = 4000;
    s[0].len = 200;
    tap_is_int(kc_gnttab_copy(host.h, s, 1, NULL), -EINVAL,
               "libctrl refuses a segment that crosses a page");
    memset(&op, 0, sizeof(op));
    op.flags = KEEL_GNTCOPY_source_gref;
    op.source.u.ref = (uint32_t)A.ro[3];
    op.source.domid = (uint16_t)A.domid;
    op.source.offset = 4000;
    op.len = 200;
    rc = kc_hypercall(host.h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_COPY, 1), &op,
                      sizeof(op), NULL, 0, in, sizeof(in), NULL, NULL, 0, NULL);
    tap_ok(rc == 0 && op.status == KEEL_GNTST_bad_copy_arg, "the core refuses a page-crossing copy");
    op.source.offset = 0;
    op.len = 100;                                 /* more than the output buffer */
    rc = kc_hypercall(host.h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_COPY, 1), &op,
                      sizeof(op), NULL, 0, in, sizeof(in), NULL, NULL, 0, NULL);
    tap_ok(rc == 0 && op.status == KEEL_GNTST_bad_copy_arg,
           "a copy past Domain-0's reply buffer is refused");
    op.flags = KEEL_GNTCOPY_dest_gref;            /* local source past the request's input */
    op.dest.u.ref = (uint32_t)A.rw[3];
    op.dest.domid = (uint16_t)A.domid;
    op.source.u.gmfn = 0;
    op.len = 16;
    rc = kc_hypercall(host.h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_COPY, 1), &op,
                      sizeof(op), in, 8, NULL, 0, NULL, NULL, 0, NULL);
    tap_ok(rc == 0 && op.status == KEEL_GNTST_bad_copy_arg,
           "a copy from past Domain-0's request buffer is refused");
}

static void test_guest_copy(void)
{
    tap_ok(!strcmp(cmd(&A, 4, (uint32_t)B.domid, (uint32_t)B.ro[0], 0, 16), "copyin status=0 byte=0x41"),
           "guest-to-guest: a guest copies from a grant another guest gave it");
    tap_ok(!strcmp(cmd(&A, 5, (uint32_t)B.domid, (uint32_t)B.rw[1], 100, 8), "copyout status=0") &&
           peek(&B, 1, 100) == 0x5a && peek(&B, 1, 108) == 0x42,
           "guest-to-guest: a guest copies into a writable grant of another guest");
    tap_ok(!strcmp(cmd(&A, 5, (uint32_t)B.domid, (uint32_t)B.ro[1], 0, 8), "copyout status=-8"),
           "guest-to-guest: copy into a read-only grant is refused");
    tap_ok(starts(cmd(&A, 4, (uint32_t)B.domid, (uint32_t)B.other, 0, 8), "copyin status=-8 "),
           "a guest cannot copy from a grant given to Domain-0");
    tap_ok(starts(cmd(&A, 4, (uint32_t)B.domid, (uint32_t)B.ro[0], 4090, 16), "copyin status=-10 "),
           "a guest's page-crossing copy is refused");
}

static void test_maptrack(void)
{
    struct granter C = { .domid = create_labelled(NULL) };
    uint32_t *refs = calloc(PER_CONN + 1, sizeof(*refs));
    kc_handle *h2 = NULL;
    int16_t st;
    uint8_t *p, *q;

    tap_ok(start_granter(&C, "to=0 pages=1 frames=2 extra=520", 1) == 0 && C.extra_first > 0,
           "a granter with 520 extra grants of one page");
    for (uint32_t i = 0; i <= PER_CONN; i++)
        refs[i] = (uint32_t)C.extra_first + i;
    p = kc_gnttab_map(host.h, (uint32_t)C.domid, refs, PER_CONN, 1, NULL);
    tap_ok(p != NULL, "map 512 grants: the connection's whole maptrack");
    q = kc_gnttab_map(host.h, (uint32_t)C.domid, refs + PER_CONN, 1, 1, &st);
    tap_ok(!q && st == KEEL_GNTST_no_space && errno == ENOSPC, "one more: no_space");
    tap_ok(kc_open(&h2, host.rundir) == 0 &&
           (q = kc_gnttab_map(h2, (uint32_t)C.domid, refs + PER_CONN, 1, 1, NULL)) != NULL,
           "another connection has its own maptrack");
    if (q)
        kc_gnttab_unmap(h2, q, 1);
    kc_close(h2);
    tap_is_int(kc_gnttab_unmap(host.h, p, PER_CONN), 0, "unmap the 512");
    q = kc_gnttab_map(host.h, (uint32_t)C.domid, refs + PER_CONN, 1, 1, NULL);
    tap_ok(q != NULL, "maptrack entries are reusable after unmap");
    if (q)
        kc_gnttab_unmap(host.h, q, 1);
    cmd(&C, 8, 0, 0, 0, 0);
    kc_unmap_foreign(C.mb, 1);
    kc_domain_destroy(host.h, (uint32_t)C.domid);
    free(refs);
}

/* Destroy the granter while Domain-0 maps its grants; then a new domain takes the same id. */
static void test_destroy_granter(void)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16 << 10 };
    struct granter C = { .domid = -1 }, D;
    int fds0, mem0;
    uint32_t ref, id;
    uint8_t *p, *q;
    int16_t st;

    usleep(200000);                               /* earlier connections' threads end */
    fds0 = hvhost_count_fds(host.pid);
    mem0 = hvhost_count_fds_to(host.pid, "memfd:keel");
    C.domid = create_labelled(NULL);
    tap_ok(start_granter(&C, "to=0 pages=2 frames=1", 2) == 0, "a granter to destroy");
    ref = (uint32_t)C.rw[0];
    p = kc_gnttab_map(host.h, (uint32_t)C.domid, &ref, 1, 1, NULL);
    tap_ok(p && all_bytes(p, 4096, 0x41), "Domain-0 maps its page writable");
    kc_unmap_foreign(C.mb, 1);
    tap_is_int(kc_domain_destroy(host.h, (uint32_t)C.domid), 0,
               "destroy the granter while its grant is mapped");
    id = (uint32_t)C.domid;
    memset(&D, 0, sizeof(D));
    D.domid = kc_domain_create(host.h, &cr, &id) < 0 ? -1 : (int)id;
    tap_ok(D.domid == C.domid && start_granter(&D, "to=0 pages=2 frames=1", 2) == 0,
           "a new domain with the same id runs a granter");
    if (p)
        memset(p, 0xee, 4096);                    /* the old domain's memory, not the new one's */
    tap_is_int(peek(&D, 0, 0), 0x41, "the old mapping does not reach the new domain");
    ref = (uint32_t)D.rw[0];
    q = kc_gnttab_map(host.h, (uint32_t)D.domid, &ref, 1, 0, &st);
    tap_ok(q && all_bytes(q, 4096, 0x41), "mapping the new domain's grant shows its own page");
    tap_is_int(kc_gnttab_unmap(host.h, p, 1), 0, "the backend's late unmap of the old grant is okay");
    tap_is_int(in_use(&D, D.rw[0]), 1, "the late unmap leaves the new domain's entry alone");
    if (q)
        kc_gnttab_unmap(host.h, q, 1);
    tap_is_int(in_use(&D, D.rw[0]), 0, "unmapping the new grant frees its entry");
    cmd(&D, 8, 0, 0, 0, 0);
    kc_unmap_foreign(D.mb, 1);
    kc_domain_destroy(host.h, (uint32_t)D.domid);
    if (!tap_ok(hvhost_count_fds(host.pid) == fds0 &&
                hvhost_count_fds_to(host.pid, "memfd:keel") == mem0,
                "the core holds no descriptor of the destroyed domains"))
        tap_diag("descriptors %d -> %d, memfds %d -> %d", fds0, hvhost_count_fds(host.pid), mem0,
                 hvhost_count_fds_to(host.pid, "memfd:keel"));
}

/* Save a granter while Domain-0 maps its grant and restore it into a new domain (memory copied,
 * then its domain state): the table is registered again and its stale in-use bits are clear. */
static void test_restore(void)
{
    static uint8_t state[1 << 20];
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16 << 10 };
    struct granter R = { .domid = create_labelled(NULL) };
    uint32_t ref, nd = 0, nr = 0, max = 0;
    size_t len = sizeof(state);
    uint8_t *p, *q, *src, *dst;
    int ok;

    tap_ok(start_granter(&R, "to=0 pages=2 frames=2", 2) == 0 && R.mb, "a granter to save");
    ref = (uint32_t)R.rw[1];
    p = kc_gnttab_map(host.h, (uint32_t)R.domid, &ref, 1, 1, NULL);
    kc_domain_pause(host.h, (uint32_t)R.domid);
    ok = p && kc_domain_getstate(host.h, (uint32_t)R.domid, state, &len) == 0 &&
         kc_domain_create(host.h, &cr, &nd) == 0 && kc_populate_physmap(host.h, nd, 0, 4096) == 0;
    src = ok ? kc_map_foreign(host.h, (uint32_t)R.domid, PROT_READ, 0, 4096) : NULL;
    dst = ok ? kc_map_foreign(host.h, nd, PROT_READ | PROT_WRITE, 0, 4096) : NULL;
    if (src && dst)
        memcpy(dst, src, 4096ul << 12);           /* its table says "in use" for the mapping */
    if (src)
        kc_unmap_foreign(src, 4096);
    if (dst)
        kc_unmap_foreign(dst, 4096);
    tap_ok(src && dst && kc_domain_setstate(host.h, nd, state, len) == 0,
           "state and memory of a paused granter with a mapped grant move into a new domain");
    tap_ok(kc_gnttab_query_size(host.h, nd, &nr, &max) == 0 && nr == 2,
           "the restored domain's grant table is registered again");
    kc_unmap_foreign(R.mb, 1);
    kc_domain_destroy(host.h, (uint32_t)R.domid);
    if (p)
        kc_gnttab_unmap(host.h, p, 1);
    R.domid = (int)nd;
    R.mb = kc_map_foreign(host.h, nd, PROT_READ | PROT_WRITE, R.mbox_gfn, 1);
    kc_domain_unpause(host.h, nd);
    tap_is_int(in_use(&R, R.rw[1]), 0, "the stale in-use bits of the saved mapping are cleared");
    ref = (uint32_t)R.ro[0];
    q = kc_gnttab_map(host.h, nd, &ref, 1, 0, NULL);
    tap_ok(q && all_bytes(q, 4096, 0x41), "the restored guest's grants map and show its page");
    if (q)
        kc_gnttab_unmap(host.h, q, 1);
    tap_is_int(end_ref(&R, R.rw[1]), 0, "and the guest can revoke the entry that was in use");
    if (R.mb) {
        cmd(&R, 8, 0, 0, 0, 0);
        kc_unmap_foreign(R.mb, 1);
    }
    kc_domain_destroy(host.h, nd);
}

/* max_grant_frames / max_maptrack_frames from the create call. */
static void test_limits(void)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16 << 10, .max_grant_frames = 1 };
    uint32_t id = 0, nr = 9, max = 0;

    tap_ok(kc_domain_create(host.h, &cr, &id) == 0 &&
           hvhost_build(&host, id, "granter", "frames=2", 1, 16) == 0 &&
           kc_domain_unpause(host.h, id) == 0 &&
           hvhost_wait_console(&host, id, "grant table setup failed", 5000),
           "max_grant_frames=1: a guest cannot register 2 frames");
    tap_ok(kc_gnttab_query_size(host.h, id, &nr, &max) == 0 && nr == 0 && max == 1,
           "query_size reports the domain's limit");
    kc_domain_destroy(host.h, id);
    cr.max_grant_frames = KEEL_GNTTAB_MAX_FRAMES_LIMIT + 1;
    id = 0;
    tap_is_int(kc_domain_create(host.h, &cr, &id), -EINVAL, "max_grant_frames over the limit is refused");
    cr.max_grant_frames = 0;
    cr.max_maptrack_frames = KEEL_GNTTAB_MAX_MAPTRACK_LIMIT + 1;
    id = 0;
    tap_is_int(kc_domain_create(host.h, &cr, &id), -EINVAL, "max_maptrack_frames over the limit is refused");
}

/* Backend threads map, write, unmap and copy a granter's pages while it is destroyed. */
struct racer {
    kc_handle *h;
    uint32_t dom, ref;
    volatile int *stop;
    int ok, gone, other;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    uint8_t buf[256];
    struct kc_gnttab_copy_seg s = { .domid = r->dom, .ref = r->ref, .len = sizeof(buf), .local = buf };

    while (!*r->stop) {
        int16_t st = 0;
        uint8_t *p = kc_gnttab_map(r->h, r->dom, &r->ref, 1, 1, &st);
        if (p) {
            p[1] = 7;
            if (kc_gnttab_unmap(r->h, p, 1) == 0)
                r->ok++;
            else
                r->other++;
        } else if (st == KEEL_GNTST_bad_domain) {
            r->gone++;
        } else {
            r->other++;
        }
        if (kc_gnttab_copy(r->h, &s, 1, NULL) < 0 ||
            (s.status != KEEL_GNTST_okay && s.status != KEEL_GNTST_bad_domain))
            r->other++;
    }
    return NULL;
}

static void test_destroy_race(void)
{
    struct granter C = { .domid = create_labelled(NULL) };
    struct racer r[3];
    pthread_t t[3];
    volatile int stop = 0;
    int ok = 0, gone = 0, other = 0, started = 0;
    uint32_t nr;

    tap_ok(start_granter(&C, "to=0 pages=3 frames=1", 3) == 0, "a granter to destroy under load");
    for (int i = 0; i < 3; i++) {
        r[i] = (struct racer){ NULL, (uint32_t)C.domid, (uint32_t)C.rw[i], &stop, 0, 0, 0 };
        if (kc_open(&r[i].h, host.rundir) == 0 && pthread_create(&t[i], NULL, race, &r[i]) == 0)
            started++;
    }
    usleep(300000);
    if (C.mb)
        kc_unmap_foreign(C.mb, 1);
    tap_is_int(kc_domain_destroy(host.h, (uint32_t)C.domid), 0,
               "destroy it while three backend threads map, unmap and copy its grants");
    usleep(200000);
    stop = 1;
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        ok += r[i].ok;
        gone += r[i].gone;
        other += r[i].other;
        kc_close(r[i].h);
    }
    tap_ok(started == 3 && ok > 0 && gone > 0, "the backends worked before (%d map/unmap) and got "
           "bad_domain after (%d)", ok, gone);
    tap_is_int(other, 0, "no other failure on the way (unmaps of the dead domain's grants are okay)");
    tap_ok(kc_gnttab_query_size(host.h, (uint32_t)A.domid, &nr, NULL) == 0 && nr == 2,
           "the core goes on serving other domains' tables");
}

/* The grantee's connection closes while it maps. */
static void test_close_grantee(void)
{
    kc_handle *h2 = NULL;
    uint32_t refs[2] = { (uint32_t)A.rw[0], (uint32_t)A.ro[0] };
    uint8_t *p = NULL;
    int u = 1;

    tap_ok(kc_open(&h2, host.rundir) == 0 &&
           (p = kc_gnttab_map(h2, (uint32_t)A.domid, refs, 1, 1, NULL)) &&
           kc_gnttab_map(h2, (uint32_t)A.domid, refs + 1, 1, 0, NULL),
           "a second connection maps two grants");
    tap_ok(in_use(&A, A.rw[0]) == 1 && in_use(&A, A.ro[0]) == 1, "both entries in use");
    kc_close(h2);
    for (int i = 0; i < 200 && u; i++) {
        u = in_use(&A, A.rw[0]) || in_use(&A, A.ro[0]);
        if (u)
            usleep(10000);
    }
    tap_ok(!u, "closing the connection clears the in-use flags");
    tap_is_int(end_ref(&A, A.ro[0]), 0, "and the granter can revoke them");
}

/* An isolated domU may not write the console: its references are known by construction
 * (rt_gnttab hands out 8, 9, ... in order: page 0 ro=8 rw=9, other=10). */
static void test_flask(void)
{
    struct granter E = { .domid = create_labelled(NULL) };
    int iso = create_labelled("system_u:system_r:isolated_domU_t");
    uint32_t ref = 10;
    uint8_t *p = NULL;
    char args[64];

    snprintf(args, sizeof(args), "to=%d other=0 pages=1 frames=1", E.domid);
    tap_ok(iso > 0 && hvhost_build(&host, (uint32_t)iso, "granter", args, 1, 16) == 0 &&
           kc_domain_unpause(host.h, (uint32_t)iso) == 0 &&
           start_granter(&E, "to=0 pages=1 frames=1", 1) == 0 && E.mb,
           "an isolated domU grants a page to a domU");
    for (int i = 0; i < 500 && !p; i++)
        if (!(p = kc_gnttab_map(host.h, (uint32_t)iso, &ref, 1, 1, NULL)))
            usleep(10000);
    tap_ok(p && all_bytes(p, 4096, 0x41), "Domain-0 may map an isolated domU's grant (its backend)");
    if (p)
        kc_gnttab_unmap(host.h, p, 1);
    if (!E.mb)
        return;
    tap_ok(starts(cmd(&E, 4, (uint32_t)iso, 8, 0, 8), "copyin status=-8 "),
           "FLASK: a domU may not copy from an isolated domU's grant made out to it");
    kc_flask_setenforce(host.h, 0);
    tap_ok(starts(cmd(&E, 4, (uint32_t)iso, 8, 0, 8), "copyin status=0 byte=0x41"),
           "(permissive) the same copy goes through");
    kc_flask_setenforce(host.h, 1);
    cmd(&E, 8, 0, 0, 0, 0);
    kc_unmap_foreign(E.mb, 1);
    kc_domain_destroy(host.h, (uint32_t)E.domid);
    kc_domain_destroy(host.h, (uint32_t)iso);
}

int main(void)
{
    char args[96];
    int a, b;

    setenv("KEEL_DOM0_MAX_MAPTRACK_FRAMES", "1", 1);
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    a = create_labelled(NULL);
    b = create_labelled(NULL);
    A.domid = a;
    B.domid = b;
    snprintf(args, sizeof(args), "to=0 other=%d pages=4 frames=2", b);
    if (start_granter(&A, args, 4) < 0)
        tap_bail("granter A did not start: %s", hvhost_console(&host, (uint32_t)a));
    snprintf(args, sizeof(args), "to=%d other=0 pages=2 frames=1", a);
    if (start_granter(&B, args, 2) < 0)
        tap_bail("granter B did not start: %s", hvhost_console(&host, (uint32_t)b));
    test_map();
    test_guest_side();
    test_logdirty();
    test_batch();
    test_hostile_granter();
    test_revoke();
    test_copy();
    test_guest_copy();
    test_maptrack();
    test_destroy_granter();
    test_close_grantee();
    test_destroy_race();
    test_limits();
    test_restore();
    test_flask();
    cmd(&A, 8, 0, 0, 0, 0);
    cmd(&B, 8, 0, 0, 0, 0);
    tap_ok(hvhost_wait_shutdown(&host, (uint32_t)A.domid, 5000) == KEEL_SHUTDOWN_POWEROFF,
           "granter A powers off cleanly");
    hvhost_stop(&host);
    return tap_done();
}
