/* rt_channel.c - PV channel frontend (rt_channel.h): scans device/console/<n> for the name,
 * allocates a page for the ring (Xen's io/console.h layout: in[1024] from the host, out[2048]
 * to it, then in_cons, in_prod, out_cons, out_prod), grants it to the backend domain, allocates
 * an unbound event channel toward it, writes ring-ref and port, goes Initialised, waits for the
 * backend's Connected and goes Connected. The backend's indices are checked before any copy.
 * After a restore or migration (the shared page's instance changed) the same ring, grant and
 * port are published again for the new host's backend (chan_resume). */
#include "rt_channel.h"

#include "keel/io/xenbus.h"

#define CH_IN 1024u
#define CH_OUT 2048u
#define E_NOENT 2
#define E_IO 5
#define E_NOMEM 12
#define E_NODEV 19
#define E_INVAL 22

struct rt_chan_ring {
    char in[CH_IN];
    char out[CH_OUT];
    uint32_t in_cons, in_prod, out_cons, out_prod;
};

static void chan_event(uint32_t port, void *data)
{
    (void)port;
    ((struct rt_chan *)data)->kicks++;
}

static int chan_grant_table(void)
{
    for (uint32_t frames = 32; frames; frames /= 2) {
        int rc = rt_gnttab_init(frames);
        if (rc == 0 || rc == -E_INVAL)          /* EINVAL: set up already */
            return 0;
    }
    return -E_NOMEM;
}

/* The console number whose frontend's name is `name`, or a negative errno. */
static int chan_find(const char *name)
{
    char list[512], path[64], val[160];
    int len, rc;

    if ((len = rt_xs_directory("device/console", list, sizeof(list))) < 0)
        return len;
    if ((size_t)len >= sizeof(list))
        len = sizeof(list) - 1;
    for (int off = 0; off < len; off += (int)strlen(list + off) + 1) {
        uint64_t n;
        if (rt_xb_parse_u64(list + off, &n) < 0 || n == 0 || n > 65536)
            continue;
        rt_snprintf(path, sizeof(path), "device/console/%u/name", (uint32_t)n);
        rc = rt_xs_read(path, val, sizeof(val));
        if (rc >= 0 && (size_t)rc < sizeof(val) && !strcmp(val, name))
            return (int)n;
    }
    return -E_NOENT;
}

static int chan_publish(struct rt_chan *c)
{
    int ref, port, rc;

    if (!(c->ring = rt_page_alloc(1)))
        return -E_NOMEM;
    if ((rc = chan_grant_table()) < 0)
        return rc;
    if ((ref = rt_gnttab_grant(c->xb.be_id, rt_virt_to_gfn((const void *)c->ring), 0)) < 0)
        return ref;
    c->ref = (uint32_t)ref;
    rt_sleep_until(0);                           /* binds VIRQ_TIMER for rt_chan_wait */
    if ((port = rt_alloc_unbound(c->xb.be_id, chan_event, c)) < 0)
        return port;
    c->port = (uint32_t)port;
    rt_enable_events();
    if ((rc = rt_xb_printf(&c->xb, "ring-ref", "%u", c->ref)) < 0 ||
        (rc = rt_xb_printf(&c->xb, "port", "%u", c->port)) < 0)
        return rc;
    return rt_xb_switch(&c->xb, KEEL_XB_INITIALISED);
}

/* Wait for the backend's Connected (or its end), then say Connected. */
static int chan_connect(struct rt_chan *c, uint64_t deadline)
{
    uint32_t gone = 1u << KEEL_XB_CLOSING | 1u << KEEL_XB_CLOSED;
    int rc, st = rt_xb_wait_state(&c->xb, 1u << KEEL_XB_CONNECTED | gone, deadline);

    if (st < 0)
        return st;
    if (st != KEEL_XB_CONNECTED)
        return -E_NODEV;
    rc = rt_xb_switch(&c->xb, KEEL_XB_CONNECTED);
    rt_xb_event_pending();                       /* the watch's own events so far */
    c->instance = SHARED_INFO->instance;
    return rc;
}

/* Restored or migrated since the channel connected: the toolstack wrote a fresh frontend
 * directory (state Initialising, no ring-ref) under the new domid and keel-consoled waits in
 * InitWait. The ring page, its grant entry and the event channel are the guest's and were
 * carried by the save: publish them again and reconnect. 0, or a negative errno (broken). */
static int chan_resume(struct rt_chan *c)
{
    int rc;

    if (c->broken || SHARED_INFO->instance == c->instance)
        return 0;
    c->instance = SHARED_INFO->instance;
    rt_printf("channel: console %u: restored or migrated: publishing the ring again\n", c->cons);
    if ((rc = rt_xb_rebind(&c->xb)) < 0 ||
        (rc = rt_xb_printf(&c->xb, "ring-ref", "%u", c->ref)) < 0 ||
        (rc = rt_xb_printf(&c->xb, "port", "%u", c->port)) < 0 ||
        (rc = rt_xb_switch(&c->xb, KEEL_XB_INITIALISED)) < 0 ||
        (rc = chan_connect(c, rt_now() + 30000000000ULL)) < 0) {
        rt_printf("channel: console %u: reconnecting failed (%d)\n", c->cons, rc);
        c->broken = 1;
        return rc;
    }
    rt_notify(c->port);                          /* the backend looks at the ring at once */
    return 0;
}

int rt_chan_open(struct rt_chan *c, const char *name, uint64_t deadline)
{
    int n, rc;

    memset(c, 0, sizeof(*c));
    if ((rc = rt_xs_init()) < 0 || (n = chan_find(name)) < 0)
        return rc < 0 ? rc : n;
    c->cons = (uint32_t)n;
    if ((rc = rt_xb_open(&c->xb, "console", c->cons)) < 0 || (rc = chan_publish(c)) < 0)
        return rc;
    return chan_connect(c, deadline);
}

int rt_chan_read(struct rt_chan *c, char *buf, size_t size)
{
    volatile struct rt_chan_ring *r = c->ring;
    uint32_t cons, avail, n = 0;

    if (!r || chan_resume(c) < 0 || c->broken)
        return -E_IO;
    cons = r->in_cons;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    avail = r->in_prod - cons;
    if (avail > CH_IN) {
        c->broken = 1;                           /* the backend broke the ring */
        return -E_IO;
    }
    while (n < avail && n < size) {
        buf[n] = r->in[(cons + n) & (CH_IN - 1)];
        n++;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    r->in_cons = cons + n;
    if (n)
        rt_notify(c->port);
    return (int)n;
}

int rt_chan_write(struct rt_chan *c, const char *buf, size_t len)
{
    volatile struct rt_chan_ring *r = c->ring;
    size_t done = 0;

    if (!r || chan_resume(c) < 0 || c->broken)
        return -E_IO;
    while (done < len) {
        uint32_t prod = r->out_prod, used, n = 0;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        used = prod - r->out_cons;
        if (used > CH_OUT) {
            c->broken = 1;
            return -E_IO;
        }
        if (used == CH_OUT) {                    /* full: wait for the backend to take some */
            rt_chan_wait(c, 0);
            if (chan_resume(c) < 0)              /* (a new host's backend, after a restore) */
                return -E_IO;
            continue;
        }
        while (done + n < len && used + n < CH_OUT) {
            r->out[(prod + n) & (CH_OUT - 1)] = buf[done + n];
            n++;
        }
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        r->out_prod = prod + n;
        rt_notify(c->port);
        done += n;
    }
    return (int)len;
}

void rt_chan_wait(struct rt_chan *c, uint64_t deadline)
{
    uint64_t seen = rt_events_seen(), now = rt_now();
    uint32_t k = c->kicks;

    rt_set_timer(deadline && deadline > now ? deadline : now + 10000000ULL);
    if (c->kicks == k)
        rt_block_since(seen);                    /* the timer or a kick may come first */
}
