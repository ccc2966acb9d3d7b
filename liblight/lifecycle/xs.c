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

/* Connect the context when it has no store connection (after a loss): 0 or negative errno. */
static int xs_ready(kl_ctx *ctx)
{
    return ctx->xs ? 0 : kl__xs_connect(ctx);
}

/* The end of every store call: the handle's message into the context (an absent node is an
 * answer callers look for, not a failure to report), and a lost connection closed so that the
 * next call starts afresh. */
static int xs_done(kl_ctx *ctx, int rc)
{
    if (rc >= 0)
        return rc;
    if (rc != -ENOENT)
        kl__err(ctx, rc, "%s", kxs_error(ctx->xs));
    if (kxs_dead(ctx->xs))
        kl__xs_close(ctx);
    return rc;
}

int kl__xs_request(kl_ctx *ctx, uint32_t type, uint32_t tx, const void *payload, size_t len,
                   char **out, size_t *outlen)
{
    int rc = xs_ready(ctx);

    return rc < 0 ? rc : xs_done(ctx, kxs_request(ctx->xs, type, tx, payload, len, out, outlen));
}

int kl__xs_read(kl_ctx *ctx, uint32_t tx, const char *path, char **out)
{
    int rc = xs_ready(ctx);

    return rc < 0 ? rc : xs_done(ctx, kxs_read(ctx->xs, tx, path, out, NULL));
}

int kl__xs_directory(kl_ctx *ctx, uint32_t tx, const char *path, char **out, size_t *outlen)
{
    return kl__xs_request(ctx, KXS_DIRECTORY, tx, path, strlen(path) + 1, out, outlen);
}

int kl__xs_rm(kl_ctx *ctx, uint32_t tx, const char *path)
{
    int rc = xs_ready(ctx);

    rc = rc < 0 ? rc : xs_done(ctx, kxs_rm(ctx->xs, tx, path));
    return rc == -ENOENT ? 0 : rc;
}

int kl__xs_mkdir(kl_ctx *ctx, uint32_t tx, const char *path)
{
    int rc = xs_ready(ctx);

    return rc < 0 ? rc : xs_done(ctx, kxs_mkdir(ctx->xs, tx, path));
}

int kl__xs_write(kl_ctx *ctx, uint32_t tx, const char *path, const char *value)
{
    int rc = xs_ready(ctx);

    if (rc < 0)
        return rc;
    if ((rc = kxs_write(ctx->xs, tx, path, value)) == -E2BIG)
        return kl__err(ctx, rc, "store: %s: value of %zu bytes is too long", path, strlen(value));
    return xs_done(ctx, rc);
}

int kl__xs_writef(kl_ctx *ctx, uint32_t tx, const char *path, const char *fmt, ...)
{
    va_list ap;
    int rc = xs_ready(ctx);

    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    rc = kxs_vwritef(ctx->xs, tx, path, fmt, ap);
    va_end(ap);
    if (rc == -E2BIG)
        return kl__err(ctx, rc, "store: %s: value too long", path);
    return xs_done(ctx, rc);
}

int kl__xs_set_perms(kl_ctx *ctx, uint32_t tx, const char *path, const char *const perms[], int n)
{
    int rc = xs_ready(ctx);

    if (rc < 0)
        return rc;
    if (n < 0)
        return kl__err(ctx, -EINVAL, "store: permissions of %s: a count of %d", path, n);
    if ((rc = kxs_set_perms(ctx->xs, tx, path, perms, (unsigned)n)) == -E2BIG)
        return kl__err(ctx, rc, "store: permissions of %s too long", path);
    return xs_done(ctx, rc);
}

int kl__xs_tx_start(kl_ctx *ctx, uint32_t *tx)
{
    int rc = xs_ready(ctx);

    if (rc < 0)
        return rc;
    if ((rc = kxs_tx_start(ctx->xs, tx)) == -EPROTO && !kxs_dead(ctx->xs))
        return kl__err(ctx, rc, "store: a malformed transaction id");
    return xs_done(ctx, rc);
}

int kl__xs_tx_end(kl_ctx *ctx, uint32_t tx, int commit)
{
    int rc = xs_ready(ctx);

    return rc < 0 ? rc : xs_done(ctx, kxs_tx_end(ctx->xs, tx, commit));
}
