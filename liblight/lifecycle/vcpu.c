/* vcpu.c - vCPU affinity and a domain's console output through the context's core handle
 * (keel/kl_vcpu.h), with the context's error message. */
#include <string.h>

#include "keel/kl_vcpu.h"
#include "lc_int.h"

int kl_vcpu_get_affinity(kl_ctx *ctx, uint32_t domid, uint32_t vcpu,
                         uint64_t hard[KEEL_CPUMAP_WORDS], uint64_t soft[KEEL_CPUMAP_WORDS])
{
    int rc = kc_vcpu_getaffinity(ctx->kc, domid, vcpu, hard, soft);

    return rc < 0 ? kl__err(ctx, rc, "domain %u vCPU %u affinity: %s", domid, vcpu,
                            kc_error(ctx->kc)) : 0;
}

int kl_vcpu_set_affinity(kl_ctx *ctx, uint32_t domid, uint32_t vcpu,
                         const uint64_t hard[KEEL_CPUMAP_WORDS],
                         const uint64_t soft[KEEL_CPUMAP_WORDS])
{
    int rc = kc_vcpu_setaffinity(ctx->kc, domid, vcpu, hard, soft);

    return rc < 0 ? kl__err(ctx, rc, "domain %u vCPU %u: %s", domid, vcpu, kc_error(ctx->kc))
                  : 0;
}

int kl_domain_console_read(kl_ctx *ctx, uint32_t domid, uint64_t *offset, char *buf, size_t *len,
                           uint64_t *end)
{
    int rc = kc_domain_console_read(ctx->kc, domid, offset, buf, len, end);

    return rc < 0 ? kl__err(ctx, rc, "domain %u console: %s", domid, kc_error(ctx->kc)) : 0;
}
