/* ks_test.h - helpers for the store's C tests: in-process connections without a
 * transport, building requests and popping replies off a connection's output queue. */
#ifndef KS_TEST_H
#define KS_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ks_store.h"
#include "ks_wire.h"

struct kt_msg {
    uint32_t type, req_id, tx_id, len;
    char body[KS_PAYLOAD_MAX + 1];
};

/* Send a request whose payload is `n` bytes at `p`. */
static inline int kt_send(struct ks_conn *c, uint32_t type, uint32_t tx, const void *p, size_t n)
{
    char buf[KS_HDR_SIZE + 8192];
    struct ks_hdr h = { type, 77, tx, (uint32_t)n };

    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), p, n);
    return ks_conn_input(c, buf, sizeof(h) + n);
}

/* Pop the next message off the output; 0 if one was there. */
static inline int kt_pop(struct ks_conn *c, struct kt_msg *m)
{
    struct evbuffer *out = ks_conn_output(c);
    struct ks_hdr h;

    memset(m, 0, sizeof(*m));
    if (evbuffer_get_length(out) < sizeof(h))
        return -1;
    evbuffer_copyout(out, &h, sizeof(h));
    if (h.len > KS_PAYLOAD_MAX || evbuffer_get_length(out) < sizeof(h) + h.len)
        return -1;
    evbuffer_drain(out, sizeof(h));
    evbuffer_remove(out, m->body, h.len);
    m->type = h.type;
    m->req_id = h.req_id;
    m->tx_id = h.tx_id;
    m->len = h.len;
    return 0;
}

static inline void kt_drain(struct ks_conn *c)
{
    struct evbuffer *out = ks_conn_output(c);

    evbuffer_drain(out, evbuffer_get_length(out));
}

/* Request with string arguments: `a`, then `b` in which '|' separates further arguments
 * (all NUL-terminated, except a WRITE's value). Returns the reply's
 * text: the value/"OK" on success, or the error name prefixed by "!" ("!EACCES"). */
static inline const char *kt_req(struct ks_conn *c, uint32_t type, uint32_t tx, const char *a,
                                 const char *b)
{
    static struct kt_msg m;
    char p[8192];
    size_t n = 0;

    kt_drain(c);
    if (a) {
        memcpy(p, a, strlen(a) + 1);
        n += strlen(a) + 1;
    }
    if (b) {
        size_t bl = strlen(b) + (type == KS_WRITE ? 0 : 1);
        memcpy(p + n, b, bl);
        for (size_t i = n; i < n + bl; i++)
            if (p[i] == '|')
                p[i] = '\0';
        n += bl;
    }
    if (kt_send(c, type, tx, p, n) < 0)
        return "!CLOSED";
    do {    /* events a request triggers on its own connection come before its reply */
        if (kt_pop(c, &m) < 0)
            return "!NOREPLY";
    } while (m.type == KS_WATCH_EVENT && type != KS_WATCH_EVENT);
    if (m.type == KS_ERROR) {
        static char e[64];
        snprintf(e, sizeof(e), "!%.60s", m.body);
        return e;
    }
    for (uint32_t i = 0; m.len && i + 1 < m.len; i++)
        if (m.body[i] == '\0')
            m.body[i] = ',';    /* lists read as "a,b,c" */
    return m.body;
}

#define kt_is(got, want, what) \
    do { const char *g_ = (got); \
         tap_ok(strcmp(g_, (want)) == 0, "%s (got '%s', want '%s')", what, g_, want); } while (0)

#endif
