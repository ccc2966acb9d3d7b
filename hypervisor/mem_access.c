/* mem_access.c - memory access restrictions of a monitored domain (Xen's xc_set_mem_access model,
 * keel/vm_event.h): an access per guest frame and a default access, enforced with mprotect() of
 * the stub's guest mapping (the access bits r, w, x are PROT_READ, PROT_WRITE, PROT_EXEC).
 *
 * - Setting access through the control socket: the core writes protection ops into the shared
 *   header, pauses the domain, wakes the vCPU threads waiting in their pause handlers (one applies
 *   the ops), waits for them and unpauses. With no vCPU running yet, the first vCPU to enter
 *   guest code applies them.
 * - A guest access the mapping forbids is a SIGSEGV in the stub, which posts HV_OP_MEMFAULT and
 *   waits in its handler: the core checks the access against its table (the stub and its
 *   mapping are not trusted) and raises KEEL_VM_EVENT_REASON_MEM_ACCESS; an access the table
 *   allows (a stale or forged protection) only gets its page's protection fixed.
 * - Allow once (response flag EMULATE): the page is opened, every other vCPU is held stopped, the
 *   faulting vCPU runs one instruction with the trap flag, gives the page its protection back and
 *   reports HV_OP_MA_STEPPED; then the others go on. EMULATE_NOWRITE: the frame's bytes are kept
 *   before the step and put back after it (the others being held, only the step wrote there). So no other vCPU passes through the opened
 *   page unseen (Xen gets the same by emulating the instruction for that vCPU alone). One vCPU
 *   steps at a time; other allow-once answers wait for it.
 * - The stub's own accesses to guest memory (an upcall frame pushed on a watched stack) are let
 *   through once the same way, without an event (Xen's own writes raise none either).
 * Everything runs under hv.lock. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "keel/vm_event.h"

#define MA_DEFAULT 0xff                /* a frame that takes the default access */
#define MA_NO_STEPPER UINT32_MAX

struct hv_mem_access {
    uint64_t pages;
    uint8_t *acc;                      /* per frame: KEEL_MEM_ACCESS_N..RWX or MA_DEFAULT */
    uint8_t dflt;                      /* the default access */
    uint32_t restricted;               /* frames (or 1 for the default) below rwx: a hint */
    uint32_t stepper;                  /* the vCPU running an instruction let through */
    uint32_t nstep;
    uint64_t step_addr[HV_MA_STEP_PAGES];
    uint8_t step_prot[HV_MA_STEP_PAGES];
    uint8_t *step_keep[HV_MA_STEP_PAGES]; /* EMULATE_NOWRITE: the frame before the step */
    uint64_t *step_wait;               /* per vCPU: gfn + 1 of an allow-once waiting its turn */
    bool *step_wait_nowrite;           /* ... answered EMULATE_NOWRITE */
};

static struct hv_vcpu_slot *slot_of(struct hv_domain *d, uint32_t vcpu)
{
    return HV_SLOT(d->shared, vcpu);
}

static uint8_t eff(const struct hv_mem_access *m, uint64_t gfn)
{
    return m->acc[gfn] == MA_DEFAULT ? m->dflt : m->acc[gfn];
}

static struct hv_mem_access *ma_get(struct hv_domain *d)
{
    struct hv_mem_access *m = d->mem_access;

    if (m)
        return m;
    m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->pages = d->mem_size >> KEEL_PAGE_SHIFT;
    m->acc = malloc(m->pages);
    m->step_wait = calloc(d->max_vcpus, sizeof(*m->step_wait));
    m->step_wait_nowrite = calloc(d->max_vcpus, sizeof(*m->step_wait_nowrite));
    if (!m->acc || !m->step_wait || !m->step_wait_nowrite) {
        free(m->acc);
        free(m->step_wait);
        free(m->step_wait_nowrite);
        free(m);
        return NULL;
    }
    memset(m->acc, MA_DEFAULT, m->pages);
    m->dflt = KEEL_MEM_ACCESS_RWX;
    m->stepper = MA_NO_STEPPER;
    d->mem_access = m;
    return m;
}

bool hv_mem_access_restricted(struct hv_domain *d)
{
    return d->mem_access && d->mem_access->restricted;
}

/* ---- applying protections through the stub ---- */

/* Wait until the stub applied generation gen (2 s at most). */
static int wait_applied(struct hv_domain *d, uint32_t gen)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    struct timespec tick = { 0, 2 * 1000 * 1000 };

    for (int t = 0; t < 1000; t++) {
        uint32_t ack = __atomic_load_n(&h->ack, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&h->mp_done, __ATOMIC_ACQUIRE) == gen)
            return h->mp_err;
        if (d->dead)
            return -ESRCH;
        syscall(SYS_futex, &h->ack, FUTEX_WAIT, ack, &tick, NULL, 0);
    }
    hv_printk("Domain %u: mem_access: protections not applied within 2 s (generation %u, "
              "applied %u)", d->domid, gen, h->mp_done);
    return -ETIMEDOUT;
}

static bool any_started(struct hv_domain *d)
{
    for (uint32_t i = 0; i < d->max_vcpus; i++)
        if (d->vcpus[i].started)
            return true;
    return false;
}

/* Hand ops to the stub and have them applied: now by a paused vCPU, or (no vCPU ran yet) by the
 * first one entering guest code; ops not applied yet are kept and added to. */
static int apply_ops(struct hv_domain *d, const struct hv_mprot_op *ops, uint32_t n)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    uint32_t gen, base;
    int rc;

    if (!n)
        return 0;
    base = __atomic_load_n(&h->mp_done, __ATOMIC_ACQUIRE) == h->mp_gen ? 0 : h->mp_n;
    if (base > HV_MP_OPS || n > HV_MP_OPS - base)
        return -E2BIG;
    memcpy(&h->mp_ops[base], ops, n * sizeof(*ops));
    h->mp_n = base + n;
    gen = h->mp_gen + 1;
    if (gen == __atomic_load_n(&h->mp_done, __ATOMIC_ACQUIRE))
        gen++;                             /* a guest-written mp_done must not look applied */
    __atomic_store_n(&h->ma_on, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&h->mp_gen, gen, __ATOMIC_RELEASE);
    if (d->dead || !any_started(d))
        return 0;                          /* applied as the first vCPU enters guest code */
    if ((rc = hv_domain_pause(d)) < 0)
        return rc;
    /* the paused threads look at mp_gen: pause_req gets a non-zero value unique to this
     * generation, so that a thread about to sleep on an older value (even one it saw before an
     * unpause and a new pause: 2 -> 0 -> 1 -> 2 would look unchanged) does not miss the wake-up */
    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        uint32_t *pr = &slot_of(d, i)->pause_req;
        if (!d->vcpus[i].started || !d->vcpus[i].stopped || !__atomic_load_n(pr, __ATOMIC_SEQ_CST))
            continue;
        __atomic_store_n(pr, 0x80000000u | gen, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, pr, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
    }
    rc = wait_applied(d, gen);
    hv_domain_unpause(d);
    return rc;
}

/* Protect frames [gfn, gfn + nr) as the table says, in runs of equal access. */
static int apply_range(struct hv_domain *d, struct hv_mem_access *m, uint64_t gfn, uint64_t nr)
{
    struct hv_mprot_op ops[HV_MP_OPS];
    uint32_t n = 0;
    int rc;

    for (uint64_t g = gfn; g < gfn + nr;) {
        uint64_t e = g + 1;
        uint8_t a = eff(m, g);
        while (e < gfn + nr && eff(m, e) == a)
            e++;
        ops[n++] = (struct hv_mprot_op){ KEEL_GUEST_BASE + (g << KEEL_PAGE_SHIFT),
                                         (e - g) << KEEL_PAGE_SHIFT, a & 7, 0 };
        if (n == HV_MP_OPS) {
            if ((rc = apply_ops(d, ops, n)) < 0)
                return rc;
            n = 0;
        }
        g = e;
    }
    return apply_ops(d, ops, n);
}

static void count_restricted(struct hv_mem_access *m)
{
    uint32_t r = m->dflt != KEEL_MEM_ACCESS_RWX;

    for (uint64_t g = 0; g < m->pages && !r; g++)
        r = m->acc[g] != MA_DEFAULT && m->acc[g] != KEEL_MEM_ACCESS_RWX;
    m->restricted = r;
}

/* ---- the control side: set and get ---- */

static long set_access(struct hv_domain *d, struct keel_domctl_mem_access_op *op)
{
    struct hv_mem_access *m;
    bool dflt = op->gfn == KEEL_MEM_ACCESS_DEFAULT_GFN;
    uint64_t pages = d->mem_size >> KEEL_PAGE_SHIFT;
    long rc;

    if (op->access > KEEL_MEM_ACCESS_RWX && !(op->access == KEEL_MEM_ACCESS_DEFAULT && !dflt)) {
        hv_printk("Domain %u: mem_access: access %u is not one of n r w rw x rx wx rwx (0-7)%s",
                  d->domid, op->access, dflt ? "" : " or default (10)");
        return -EINVAL;
    }
    if (!dflt && (op->gfn >= pages || op->nr > pages - op->gfn)) {
        hv_printk("Domain %u: mem_access: frames %#llx + %llu lie beyond the guest's %llu frames",
                  d->domid, (unsigned long long)op->gfn, (unsigned long long)op->nr,
                  (unsigned long long)pages);
        return -EINVAL;
    }
    if (d->logdirty) {
        hv_printk("Domain %u: mem_access: refused while log-dirty mode is on (save, migration)",
                  d->domid);
        return -EBUSY;
    }
    if (hv_lazy_incomplete(d)) {
        hv_printk("Domain %u: mem_access: refused while its memory is still coming in (lazy "
                  "restore or post-copy migration; retry once complete)", d->domid);
        return -EBUSY;
    }
    if (!(m = ma_get(d)))
        return -ENOMEM;
    if (dflt) {
        m->dflt = (uint8_t)op->access;
        count_restricted(m);
        return apply_range(d, m, 0, m->pages);
    }
    if (!op->nr)
        return 0;
    memset(m->acc + op->gfn, op->access == KEEL_MEM_ACCESS_DEFAULT ? MA_DEFAULT : (int)op->access,
           op->nr);
    count_restricted(m);
    rc = apply_range(d, m, op->gfn, op->nr);
    if (rc < 0)
        hv_printk("Domain %u: mem_access: the stub could not apply the protections (%ld)",
                  d->domid, rc);
    return rc;
}

long hv_mem_access_op(struct hv_domain *d, void *arg)
{
    struct keel_domctl_mem_access_op *op = arg;
    uint64_t pages = d->mem_size >> KEEL_PAGE_SHIFT;

    if (op->op == KEEL_MONITOR_OP_SET_MEM_ACCESS)
        return set_access(d, op);
    if (op->gfn != KEEL_MEM_ACCESS_DEFAULT_GFN && op->gfn >= pages) {
        hv_printk("Domain %u: mem_access: frame %#llx lies beyond the guest's %llu frames",
                  d->domid, (unsigned long long)op->gfn, (unsigned long long)pages);
        return -EINVAL;
    }
    if (!d->mem_access)
        op->access = KEEL_MEM_ACCESS_RWX;
    else if (op->gfn == KEEL_MEM_ACCESS_DEFAULT_GFN)
        op->access = d->mem_access->dflt;
    else
        op->access = eff(d->mem_access, op->gfn);
    return 0;
}

/* Monitoring ended: every frame rwx again, every vCPU waiting for a step let go. */
void hv_mem_access_reset(struct hv_domain *d)
{
    struct hv_mem_access *m = d->mem_access;
    bool had = m && (m->restricted || m->stepper != MA_NO_STEPPER);

    if (!m)
        return;
    memset(m->acc, MA_DEFAULT, m->pages);
    m->dflt = KEEL_MEM_ACCESS_RWX;
    m->restricted = 0;
    for (uint32_t i = 0; i < d->max_vcpus; i++)
        if (m->step_wait[i]) {
            m->step_wait[i] = 0;
            if (!d->dead)
                hv_vcpu_respond(d, &d->vcpus[i], 0, HV_ACT_NONE, 0);  /* runs it again */
        }
    if (had && !d->dead) {
        struct hv_mprot_op all = { KEEL_GUEST_BASE, d->mem_size, 7, 0 };
        struct hv_ctl_header *h = HV_CTL(d->shared);
        h->mp_done = h->mp_gen;            /* what was waiting is superseded */
        if (apply_ops(d, &all, 1) < 0)
            hv_printk("Domain %u: mem_access: lifting the restrictions did not complete; "
                      "faults are fixed as they come", d->domid);
    }
}

void hv_mem_access_free(struct hv_domain *d)
{
    struct hv_mem_access *m = d->mem_access;

    if (!m)
        return;
    free(m->acc);
    free(m->step_wait);
    free(m->step_wait_nowrite);
    for (uint32_t i = 0; i < HV_MA_STEP_PAGES; i++)
        free(m->step_keep[i]);
    free(m);
    d->mem_access = NULL;
}

/* ---- faults and answers ---- */

/* Let vCPU v run the instruction at its fault once with frame gfn open (others held). The
 * answer goes to v now, or into c (v's own request being served), or later (HV_DEFER: another
 * vCPU steps; v's turn comes after it). */
static long start_step(struct hv_domain *d, struct hv_mem_access *m, struct hv_vcpu *v,
                       uint64_t gfn, uint64_t data, bool nowrite, struct hv_caller *c)
{
    struct hv_vcpu_slot *s = slot_of(d, v->id);
    uint64_t addr = KEEL_GUEST_BASE + (gfn << KEEL_PAGE_SHIFT);

    if (m->stepper != MA_NO_STEPPER && m->stepper != v->id) {
        m->step_wait[v->id] = gfn + 1;     /* its turn comes when the stepper is done */
        m->step_wait_nowrite[v->id] = nowrite;
        return HV_DEFER;
    }
    if (m->stepper == MA_NO_STEPPER) {
        m->nstep = 0;
        if (hv_vcpus_hold(d, v) < 0)
            return -ESRCH;                 /* the domain is being killed */
        m->stepper = v->id;
    }
    if (m->nstep < HV_MA_STEP_PAGES) {
        uint8_t *keep = nowrite ? malloc(KEEL_PAGE_SIZE) : NULL;
        if (keep && hv_copy_from_guest(d, addr, keep, KEEL_PAGE_SIZE) < 0) {
            free(keep);
            keep = NULL;
        }
        m->step_addr[m->nstep] = addr;
        m->step_keep[m->nstep] = keep;
        m->step_prot[m->nstep++] = eff(m, gfn) & 7;
    }
    for (uint32_t i = 0; i < m->nstep; i++) {
        s->ma_addr[i] = m->step_addr[i];
        s->ma_prot[i] = m->step_prot[i];
    }
    s->ma_n = m->nstep;
    if (c) {
        c->action = HV_ACT_VM_EVENT;
        c->action_data = data | HV_VMEV_MA_STEP;
    } else {
        hv_vcpu_respond(d, v, 0, HV_ACT_VM_EVENT, data | HV_VMEV_MA_STEP);
    }
    return 0;
}

static uint32_t access_kind(uint64_t err)
{
    if (err & 0x10)
        return KEEL_MEM_ACCESS_FLAG_X;     /* instruction fetch */
    return err & 0x2 ? KEEL_MEM_ACCESS_FLAG_W : KEEL_MEM_ACCESS_FLAG_R;
}

/* HV_OP_MEMFAULT: addr faulted with page fault error code err (bit 32: in the stub's code). */
long hv_mem_access_fault(struct hv_caller *c, uint64_t addr, uint64_t err)
{
    struct hv_domain *d = c->d;
    struct hv_mem_access *m = d->mem_access;
    struct hv_vcpu_slot *s;
    struct keel_cpu_regs r;
    uint64_t gfn;
    uint32_t kind;

    if (hv_is_priv(c) || !c->v)
        return -EINVAL;
    if (!m || addr < KEEL_GUEST_BASE || addr - KEEL_GUEST_BASE >= d->mem_size)
        return -ENOENT;                    /* not ours: the guest fault it always was */
    s = slot_of(d, c->v->id);
    gfn = (addr - KEEL_GUEST_BASE) >> KEEL_PAGE_SHIFT;
    kind = access_kind(err);
    if ((eff(m, gfn) & kind) || !hv_vm_event_active(d)) {
        /* the table allows it (a protection the stub did not apply, or the guest's own
         * mprotect): fix the page and run the instruction again */
        s->ma_fix_addr = addr & ~(uint64_t)(KEEL_PAGE_SIZE - 1);
        s->ma_fix_prot = hv_vm_event_active(d) ? eff(m, gfn) & 7 : 7;
        c->action = HV_ACT_VM_EVENT;
        c->action_data = HV_VMEV_MA_PROT;
        return 0;
    }
    if (err >> 32 & 1) {                   /* the stub's own access: through once, no event */
        return start_step(d, m, c->v, gfn, 0, false, c);
    }
    memcpy(&r, &s->ev_regs, sizeof(r));
    return hv_vm_event_raise_mem(c, &r, gfn, addr,
                                 kind | KEEL_MEM_ACCESS_FLAG_GLA_VALID |
                                     KEEL_MEM_ACCESS_FLAG_FAULT_WITH_GLA);
}

/* HV_OP_MA_STEPPED: the stepper ran its instruction and closed its pages again. */
long hv_mem_access_stepped(struct hv_caller *c)
{
    struct hv_domain *d = c->d;
    struct hv_mem_access *m = d->mem_access;
    struct hv_vcpu_slot *s;
    uint64_t data = 0;

    if (hv_is_priv(c) || !c->v || !m || m->stepper != c->v->id)
        return 0;                          /* not stepping: nothing to do */
    s = slot_of(d, c->v->id);
    for (uint32_t i = 0; i < m->nstep; i++) {
        uint64_t gfn = (m->step_addr[i] - KEEL_GUEST_BASE) >> KEEL_PAGE_SHIFT;
        uint8_t now = hv_vm_event_active(d) ? eff(m, gfn) & 7 : 7;
        if (now != m->step_prot[i]) {      /* changed during the step */
            s->ma_fix_addr = m->step_addr[i];
            s->ma_fix_prot = now;
            data = HV_VMEV_MA_PROT;
        }
    }
    for (uint32_t i = 0; i < m->nstep; i++)
        if (m->step_keep[i]) {            /* EMULATE_NOWRITE: the write is undone */
            hv_copy_to_guest(d, m->step_addr[i], m->step_keep[i], KEEL_PAGE_SIZE);
            free(m->step_keep[i]);
            m->step_keep[i] = NULL;
        }
    m->stepper = MA_NO_STEPPER;
    m->nstep = 0;
    hv_vcpus_unhold(d);
    for (uint32_t i = 0; i < d->max_vcpus; i++)
        if (m->step_wait[i]) {
            uint64_t gfn = m->step_wait[i] - 1;
            m->step_wait[i] = 0;
            start_step(d, m, &d->vcpus[i], gfn, 0, m->step_wait_nowrite[i], NULL);
            break;
        }
    c->action = HV_ACT_VM_EVENT;
    c->action_data = data;
    return 0;
}

/* The consumer answered a memory access event of vCPU v (rsp NULL: monitoring ended). */
void hv_mem_access_answer(struct hv_domain *d, struct hv_vcpu *v, const struct keel_vm_event *req,
                          const struct keel_vm_event *rsp, uint64_t data)
{
    struct hv_mem_access *m = d->mem_access;
    struct hv_vcpu_slot *s = slot_of(d, v->id);
    uint64_t gfn = req->u.mem_access.gfn;

    if (!m || !rsp) {
        hv_vcpu_respond(d, v, 0, HV_ACT_NONE, 0);   /* runs again under the lifted table */
        return;
    }
    if (rsp->flags & KEEL_VM_EVENT_FLAG_SET_ACCESS) {
        uint64_t g = rsp->u.mem_access.gfn;
        uint32_t a = rsp->u.mem_access.pad;
        if (g < m->pages && a <= KEEL_MEM_ACCESS_RWX) {
            m->acc[g] = (uint8_t)a;
            count_restricted(m);
            s->ma_fix_addr = KEEL_GUEST_BASE + (g << KEEL_PAGE_SHIFT);
            s->ma_fix_prot = a;
            data |= HV_VMEV_MA_PROT;
        } else {
            hv_printk("Domain %u: vm_event: a response sets access %u on frame %#llx: ignored "
                      "(access 0-7, frames below %llu)", d->domid, a, (unsigned long long)g,
                      (unsigned long long)m->pages);
        }
    }
    if ((rsp->flags & (KEEL_VM_EVENT_FLAG_EMULATE | KEEL_VM_EVENT_FLAG_EMULATE_NOWRITE)) &&
        gfn < m->pages && !(eff(m, gfn) & req->u.mem_access.flags & 7)) {
        if (start_step(d, m, v, gfn, data,
                       (rsp->flags & KEEL_VM_EVENT_FLAG_EMULATE_NOWRITE) != 0, NULL) == -ESRCH)
            hv_vcpu_respond(d, v, 0, HV_ACT_NONE, 0);
        return;
    }
    hv_vcpu_respond(d, v, 0, HV_ACT_VM_EVENT, data);
}
