/* save.c - saving a domain as an xl save image: its configuration as JSON in xl's preamble, then
 * the migration v2 stream written by libkeelguest (kg_save); with options (progress, cancel,
 * compression, another config) through the relay of mig_relay.c. Every save closes the domain's
 * disks once it is paused for the final copy (kg_save's suspend callback: the backends finish
 * their requests into guest memory before it is copied) and adds them again if the save fails
 * (or, through kl_domain_unpause, when the domain resumes). Reading an image back: the
 * preamble (Keel's compressed flag included), then kl_domain_restore, inflating if needed. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/guest.h"
#include "klog.h"
#include "mig_int.h"
#include "stream/kg_stream.h"

/* The domain's configuration as JSON (malloc'd in *json), or base (a replacement config) when
 * given, with the frontend keys of its disks (*fe, checked again once the guest is paused for
 * the final copy, by kl__save_suspend) as Keel's member. */
static int config_json(kl_ctx *ctx, uint32_t domid, const char *base, char **json,
                       struct kl__fe_set *fe)
{
    kl_domain_config dc;
    int rc = 0;

    kl_domain_config_init(&dc);
    *json = NULL;
    memset(fe, 0, sizeof(*fe));
    if (base ? !(*json = strdup(base)) : (rc = kl_domain_get_config(ctx, domid, &dc)) == 0 &&
        !(*json = kl_domain_config_to_json(&dc)))
        rc = kl__err(ctx, -ENOMEM, "domain %u: cannot write its configuration as JSON", domid);
    kl_domain_config_dispose(&dc);
    if (rc == 0 && (rc = kl__fe_collect(ctx, domid, fe)) == 0 &&
        (rc = kl__fe_json_insert(fe, json)) < 0)
        rc = kl__err(ctx, rc, "domain %u: cannot add its disks' frontend state to the "
                     "configuration JSON", domid);
    if (rc < 0) {
        free(*json);
        *json = NULL;
        kl__fe_free(fe);
    }
    return rc;
}

int kl__save_suspend(void *arg)
{
    struct kl__save_susp *s = arg;
    struct kl__fe_set now;
    uint32_t devid = 0;
    int rc;

    /* the keys the image carries were read while the guest ran: they must still hold */
    if ((rc = kl__fe_collect(s->ctx, s->domid, &now)) == 0) {
        if (!kl__fe_equal(s->sent, &now, &devid))
            rc = kl__err(s->ctx, -EAGAIN, "saving domain %u: the frontend of disk %u changed its "
                         "store keys during the save (it was connecting or closing): save again",
                         s->domid, devid);
        kl__fe_free(&now);
    }
    if (rc == 0) {
        s->ran = 1;
        rc = kl__fe_quiesce(s->ctx, s->domid);
    }
    if (rc == 0 && s->emu)                   /* the vTPMs freeze; their states go in the image */
        rc = kl__vtpms_export(s->ctx, s->domid, s->emu);
    if (rc < 0) {
        s->rc = rc;
        snprintf(s->err, sizeof(s->err), "%s", kl_ctx_error(s->ctx));
    }
    return rc;
}

/* After kg_save: the callback's own message when it failed, and on any failure the disks it
 * closed added again (same keys, backends reconnected), so the paused domain can go on. */
static int save_done(kl_ctx *ctx, uint32_t domid, int rc, struct kl__save_susp *susp,
                     struct kl__fe_set *sent)
{
    char keep[sizeof(ctx->err)];

    if (rc < 0 && susp->rc < 0)
        kl__err(ctx, rc, "%s", susp->err);
    if (rc < 0 && susp->ran) {
        memcpy(keep, ctx->err, sizeof(keep));
        if (kl__fe_reopen(ctx, domid) < 0)
            klog(KLOG_ERROR, "light", "domain %u: the save failed and its disks could not be "
                 "added again: %s", domid, kl_ctx_error(ctx));
        memcpy(ctx->err, keep, sizeof(keep));
    }
    kg_emu_records_free(susp->emu);
    kl__fe_free(sent);
    return rc;
}

int kl_domain_save(kl_ctx *ctx, uint32_t domid, int fd, unsigned flags)
{
    struct kg_save_opts o = { .live = (flags & KL_SAVE_LIVE) != 0, .format = 2 };
    struct kg_save_stats st;
    struct kl__fe_set fe;
    struct kg_emu_records emu = { 0, NULL };
    struct kl__save_susp susp = { .ctx = ctx, .domid = domid, .sent = &fe, .emu = &emu };
    char err[512] = "", *json = NULL;
    int rc;

    if (flags & KL_SAVE_ZLIB) {
        kl_migrate_opts mo = { .flags = flags };
        return kl_domain_save_ext(ctx, domid, fd, &mo);
    }
    if ((rc = config_json(ctx, domid, NULL, &json, &fe)) < 0)
        return rc;
    o.xl_config = json;
    o.suspend = kl__save_suspend;
    o.suspend_arg = &susp;
    o.emu = &emu;
    if ((rc = kl__rings_read(ctx, domid, &o.rings)) < 0) {   /* carried as HVM_PARAMS */
        kl__fe_free(&fe);
        free(json);
        return rc;
    }
    if ((rc = kg_save(kl_ctx_kc(ctx), domid, fd, &o, &st, err, sizeof(err))) < 0)
        kl__err(ctx, rc, "saving domain %u: %s", domid, err);
    free(json);
    return save_done(ctx, domid, rc, &susp, &fe);
}

int kl_domain_save_ext(kl_ctx *ctx, uint32_t domid, int fd, const kl_migrate_opts *o)
{
    struct kl__fe_set fe;
    struct kg_emu_records emu = { 0, NULL };
    struct kl__save_susp susp = { .ctx = ctx, .domid = domid, .sent = &fe, .emu = &emu };
    char *json = NULL;
    int rc;

    if (!o)
        return kl_domain_save(ctx, domid, fd, 0);
    if (o->flags & ~(unsigned)(KL_SAVE_LIVE | KL_SAVE_ZLIB | KL_SAVE_POSTCOPY))
        return kl__err(ctx, -EINVAL, "saving domain %u: unknown flags 0x%x", domid, o->flags);
    if ((rc = config_json(ctx, domid, o->new_config_json, &json, &fe)) < 0)
        return rc;
    rc = kl__save_relay(ctx, domid, fd, o->flags, json, o, &susp);
    free(json);
    return save_done(ctx, domid, rc, &susp, &fe);
}

/* The image's frontend keys, kept in the context for the restore that follows. */
static int fe_pending(kl_ctx *ctx, const char *json)
{
    struct kl__fe_set *fe = calloc(1, sizeof(*fe));
    int rc;

    kl__fe_free(ctx->fe_pending);
    free(ctx->fe_pending);
    ctx->fe_pending = NULL;
    if (!fe)
        return kl__err(ctx, -ENOMEM, "out of memory");
    if ((rc = kl__fe_from_json(ctx, json, fe)) < 0) {
        free(fe);
        return rc;
    }
    ctx->fe_pending = fe;
    return 0;
}

int kl_save_image_read_header(kl_ctx *ctx, int fd, const char *what, char **json,
                              unsigned *image_flags)
{
    size_t len = KG_XL_HEADER_LEN, got = 0, used = 0;
    uint8_t *buf = NULL;
    char why[256] = "";
    const char *cfg;
    uint32_t cfg_len;
    int rc, zlib;

    *json = NULL;
    *image_flags = 0;
    for (;;) {
        uint8_t *nb = realloc(buf, len);
        if (!nb) {
            rc = kl__err(ctx, -ENOMEM, "%s: out of memory", what);
            break;
        }
        buf = nb;
        if (got < len && (rc = mig_read_exact(fd, buf + got, len - got, -1, NULL)) < 0) {
            rc = kl__err(ctx, rc == -ECONNRESET ? -EBADMSG : rc, "%s: %s reading the xl preamble "
                         "(%zu of %zu bytes)", what,
                         rc == -ECONNRESET ? "end of file" : strerror(-rc), got, len);
            break;
        }
        got = len;
        rc = mig_image_header_parse(buf, got, &used, &zlib, &cfg, &cfg_len, why, sizeof(why));
        if (rc == -EAGAIN && used > len && used <= (64u << 20) + KG_XL_HEADER_LEN) {
            len = used;
            continue;
        }
        if (rc < 0) {
            rc = kl__err(ctx, rc == -EAGAIN ? -EBADMSG : rc, "%s is not a usable xl save image: %s",
                         what, why[0] ? why : strerror(-rc));
        } else if (!cfg) {
            rc = kl__err(ctx, -EBADMSG, "%s: the xl save image carries no domain configuration",
                         what);
        } else if (!(*json = strndup(cfg, cfg_len))) {
            rc = kl__err(ctx, -ENOMEM, "%s: out of memory", what);
        } else if ((rc = fe_pending(ctx, *json)) < 0) {
            char why2[sizeof(ctx->err)];
            snprintf(why2, sizeof(why2), "%s", kl_ctx_error(ctx));
            free(*json);
            *json = NULL;
            rc = kl__err(ctx, rc, "%s: %.400s", what, why2);
        } else {
            *image_flags = zlib ? KL_SAVE_ZLIB : 0;
        }
        break;
    }
    free(buf);
    return rc;
}

int kl_domain_restore_image(kl_ctx *ctx, kl_domain_config *dc, int fd, unsigned image_flags,
                            unsigned flags, uint32_t *domid)
{
    struct mig_inflater *z;
    char err[256] = "", keep[sizeof(ctx->err)];
    int rc, zrc, sfd;

    if (!(image_flags & KL_SAVE_ZLIB))
        return kl_domain_restore(ctx, dc, fd, flags, domid);
    flags &= ~(unsigned)KL_CREATE_LAZY;        /* a pipe from the inflater: read in full */
    if ((rc = mig_inflater_start(fd, "compressed image", &z, &sfd, err, sizeof(err))) < 0)
        return kl__err(ctx, rc, "%s", err);
    /* paused until the whole compressed stream (its checksum last) has been verified */
    rc = kl_domain_restore(ctx, dc, sfd, flags | KL_CREATE_PAUSED, domid);
    memcpy(keep, ctx->err, sizeof(keep));
    zrc = mig_inflater_finish(z, sfd, err, sizeof(err));
    if (rc == 0 && zrc < 0) {
        kl_domain_destroy(ctx, *domid);
        *domid = KEEL_DOMID_INVALID;
        return kl__err(ctx, zrc, "%s", err);
    }
    if (rc < 0) {
        /* a data error of the compressed stream is the cause; else the restore's own error */
        if (zrc < 0 && zrc != -EPIPE && zrc != -ECONNRESET)
            return kl__err(ctx, rc, "%s (then: %s)", err, keep);
        memcpy(ctx->err, keep, sizeof(keep));
        return rc;
    }
    if (!(flags & KL_CREATE_PAUSED) && (rc = kl_domain_unpause(ctx, *domid)) < 0) {
        memcpy(keep, ctx->err, sizeof(keep));
        kl_domain_destroy(ctx, *domid);
        memcpy(ctx->err, keep, sizeof(keep));
    }
    return rc;
}
