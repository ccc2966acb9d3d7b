/* xs.c - liblight's side of the store: the context's connection is a handle of the common
 * store client (common/kxs.h, the one client of the tree); these wrappers copy the handle's
 * message (kxs_error) into the context and reconnect after a lost connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_int.h"

int kl__xs_open(kl_ctx *ctx, kxs **out)
{
    int rc = kxs_open(out, ctx->rundir);

    if (rc == -ENAMETOOLONG)
        return kl__err(ctx, rc, "store socket path under %s is too long", ctx->rundir);
    if (rc < 0)
        return kl__err(ctx, rc, "cannot connect to the store at %s/xenstored/socket: %s "
                       "(is keel-stored running?)", ctx->rundir, strerror(-rc));
    return 0;
}

int kl__xs_connect(kl_ctx *ctx)
{
    return kl__xs_open(ctx, &ctx->xs);
}

void kl__xs_close(kl_ctx *ctx)
{
    kxs_close(ctx->xs);
    ctx->xs = NULL;
}

int kl__xs_request(kl_ctx *ctx, uint32_t type, uint32_t tx, const void *payload, size_t len,
                   char **out, size_t *outlen)
{
    int rc;

    if (!ctx->xs && (rc = kl__xs_connect(ctx)) < 0)
        return rc;
    if ((rc = kxs_request(ctx->xs, type, tx, payload, len, out, outlen)) >= 0)
        return rc;
    if (rc != -ENOENT)              /* an absent node is an answer callers look for */
        kl__err(ctx, rc, "%s", kxs_error(ctx->xs));
    if (kxs_dead(ctx->xs))
        kl__xs_close(ctx);       /* the stream is gone or out of step: start afresh next time */
    return rc;
}

static int xs_path_op(kl_ctx *ctx, uint32_t type, uint32_t tx, const char *path, char **out,
                      size_t *outlen)
{
    return kl__xs_request(ctx, type, tx, path, strlen(path) + 1, out, outlen);
}

int kl__xs_read(kl_ctx *ctx, uint32_t tx, const char *path, char **out)
{
    return xs_path_op(ctx, KXS_READ, tx, path, out, NULL);
}

int kl__xs_directory(kl_ctx *ctx, uint32_t tx, const char *path, char **out, size_t *outlen)
{
    return xs_path_op(ctx, KXS_DIRECTORY, tx, path, out, outlen);
}

int kl__xs_rm(kl_ctx *ctx, uint32_t tx, const char *path)
{
    int rc = xs_path_op(ctx, KXS_RM, tx, path, NULL, NULL);

    return rc == -ENOENT ? 0 : rc;
}

int kl__xs_mkdir(kl_ctx *ctx, uint32_t tx, const char *path)
{
    return xs_path_op(ctx, KXS_MKDIR, tx, path, NULL, NULL);
}

int kl__xs_write(kl_ctx *ctx, uint32_t tx, const char *path, const char *value)
{
    size_t pl = strlen(path) + 1, vl = strlen(value);
    char buf[KXS_PAYLOAD_MAX];

    if (pl + vl > sizeof(buf))
        return kl__err(ctx, -E2BIG, "store: %s: value of %zu bytes is too long", path, vl);
    memcpy(buf, path, pl);
    memcpy(buf + pl, value, vl);
    return kl__xs_request(ctx, KXS_WRITE, tx, buf, pl + vl, NULL, NULL);
}

int kl__xs_writef(kl_ctx *ctx, uint32_t tx, const char *path, const char *fmt, ...)
{
    char value[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(value))
        return kl__err(ctx, -E2BIG, "store: %s: value too long", path);
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
    return kl__xs_request(ctx, KXS_SET_PERMS, tx, buf, off, NULL, NULL);
}

int kl__xs_tx_start(kl_ctx *ctx, uint32_t *tx)
{
    int rc;

    if (!ctx->xs && (rc = kl__xs_connect(ctx)) < 0)
        return rc;
    if ((rc = kxs_tx_start(ctx->xs, tx)) < 0) {
        kl__err(ctx, rc, "%s", rc == -EPROTO ? "store: a malformed transaction id"
                                              : kxs_error(ctx->xs));
        if (kxs_dead(ctx->xs))
            kl__xs_close(ctx);
    }
    return rc < 0 ? rc : 0;
}

int kl__xs_tx_end(kl_ctx *ctx, uint32_t tx, int commit)
{
    return kl__xs_request(ctx, KXS_TX_END, tx, commit ? "T" : "F", 2, NULL, NULL);
}
