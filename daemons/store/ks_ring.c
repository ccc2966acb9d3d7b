/* ks_ring.c - the ring transport: a connection over a guest's shared xenstore ring page.
 * The guest's notifications make the event channel's fd readable; we signal back through
 * the notify hook. All
 * indices read from the page are treated as hostile: an impossible distance between
 * producer and consumer marks the ring broken (error field set) instead of being used.
 * A guest that stops reading responses stops being served (bounded output queue). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "klog.h"
#include "ks_int.h"
#include "ks_ring.h"

#define KS_RING_OUT_MAX (64u * 1024u)

struct ks_ring {
    struct ks_store *store;
    struct ks_conn *conn;
    volatile struct ks_ring_iface *intf;
    uint32_t domid;
    struct ks_ring_evtchn evtchn;
    struct event *ev;
    bool busy;
    bool broken;
};

static void ks_ring_notify(struct ks_ring *r)
{
    r->evtchn.notify(r->evtchn.arg);
}

static void ks_ring_break(struct ks_ring *r, uint32_t err, const char *why)
{
    if (r->broken)
        return;
    r->broken = true;
    r->intf->error = err;
    klog(KLOG_WARN, "ring", "domain %u: %s; ring stopped until the guest reconnects",
         r->domid, why);
    ks_ring_notify(r);
}

/* Move requests from the ring into the connection. Returns true if anything moved. */
static bool ks_ring_read(struct ks_ring *r)
{
    bool moved = false;

    while (!r->broken && evbuffer_get_length(ks_conn_output(r->conn)) < KS_RING_OUT_MAX) {
        uint32_t cons = r->intf->req_cons;
        uint32_t prod = __atomic_load_n(&r->intf->req_prod, __ATOMIC_ACQUIRE);
        uint32_t avail = prod - cons, off = KS_RING_MASK(cons), n;
        char buf[KS_RING_SIZE];

        if (avail > KS_RING_SIZE) {
            ks_ring_break(r, KS_RING_ERR_RINGIDX, "request indices out of range");
            break;
        }
        if (avail == 0)
            break;
        n = avail < KS_RING_SIZE - off ? avail : KS_RING_SIZE - off;
        memcpy(buf, (const char *)r->intf->req + off, n);
        __atomic_store_n(&r->intf->req_cons, cons + n, __ATOMIC_RELEASE);
        moved = true;
        if (ks_conn_input(r->conn, buf, n) < 0) {
            ks_ring_break(r, KS_RING_ERR_PROTO, "malformed request");
            break;
        }
    }
    return moved;
}

/* Move queued replies and events into the response ring. */
static bool ks_ring_write(struct ks_ring *r)
{
    struct evbuffer *out = ks_conn_output(r->conn);
    bool moved = false;

    if (evbuffer_get_length(out) && ks_journal_pending(r->conn->store))
        ks_journal_commit(r->conn->store);  /* journaled before the guest can see it */
    while (!r->broken && evbuffer_get_length(out)) {
        uint32_t cons = __atomic_load_n(&r->intf->rsp_cons, __ATOMIC_ACQUIRE);
        uint32_t prod = r->intf->rsp_prod;
        uint32_t used = prod - cons, off = KS_RING_MASK(prod), n;

        if (used > KS_RING_SIZE) {
            ks_ring_break(r, KS_RING_ERR_RINGIDX, "response indices out of range");
            break;
        }
        n = KS_RING_SIZE - used;
        if (n > KS_RING_SIZE - off)
            n = KS_RING_SIZE - off;
        if (n > evbuffer_get_length(out))
            n = (uint32_t)evbuffer_get_length(out);
        if (n == 0)
            break;
        evbuffer_remove(out, (char *)r->intf->rsp + off, n);
        __atomic_store_n(&r->intf->rsp_prod, prod + n, __ATOMIC_RELEASE);
        moved = true;
    }
    return moved;
}

/* The guest asked to start over (XENSTORE_RECONNECT): drop its session, reset the ring. */
static void ks_ring_reset(struct ks_ring *r)
{
    evbuffer_drain(r->conn->in, evbuffer_get_length(r->conn->in));
    evbuffer_drain(r->conn->out, evbuffer_get_length(r->conn->out));
    ks_watch_clear(r->conn);
    ks_txn_clear(r->conn);
    r->conn->dead = false;
    r->intf->req_cons = r->intf->req_prod = 0;
    r->intf->rsp_cons = r->intf->rsp_prod = 0;
    r->intf->error = KS_RING_ERR_NONE;
    __atomic_store_n(&r->intf->connection, KS_RING_CONNECTED, __ATOMIC_RELEASE);
    r->broken = false;
}

static void ks_ring_pump(struct ks_ring *r)
{
    bool moved;

    if (__atomic_load_n(&r->intf->connection, __ATOMIC_ACQUIRE) == KS_RING_RECONNECT) {
        ks_ring_reset(r);
        ks_ring_notify(r);
        return;
    }
    r->busy = true;
    do {
        moved = ks_ring_read(r);
        moved = ks_ring_write(r) || moved;
        if (moved)
            ks_ring_notify(r);
    } while (moved && !r->broken);
    r->busy = false;
}

static void ks_ring_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ks_ring *r = arg;
    uint64_t count;

    if (r->evtchn.ack)
        r->evtchn.ack(r->evtchn.arg);
    else if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        klog(KLOG_DEBUG, "ring", "domain %u: event read failed: %s", r->domid, strerror(errno));
    ks_ring_pump(r);
}

static void ks_ring_kick(void *tctx)
{
    struct ks_ring *r = tctx;

    if (!r->busy && ks_ring_write(r))
        ks_ring_notify(r);
}

static void ks_ring_close(void *tctx)
{
    ks_ring_break(tctx, KS_RING_ERR_PROTO, "connection closed by the protocol layer");
}

/* Ring connections belong to their domain: ks_domain_release / shutdown free them. */
static const struct ks_transport ks_ring_transport = { "ring", ks_ring_kick, ks_ring_close, NULL };

int ks_ring_new(struct ks_store *s, uint32_t domid, void *page, const struct ks_ring_evtchn *ev,
                struct ks_ring **out)
{
    struct ks_ring *r;

    if (!page || ev->fd < 0 || !ev->notify)
        return -EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->store = s;
    r->domid = domid;
    r->intf = page;
    r->evtchn = *ev;
    r->conn = ks_conn_new(s, domid, &ks_ring_transport, r);
    r->ev = event_new(s->base, ev->fd, EV_READ | EV_PERSIST, ks_ring_cb, r);
    if (!r->conn || !r->ev || event_add(r->ev, NULL) < 0) {
        ks_ring_free(r);
        return -ENOMEM;
    }
    r->conn->priv = false;      /* a guest is never privileged, even if it claims domid 0 */
    r->intf->server_features = KS_FEATURES_SUPPORTED;
    *out = r;
    ks_ring_pump(r);            /* requests written before we attached (or before a restart) */
    return 0;
}

void ks_ring_free(struct ks_ring *r)
{
    if (!r)
        return;
    if (r->ev)
        event_free(r->ev);
    if (r->conn)
        ks_conn_free(r->conn);
    free(r);
}
