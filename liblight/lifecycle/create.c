/* create.c - creating a domain from a kl_domain_config: core domain with the UUID as handle,
 * maximum memory, a memory claim (claim_mode), scheduling parameters, affinity, the domain
 * builder (kg_build), store nodes, userdata, then unpause. Everything is undone on failure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/guest.h"
#include "lc_int.h"

static int check_name_free(kl_ctx *ctx, const char *name)
{
    uint32_t other;

    if (kl_domain_qualify(ctx, name, &other) == 0)
        return kl__err(ctx, -EEXIST, "domain name '%s' is already used by domain %u", name, other);
    ctx->err[0] = 0;
    return 0;
}

static void cpumap_from_bitmap(const kl_bitmap *b, uint64_t map[KEEL_CPUMAP_WORDS])
{
    memset(map, 0, sizeof(uint64_t) * KEEL_CPUMAP_WORDS);
    for (unsigned i = 0; i < KEEL_CPUMAP_WORDS * 64; i++)
        if (kl_bitmap_test(b, i))
            map[i / 64] |= 1ULL << (i % 64);
}

static int set_affinity(kl_ctx *ctx, uint32_t domid, const kl_domain_build_info *b)
{
    int n = b->num_vcpu_hard_affinity > b->num_vcpu_soft_affinity ? b->num_vcpu_hard_affinity
                                                                  : b->num_vcpu_soft_affinity;
    for (int v = 0; v < b->max_vcpus && n > 0; v++) {
        uint64_t hard[KEEL_CPUMAP_WORDS], soft[KEEL_CPUMAP_WORDS];
        /* one list applies to every vCPU; a list of lists gives one per vCPU */
        int hi = b->num_vcpu_hard_affinity == 1 ? 0 : v, si = b->num_vcpu_soft_affinity == 1 ? 0 : v;
        int rc;
        if (hi < b->num_vcpu_hard_affinity)
            cpumap_from_bitmap(&b->vcpu_hard_affinity[hi], hard);
        else
            memset(hard, 0xff, sizeof(hard));
        if (si < b->num_vcpu_soft_affinity)
            cpumap_from_bitmap(&b->vcpu_soft_affinity[si], soft);
        else
            memset(soft, 0xff, sizeof(soft));
        if ((rc = kc_vcpu_setaffinity(ctx->kc, domid, (uint32_t)v, hard, soft)) < 0)
            return kl__err(ctx, rc, "domain %u: vCPU %d affinity: %s", domid, v, kc_error(ctx->kc));
    }
    return 0;
}

static int core_create(kl_ctx *ctx, const kl_domain_config *dc, unsigned flags, uint32_t *domid)
{
    const kl_domain_build_info *b = &dc->b_info;
    struct keel_domctl_create cr = { .max_vcpus = (uint32_t)b->max_vcpus,
                                     .max_mem_kb = b->max_memkb };
    int rc;

    memcpy(cr.handle, dc->c_info.uuid.bytes, 16);
    if (dc->c_info.ssid_label)
        snprintf(cr.label, sizeof(cr.label), "%s", dc->c_info.ssid_label);
    if (b->max_grant_frames > KEEL_GNTTAB_MAX_FRAMES_LIMIT)
        return kl__err(ctx, -EINVAL, "domain '%s': max_grant_frames=%d is more than the core "
                       "allows (%d)", dc->c_info.name, b->max_grant_frames,
                       KEEL_GNTTAB_MAX_FRAMES_LIMIT);
    if (b->max_grant_frames > 0)                 /* -1: the core's default */
        cr.max_grant_frames = (uint32_t)b->max_grant_frames;
    if (b->max_maptrack_frames >= 0)
        cr.max_maptrack_frames = b->max_maptrack_frames ? (uint32_t)b->max_maptrack_frames
                                                        : KEEL_GNTTAB_NO_MAPTRACK;
    /* c_info.domid (xl save -D / migrate -D): that id, else the core picks one */
    *domid = dc->c_info.domid < KEEL_DOMID_FIRST_RESERVED ? dc->c_info.domid : 0;
    if (flags & KL_CREATE_LAZY)                  /* a lazy restore (docs/lazy-restore.md) */
        cr.flags |= KEEL_DOMCTL_CDF_LAZY_MEM;
    if ((rc = kc_domain_create(ctx->kc, &cr, domid)) < 0)
        return kl__err(ctx, rc, "creating domain '%s': %s", dc->c_info.name, kc_error(ctx->kc));
    return 0;
}

/* claim_mode (KL_CREATE_CLAIM): claim the pages the build populates (target memory) before
 * anything else, so a domain the host cannot hold fails here; on means stake, off cancel. */
static int claim_memory(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc, bool on)
{
    uint64_t pages = on ? dc->b_info.target_memkb / (KEEL_PAGE_SIZE / 1024) : 0;
    struct keel_sysctl_physinfo pi;
    int rc = kc_domain_claim_pages(ctx->kc, domid, pages);

    if (rc == -ENOMEM && kc_physinfo(ctx->kc, &pi) == 0)
        return kl__err(ctx, rc, "claim_mode: the host cannot hold domain '%s': it needs %llu MiB, "
                       "%llu MiB are free and unclaimed", dc->c_info.name,
                       (unsigned long long)(dc->b_info.target_memkb >> 10),
                       (unsigned long long)(pi.free_pages >> (20 - KEEL_PAGE_SHIFT)));
    if (rc < 0)
        return kl__err(ctx, rc, "claim_mode: domain '%s': %s", dc->c_info.name, kc_error(ctx->kc));
    return 0;
}

/* The console and store rings (last two frames, ports for Domain-0), then the build. */
static int build(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc, struct kg_build_info *out)
{
    const kl_domain_build_info *b = &dc->b_info;
    struct kg_build_info bi = { .kernel = b->kernel, .ramdisk = b->ramdisk, .cmdline = b->cmdline,
                                .mem_kb = b->target_memkb,
                                .nr_vcpus = kl_bitmap_count(&b->avail_vcpus),
                                .max_vcpus = (uint32_t)b->max_vcpus };
    struct kg_build_result res;
    char err[512] = "";
    int rc;

    if (!bi.nr_vcpus)
        bi.nr_vcpus = 1;
    if ((rc = kg_rings_setup(ctx->kc, domid, bi.mem_kb, &bi, err, sizeof(err))) < 0)
        return kl__err(ctx, rc, "domain %u: console and store rings: %s", domid, err);
    *out = bi;
    if ((rc = kg_build(ctx->kc, domid, &bi, &res, err, sizeof(err))) < 0)
        return kl__err(ctx, rc, "building domain %u from %s: %s", domid, b->kernel,
                       err[0] ? err : kc_error(ctx->kc));
    return 0;
}

static int configure(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc)
{
    const kl_domain_build_info *b = &dc->b_info;
    int rc;

    if (b->sched_params.weight > 0 || b->sched_params.cap > 0) {
        uint32_t w = b->sched_params.weight > 0 ? (uint32_t)b->sched_params.weight : 256;
        uint32_t cap = b->sched_params.cap > 0 ? (uint32_t)b->sched_params.cap : 0;
        if ((w != 256 || cap) && (rc = kc_sched_credit_set(ctx->kc, domid, w, cap)) < 0)
            return kl__err(ctx, rc, "domain %u: credit weight %u cap %u: %s", domid, w, cap,
                           kc_error(ctx->kc));
    }
    return set_affinity(ctx, domid, b);
}

/* Fill a created domain: build it from its kernel, or restore it from a save stream (fd >= 0),
 * and say where its rings are. */
static int fill(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc, int fd, unsigned flags,
                struct kg_ring_params *rings)
{
    struct kg_build_info bi = { 0 };
    char err[512] = "";
    int rc;

    memset(rings, 0, sizeof(*rings));
    if (fd < 0) {
        if ((rc = build(ctx, domid, dc, &bi)) < 0)
            return rc;
        *rings = (struct kg_ring_params){ .console_gfn = bi.console_gfn, .store_gfn = bi.store_gfn,
                                          .console_port = bi.console_port,
                                          .store_port = bi.store_port };
        return 0;
    }
    /* the vTPMs' states (EMULATOR_CONTEXT records) wait in ctx for kl__vtpms_add_config */
    kl__vtpm_pending_drop(ctx);
    if (!(ctx->vtpm_pending = calloc(1, sizeof(*ctx->vtpm_pending))))
        return kl__err(ctx, -ENOMEM, "restoring domain %u: out of memory", domid);
    if (ctx->restore_hooks) {          /* a Remus backup: disk epochs and acknowledgements */
        struct kg_restore_result res;
        rc = kg_restore_hooked(ctx->kc, domid, dc->b_info.max_memkb, fd, &res, ctx->vtpm_pending,
                               ctx->restore_hooks, err, sizeof(err));
        if (rc == 0)
            *rings = res.rings;
    } else if ((flags & KL_CREATE_LAZY) && ctx->postcopy_chan > 0) {  /* mig_postcopy.c */
        rc = kg_restore_postcopy(ctx->kc, domid, dc->b_info.max_memkb, fd, ctx->postcopy_chan - 1,
                                 rings, ctx->vtpm_pending, err, sizeof(err));
    } else if (flags & KL_CREATE_LAZY) {       /* kg_lazy.c: the core fills on first touch */
        rc = kg_restore_lazy(ctx->kc, domid, dc->b_info.max_memkb, fd, rings, ctx->vtpm_pending,
                             err, sizeof(err));
    } else {
        rc = kg_restore_emu(ctx->kc, domid, dc->b_info.max_memkb, fd, rings, ctx->vtpm_pending,
                            err, sizeof(err));
    }
    if (rc < 0)
        return kl__err(ctx, rc, "restoring domain %u: %s", domid, err);
    return 0;
}

static int create_common(kl_ctx *ctx, kl_domain_config *dc, unsigned flags, int fd, uint32_t *out);
static int create_filled(kl_ctx *ctx, kl_domain_config *dc, unsigned flags, int fd,
                         const struct kl__fe_set *fe, uint32_t *out, kl_diag *d);

int kl_domain_create(kl_ctx *ctx, kl_domain_config *dc, unsigned flags, uint32_t *out)
{
    return create_common(ctx, dc, flags & ~(unsigned)KL_CREATE_LAZY, -1, out);
}

int kl_domain_restore(kl_ctx *ctx, kl_domain_config *dc, int fd, unsigned flags, uint32_t *out)
{
    if (fd < 0)
        return kl__err(ctx, -EBADF, "restore: no stream");
    return create_common(ctx, dc, flags, fd, out);
}

static int create_common(kl_ctx *ctx, kl_domain_config *dc, unsigned flags, int fd, uint32_t *out)
{
    struct kl__fe_set *fe = ctx->fe_pending;   /* from the image's header: a restore's */
    kl_diag *d = kl_diag_new();
    int rc;

    ctx->fe_pending = NULL;
    rc = create_filled(ctx, dc, flags, fd, fd >= 0 ? fe : NULL, out, d);
    kl__vtpm_pending_drop(ctx);
    kl__fe_free(fe);
    free(fe);
    return rc;
}

static int create_filled(kl_ctx *ctx, kl_domain_config *dc, unsigned flags, int fd,
                         const struct kl__fe_set *fe, uint32_t *out, kl_diag *d)
{
    struct kg_ring_params rings;
    uint32_t domid = KEEL_DOMID_INVALID;
    bool claim = flags & KL_CREATE_CLAIM;       /* a restore's too: before the stream fills it */
    int rc;

    ctx->err[0] = 0;
    rc = kl_domain_config_setdefault(dc, d);
    if (rc < 0)
        kl__err(ctx, rc, "configuration: %s",
                d && kl_diag_first_error(d) ? kl_diag_first_error(d) : strerror(-rc));
    kl_diag_free(d);
    if (rc < 0)
        return rc;
    if (!dc->c_info.name || (fd < 0 && !dc->b_info.kernel))
        return kl__err(ctx, -EINVAL, "configuration: a name and a kernel are required");
    /* a restored domain is not built from its kernel: an unresolvable one is kept as given */
    if (dc->b_info.kernel && (rc = kl__kernel_resolve_config(ctx, dc)) < 0 && fd < 0)
        return rc;
    ctx->err[0] = 0;
    if ((rc = kl__channels_check(ctx, dc)) < 0 || (rc = check_name_free(ctx, dc->c_info.name)) < 0 ||
        (rc = core_create(ctx, dc, flags, &domid)) < 0)
        return rc;
    dc->c_info.domid = KEEL_DOMID_INVALID;   /* a requested id is used once: restarts pick */
    /* named in the store before it is filled: an incoming domain shows while it arrives */
    if ((claim && (rc = claim_memory(ctx, domid, dc, true)) < 0) ||
        (rc = kl__cpupool_place(ctx, domid, dc)) < 0 ||
        (rc = configure(ctx, domid, dc)) < 0 || (rc = kl__store_domain(ctx, domid, dc)) < 0 ||
        (rc = fill(ctx, domid, dc, fd, flags, &rings)) < 0 ||
        (claim && (rc = claim_memory(ctx, domid, dc, false)) < 0) ||
        (rings.store_gfn && (rc = kl__rings_introduce(ctx, domid, &rings)) < 0) ||
        (rc = kl__userdata_store(ctx, domid, dc)) < 0 ||
        (rc = kl__vtpms_add_config(ctx, domid, dc, fe)) < 0 ||
        (rc = kl__channels_add_config(ctx, domid, dc)) < 0 ||
        (rc = kl__disks_add_config(ctx, domid, dc, fe)) < 0 ||
        (!(flags & KL_CREATE_PAUSED) && (rc = kc_domain_unpause(ctx->kc, domid)) < 0)) {
        char keep[sizeof(ctx->err)];
        memcpy(keep, ctx->err, sizeof(keep));
        if (!keep[0])
            snprintf(keep, sizeof(keep), "domain %u: %s", domid, kc_error(ctx->kc));
        kl_domain_destroy(ctx, domid);
        memcpy(ctx->err, keep, sizeof(keep));
        return rc;
    }
    *out = domid;
    return 0;
}
