/* vtpm_mig.c - a domain's vTPMs across save, restore and migration (docs/device-vtpm.md,
 * "Manager <-> toolstack"). In the save's suspend callback (guest paused) each vtpm is exported
 * from keel-vtpmd (common/kvtpm.h: the instance finishes its command in flight and freezes) and
 * its state becomes one EMULATOR_CONTEXT record (emulator 0, index = devid) that kg_save writes
 * before END; Domain-0's bookkeeping marks it (keel-exported). A frozen vtpm is released when
 * its domain is destroyed after the save or migration succeeded, and resumed (thawed) when the
 * domain runs on instead (a failed save or migration, xl save -c, unpause after save -p). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/guest.h"
#include "klog.h"
#include "kvtpm.h"
#include "lc_int.h"

#define EXPORTED "keel-exported"

static void mark_path(uint32_t domid, uint32_t devid, char *out, size_t len)
{
    snprintf(out, len, "/libxl/%u/device/vtpm/%u/" EXPORTED, domid, devid);
}

static int is_exported(kl_ctx *ctx, uint32_t domid, uint32_t devid)
{
    char path[128], *v = NULL;
    int rc;

    mark_path(domid, devid, path, sizeof(path));
    rc = kl__xs_read(ctx, 0, path, &v) == 0;
    free(v);
    return rc;
}

/* The devids of domid's vtpms (malloc'd in *out); count. */
static int vtpm_devids(kl_ctx *ctx, uint32_t domid, uint32_t **out)
{
    uint32_t *ids;
    int n = kl__dev_ids(ctx, domid, &ids), k = 0;

    for (int i = 0; i < n; i++)
        if (KL__KEY_IS_VTPM(ids[i]))
            ids[k++] = KL__KEY_DEVID(ids[i]);
    *out = ids;
    return k;
}

/* Thaw (resume 1) or release (0) every vtpm of domid marked exported. */
static void settle(kl_ctx *ctx, uint32_t domid, int resume)
{
    uint32_t *ids;
    int n = vtpm_devids(ctx, domid, &ids);

    for (int i = 0; i < n; i++) {
        char path[128], err[512] = "";
        int rc;
        if (!is_exported(ctx, domid, ids[i]))
            continue;
        rc = resume ? kvtpm_resume(ctx->rundir, domid, ids[i], err, sizeof(err))
                    : kvtpm_release(ctx->rundir, domid, ids[i], err, sizeof(err));
        if (rc < 0)
            klog(KLOG_ERROR, "light", "domain %u: vtpm %u: %s the exported instance: %s", domid,
                 ids[i], resume ? "resuming" : "releasing", err);
        mark_path(domid, ids[i], path, sizeof(path));
        kl__xs_rm(ctx, 0, path);
    }
    free(ids);
}

void kl__vtpms_thaw(kl_ctx *ctx, uint32_t domid)
{
    settle(ctx, domid, 1);
}

void kl__vtpms_release(kl_ctx *ctx, uint32_t domid)
{
    settle(ctx, domid, 0);
}

static int add_record(struct kg_emu_records *out, uint32_t devid, uint8_t *blob, size_t len)
{
    struct kg_emu_record *n;

    if (out->n >= KG_EMU_RECORDS_MAX || !(n = realloc(out->rec, sizeof(*n) * (out->n + 1))))
        return -ENOMEM;
    out->rec = n;
    out->rec[out->n++] = (struct kg_emu_record){ 0, devid, blob, len };
    return 0;
}

int kl__vtpm_ids(kl_ctx *ctx, uint32_t domid, uint32_t **ids)
{
    return vtpm_devids(ctx, domid, ids);
}

int kl__vtpms_export(kl_ctx *ctx, uint32_t domid, struct kg_emu_records *out)
{
    uint32_t *ids;
    int n = vtpm_devids(ctx, domid, &ids), rc = kl__vtpms_export_ids(ctx, domid, ids, n, out);

    free(ids);
    return rc;
}

int kl__vtpms_export_ids(kl_ctx *ctx, uint32_t domid, const uint32_t *ids, int n,
                         struct kg_emu_records *out)
{
    int rc = 0;

    for (int i = 0; i < n && rc == 0; i++) {
        char path[128], err[512] = "";
        uint8_t *blob = NULL;
        size_t len = 0;
        if ((rc = kvtpm_export(ctx->rundir, domid, ids[i], &blob, &len, err, sizeof(err))) < 0) {
            kl__err(ctx, rc, "domain %u: vtpm %u: exporting its state from keel-vtpmd: %s",
                    domid, ids[i], err);
            break;
        }
        mark_path(domid, ids[i], path, sizeof(path));
        if ((rc = add_record(out, ids[i], blob, len)) < 0) {
            free(blob);
            kl__err(ctx, rc, "domain %u: vtpm %u: too many vTPM states for one image", domid,
                    ids[i]);
        }
        /* marked even when the record failed: the instance is frozen and must be thawed */
        kl__xs_write(ctx, 0, path, "1");
    }
    if (rc < 0) {
        char keep[sizeof(ctx->err)];
        memcpy(keep, ctx->err, sizeof(keep));
        kl__vtpms_thaw(ctx, domid);
        memcpy(ctx->err, keep, sizeof(keep));
    }
    return rc;
}
