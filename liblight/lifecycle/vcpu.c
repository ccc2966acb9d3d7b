/* vcpu.c - vCPU affinity, a domain's console output and the word of new output (VIRQ_CON_RING)
 * through the context's core handle (keel/kl_vcpu.h), with the context's error message. */
#include <errno.h>
#include <stdlib.h>
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

struct kl_console_notify {
    kl_ctx *ctx;
    uint32_t port;
    int fd;
};

int kl_console_notify_open(kl_ctx *ctx, kl_console_notify **out)
{
    kl_console_notify *n = calloc(1, sizeof(*n));
    int rc;

    *out = NULL;
    if (!n)
        return kl__err(ctx, -ENOMEM, "console notification: out of memory");
    n->ctx = ctx;
    if ((rc = kc_evtchn_bind_virq(ctx->kc, KEEL_VIRQ_CON_RING, &n->port)) < 0) {
        free(n);
        return kl__err(ctx, rc, "binding VIRQ_CON_RING: %s", kc_error(ctx->kc));
    }
    if ((n->fd = kc_evtchn_fd(ctx->kc, n->port)) < 0) {
        uint32_t port = n->port;
        rc = n->fd;
        kc_evtchn_close(ctx->kc, port);
        free(n);
        return kl__err(ctx, rc, "VIRQ_CON_RING port %u has no descriptor", port);
    }
    *out = n;
    return 0;
}

int kl_console_notify_fd(const kl_console_notify *n)
{
    return n->fd;
}

void kl_console_notify_ack(kl_console_notify *n)
{
    kc_evtchn_ack(n->ctx->kc, n->port);
}

void kl_console_notify_close(kl_console_notify *n)
{
    if (!n)
        return;
    kc_evtchn_close(n->ctx->kc, n->port);
    free(n);
}
