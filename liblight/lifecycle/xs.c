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

/* Batches (kl__xsb_*): requests laid out in one growing buffer, sent with kxs_batch. */
void kl__xsb_init(struct kl__xsb *b)
{
    memset(b, 0, sizeof(*b));
}

void kl__xsb_free(struct kl__xsb *b)
{
    free(b->req);
    free(b->off);
    free(b->buf);
    kl__xsb_init(b);
}

/* Room for one more request of len payload bytes: 0, or -ENOMEM. */
static int xsb_room(struct kl__xsb *b, size_t len)
{
    if (b->n == b->cap) {
        unsigned cap = b->cap ? b->cap * 2 : 32;
        struct kxs_req *r = realloc(b->req, cap * sizeof(*r));
        size_t *o;
        if (r)
            b->req = r;
        if (!r || !(o = realloc(b->off, cap * sizeof(*o))))
            return -ENOMEM;
        b->off = o;
        b->cap = cap;
    }
    if (b->used + len > b->size) {
        size_t size = (b->size ? b->size : 2048) * 2 + len;
        char *nb = realloc(b->buf, size);
        if (!nb)
            return -ENOMEM;
        b->buf = nb;
        b->size = size;
    }
    return 0;
}

void kl__xsb_add(struct kl__xsb *b, uint32_t type, const char *const s[], int n, int last_nul)
{
    size_t len = 0;

    for (int i = 0; i < n; i++)
        len += strlen(s[i]) + (i < n - 1 || last_nul);
    if (b->err)
        return;
    if (len > KXS_PAYLOAD_MAX || (b->err = xsb_room(b, len)) < 0) {
        if (!b->err)
            b->err = -E2BIG;
        return;
    }
    b->off[b->n] = b->used;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(s[i]) + (i < n - 1 || last_nul);
        memcpy(b->buf + b->used, s[i], l);     /* l may count the string's NUL */
        b->used += l;
    }
    b->req[b->n++] = (struct kxs_req){ .type = type, .len = len };
}

void kl__xsb_write(struct kl__xsb *b, const char *path, const char *value)
{
    kl__xsb_add(b, KXS_WRITE, (const char *const[]){ path, value }, 2, 0);
}

void kl__xsb_writef(struct kl__xsb *b, const char *path, const char *fmt, ...)
{
    char val[KXS_PAYLOAD_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(val)) {
        b->err = b->err ? b->err : -E2BIG;
        return;
    }
    kl__xsb_write(b, path, val);
}

void kl__xsb_mkdir(struct kl__xsb *b, const char *path)
{
    kl__xsb_add(b, KXS_MKDIR, &path, 1, 1);
}

void kl__xsb_set_perms(struct kl__xsb *b, const char *path, const char *const perms[], int n)
{
    const char *s[8];

    if (n < 0 || n > 7) {
        b->err = b->err ? b->err : -EINVAL;
        return;
    }
    s[0] = path;
    for (int i = 0; i < n; i++)
        s[i + 1] = perms[i];
    kl__xsb_add(b, KXS_SET_PERMS, s, n + 1, 1);
}

void kl__xsb_read(struct kl__xsb *b, const char *path, char **out)
{
    *out = NULL;
    kl__xsb_add(b, KXS_READ, &path, 1, 1);
    if (!b->err)
        b->req[b->n - 1].out = out;
}

int kl__xsb_send(kl_ctx *ctx, uint32_t tx, struct kl__xsb *b)
{
    int rc = b->err;

    if (rc == 0 && (rc = xs_ready(ctx)) == 0) {
        for (unsigned i = 0; i < b->n; i++)
            b->req[i].payload = b->buf + b->off[i];
        rc = xs_done(ctx, kxs_batch(ctx->xs, tx, b->req, b->n));
    } else if (rc < 0 && rc == b->err) {
        kl__err(ctx, rc, "store: a batch of %u requests: %s", b->n, strerror(-rc));
    }
    kl__xsb_free(b);
    return rc;
}
