/* flask.c - liblight's FLASK calls (keel/kl_flask.h) through the context's core handle: the
 * enforcing mode, policy loads and security labels, with the core's reason kept in the
 * context. The caller (xl) adds its own wording in front of the reason. */
#include <errno.h>

#include "keel/kl_flask.h"
#include "lc_int.h"

static int flask_done(kl_ctx *ctx, int rc)
{
    return rc < 0 ? kl__err(ctx, rc, "%s", kc_error(ctx->kc)) : rc;
}

int kl_flask_getenforce(kl_ctx *ctx)
{
    return flask_done(ctx, kc_flask_getenforce(ctx->kc));
}

int kl_flask_setenforce(kl_ctx *ctx, int enforcing)
{
    return flask_done(ctx, kc_flask_setenforce(ctx->kc, enforcing ? 1 : 0));
}

int kl_flask_load(kl_ctx *ctx, const void *policy, size_t len)
{
    if (!policy || !len)
        return kl__err(ctx, -EINVAL, "an empty FLASK policy");
    return flask_done(ctx, kc_flask_load(ctx->kc, policy, len));
}

int kl_flask_sid_to_context(kl_ctx *ctx, uint32_t sid, char *buf, size_t len)
{
    if (!buf || !len)
        return kl__err(ctx, -EINVAL, "no room for the label of sid %u", sid);
    buf[0] = 0;
    return flask_done(ctx, kc_flask_sid_to_context(ctx->kc, sid, buf, len));
}
