/* migrate.c - live migration with xl's handshake, both sides. Source: wait for the receiver's
 * banner, send the xl save image live (through the save relay: progress, cancel; the disks'
 * frontend keys travel in its config; the source's disks are closed, every backend request
 * finished, once it is paused for the final copy), wait for "domain received, ready to unpause", rename NAME--migratedaway, send "domain is yours, you are
 * cleared to unpause", read "my copy unpause results are as follows" and the report byte, then
 * destroy the source. Target: the mirror image, with the domain held as NAME--incoming until
 * cleared. Any failure before the report leaves the source running under its name, its disks
 * added again with its frontends' keys. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keel/kl_xlconf.h"
#include "klog.h"
#include "mig_int.h"

static const char banner[] = "xl migration receiver ready, send binary domain data.\n";
static const char ready[] = "domain received, ready to unpause";
static const char go[] = "domain is yours, you are cleared to unpause";
static const char report[] = "my copy unpause results are as follows";

/* Read exactly the expected message (len bytes, NUL included where xl sends it). */
static int expect(kl_ctx *ctx, int fd, const char *msg, size_t len, const char *what,
                  int timeout_ms, volatile int *cancel)
{
    char buf[128];
    int rc;

    for (size_t got = 0; got < len; got++) {
        /* byte by byte: a wrong message is found at its first wrong byte, nothing is over-read */
        if ((rc = mig_read_exact(fd, buf + got, 1, timeout_ms, cancel)) < 0)
            return kl__err(ctx, rc, "migration: waiting for %s: %s", what,
                           rc == -ECONNRESET ? "the other side closed the connection"
                           : rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
        if (buf[got] != msg[got])
            return kl__err(ctx, -EPROTO, "migration: expected %s, got something else (byte %zu)",
                           what, got);
    }
    return 0;
}

/* The source goes on: its name back, its disks added again when they were closed for the
 * target (fe: the keys its frontends published, so the backend reattaches), unpaused. */
static int resume(kl_ctx *ctx, uint32_t domid, const char *name, int rc, struct kl__fe_set *fe)
{
    char keep[sizeof(ctx->err)];

    memcpy(keep, ctx->err, sizeof(keep));
    kl_domain_rename(ctx, domid, name);
    if (fe && kl__fe_resume(ctx, domid, fe) < 0)
        klog(KLOG_ERROR, "light", "migration: domain %u resumes without its disks: %s", domid,
             kl_ctx_error(ctx));
    kl__fe_free(fe);
    kl_domain_unpause(ctx, domid);
    memcpy(ctx->err, keep, sizeof(keep));
    return rc;
}

/* The image is sent and the source paused. Its backends finished every request and closed
 * before the final copy (the save's suspend callback, kl__save_suspend): the copy saw their last
 * writes, and no late write of the source can land after a newer one of the target. Here the
 * keys are read again (unchanged: the guest has been paused since) for a resume, and any
 * backend still open (none, unless a disk was added meanwhile) is closed too. */
static int quiesce(kl_ctx *ctx, uint32_t domid, struct kl__fe_set *fe)
{
    int rc;

    if ((rc = kl__fe_collect(ctx, domid, fe)) < 0)
        return rc;
    return kl__fe_quiesce(ctx, domid);
}

/* Post-copy: how long the source waits after losing the link before it resumes its copy, so
 * the target (which stops its copy as soon as its page source breaks) has stopped first. */
static unsigned fence_ms(void)
{
    const char *e = getenv("KEEL_POSTCOPY_FENCE_MS");

    return e ? (unsigned)strtoul(e, NULL, 10) : KL_POSTCOPY_FENCE_MS;
}

/* The target runs the domain: serve its frames until it holds them all. On a broken link the
 * target stops its copy; wait the fence, then the caller resumes the source's. */
static int postcopy_source(kl_ctx *ctx, uint32_t domid, int to_fd, int from_fd)
{
    uint64_t pushed;
    int rc = kl__postcopy_serve(ctx, domid, to_fd, from_fd, &pushed);
    char keep[sizeof(ctx->err)];

    if (rc == 0)
        return 0;
    memcpy(keep, ctx->err, sizeof(keep));
    klog(KLOG_WARN, "light", "post-copy: domain %u: %s; the target stops its copy, this one "
         "resumes in %u ms", domid, keep, fence_ms());
    usleep(fence_ms() * 1000u);
    return kl__err(ctx, rc, "post-copy migration broke after the switch-over (%.300s): the "
                   "target's copy was stopped, the source's resumed from the switch-over point",
                   keep);
}

int kl_domain_migrate_send(kl_ctx *ctx, uint32_t domid, int to_fd, int from_fd,
                           const kl_migrate_opts *o)
{
    kl_migrate_opts so = { .flags = KL_SAVE_LIVE };
    volatile int *cancel = o ? o->cancel : NULL;
    char name[KL_DOMNAME_MAX + 1], away[KL_DOMNAME_MAX + 32];
    struct kl__fe_set fe = { 0 };
    unsigned char res = 1;
    int rc;

    if (o) {
        so = *o;
        so.flags = (o->flags & KL_SAVE_POSTCOPY) ? KL_SAVE_POSTCOPY : KL_SAVE_LIVE;
    }
    if ((rc = kl_domain_name(ctx, domid, name, sizeof(name))) < 0)
        return rc;
    if ((rc = expect(ctx, from_fd, banner, sizeof(banner) - 1, "the receiver's banner", 30000,
                     cancel)) < 0)
        return rc;
    if ((rc = kl_domain_save_ext(ctx, domid, to_fd, &so)) < 0)
        return resume(ctx, domid, name, rc, NULL);
    if ((rc = quiesce(ctx, domid, &fe)) < 0)
        return resume(ctx, domid, name, rc, &fe);
    if ((rc = expect(ctx, from_fd, ready, sizeof(ready), "the receiver's 'domain received'",
                     300000, cancel)) < 0)
        return resume(ctx, domid, name, rc, &fe);
    snprintf(away, sizeof(away), "%s--migratedaway", name);
    if ((rc = kl_domain_rename(ctx, domid, away)) < 0)
        return resume(ctx, domid, name, rc, &fe);
    if (cancel && *cancel)
        return resume(ctx, domid, name, kl__err(ctx, -ECANCELED, "migration: cancelled"), &fe);
    if ((rc = mig_write_all(to_fd, go, sizeof(go))) < 0)
        return resume(ctx, domid, name, kl__err(ctx, rc, "migration: sending the clearance: %s",
                                                strerror(-rc)), &fe);
    if ((rc = expect(ctx, from_fd, report, sizeof(report), "the receiver's report", 60000,
                     NULL)) < 0 ||
        (rc = mig_read_exact(from_fd, &res, 1, 60000, NULL)) < 0) {
        if (so.flags & KL_SAVE_POSTCOPY)      /* the target, if it started, stops first */
            usleep(fence_ms() * 1000u);
        return resume(ctx, domid, name, rc == -ECONNRESET || rc == -ETIMEDOUT
                      ? kl__err(ctx, rc, "migration: no report from the target") : rc, &fe);
    }
    if (res != 0)
        return resume(ctx, domid, name, kl__err(ctx, -EREMOTEIO, "migration: the target failed "
                                                "to start the domain (report %u)", res), &fe);
    if ((so.flags & KL_SAVE_POSTCOPY) && (rc = postcopy_source(ctx, domid, to_fd, from_fd)) < 0)
        return resume(ctx, domid, name, rc, &fe);
    kl__fe_free(&fe);
    kl_domain_destroy(ctx, domid);
    return 0;
}

void kl_ctx_set_xl_conf(kl_ctx *ctx, const kl_xl_conf *c)
{
    ctx->xl_conf = c;
}

/* Read the image's preamble and restore it as NAME--incoming, paused (claimed for with
 * KL_CREATE_CLAIM in flags; the context's xl.conf masks ANDed into its affinity first). */
static int receive_image(kl_ctx *ctx, int in_fd, unsigned flags, kl_domain_config *dc,
                         char **name, uint32_t *domid)
{
    char *json = NULL, incoming[KL_DOMNAME_MAX + 32], why[1024];
    kl_diag *d = kl_diag_new();
    unsigned iflags;
    int rc;

    if ((rc = kl_save_image_read_header(ctx, in_fd, "migration stream", &json, &iflags)) < 0)
        goto out;
    if ((rc = kl_domain_config_from_json(dc, json, d)) < 0 || !dc->c_info.name) {
        rc = kl__err(ctx, rc < 0 ? rc : -EINVAL, "migration: no usable domain configuration in "
                     "the stream%s%s", d && kl_diag_first_error(d) ? ": " : "",
                     d && kl_diag_first_error(d) ? kl_diag_first_error(d) : "");
        goto out;
    }
    if ((rc = kl_xl_conf_apply_cpumask(ctx->xl_conf, dc, why, sizeof(why))) < 0) {
        rc = kl__err(ctx, rc, "migration: %s (xl.conf's vm.cpumask, vm.pv.cpumask)", why);
        goto out;
    }
    *name = dc->c_info.name;
    snprintf(incoming, sizeof(incoming), "%s--incoming", *name);
    dc->c_info.name = incoming;
    rc = kl_domain_restore_image(ctx, dc, in_fd, iflags, KL_CREATE_PAUSED |
                                 (flags & (KL_CREATE_CLAIM | KL_CREATE_LAZY)), domid);
    dc->c_info.name = *name;
out:
    free(json);
    kl_diag_free(d);
    return rc;
}

int kl_domain_migrate_receive(kl_ctx *ctx, int in_fd, int out_fd, unsigned flags,
                              uint32_t *domid)
{
    kl_domain_config dc;
    char *name = NULL;
    unsigned char res;
    uint32_t id;
    int rc, chan[2] = { -1, -1 };   /* post-copy (KL_CREATE_LAZY): the core's page channel */

    kl_domain_config_init(&dc);
    if ((flags & KL_CREATE_LAZY) && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) < 0) {
        rc = kl__err(ctx, -errno, "post-copy: the page channel: %s", strerror(errno));
        goto out;
    }
    ctx->postcopy_chan = chan[0] >= 0 ? chan[0] + 1 : 0;   /* for the restore (create.c) */
    if ((rc = mig_write_all(out_fd, banner, sizeof(banner) - 1)) < 0) {
        rc = kl__err(ctx, rc, "migration: sending the banner: %s", strerror(-rc));
        goto out;
    }
    rc = receive_image(ctx, in_fd, flags, &dc, &name, &id);
    ctx->postcopy_chan = 0;
    if (chan[0] >= 0)
        close(chan[0]);                  /* the core holds its own copy */
    chan[0] = -1;
    if (rc < 0)
        goto out;
    if ((rc = mig_write_all(out_fd, ready, sizeof(ready))) < 0) {
        kl_domain_destroy(ctx, id);
        rc = kl__err(ctx, rc, "migration: sending 'domain received': %s", strerror(-rc));
        goto out;
    }
    if ((rc = expect(ctx, in_fd, go, sizeof(go), "the sender's clearance", 300000, NULL)) < 0) {
        char keep[sizeof(ctx->err)];
        memcpy(keep, ctx->err, sizeof(keep));
        kl_domain_destroy(ctx, id);
        memcpy(ctx->err, keep, sizeof(keep));
        goto out;
    }
    rc = kl_domain_rename(ctx, id, name);
    if (rc == 0 && !(flags & KL_CREATE_PAUSED))
        rc = kl_domain_unpause(ctx, id);
    res = rc < 0;
    if (mig_write_all(out_fd, report, sizeof(report)) < 0 || mig_write_all(out_fd, &res, 1) < 0) {
        if (rc == 0)
            rc = kl__err(ctx, -ECONNRESET, "migration: sending the report: the sender is gone");
    }
    /* post-copy: the domain runs here; its frames follow until the core holds them all (a
     * broken link: the core stops it when the channel closes, and it is destroyed below) */
    if (rc == 0 && chan[1] >= 0)
        rc = kl__postcopy_relay(ctx, id, in_fd, out_fd, chan[1]);
    if (rc < 0) {
        char keep[sizeof(ctx->err)];
        memcpy(keep, ctx->err, sizeof(keep));
        kl_domain_destroy(ctx, id);
        memcpy(ctx->err, keep, sizeof(keep));
    } else {
        *domid = id;
    }
out:
    ctx->postcopy_chan = 0;
    for (int i = 0; i < 2; i++)
        if (chan[i] >= 0)
            close(chan[i]);
    kl_domain_config_dispose(&dc);
    return rc;
}
