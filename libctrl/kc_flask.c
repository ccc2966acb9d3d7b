/* kc_flask.c - libkeelctrl: the FLASK security server's operations (xsm_op). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kc_private.h"

static long flask_op(kc_handle *h, struct keel_flask_op *op, const void *in, size_t in_len)
{
    return kc_hypercall(h, KH_XSM_OP, 0, op, sizeof(*op), in, in_len, NULL, 0, NULL, NULL, 0, NULL);
}

int kc_flask_getenforce(kc_handle *h)
{
    struct keel_flask_op op = { .cmd = KEEL_FLASK_GETENFORCE };
    long rc = flask_op(h, &op, NULL, 0);

    return rc < 0 ? (int)kc_fail(rc, "getenforce") : (int)rc;
}

int kc_flask_setenforce(kc_handle *h, int enforcing)
{
    struct keel_flask_op op = { .cmd = KEEL_FLASK_SETENFORCE, .value = enforcing ? 1 : 0 };
    long rc = flask_op(h, &op, NULL, 0);

    return rc < 0 ? (int)kc_fail(rc, "setenforce %d", enforcing ? 1 : 0) : 0;
}

int kc_flask_load(kc_handle *h, const void *policy, size_t len)
{
    struct keel_flask_op op = { .cmd = KEEL_FLASK_LOAD, .value = (uint32_t)len };
    long rc;

    if (len > (1U << 20))
        return (int)kc_fail(-EFBIG, "loading a policy of %zu bytes", len);
    rc = flask_op(h, &op, policy, len);
    return rc < 0 ? (int)kc_fail(rc, "loading a policy of %zu bytes", len) : 0;
}

int kc_flask_context_to_sid(kc_handle *h, const char *context, uint32_t *sid)
{
    struct keel_flask_op op = { .cmd = KEEL_FLASK_CONTEXT_TO_SID };
    long rc;

    if (strlen(context) >= sizeof(op.context))
        return (int)kc_fail(-ENAMETOOLONG, "context %s", context);
    strcpy(op.context, context);
    rc = flask_op(h, &op, NULL, 0);
    if (rc < 0)
        return (int)kc_fail(rc, "context %s", context);
    *sid = op.sid;
    return 0;
}

int kc_flask_sid_to_context(kc_handle *h, uint32_t sid, char *buf, size_t len)
{
    struct keel_flask_op op = { .cmd = KEEL_FLASK_SID_TO_CONTEXT, .sid = sid };
    long rc = flask_op(h, &op, NULL, 0);

    if (rc < 0)
        return (int)kc_fail(rc, "SID %u", sid);
    op.context[sizeof(op.context) - 1] = 0;
    if (strlen(op.context) >= len)
        return (int)kc_fail(-ERANGE, "SID %u: buffer too small", sid);
    strcpy(buf, op.context);
    return 0;
}

int kc_flask_access(kc_handle *h, uint32_t ssid, uint32_t tsid, uint16_t tclass,
                    uint32_t requested, uint32_t *allowed)
{
    struct keel_flask_op op = { .cmd = KEEL_FLASK_ACCESS, .sid = ssid, .tsid = tsid,
                                .tclass = tclass, .value = requested };
    long rc = flask_op(h, &op, NULL, 0);

    if (rc < 0)
        return (int)kc_fail(rc, "access %u -> %u class %u", ssid, tsid, tclass);
    *allowed = op.value;
    return 0;
}
