/* mig_tcp.c - the direct TCP transport for migration: HOST:PORT parsing, connect with a timeout,
 * listen, accept one connection; with TLS the handshake (mig_tls.c) and the relay thread that
 * gives the caller a plain socket. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mig_int.h"
#include "mig_tls.h"

/* "host:port", "[v6]:port", ":port" or "*:port" into host (empty: any) and port. */
static int split(const char *hp, char *host, size_t hlen, char *port, size_t plen)
{
    const char *colon;
    size_t n;

    if (hp[0] == '[') {
        const char *end = strchr(hp, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        n = (size_t)(end - hp - 1);
        hp++;
        colon = end + 1;
    } else {
        if (!(colon = strrchr(hp, ':')))
            return -EINVAL;
        n = (size_t)(colon - hp);
    }
    if (n >= hlen || strlen(colon + 1) >= plen || !colon[1])
        return -EINVAL;
    memcpy(host, hp, n);
    host[n] = 0;
    if (!strcmp(host, "*"))
        host[0] = 0;
    strcpy(port, colon + 1);
    for (const char *c = port; *c; c++)
        if (*c < '0' || *c > '9')
            return -EINVAL;
    return atoi(port) > 0 && atoi(port) < 65536 ? 0 : -EINVAL;
}

static int resolve(kl_ctx *ctx, const char *hp, int passive, char *host, size_t hlen,
                   struct addrinfo **res)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0 };
    char port[16];
    int rc;

    if (split(hp, host, hlen, port, sizeof(port)) < 0)
        return kl__err(ctx, -EINVAL, "migration: '%s' is not HOST:PORT (port 1-65535)", hp);
    if (!passive && !host[0])
        return kl__err(ctx, -EINVAL, "migration: '%s' names no host to connect to", hp);
    if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, res)) != 0)
        return kl__err(ctx, -EHOSTUNREACH, "migration: cannot resolve '%s': %s", hp,
                       gai_strerror(rc));
    return 0;
}

static int connect_timeout(int s, const struct sockaddr *sa, socklen_t len, int ms)
{
    struct pollfd pf = { s, POLLOUT, 0 };
    int fl = fcntl(s, F_GETFL), err = 0;
    socklen_t el = sizeof(err);

    fcntl(s, F_SETFL, fl | O_NONBLOCK);
    if (connect(s, sa, len) < 0) {
        if (errno != EINPROGRESS)
            return -errno;
        if (poll(&pf, 1, ms) <= 0)
            return -ETIMEDOUT;
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)
            return -(err ? err : errno);
    }
    fcntl(s, F_SETFL, fl);
    return 0;
}

/* A dead peer or a cut link must end the migration (the source then resumes): unacknowledged
 * data for 10 s, or an idle connection unanswered for ~11 s, fails the socket. */
static void tune(int s)
{
    int one = 1, user_ms = 10000, idle = 5, intvl = 2, cnt = 3;

    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof(user_ms));
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

int kl_migrate_connect(kl_ctx *ctx, const char *host_port, const kl_tls_opts *tls, int *fd)
{
    struct addrinfo *res, *ai;
    char host[256];
    int rc, s = -1;

    *fd = -1;
    if ((rc = resolve(ctx, host_port, 0, host, sizeof(host), &res)) < 0)
        return rc;
    rc = -EHOSTUNREACH;
    for (ai = res; ai; ai = ai->ai_next) {
        if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) < 0) {
            rc = -errno;
            continue;
        }
        if ((rc = connect_timeout(s, ai->ai_addr, ai->ai_addrlen, 10000)) == 0)
            break;
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    if (s < 0)
        return kl__err(ctx, rc, "migration: cannot connect to %s: %s", host_port, strerror(-rc));
    tune(s);
    if (!tls) {
        *fd = s;
        return 0;
    }
    return mig_tls_start(ctx, s, tls, 0, tls->peer_name ? tls->peer_name : host, fd);
}

int kl_migrate_listen(kl_ctx *ctx, const char *addr_port, int *listen_fd)
{
    struct addrinfo *res, *ai;
    char host[256];
    int rc, s = -1, one = 1;

    *listen_fd = -1;
    if ((rc = resolve(ctx, addr_port, 1, host, sizeof(host), &res)) < 0)
        return rc;
    for (ai = res; ai; ai = ai->ai_next) {
        if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) < 0) {
            rc = -errno;
            continue;
        }
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 && listen(s, 1) == 0)
            break;
        rc = -errno;
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    if (s < 0)
        return kl__err(ctx, rc, "migration: cannot listen on %s: %s", addr_port, strerror(-rc));
    *listen_fd = s;
    return 0;
}

int kl_migrate_accept(kl_ctx *ctx, int listen_fd, const kl_tls_opts *tls, int timeout_ms, int *fd)
{
    struct pollfd pf = { listen_fd, POLLIN, 0 };
    int s, r;

    *fd = -1;
    while ((r = poll(&pf, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    if (r == 0)
        return kl__err(ctx, -ETIMEDOUT, "migration: no connection within %d ms", timeout_ms);
    if (r < 0 || (s = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
        return kl__err(ctx, -errno, "migration: accept: %s", strerror(errno));
    tune(s);
    if (!tls) {
        *fd = s;
        return 0;
    }
    return mig_tls_start(ctx, s, tls, 1, NULL, fd);
}
