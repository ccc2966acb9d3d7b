/* kd_front.c - keeld's client-facing process: the Unix-socket (peer credentials) and TCP+TLS
 * (client certificate or token) listeners it inherits from the privileged part, the
 * connections on libevent, newline-delimited JSON-RPC messages with per-connection limits
 * (message size, request rate, requests in flight, idle time, output backlog), JSON parsing
 * and the envelope checks, the role of each connection (full or read-only), the methods that
 * concern the connection only (auth.login, events.*), and the fan-out of events to
 * subscribers. It runs confined (kd_confine.c) and holds no liblight context: every other
 * request goes to the privileged part as a typed message (kd_wire.c) over the socketpair on
 * descriptor KD_FD_CHAN; replies and events come back the same way. domain.list is answered
 * here from the privileged part's last snapshot while it is younger than --list-cache-ms and
 * no change was announced since (KD_W_LIST, KD_W_INVAL: kd_server.c says when). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "kd_confine.h"
#include "kd_server.h"
#include "kd_wire.h"
#include "klog.h"

struct conn {
    struct conn *next;
    uint64_t id;
    struct bufferevent *bev;
    bool authed;                     /* may call methods (Unix peers and TLS client certs: at once) */
    bool is_tcp;
    bool readonly;                   /* a read-only role: no state changes */
    bool cert_check;                 /* TLS: the role comes from the certificate's CN (--access) */
    unsigned topics;
    unsigned inflight;
    bool discarding;                 /* inside an over-long message: dropped up to its newline */
    bool dirty;                      /* a Unix peer with output queued: flush_conns writes it */
    double tokens;                   /* token bucket */
    struct timespec last;
    char peer[64];
};

static struct kd_opts opts;
static struct event_base *base;
static struct conn *conns;
static unsigned nconns;
static uint64_t next_conn = 1;
static SSL_CTX *ssl_ctx;
static struct bufferevent *chan;     /* to the privileged part */
static uid_t daemon_uid;             /* the privileged part's user (full access on the socket) */
static unsigned ndirty;              /* connections marked dirty */
static struct {                      /* the last domain.list result (KD_W_LIST), or NULL */
    char *text;
    struct timespec at;              /* when it came */
} snap;

static struct conn *conn_find(uint64_t id)
{
    for (struct conn *c = conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void conn_free(struct conn *c)
{
    for (struct conn **pp = &conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    nconns--;
    if (c->dirty)
        ndirty--;
    bufferevent_free(c->bev);
    free(c);
}

/* Room for n more bytes in c's output; false (c closed) when it does not read its replies.
 * A Unix peer's output is then written by flush_conns at the end of the callback (kd_io.c). */
static bool backlog_ok(struct conn *c, size_t n)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (evbuffer_get_length(out) + n <= opts.max_backlog) {
        if (!c->is_tcp && !c->dirty) {
            c->dirty = true;
            ndirty++;
        }
        return true;
    }
    klog(KLOG_WARN, "front", "%s: does not read its replies (%zu bytes queued): closing",
         c->peer, evbuffer_get_length(out));
    conn_free(c);
    return false;
}

/* Write what the callback queued for Unix peers (TLS connections write through OpenSSL's
 * bufferevent on their own). */
static void flush_conns(void)
{
    for (struct conn *c = conns; c && ndirty; c = c->next)
        if (c->dirty) {
            c->dirty = false;
            ndirty--;
            kd_io_flush(c->bev);
        }
}

static void send_line(struct conn *c, const char *text)
{
    size_t n = strlen(text);

    if (!backlog_ok(c, n + 1))
        return;
    evbuffer_add(bufferevent_get_output(c->bev), text, n);
    evbuffer_add(bufferevent_get_output(c->bev), "\n", 1);
}

static void send_error(struct conn *c, yajl_val id, int code, const char *msg)
{
    char *t = kd_error_text(id, code, msg);

    if (t)
        send_line(c, t);
    free(t);
}

/* ---- the channel to the privileged part ---- */

/* One message of c to the privileged part, encoded in place in the channel's buffer. */
static int send_request(struct conn *c, struct kd_batch *b)
{
    struct evbuffer *out = bufferevent_get_output(chan);
    struct kd_wire_hdr h = { 0, KD_W_REQ, c->readonly ? KD_ROLE_READONLY : KD_ROLE_FULL, 0, c->id };
    struct evbuffer_iovec v;
    size_t n;

    kd_wire_req_prepare(b);
    n = kd_wire_req_size(b);
    if (n > KD_WIRE_REQ_MAX(opts.max_msg))
        return -E2BIG;
    h.len = (uint32_t)n;
    if (evbuffer_reserve_space(out, sizeof(h) + n, &v, 1) != 1 || v.iov_len < sizeof(h) + n)
        return -ENOMEM;
    memcpy(v.iov_base, &h, sizeof(h));
    kd_wire_req_write(b, (unsigned char *)v.iov_base + sizeof(h));
    v.iov_len = sizeof(h) + n;
    return evbuffer_commit_space(out, &v, 1) == 0 ? 0 : -ENOMEM;
}

/* A reply for one connection: moved from the channel's buffer to the connection's. */
static void got_reply(struct evbuffer *in, const struct kd_wire_hdr *h)
{
    struct conn *c = conn_find(h->conn);

    if (!c) {                                  /* closed meanwhile, or of an earlier front */
        evbuffer_drain(in, h->len);
        return;
    }
    if (c->inflight)
        c->inflight--;
    if (!h->len)
        return;
    if (!backlog_ok(c, h->len)) {
        evbuffer_drain(in, h->len);
        return;
    }
    evbuffer_remove_buffer(in, bufferevent_get_output(c->bev), h->len);
}

/* An event: to every connection subscribed to its topic, and to the one it names. */
static void got_event(struct evbuffer *in, const struct kd_wire_hdr *h)
{
    const unsigned char *p = evbuffer_pullup(in, h->len);

    for (struct conn *c = conns, *next; p && c; c = next) {
        next = c->next;
        if (((c->topics & h->topic) || c->id == h->conn) && backlog_ok(c, h->len))
            evbuffer_add(bufferevent_get_output(c->bev), p, h->len);
    }
    evbuffer_drain(in, h->len);
}

static void snap_drop(void)
{
    free(snap.text);
    snap.text = NULL;
}

/* A domain.list result made with nothing changing meanwhile: kept to answer from. */
static void got_snapshot(struct evbuffer *in, const struct kd_wire_hdr *h)
{
    snap_drop();
    if (opts.list_cache_ms && (snap.text = malloc((size_t)h->len + 1))) {
        evbuffer_remove(in, snap.text, h->len);
        snap.text[h->len] = 0;
        clock_gettime(CLOCK_MONOTONIC, &snap.at);
        return;
    }
    evbuffer_drain(in, h->len);
}

/* domain.list answered from the snapshot while it is younger than --list-cache-ms: 1 if
 * answered (c may be closed then: its backlog was full). */
static int answer_from_snapshot(struct conn *c, const struct kd_req *r)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct timespec now;
    double age_ms;
    size_t n;
    char *t;

    if (!snap.text || !r->id || strcmp(r->method, "domain.list"))
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    age_ms = (double)(now.tv_sec - snap.at.tv_sec) * 1e3 + (double)(now.tv_nsec - snap.at.tv_nsec) / 1e6;
    if (age_ms >= opts.list_cache_ms) {
        snap_drop();
        return 0;
    }
    if (!(t = kd_result_text(r->id, snap.text)))
        return 0;
    n = strlen(t);
    if (backlog_ok(c, n + 1)) {
        evbuffer_add(out, t, n);
        evbuffer_add(out, "\n", 1);
    }
    free(t);
    return 1;
}

static void chan_read(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    struct kd_wire_hdr h;

    (void)arg;
    while (evbuffer_copyout(in, &h, sizeof(h)) == (ev_ssize_t)sizeof(h)) {
        if (h.type < KD_W_REPLY || h.type > KD_W_INVAL || (h.type == KD_W_INVAL && h.len) ||
            h.len > KD_WIRE_REQ_MAX(opts.max_msg) + opts.max_backlog) {
            klog(KLOG_ERROR, "front", "a malformed message from the privileged part: stopping");
            event_base_loopexit(base, NULL);
            return;
        }
        if (evbuffer_get_length(in) < sizeof(h) + h.len)
            break;
        evbuffer_drain(in, sizeof(h));
        if (h.type == KD_W_REPLY)
            got_reply(in, &h);
        else if (h.type == KD_W_EVENT)
            got_event(in, &h);
        else if (h.type == KD_W_LIST)
            got_snapshot(in, &h);
        else
            snap_drop();
    }
    flush_conns();
}

static void chan_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev; (void)arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        klog(KLOG_INFO, "front", "the privileged part closed the channel: stopping");
        event_base_loopexit(base, NULL);
    }
}

/* ---- connections ---- */

static bool rate_ok(struct conn *c)
{
    struct timespec now;
    double dt;

    clock_gettime(CLOCK_MONOTONIC, &now);
    dt = (double)(now.tv_sec - c->last.tv_sec) + (double)(now.tv_nsec - c->last.tv_nsec) / 1e9;
    c->last = now;
    c->tokens += dt * opts.rate;
    if (c->tokens > opts.burst)
        c->tokens = opts.burst;
    if (c->tokens < 1)
        return false;
    c->tokens -= 1;
    return true;
}

/* A TLS peer's role from its certificate's subject CN (verified against --tls-ca by the
 * handshake), looked up once: true when it has one (c->authed, c->readonly set). */
static bool cert_role(struct conn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    X509 *x = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    char cn[256] = "";
    enum kd_role role = KD_ROLE_NONE;

    if (x && X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                       sizeof(cn)) > 0)
        role = kd_access_cert(opts.access, cn);
    X509_free(x);
    c->cert_check = false;
    c->authed = role != KD_ROLE_NONE;
    c->readonly = role == KD_ROLE_READONLY;
    if (role == KD_ROLE_NONE)
        klog(KLOG_WARN, "front", "%s: certificate CN '%s' has no role in the access file",
             c->peer, cn);
    else
        snprintf(c->peer + strlen(c->peer), sizeof(c->peer) - strlen(c->peer), " cn=%.24s%s", cn,
                 c->readonly ? " (read-only)" : "");
    return c->authed;
}

/* Methods that concern the connection itself, answered on the loop. 1 if handled. */
static int local_method(struct conn *c, const struct kd_req *r)
{
    char ok[160];
    yajl_val topics;
    bool sub;

    if (!strcmp(r->method, "auth.login")) {
        yajl_val t = kd_param(r->params, "token");
        const char *ts = t && YAJL_IS_STRING(t) ? YAJL_GET_STRING(t) : NULL;
        enum kd_role role = kd_access_token(opts.access, ts);
        if (role == KD_ROLE_NONE && opts.token && ts && !strcmp(ts, opts.token))
            role = KD_ROLE_FULL;              /* --token-file */
        if (role == KD_ROLE_NONE) {
            klog(KLOG_WARN, "front", "%s: authentication failed", c->peer);
            send_error(c, r->id, KD_DENIED, "authentication failed");
            return 1;
        }
        c->authed = true;
        if (c->is_tcp)                        /* a Unix peer keeps the role of its credentials */
            c->readonly = role == KD_ROLE_READONLY;
        if (c->readonly)
            klog(KLOG_INFO, "front", "%s: authenticated read-only", c->peer);
    } else if ((sub = !strcmp(r->method, "events.subscribe")) || !strcmp(r->method, "events.unsubscribe")) {
        unsigned mask = 0;
        topics = kd_param(r->params, "topics");
        if (topics && !YAJL_IS_ARRAY(topics)) {
            send_error(c, r->id, KD_INVALID_PARAMS, "\"topics\" must be an array of \"domain\", \"task\"");
            return 1;
        }
        for (size_t i = 0; topics && i < topics->u.array.len; i++) {
            yajl_val v = topics->u.array.values[i];
            const char *s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
            unsigned bit = !strcmp(s, "domain") ? KD_TOPIC_DOMAIN : !strcmp(s, "task") ? KD_TOPIC_TASK : 0;
            if (!bit) {
                send_error(c, r->id, KD_INVALID_PARAMS, "unknown topic (\"domain\", \"task\")");
                return 1;
            }
            mask |= bit;
        }
        if (!topics)
            mask = KD_TOPIC_DOMAIN | KD_TOPIC_TASK;
        c->topics = sub ? c->topics | mask : c->topics & ~mask;
    } else {
        return 0;
    }
    if (r->id) {
        char *idt;
        kd_out *o = kd_out_new();
        if (!o)
            return 1;
        kd_gen_value(kd_out_gen(o), r->id);
        idt = strdup(kd_out_text(o, NULL));
        kd_out_free(o);
        snprintf(ok, sizeof(ok), "{\"jsonrpc\":\"2.0\",\"id\":%.100s,\"result\":{\"ok\":true}}",
                 idt ? idt : "null");
        free(idt);
        send_line(c, ok);
    }
    return 1;
}

static void handle_message(struct conn *c, const char *line, size_t len)
{
    struct kd_batch b;
    yajl_val id0;
    char why[200];
    int code;

    if (!rate_ok(c)) {
        send_error(c, NULL, KD_LIMIT, "request rate limit exceeded: slow down");
        return;
    }
    if ((code = kd_req_parse(line, len, &b, why, sizeof(why))) != 0) {
        send_error(c, NULL, code, why);
        return;
    }
    id0 = b.is_batch ? NULL : b.reqs[0].id;
    if (!b.is_batch && !b.reqs[0].code && local_method(c, &b.reqs[0])) {
        kd_batch_free(&b);
        return;
    }
    if (c->cert_check && !cert_role(c))
        send_error(c, id0, KD_DENIED,
                   "permission denied: the client certificate has no role in the access file");
    else if (!c->authed)
        send_error(c, id0, KD_DENIED, "not authenticated: call auth.login with the token first");
    else if (c->inflight >= opts.max_inflight)
        send_error(c, id0, KD_LIMIT, "too many requests in flight on this connection");
    else if (!b.is_batch && !b.reqs[0].code && answer_from_snapshot(c, &b.reqs[0]))
        ;                                        /* answered here */
    else if ((code = send_request(c, &b)) < 0)
        send_error(c, id0, code == -E2BIG ? KD_LIMIT : KD_INTERNAL_ERROR,
                   code == -E2BIG ? "message too large once encoded" : "out of memory");
    else
        c->inflight++;
    kd_batch_free(&b);
}

/* Write the requests the channel holds now, not on the loop's next turn (see kd_server.c). */
static void chan_flush(void)
{
    kd_io_flush(chan);
}

static void read_cb_lines(struct bufferevent *bev, void *arg);

static void read_cb(struct bufferevent *bev, void *arg)
{
    read_cb_lines(bev, arg);
    chan_flush();
    flush_conns();
}

static void read_cb_lines(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint64_t id = c->id;

    for (;;) {
        struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
        size_t len;
        char *line;
        if (c->discarding) {
            evbuffer_drain(in, p.pos < 0 ? evbuffer_get_length(in) : (size_t)p.pos + 1);
            if (p.pos < 0)
                return;
            c->discarding = false;
            continue;
        }
        if (p.pos < 0 ? evbuffer_get_length(in) > opts.max_msg : (size_t)p.pos > opts.max_msg) {
            klog(KLOG_WARN, "front", "%s: a message over %zu bytes: discarded", c->peer, opts.max_msg);
            c->discarding = true;
            send_error(c, NULL, KD_LIMIT, "message longer than the limit: discarded");
            if (!conn_find(id))
                return;
            continue;
        }
        if (p.pos < 0)
            return;
        /* parsed where it lies (kd_req_parse makes its own copy before anything can close c) */
        if (!(line = (char *)evbuffer_pullup(in, p.pos + 1)))
            return;
        len = (size_t)p.pos;
        if (len && line[len - 1] == '\r')
            len--;
        if (len)
            handle_message(c, line, len);
        if (!conn_find(id))
            return;                              /* closed while answering (backlog) */
        evbuffer_drain(in, (size_t)p.pos + 1);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if (what & BEV_EVENT_TIMEOUT)
        klog(KLOG_INFO, "front", "%s: idle for %u s: closing", c->peer, opts.idle_s);
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        conn_free(c);
}

static struct conn *add_conn(struct bufferevent *bev, bool authed, bool tcp, const char *peer)
{
    struct conn *c = calloc(1, sizeof(*c));
    struct timeval idle = { opts.idle_s, 0 };

    if (!c) {
        bufferevent_free(bev);
        return NULL;
    }
    c->id = next_conn++;
    c->bev = bev;
    c->authed = authed;
    c->is_tcp = tcp;
    c->tokens = opts.burst;
    clock_gettime(CLOCK_MONOTONIC, &c->last);
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->next = conns;
    conns = c;
    nconns++;
    bufferevent_setcb(bev, read_cb, tcp ? NULL : kd_io_drained, event_cb, c);
    bufferevent_set_timeouts(bev, &idle, NULL);
    bufferevent_enable(bev, tcp ? EV_READ | EV_WRITE : EV_READ);
    if (!tcp)                                  /* on by default: flush_conns writes instead */
        bufferevent_disable(bev, EV_WRITE);
    return c;
}

static bool too_many(evutil_socket_t fd)
{
    static const char msg[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32006,"
                              "\"message\":\"too many connections\"}}\n";

    if (nconns < opts.max_conns)
        return false;
    if (write(fd, msg, sizeof(msg) - 1) < 0)
        klog(KLOG_DEBUG, "front", "refusing a connection: %s", strerror(errno));
    evutil_closesocket(fd);
    return true;
}

static void unix_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                        int slen, void *arg)
{
    struct ucred cr;
    socklen_t cl = sizeof(cr);
    struct conn *c;
    char peer[64];
    bool full, ro;

    (void)l; (void)sa; (void)slen; (void)arg;
    if (too_many(fd))
        return;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
        cr.uid = (uid_t)-1, cr.gid = (gid_t)-1, cr.pid = 0;
    full = cr.uid == 0 || cr.uid == daemon_uid || (opts.allow_gid >= 0 && cr.gid == (gid_t)opts.allow_gid) ||
           kd_access_group(opts.access, cr.gid) == KD_ROLE_FULL;
    ro = !full && ((opts.ro_gid >= 0 && cr.gid == (gid_t)opts.ro_gid) ||
                   kd_access_group(opts.access, cr.gid) == KD_ROLE_READONLY);
    if (!full && !ro) {
        static const char msg[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32007,"
                                  "\"message\":\"permission denied\"}}\n";
        klog(KLOG_WARN, "front", "refused uid %u gid %u on the Unix socket", (unsigned)cr.uid,
             (unsigned)cr.gid);
        if (write(fd, msg, sizeof(msg) - 1) < 0)
            klog(KLOG_DEBUG, "front", "refusing: %s", strerror(errno));
        evutil_closesocket(fd);
        return;
    }
    snprintf(peer, sizeof(peer), "unix pid %d uid %u%s", (int)cr.pid, (unsigned)cr.uid,
             ro ? " (read-only)" : "");
    evutil_make_socket_nonblocking(fd);
    c = add_conn(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE), true,
                 false, peer);
    if (c)
        c->readonly = ro;
}

static void tcp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                       int slen, void *arg)
{
    struct bufferevent *bev;
    struct conn *c;
    char peer[64] = "tcp";
    SSL *ssl;

    (void)l; (void)slen; (void)arg;
    if (too_many(fd))
        return;
    if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
        kd_sockaddr_name(sa, peer, sizeof(peer));
    if (!(ssl = SSL_new(ssl_ctx))) {
        evutil_closesocket(fd);
        return;
    }
    bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        evutil_closesocket(fd);
        return;
    }
    /* with a CA the handshake already verified a client certificate: no token needed; with
     * certificate rules in the access file its CN decides the role at the first request */
    c = add_conn(bev, opts.tls_ca != NULL, true, peer);
    if (c && opts.tls_ca && kd_access_has(opts.access, "cert")) {
        c->authed = false;
        c->cert_check = true;
    }
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig; (void)what; (void)arg;
    event_base_loopexit(base, NULL);
}

/* Everything that needs root or a file, before the confinement: TLS context, listeners on the
 * inherited descriptors, the channel, signals. */
static int setup(struct evconnlistener **ul, struct evconnlistener **tl, struct event **sigs)
{
    if (!(base = event_base_new()))
        return -ENOMEM;
    if (opts.listen && !(ssl_ctx = kd_tls_server_ctx(&opts)))
        return -EINVAL;
    *ul = evconnlistener_new(base, unix_accept, NULL, LEV_OPT_CLOSE_ON_FREE, 0, KD_FD_UNIX);
    if (opts.listen)
        *tl = evconnlistener_new(base, tcp_accept, NULL, LEV_OPT_CLOSE_ON_FREE, 0, KD_FD_TCP);
    chan = bufferevent_socket_new(base, KD_FD_CHAN, BEV_OPT_CLOSE_ON_FREE);
    if (!*ul || (opts.listen && !*tl) || !chan)
        return -ENOMEM;
    bufferevent_setcb(chan, chan_read, kd_io_drained, chan_event, NULL);
    bufferevent_enable(chan, EV_READ);          /* written by chan_flush (kd_io.c) */
    bufferevent_disable(chan, EV_WRITE);
    sigs[0] = evsignal_new(base, SIGTERM, stop_cb, NULL);
    sigs[1] = evsignal_new(base, SIGINT, stop_cb, NULL);
    if (!sigs[0] || !sigs[1] || evsignal_add(sigs[0], NULL) < 0 || evsignal_add(sigs[1], NULL) < 0)
        return -ENOMEM;
    return 0;
}

int kd_front_run(const struct kd_opts *o, uint64_t first_conn)
{
    struct evconnlistener *ul = NULL, *tl = NULL;
    struct event *sigs[2] = { NULL, NULL };
    struct kd_wire_hdr hello = { 0, KD_W_HELLO, 0, 0, 0 };
    char err[256];
    int rc;

    opts = *o;
    next_conn = first_conn;
    daemon_uid = getuid();
    if ((rc = setup(&ul, &tl, sigs)) < 0)
        klog(KLOG_ERROR, "front", "cannot set up: %s", strerror(-rc));
    else if ((rc = kd_confine_front(o->empty_dir, o->front_uid, o->front_gid, o->max_conns + 32,
                                    err, sizeof(err))) < 0)
        klog(KLOG_ERROR, "front", "cannot confine the client-facing process: %s", err);
    else if (bufferevent_write(chan, &hello, sizeof(hello)) < 0)
        rc = -ENOMEM;
    else {
        chan_flush();
        event_base_dispatch(base);
    }
    while (conns)
        conn_free(conns);
    snap_drop();
    if (ul)
        evconnlistener_free(ul);
    if (tl)
        evconnlistener_free(tl);
    if (chan)
        bufferevent_free(chan);
    if (ssl_ctx)
        SSL_CTX_free(ssl_ctx);
    for (int i = 0; i < 2; i++)
        if (sigs[i])
            event_free(sigs[i]);
    if (base)
        event_base_free(base);
    return rc < 0 ? 1 : 0;
}
