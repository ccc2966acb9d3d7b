/* ks_conn.c - one client connection, whatever its transport: reassembles requests from
 * the byte stream (header then payload), rejects oversized ones by closing, hands whole
 * messages to the protocol layer and queues replies and watch events for the transport. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "klog.h"
#include "ks_int.h"

struct ks_conn *ks_conn_new(struct ks_store *s, uint32_t domid, const struct ks_transport *t,
                            void *tctx)
{
    struct ks_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->in = evbuffer_new();
    c->out = evbuffer_new();
    if (!c->in || !c->out) {
        if (c->in)
            evbuffer_free(c->in);
        if (c->out)
            evbuffer_free(c->out);
        free(c);
        return NULL;
    }
    c->store = s;
    c->domid = domid;
    c->priv = domid == 0;
    c->t = t;
    c->tctx = tctx;
    c->next = s->conns;
    s->conns = c;
    return c;
}

void ks_conn_free(struct ks_conn *c)
{
    struct ks_conn **pp;

    if (!c)
        return;
    for (pp = &c->store->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    ks_watch_clear(c);
    ks_txn_clear(c);
    evbuffer_free(c->in);
    evbuffer_free(c->out);
    free(c);
}

struct evbuffer *ks_conn_output(struct ks_conn *c) { return c->out; }
uint32_t ks_conn_domid(const struct ks_conn *c) { return c->domid; }

void ks_conn_close(struct ks_conn *c)
{
    c->dead = true;
    if (c->t && c->t->close)
        c->t->close(c->tctx);
}

int ks_conn_input(struct ks_conn *c, const void *buf, size_t len)
{
    if (c->dead)
        return -EPIPE;
    if (len && evbuffer_add(c->in, buf, len) < 0)
        return -ENOMEM;
    while (!c->dead && evbuffer_get_length(c->in) >= KS_HDR_SIZE) {
        struct ks_hdr h;
        char payload[KS_PAYLOAD_MAX + 1];

        evbuffer_copyout(c->in, &h, sizeof(h));
        if (ks_hdr_check(&h) < 0) {
            klog(KLOG_WARN, "conn", "domain %u: request of %u bytes (type %u) exceeds %u: "
                 "closing the connection", c->domid, h.len, h.type, KS_PAYLOAD_MAX);
            return -E2BIG;
        }
        if (evbuffer_get_length(c->in) < KS_HDR_SIZE + h.len)
            break;
        evbuffer_drain(c->in, KS_HDR_SIZE);
        evbuffer_remove(c->in, payload, h.len);
        payload[h.len] = '\0';
        ks_proto_handle(c, &h, payload);
    }
    return c->dead ? -EPIPE : 0;
}

void ks_conn_reply(struct ks_conn *c, const struct ks_hdr *req, uint32_t type,
                   const void *data, size_t len)
{
    struct ks_hdr h = { type, req ? req->req_id : 0, req ? req->tx_id : 0, (uint32_t)len };

    if (c->dead)
        return;
    if (evbuffer_add(c->out, &h, sizeof(h)) < 0 || (len && evbuffer_add(c->out, data, len) < 0)) {
        klog(KLOG_ERROR, "conn", "domain %u: out of memory queueing a reply", c->domid);
        ks_conn_close(c);
        return;
    }
    if (c->t && c->t->kick)
        c->t->kick(c->tctx);
}

void ks_conn_error(struct ks_conn *c, const struct ks_hdr *req, int err)
{
    const char *name = ks_errname(err < 0 ? -err : err);

    ks_conn_reply(c, req, KS_ERROR, name, strlen(name) + 1);
}

void ks_conn_ok(struct ks_conn *c, const struct ks_hdr *req)
{
    ks_conn_reply(c, req, req->type, "OK", 3);
}
