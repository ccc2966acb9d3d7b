/* rt_cons.c - the guest's PV console on the console ring set up by the toolstack (Xen's
 * io/console.h layout: in[1024], out[2048], in_cons, in_prod, out_cons, out_prod; the port
 * notifies keel-consoled). Output falls back to console_io (rt_write) without a ring; input
 * exists only with a ring. */
#include "keel_guest.h"

#define CONS_IN 1024u
#define CONS_OUT 2048u

struct cons_iface {
    char in[CONS_IN];
    char out[CONS_OUT];
    volatile uint32_t in_cons, in_prod, out_cons, out_prod;
};

static volatile struct cons_iface *cons;
static uint32_t cons_port;
static volatile uint32_t cons_kicks;

static void cons_event(uint32_t port, void *data)
{
    (void)port;
    (void)data;
    cons_kicks++;
}

int rt_cons_init(void)
{
    uint64_t gfn;
    int rc;

    if (cons)
        return 0;
    if ((rc = rt_ring_info("console", &gfn, &cons_port)) < 0)
        return rc;
    cons = (volatile struct cons_iface *)(KEEL_GUEST_BASE + (gfn << 12));
    rt_sleep_until(0);                               /* binds VIRQ_TIMER for our waits */
    rt_set_handler(cons_port, cons_event, 0);
    rt_enable_events();
    return 0;
}

int rt_cons_present(void)
{
    return cons != 0;
}

/* Sleep until the daemon notifies us or 10 ms pass. */
static void cons_wait(void)
{
    uint64_t seen = rt_events_seen();
    uint32_t k = cons_kicks;

    rt_set_timer(rt_now() + 10000000ULL);
    if (cons_kicks == k)
        rt_block_since(seen);                    /* the timer or a kick may come first */
}

void rt_cons_write(const char *s, size_t len)
{
    if (!cons) {
        rt_write(s, len);
        return;
    }
    while (len) {
        uint32_t prod = cons->out_prod, used;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        used = prod - cons->out_cons;
        if (used >= CONS_OUT) {                      /* full (or nonsense): wait for the daemon */
            cons_wait();
            continue;
        }
        uint32_t n = 0;
        while (n < len && used + n < CONS_OUT) {
            cons->out[(prod + n) & (CONS_OUT - 1)] = s[n];
            n++;
        }
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        cons->out_prod = prod + n;
        rt_notify(cons_port);
        s += n;
        len -= n;
    }
}

int rt_cons_printf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = rt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    rt_cons_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    return n;
}

int rt_cons_read(char *buf, size_t size)
{
    uint32_t cons_i, avail, n = 0;

    if (!cons)
        return -19;
    cons_i = cons->in_cons;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    avail = cons->in_prod - cons_i;
    if (avail > CONS_IN)
        return -5;                                   /* the daemon broke the ring */
    while (n < avail && n < size) {
        buf[n] = cons->in[(cons_i + n) & (CONS_IN - 1)];
        n++;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    cons->in_cons = cons_i + n;
    if (n)
        rt_notify(cons_port);
    return (int)n;
}

int rt_cons_getline(char *buf, size_t size, uint64_t deadline)
{
    size_t len = 0;

    if (!cons || size < 2)
        return -19;
    while (len + 1 < size) {
        char c;
        int n = rt_cons_read(&c, 1);
        if (n < 0)
            return n;
        if (n == 0) {
            if (deadline && rt_now() > deadline)
                return -110;
            cons_wait();
            continue;
        }
        if (c == '\r' || c == '\n')
            break;
        buf[len++] = c;
    }
    buf[len] = 0;
    return (int)len;
}
