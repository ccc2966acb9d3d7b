/* shutdown.c - shutdown and reboot through the store's control/shutdown node (with the core's
 * remote shutdown as the fallback), waiting for shutdown, and the on_* actions. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lc_int.h"

/* 0 running, 1 shut down (*reason), -ENOENT gone, other negative: error. */
static int probe(kl_ctx *ctx, uint32_t domid, int *reason)
{
    struct keel_domctl_info in;
    int rc = kc_domain_getinfo(ctx->kc, domid, &in);

    if (rc == -ENOENT || rc == -ESRCH || (rc == 0 && in.domid != domid))
        return -ENOENT;
    if (rc < 0)
        return kl__err(ctx, rc, "domain %u: %s", domid, kc_error(ctx->kc));
    if (in.flags & KEEL_DOMINF_SHUTDOWN) {
        *reason = (int)((in.flags >> KEEL_DOMINF_SHUTDOWN_SHIFT) & 0xff);
        return 1;
    }
    if (in.flags & KEEL_DOMINF_CRASHED) {
        *reason = KEEL_SHUTDOWN_CRASH;
        return 1;
    }
    return 0;
}

/* Wait for a VIRQ_DOM_EXC notification or up to 200 ms, whichever comes first. */
static void nap(kl_ctx *ctx, int max_ms)
{
    uint32_t port;
    struct pollfd p = { -1, POLLIN, 0 };

    if (max_ms > 200 || max_ms < 0)
        max_ms = 200;
    if (kl__exc_port(ctx, &port) == 0)
        p.fd = kc_evtchn_fd(ctx->kc, port);
    poll(&p, p.fd >= 0, max_ms);
    if (p.fd >= 0)
        kc_evtchn_ack(ctx->kc, port);
}

int kl_domain_wait_shutdown(kl_ctx *ctx, uint32_t domid, int timeout_ms, int *reason)
{
    uint64_t end = kl__now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    int r = -1;

    for (;;) {
        int rc = probe(ctx, domid, &r);
        if (rc == -ENOENT) {
            if (reason)
                *reason = -1;
            return kl__err(ctx, -ENOENT, "domain %u does not exist", domid);
        }
        if (rc < 0)
            return rc;
        if (rc == 1) {
            if (reason)
                *reason = r;
            return 0;
        }
        if (timeout_ms >= 0 && kl__now_ms() >= end)
            return kl__err(ctx, -ETIMEDOUT, "domain %u did not shut down within %d ms", domid,
                           timeout_ms);
        nap(ctx, timeout_ms < 0 ? -1 : (int)(end - kl__now_ms()));
    }
}

int kl_domain_wait_gone(kl_ctx *ctx, uint32_t domid, int timeout_ms)
{
    uint64_t end = kl__now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    int r;

    for (;;) {
        int rc = probe(ctx, domid, &r);
        if (rc == -ENOENT)
            return 0;
        if (rc < 0)
            return rc;
        if (timeout_ms >= 0 && kl__now_ms() >= end)
            return kl__err(ctx, -ETIMEDOUT, "domain %u still exists after %d ms", domid,
                           timeout_ms);
        nap(ctx, timeout_ms < 0 ? -1 : (int)(end - kl__now_ms()));
    }
}

/* Whether a guest agent advertised that it handles this request. */
static int guest_listens(kl_ctx *ctx, uint32_t domid, int reboot)
{
    char path[96], *v = NULL;
    int yes;

    snprintf(path, sizeof(path), "/local/domain/%u/control/feature-%s", domid,
             reboot ? "reboot" : "poweroff");
    if (kl__xs_read(ctx, 0, path, &v) < 0)
        return 0;
    yes = !strcmp(v, "1");
    free(v);
    return yes;
}

static int request(kl_ctx *ctx, uint32_t domid, int reboot, int timeout_ms, bool *forced)
{
    const uint32_t reason = reboot ? KEEL_SHUTDOWN_REBOOT : KEEL_SHUTDOWN_POWEROFF;
    char path[96];
    int r, rc;

    if (forced)
        *forced = false;
    if (domid == 0)
        return kl__err(ctx, -EPERM, "Domain-0 cannot be shut down from here");
    if ((rc = probe(ctx, domid, &r)) < 0)
        return rc == -ENOENT ? kl__err(ctx, rc, "domain %u does not exist", domid) : rc;
    if (rc == 1)
        return 0;                                  /* already shut down */
    snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
    if ((rc = kl__xs_write(ctx, 0, path, reboot ? "reboot" : "poweroff")) < 0)
        return rc;
    if (guest_listens(ctx, domid, reboot) &&
        kl_domain_wait_shutdown(ctx, domid, timeout_ms, NULL) != -ETIMEDOUT)
        return 0;                                  /* the guest acted (or went away) */
    if (forced)
        *forced = true;
    rc = kc_domain_shutdown(ctx->kc, domid, reason);
    if (rc < 0 && probe(ctx, domid, &r) == 1)
        rc = 0;                                    /* it shut down meanwhile */
    if (rc < 0)
        return kl__err(ctx, rc, "domain %u: remote shutdown: %s", domid, kc_error(ctx->kc));
    ctx->err[0] = 0;
    return 0;
}

int kl_domain_shutdown(kl_ctx *ctx, uint32_t domid, int timeout_ms, bool *forced)
{
    return request(ctx, domid, 0, timeout_ms, forced);
}

int kl_domain_reboot(kl_ctx *ctx, uint32_t domid, int timeout_ms, bool *forced)
{
    return request(ctx, domid, 1, timeout_ms, forced);
}

static kl_action_on_shutdown pick_action(const kl_domain_config *dc, int reason)
{
    switch (reason) {
    case KEEL_SHUTDOWN_POWEROFF: return dc->on_poweroff;
    case KEEL_SHUTDOWN_REBOOT: return dc->on_reboot;
    case KEEL_SHUTDOWN_WATCHDOG: return dc->on_watchdog;
    case KEEL_SHUTDOWN_SUSPEND: return KL_ACTION_ON_SHUTDOWN_PRESERVE;
    default: return dc->on_crash;
    }
}

/* Rename the old domain NAME-YYYYmmddTHHMMZ with a fresh uuid, as xl's preserve does. */
static int preserve_renamed(kl_ctx *ctx, uint32_t domid, const char *name)
{
    char stamp[32], newname[KL_DOMNAME_MAX + 1], uuid_s[KL_UUID_STRLEN], path[96];
    kl_uuid u;
    time_t now = time(NULL);
    struct tm tm;
    int rc;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "-%Y%m%dT%H%MZ", &tm);
    snprintf(newname, sizeof(newname), "%.*s%s", (int)(KL_DOMNAME_MAX - strlen(stamp)), name,
             stamp);
    kl_uuid_generate(&u);
    if ((rc = kc_domain_sethandle(ctx->kc, domid, u.bytes)) < 0)
        return kl__err(ctx, rc, "domain %u: new uuid: %s", domid, kc_error(ctx->kc));
    kl_uuid_to_string(&u, uuid_s);
    snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
    kl__xs_writef(ctx, 0, path, "/vm/%s", uuid_s);
    return kl_domain_rename(ctx, domid, newname);
}

static int restart(kl_ctx *ctx, const kl_domain_config *dc, uint32_t *new_domid)
{
    kl_domain_config copy;
    int rc;

    kl_domain_config_init(&copy);
    if ((rc = kl_domain_config_copy(&copy, dc)) == 0)
        rc = kl_domain_create(ctx, &copy, 0, new_domid);
    kl_domain_config_dispose(&copy);
    return rc;
}

int kl_domain_handle_shutdown(kl_ctx *ctx, uint32_t domid, uint32_t *new_domid,
                              kl_action_on_shutdown *action_out)
{
    kl_domain_config dc;
    kl_action_on_shutdown action;
    int reason = -1, rc;

    *new_domid = KEEL_DOMID_INVALID;
    if ((rc = probe(ctx, domid, &reason)) < 0)
        return rc == -ENOENT ? kl__err(ctx, rc, "domain %u does not exist", domid) : rc;
    if (rc == 0)
        return kl__err(ctx, -EBUSY, "domain %u has not shut down", domid);
    kl_domain_config_init(&dc);
    if (kl_domain_get_reboot_config(ctx, domid, &dc) < 0)   /* xl config-update's, if any */
        action = KL_ACTION_ON_SHUTDOWN_DESTROY;    /* nothing to restart from */
    else
        action = pick_action(&dc, reason);
    if (action_out)
        *action_out = action;
    switch (action) {
    case KL_ACTION_ON_SHUTDOWN_PRESERVE:
    case KL_ACTION_ON_SHUTDOWN_SOFT_RESET:
        rc = 0;
        break;
    case KL_ACTION_ON_SHUTDOWN_RESTART_RENAME:
        if ((rc = preserve_renamed(ctx, domid, dc.c_info.name)) == 0)
            rc = restart(ctx, &dc, new_domid);
        break;
    case KL_ACTION_ON_SHUTDOWN_RESTART:
    case KL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART:
        if ((rc = kl_domain_destroy(ctx, domid)) == 0)
            rc = restart(ctx, &dc, new_domid);
        break;
    default:
        rc = kl_domain_destroy(ctx, domid);
        break;
    }
    kl_domain_config_dispose(&dc);
    return rc;
}

int kl_domain_monitor(kl_ctx *ctx, uint32_t domid)
{
    for (;;) {
        kl_action_on_shutdown action;
        uint32_t next;
        int reason, rc = kl_domain_wait_shutdown(ctx, domid, -1, &reason);
        if (rc == -ENOENT)
            return 0;                              /* destroyed by someone else */
        if (rc < 0)
            return rc;
        if ((rc = kl_domain_handle_shutdown(ctx, domid, &next, &action)) < 0)
            return rc;
        if (next == KEEL_DOMID_INVALID)   /* destroyed, or preserved: wait until it is gone */
            return action == KL_ACTION_ON_SHUTDOWN_PRESERVE ||
                   action == KL_ACTION_ON_SHUTDOWN_SOFT_RESET ||
                   action == KL_ACTION_ON_SHUTDOWN_RESTART_RENAME
                       ? kl_domain_wait_gone(ctx, domid, -1) : 0;
        domid = next;
    }
}
