/* ctx.c - the liblight context (core handle + store connection), errors, userdata files and
 * the public store accessors. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "klog.h"
#include "krundir.h"
#include "lc_int.h"

int kl__err(kl_ctx *ctx, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
    va_end(ap);
    klog(KLOG_DEBUG, "light", "%s", ctx->err);
    return rc;
}

uint64_t kl__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int kl_ctx_open(kl_ctx **out, const char *rundir)
{
    kl_ctx *ctx = calloc(1, sizeof(*ctx));
    int rc;

    *out = NULL;
    if (!ctx)
        return -ENOMEM;
    rundir = krundir(rundir);
    if (strlen(rundir) >= sizeof(ctx->rundir)) {
        free(ctx);
        return -ENAMETOOLONG;
    }
    snprintf(ctx->rundir, sizeof(ctx->rundir), "%s", rundir);
    if ((rc = kc_open(&ctx->kc, ctx->rundir)) < 0) {
        klog(KLOG_ERROR, "light", "cannot reach the hypervisor core in %s: %s", ctx->rundir,
             ctx->kc ? kc_error(ctx->kc) : strerror(-rc));
        if (ctx->kc)
            kc_close(ctx->kc);
        free(ctx);
        return rc;
    }
    if ((rc = kl__xs_connect(ctx)) < 0) {
        klog(KLOG_ERROR, "light", "%s", ctx->err);
        kc_close(ctx->kc);
        free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void kl_ctx_close(kl_ctx *ctx)
{
    if (!ctx)
        return;
    kl__xs_close(ctx);
    kl__fe_free(ctx->fe_pending);
    free(ctx->fe_pending);
    if (ctx->kc)
        kc_close(ctx->kc);        /* closes the VIRQ binding with it */
    free(ctx);
}

const char *kl_ctx_error(const kl_ctx *ctx)
{
    return ctx->err[0] ? ctx->err : "no error";
}

const char *kl_ctx_rundir(const kl_ctx *ctx)
{
    return ctx->rundir;
}

kc_handle *kl_ctx_kc(kl_ctx *ctx)
{
    return ctx->kc;
}

int kl__exc_port(kl_ctx *ctx, uint32_t *port)
{
    int rc;

    if (!ctx->exc_bound) {
        if ((rc = kc_evtchn_bind_virq(ctx->kc, KEEL_VIRQ_DOM_EXC, &ctx->exc_port)) < 0)
            return kl__err(ctx, rc, "binding VIRQ_DOM_EXC: %s", kc_error(ctx->kc));
        ctx->exc_bound = 1;
    }
    *port = ctx->exc_port;
    return 0;
}

/* ---- userdata: RUNDIR/light/domN.json (live), domN.next.json (xl config-update) ---- */
static void userdata_path(kl_ctx *ctx, uint32_t domid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/light/dom%u.json", ctx->rundir, domid);
}

static void next_path(kl_ctx *ctx, uint32_t domid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/light/dom%u.next.json", ctx->rundir, domid);
}

static int config_write(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc, bool next);

int kl__userdata_store(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc)
{
    return config_write(ctx, domid, dc, false);
}

int kl_domain_set_reboot_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc)
{
    char path[400];
    struct stat st;

    userdata_path(ctx, domid, path, sizeof(path));
    if (stat(path, &st) < 0)
        return kl__err(ctx, -ENOENT, "domain %u: no configuration kept for it (%s)", domid,
                       strerror(errno));
    return config_write(ctx, domid, dc, true);
}

static int config_write(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc, bool next)
{
    char path[400], tmp[410], dir[300];
    char *json = kl_domain_config_to_json(dc);
    size_t len;
    FILE *f;
    int ok;

    if (!json)
        return kl__err(ctx, -ENOMEM, "domain %u: cannot print its configuration", domid);
    snprintf(dir, sizeof(dir), "%s/light", ctx->rundir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        free(json);
        return kl__err(ctx, -errno, "mkdir %s: %s", dir, strerror(errno));
    }
    if (next)
        next_path(ctx, domid, path, sizeof(path));
    else
        userdata_path(ctx, domid, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    len = strlen(json);
    if (!(f = fopen(tmp, "we"))) {
        free(json);
        return kl__err(ctx, -errno, "%s: %s", tmp, strerror(errno));
    }
    ok = fwrite(json, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    free(json);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return kl__err(ctx, -EIO, "cannot write %s", path);
    }
    return 0;
}

void kl__userdata_remove(kl_ctx *ctx, uint32_t domid)
{
    char path[400];

    userdata_path(ctx, domid, path, sizeof(path));
    unlink(path);
    next_path(ctx, domid, path, sizeof(path));
    unlink(path);
}

static int config_read(kl_ctx *ctx, uint32_t domid, kl_domain_config *dc, bool next);

int kl_domain_get_config(kl_ctx *ctx, uint32_t domid, kl_domain_config *dc)
{
    return config_read(ctx, domid, dc, false);
}

int kl_domain_get_reboot_config(kl_ctx *ctx, uint32_t domid, kl_domain_config *dc)
{
    char path[400];

    next_path(ctx, domid, path, sizeof(path));
    return access(path, F_OK) == 0 ? config_read(ctx, domid, dc, true)
                                   : config_read(ctx, domid, dc, false);
}

static int config_read(kl_ctx *ctx, uint32_t domid, kl_domain_config *dc, bool next)
{
    char path[400], *buf = NULL;
    size_t cap = 0, len = 0;
    kl_diag *d;
    FILE *f;
    int rc;

    if (next)
        next_path(ctx, domid, path, sizeof(path));
    else
        userdata_path(ctx, domid, path, sizeof(path));
    if (!(f = fopen(path, "re")))
        return kl__err(ctx, -errno, "domain %u: no stored configuration (%s: %s)", domid, path,
                       strerror(errno));
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (!nb) {
                free(buf);
                fclose(f);
                return -ENOMEM;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[len] = 0;
    d = kl_diag_new();
    rc = kl_domain_config_from_json(dc, buf, d);
    if (rc < 0)
        kl__err(ctx, rc, "%s: %s", path, d && kl_diag_first_error(d) ? kl_diag_first_error(d) : "invalid JSON");
    kl_diag_free(d);
    free(buf);
    return rc;
}

/* ---- public store accessors ---- */
int kl_store_read(kl_ctx *ctx, const char *path, char **out)
{
    return kl__xs_read(ctx, 0, path, out);
}

int kl_store_write(kl_ctx *ctx, const char *path, const char *value)
{
    return kl__xs_write(ctx, 0, path, value);
}

int kl_store_rm(kl_ctx *ctx, const char *path)
{
    return kl__xs_rm(ctx, 0, path);
}
