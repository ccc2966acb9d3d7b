/* dispatch.c - the single entry of every hypercall, from guests and from the control socket:
 * the XSM hook first, then the family's handler. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "hv.h"
#include "keel/vm_event.h"

static long do_version(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    static const char extra[16] = "-keel";

    switch (cmd) {
    case KEEL_VERSION_VERSION:
        return KEEL_ABI_VERSION;
    case KEEL_VERSION_EXTRAVERSION:
        return hv_arg_write(c, arg, extra, sizeof(extra));
    default:
        return -ENOSYS;
    }
}

static int canonical(uint64_t va)
{
    return va < 0x0000800000000000ULL;
}

static long do_set_callbacks(struct hv_caller *c, uint64_t arg)
{
    struct keel_callbacks cb;
    int rc;

    if (hv_is_priv(c))
        return -EINVAL;
    if ((rc = hv_arg_read(c, arg, &cb, sizeof(cb))) < 0)
        return rc;
    if (cb.failsafe_address)
        return -EINVAL;
    if (cb.event_address < KEEL_GUEST_BASE || cb.event_address - KEEL_GUEST_BASE >= c->d->mem_size)
        return -EINVAL;
    if ((rc = (int)hv_vm_event_reg(c, KEEL_VM_EVENT_REG_CALLBACK, c->v->id, 0, cb.event_address)))
        return rc;
    c->action = HV_ACT_SET_CALLBACK;
    c->action_data = cb.event_address;
    return 0;
}

static long do_set_segment_base(struct hv_caller *c, uint64_t which, uint64_t base)
{
    long rc;

    if (hv_is_priv(c))
        return -EINVAL;
    if (!canonical(base))
        return -EINVAL;
    if (which <= KEEL_SEGBASE_GS &&
        (rc = hv_vm_event_reg(c, which == KEEL_SEGBASE_FS ? KEEL_VM_EVENT_REG_FS_BASE :
                              KEEL_VM_EVENT_REG_GS_BASE, c->v->id, 0, base)))
        return rc;
    switch (which) {
    case KEEL_SEGBASE_FS:
        c->action = HV_ACT_SET_FS;
        break;
    case KEEL_SEGBASE_GS:
        c->action = HV_ACT_SET_GS;
        break;
    default:
        return -EINVAL;
    }
    c->action_data = base;
    return 0;
}

static long do_set_timer_op(struct hv_caller *c, uint64_t timeout)
{
    long rc;

    if (hv_is_priv(c))
        return -EINVAL;
    if ((rc = hv_vm_event_reg(c, KEEL_VM_EVENT_REG_SINGLESHOT, c->v->id, c->v->singleshot, timeout)))
        return rc;
    c->v->singleshot = timeout;
    return 0;
}

long hv_hypercall(struct hv_caller *c, uint32_t op, uint64_t cmd, uint64_t arg)
{
    int rc = hv_xsm_hypercall(c, op, cmd);

    if (rc < 0)
        return rc;
    if (c->d->vm_event)
        hv_vm_event_note(c, op, cmd, arg);
    switch (op) {
    case HV_OP_TRAP:
        return hv_vm_event_trap(c, cmd);
    case HV_OP_MEMFAULT:
        return hv_mem_access_fault(c, cmd, arg);
    case HV_OP_MA_STEPPED:
        return hv_mem_access_stepped(c);
    case KH_HVM_OP:
        return hv_vm_event_hvm_op(c, cmd, arg);
    case KH_XEN_VERSION:
        return do_version(c, cmd, arg);
    case KH_CONSOLE_IO:
        return hv_do_console_io(c, cmd, arg);
    case KH_SCHED_OP:
        return hv_do_sched_op(c, cmd, arg);
    case KH_VCPU_OP:
        return hv_do_vcpu_op(c, cmd, arg);
    case KH_EVENT_CHANNEL_OP:
        return hv_do_evtchn_op(c, cmd, arg);
    case KH_MEMORY_OP:
        return hv_do_memory_op(c, cmd, arg);
    case KH_DOMCTL:
        return hv_do_domctl(c, cmd, arg);
    case KH_SYSCTL:
        return hv_do_sysctl(c, cmd, arg);
    case KH_SET_CALLBACKS:
        return do_set_callbacks(c, arg);
    case KH_SET_SEGMENT_BASE:
        return do_set_segment_base(c, cmd, arg);
    case KH_SET_TIMER_OP:
        return do_set_timer_op(c, arg);
    case KH_XSM_OP:
        return hv_do_xsm_op(c, cmd, arg);
    default:
        return -ENOSYS;
    }
}
