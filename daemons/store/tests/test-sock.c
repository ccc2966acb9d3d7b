/* test-sock.c - the Unix socket transport in one process: requests and replies over a
 * real socket, an oversized header closes only that connection, and a client that
 * watches but never reads is dropped once its backlog passes the limit, while the store
 * and its other clients carry on. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "tap.h"
#include "ks_test.h"

static struct event_base *base;

static void serve(int ms)
{
    struct timeval tv = { 0, ms * 1000 };

    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static int dial(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        tap_bail("connect %s: %s", path, strerror(errno));
    serve(5);   /* let the store accept */
    return fd;
}

static int send_req(int fd, uint32_t type, const char *p, size_t n)
{
    char buf[KS_HDR_SIZE + KS_PAYLOAD_MAX];
    struct ks_hdr h = { type, 3, 0, (uint32_t)n };

    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), p, n);
    return write(fd, buf, sizeof(h) + n) == (ssize_t)(sizeof(h) + n) ? 0 : -1;
}

/* Read one whole message, serving the store while waiting. */
static int recv_msg(int fd, struct kt_msg *m)
{
    char buf[KS_HDR_SIZE + KS_PAYLOAD_MAX];
    size_t got = 0;
    struct ks_hdr h;

    for (int i = 0; i < 200; i++) {
        ssize_t n = read(fd, buf + got, got < sizeof(h) ? sizeof(h) - got :
                         sizeof(h) + h.len - got);
        if (n == 0)
            return -1;
        if (n > 0)
            got += (size_t)n;
        if (got >= sizeof(h)) {
            memcpy(&h, buf, sizeof(h));
            if (h.len > KS_PAYLOAD_MAX)
                return -1;
            if (got == sizeof(h) + h.len) {
                memset(m, 0, sizeof(*m));
                m->type = h.type;
                m->len = h.len;
                memcpy(m->body, buf + sizeof(h), h.len);
                return 0;
            }
        }
        if (n < 0)
            serve(5);
    }
    return -1;
}

/* Serve and drain until the peer closes (1) or time runs out (0). */
static int sees_eof(int fd)
{
    char buf[65536];

    for (int i = 0; i < 400; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0)
            return 1;
        if (n < 0 && errno != EAGAIN)
            return 1;
        if (n < 0)
            serve(5);
    }
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/ks-sock.XXXXXX", path[128], tok[2100], node[2200];
    struct ks_config cfg;
    struct ks_store *s;
    struct ks_conn *d0;
    struct kt_msg m;
    int a, b, c;

    base = event_base_new();
    if (!mkdtemp(dir))
        tap_bail("mkdtemp: %s", strerror(errno));
    snprintf(path, sizeof(path), "%s/socket", dir);
    ks_config_defaults(&cfg);
    tap_ok(ks_store_new(base, &cfg, &s) == 0, "store starts");
    tap_ok(ks_sock_listen(s, path) == 0, "listens on %s", path);
    d0 = ks_conn_new(s, 0, NULL, NULL);
    a = dial(path);
    tap_ok(send_req(a, KS_WRITE, "/s/a\0v", 6) == 0 && recv_msg(a, &m) == 0 && m.type == KS_WRITE &&
           !strcmp(m.body, "OK"), "write over the socket");
    tap_ok(send_req(a, KS_READ, "/s/a", 5) == 0 && recv_msg(a, &m) == 0 && !strcmp(m.body, "v"),
           "read over the socket");
    b = dial(path);
    {
        struct ks_hdr h = { KS_READ, 1, 0, 100000 };
        tap_ok(write(b, &h, sizeof(h)) == sizeof(h), "a client announces a 100000-byte request");
    }
    tap_ok(sees_eof(b), "the store closes that connection");
    tap_ok(send_req(a, KS_READ, "/s/a", 5) == 0 && recv_msg(a, &m) == 0 && !strcmp(m.body, "v"),
           "other clients are unaffected");
    c = dial(path);
    memset(tok, 't', sizeof(tok) - 1);
    tok[sizeof(tok) - 1] = '\0';
    {
        char req[2200];
        int n = snprintf(req, sizeof(req), "/s/w%c%s", '\0', tok);
        tap_ok(send_req(c, KS_WATCH, req, (size_t)n + 1) == 0, "a client watches with a 2 KiB token");
    }
    serve(10);
    memset(node, 'n', sizeof(node));
    memcpy(node, "/s/w/", 5);
    node[2000] = '\0';
    for (int i = 0; i < 1500; i++) {     /* ~4 KiB per event, never read by c */
        snprintf(node + 1990, 10, "%05d", i);
        kt_req(d0, KS_WRITE, 0, node, "x");
        if (i % 100 == 0)
            serve(1);
    }
    tap_ok(sees_eof(c), "a watcher that never reads is dropped past its backlog limit");
    tap_ok(send_req(a, KS_READ, "/s/a", 5) == 0 && recv_msg(a, &m) == 0 && !strcmp(m.body, "v"),
           "the store still serves the other clients");
    close(a);
    close(b);
    close(c);
    serve(10);
    ks_store_free(s);
    {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        tap_ok(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0,
               "after shutdown the listener is closed");
        if (fd >= 0)
            close(fd);
    }
    unlink(path);
    rmdir(dir);
    event_base_free(base);
    return tap_done();
}
