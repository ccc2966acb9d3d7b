/* xs.c - a small synchronous client of the store daemon: the xenstore wire protocol (16-byte
 * header, payload of at most 4096 bytes, errors as errno names) over RUNDIR/xenstored/socket. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lc_int.h"

enum { XS_DIRECTORY = 1, XS_READ = 2, XS_TX_START = 6, XS_TX_END = 7, XS_WRITE = 11, XS_MKDIR = 12, XS_RM = 13,
       XS_SET_PERMS = 14, XS_WATCH_EVENT = 15, XS_ERROR = 16 };
#define XS_PAYLOAD_MAX 4096u
#define XS_TIMEOUT_MS 10000

struct xs_hdr {
    uint32_t type, req_id, tx_id, len;
};

static const struct { int num; const char *name; } xs_errors[] = {
    { EINVAL, "EINVAL" }, { EACCES, "EACCES" }, { EEXIST, "EEXIST" }, { EISDIR, "EISDIR" },
    { ENOENT, "ENOENT" }, { ENOMEM, "ENOMEM" }, { ENOSPC, "ENOSPC" }, { EIO, "EIO" },
    { ENOTEMPTY, "ENOTEMPTY" }, { ENOSYS, "ENOSYS" }, { EROFS, "EROFS" }, { EBUSY, "EBUSY" },
    { EAGAIN, "EAGAIN" }, { EISCONN, "EISCONN" }, { E2BIG, "E2BIG" }, { EPERM, "EPERM" },
};

static int xs_errnum(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(xs_errors) / sizeof(xs_errors[0]); i++)
        if (strlen(xs_errors[i].name) == strnlen(name, len) &&
            !strncmp(xs_errors[i].name, name, len))
            return xs_errors[i].num;
    return EIO;
}

int kl__xs_open(kl_ctx *ctx, int *out)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenstored/socket", ctx->rundir) >=
        sizeof(sa.sun_path))
        return kl__err(ctx, -ENAMETOOLONG, "store socket path under %s is too long", ctx->rundir);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return kl__err(ctx, -errno, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return kl__err(ctx, -e, "cannot connect to the store at %s: %s (is keel-stored running?)",
                       sa.sun_path, strerror(e));
    }
    *out = fd;
    return 0;
}

int kl__xs_connect(kl_ctx *ctx)
{
    return kl__xs_open(ctx, &ctx->xs_fd);
}

void kl__xs_close(kl_ctx *ctx)
{
    if (ctx->xs_fd >= 0)
        close(ctx->xs_fd);
    ctx->xs_fd = -1;
}

static int xs_io(kl_ctx *ctx, void *buf, size_t len, int writing)
{
    size_t done = 0;

    while (done < len) {
        struct pollfd p = { ctx->xs_fd, writing ? POLLOUT : POLLIN, 0 };
        ssize_t n;
        if (poll(&p, 1, XS_TIMEOUT_MS) == 0)
            return kl__err(ctx, -ETIMEDOUT, "store: no answer within %d ms", XS_TIMEOUT_MS);
        n = writing ? send(ctx->xs_fd, (char *)buf + done, len - done, MSG_NOSIGNAL)
                    : recv(ctx->xs_fd, (char *)buf + done, len - done, 0);
        if (n == 0)
            return kl__err(ctx, -ECONNRESET, "store: connection closed by the daemon");
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return kl__err(ctx, -errno, "store: %s", strerror(errno));
        if (n > 0)
            done += (size_t)n;
    }
    return 0;
}

/* Read one message; watch events (none are registered) are skipped. */
static int xs_recv(kl_ctx *ctx, struct xs_hdr *h, char **out)
{
    for (;;) {
        int rc = xs_io(ctx, h, sizeof(*h), 0);
        char *p;
        if (rc < 0)
            return rc;
        if (h->len > XS_PAYLOAD_MAX)
            return kl__err(ctx, -EPROTO, "store: reply of %u bytes exceeds %u", h->len,
                           XS_PAYLOAD_MAX);
        if (!(p = malloc(h->len + 1)))
            return -ENOMEM;
        if ((rc = xs_io(ctx, p, h->len, 0)) < 0) {
            free(p);
            return rc;
        }
        p[h->len] = 0;
        if (h->type != XS_WATCH_EVENT) {
            *out = p;
            return 0;
        }
        free(p);
    }
}

int kl__xs_request(kl_ctx *ctx, uint32_t type, uint32_t tx, const void *payload, size_t len,
                   char **out, size_t *outlen)
{
    struct xs_hdr h = { type, ++ctx->xs_req, tx, (uint32_t)len };
    char *reply = NULL;
    int rc;

    if (ctx->xs_fd < 0 && (rc = kl__xs_connect(ctx)) < 0)
        return rc;
    if (len > XS_PAYLOAD_MAX)
        return kl__err(ctx, -E2BIG, "store: request of %zu bytes exceeds %u", len, XS_PAYLOAD_MAX);
    if ((rc = xs_io(ctx, &h, sizeof(h), 1)) < 0 || (rc = xs_io(ctx, (void *)payload, len, 1)) < 0 ||
        (rc = xs_recv(ctx, &h, &reply)) < 0) {
        kl__xs_close(ctx);       /* the stream is out of step: start afresh next time */
        return rc;
    }
    if (h.type == XS_ERROR) {
        rc = -xs_errnum(reply, h.len);
        free(reply);
        return rc;
    }
    if (h.type != type) {
        free(reply);
        kl__xs_close(ctx);
        return kl__err(ctx, -EPROTO, "store: reply type %u to request type %u", h.type, type);
    }
    if (outlen)
        *outlen = h.len;
    if (out)
        *out = reply;
    else
        free(reply);
    return 0;
}

static int xs_path_op(kl_ctx *ctx, uint32_t type, uint32_t tx, const char *path, char **out)
{
    int rc = kl__xs_request(ctx, type, tx, path, strlen(path) + 1, out, NULL);

    if (rc < 0 && rc != -ENOENT && !ctx->err[0])
        kl__err(ctx, rc, "store: %s: %s", path, strerror(-rc));
    return rc;
}

int kl__xs_read(kl_ctx *ctx, uint32_t tx, const char *path, char **out)
{
    return xs_path_op(ctx, XS_READ, tx, path, out);
}

int kl__xs_directory(kl_ctx *ctx, uint32_t tx, const char *path, char **out, size_t *outlen)
{
    int rc = kl__xs_request(ctx, XS_DIRECTORY, tx, path, strlen(path) + 1, out, outlen);

    if (rc < 0 && rc != -ENOENT && !ctx->err[0])
        kl__err(ctx, rc, "store: %s: %s", path, strerror(-rc));
    return rc;
}

int kl__xs_rm(kl_ctx *ctx, uint32_t tx, const char *path)
{
    int rc = xs_path_op(ctx, XS_RM, tx, path, NULL);

    return rc == -ENOENT ? 0 : rc;
}

int kl__xs_mkdir(kl_ctx *ctx, uint32_t tx, const char *path)
{
    return xs_path_op(ctx, XS_MKDIR, tx, path, NULL);
}

int kl__xs_write(kl_ctx *ctx, uint32_t tx, const char *path, const char *value)
{
    size_t pl = strlen(path) + 1, vl = strlen(value);
    char buf[XS_PAYLOAD_MAX];
    int rc;

    if (pl + vl > sizeof(buf))
        return kl__err(ctx, -E2BIG, "store: %s: value of %zu bytes is too long", path, vl);
    memcpy(buf, path, pl);
    memcpy(buf + pl, value, vl);
    if ((rc = kl__xs_request(ctx, XS_WRITE, tx, buf, pl + vl, NULL, NULL)) < 0)
        kl__err(ctx, rc, "store: write %s: %s", path, strerror(-rc));
    return rc;
}

int kl__xs_writef(kl_ctx *ctx, uint32_t tx, const char *path, const char *fmt, ...)
{
    char value[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    return kl__xs_write(ctx, tx, path, value);
}

int kl__xs_set_perms(kl_ctx *ctx, uint32_t tx, const char *path, const char *const perms[], int n)
{
    char buf[512];
    size_t off = 0;

    for (int i = -1; i < n; i++) {
        const char *s = i < 0 ? path : perms[i];
        size_t l = strlen(s) + 1;
        if (off + l > sizeof(buf))
            return kl__err(ctx, -E2BIG, "store: permissions of %s too long", path);
        memcpy(buf + off, s, l);
        off += l;
    }
    return kl__xs_request(ctx, XS_SET_PERMS, tx, buf, off, NULL, NULL);
}

int kl__xs_tx_start(kl_ctx *ctx, uint32_t *tx)
{
    char *reply = NULL;
    int rc = kl__xs_request(ctx, XS_TX_START, 0, "", 1, &reply, NULL);

    if (rc < 0)
        return kl__err(ctx, rc, "store: transaction start: %s", strerror(-rc));
    *tx = (uint32_t)strtoul(reply, NULL, 10);
    free(reply);
    return 0;
}

int kl__xs_tx_end(kl_ctx *ctx, uint32_t tx, int commit)
{
    return kl__xs_request(ctx, XS_TX_END, tx, commit ? "T" : "F", 2, NULL, NULL);
}
