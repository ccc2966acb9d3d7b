/* save.c - saving a domain as an xl save image: its configuration as JSON in xl's preamble, then
 * the migration v2 stream written by libkeelguest (kg_save). Restoring is kl_domain_restore. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keel/guest.h"
#include "lc_int.h"

int kl_domain_save(kl_ctx *ctx, uint32_t domid, int fd, unsigned flags)
{
    struct kg_save_opts o = { .live = (flags & KL_SAVE_LIVE) != 0, .format = 2 };
    struct kg_save_stats st;
    kl_domain_config dc;
    char err[512] = "", *json = NULL;
    int rc;

    kl_domain_config_init(&dc);
    if ((rc = kl_domain_get_config(ctx, domid, &dc)) < 0)
        goto out;
    if (!(json = kl_domain_config_to_json(&dc))) {
        rc = kl__err(ctx, -ENOMEM, "domain %u: cannot write its configuration as JSON", domid);
        goto out;
    }
    o.xl_config = json;
    if ((rc = kg_save(kl_ctx_kc(ctx), domid, fd, &o, &st, err, sizeof(err))) < 0)
        kl__err(ctx, rc, "saving domain %u: %s", domid, err);
out:
    free(json);
    kl_domain_config_dispose(&dc);
    return rc;
}
