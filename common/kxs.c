/* kxs.c - the store client of Keel's daemons (see kxs.h): xenstore wire messages (16-byte header,
 * payload <= 4096 bytes) over the store's Unix socket, replies matched by request id, watch
 * events queued in arrival order. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kio.h"
#include "krundir.h"
#include "kxs.h"

#define KXS_HDR 16u

struct kxs_ev {
    struct kxs_ev *next;
    char *token;
    char path[];
};

struct kxs {
    int fd;
    int dead;                   /* the connection was lost (kxs_dead) */
    int timeout_ms;
    uint32_t next_id;
    size_t fill;
    unsigned char buf[KXS_HDR + KXS_PAYLOAD_MAX];
    struct kxs_ev *head, **tail;
    char err[256];              /* the message of the last failed call (kxs_error) */
    int answered;               /* the last request's failure is the store's answer */
};

struct kxs_hdr {
    uint32_t type, req_id, tx_id, len;
};

/* A handle around a connected socket (made non-blocking and close-on-exec). */
static int kxs_wrap(kxs **out, int fd)
{
    kxs *x = calloc(1, sizeof(*x));
    int fl = fcntl(fd, F_GETFL);

    if (!x)
        return -ENOMEM;
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        int e = errno;
        free(x);
        return -e;
    }
    x->fd = fd;
    x->timeout_ms = 10000;
    x->next_id = 1;
    x->tail = &x->head;
    *out = x;
    return 0;
}

int kxs_open_fd(kxs **out, int fd)
{
    return kxs_wrap(out, fd);
}

int kxs_open_path(kxs **out, const char *sockpath)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, rc;

    if (strlen(sockpath) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if ((rc = kxs_wrap(out, fd)) < 0)
        close(fd);
    return rc;
}

int kxs_open(kxs **out, const char *rundir)
{
    const char *env = getenv("XENSTORED_PATH");
    char path[256];
    int rc;

    if (!rundir && env && *env)
        return kxs_open_path(out, env);
    if ((rc = krundir_path(path, sizeof(path), rundir, "xenstored/socket")) < 0)
        return rc;
    return kxs_open_path(out, path);
}

void kxs_close(kxs *x)
{
    if (!x)
        return;
    while (x->head) {
        struct kxs_ev *e = x->head;
        x->head = e->next;
        free(e);
    }
    close(x->fd);
    free(x);
}

int kxs_fd(const kxs *x)
{
    return x->fd;
}

int kxs_dead(const kxs *x)
{
    return x->dead;
}

void kxs_set_timeout(kxs *x, int ms)
{
    x->timeout_ms = ms > 0 ? ms : 10000;
}

static long kxs_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Wait for the socket (events) until deadline; -ETIMEDOUT when it passes. */
static int kxs_wait(kxs *x, short events, long deadline)
{
    for (;;) {
        long left = deadline - kxs_now_ms();
        struct pollfd p = { x->fd, events, 0 };
        int n;
        if (left <= 0)
            return -ETIMEDOUT;
        n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int kxs_send_all(kxs *x, const void *p, size_t len, long deadline)
{
    long left = deadline - kxs_now_ms();
    int rc = kio_send_all_timeout(x->fd, p, len, left > 0 ? (int)left : 0);

    if (rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN)
        x->dead = 1;
    return rc;
}

/* Receive what is available into the buffer: 1 if bytes came, 0 if none, <0 on loss. */
static int kxs_recv_some(kxs *x)
{
    ssize_t n;

    if (x->fill == sizeof(x->buf))
        return 0;
    n = recv(x->fd, x->buf + x->fill, sizeof(x->buf) - x->fill, MSG_DONTWAIT);
    if (n == 0) {
        x->dead = 1;
        return -ECONNRESET;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        x->dead = 1;
        return -errno;
    }
    x->fill += (size_t)n;
    return 1;
}

/* Take one complete message off the buffer: 1 (h, *body allocated, NUL-terminated), 0 if the
 * buffer holds none yet, -EPROTO for a header announcing more than the protocol allows. */
static int kxs_take(kxs *x, struct kxs_hdr *h, char **body)
{
    if (x->fill < KXS_HDR)
        return 0;
    memcpy(h, x->buf, sizeof(*h));
    if (h->len > KXS_PAYLOAD_MAX) {
        x->dead = 1;                        /* the stream cannot be resynchronised */
        return -EPROTO;
    }
    if (x->fill < KXS_HDR + h->len)
        return 0;
    if (!(*body = malloc(h->len + 1)))
        return -ENOMEM;
    memcpy(*body, x->buf + KXS_HDR, h->len);
    (*body)[h->len] = 0;
    x->fill -= KXS_HDR + h->len;
    memmove(x->buf, x->buf + KXS_HDR + h->len, x->fill);
    return 1;
}

/* Queue a WATCH_EVENT body "path\0token\0" (malformed ones are dropped). */
static void kxs_queue(kxs *x, const char *body, uint32_t len)
{
    size_t pl = strnlen(body, len), tl;
    struct kxs_ev *e;

    if (pl >= len)
        return;
    tl = strnlen(body + pl + 1, len - pl - 1);
    if (!(e = malloc(sizeof(*e) + pl + tl + 2)))
        return;
    memcpy(e->path, body, pl);
    e->path[pl] = 0;
    e->token = e->path + pl + 1;
    memcpy(e->token, body + pl + 1, tl);
    e->token[tl] = 0;
    e->next = NULL;
    *x->tail = e;
    x->tail = &e->next;
}

/* Dispatch every complete message; the reply to want (if any) is returned through h/body. */
static int kxs_drain(kxs *x, uint32_t want, struct kxs_hdr *h, char **body, int *got)
{
    for (;;) {
        char *b = NULL;
        int rc = kxs_take(x, h, &b);
        if (rc <= 0)
            return rc;
        if (h->type == KXS_WATCH_EVENT) {
            kxs_queue(x, b, h->len);
            free(b);
        } else if (want && h->req_id == want) {
            *body = b;
            *got = 1;
            return 0;
        } else {
            free(b);             /* the late reply of a request that timed out */
        }
    }
}

int kxs_pump(kxs *x)
{
    struct kxs_hdr h;
    char *body = NULL;
    int got = 0, rc;

    do {
        if ((rc = kxs_recv_some(x)) < 0)
            return rc;
        if ((rc = kxs_drain(x, 0, &h, &body, &got)) < 0)
            return rc;
    } while (rc == 0 && x->fill == sizeof(x->buf));
    return 0;
}

/* The reply r (body, consumed) to a request of type: 0 with *out / *outlen, or the store's
 * error (x->answered set) or -EPROTO for a reply of another type. */
static int kxs_answer(kxs *x, uint32_t type, const struct kxs_hdr *r, char *body, char **out,
                      size_t *outlen)
{
    int rc;

    if (r->type == KXS_ERROR) {
        x->answered = 1;
        rc = kxs_errnum(body, r->len) ? -kxs_errnum(body, r->len) : -EIO;
        free(body);
        return rc;
    }
    if (r->type != type) {
        free(body);
        return -EPROTO;
    }
    if (outlen)
        *outlen = r->len;
    if (out)
        *out = body;
    else
        free(body);
    return 0;
}

static int kxs_request_raw(kxs *x, uint32_t type, uint32_t tx, const void *payload, size_t len,
                           char **out, size_t *outlen)
{
    long deadline = kxs_now_ms() + x->timeout_ms;
    struct kxs_hdr h = { type, x->next_id++, tx, (uint32_t)len }, r;
    char *body = NULL;
    int got = 0, rc;

    if (len > KXS_PAYLOAD_MAX)
        return -E2BIG;
    if (!x->next_id)
        x->next_id = 1;
    {   /* header and payload in one send: one system call, one wakeup of the store */
        unsigned char msg[KXS_HDR + KXS_PAYLOAD_MAX];
        memcpy(msg, &h, sizeof(h));
        if (len)
            memcpy(msg + KXS_HDR, payload, len);
        if ((rc = kxs_send_all(x, msg, KXS_HDR + len, deadline)) < 0)
            return rc;
    }
    for (;;) {
        if ((rc = kxs_drain(x, h.req_id, &r, &body, &got)) < 0)
            return rc;
        if (got)
            break;
        if ((rc = kxs_recv_some(x)) < 0)
            return rc;
        if (rc == 0 && (rc = kxs_wait(x, POLLIN, deadline)) < 0)
            return rc;
    }
    {
        /* complete events that came behind the reply are queued now: the socket will not
         * wake a poll for bytes already read */
        struct kxs_hdr e;
        char *none = NULL;
        int gotn = 0;
        kxs_drain(x, 0, &e, &none, &gotn);
    }
    return kxs_answer(x, type, &r, body, out, outlen);
}

static const char *kxs_type_name(uint32_t type)
{
    static const char *const names[] = {
        [KXS_DIRECTORY] = "DIRECTORY", [KXS_READ] = "READ", [KXS_GET_PERMS] = "GET_PERMS",
        [KXS_WATCH] = "WATCH", [KXS_UNWATCH] = "UNWATCH", [KXS_TX_START] = "TRANSACTION_START",
        [KXS_TX_END] = "TRANSACTION_END", [KXS_WRITE] = "WRITE", [KXS_MKDIR] = "MKDIR",
        [KXS_RM] = "RM", [KXS_SET_PERMS] = "SET_PERMS",
    };

    return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "request";
}

/* The message of a failed request (kxs_error): the request, its path (the payload's first
 * string, pl bytes) and the error: the store's own name for it when the store answered
 * (x->answered), else what went wrong here. Returns rc. */
static int kxs_note(kxs *x, uint32_t type, const char *p, size_t len, size_t pl, int rc)
{
    snprintf(x->err, sizeof(x->err), "store: %s%s%.*s: %s", kxs_type_name(type),
             pl && pl < len ? " " : "", pl && pl < len ? (int)(pl > 160 ? 160 : pl) : 0, p,
             x->answered ? kxs_errname(-rc)
             : rc == -ETIMEDOUT ? "no answer in time"
             : x->dead ? "connection to the store lost" : strerror(-rc));
    return rc;
}

int kxs_request(kxs *x, uint32_t type, uint32_t tx, const void *payload, size_t len,
                char **out, size_t *outlen)
{
    const char *p = payload;
    size_t pl = len ? strnlen(p, len) : 0;
    int rc;

    x->answered = 0;
    rc = kxs_request_raw(x, type, tx, payload, len, out, outlen);
    return rc >= 0 ? rc : kxs_note(x, type, p, len, pl, rc);
}

/* kxs_batch's messages, all headers and payloads in a row, for ids base, base+1, ... */
static unsigned char *kxs_batch_msgs(uint32_t tx, const struct kxs_req *q, unsigned n,
                                     uint32_t base, size_t *total)
{
    unsigned char *msg, *p;

    *total = 0;
    for (unsigned i = 0; i < n; i++)
        *total += KXS_HDR + q[i].len;
    if (!(p = msg = malloc(*total)))
        return NULL;
    for (unsigned i = 0; i < n; i++) {
        struct kxs_hdr h = { q[i].type, base + i, tx, (uint32_t)q[i].len };
        memcpy(p, &h, sizeof(h));
        if (q[i].len)
            memcpy(p + KXS_HDR, q[i].payload, q[i].len);
        p += KXS_HDR + q[i].len;
    }
    return msg;
}

/* Take every complete message off the buffer: replies to ids base..base+n-1 into q (rc was 1:
 * unanswered; ans[i] set when the store answered with an error), events queued, anything else
 * (a late reply) dropped. Returns the number of replies taken, or a negative errno. */
static int kxs_batch_take(kxs *x, struct kxs_req *q, unsigned n, uint32_t base,
                          unsigned char *ans)
{
    int taken = 0;

    for (;;) {
        struct kxs_hdr h;
        char *b = NULL;
        uint32_t i;
        int rc = kxs_take(x, &h, &b);
        if (rc <= 0)
            return rc < 0 ? rc : taken;
        i = h.req_id - base;
        if (h.type == KXS_WATCH_EVENT) {
            kxs_queue(x, b, h.len);
            free(b);
        } else if (h.req_id < base || i >= n || q[i].rc != 1) {
            free(b);
        } else {
            x->answered = 0;
            q[i].rc = kxs_answer(x, q[i].type, &h, b, q[i].out, q[i].outlen);
            ans[i] = (unsigned char)x->answered;
            taken++;
        }
    }
}

/* Send what the socket takes of msg[*sent..total) without blocking: 0 or a negative errno. */
static int kxs_batch_send(kxs *x, const unsigned char *msg, size_t total, size_t *sent)
{
    ssize_t w = send(x->fd, msg + *sent, total - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (w >= 0) {
        *sent += (size_t)w;
        return 0;
    }
    if (errno == EAGAIN || errno == EINTR)
        return 0;
    if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
        x->dead = 1;
    return -errno;
}

/* The send and receive loop of kxs_batch: replies come while later requests are still being
 * sent (a batch larger than the socket's buffers cannot dead-lock). */
static int kxs_batch_run(kxs *x, const unsigned char *msg, size_t total, struct kxs_req *q,
                         unsigned n, uint32_t base, unsigned char *ans)
{
    long deadline = kxs_now_ms() + x->timeout_ms;
    size_t sent = 0;
    unsigned left = n;
    int rc;

    while (left) {
        struct pollfd pf = { x->fd, (short)(POLLIN | (sent < total ? POLLOUT : 0)), 0 };
        long ms = deadline - kxs_now_ms();
        if (ms <= 0)
            return -ETIMEDOUT;
        if ((rc = poll(&pf, 1, (int)ms)) < 0 && errno != EINTR)
            return -errno;
        if (rc <= 0)
            continue;
        if ((pf.revents & POLLOUT) && (rc = kxs_batch_send(x, msg, total, &sent)) < 0)
            return rc;
        if (!(pf.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if ((rc = kxs_recv_some(x)) < 0 || (rc = kxs_batch_take(x, q, n, base, ans)) < 0)
            return rc;
        left -= (unsigned)rc;
    }
    return 0;
}

int kxs_batch(kxs *x, uint32_t tx, struct kxs_req *q, unsigned n)
{
    unsigned char *msg, *ans;
    size_t total;
    uint32_t base;
    int rc;

    for (unsigned i = 0; i < n; i++) {
        if (q[i].len > KXS_PAYLOAD_MAX)
            return -E2BIG;
        q[i].rc = 1;                            /* unanswered */
    }
    if (!n)
        return 0;
    if (!x->next_id || x->next_id > UINT32_MAX - n)
        x->next_id = 1;
    base = x->next_id;
    x->next_id += n;
    if (!(ans = calloc(n, 1)) || !(msg = kxs_batch_msgs(tx, q, n, base, &total))) {
        free(ans);
        return -ENOMEM;
    }
    rc = kxs_batch_run(x, msg, total, q, n, base, ans);
    free(msg);
    for (unsigned i = 0; i < n; i++)
        if (q[i].rc == 1)
            q[i].rc = rc;                       /* not answered: the batch's own failure */
    rc = 0;
    for (unsigned i = 0; i < n && !rc; i++)
        if (q[i].rc < 0) {                      /* the first failure names the batch's */
            const char *p = q[i].payload;
            x->answered = ans[i];
            rc = kxs_note(x, q[i].type, p, q[i].len, q[i].len ? strnlen(p, q[i].len) : 0,
                          q[i].rc);
        }
    free(ans);
    return rc;
}

const char *kxs_error(const kxs *x)
{
    return x->err[0] ? x->err : "no error";
}

static int kxs_path_req(kxs *x, uint32_t type, uint32_t tx, const char *path, char **out,
                        size_t *outlen)
{
    return kxs_request(x, type, tx, path, strlen(path) + 1, out, outlen);
}

int kxs_read(kxs *x, uint32_t tx, const char *path, char **val, size_t *len)
{
    return kxs_path_req(x, KXS_READ, tx, path, val, len);
}

int kxs_read_u64(kxs *x, uint32_t tx, const char *path, uint64_t max, uint64_t *v)
{
    char *s = NULL;
    size_t len = 0;
    uint64_t n = 0;
    int rc = kxs_read(x, tx, path, &s, &len);

    if (rc < 0)
        return rc;
    rc = len == 0 || len > 20 ? -EINVAL : 0;
    for (size_t i = 0; rc == 0 && i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || n > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            rc = -EINVAL;
        else
            n = n * 10 + (uint64_t)(s[i] - '0');
    }
    free(s);
    if (rc == 0 && n > max)
        rc = -EINVAL;
    if (rc == 0)
        *v = n;
    return rc;
}

int kxs_write(kxs *x, uint32_t tx, const char *path, const char *val)
{
    size_t pl = strlen(path) + 1, vl = strlen(val);
    char buf[KXS_PAYLOAD_MAX];

    if (pl + vl > sizeof(buf))
        return -E2BIG;
    memcpy(buf, path, pl);
    memcpy(buf + pl, val, vl);
    return kxs_request(x, KXS_WRITE, tx, buf, pl + vl, NULL, NULL);
}

int kxs_vwritef(kxs *x, uint32_t tx, const char *path, const char *fmt, va_list ap)
{
    char val[KXS_PAYLOAD_MAX];
    int n = vsnprintf(val, sizeof(val), fmt, ap);

    if (n < 0 || (size_t)n >= sizeof(val))
        return -E2BIG;
    return kxs_write(x, tx, path, val);
}

int kxs_writef(kxs *x, uint32_t tx, const char *path, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = kxs_vwritef(x, tx, path, fmt, ap);
    va_end(ap);
    return rc;
}

int kxs_mkdir(kxs *x, uint32_t tx, const char *path)
{
    return kxs_path_req(x, KXS_MKDIR, tx, path, NULL, NULL);
}

int kxs_rm(kxs *x, uint32_t tx, const char *path)
{
    return kxs_path_req(x, KXS_RM, tx, path, NULL, NULL);
}

int kxs_directory(kxs *x, uint32_t tx, const char *path, char ***names, unsigned *n)
{
    char *body = NULL, **v, *s;
    size_t len = 0;
    unsigned cnt = 0;
    int rc = kxs_path_req(x, KXS_DIRECTORY, tx, path, &body, &len);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < len; i++)
        cnt += body[i] == 0;
    if (len && body[len - 1] != 0)
        cnt++;                              /* a last name without its NUL */
    if (!(v = malloc((cnt + 1) * sizeof(char *) + len + 1))) {
        free(body);
        return -ENOMEM;
    }
    s = (char *)(v + cnt + 1);
    memcpy(s, body, len);
    s[len] = 0;
    free(body);
    for (unsigned i = 0; i < cnt; i++) {
        v[i] = s;
        s += strlen(s) + 1;
    }
    v[cnt] = NULL;
    *names = v;
    *n = cnt;
    return (int)cnt;
}

int kxs_set_perms(kxs *x, uint32_t tx, const char *path, const char *const *perms, unsigned n)
{
    char buf[KXS_PAYLOAD_MAX];
    size_t off = strlen(path) + 1;

    if (off > sizeof(buf))
        return -E2BIG;
    memcpy(buf, path, off);
    for (unsigned i = 0; i < n; i++) {
        size_t l = strlen(perms[i]) + 1;
        if (off + l > sizeof(buf))
            return -E2BIG;
        memcpy(buf + off, perms[i], l);
        off += l;
    }
    return kxs_request(x, KXS_SET_PERMS, tx, buf, off, NULL, NULL);
}

static int kxs_watch_req(kxs *x, uint32_t type, const char *path, const char *token)
{
    size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
    char buf[KXS_PAYLOAD_MAX];

    if (pl + tl > sizeof(buf))
        return -E2BIG;
    memcpy(buf, path, pl);
    memcpy(buf + pl, token, tl);
    return kxs_request(x, type, 0, buf, pl + tl, NULL, NULL);
}

int kxs_watch(kxs *x, const char *path, const char *token)
{
    return kxs_watch_req(x, KXS_WATCH, path, token);
}

int kxs_unwatch(kxs *x, const char *path, const char *token)
{
    return kxs_watch_req(x, KXS_UNWATCH, path, token);
}

int kxs_tx_start(kxs *x, uint32_t *tx)
{
    char *body = NULL, *end;
    unsigned long v;
    int rc = kxs_request(x, KXS_TX_START, 0, "", 1, &body, NULL);

    if (rc < 0)
        return rc;
    errno = 0;
    v = strtoul(body, &end, 10);
    rc = errno || end == body || *end || v == 0 || v > UINT32_MAX ? -EPROTO : 0;
    free(body);
    if (rc == 0)
        *tx = (uint32_t)v;
    return rc;
}

int kxs_tx_end(kxs *x, uint32_t tx, int commit)
{
    return kxs_request(x, KXS_TX_END, tx, commit ? "T" : "F", 2, NULL, NULL);
}

int kxs_pending(const kxs *x)
{
    return x->head != NULL;
}

int kxs_next_event(kxs *x, char **path, char **token)
{
    struct kxs_ev *e = x->head;

    if (!e)
        return 0;
    x->head = e->next;
    if (!x->head)
        x->tail = &x->head;
    /* hand out one block: move the strings to its start so free(*path) frees it */
    {
        size_t pl = strlen(e->path), tl = strlen(e->token);
        char *blk = (char *)e;
        memmove(blk, e->path, pl + 1 + tl + 1);
        *path = blk;
        *token = blk + pl + 1;
    }
    return 1;
}
