/* domctl.c - domain control for the privileged toolstack (create and destroy are handled by the
 * control socket outside the lock; everything else here, with the lock held). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"
#include "keel-flask-av.h"
#include "keel/vm_event.h"

static long foreign_map(struct hv_caller *c, struct hv_domain *d, struct keel_domctl *dc)
{
    int fd;

    if (!c->conn || c->nfds >= 4)
        return -EINVAL;
    /* all of memory for the toolstack (save, dump, introspection): every frame in first; the
     * store and console daemons map only the rings, which a restore writes before it starts */
    if (hv_conn_role(c->conn) == HV_ROLE_TOOLSTACK && (fd = hv_lazy_complete_now(d)) < 0) {
        hv_printk("Domain %u: foreign mapping refused: %s", d->domid, fd == -EBUSY
                  ? "its memory still arrives from a post-copy migration" :
                  "its lazy memory source broke");
        return fd;
    }
    fd = fcntl(d->mem_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    c->fds[c->nfds++] = fd;
    dc->u.max_mem.max_memkb = d->mem_size >> 10;
    return 0;
}

static long set_max_mem(struct hv_domain *d, uint64_t kb)
{
    uint64_t pages = kb >> 2;

    if (pages > d->mem_size >> KEEL_PAGE_SHIFT)
        return -ENOSPC;              /* beyond the memory object made at creation */
    d->max_pages = pages;
    return 0;
}

static long scheduler_op(struct hv_domain *d, struct keel_domctl_scheduler_op *op)
{
    long rc;

    if (op->cmd == KEEL_SCHED_GETINFO) {
        op->weight = d->sched_weight;
        op->cap = d->sched_cap;
        return 0;
    }
    if (op->cmd != KEEL_SCHED_PUTINFO || op->weight < 1 || op->weight > KEEL_SCHED_WEIGHT_MAX ||
        op->cap > 100 * d->max_vcpus)
        return -EINVAL;
    if ((rc = hv_cgroup_set_sched(d, op->weight, op->cap)) < 0)
        return rc;
    d->sched_weight = op->weight;
    d->sched_cap = op->cap;
    return 0;
}

/* The FLASK permission each domain control needs on its target. */
static int domctl_perm(uint32_t cmd, uint16_t *cls, uint32_t *perm)
{
    static const struct { uint32_t cmd; uint16_t cls; uint32_t perm; } map[] = {
        { KEEL_DOMCTL_PAUSEDOMAIN, SECCLASS_DOMAIN, DOMAIN__PAUSE },
        { KEEL_DOMCTL_UNPAUSEDOMAIN, SECCLASS_DOMAIN, DOMAIN__UNPAUSE },
        { KEEL_DOMCTL_GETDOMAININFO, SECCLASS_DOMAIN, DOMAIN__GETDOMAININFO },
        { KEEL_DOMCTL_MAX_MEM, SECCLASS_DOMAIN, DOMAIN__SETDOMAINMAXMEM },
        { KEEL_DOMCTL_MAX_VCPUS, SECCLASS_DOMAIN, DOMAIN__MAX_VCPUS },
        { KEEL_DOMCTL_GETVCPUCONTEXT, SECCLASS_DOMAIN, DOMAIN__GETVCPUCONTEXT },
        { KEEL_DOMCTL_SETVCPUCONTEXT, SECCLASS_DOMAIN, DOMAIN__SETVCPUCONTEXT },
        { KEEL_DOMCTL_GETVCPUINFO, SECCLASS_DOMAIN, DOMAIN__GETVCPUINFO },
        { KEEL_DOMCTL_SETDOMAINHANDLE, SECCLASS_DOMAIN, DOMAIN__SETDOMAINHANDLE },
        { KEEL_DOMCTL_SHUTDOWN, SECCLASS_DOMAIN, DOMAIN__SHUTDOWN },
        { KEEL_DOMCTL_SCHEDULER_OP, SECCLASS_DOMAIN2, DOMAIN2__SETSCHEDULER },
        { KEEL_DOMCTL_SCHED_VCPU, SECCLASS_DOMAIN2, DOMAIN2__SETSCHEDULER },
        { KEEL_DOMCTL_SETVCPUAFFINITY, SECCLASS_DOMAIN, DOMAIN__SETAFFINITY },
        { KEEL_DOMCTL_GETVCPUAFFINITY, SECCLASS_DOMAIN, DOMAIN__GETAFFINITY },
        { KEEL_DOMCTL_FOREIGN_MAP, SECCLASS_MMU, MMU__MAP_READ | MMU__MAP_WRITE },
        { KEEL_DOMCTL_CONSOLE_READ, SECCLASS_DOMAIN, DOMAIN__GETDOMAININFO },
        { KEEL_DOMCTL_SHADOW_OP, SECCLASS_SHADOW, SHADOW__LOGDIRTY },
        { KEEL_DOMCTL_GETDOMSTATE, SECCLASS_HVM, HVM__GETHVMC },
        { KEEL_DOMCTL_SETDOMSTATE, SECCLASS_HVM, HVM__SETHVMC },
        { KEEL_DOMCTL_LAZY_MEM, SECCLASS_MMU, MMU__MAP_READ | MMU__MAP_WRITE },
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (map[i].cmd == cmd) {
            *cls = map[i].cls;
            *perm = map[i].perm;
            return 0;
        }
    }
    return -ENOSYS;
}

static long domctl_on(struct hv_caller *c, struct hv_domain *d, struct keel_domctl *dc)
{
    uint16_t cls;
    uint32_t perm;
    long rc;

    if ((rc = domctl_perm(dc->cmd, &cls, &perm)) < 0)
        return rc;
    if (dc->cmd == KEEL_DOMCTL_SCHEDULER_OP && dc->u.sched.cmd == KEEL_SCHED_GETINFO)
        perm = DOMAIN__GETSCHEDULER, cls = SECCLASS_DOMAIN;
    if ((rc = hv_xsm_check(c, d, cls, perm)) < 0)
        return rc;
    switch (dc->cmd) {
    case KEEL_DOMCTL_PAUSEDOMAIN:
        return d->dead ? -EINVAL : hv_domain_pause(d);
    case KEEL_DOMCTL_UNPAUSEDOMAIN:
        return d->dead ? -EINVAL : hv_domain_unpause(d);
    case KEEL_DOMCTL_GETDOMAININFO:
        hv_domain_info(d, &dc->u.info);
        return 0;
    case KEEL_DOMCTL_MAX_MEM:
        return set_max_mem(d, dc->u.max_mem.max_memkb);
    case KEEL_DOMCTL_MAX_VCPUS:
        return dc->u.max_vcpus.max >= 1 && dc->u.max_vcpus.max <= d->max_vcpus ? 0 : -EINVAL;
    case KEEL_DOMCTL_GETVCPUCONTEXT:
        return hv_domctl_getvcpucontext(c, d, &dc->u.vcpucontext);
    case KEEL_DOMCTL_SETVCPUCONTEXT:
        return hv_domctl_setvcpucontext(c, d, &dc->u.vcpucontext);
    case KEEL_DOMCTL_GETVCPUINFO:
        if (dc->u.vcpuinfo.vcpu >= d->max_vcpus)
            return -ENOENT;
        hv_domctl_getvcpuinfo(d, &dc->u.vcpuinfo);
        return 0;
    case KEEL_DOMCTL_SETDOMAINHANDLE:
        memcpy(d->handle, dc->u.handle.handle, sizeof(d->handle));
        return 0;
    case KEEL_DOMCTL_SHUTDOWN:
        if (dc->u.shutdown.reason > KEEL_SHUTDOWN_MAX)
            return -EINVAL;
        hv_domain_shutdown(d, dc->u.shutdown.reason);
        return 0;
    case KEEL_DOMCTL_SCHEDULER_OP:
        return scheduler_op(d, &dc->u.sched);
    case KEEL_DOMCTL_SETVCPUAFFINITY:
        return hv_domctl_vcpuaffinity(d, &dc->u.affinity, true);
    case KEEL_DOMCTL_GETVCPUAFFINITY:
        return hv_domctl_vcpuaffinity(d, &dc->u.affinity, false);
    case KEEL_DOMCTL_SCHED_VCPU:         /* sched_rt.c */
        return hv_domctl_sched_vcpu(d, &dc->u.sched_vcpu);
    case KEEL_DOMCTL_FOREIGN_MAP:
        return foreign_map(c, d, dc);
    case KEEL_DOMCTL_LAZY_MEM:           /* lazymem.c */
        return hv_domctl_lazy_mem(c, d, &dc->u.lazy);
    case KEEL_DOMCTL_SHADOW_OP:
        return hv_domctl_shadow_op(c, d, &dc->u.shadow);
    case KEEL_DOMCTL_GETDOMSTATE:
        if ((rc = hv_vm_event_refuse_save(d)) < 0)
            return rc;
        return hv_domctl_getdomstate(c, d, &dc->u.domstate);
    case KEEL_DOMCTL_SETDOMSTATE:
        return hv_domctl_setdomstate(c, d, &dc->u.domstate);
    case KEEL_DOMCTL_CONSOLE_READ:
        return hv_domctl_console_read(c, d, &dc->u.console);
    default:
        return -ENOSYS;
    }
}

long hv_do_domctl(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    struct keel_domctl dc;
    struct hv_domain *d;
    long rc;

    (void)cmd;
    if ((rc = hv_arg_read(c, arg, &dc, sizeof(dc))) < 0)
        return rc;
    if (dc.interface_version != KEEL_DOMCTL_INTERFACE_VERSION)
        return -EACCES;
    d = hv_domain_get(dc.domain);
    if (!d)
        return -ESRCH;
    if (dc.cmd == KEEL_DOMCTL_VM_EVENT_OP || dc.cmd == KEEL_DOMCTL_MONITOR_OP) {
        /* vm_event.c: FLASK judges guests' attempts too (xsm.c lets them through to here) */
        if ((rc = hv_vm_event_domctl(c, d, &dc)) >= 0) {
            long w = hv_arg_write(c, arg, &dc, sizeof(dc));
            if (w < 0)
                return w;
        }
        return rc;
    }
    if (!hv_is_priv(c))
        return -EPERM;
    if (d == hv.dom0 && dc.cmd != KEEL_DOMCTL_GETDOMAININFO && dc.cmd != KEEL_DOMCTL_GETVCPUINFO)
        return -EINVAL;
    if (d == hv.dom0 && dc.cmd == KEEL_DOMCTL_GETDOMAININFO) {
        if ((rc = hv_xsm_check(c, d, SECCLASS_DOMAIN, DOMAIN__GETDOMAININFO)) < 0)
            return rc;
        hv_domain_info(d, &dc.u.info);
        return hv_arg_write(c, arg, &dc, sizeof(dc));
    }
    if ((rc = hv_xsm_target(c, d, KH_DOMCTL, dc.cmd)) < 0)
        return rc;
    if (d == hv.dom0 && (rc = hv_xsm_check(c, d, SECCLASS_DOMAIN, dc.cmd == KEEL_DOMCTL_GETVCPUINFO ?
                                           DOMAIN__GETVCPUINFO : DOMAIN__GETDOMAININFO)) < 0)
        return rc;
    if (d == hv.dom0 && dc.cmd == KEEL_DOMCTL_GETVCPUINFO) {
        if (dc.u.vcpuinfo.vcpu >= d->max_vcpus)
            return -ENOENT;
        dc.u.vcpuinfo.online = 1;
        dc.u.vcpuinfo.running = 1;
        dc.u.vcpuinfo.cpu = dc.u.vcpuinfo.vcpu;
        return hv_arg_write(c, arg, &dc, sizeof(dc));
    }
    rc = domctl_on(c, d, &dc);
    if (rc >= 0) {
        long w = hv_arg_write(c, arg, &dc, sizeof(dc));
        if (w < 0)
            return w;
    }
    return rc;
}
