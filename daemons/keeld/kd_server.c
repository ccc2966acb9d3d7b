/* kd_server.c - keeld's server: Unix-socket (peer credentials) and TCP+TLS (client
 * certificate or token) listeners on libevent; newline-delimited JSON-RPC messages with
 * per-connection limits (message size, request rate, requests in flight, idle time, output
 * backlog); parsed on the loop, run on a pool of worker threads (each with its own liblight
 * context), answered in the order they finish; events fanned out to subscribers. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <pthread.h>
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
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "kd_server.h"
#include "klog.h"
#include "ksock.h"

#define TOPIC_DOMAIN 1u
#define TOPIC_TASK 2u

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
    double tokens;                   /* token bucket */
    struct timespec last;
    char peer[64];
};

struct job {
    struct job *next;
    uint64_t conn_id;
    struct kd_batch batch;
    char *text;                      /* result: what to send (NULL: nothing) */
    unsigned topic;                  /* event jobs: the topic (0: a reply) */
};

static struct kd_opts opts;
static struct event_base *base;
static struct conn *conns;
static unsigned nconns;
static uint64_t next_conn = 1;
static SSL_CTX *ssl_ctx;

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static struct job *todo, *todo_tail, *done, *done_tail;
static struct event *done_ev;
static pthread_t *workers;
static volatile int quitting;

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
    bufferevent_free(c->bev);
    free(c);
}

static void send_line(struct conn *c, const char *text)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (evbuffer_get_length(out) > opts.max_backlog) {
        klog(KLOG_WARN, "server", "%s: does not read its replies (%zu bytes queued): closing",
             c->peer, evbuffer_get_length(out));
        conn_free(c);
        return;
    }
    evbuffer_add(out, text, strlen(text));
    evbuffer_add(out, "\n", 1);
}

static void send_error(struct conn *c, yajl_val id, int code, const char *msg)
{
    char *t = kd_error_text(id, code, msg);

    if (t)
        send_line(c, t);
    free(t);
}

/* ---- the queues between the loop and the workers ---- */

static void push(struct job **head, struct job **tail, struct job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static struct job *pop(struct job **head, struct job **tail)
{
    struct job *j = *head;

    if (j && !(*head = j->next))
        *tail = NULL;
    return j;
}

void kd_event_post(const char *topic, const char *params_json, uint64_t conn_id)
{
    struct job *j = calloc(1, sizeof(*j));
    size_t n;

    if (!j)
        return;
    n = strlen(params_json) + 64;
    if (!(j->text = malloc(n))) {
        free(j);
        return;
    }
    snprintf(j->text, n, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":%s}", params_json);
    j->topic = !strcmp(topic, "domain") ? TOPIC_DOMAIN : TOPIC_TASK;
    j->conn_id = conn_id;
    pthread_mutex_lock(&qlock);
    push(&done, &done_tail, j);
    pthread_mutex_unlock(&qlock);
    event_active(done_ev, EV_READ, 0);
}

/* ---- workers ---- */

/* One element: its response object as text, or NULL for a notification. */
static char *run_one(const struct kd_req *r, uint64_t conn_id)
{
    struct kd_call c = { .req = r, .conn_id = conn_id };
    const struct kd_method *m;
    kd_out *res;
    char *t;
    int rc;

    if (r->code)
        return kd_error_text(r->id, r->code, r->why);
    if (!(m = kd_method_find(r->method))) {
        char msg[128];
        snprintf(msg, sizeof(msg), "no method '%s'", r->method);
        return r->id ? kd_error_text(r->id, KD_METHOD_NOT_FOUND, msg) : NULL;
    }
    if (!(res = kd_out_new()))
        return r->id ? kd_error_text(r->id, KD_INTERNAL_ERROR, "out of memory") : NULL;
    if (m->task && kd_method_check(m->name) && (rc = kd_method_check(m->name)(&c)) < 0) {
        if (!c.code)
            kd_fail(&c, KD_INTERNAL_ERROR, "%s failed", m->name);
    } else if (m->task) {
        kd_out *req = kd_out_new();
        uint64_t tid = 0;
        if (req) {
            kd_gen_value(kd_out_gen(req), r->self);
            tid = kd_task_start(m, kd_out_text(req, NULL), conn_id, c.msg, sizeof(c.msg));
            kd_out_free(req);
        }
        yajl_gen_map_open(kd_out_gen(res));
        kd_gen_key_int(kd_out_gen(res), "task", (long long)tid);
        yajl_gen_map_close(kd_out_gen(res));
        rc = tid ? 0 : kd_fail(&c, KD_INTERNAL_ERROR, "%s", c.msg[0] ? c.msg : "no task");
    } else {
        c.g = kd_out_gen(res);
        rc = m->fn(&c);
        if (rc < 0 && !c.code)
            kd_fail(&c, KD_INTERNAL_ERROR, "%s failed", m->name);
    }
    if (!r->id) {
        kd_out_free(res);
        return NULL;
    }
    if (rc < 0) {
        kd_out_free(res);
        return kd_error_text(r->id, c.code, c.msg);
    }
    t = kd_result_text(r->id, kd_out_text(res, NULL));
    kd_out_free(res);
    return t;
}

/* A message: one request, or a batch answered by one array (nothing if all notifications). */
static char *run_message(struct job *j)
{
    size_t cap = 2, len = 1;
    char *all = NULL;

    if (!j->batch.is_batch)
        return run_one(&j->batch.reqs[0], j->conn_id);
    for (size_t i = 0; i < j->batch.n; i++) {
        char *t = run_one(&j->batch.reqs[i], j->conn_id), *na;
        size_t tl;
        if (!t)
            continue;
        tl = strlen(t);
        if (!(na = realloc(all, cap + tl + 2))) {
            free(t);
            break;
        }
        if (!all)
            na[0] = '[';
        all = na;
        cap += tl + 2;
        if (len > 1)
            all[len++] = ',';
        memcpy(all + len, t, tl);
        len += tl;
        free(t);
    }
    if (all) {
        all[len++] = ']';
        all[len] = 0;
    }
    return all;
}

static char *run_timed(struct job *j);

static void *worker_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct job *j;
        pthread_mutex_lock(&qlock);
        while (!todo && !quitting)
            pthread_cond_wait(&qcond, &qlock);
        j = pop(&todo, &todo_tail);
        pthread_mutex_unlock(&qlock);
        if (!j)
            break;
        j->text = run_timed(j);
        kd_batch_free(&j->batch);
        pthread_mutex_lock(&qlock);
        push(&done, &done_tail, j);
        pthread_mutex_unlock(&qlock);
        event_active(done_ev, EV_READ, 0);
    }
    kd_ctx_release();
    return NULL;
}

/* On the loop: deliver finished replies and events. */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct job *j;

    (void)fd; (void)what; (void)arg;
    for (;;) {
        pthread_mutex_lock(&qlock);
        j = pop(&done, &done_tail);
        pthread_mutex_unlock(&qlock);
        if (!j)
            break;
        if (j->topic) {
            for (struct conn *c = conns, *next; c; c = next) {
                next = c->next;
                if ((c->topics & j->topic) || c->id == j->conn_id)
                    send_line(c, j->text);
            }
        } else {
            struct conn *c = conn_find(j->conn_id);
            if (c) {
                c->inflight--;
                if (j->text)
                    send_line(c, j->text);
            }
        }
        free(j->text);
        free(j);
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
        klog(KLOG_WARN, "server", "%s: certificate CN '%s' has no role in the access file",
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
            klog(KLOG_WARN, "server", "%s: authentication failed", c->peer);
            send_error(c, r->id, KD_DENIED, "authentication failed");
            return 1;
        }
        c->authed = true;
        if (c->is_tcp)                        /* a Unix peer keeps the role of its credentials */
            c->readonly = role == KD_ROLE_READONLY;
        if (c->readonly)
            klog(KLOG_INFO, "server", "%s: authenticated read-only", c->peer);
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
            unsigned bit = !strcmp(s, "domain") ? TOPIC_DOMAIN : !strcmp(s, "task") ? TOPIC_TASK : 0;
            if (!bit) {
                send_error(c, r->id, KD_INVALID_PARAMS, "unknown topic (\"domain\", \"task\")");
                return 1;
            }
            mask |= bit;
        }
        if (!topics)
            mask = TOPIC_DOMAIN | TOPIC_TASK;
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

/* ---- quick methods on the loop ----
 * host.ping, domain.list and domain.info answer in a core call and a few store reads: handing
 * them to a worker and back costs two thread wake-ups more than the work itself (bench-keeld:
 * host.ping through a worker took 5x an echo round trip). They run on the loop while their last
 * run (anywhere) took under KD_INLINE_US, so a host whose list has grown long (many domains)
 * sends them back to the workers and the loop never stalls for long. */
#define KD_INLINE_US 1000
static const char *const quick_names[] = { "host.ping", "domain.list", "domain.info" };
static unsigned quick_last_us[3];   /* last run time of each; written by loop and workers */

static int quick_index(const char *method)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(method, quick_names[i]))
            return i;
    return -1;
}

static double mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Run a message (timing it if it is one quick method): its reply text or NULL. */
static char *run_timed(struct job *j)
{
    int q = j->batch.is_batch || j->batch.reqs[0].code ? -1 : quick_index(j->batch.reqs[0].method);
    double t0 = q >= 0 ? mono_us() : 0;
    char *t = run_message(j);

    if (q >= 0)
        __atomic_store_n(&quick_last_us[q], (unsigned)(mono_us() - t0), __ATOMIC_RELAXED);
    return t;
}

static bool run_on_loop(const struct job *j)
{
    int q = j->batch.is_batch || j->batch.reqs[0].code ? -1 : quick_index(j->batch.reqs[0].method);

    return q >= 0 && __atomic_load_n(&quick_last_us[q], __ATOMIC_RELAXED) < KD_INLINE_US;
}

static void handle_message(struct conn *c, const char *line, size_t len)
{
    struct job *j;
    char why[200];
    int code;

    if (!rate_ok(c)) {
        send_error(c, NULL, KD_LIMIT, "request rate limit exceeded: slow down");
        return;
    }
    if (!(j = calloc(1, sizeof(*j))))
        return;
    if ((code = kd_req_parse(line, len, &j->batch, why, sizeof(why))) != 0) {
        send_error(c, NULL, code, why);
        free(j);
        return;
    }
    if (!j->batch.is_batch && !j->batch.reqs[0].code && local_method(c, &j->batch.reqs[0])) {
        kd_batch_free(&j->batch);
        free(j);
        return;
    }
    if (c->cert_check && !cert_role(c)) {
        send_error(c, j->batch.is_batch ? NULL : j->batch.reqs[0].id, KD_DENIED,
                   "permission denied: the client certificate has no role in the access file");
        kd_batch_free(&j->batch);
        free(j);
        return;
    }
    if (!c->authed) {
        send_error(c, j->batch.is_batch ? NULL : j->batch.reqs[0].id, KD_DENIED,
                   "not authenticated: call auth.login with the token first");
        kd_batch_free(&j->batch);
        free(j);
        return;
    }
    if (c->inflight >= opts.max_inflight) {
        send_error(c, j->batch.is_batch ? NULL : j->batch.reqs[0].id, KD_LIMIT,
                   "too many requests in flight on this connection");
        kd_batch_free(&j->batch);
        free(j);
        return;
    }
    for (size_t i = 0; c->readonly && i < j->batch.n; i++) {
        struct kd_req *r = &j->batch.reqs[i];
        if (!r->code && kd_method_find(r->method) && !kd_method_readonly(r->method)) {
            r->code = KD_DENIED;
            snprintf(r->why, sizeof(r->why), "read-only access: %s changes state", r->method);
        }
    }
    j->conn_id = c->id;
    if (run_on_loop(j)) {
        char *t = run_timed(j);
        if (t)
            send_line(c, t);
        free(t);
        kd_batch_free(&j->batch);
        free(j);
        return;
    }
    c->inflight++;
    pthread_mutex_lock(&qlock);
    push(&todo, &todo_tail, j);
    pthread_cond_signal(&qcond);
    pthread_mutex_unlock(&qlock);
}

static void read_cb(struct bufferevent *bev, void *arg)
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
            klog(KLOG_WARN, "server", "%s: a message over %zu bytes: discarded", c->peer, opts.max_msg);
            c->discarding = true;
            send_error(c, NULL, KD_LIMIT, "message longer than the limit: discarded");
            if (!conn_find(id))
                return;
            continue;
        }
        if (p.pos < 0)
            return;
        len = (size_t)p.pos;
        line = malloc(len + 1);
        if (!line)
            return;
        evbuffer_remove(in, line, len + 1);
        line[len] = 0;
        if (len && line[len - 1] == '\r')
            line[--len] = 0;
        if (len)
            handle_message(c, line, len);
        free(line);
        if (!conn_find(id))
            return;                              /* closed while answering (backlog) */
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if (what & BEV_EVENT_TIMEOUT)
        klog(KLOG_INFO, "server", "%s: idle for %u s: closing", c->peer, opts.idle_s);
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
    bufferevent_setcb(bev, read_cb, NULL, event_cb, c);
    bufferevent_set_timeouts(bev, &idle, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    return c;
}

static bool too_many(evutil_socket_t fd)
{
    static const char msg[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32006,"
                              "\"message\":\"too many connections\"}}\n";

    if (nconns < opts.max_conns)
        return false;
    if (write(fd, msg, sizeof(msg) - 1) < 0)
        klog(KLOG_DEBUG, "server", "refusing a connection: %s", strerror(errno));
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
    full = cr.uid == 0 || cr.uid == getuid() || (opts.allow_gid >= 0 && cr.gid == (gid_t)opts.allow_gid) ||
           kd_access_group(opts.access, cr.gid) == KD_ROLE_FULL;
    ro = !full && ((opts.ro_gid >= 0 && cr.gid == (gid_t)opts.ro_gid) ||
                   kd_access_group(opts.access, cr.gid) == KD_ROLE_READONLY);
    if (!full && !ro) {
        static const char msg[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32007,"
                                  "\"message\":\"permission denied\"}}\n";
        klog(KLOG_WARN, "server", "refused uid %u gid %u on the Unix socket", (unsigned)cr.uid,
             (unsigned)cr.gid);
        if (write(fd, msg, sizeof(msg) - 1) < 0)
            klog(KLOG_DEBUG, "server", "refusing: %s", strerror(errno));
        evutil_closesocket(fd);
        return;
    }
    snprintf(peer, sizeof(peer), "unix pid %d uid %u%s", (int)cr.pid, (unsigned)cr.uid,
             ro ? " (read-only)" : "");
    evutil_make_socket_nonblocking(fd);
    c = add_conn(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE), true,
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
                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
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

int kd_server_run(const struct kd_opts *o)
{
    struct evconnlistener *ul = NULL, *tl = NULL;
    struct event *sigs[2];
    int rc = -1, fd;

    opts = *o;
    evthread_use_pthreads();
    if (!(base = event_base_new()))
        return -ENOMEM;
    done_ev = event_new(base, -1, EV_PERSIST | EV_READ, done_cb, NULL);
    sigs[0] = evsignal_new(base, SIGTERM, kd_stop_cb, base);
    sigs[1] = evsignal_new(base, SIGINT, kd_stop_cb, base);
    evsignal_add(sigs[0], NULL);
    evsignal_add(sigs[1], NULL);
    /* the peer's credentials decide; with two groups the socket is open to all */
    if ((fd = ksock_listen(o->socket, o->allow_gid >= 0 && o->ro_gid >= 0 ? 0666
                           : o->allow_gid >= 0 || o->ro_gid >= 0 ? 0660 : 0600, 128,
                           SOCK_NONBLOCK)) < 0) {
        klog(KLOG_ERROR, "server", "%s: cannot listen: %s", o->socket, strerror(-fd));
        goto out;
    }
    if ((o->allow_gid >= 0) != (o->ro_gid >= 0) &&
        chown(o->socket, (uid_t)-1, (gid_t)(o->allow_gid >= 0 ? o->allow_gid : o->ro_gid)) < 0)
        klog(KLOG_WARN, "server", "%s: chown: %s", o->socket, strerror(errno));
    ul = evconnlistener_new(base, unix_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (o->listen) {
        struct sockaddr_storage ss;
        int sl = sizeof(ss);
        if (!(ssl_ctx = kd_tls_server_ctx(o)) ||
            evutil_parse_sockaddr_port(o->listen, (struct sockaddr *)&ss, &sl) < 0 ||
            !(tl = evconnlistener_new_bind(base, tcp_accept, NULL, LEV_OPT_CLOSE_ON_FREE |
                                           LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 128,
                                           (struct sockaddr *)&ss, sl))) {
            klog(KLOG_ERROR, "server", "cannot listen on %s (TLS)%s", o->listen,
                 ssl_ctx ? ": bad address or in use" : ": certificate/key");
            goto out;
        }
    }
    if (!(workers = calloc(o->workers, sizeof(*workers))))
        goto out;
    for (unsigned i = 0; i < o->workers; i++)
        pthread_create(&workers[i], NULL, worker_main, NULL);
    kd_watch_start(o->rundir, o->watch_ms);
    klog(KLOG_INFO, "server", "listening on %s%s%s", o->socket, o->listen ? " and " : "",
         o->listen ? o->listen : "");
    if (o->ready_fd >= 0) {
        if (write(o->ready_fd, "R", 1) != 1)
            klog(KLOG_WARN, "server", "readiness pipe: %s", strerror(errno));
        close(o->ready_fd);
    }
    event_base_dispatch(base);
    rc = 0;
    kd_watch_stop();
    pthread_mutex_lock(&qlock);
    quitting = 1;
    pthread_cond_broadcast(&qcond);
    pthread_mutex_unlock(&qlock);
    for (unsigned i = 0; i < o->workers; i++)
        pthread_join(workers[i], NULL);
    free(workers);
    kd_ctx_release();       /* the loop's own context (quick methods) */
out:
    while (conns)
        conn_free(conns);
    if (ul)
        evconnlistener_free(ul);
    if (tl)
        evconnlistener_free(tl);
    unlink(o->socket);
    if (ssl_ctx)
        SSL_CTX_free(ssl_ctx);
    event_free(sigs[0]);
    event_free(sigs[1]);
    event_free(done_ev);
    event_base_free(base);
    return rc;
}
