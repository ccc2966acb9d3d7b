/* xsquota.c - the store's quotas (XS_GET_QUOTA / XS_SET_QUOTA of xenstore.txt) for xl
 * xenstore-quota-get/-set: the global values or one domain's, by name. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/kl_ops.h"
#include "lc_int.h"

#define XS_GET_QUOTA 25
#define XS_SET_QUOTA 26

/* "[<domid>\0]" then the rest; *len the payload length. */
static size_t quota_payload(char *buf, size_t size, int64_t domid, const char *rest, size_t rl)
{
    size_t n = 0;

    if (domid >= 0)
        n = (size_t)snprintf(buf, size, "%lld", (long long)domid) + 1;
    if (n + rl > size)
        return 0;
    memcpy(buf + n, rest, rl);
    return n + rl;
}

static int quota_one(kl_ctx *ctx, int64_t domid, const char *name, uint32_t *val)
{
    char pl[128], *out = NULL, *end;
    size_t len = quota_payload(pl, sizeof(pl), domid, name, strlen(name) + 1), olen = 0;
    unsigned long v;
    int rc;

    if (!len)
        return kl__err(ctx, -EINVAL, "quota name '%s' too long", name);
    if ((rc = kl__xs_request(ctx, XS_GET_QUOTA, 0, pl, len, &out, &olen)) < 0)
        return kl__err(ctx, rc, "the store's quota %s: %s", name, strerror(-rc));
    v = strtoul(out ? out : "", &end, 10);
    if (!out || end == out || v > UINT32_MAX) {
        free(out);
        return kl__err(ctx, -EPROTO, "the store's quota %s: not a number", name);
    }
    free(out);
    *val = (uint32_t)v;
    return 0;
}

int kl_xs_quota_get(kl_ctx *ctx, int64_t domid, kl_xs_quota **out)
{
    char *names = NULL, *save = NULL, *tok;
    size_t len = 0;
    kl_xs_quota *q = NULL;
    int n = 0, rc;

    *out = NULL;
    if (domid >= KEEL_DOMID_FIRST_RESERVED)
        return kl__err(ctx, -EINVAL, "domain %lld: not a domain id", (long long)domid);
    if ((rc = kl__xs_request(ctx, XS_GET_QUOTA, 0, "", 1, &names, &len)) < 0)
        return kl__err(ctx, rc, "the store's quota names: %s", strerror(-rc));
    for (tok = strtok_r(names, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        kl_xs_quota *m = realloc(q, (size_t)(n + 1) * sizeof(*q));
        if (!m) {
            rc = kl__err(ctx, -ENOMEM, "out of memory");
            break;
        }
        q = m;
        snprintf(q[n].name, sizeof(q[n].name), "%s", tok);
        if ((rc = quota_one(ctx, domid, q[n].name, &q[n].value)) < 0)
            break;
        n++;
    }
    free(names);
    if (rc < 0) {
        free(q);
        return rc;
    }
    *out = q;
    return n;
}

int kl_xs_quota_set(kl_ctx *ctx, int64_t domid, const char *name, uint32_t value)
{
    char rest[96], pl[128], *out = NULL;
    int rl = snprintf(rest, sizeof(rest), "%s%c%u", name, 0, value);
    size_t len, olen = 0;
    int rc;

    if (domid >= KEEL_DOMID_FIRST_RESERVED)
        return kl__err(ctx, -EINVAL, "domain %lld: not a domain id", (long long)domid);
    if (rl < 0 || (size_t)rl >= sizeof(rest) || !*name ||
        !(len = quota_payload(pl, sizeof(pl), domid, rest, (size_t)rl + 1)))
        return kl__err(ctx, -EINVAL, "quota name '%s' empty or too long", name);
    if ((rc = kl__xs_request(ctx, XS_SET_QUOTA, 0, pl, len, &out, &olen)) < 0)
        return kl__err(ctx, rc, "setting the store's quota %s: %s", name, strerror(-rc));
    free(out);
    return 0;
}
