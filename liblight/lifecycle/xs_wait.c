/* xs_wait.c - waiting for a store node to reach a value: a watch on a second connection to the
 * store daemon (its events only wake us up), the value read on the context's own connection. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lc_int.h"

enum { XS_WATCH = 4 };

struct xs_hdr {
    uint32_t type, req_id, tx_id, len;
};

static int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int watch(kl_ctx *ctx, int fd, const char *path)
{
    char buf[600];
    size_t pl = strlen(path) + 1;
    struct xs_hdr h = { XS_WATCH, 1, 0, (uint32_t)(pl + 2) };

    if (pl + 2 > sizeof(buf))
        return kl__err(ctx, -E2BIG, "store: watch path %s too long", path);
    memcpy(buf, path, pl);
    memcpy(buf + pl, "w", 2);
    if (send_all(fd, &h, sizeof(h)) < 0 || send_all(fd, buf, pl + 2) < 0)
        return kl__err(ctx, -EIO, "store: cannot set a watch on %s", path);
    return 0;
}

/* Discard whatever arrived on the watch connection (events, the WATCH reply). */
static int drain(int fd)
{
    char buf[4096];
    ssize_t n;

    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        ;
    return n == 0 ? -ECONNRESET : 0;
}

int kl__xs_wait(kl_ctx *ctx, const char *path, int (*ok)(const char *value, void *arg), void *arg,
                int timeout_ms)
{
    uint64_t end = kl__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    int fd = -1, rc;

    if ((rc = kl__xs_open(ctx, &fd)) < 0)
        return rc;
    if ((rc = watch(ctx, fd, path)) < 0) {
        close(fd);
        return rc;
    }
    for (;;) {
        char *v = NULL;
        uint64_t now;
        struct pollfd p = { fd, POLLIN, 0 };
        rc = kl__xs_read(ctx, 0, path, &v);
        if (rc < 0 && rc != -ENOENT)
            break;
        rc = ok(rc == 0 ? v : NULL, arg);
        free(v);
        if (rc) {
            rc = 0;
            break;
        }
        if ((now = kl__now_ms()) >= end) {
            rc = -ETIMEDOUT;
            break;
        }
        if (poll(&p, 1, (int)(end - now)) > 0 && drain(fd) < 0) {
            rc = kl__err(ctx, -ECONNRESET, "store: the watch connection closed");
            break;
        }
    }
    close(fd);
    return rc;
}
