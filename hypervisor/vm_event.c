/* vm_event.c - introspection of a running domain by one monitoring process (keel/vm_event.h).
 *
 * A Domain-0 connection enables monitoring of a domain: it gets a ring memory object (which the
 * guest never sees), an eventfd the core writes when it publishes requests, and the domain's
 * control memfd (whose doorbell the consumer rings after it publishes responses). Events:
 *   - software breakpoint and single-step: the stub's SIGTRAP handler posts an HV_OP_TRAP
 *     request with the trapped registers and waits in the handler for the answer;
 *   - privileged vCPU state writes (set_callbacks, set_segment_base, timers, vCPU up/down/
 *     initialise): the handlers call hv_vm_event_reg() before anything changes; the vCPU waits
 *     in its hypercall; the write is applied after the answer by running the hypercall again,
 *     and only if it still writes the value the consumer saw (else it is a new event);
 *   - guest request (KH_HVM_OP): the vCPU waits in its hypercall.
 * Only the raising vCPU waits. A vCPU whose event finds the ring full is queued and posted when
 * a response frees a slot: nothing is dropped. Everything here runs under hv.lock except
 * hv_vm_event_drain()'s first look and hv_vm_event_busy(), which read atomics only; the state
 * (struct hv_vm_event) lives from the first enable to the domain's end, so those looks never
 * meet freed memory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv.h"
#include "keel-flask-av.h"
#include "keel/vm_event.h"

enum { VME_IDLE = 0, VME_QUEUED, VME_POSTED };
enum { VME_TRAP = 1, VME_HCALL };

struct hv_vme_vcpu {
    uint8_t state;                     /* VME_* */
    uint8_t kind;                      /* what waits: a trap or a hypercall */
    bool step;                         /* single-step events on */
    bool approved;                     /* running an approved write again */
    uint32_t reg_index, reg_vcpu;      /* the approved write */
    uint64_t reg_new;
    uint32_t op;                       /* the hypercall being made (hv_vm_event_note) */
    uint64_t cmd, arg;
    uint64_t dr[4], dr7;               /* the consumer's debug registers (debugreg.c) */
    int dbg_fd[4];
    struct keel_vm_event req;
};

struct hv_vm_event {
    bool active;                       /* atomic: a consumer holds the ring */
    struct hv_conn *conn;
    int ring_fd, efd;
    struct keel_vm_event_sring *ring;
    uint32_t req_prod, rsp_cons;       /* private indices (rsp_cons atomic for the runner) */
    uint32_t waiting;                  /* atomic: vCPUs queued or posted */
    bool bp, guest_req, dbg;
    uint32_t reg_on, reg_onchange;     /* bit per KEEL_VM_EVENT_REG_* */
    uint32_t max_vcpus;
    struct hv_vme_vcpu v[];
};

static struct hv_vm_event *vme_of(struct hv_domain *d)
{
    struct hv_vm_event *e = d->vm_event;

    return e && e->active ? e : NULL;
}

static struct hv_vcpu_slot *slot_of(struct hv_domain *d, uint32_t vcpu)
{
    return HV_SLOT(d->shared, vcpu);
}

static void notify_consumer(struct hv_vm_event *e, uint32_t old)
{
    uint32_t ev;
    uint64_t one = 1;

    __atomic_store_n(&e->ring->req_prod, e->req_prod, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    ev = __atomic_load_n(&e->ring->req_event, __ATOMIC_RELAXED);
    if ((uint32_t)(e->req_prod - ev) < (uint32_t)(e->req_prod - old))
        (void)!write(e->efd, &one, sizeof(one));
}

/* Post queued requests while the ring has room; one eventfd write per batch at most. */
static void post_queued(struct hv_vm_event *e)
{
    uint32_t old = e->req_prod;

    for (uint32_t i = 0; i < e->max_vcpus; i++) {
        struct hv_vme_vcpu *ev = &e->v[i];
        if (ev->state != VME_QUEUED)
            continue;
        if (e->req_prod - e->rsp_cons >= KEEL_VM_EVENT_RING_SIZE)
            break;
        memcpy(&e->ring->ring[e->req_prod % KEEL_VM_EVENT_RING_SIZE], &ev->req, sizeof(ev->req));
        e->req_prod++;
        ev->state = VME_POSTED;
    }
    if (e->req_prod != old)
        notify_consumer(e, old);
}

/* Queue vCPU v's request (filled in ev->req) and post what fits. */
static long raise_event(struct hv_vm_event *e, struct hv_vcpu *v, uint8_t kind, uint32_t reason)
{
    struct hv_vme_vcpu *ev = &e->v[v->id];

    ev->req.version = KEEL_VM_EVENT_INTERFACE_VERSION;
    ev->req.flags = KEEL_VM_EVENT_FLAG_VCPU_PAUSED;
    ev->req.reason = reason;
    ev->req.vcpu_id = v->id;
    ev->kind = kind;
    ev->state = VME_QUEUED;
    __atomic_add_fetch(&e->waiting, 1, __ATOMIC_SEQ_CST);
    post_queued(e);
    return HV_DEFER;
}

static void regs_to_event(const struct keel_cpu_regs *r, struct keel_vm_event_regs_x86 *x)
{
    memset(x, 0, sizeof(*x));
    x->rax = r->rax; x->rcx = r->rcx; x->rdx = r->rdx; x->rbx = r->rbx;
    x->rsp = r->rsp; x->rbp = r->rbp; x->rsi = r->rsi; x->rdi = r->rdi;
    x->r8 = r->r8; x->r9 = r->r9; x->r10 = r->r10; x->r11 = r->r11;
    x->r12 = r->r12; x->r13 = r->r13; x->r14 = r->r14; x->r15 = r->r15;
    x->rflags = r->rflags; x->rip = r->rip;
    x->fs_base = r->fs_base; x->gs_base = r->gs_base;
    x->vmtrace_pos = ~0ULL;
}

static int event_to_regs(const struct keel_vm_event_regs_x86 *x, struct keel_cpu_regs *r)
{
    const uint64_t lim = 0x0000800000000000ULL;

    if (x->rip >= lim || x->rsp >= lim || x->fs_base >= lim || x->gs_base >= lim)
        return -EINVAL;
    r->rax = x->rax; r->rcx = x->rcx; r->rdx = x->rdx; r->rbx = x->rbx;
    r->rsp = x->rsp; r->rbp = x->rbp; r->rsi = x->rsi; r->rdi = x->rdi;
    r->r8 = x->r8; r->r9 = x->r9; r->r10 = x->r10; r->r11 = x->r11;
    r->r12 = x->r12; r->r13 = x->r13; r->r14 = x->r14; r->r15 = x->r15;
    r->rflags = x->rflags; r->rip = x->rip;
    r->fs_base = x->fs_base; r->gs_base = x->gs_base;
    return 0;
}

static uint64_t gfn_of(struct hv_domain *d, uint64_t va)
{
    return va >= KEEL_GUEST_BASE && va - KEEL_GUEST_BASE < d->mem_size ?
           (va - KEEL_GUEST_BASE) >> KEEL_PAGE_SHIFT : ~0ULL;
}

/* ---- event sources ---- */

void hv_vm_event_note(struct hv_caller *c, uint32_t op, uint64_t cmd, uint64_t arg)
{
    struct hv_vm_event *e = vme_of(c->d);

    if (e && c->v) {
        e->v[c->v->id].op = op;
        e->v[c->v->id].cmd = cmd;
        e->v[c->v->id].arg = arg;
    }
}

/* A consumer's hardware breakpoint fired (bits: B0-B3). Without debug exception events the
 * guest runs on: the breakpoint was never the guest's. */
static long debug_trap(struct hv_domain *d, struct hv_vm_event *e, struct hv_vcpu *v,
                       const struct keel_cpu_regs *r, uint32_t bits)
{
    struct hv_vme_vcpu *ev;

    if (!e || !e->dbg || !bits || bits > 0xf)
        return 0;
    ev = &e->v[v->id];
    memset(&ev->req, 0, sizeof(ev->req));
    regs_to_event(r, &ev->req.data.regs.x86);
    ev->req.data.regs.x86.dr6 = 0xffff0ff0u | bits;
    ev->req.data.regs.x86.dr7 = ev->dr7;
    ev->req.u.debug_exception.gfn = gfn_of(d, r->rip);
    ev->req.u.debug_exception.pending_dbg = bits;
    ev->req.u.debug_exception.type = 3;   /* X86_EVENT_TYPE_HW_EXCEPTION */
    return raise_event(e, v, VME_TRAP, KEEL_VM_EVENT_REASON_DEBUG_EXCEPTION);
}

/* HV_OP_TRAP from the stub's SIGTRAP handler: trapno 3 breakpoint, 1 single-step,
 * HV_TRAP_DEBUG | B0-B3 a consumer's hardware breakpoint. */
long hv_vm_event_trap(struct hv_caller *c, uint64_t trapno)
{
    struct hv_domain *d = c->d;
    struct hv_vm_event *e = vme_of(d);
    struct keel_cpu_regs r;
    struct hv_vme_vcpu *ev;
    uint8_t insn = 0;

    if (hv_is_priv(c) || !c->v)
        return -EINVAL;
    memcpy(&r, &slot_of(d, c->v->id)->ev_regs, sizeof(r));
    if (trapno & HV_TRAP_DEBUG)
        return debug_trap(d, e, c->v, &r, (uint32_t)(trapno & ~(uint64_t)HV_TRAP_DEBUG));
    if (trapno == 1) {                    /* a step: reported only while stepping is on */
        if (!e || !e->v[c->v->id].step)
            return 0;                     /* a stale trap flag: the stub clears it */
        ev = &e->v[c->v->id];
        memset(&ev->req, 0, sizeof(ev->req));
        regs_to_event(&r, &ev->req.data.regs.x86);
        ev->req.u.singlestep.gfn = gfn_of(d, r.rip);
        return raise_event(e, c->v, VME_TRAP, KEEL_VM_EVENT_REASON_SINGLESTEP);
    }
    if (trapno != 3 || !e || !e->bp)
        return -ENOENT;                   /* nobody handles the guest's breakpoint */
    ev = &e->v[c->v->id];
    memset(&ev->req, 0, sizeof(ev->req));
    if (hv_copy_from_guest(d, r.rip - 1, &insn, 1) < 0 || insn != 0xcc)
        insn = 0;                         /* not one byte: `int $3` (cd 03) */
    ev->req.u.software_breakpoint.insn_length = insn ? 1 : 2;
    r.rip -= ev->req.u.software_breakpoint.insn_length;
    regs_to_event(&r, &ev->req.data.regs.x86);
    ev->req.u.software_breakpoint.gfn = gfn_of(d, r.rip);
    ev->req.u.software_breakpoint.type = 3; /* HVMOP_TRAP_sw_exc */
    return raise_event(e, c->v, VME_TRAP, KEEL_VM_EVENT_REASON_SOFTWARE_BREAKPOINT);
}

/* HV_OP_MEMFAULT (mem_access.c): an access frame gfn's access forbids; registers in r. */
long hv_vm_event_raise_mem(struct hv_caller *c, const struct keel_cpu_regs *r, uint64_t gfn,
                           uint64_t gla, uint32_t flags)
{
    struct hv_vm_event *e = vme_of(c->d);
    struct hv_vme_vcpu *ev;

    if (!e || !c->v)
        return -ENOENT;
    ev = &e->v[c->v->id];
    memset(&ev->req, 0, sizeof(ev->req));
    regs_to_event(r, &ev->req.data.regs.x86);
    ev->req.u.mem_access.gfn = gfn;
    ev->req.u.mem_access.offset = gla & (KEEL_PAGE_SIZE - 1);
    ev->req.u.mem_access.gla = gla;
    ev->req.u.mem_access.flags = flags;
    return raise_event(e, c->v, VME_TRAP, KEEL_VM_EVENT_REASON_MEM_ACCESS);
}

bool hv_vm_event_active(struct hv_domain *d)
{
    return vme_of(d) != NULL;
}

/* KH_HVM_OP: only the guest request; 0 whether or not a monitor listens. */
long hv_vm_event_hvm_op(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    struct hv_vm_event *e = vme_of(c->d);
    struct hv_vme_vcpu *ev;
    struct keel_cpu_regs r;
    struct hv_vcpu_slot *s;

    if (hv_is_priv(c) || cmd != KEEL_HVMOP_GUEST_REQUEST_VM_EVENT || arg)
        return hv_is_priv(c) || cmd != KEEL_HVMOP_GUEST_REQUEST_VM_EVENT ? -ENOSYS : -EINVAL;
    if (!e || !e->guest_req)
        return 0;
    ev = &e->v[c->v->id];
    s = slot_of(c->d, c->v->id);
    memset(&ev->req, 0, sizeof(ev->req));
    memcpy(&r, &s->entry, sizeof(r));     /* callee-saved, arguments, rsp at the call */
    r.rax = KH_HVM_OP;
    if (hv_copy_from_guest(c->d, r.rsp, &r.rip, sizeof(r.rip)) < 0)
        r.rip = 0;                        /* the return address */
    r.fs_base = s->cur_fs;
    r.gs_base = s->cur_gs;
    regs_to_event(&r, &ev->req.data.regs.x86);
    return raise_event(e, c->v, VME_HCALL, KEEL_VM_EVENT_REASON_GUEST_REQUEST);
}

/* A handler is about to change privileged state `index` of vCPU `vcpu` from old to new. 0: go
 * on; HV_DEFER: the calling vCPU waits for the monitor's answer. */
long hv_vm_event_reg(struct hv_caller *c, uint32_t index, uint32_t vcpu, uint64_t old, uint64_t new)
{
    struct hv_vm_event *e = vme_of(c->d);
    struct hv_vme_vcpu *ev;
    struct hv_vcpu_slot *s;
    struct keel_cpu_regs r;

    if (!e || !c->v || hv_is_priv(c) || !(e->reg_on & (1u << index)))
        return 0;
    ev = &e->v[c->v->id];
    if (ev->approved) {
        ev->approved = false;
        if (ev->reg_index == index && ev->reg_vcpu == vcpu && ev->reg_new == new)
            return 0;                     /* what the monitor saw and allowed */
    }
    s = slot_of(c->d, c->v->id);
    if (index == KEEL_VM_EVENT_REG_CALLBACK)
        old = s->cur_callback;
    else if (index == KEEL_VM_EVENT_REG_FS_BASE)
        old = s->cur_fs;
    else if (index == KEEL_VM_EVENT_REG_GS_BASE)
        old = s->cur_gs;
    if ((e->reg_onchange & (1u << index)) && old == new)
        return 0;
    memset(&ev->req, 0, sizeof(ev->req));
    memcpy(&r, &s->entry, sizeof(r));
    r.rax = ev->op;
    if (hv_copy_from_guest(c->d, r.rsp, &r.rip, sizeof(r.rip)) < 0)
        r.rip = 0;
    r.fs_base = s->cur_fs;
    r.gs_base = s->cur_gs;
    regs_to_event(&r, &ev->req.data.regs.x86);
    ev->req.u.write_ctrlreg.index = index;
    ev->req.u.write_ctrlreg.vcpu = vcpu;
    ev->req.u.write_ctrlreg.new_value = new;
    ev->req.u.write_ctrlreg.old_value = old;
    ev->reg_index = index;
    ev->reg_vcpu = vcpu;
    ev->reg_new = new;
    return raise_event(e, c->v, VME_HCALL, KEEL_VM_EVENT_REASON_WRITE_CTRLREG);
}

/* ---- answers ---- */

static void set_step(struct hv_domain *d, struct hv_vm_event *e, uint32_t vcpu, bool on)
{
    e->v[vcpu].step = on;
    __atomic_store_n(&slot_of(d, vcpu)->vm_step, on ? 1u : 0u, __ATOMIC_SEQ_CST);
}

/* Make running vCPUs take their new trap flag now: a pause and a release pass each vCPU through
 * its pause handler, which sets the flag as vm_step says. */
static void apply_steps(struct hv_domain *d)
{
    if (!d->dead && hv_domain_pause(d) == 0)
        hv_domain_unpause(d);
}

/* Let vCPU v go: allow (deny false) or refuse its event; rsp NULL = no monitor any more. */
static void release(struct hv_domain *d, struct hv_vm_event *e, struct hv_vcpu *v,
                    const struct keel_vm_event *rsp)
{
    struct hv_vme_vcpu *ev = &e->v[v->id];
    bool deny = rsp && (rsp->flags & KEEL_VM_EVENT_FLAG_DENY);
    uint32_t data = 0;

    ev->state = VME_IDLE;
    __atomic_sub_fetch(&e->waiting, 1, __ATOMIC_SEQ_CST);
    if (!v->online || !v->started)
        return;                           /* taken down meanwhile: nothing waits any more */
    if (ev->kind == VME_TRAP) {
        struct keel_cpu_regs r;
        if (rsp && (rsp->flags & KEEL_VM_EVENT_FLAG_SET_REGISTERS)) {
            memcpy(&r, &slot_of(d, v->id)->ev_regs, sizeof(r));
            if (event_to_regs(&rsp->data.regs.x86, &r) == 0) {
                memcpy(&slot_of(d, v->id)->ev_regs, &r, sizeof(r));
                data |= HV_VMEV_LOAD_REGS;
            }
        }
        if (ev->req.reason == KEEL_VM_EVENT_REASON_MEM_ACCESS)
            hv_mem_access_answer(d, v, &ev->req, rsp, data);
        else
            hv_vcpu_respond(d, v, 0, HV_ACT_VM_EVENT, data);
        return;
    }
    if (ev->req.reason == KEEL_VM_EVENT_REASON_GUEST_REQUEST) {
        hv_vcpu_respond(d, v, 0, HV_ACT_NONE, 0);
        return;
    }
    if (deny) {                           /* the write never happens */
        hv_vcpu_respond(d, v, -EPERM, HV_ACT_NONE, 0);
        return;
    }
    {
        struct hv_caller c = { .d = d, .v = v };
        long rc;
        ev->approved = true;
        rc = hv_hypercall(&c, ev->op, ev->cmd, ev->arg);
        ev->approved = false;
        if (rc == HV_DEFER)               /* its argument changed meanwhile: a new event */
            return;
        hv_vcpu_respond(d, v, rc, c.action, c.action_data);
    }
}

static void take_response(struct hv_domain *d, struct hv_vm_event *e,
                          const struct keel_vm_event *rsp, bool *steps)
{
    struct hv_vme_vcpu *ev;
    struct hv_vcpu *v;

    if (rsp->version != KEEL_VM_EVENT_INTERFACE_VERSION || rsp->vcpu_id >= d->max_vcpus)
        return;                           /* not an answer to anything */
    v = &d->vcpus[rsp->vcpu_id];
    ev = &e->v[v->id];
    if (ev->state != VME_POSTED)
        return;
    if (rsp->flags & KEEL_VM_EVENT_FLAG_TOGGLE_SINGLESTEP) {
        set_step(d, e, v->id, !ev->step);
        if (ev->kind != VME_TRAP)
            *steps = true;                /* a trap's answer sets the flag itself */
    }
    release(d, e, v, rsp);
}

/* Take every published response (lock held). Returns how many. */
static int drain_locked(struct hv_domain *d, struct hv_vm_event *e)
{
    uint32_t prod = __atomic_load_n(&e->ring->rsp_prod, __ATOMIC_ACQUIRE), n = 0;
    bool steps = false;

    if (prod - e->rsp_cons > e->req_prod - e->rsp_cons) {
        hv_printk("Domain %u: vm_event consumer published responses it was never asked for "
                  "(rsp_prod %u, %u requests out); monitoring ended", d->domid, prod,
                  e->req_prod - e->rsp_cons);
        hv_vm_event_teardown(d, true);
        return 1;
    }
    hv_evtchn_defer_begin();
    while (e->rsp_cons != prod) {
        struct keel_vm_event rsp;
        memcpy(&rsp, &e->ring->ring[e->rsp_cons % KEEL_VM_EVENT_RING_SIZE], sizeof(rsp));
        __atomic_store_n(&e->rsp_cons, e->rsp_cons + 1, __ATOMIC_RELEASE);
        take_response(d, e, &rsp, &steps);
        n++;
        if (!vme_of(d))
            break;
    }
    if (vme_of(d))
        post_queued(e);
    if (steps)
        apply_steps(d);
    hv_evtchn_defer_flush();
    return (int)n;
}

/* Runner, without the lock: has the consumer published responses not taken yet? */
bool hv_vm_event_drain_due(struct hv_domain *d)
{
    struct hv_vm_event *e = __atomic_load_n(&d->vm_event, __ATOMIC_ACQUIRE);

    return e && __atomic_load_n(&e->active, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&e->ring->rsp_prod, __ATOMIC_ACQUIRE) !=
               __atomic_load_n(&e->rsp_cons, __ATOMIC_ACQUIRE);
}

/* Runner: take responses if the consumer published any. */
int hv_vm_event_drain(struct hv_domain *d)
{
    struct hv_vm_event *e = __atomic_load_n(&d->vm_event, __ATOMIC_ACQUIRE);
    int n = 0;

    if (!hv_vm_event_drain_due(d))
        return 0;
    pthread_mutex_lock(&hv.lock);
    if (!d->destroying && !d->dead && vme_of(d))
        n = drain_locked(d, e);
    pthread_mutex_unlock(&hv.lock);
    return n;
}

/* Runner: a vCPU waits for the consumer (keep looking for its answer instead of sleeping). */
bool hv_vm_event_busy(struct hv_domain *d)
{
    struct hv_vm_event *e = __atomic_load_n(&d->vm_event, __ATOMIC_ACQUIRE);

    return e && __atomic_load_n(&e->active, __ATOMIC_RELAXED) &&
           __atomic_load_n(&e->waiting, __ATOMIC_RELAXED);
}

/* ---- enable, disable, teardown ---- */

/* End monitoring: every restriction lifted, every waiting vCPU let go as if allowed (resume:
 * false only when the domain is going away). Lock held. */
void hv_vm_event_teardown(struct hv_domain *d, bool resume)
{
    struct hv_vm_event *e = vme_of(d);
    bool stepping = false;

    if (!e)
        return;
    __atomic_store_n(&e->active, false, __ATOMIC_SEQ_CST);
    e->bp = e->guest_req = e->dbg = false;
    e->reg_on = e->reg_onchange = 0;
    for (uint32_t i = 0; i < e->max_vcpus; i++) {
        hv_debugreg_disarm(e->v[i].dbg_fd);   /* before any vCPU resumes */
        memset(e->v[i].dr, 0, sizeof(e->v[i].dr));
        e->v[i].dr7 = 0;
        stepping |= e->v[i].step;
        set_step(d, e, i, false);
        if (e->v[i].state != VME_IDLE && resume && !d->dead)
            release(d, e, &d->vcpus[i], NULL);
        e->v[i].state = VME_IDLE;
    }
    __atomic_store_n(&e->waiting, 0, __ATOMIC_SEQ_CST);
    if (stepping && resume)
        apply_steps(d);
    if (resume && !d->dead)
        hv_mem_access_reset(d);           /* every frame rwx again (mem_access.c) */
    close(e->efd);
    e->efd = -1;
    e->conn = NULL;
    hv_printk("Domain %u: vm_event monitoring ended", d->domid);
}

/* Domain destroyed (runner joined): free everything. */
void hv_vm_event_free(struct hv_domain *d)
{
    struct hv_vm_event *e = d->vm_event;

    if (!e)
        return;
    for (uint32_t i = 0; i < e->max_vcpus; i++)
        hv_debugreg_disarm(e->v[i].dbg_fd);
    if (e->efd >= 0)
        close(e->efd);
    if (e->ring)
        munmap(e->ring, KEEL_VM_EVENT_RING_BYTES);
    if (e->ring_fd >= 0)
        close(e->ring_fd);
    free(e);
    d->vm_event = NULL;
}

void hv_vm_event_conn_closed(struct hv_conn *conn)
{
    for (uint32_t i = 0; i < HV_MAX_DOMAINS; i++) {
        struct hv_domain *d = hv.domains[i];
        struct hv_vm_event *e = d ? vme_of(d) : NULL;
        if (e && e->conn == conn)
            hv_vm_event_teardown(d, true);
    }
}

static struct hv_vm_event *vme_alloc(struct hv_domain *d)
{
    struct hv_vm_event *e = d->vm_event;

    if (e)
        return e;
    e = calloc(1, sizeof(*e) + d->max_vcpus * sizeof(e->v[0]));
    if (!e)
        return NULL;
    e->max_vcpus = d->max_vcpus;
    e->efd = -1;
    for (uint32_t i = 0; i < e->max_vcpus; i++)
        for (int n = 0; n < 4; n++)
            e->v[i].dbg_fd[n] = -1;
    e->ring_fd = memfd_create("keel-vm-event", MFD_CLOEXEC);
    if (e->ring_fd < 0 || ftruncate(e->ring_fd, KEEL_VM_EVENT_RING_BYTES) < 0 ||
        (e->ring = mmap(NULL, KEEL_VM_EVENT_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
                        e->ring_fd, 0)) == MAP_FAILED) {
        if (e->ring_fd >= 0)
            close(e->ring_fd);
        free(e);
        return NULL;
    }
    __atomic_store_n(&d->vm_event, e, __ATOMIC_RELEASE);
    return e;
}

static int pass_fd(struct hv_caller *c, int fd)
{
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

    if (dup < 0)
        return -errno;
    c->fds[c->nfds++] = dup;
    return 0;
}

static long vm_event_enable(struct hv_caller *c, struct hv_domain *d,
                            struct keel_domctl_vm_event_op *op)
{
    struct hv_vm_event *e;
    int rc;

    if (op->mode != KEEL_VM_EVENT_MODE_MONITOR)
        return -EOPNOTSUPP;
    if (vme_of(d))
        return -EBUSY;                    /* one consumer per domain */
    if (!c->conn || c->nfds > 1 || d->dead)
        return -EINVAL;
    if (!(e = vme_alloc(d)))
        return -ENOMEM;
    memset(e->ring, 0, KEEL_VM_EVENT_RING_BYTES);
    e->req_prod = 0;
    __atomic_store_n(&e->rsp_cons, 0, __ATOMIC_RELEASE);
    e->ring->req_event = 1;
    e->ring->rsp_event = 1;
    if ((e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return -errno;
    if ((rc = pass_fd(c, e->ring_fd)) < 0 || (rc = pass_fd(c, e->efd)) < 0 ||
        (rc = pass_fd(c, d->shared_fd)) < 0) {
        close(e->efd);
        e->efd = -1;
        return rc;
    }
    e->conn = c->conn;
    e->bp = e->guest_req = e->dbg = false;
    e->reg_on = e->reg_onchange = 0;
    __atomic_store_n(&e->waiting, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&e->active, true, __ATOMIC_SEQ_CST);
    op->version = KEEL_VM_EVENT_INTERFACE_VERSION;
    op->ring_size = KEEL_VM_EVENT_RING_SIZE;
    op->ring_bytes = KEEL_VM_EVENT_RING_BYTES;
    hv_printk("Domain %u: vm_event monitoring started", d->domid);
    return 0;
}

static long vm_event_op(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_vm_event_op *op)
{
    struct hv_vm_event *e = vme_of(d);

    switch (op->op) {
    case KEEL_VM_EVENT_OP_ENABLE:
        return vm_event_enable(c, d, op);
    case KEEL_VM_EVENT_OP_DISABLE:
        if (!e || e->conn != c->conn)
            return -ENOENT;
        hv_vm_event_teardown(d, true);
        return 0;
    case KEEL_VM_EVENT_OP_RESUME:
        if (!e || e->conn != c->conn)
            return -ENOENT;
        drain_locked(d, e);
        return 0;
    case KEEL_VM_EVENT_OP_GET_VERSION:
        op->version = KEEL_VM_EVENT_INTERFACE_VERSION;
        return KEEL_VM_EVENT_INTERFACE_VERSION;
    default:
        return -EOPNOTSUPP;
    }
}

#define CAPS ((1ULL << KEEL_MONITOR_EVENT_WRITE_CTRLREG) | (1ULL << KEEL_MONITOR_EVENT_SINGLESTEP) | \
              (1ULL << KEEL_MONITOR_EVENT_SOFTWARE_BREAKPOINT) | (1ULL << KEEL_MONITOR_EVENT_GUEST_REQUEST) | \
              (1ULL << KEEL_MONITOR_EVENT_DEBUG_EXCEPTION) | (1ULL << KEEL_MONITOR_CAP_MEM_ACCESS))

/* KEEL_MONITOR_OP_SET/GET_DEBUGREGS: the consumer's breakpoints on one vCPU (debugreg.c). */
static long debugreg_op(struct hv_domain *d, struct hv_vm_event *e, struct keel_domctl_debugreg_op *op)
{
    struct hv_vme_vcpu *ev;
    int fd[4] = { -1, -1, -1, -1 };
    long rc;

    if (op->vcpu >= e->max_vcpus || op->vcpu >= d->max_vcpus)
        return -EINVAL;
    ev = &e->v[op->vcpu];
    if (op->op == KEEL_MONITOR_OP_GET_DEBUGREGS) {
        memcpy(op->dr, ev->dr, sizeof(op->dr));
        op->dr7 = ev->dr7;
        return 0;
    }
    if ((rc = hv_debugreg_check(op->dr, op->dr7)) < 0)
        return rc;
    if (op->dr7 && d->vcpus[op->vcpu].tid <= 0)
        return -EBUSY;                    /* the vCPU has no thread yet (not brought up) */
    if (op->dr7 && (rc = hv_debugreg_arm(d->domid, d->vcpus[op->vcpu].tid, op->dr, op->dr7,
                                         fd)) < 0)
        return rc;
    hv_debugreg_disarm(ev->dbg_fd);
    memcpy(ev->dbg_fd, fd, sizeof(fd));
    memcpy(ev->dr, op->dr, sizeof(ev->dr));
    ev->dr7 = op->dr7;
    return 0;
}

static long monitor_op(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_monitor_op *op)
{
    struct hv_vm_event *e = vme_of(d);
    bool on = op->op == KEEL_MONITOR_OP_ENABLE;

    if (op->op == KEEL_MONITOR_OP_GET_CAPABILITIES) {
        op->capabilities = CAPS;
        return 0;
    }
    if (op->op != KEEL_MONITOR_OP_ENABLE && op->op != KEEL_MONITOR_OP_DISABLE)
        return -EOPNOTSUPP;
    if (!e || e->conn != c->conn)
        return -ENOENT;                   /* enable the ring first */
    switch (op->event) {
    case KEEL_MONITOR_EVENT_SOFTWARE_BREAKPOINT:
        e->bp = on;
        return 0;
    case KEEL_MONITOR_EVENT_GUEST_REQUEST:
        e->guest_req = on;
        return 0;
    case KEEL_MONITOR_EVENT_DEBUG_EXCEPTION:
        e->dbg = on;
        return 0;
    case KEEL_MONITOR_EVENT_SINGLESTEP:
        for (uint32_t i = 0; i < e->max_vcpus; i++)
            set_step(d, e, i, on);
        apply_steps(d);
        return 0;
    case KEEL_MONITOR_EVENT_WRITE_CTRLREG:
        if (op->index >= KEEL_VM_EVENT_NR_REGS)
            return -EINVAL;
        e->reg_on = on ? e->reg_on | (1u << op->index) : e->reg_on & ~(1u << op->index);
        e->reg_onchange = on && op->onchangeonly ? e->reg_onchange | (1u << op->index)
                                                 : e->reg_onchange & ~(1u << op->index);
        return 0;
    default:
        return -EOPNOTSUPP;               /* CPUID: this host cannot trap it (see README) */
    }
}

static uint32_t monitor_opcode(const struct keel_domctl *dc)
{
    uint32_t op;

    memcpy(&op, dc->u.pad, sizeof(op));   /* the first word of every monitor op structure */
    return op;
}

/* Memory access and debug registers: the consumer's own (as Xen ties them to the ring), lifted
 * when its monitoring ends. */
static long consumer_op(struct hv_caller *c, struct hv_domain *d, struct keel_domctl *dc)
{
    struct hv_vm_event *e = vme_of(d);
    union { struct keel_domctl_mem_access_op ma; struct keel_domctl_debugreg_op dr; } op;
    long rc;

    if (!e || e->conn != c->conn)
        return -ENOENT;
    memcpy(&op, dc->u.pad, sizeof(op));
    if (monitor_opcode(dc) <= KEEL_MONITOR_OP_GET_MEM_ACCESS)
        rc = hv_mem_access_op(d, &op.ma);
    else
        rc = debugreg_op(d, e, &op.dr);
    memcpy(dc->u.pad, &op, sizeof(op));
    return rc;
}

/* KEEL_DOMCTL_VM_EVENT_OP / KEEL_DOMCTL_MONITOR_OP. FLASK first (domain2 vm_event on the target),
 * so a guest's attempt is judged and audited by the policy; then only a Domain-0 connection,
 * which can hold the ring, may go on. */
long hv_vm_event_domctl(struct hv_caller *c, struct hv_domain *d, struct keel_domctl *dc)
{
    long rc;

    if ((rc = hv_xsm_check(c, d, SECCLASS_DOMAIN2, DOMAIN2__VM_EVENT)) < 0)
        return rc;
    if (!hv_is_priv(c))
        return -EPERM;
    if (d == hv.dom0 || d->destroying)
        return -EINVAL;
    if (dc->cmd == KEEL_DOMCTL_VM_EVENT_OP) {
        struct keel_domctl_vm_event_op op;
        memcpy(&op, dc->u.pad, sizeof(op));
        rc = vm_event_op(c, d, &op);
        memcpy(dc->u.pad, &op, sizeof(op));
    } else if (monitor_opcode(dc) >= KEEL_MONITOR_OP_SET_MEM_ACCESS &&
               monitor_opcode(dc) <= KEEL_MONITOR_OP_GET_DEBUGREGS) {
        rc = consumer_op(c, d, dc);
    } else {
        struct keel_domctl_monitor_op op;
        memcpy(&op, dc->u.pad, sizeof(op));
        rc = monitor_op(c, d, &op);
        memcpy(dc->u.pad, &op, sizeof(op));
    }
    return rc;
}

/* Save and migration of a monitored domain are refused: the consumer's ring, its waiting vCPUs
 * and the stepping state cannot follow it to another host. */
long hv_vm_event_refuse_save(struct hv_domain *d)
{
    if (!vme_of(d))
        return 0;
    hv_printk("Domain %u is monitored through vm_event: saving or migrating it is refused "
              "(disable monitoring first)", d->domid);
    return -EBUSY;
}
