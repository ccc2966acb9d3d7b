/* rt_xs.c - the guest's xenstore client over the shared store ring (xenstore-ring.txt): the
 * ring frame and event channel port come from the device tree (/hypervisor keel,store-gfn and
 * keel,store-port, written by kg_rings_setup + kg_build). Requests are sent one at a time;
 * watch events arriving meanwhile are queued. A request the daemon consumed but never answered
 * (it died) is sent again after a second, so a restarted daemon picks the guest up. Also finds
 * the ring information for the console (rt_ring_info). */
#include "keel_guest.h"

#define XS_RING 1024u
#define XS_PAYLOAD_MAX 4096u
#define XS_EVQ 8

enum { XS_DIRECTORY = 1, XS_READ = 2, XS_WATCH = 4, XS_UNWATCH = 5, XS_WRITE = 11,
       XS_RM = 13, XS_WATCH_EVENT = 15, XS_ERROR = 16 };

struct xs_iface {
    char req[XS_RING];
    char rsp[XS_RING];
    volatile uint32_t req_cons, req_prod, rsp_cons, rsp_prod;
    volatile uint32_t server_features, connection, error;
};

struct xs_hdr {
    uint32_t type, req_id, tx_id, len;
};

struct xs_event {
    char path[128], token[32];
};

static volatile struct xs_iface *xs_ring;
static uint32_t xs_port, xs_next_id = 1;
static volatile uint32_t xs_kicks;
static char xs_msg[sizeof(struct xs_hdr) + XS_PAYLOAD_MAX + 1];
static struct xs_event xs_evq[XS_EVQ];
static unsigned xs_evq_head, xs_evq_len;

/* The watches this guest holds, so that after a restore or migration (the shared page's
 * instance changed: the new store knows none of them) they are registered again; each
 * registration fires its watch once, so the guest looks at what changed meanwhile. */
#define XS_WATCHES 32
static struct xs_event xs_watches[XS_WATCHES];
static unsigned xs_nwatches;
static uint64_t xs_instance;
static int xs_rewatching;

/* ---- the device tree, found again after main() started (rt_boot keeps no pointer) ---- */

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Look for prop in the /hypervisor node of the FDT at fdt (size bounded by end). */
static int fdt_hv_prop(const uint8_t *fdt, const uint8_t *end, const char *prop, uint64_t *val)
{
    uint32_t total = be32(fdt + 4), off_st = be32(fdt + 8), off_str = be32(fdt + 12);
    const uint8_t *p, *lim = fdt + total;
    int in_hv = 0, depth = 0;

    if (total > (uint32_t)(end - fdt) || off_st >= total || off_str >= total)
        return -1;
    for (p = fdt + off_st; p + 4 <= lim;) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == 1) {
            const char *name = (const char *)p;
            depth++;
            if (depth == 2)
                in_hv = !strcmp(name, "hypervisor");
            p += (strlen(name) + 4) & ~3UL;
        } else if (tok == 2) {
            depth--;
        } else if (tok == 3 && p + 8 <= lim) {
            uint32_t len = be32(p), noff = be32(p + 4);
            if (in_hv && depth == 2 && off_str + noff < total &&
                !strcmp((const char *)fdt + off_str + noff, prop) && (len == 4 || len == 8)) {
                *val = len == 4 ? be32(p + 8) : (uint64_t)be32(p + 8) << 32 | be32(p + 12);
                return 0;
            }
            p += 8 + ((len + 3) & ~3U);
        } else if (tok != 4) {
            break;
        }
    }
    return -1;
}

int rt_ring_info(const char *which, uint64_t *gfn, uint32_t *port)
{
    extern char _end[] __attribute__((visibility("hidden")));
    const uint8_t *base = (const uint8_t *)KEEL_GUEST_BASE;
    const uint8_t *end = base + rt_boot.mem_bytes;
    char key[32];
    uint64_t g, pt;

    int seen = 0;

    /* The builder's tree is the first page-aligned blob after the image (and the ramdisk)
     * that has our /hypervisor properties. */
    for (const uint8_t *p = (const uint8_t *)(((uint64_t)_end + 4095) & ~4095ULL);
         p + 4096 <= end; p += 4096) {
        if (be32(p) != 0xd00dfeed)
            continue;
        seen = 1;
        rt_snprintf(key, sizeof(key), "keel,%s-gfn", which);
        if (fdt_hv_prop(p, end, key, &g) < 0)
            continue;
        rt_snprintf(key, sizeof(key), "keel,%s-port", which);
        if (fdt_hv_prop(p, end, key, &pt) < 0 || !g || (g << 12) + 4096 > rt_boot.mem_bytes)
            continue;
        *gfn = g;
        *port = (uint32_t)pt;
        return 0;
    }
    return seen ? -2 : -19;                          /* ENOENT: no such ring; ENODEV: no tree */
}

/* ---- the ring ---- */

static void xs_event(uint32_t port, void *data)
{
    (void)port;
    (void)data;
    xs_kicks++;
}

int rt_xs_init(void)
{
    uint64_t gfn;
    int rc;

    if (xs_ring)
        return 0;
    if ((rc = rt_ring_info("store", &gfn, &xs_port)) < 0)
        return rc;
    xs_ring = (volatile struct xs_iface *)(KEEL_GUEST_BASE + (gfn << 12));
    xs_instance = SHARED_INFO->instance;
    rt_sleep_until(0);                               /* binds VIRQ_TIMER for our waits */
    rt_set_handler(xs_port, xs_event, 0);
    rt_enable_events();
    return 0;
}

/* Sleep until an event or 10 ms pass. */
static void xs_wait(void)
{
    uint64_t seen = rt_events_seen();
    uint32_t k = xs_kicks;

    rt_set_timer(rt_now() + 10000000ULL);
    if (xs_kicks == k)
        rt_block_since(seen);                    /* the timer or a kick may come first */
}

/* Poll the response index briefly (20 us; a daemon on another CPU may answer that soon):
 * cheaper than blocking and being woken. Returns 1 if something arrived. */
static int xs_spin(void)
{
    uint32_t prod = xs_ring->rsp_prod;
    uint64_t until = rt_now() + 20000;

    while (xs_ring->rsp_prod == prod && rt_now() < until)
        rt_cpu_relax();
    return xs_ring->rsp_prod != prod;
}

static void xs_put(const char *data, uint32_t len)
{
    while (len) {
        uint32_t prod = xs_ring->req_prod, space;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        space = XS_RING - (prod - xs_ring->req_cons);
        if (space == 0 || space > XS_RING) {
            xs_wait();
            continue;
        }
        uint32_t n = len < space ? len : space, off = prod & (XS_RING - 1);
        if (n > XS_RING - off)
            n = XS_RING - off;
        memcpy((char *)xs_ring->req + off, data, n);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        xs_ring->req_prod = prod + n;
        rt_notify(xs_port);
        data += n;
        len -= n;
    }
}

/* Copy up to len available response bytes; returns how many. */
static uint32_t xs_get(char *data, uint32_t len)
{
    uint32_t cons = xs_ring->rsp_cons, avail, n, off;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    avail = xs_ring->rsp_prod - cons;
    if (avail == 0 || avail > XS_RING)
        return 0;
    off = cons & (XS_RING - 1);
    n = len < avail ? len : avail;
    if (n > XS_RING - off)
        n = XS_RING - off;
    memcpy(data, (const char *)xs_ring->rsp + off, n);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    xs_ring->rsp_cons = cons + n;
    if (avail == XS_RING)
        rt_notify(xs_port);                          /* the daemon waits for room only when full */
    return n;
}

/* Read one whole message into xs_msg (header then payload, NUL-terminated). */
static int xs_recv(uint64_t deadline)
{
    uint32_t got = 0, want = sizeof(struct xs_hdr);

    while (got < want) {
        uint32_t n = xs_get(xs_msg + got, want - got);
        got += n;
        if (got == sizeof(struct xs_hdr) && want == got) {
            uint32_t len = ((struct xs_hdr *)xs_msg)->len;
            if (len > XS_PAYLOAD_MAX)
                return -5;                           /* EIO: a broken reply */
            want += len;
        }
        if (n == 0 && got < want) {
            if (got == 0 && rt_now() > deadline)
                return -110;                         /* ETIMEDOUT */
            if (!xs_spin())
                xs_wait();
        }
    }
    xs_msg[got] = 0;
    return 0;
}

static void xs_queue_event(const char *body, uint32_t len)
{
    struct xs_event *e;
    size_t pl = strlen(body);

    if (xs_evq_len == XS_EVQ || pl + 1 >= len)
        return;
    e = &xs_evq[(xs_evq_head + xs_evq_len++) % XS_EVQ];
    rt_snprintf(e->path, sizeof(e->path), "%s", body);
    rt_snprintf(e->token, sizeof(e->token), "%s", body + pl + 1);
}

static int xs_errno(const char *name)
{
    static const struct { const char *n; int e; } tab[] = {
        { "EINVAL", 22 }, { "EACCES", 13 }, { "EEXIST", 17 }, { "EISDIR", 21 },
        { "ENOENT", 2 }, { "ENOMEM", 12 }, { "ENOSPC", 28 }, { "EIO", 5 },
        { "ENOTEMPTY", 39 }, { "ENOSYS", 38 }, { "EROFS", 30 }, { "EBUSY", 16 },
        { "EAGAIN", 11 }, { "EISCONN", 106 }, { "E2BIG", 7 }, { "EPERM", 1 },
    };
    for (unsigned i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (!strcmp(name, tab[i].n))
            return -tab[i].e;
    return -5;
}

/* Send type with payload parts a (NUL included if nul_a) and b; the reply body is copied to
 * out (NUL-terminated). Returns the reply length or a negative errno. */
static void xs_check_resumed(void);

static int xs_request(uint32_t type, const char *a, const char *b, int nul_b, char *out,
                      size_t size)
{
    uint32_t la = (uint32_t)strlen(a) + 1, lb = b ? (uint32_t)strlen(b) + (nul_b ? 1 : 0) : 0;
    struct xs_hdr h = { type, xs_next_id++, 0, la + lb };
    char req[sizeof(h) + XS_PAYLOAD_MAX];

    if (!xs_ring)
        return -19;
    if (la + lb > XS_PAYLOAD_MAX)
        return -7;
    xs_check_resumed();
    memcpy(req, &h, sizeof(h));
    memcpy(req + sizeof(h), a, la);
    if (lb)
        memcpy(req + sizeof(h) + la, b, lb);
    for (;;) {
        xs_put(req, (uint32_t)sizeof(h) + h.len);
        for (;;) {
            int rc = xs_recv(rt_now() + 1000000000ULL);
            const struct xs_hdr *r = (const struct xs_hdr *)xs_msg;
            if (rc == -110 && xs_ring->req_cons == xs_ring->req_prod)
                break;                               /* consumed, never answered: resend */
            if (rc == -110)
                continue;                            /* no daemon yet: keep waiting */
            if (rc < 0)
                return rc;
            if (r->type == XS_WATCH_EVENT) {
                xs_queue_event(xs_msg + sizeof(*r), r->len);
                continue;
            }
            if (r->req_id != h.req_id)
                continue;                            /* a stale answer */
            if (r->type == XS_ERROR)
                return xs_errno(xs_msg + sizeof(*r));
            if (out && size) {
                uint32_t n = r->len < size - 1 ? r->len : (uint32_t)size - 1;
                memcpy(out, xs_msg + sizeof(*r), n);
                out[n] = 0;
            }
            return (int)r->len;
        }
    }
}

int rt_xs_read(const char *path, char *buf, size_t size)
{
    return xs_request(XS_READ, path, 0, 0, buf, size);
}

int rt_xs_write(const char *path, const char *value)
{
    int rc = xs_request(XS_WRITE, path, value, 0, 0, 0);
    return rc < 0 ? rc : 0;
}

int rt_xs_rm(const char *path)
{
    int rc = xs_request(XS_RM, path, 0, 0, 0, 0);
    return rc < 0 ? rc : 0;
}

int rt_xs_directory(const char *path, char *buf, size_t size)
{
    return xs_request(XS_DIRECTORY, path, 0, 0, buf, size);
}

static int xs_watch_find(const char *path, const char *token)
{
    for (unsigned i = 0; i < xs_nwatches; i++)
        if (!strcmp(xs_watches[i].path, path) && !strcmp(xs_watches[i].token, token))
            return (int)i;
    return -1;
}

static void xs_check_resumed(void)
{
    uint64_t now = SHARED_INFO->instance;

    if (xs_rewatching || now == xs_instance)
        return;
    if (xs_instance) {
        xs_rewatching = 1;
        for (unsigned i = 0; i < xs_nwatches; i++)
            xs_request(XS_WATCH, xs_watches[i].path, xs_watches[i].token, 1, 0, 0);
        xs_rewatching = 0;
    }
    xs_instance = now;
}

int rt_xs_watch(const char *path, const char *token)
{
    int rc = xs_request(XS_WATCH, path, token, 1, 0, 0);

    /* kept (also when the store says EEXIST: it has it) if it fits the table */
    if ((rc >= 0 || rc == -17) && xs_watch_find(path, token) < 0 && xs_nwatches < XS_WATCHES &&
        strlen(path) < sizeof(xs_watches[0].path) && strlen(token) < sizeof(xs_watches[0].token)) {
        rt_snprintf(xs_watches[xs_nwatches].path, sizeof(xs_watches[0].path), "%s", path);
        rt_snprintf(xs_watches[xs_nwatches].token, sizeof(xs_watches[0].token), "%s", token);
        xs_nwatches++;
    }
    return rc < 0 ? rc : 0;
}

int rt_xs_unwatch(const char *path, const char *token)
{
    int rc = xs_request(XS_UNWATCH, path, token, 1, 0, 0);
    int i = xs_watch_find(path, token);

    if (i >= 0)
        xs_watches[i] = xs_watches[--xs_nwatches];
    return rc < 0 ? rc : 0;
}

int rt_xs_wait_watch(char *path, size_t psize, char *token, size_t tsize, uint64_t deadline)
{
    const struct xs_hdr *r = (const struct xs_hdr *)xs_msg;

    xs_check_resumed();
    while (!xs_evq_len) {
        int rc = xs_recv(deadline);
        if (rc < 0)
            return rc;
        if (r->type == XS_WATCH_EVENT)
            xs_queue_event(xs_msg + sizeof(*r), r->len);
    }
    rt_snprintf(path, psize, "%s", xs_evq[xs_evq_head].path);
    rt_snprintf(token, tsize, "%s", xs_evq[xs_evq_head].token);
    xs_evq_head = (xs_evq_head + 1) % XS_EVQ;
    xs_evq_len--;
    return 0;
}
