/* kc_domain.c - libkeelctrl: domain control and system control calls. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "kc_private.h"

long kc_domctl(kc_handle *h, struct keel_domctl *dc, const void *in, size_t in_len, void *out,
               size_t out_max, size_t *out_len, int *fds, int max_fds, int *nfds)
{
    dc->interface_version = KEEL_DOMCTL_INTERFACE_VERSION;
    return kc_hypercall(h, KH_DOMCTL, 0, dc, sizeof(*dc), in, in_len, out, out_max, out_len, fds,
                        max_fds, nfds);
}

long kc_sysctl(kc_handle *h, struct keel_sysctl *sc, void *out, size_t out_max, size_t *out_len)
{
    sc->interface_version = KEEL_SYSCTL_INTERFACE_VERSION;
    return kc_hypercall(h, KH_SYSCTL, 0, sc, sizeof(*sc), NULL, 0, out, out_max, out_len, NULL,
                        0, NULL);
}

static int simple(kc_handle *h, uint32_t cmd, uint32_t domid, const char *what)
{
    struct keel_domctl dc = { .cmd = cmd, .domain = domid };
    long rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);

    return rc < 0 ? (int)kc_fail(rc, "%s domain %u", what, domid) : 0;
}

int kc_domain_create(kc_handle *h, const struct keel_domctl_create *args, uint32_t *domid)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_CREATEDOMAIN, .domain = *domid };
    long rc;

    dc.u.create = *args;
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    if (rc < 0)
        return (int)kc_fail(rc, "creating a domain (%u vCPUs, %llu KiB)", args->max_vcpus,
                            (unsigned long long)args->max_mem_kb);
    *domid = dc.domain;
    return 0;
}

int kc_domain_destroy(kc_handle *h, uint32_t domid)
{
    return simple(h, KEEL_DOMCTL_DESTROYDOMAIN, domid, "destroying");
}

int kc_domain_pause(kc_handle *h, uint32_t domid)
{
    return simple(h, KEEL_DOMCTL_PAUSEDOMAIN, domid, "pausing");
}

int kc_domain_unpause(kc_handle *h, uint32_t domid)
{
    return simple(h, KEEL_DOMCTL_UNPAUSEDOMAIN, domid, "unpausing");
}

int kc_domain_getinfo(kc_handle *h, uint32_t domid, struct keel_domctl_info *info)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_GETDOMAININFO, .domain = domid };
    long rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);

    if (rc < 0)
        return (int)kc_fail(rc, "getting information on domain %u", domid);
    *info = dc.u.info;
    return 0;
}

int kc_domain_list(kc_handle *h, uint32_t first, struct keel_domctl_info *info, uint32_t max)
{
    struct keel_sysctl sc = { .cmd = KEEL_SYSCTL_GETDOMAININFOLIST };
    long rc;

    if ((size_t)max * sizeof(*info) > (1U << 20))
        max = (1U << 20) / sizeof(*info);
    sc.u.domaininfolist.first_domain = first;
    sc.u.domaininfolist.max_domains = max;
    rc = kc_sysctl(h, &sc, info, (size_t)max * sizeof(*info), NULL);
    if (rc < 0)
        return (int)kc_fail(rc, "listing domains");
    return (int)sc.u.domaininfolist.num_domains;
}

int kc_domain_shutdown(kc_handle *h, uint32_t domid, uint32_t reason)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_SHUTDOWN, .domain = domid };
    long rc;

    dc.u.shutdown.reason = reason;
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    return rc < 0 ? (int)kc_fail(rc, "shutting down domain %u", domid) : 0;
}

int kc_domain_setmaxmem(kc_handle *h, uint32_t domid, uint64_t max_kb)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_MAX_MEM, .domain = domid };
    long rc;

    dc.u.max_mem.max_memkb = max_kb;
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    return rc < 0 ? (int)kc_fail(rc, "setting the maximum memory of domain %u", domid) : 0;
}

int kc_domain_sethandle(kc_handle *h, uint32_t domid, const uint8_t uuid[16])
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_SETDOMAINHANDLE, .domain = domid };
    long rc;

    memcpy(dc.u.handle.handle, uuid, 16);
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    return rc < 0 ? (int)kc_fail(rc, "setting the handle of domain %u", domid) : 0;
}

int kc_domain_console_read(kc_handle *h, uint32_t domid, uint64_t *offset, char *buf,
                           size_t *len, uint64_t *end)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_CONSOLE_READ, .domain = domid };
    size_t got = 0;
    long rc;

    dc.u.console.offset = *offset;
    dc.u.console.len = (uint32_t)(*len > (1U << 20) ? (1U << 20) : *len);
    rc = kc_domctl(h, &dc, NULL, 0, buf, dc.u.console.len, &got, NULL, 0, NULL);
    if (rc < 0)
        return (int)kc_fail(rc, "reading the console of domain %u", domid);
    *len = got;
    *offset = dc.u.console.offset + got;
    if (end)
        *end = dc.u.console.end;
    return 0;
}

int kc_vcpu_getcontext(kc_handle *h, uint32_t domid, uint32_t vcpu, struct keel_vcpu_context *ctx)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_GETVCPUCONTEXT, .domain = domid };
    size_t got = 0;
    long rc;

    dc.u.vcpucontext.vcpu = vcpu;
    rc = kc_domctl(h, &dc, NULL, 0, ctx, sizeof(*ctx), &got, NULL, 0, NULL);
    if (rc >= 0 && got != sizeof(*ctx))
        rc = -EPROTO;
    return rc < 0 ? (int)kc_fail(rc, "getting the context of domain %u vCPU %u", domid, vcpu) : 0;
}

int kc_vcpu_setcontext(kc_handle *h, uint32_t domid, uint32_t vcpu,
                       const struct keel_vcpu_context *ctx)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_SETVCPUCONTEXT, .domain = domid };
    long rc;

    dc.u.vcpucontext.vcpu = vcpu;
    rc = kc_domctl(h, &dc, ctx, sizeof(*ctx), NULL, 0, NULL, NULL, 0, NULL);
    return rc < 0 ? (int)kc_fail(rc, "setting the context of domain %u vCPU %u", domid, vcpu) : 0;
}

int kc_vcpu_getinfo(kc_handle *h, uint32_t domid, uint32_t vcpu, struct keel_domctl_vcpuinfo *info)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_GETVCPUINFO, .domain = domid };
    long rc;

    dc.u.vcpuinfo.vcpu = vcpu;
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    if (rc < 0)
        return (int)kc_fail(rc, "getting information on domain %u vCPU %u", domid, vcpu);
    *info = dc.u.vcpuinfo;
    return 0;
}

int kc_physinfo(kc_handle *h, struct keel_sysctl_physinfo *info)
{
    struct keel_sysctl sc = { .cmd = KEEL_SYSCTL_PHYSINFO };
    long rc = kc_sysctl(h, &sc, NULL, 0, NULL);

    if (rc < 0)
        return (int)kc_fail(rc, "physinfo");
    *info = sc.u.physinfo;
    return 0;
}

int kc_readconsolering(kc_handle *h, char *buf, size_t *len, uint64_t *index, int clear)
{
    struct keel_sysctl sc = { .cmd = KEEL_SYSCTL_READCONSOLE };
    size_t got = 0;
    long rc;

    sc.u.readconsole.clear = clear ? 1 : 0;
    sc.u.readconsole.incremental = index && *index ? 1 : 0;
    sc.u.readconsole.index = index ? *index : 0;
    sc.u.readconsole.count = (uint32_t)(*len > (1U << 20) ? (1U << 20) : *len);
    rc = kc_sysctl(h, &sc, buf, sc.u.readconsole.count, &got);
    if (rc < 0)
        return (int)kc_fail(rc, "reading the hypervisor console");
    *len = got;
    if (index)
        *index = sc.u.readconsole.index;
    return 0;
}

int kc_sched_credit_get(kc_handle *h, uint32_t domid, uint32_t *weight, uint32_t *cap)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_SCHEDULER_OP, .domain = domid };
    long rc;

    dc.u.sched.cmd = KEEL_SCHED_GETINFO;
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    if (rc < 0)
        return (int)kc_fail(rc, "getting the scheduling parameters of domain %u", domid);
    *weight = dc.u.sched.weight;
    *cap = dc.u.sched.cap;
    return 0;
}

int kc_sched_credit_set(kc_handle *h, uint32_t domid, uint32_t weight, uint32_t cap)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_SCHEDULER_OP, .domain = domid };
    long rc;

    dc.u.sched.cmd = KEEL_SCHED_PUTINFO;
    dc.u.sched.weight = weight;
    dc.u.sched.cap = cap;
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    return rc < 0 ? (int)kc_fail(rc, "setting weight %u cap %u on domain %u", weight, cap, domid) : 0;
}

int kc_vcpu_setaffinity(kc_handle *h, uint32_t domid, uint32_t vcpu,
                        const uint64_t hard[KEEL_CPUMAP_WORDS], const uint64_t soft[KEEL_CPUMAP_WORDS])
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_SETVCPUAFFINITY, .domain = domid };
    long rc;

    dc.u.affinity.vcpu = vcpu;
    for (int i = 0; i < KEEL_CPUMAP_WORDS; i++) {
        dc.u.affinity.hard[i] = hard ? hard[i] : ~0ULL;
        dc.u.affinity.soft[i] = soft ? soft[i] : ~0ULL;
    }
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    return rc < 0 ? (int)kc_fail(rc, "pinning domain %u vCPU %u", domid, vcpu) : 0;
}

int kc_vcpu_getaffinity(kc_handle *h, uint32_t domid, uint32_t vcpu,
                        uint64_t hard[KEEL_CPUMAP_WORDS], uint64_t soft[KEEL_CPUMAP_WORDS])
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_GETVCPUAFFINITY, .domain = domid };
    long rc;

    dc.u.affinity.vcpu = vcpu;
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    if (rc < 0)
        return (int)kc_fail(rc, "getting the affinity of domain %u vCPU %u", domid, vcpu);
    for (int i = 0; i < KEEL_CPUMAP_WORDS; i++) {
        if (hard)
            hard[i] = dc.u.affinity.hard[i];
        if (soft)
            soft[i] = dc.u.affinity.soft[i];
    }
    return 0;
}

int kc_domain_getstate(kc_handle *h, uint32_t domid, void *buf, size_t *len)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_GETDOMSTATE, .domain = domid };
    size_t got = 0;
    long rc;

    dc.u.domstate.len = (uint32_t)(*len > (1U << 20) ? (1U << 20) : *len);
    rc = kc_domctl(h, &dc, NULL, 0, buf, dc.u.domstate.len, &got, NULL, 0, NULL);
    if (rc < 0) {
        if (rc == -ENOBUFS)
            *len = dc.u.domstate.len;
        return (int)kc_fail(rc, "getting the state of domain %u", domid);
    }
    *len = got;
    return 0;
}

int kc_domain_setstate(kc_handle *h, uint32_t domid, const void *buf, size_t len)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_SETDOMSTATE, .domain = domid };
    long rc;

    dc.u.domstate.len = (uint32_t)len;
    rc = kc_domctl(h, &dc, buf, len, NULL, 0, NULL, NULL, 0, NULL);
    return rc < 0 ? (int)kc_fail(rc, "restoring the state of domain %u", domid) : 0;
}
