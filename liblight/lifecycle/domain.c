/* domain.c - domain queries and simple operations: list, info, name lookup, destroy (with
 * store and userdata cleanup), pause, unpause, rename, memory maximum and target. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klog.h"
#include "lc_int.h"

#define LIST_CHUNK 256

static void fill_info(const struct keel_domctl_info *in, kl_dominfo *out)
{
    unsigned reason = (in->flags >> KEEL_DOMINF_SHUTDOWN_SHIFT) & 0xff;

    memset(out, 0, sizeof(*out));
    out->domid = in->domid;
    memcpy(out->uuid.bytes, in->handle, 16);
    out->current_memkb = in->tot_pages * (KEEL_PAGE_SIZE / 1024);
    out->max_memkb = in->max_pages * (KEEL_PAGE_SIZE / 1024);
    out->vcpu_online = in->nr_online_vcpus;
    out->vcpu_max_id = in->max_vcpu_id;
    out->cpu_time_ns = in->cpu_time_ns;
    out->dying = in->flags & KEEL_DOMINF_DYING;
    out->paused = in->flags & KEEL_DOMINF_PAUSED;
    out->blocked = in->flags & KEEL_DOMINF_BLOCKED;
    out->running = in->flags & KEEL_DOMINF_RUNNING;
    out->shutdown = in->flags & (KEEL_DOMINF_SHUTDOWN | KEEL_DOMINF_CRASHED);
    out->shutdown_reason = !out->shutdown ? -1
                         : (in->flags & KEEL_DOMINF_SHUTDOWN) ? (int)reason : KEEL_SHUTDOWN_CRASH;
    out->ssidref = in->ssidref;
    out->cpupool = in->cpupool;
    out->outstanding_memkb = in->outstanding_pages * (KEEL_PAGE_SIZE / 1024);
}

/* The names of n listed domains from the store, their READs pipelined (one round trip for
 * all, not one each); a domain without a readable name gets an empty one. */
static void fill_names(kl_ctx *ctx, kl_dominfo *list, int n)
{
    struct kl__xsb b;
    char **v = calloc((size_t)n + 1, sizeof(*v)), path[64];

    if (!v)
        return;
    kl__xsb_init(&b);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "/local/domain/%u/name", list[i].domid);
        kl__xsb_read(&b, path, &v[i]);
    }
    kl__xsb_send(ctx, 0, &b);       /* absent names are expected: domains mid-build or -destroy */
    ctx->err[0] = 0;
    for (int i = 0; i < n; i++) {
        snprintf(list[i].name, sizeof(list[i].name), "%s", v[i] ? v[i] : "");
        free(v[i]);
    }
    free(v);
}

int kl_domain_info(kl_ctx *ctx, uint32_t domid, kl_dominfo *info)
{
    struct keel_domctl_info in;
    int rc = kc_domain_getinfo(ctx->kc, domid, &in);

    if (rc < 0)
        return kl__err(ctx, rc, "domain %u: %s", domid, kc_error(ctx->kc));
    if (in.domid != domid)
        return kl__err(ctx, -ENOENT, "domain %u does not exist", domid);
    fill_info(&in, info);
    if (kl_domain_name(ctx, domid, info->name, sizeof(info->name)) < 0)
        info->name[0] = 0;
    return 0;
}

int kl_domain_list(kl_ctx *ctx, kl_dominfo **out)
{
    struct keel_domctl_info *raw = NULL;
    uint32_t first = 0;
    int n = 0, got;

    *out = NULL;
    do {
        struct keel_domctl_info *nr = realloc(raw, sizeof(*raw) * (size_t)(n + LIST_CHUNK));
        if (!nr) {
            free(raw);
            return -ENOMEM;
        }
        raw = nr;
        got = kc_domain_list(ctx->kc, first, raw + n, LIST_CHUNK);
        if (got < 0) {
            free(raw);
            return kl__err(ctx, got, "listing domains: %s", kc_error(ctx->kc));
        }
        n += got;
        if (got)
            first = raw[n - 1].domid + 1;
    } while (got == LIST_CHUNK);
    if (!(*out = calloc((size_t)n + 1, sizeof(**out)))) {
        free(raw);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++)
        fill_info(&raw[i], &(*out)[i]);
    free(raw);
    fill_names(ctx, *out, n);
    return n;
}

int kl_domain_name(kl_ctx *ctx, uint32_t domid, char *buf, size_t len)
{
    char path[64], *v = NULL;
    int rc;

    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    ctx->err[0] = 0;
    if ((rc = kl__xs_read(ctx, 0, path, &v)) < 0)
        return ctx->err[0] ? rc : kl__err(ctx, rc, "domain %u: no name in the store (%s)", domid,
                                          strerror(-rc));
    snprintf(buf, len, "%s", v);
    free(v);
    return 0;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

int kl_domain_qualify(kl_ctx *ctx, const char *arg, uint32_t *domid)
{
    kl_dominfo *list;
    int n, rc = -ENOENT;

    if (all_digits(arg) && strlen(arg) < 8) {
        struct keel_domctl_info in;
        uint32_t id = (uint32_t)strtoul(arg, NULL, 10);
        if (kc_domain_getinfo(ctx->kc, id, &in) == 0 && in.domid == id) {
            *domid = id;
            return 0;
        }
        return kl__err(ctx, -ENOENT, "domain %s does not exist", arg);
    }
    if ((n = kl_domain_list(ctx, &list)) < 0)
        return n;
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i].name, arg)) {
            *domid = list[i].domid;
            rc = 0;
            break;
        }
    free(list);
    return rc < 0 ? kl__err(ctx, rc, "domain '%s' does not exist", arg) : 0;
}

int kl_domain_destroy(kl_ctx *ctx, uint32_t domid)
{
    int rc;

    if (domid == 0)
        return kl__err(ctx, -EPERM, "Domain-0 cannot be destroyed");
    /* as libxl: the guest stops, its devices go (backends close on their own), then it dies */
    kc_domain_pause(ctx->kc, domid);
    kl__devices_destroy(ctx, domid);
    kl__channels_destroy(ctx, domid);
    rc = kc_domain_destroy(ctx->kc, domid);
    if (rc < 0 && rc != -ENOENT && rc != -ESRCH)
        return kl__err(ctx, rc, "destroying domain %u: %s", domid, kc_error(ctx->kc));
    kl__rings_release(ctx, domid);
    kl__store_forget(ctx, domid);
    kl__userdata_remove(ctx, domid);
    return rc < 0 ? kl__err(ctx, rc, "domain %u does not exist", domid) : 0;
}

int kl_domain_pause(kl_ctx *ctx, uint32_t domid)
{
    int rc = kc_domain_pause(ctx->kc, domid);

    return rc < 0 ? kl__err(ctx, rc, "pausing domain %u: %s", domid, kc_error(ctx->kc)) : 0;
}

int kl_domain_unpause(kl_ctx *ctx, uint32_t domid)
{
    char keep[sizeof(ctx->err)] = "";
    int rrc = kl__fe_reopen(ctx, domid), rc;     /* disks a save closed (xl save -c / -p) */

    if (rrc < 0) {
        snprintf(keep, sizeof(keep), "%s", ctx->err);
        klog(KLOG_ERROR, "light", "domain %u resumes without its disks: %s", domid, keep);
    }
    rc = kc_domain_unpause(ctx->kc, domid);
    if (rc < 0)
        return kl__err(ctx, rc, "unpausing domain %u: %s", domid, kc_error(ctx->kc));
    if (rrc < 0)
        return kl__err(ctx, rrc, "domain %u resumed, but its disks could not be added again: "
                       "%.400s", domid, keep);
    return 0;
}

static int valid_name(const char *s)
{
    size_t len = strlen(s);

    return len >= 1 && len <= KL_DOMNAME_MAX && !strchr(s, '/') && !all_digits(s);
}

int kl_domain_rename(kl_ctx *ctx, uint32_t domid, const char *name)
{
    char path[128], *vm = NULL, old[KL_DOMNAME_MAX + 1] = "";
    uint32_t other;
    int rc;

    if (!valid_name(name))
        return kl__err(ctx, -EINVAL, "'%s' is not a valid domain name (1-%d characters, no '/', "
                       "not all digits)", name, KL_DOMNAME_MAX);
    if (kl_domain_qualify(ctx, name, &other) == 0)
        return kl__err(ctx, other == domid ? 0 : -EEXIST, "domain name '%s' is already used by "
                       "domain %u", name, other);
    if (domid == 0)
        return kl__err(ctx, -EPERM, "Domain-0 cannot be renamed");
    if (kl_domain_name(ctx, domid, old, sizeof(old)) < 0)
        return kl__err(ctx, -ENOENT, "domain %u has no name in the store", domid);
    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    if ((rc = kl__xs_write(ctx, 0, path, name)) < 0)
        return rc;
    snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
    if (kl__xs_read(ctx, 0, path, &vm) == 0 && !strncmp(vm, "/vm/", 4)) {
        snprintf(path, sizeof(path), "%s/name", vm);
        kl__xs_write(ctx, 0, path, name);
    }
    free(vm);
    {   /* keep the stored configuration's name in step */
        kl_domain_config dc;
        kl_domain_config_init(&dc);
        if (kl_domain_get_config(ctx, domid, &dc) == 0) {
            free(dc.c_info.name);
            dc.c_info.name = strdup(name);
            if (dc.c_info.name)
                kl__userdata_store(ctx, domid, &dc);
        }
        kl_domain_config_dispose(&dc);
    }
    ctx->err[0] = 0;
    return 0;
}

static int read_kb(kl_ctx *ctx, uint32_t domid, const char *node, uint64_t *kb)
{
    char path[96], *v = NULL, *end;
    int rc;

    snprintf(path, sizeof(path), "/local/domain/%u/memory/%s", domid, node);
    if ((rc = kl__xs_read(ctx, 0, path, &v)) < 0)
        return kl__err(ctx, rc, "domain %u: %s: %s", domid, path, strerror(-rc));
    *kb = strtoull(v, &end, 10);
    rc = (*v && !*end) ? 0 : kl__err(ctx, -EINVAL, "%s: not a number: '%s'", path, v);
    free(v);
    return rc;
}

int kl_domain_get_target(kl_ctx *ctx, uint32_t domid, uint64_t *target_kb)
{
    return read_kb(ctx, domid, "target", target_kb);
}

int kl_domain_setmaxmem(kl_ctx *ctx, uint32_t domid, uint64_t max_kb)
{
    char path[96];
    uint64_t target;
    int rc;

    if (domid == 0)
        return kl__err(ctx, -EPERM, "Domain-0's memory is the host's");
    if ((rc = read_kb(ctx, domid, "target", &target)) < 0)
        return rc;
    if (max_kb < target)
        return kl__err(ctx, -EINVAL, "memory_static_max (%llu KiB) must not be below the target "
                       "(%llu KiB)", (unsigned long long)max_kb, (unsigned long long)target);
    if ((rc = kc_domain_setmaxmem(ctx->kc, domid, max_kb)) < 0)
        return kl__err(ctx, rc, "domain %u: maximum memory %llu KiB: %s", domid,
                       (unsigned long long)max_kb, kc_error(ctx->kc));
    snprintf(path, sizeof(path), "/local/domain/%u/memory/static-max", domid);
    return kl__xs_writef(ctx, 0, path, "%llu", (unsigned long long)max_kb);
}

int kl_domain_set_target(kl_ctx *ctx, uint32_t domid, uint64_t target_kb)
{
    char path[96];
    uint64_t max;
    int rc;

    if (domid == 0)
        return kl__err(ctx, -EPERM, "Domain-0's memory is the host's");
    if ((rc = read_kb(ctx, domid, "static-max", &max)) < 0)
        return rc;
    if (target_kb > max)
        return kl__err(ctx, -EINVAL, "memory_dynamic_max (%llu KiB) must be less than or equal "
                       "to memory_static_max (%llu KiB)", (unsigned long long)target_kb,
                       (unsigned long long)max);
    if (target_kb == 0)
        return kl__err(ctx, -EINVAL, "a memory target of 0 is not allowed");
    snprintf(path, sizeof(path), "/local/domain/%u/memory/target", domid);
    return kl__xs_writef(ctx, 0, path, "%llu", (unsigned long long)target_kb);
}
