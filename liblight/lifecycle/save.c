/* save.c - saving a domain as an xl save image: its configuration as JSON in xl's preamble, then
 * the migration v2 stream written by libkeelguest (kg_save); with options (progress, cancel,
 * compression, another config) through the relay of mig_relay.c. Reading an image back: the
 * preamble (Keel's compressed flag included), then kl_domain_restore, inflating if needed. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keel/guest.h"
#include "mig_int.h"
#include "stream/kg_stream.h"

/* The domain's configuration as JSON (malloc'd in *json). */
static int config_json(kl_ctx *ctx, uint32_t domid, char **json)
{
    kl_domain_config dc;
    int rc;

    kl_domain_config_init(&dc);
    *json = NULL;
    if ((rc = kl_domain_get_config(ctx, domid, &dc)) == 0 &&
        !(*json = kl_domain_config_to_json(&dc)))
        rc = kl__err(ctx, -ENOMEM, "domain %u: cannot write its configuration as JSON", domid);
    kl_domain_config_dispose(&dc);
    return rc;
}

int kl_domain_save(kl_ctx *ctx, uint32_t domid, int fd, unsigned flags)
{
    struct kg_save_opts o = { .live = (flags & KL_SAVE_LIVE) != 0, .format = 2 };
    struct kg_save_stats st;
    char err[512] = "", *json = NULL;
    int rc;

    if (flags & KL_SAVE_ZLIB) {
        kl_migrate_opts mo = { .flags = flags };
        return kl_domain_save_ext(ctx, domid, fd, &mo);
    }
    if ((rc = config_json(ctx, domid, &json)) < 0)
        return rc;
    o.xl_config = json;
    if ((rc = kl__rings_read(ctx, domid, &o.rings)) < 0) {   /* carried as HVM_PARAMS */
        free(json);
        return rc;
    }
    if ((rc = kg_save(kl_ctx_kc(ctx), domid, fd, &o, &st, err, sizeof(err))) < 0)
        kl__err(ctx, rc, "saving domain %u: %s", domid, err);
    free(json);
    return rc;
}

int kl_domain_save_ext(kl_ctx *ctx, uint32_t domid, int fd, const kl_migrate_opts *o)
{
    char *json = NULL;
    int rc;

    if (!o)
        return kl_domain_save(ctx, domid, fd, 0);
    if (o->flags & ~(unsigned)(KL_SAVE_LIVE | KL_SAVE_ZLIB))
        return kl__err(ctx, -EINVAL, "saving domain %u: unknown flags 0x%x", domid, o->flags);
    if (!o->new_config_json && (rc = config_json(ctx, domid, &json)) < 0)
        return rc;
    rc = kl__save_relay(ctx, domid, fd, o->flags,
                        o->new_config_json ? o->new_config_json : json, o);
    free(json);
    return rc;
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
