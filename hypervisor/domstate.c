/* domstate.c - a paused domain's execution state as one blob (vCPU contexts with their event
 * callbacks, vCPU timers, the shared page's event state, the domain's local event channels, its
 * system time, its grant table registration) and its restoration into a new, paused domain: the
 * core half of save/restore and migration. Memory travels separately (foreign mapping). Every
 * field of a blob to restore is validated before anything is changed. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

#define PORTS_MAX HV_DOMU_EVTCHNS
_Static_assert(sizeof(struct keel_domstate_header) % 16 == 0, "vCPU records must stay aligned");

static size_t blob_size(uint32_t nr_vcpus, uint32_t nr_ports)
{
    return sizeof(struct keel_domstate_header) + nr_vcpus * sizeof(struct keel_domstate_vcpu) +
           nr_ports * sizeof(struct keel_domstate_port) + 2 * sizeof(uint64_t) * (KEEL_NR_EVTCHN / 64);
}

/* A vCPU stopped inside a hypercall is saved to restart it, unless the core has already
 * answered: then it is saved as returned from the call, with the answer applied, so that a
 * completed call is neither repeated nor lost (a wake-up from block, an event sent). A vCPU
 * waiting in SCHEDOP_block or _poll is saved as returned from it with 0, as Xen resumes a
 * blocked vCPU: restarted, the block would come after the upcall that takes the wake-up the
 * restored domain gets first (its timer, say), and sleep with that wake-up spent. Every caller
 * of block or poll looks at its condition again when it returns. */
static void finish_answered_call(struct hv_domain *d, struct hv_vcpu *v, struct keel_domstate_vcpu *o)
{
    struct hv_vcpu_slot *s = HV_SLOT(d->shared, v->id);
    uint32_t req = __atomic_load_n(&s->req_seq, __ATOMIC_SEQ_CST);
    bool waiting = v->deferred && v->deferred_op == KH_SCHED_OP &&
                   (v->deferred_cmd == KEEL_SCHEDOP_BLOCK || v->deferred_cmd == KEEL_SCHEDOP_POLL);
    uint64_t ret;

    o->online = 1;
    if (!v->started || o->ctx.regs.rip != KEEL_HYPERCALL_ENTRY || v->last_seq != req)
        return;
    if (!waiting && (v->deferred || __atomic_load_n(&s->rsp_seq, __ATOMIC_SEQ_CST) != req))
        return;
    if (hv_copy_from_guest(d, o->ctx.regs.rsp, &ret, sizeof(ret)) < 0)
        return;
    o->ctx.regs.rip = ret;
    o->ctx.regs.rsp += 8;
    o->ctx.regs.rax = waiting ? 0 : (uint64_t)s->rsp_val;
    switch (waiting ? HV_ACT_NONE : s->rsp_action) {
    case HV_ACT_SET_CALLBACK:
        o->ctx.event_callback = s->rsp_data;
        o->ctx.flags |= KEEL_CTX_CALLBACK_VALID;
        break;
    case HV_ACT_SET_FS:
        o->ctx.regs.fs_base = s->rsp_data;
        break;
    case HV_ACT_SET_GS:
        o->ctx.regs.gs_base = s->rsp_data;
        break;
    case HV_ACT_GO_DOWN:
        o->online = 0;
        break;
    default:
        break;
    }
}

static void save_vcpu(struct hv_domain *d, struct hv_vcpu *v, uint64_t now, struct keel_domstate_vcpu *o)
{
    struct keel_vcpu_info *vi = &((struct keel_shared_info *)d->shared)->vcpu_info[v->id];

    memset(o, 0, sizeof(*o));
    if (v->started && !v->ctx_dirty)
        memcpy(&o->ctx, &HV_SLOT(d->shared, v->id)->ctx, sizeof(o->ctx));
    else
        o->ctx = v->ctx;
    finish_answered_call(d, v, o);
    o->online = o->online ? v->online : 0;
    o->initialised = v->initialised;
    o->upcall_pending = vi->evtchn_upcall_pending;
    o->upcall_mask = vi->evtchn_upcall_mask;
    o->pending_sel = vi->evtchn_pending_sel;
    o->singleshot_left = v->singleshot ? (v->singleshot > now ? v->singleshot - now : 1) : 0;
    o->periodic = v->periodic;
    o->periodic_left = v->periodic ? (v->periodic_next > now ? v->periodic_next - now : 1) : 0;
}

static uint32_t save_ports(struct hv_domain *d, struct keel_domstate_port *out)
{
    uint32_t n = 0;

    for (uint32_t p = 1; p < d->nr_evtchn && p < PORTS_MAX; p++) {
        struct hv_evtchn *chn = &d->evtchn[p];
        if (chn->state == CHN_FREE)
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        out[n].port = p;
        out[n].state = chn->state == CHN_INTERDOMAIN ? CHN_UNBOUND : chn->state;
        out[n].vcpu = chn->vcpu;
        out[n].virq = chn->virq;
        out[n].remote_dom = chn->remote_dom;
        n++;
    }
    return n;
}

long hv_domctl_getdomstate(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_domstate *ds)
{
    struct keel_shared_info *si = d->shared;
    struct keel_domstate_port *ports;
    struct keel_domstate_header *h;
    uint64_t now = hv_guest_now(d);
    uint32_t nports;
    size_t size;
    uint8_t *blob, *p;
    long rc;

    if (d->pause_count == 0 && !d->shutdown_paused)
        return -EBUSY;                       /* its vCPUs must be stopped */
    if (d->dead)
        return -EINVAL;
    if (!(ports = calloc(PORTS_MAX, sizeof(*ports))))
        return -ENOMEM;
    nports = save_ports(d, ports);
    size = blob_size(d->max_vcpus, nports);
    if (size > ds->len || !(blob = calloc(1, size))) {
        free(ports);
        ds->len = (uint32_t)size;
        return -ENOBUFS;
    }
    h = (struct keel_domstate_header *)blob;
    *h = (struct keel_domstate_header){ KEEL_DOMSTATE_MAGIC, KEEL_DOMSTATE_VERSION, d->max_vcpus,
                                        nports, now, hv_gnttab_state(d) };
    p = blob + sizeof(*h);
    for (uint32_t i = 0; i < d->max_vcpus; i++, p += sizeof(struct keel_domstate_vcpu))
        save_vcpu(d, &d->vcpus[i], now, (struct keel_domstate_vcpu *)p);
    memcpy(p, ports, nports * sizeof(*ports));
    p += nports * sizeof(*ports);
    memcpy(p, si->evtchn_pending, sizeof(si->evtchn_pending));
    memcpy(p + sizeof(si->evtchn_pending), si->evtchn_mask, sizeof(si->evtchn_mask));
    rc = hv_buf_write(c, ds->buf, blob, size);
    ds->len = (uint32_t)size;
    free(blob);
    free(ports);
    return rc;
}

static int check_blob(struct hv_domain *d, const uint8_t *blob, size_t len)
{
    const struct keel_domstate_header *h = (const void *)blob;
    const struct keel_domstate_vcpu *v;
    const struct keel_domstate_port *pt;

    if (len < sizeof(*h) || h->magic != KEEL_DOMSTATE_MAGIC || h->version != KEEL_DOMSTATE_VERSION)
        return -EINVAL;
    if (h->nr_vcpus != d->max_vcpus || h->nr_ports >= PORTS_MAX ||
        len != blob_size(h->nr_vcpus, h->nr_ports) || hv_gnttab_state_check(d, h->grant_table) < 0)
        return -EINVAL;
    v = (const void *)(blob + sizeof(*h));
    for (uint32_t i = 0; i < h->nr_vcpus; i++)
        if (hv_validate_context(&v[i].ctx) < 0 || v[i].online > 1 || v[i].initialised > 1)
            return -EINVAL;
    pt = (const void *)(v + h->nr_vcpus);
    for (uint32_t i = 0; i < h->nr_ports; i++) {
        if (pt[i].port == 0 || pt[i].port >= d->nr_evtchn || pt[i].vcpu >= d->max_vcpus)
            return -EINVAL;
        if (pt[i].state != CHN_UNBOUND && pt[i].state != CHN_VIRQ && pt[i].state != CHN_IPI)
            return -EINVAL;
        if (pt[i].state == CHN_VIRQ && (pt[i].virq >= KEEL_NR_VIRQS || pt[i].virq == KEEL_VIRQ_DOM_EXC ||
                                        pt[i].virq == KEEL_VIRQ_CON_RING || pt[i].virq == KEEL_VIRQ_CONSOLE))
            return -EINVAL;
        for (uint32_t j = 0; j < i; j++)
            if (pt[j].port == pt[i].port)
                return -EINVAL;
    }
    return 0;
}

static void restore_vcpu(struct hv_domain *d, struct hv_vcpu *v, const struct keel_domstate_vcpu *s,
                         uint64_t now)
{
    struct keel_vcpu_info *vi = &((struct keel_shared_info *)d->shared)->vcpu_info[v->id];

    v->ctx = s->ctx;
    v->online = s->online;
    v->initialised = s->initialised;
    v->singleshot = s->singleshot_left ? now + s->singleshot_left : 0;
    v->periodic = s->periodic;
    v->periodic_next = s->periodic ? now + s->periodic_left : 0;
    vi->evtchn_upcall_pending = s->upcall_pending;
    vi->evtchn_upcall_mask = s->upcall_mask;
    vi->evtchn_pending_sel = s->pending_sel;
    memset(v->virq_port, 0, sizeof(v->virq_port));
}

long hv_domctl_setdomstate(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_domstate *ds)
{
    const struct keel_domstate_header *h;
    const struct keel_domstate_vcpu *vs;
    const struct keel_domstate_port *pt;
    struct keel_shared_info *si = d->shared;
    uint8_t *blob;
    uint64_t now;
    long rc;

    if (d->pause_count == 0 || d->dead)
        return -EBUSY;
    for (uint32_t i = 0; i < d->max_vcpus; i++)
        if (d->vcpus[i].started)
            return -EBUSY;                   /* only a domain that has not run yet */
    if (ds->len > (1U << 20) || !(blob = malloc(ds->len ? ds->len : 1)))
        return -EINVAL;
    if ((rc = hv_buf_read(c, ds->buf, blob, ds->len)) < 0 || (rc = check_blob(d, blob, ds->len)) < 0) {
        free(blob);
        return rc;
    }
    h = (const void *)blob;
    vs = (const void *)(blob + sizeof(*h));
    pt = (const void *)(vs + h->nr_vcpus);
    d->time_offset = (int64_t)h->system_time - (int64_t)hv_now();
    now = hv_guest_now(d);
    hv_evtchn_teardown(d);
    for (uint32_t i = 0; i < h->nr_vcpus; i++)
        restore_vcpu(d, &d->vcpus[i], &vs[i], now);
    for (uint32_t i = 0; i < h->nr_ports; i++) {
        struct hv_evtchn *chn = &d->evtchn[pt[i].port];
        chn->state = pt[i].state;
        chn->vcpu = pt[i].vcpu;
        chn->virq = pt[i].virq;
        chn->remote_dom = pt[i].remote_dom;
        if (chn->state == CHN_UNBOUND) {
            /* the channel's label, as alloc_unbound gives it: sends are checked against it */
            struct hv_domain *rd = hv_domain_get(chn->remote_dom);
            chn->sid = rd ? hv_flask_channel_sid(d, rd) : 0;
        }
        if (chn->state == CHN_VIRQ)
            d->vcpus[chn->vcpu].virq_port[chn->virq] = pt[i].port;
    }
    memcpy(si->evtchn_pending, (const uint8_t *)(pt + h->nr_ports), sizeof(si->evtchn_pending));
    memcpy(si->evtchn_mask, (const uint8_t *)(pt + h->nr_ports) + sizeof(si->evtchn_pending),
           sizeof(si->evtchn_mask));
    hv_time_publish(d);
    rc = hv_gnttab_state_restore(d, h->grant_table);   /* checked: fails only without memory */
    free(blob);
    return rc;
}
