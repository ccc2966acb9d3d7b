/* kcd_conn.c - keel-consoled's Unix socket: one text command per connection ("add DOMID GFN
 * PORT", "remove DOMID", "attach DOMID"), each answered "OK" or "ERR <reason>"; after "attach"
 * the connection is the domain's console (the log's last 4 KiB, then live output; bytes sent
 * become the guest's input). The escape character is the client's business (keel-console). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "kcd_int.h"
#include "klog.h"

#define KCD_LINE_MAX 256
#define KCD_OUT_CAP (1u << 20)
#define KCD_HISTORY 4096

static void kcd_client_free(struct kcd_client *c)
{
    for (struct kcd_client **pp = &c->k->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    bufferevent_free(c->bev);
    free(c);
}

static int kcd_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* The log's last KCD_HISTORY bytes, read through the domain's log descriptor (opened for
 * reading and appending by the privileged part). */
static void kcd_send_history(struct kcd_client *c)
{
    struct kcd_dom *d = kcd_dom_find(c->k, c->domid);
    char buf[KCD_HISTORY];
    struct stat st;
    ssize_t n;

    if (!d || d->log_fd < 0 || fstat(d->log_fd, &st) < 0)
        return;
    off_t off = st.st_size > KCD_HISTORY ? st.st_size - KCD_HISTORY : 0;
    if ((n = pread(d->log_fd, buf, sizeof(buf), off)) > 0)
        bufferevent_write(c->bev, buf, (size_t)n);
}

/* Run one command line; returns 1 if the connection became an attach, 0 to close after the
 * answer. */
static int kcd_command(struct kcd_client *c, char *line, char *ans, size_t anslen)
{
    char *argv[5] = { NULL }, *save = NULL;
    uint64_t dom = 0, gfn = 0, port = 0;
    char err[512] = "";
    int argc = 0, rc;

    for (char *t = strtok_r(line, " \t", &save); t && argc < 5; t = strtok_r(NULL, " \t", &save))
        argv[argc++] = t;
    if (argc < 2 || kcd_parse_u64(argv[1], 0x7fef, &dom) < 0) {
        snprintf(ans, anslen, "ERR usage: add DOMID GFN PORT | remove DOMID | attach DOMID\n");
        return 0;
    }
    if (!strcmp(argv[0], "add") && argc == 4 && kcd_parse_u64(argv[2], UINT64_MAX >> 12, &gfn) == 0 &&
        kcd_parse_u64(argv[3], UINT32_MAX, &port) == 0) {
        rc = kcd_dom_add(c->k, (uint32_t)dom, gfn, (uint32_t)port, err, sizeof(err));
    } else if (!strcmp(argv[0], "remove") && argc == 2) {
        rc = kcd_dom_remove(c->k, (uint32_t)dom);
    } else if (!strcmp(argv[0], "attach") && argc == 2) {
        rc = kcd_dom_find(c->k, (uint32_t)dom) ? 0 : -ENOENT;
        if (rc == 0) {
            c->domid = (uint32_t)dom;
            c->attached = 1;
            snprintf(ans, anslen, "OK\n");
            return 1;
        }
    } else {
        snprintf(ans, anslen, "ERR bad command '%s'\n", argv[0]);
        return 0;
    }
    if (rc < 0)
        snprintf(ans, anslen, "ERR domain %" PRIu64 ": %s\n", dom, err[0] ? err : strerror(-rc));
    else
        snprintf(ans, anslen, "OK\n");
    return 0;
}

static void kcd_closing_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    kcd_client_free(arg);
}

static void kcd_event_cb(struct bufferevent *bev, short what, void *arg);

static void kcd_read_cb(struct bufferevent *bev, void *arg)
{
    struct kcd_client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char ans[700];
    size_t len;
    char *line;

    if (c->attached) {
        struct kcd_dom *d = kcd_dom_find(c->k, c->domid);
        if (d)
            kcd_dom_pump(d);
        else
            evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
    if (!line) {
        if (evbuffer_get_length(in) > KCD_LINE_MAX)
            kcd_client_free(c);
        return;
    }
    if (len > KCD_LINE_MAX) {
        snprintf(ans, sizeof(ans), "ERR line too long\n");
    } else if (kcd_command(c, line, ans, sizeof(ans))) {
        free(line);
        bufferevent_write(bev, ans, strlen(ans));
        kcd_send_history(c);
        if (evbuffer_get_length(in))
            kcd_read_cb(bev, arg);
        return;
    }
    free(line);
    bufferevent_write(bev, ans, strlen(ans));
    bufferevent_disable(bev, EV_READ);
    bufferevent_setcb(bev, NULL, kcd_closing_cb, kcd_event_cb, c);   /* close once answered */
}

static void kcd_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        kcd_client_free(arg);
}

static void kcd_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int salen, void *arg)
{
    struct kcd *k = arg;
    struct kcd_client *c = calloc(1, sizeof(*c));

    (void)l;
    (void)sa;
    (void)salen;
    if (!c || !(c->bev = bufferevent_socket_new(k->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
        free(c);
        close(fd);
        return;
    }
    c->k = k;
    c->next = k->clients;
    k->clients = c;
    bufferevent_setcb(c->bev, kcd_read_cb, NULL, kcd_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int kcd_listen(struct kcd *k, int fd)
{
    k->listener = evconnlistener_new(k->base, kcd_accept_cb, k,
                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    return k->listener ? 0 : -ENOMEM;
}

void kcd_clients_free(struct kcd *k)
{
    while (k->clients)
        kcd_client_free(k->clients);
    if (k->listener)
        evconnlistener_free(k->listener);
    k->listener = NULL;
}

/* The domain's console is gone: each attached client gets what is still queued for it (the
 * guest's last output, pumped just before) and then its end of file; one that does not read
 * it within 2 s is closed anyway. */
void kcd_clients_detach(struct kcd *k, uint32_t domid)
{
    static const struct timeval drain = { 2, 0 };

    for (struct kcd_client *c = k->clients, *next; c; c = next) {
        next = c->next;
        if (!c->attached || c->domid != domid)
            continue;
        c->attached = 0;
        if (!evbuffer_get_length(bufferevent_get_output(c->bev))) {
            kcd_client_free(c);
            continue;
        }
        bufferevent_disable(c->bev, EV_READ);
        bufferevent_setcb(c->bev, NULL, kcd_closing_cb, kcd_event_cb, c);
        bufferevent_set_timeouts(c->bev, NULL, &drain);
    }
}

void kcd_clients_output(struct kcd *k, uint32_t domid, const char *buf, size_t len)
{
    for (struct kcd_client *c = k->clients; c; c = c->next)
        if (c->attached && c->domid == domid &&
            evbuffer_get_length(bufferevent_get_output(c->bev)) < KCD_OUT_CAP)
            bufferevent_write(c->bev, buf, len);
}

int kcd_clients_input(struct kcd *k, struct kcd_dom *d)
{
    int moved = 0;

    for (struct kcd_client *c = k->clients; c; c = c->next) {
        struct evbuffer *in;
        size_t len;
        int n;

        if (!c->attached || c->domid != d->domid)
            continue;
        in = bufferevent_get_input(c->bev);
        len = evbuffer_get_length(in);
        if (len > KCD_IN_SIZE)
            len = KCD_IN_SIZE;
        if (!len)
            continue;
        n = kcd_ring_put_input(d->page, (const char *)evbuffer_pullup(in, (ssize_t)len), len);
        if (n > 0) {
            evbuffer_drain(in, (size_t)n);
            moved = 1;
        }
    }
    return moved;
}
