/* vcpu.c - vCPUs: stopping and resuming their threads, starting them from a context, event
 * kicks, hypercall answers, vcpu_op, and vCPU context / info for the toolstack. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "klog.h"
#include "keel/vm_event.h"

static struct hv_vcpu_slot *slot_of(struct hv_domain *d, struct hv_vcpu *v)
{
    return HV_SLOT(d->shared, v->id);
}

static void futex_wake_all(uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

static int process_gone(struct hv_domain *d)
{
    struct pollfd pfd = { d->pidfd, POLLIN, 0 };

    return d->dead || d->pidfd < 0 || poll(&pfd, 1, 0) == 1;
}

static int signal_vcpu(struct hv_domain *d, struct hv_vcpu *v, int sig)
{
    if (v->tid <= 0 || d->dead)
        return -ESRCH;
    return syscall(SYS_tgkill, d->pid, v->tid, sig) < 0 ? -errno : 0;
}

/* Stop every started vCPU and wait until each has saved its context. A vCPU that does not
 * answer within two seconds (a guest that blocked our signals) crashes the domain. */
int hv_vcpus_stop(struct hv_domain *d)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    struct timespec tick = { 0, 2 * 1000 * 1000 };

    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        if (!v->started || v->stopped)
            continue;
        v->stopped = true;
        __atomic_store_n(&slot_of(d, v)->pause_req, 1, __ATOMIC_SEQ_CST);
        signal_vcpu(d, v, HV_SIG_PAUSE);
    }
    for (int t = 0; t < 1000; t++) {
        uint32_t ack = __atomic_load_n(&h->ack, __ATOMIC_SEQ_CST), missing = 0;
        for (uint32_t i = 0; i < d->max_vcpus; i++) {
            struct hv_vcpu *v = &d->vcpus[i];
            if (v->started && !__atomic_load_n(&slot_of(d, v)->paused, __ATOMIC_SEQ_CST))
                missing++;
        }
        if (!missing || process_gone(d))
            return 0;
        syscall(SYS_futex, &h->ack, FUTEX_WAIT, ack, &tick, NULL, 0);
    }
    hv_printk("Domain %u: a vCPU did not stop within 2 s; killing the domain", d->domid);
    kill(d->pid, SIGKILL);
    return -ETIMEDOUT;
}

static void start_vcpu(struct hv_domain *d, struct hv_vcpu *v)
{
    struct hv_vcpu_slot *s = slot_of(d, v);

    s->ctx = v->ctx;
    v->ctx_dirty = false;
    v->started = true;
    v->stopped = false;
    __atomic_add_fetch(&s->run_gen, 1, __ATOMIC_SEQ_CST);
    futex_wake_all(&s->run_gen);
}

static void release_vcpu(struct hv_domain *d, struct hv_vcpu *v)
{
    struct hv_vcpu_slot *s = slot_of(d, v);

    if (v->ctx_dirty) {
        s->ctx = v->ctx;
        v->ctx_dirty = false;
        v->deferred = false;
        __atomic_store_n(&s->ctx_load, 1, __ATOMIC_SEQ_CST);
    }
    v->stopped = false;
    __atomic_store_n(&s->pause_req, 0, __ATOMIC_SEQ_CST);
    futex_wake_all(&s->pause_req);
    /* events that arrived while it was stopped were not delivered: kick it now */
    if (__atomic_load_n(&((struct keel_shared_info *)d->shared)->vcpu_info[v->id].evtchn_upcall_pending,
                        __ATOMIC_SEQ_CST))
        signal_vcpu(d, v, HV_SIG_KICK);
}

void hv_vcpus_resume(struct hv_domain *d)
{
    if (d->dead)
        return;
    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        if (v->held)
            continue;                      /* mem_access.c lets it go (hv_vcpus_unhold) */
        if (v->online && !v->started)
            start_vcpu(d, v);
        else if (v->started && v->stopped)
            release_vcpu(d, v);
    }
}

/* Memory access (mem_access.c): while one vCPU runs the instruction an answer let through, every
 * other vCPU stays stopped (held), whatever domain pauses and unpauses happen meanwhile. */
int hv_vcpus_hold(struct hv_domain *d, struct hv_vcpu *except)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    struct timespec tick = { 0, 2 * 1000 * 1000 };

    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        if (v == except || (!v->started && !v->online))
            continue;
        v->held = true;
        if (v->started && !v->stopped) {
            v->stopped = true;
            __atomic_store_n(&slot_of(d, v)->pause_req, 1, __ATOMIC_SEQ_CST);
            signal_vcpu(d, v, HV_SIG_PAUSE);
        }
    }
    for (int t = 0; t < 1000; t++) {
        uint32_t ack = __atomic_load_n(&h->ack, __ATOMIC_SEQ_CST), missing = 0;
        for (uint32_t i = 0; i < d->max_vcpus; i++) {
            struct hv_vcpu *v = &d->vcpus[i];
            if (v != except && v->started && !__atomic_load_n(&slot_of(d, v)->paused, __ATOMIC_SEQ_CST))
                missing++;
        }
        if (!missing || process_gone(d))
            return 0;
        syscall(SYS_futex, &h->ack, FUTEX_WAIT, ack, &tick, NULL, 0);
    }
    hv_printk("Domain %u: a vCPU did not stop within 2 s; killing the domain", d->domid);
    kill(d->pid, SIGKILL);
    return -ETIMEDOUT;
}

void hv_vcpus_unhold(struct hv_domain *d)
{
    bool run = d->pause_count == 0 && !d->shutdown_paused && !d->dead;

    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        if (!v->held)
            continue;
        v->held = false;
        if (!run)
            continue;
        if (v->online && !v->started)
            start_vcpu(d, v);
        else if (v->started && v->stopped)
            release_vcpu(d, v);
    }
}

/* Map each vCPU's thread id inside the domain's pid namespace to its global id. Only threads
 * listed under /proc/PID/task are accepted, so signals can only reach this domain. */
int hv_vcpu_find_tids(struct hv_domain *d)
{
    char path[64], line[256];
    struct dirent *e;
    DIR *dir;
    uint32_t found = 0;

    /* vCPU 0 runs on the stub's first thread: pid 1 of its namespace is d->pid outside it */
    if (d->max_vcpus == 1 && slot_of(d, &d->vcpus[0])->tid == 1) {
        d->vcpus[0].tid = d->pid;
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/%d/task", (int)d->pid);
    if (!(dir = opendir(path)))
        return -errno;
    while ((e = readdir(dir))) {
        int gtid = atoi(e->d_name), nstid = -1;
        FILE *f;
        if (gtid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)d->pid, gtid);
        if (!(f = fopen(path, "re")))
            continue;
        while (fgets(line, sizeof(line), f))
            if (!strncmp(line, "NSpid:", 6))
                sscanf(line + 6, "%*d %d", &nstid);
        fclose(f);
        for (uint32_t i = 0; i < d->max_vcpus; i++)
            if (slot_of(d, &d->vcpus[i])->tid == nstid && !d->vcpus[i].tid) {
                d->vcpus[i].tid = gtid;
                found++;
            }
    }
    closedir(dir);
    return found == d->max_vcpus ? 0 : -ESRCH;
}

void hv_vcpu_respond(struct hv_domain *d, struct hv_vcpu *v, int64_t val, uint32_t action,
                     uint64_t data)
{
    struct hv_vcpu_slot *s = slot_of(d, v);

    s->rsp_val = val;
    s->rsp_action = action;
    s->rsp_data = data;
    v->deferred = false;
    __atomic_store_n(&s->rsp_seq, v->last_seq, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->waiting, __ATOMIC_SEQ_CST))
        futex_wake_all(&s->rsp_seq);
}

static bool poll_satisfied(struct hv_domain *d, struct hv_vcpu *v)
{
    for (uint32_t i = 0; i < v->nr_poll_ports; i++)
        if (hv_port_pending(d, v->poll_ports[i]))
            return true;
    return false;
}

/* Events are pending for v: wake it from block/poll, or interrupt its guest code. */
void hv_vcpu_kick(struct hv_domain *d, struct hv_vcpu *v)
{
    if (v->deferred && v->deferred_op == KH_SCHED_OP) {
        if (v->deferred_cmd == KEEL_SCHEDOP_BLOCK ||
            (v->deferred_cmd == KEEL_SCHEDOP_POLL && poll_satisfied(d, v))) {
            hv_vcpu_respond(d, v, 0, HV_ACT_NONE, 0);
            return;
        }
    }
    /* a vCPU polling its upcall flag in guest mode sees the event without a signal */
    if (v->started && !v->stopped && !hv_evfast_vcpu_polling(d, v->id))
        signal_vcpu(d, v, HV_SIG_KICK);
}

int hv_validate_context(const struct keel_vcpu_context *ctx)
{
    const uint64_t lim = 0x0000800000000000ULL;

    if (ctx->regs.rip >= lim || ctx->regs.rsp >= lim || ctx->regs.fs_base >= lim ||
        ctx->regs.gs_base >= lim)
        return -EINVAL;
    if (ctx->flags & ~(KEEL_CTX_FPU_VALID | KEEL_CTX_CALLBACK_VALID))
        return -EINVAL;
    if ((ctx->flags & KEEL_CTX_CALLBACK_VALID) && ctx->event_callback >= lim)
        return -EINVAL;
    return 0;
}

static long vcpu_initialise(struct hv_caller *c, struct hv_vcpu *v, uint64_t arg)
{
    struct keel_vcpu_context ctx;
    int rc;

    if (v->initialised)
        return -EEXIST;
    if ((rc = hv_copy_from_guest(c->d, arg, &ctx, sizeof(ctx))) < 0)
        return rc;
    if ((rc = hv_validate_context(&ctx)) < 0)
        return rc;
    if ((rc = (int)hv_vm_event_reg(c, KEEL_VM_EVENT_REG_VCPU_UP, v->id, v->online, ctx.regs.rip)))
        return rc;
    v->ctx = ctx;
    v->initialised = true;
    return 0;
}

static long vcpu_up(struct hv_caller *c, struct hv_domain *d, struct hv_vcpu *v)
{
    long rc;

    if (!v->initialised)
        return -EINVAL;
    if (v->online)
        return 0;
    if ((rc = hv_vm_event_reg(c, KEEL_VM_EVENT_REG_VCPU_UP, v->id, v->online, 1)))
        return rc;
    v->online = true;
    for (uint32_t i = 0; i < d->max_vcpus; i++)
        if (d->vcpus[i].held) {            /* another vCPU runs a let-through instruction */
            v->held = true;                /* hv_vcpus_unhold starts it (mem_access.c) */
            return 0;
        }
    if (d->pause_count == 0 && !d->shutdown_paused)
        start_vcpu(d, v);
    return 0;
}

static long vcpu_down(struct hv_caller *c, struct hv_vcpu *v)
{
    struct hv_domain *d = c->d;
    uint32_t online = 0;

    for (uint32_t i = 0; i < d->max_vcpus; i++)
        online += d->vcpus[i].online;
    long rc;

    if (!v->online)
        return 0;
    if (online == 1)
        return -EBUSY;                        /* the last vCPU: shut down instead */
    if ((rc = hv_vm_event_reg(c, KEEL_VM_EVENT_REG_VCPU_UP, v->id, v->online, 0)))
        return rc;
    v->online = false;
    if (v == c->v) {
        c->action = HV_ACT_GO_DOWN;
        v->started = false;
        return 0;
    }
    if (v->started) {
        struct hv_vcpu_slot *s = slot_of(d, v);
        if (!v->stopped) {
            v->stopped = true;
            __atomic_store_n(&s->pause_req, 1, __ATOMIC_SEQ_CST);
            signal_vcpu(d, v, HV_SIG_PAUSE);
        }
        __atomic_store_n(&s->go_down, 1, __ATOMIC_SEQ_CST);
        v->started = false;
        v->stopped = false;
        v->deferred = false;
        __atomic_store_n(&s->pause_req, 0, __ATOMIC_SEQ_CST);
        futex_wake_all(&s->pause_req);
    }
    return 0;
}

static long vcpu_timer(struct hv_caller *c, struct hv_vcpu *v, uint32_t op, uint64_t arg)
{
    struct keel_vcpu_periodic_timer pt;
    struct keel_vcpu_singleshot_timer st;
    long rc;

    switch (op) {
    case KEEL_VCPUOP_SET_PERIODIC_TIMER:
        if ((rc = hv_copy_from_guest(c->d, arg, &pt, sizeof(pt))) < 0)
            return rc;
        if (pt.period_ns < KEEL_MIN_TIMER_PERIOD_NS)
            return -EINVAL;
        if ((rc = hv_vm_event_reg(c, KEEL_VM_EVENT_REG_PERIODIC, v->id, v->periodic, pt.period_ns)))
            return rc;
        v->periodic = pt.period_ns;
        v->periodic_next = hv_guest_now(c->d) + pt.period_ns;
        return 0;
    case KEEL_VCPUOP_STOP_PERIODIC_TIMER:
        if ((rc = hv_vm_event_reg(c, KEEL_VM_EVENT_REG_PERIODIC, v->id, v->periodic, 0)))
            return rc;
        v->periodic = 0;
        return 0;
    case KEEL_VCPUOP_SET_SINGLESHOT_TIMER:
        if ((rc = hv_copy_from_guest(c->d, arg, &st, sizeof(st))) < 0)
            return rc;
        if (st.flags)
            return -EINVAL;
        if ((rc = hv_vm_event_reg(c, KEEL_VM_EVENT_REG_SINGLESHOT, v->id, v->singleshot,
                                  st.timeout_abs_ns ? st.timeout_abs_ns : 1)))
            return rc;
        v->singleshot = st.timeout_abs_ns ? st.timeout_abs_ns : 1;
        return 0;
    default: /* KEEL_VCPUOP_STOP_SINGLESHOT_TIMER */
        if ((rc = hv_vm_event_reg(c, KEEL_VM_EVENT_REG_SINGLESHOT, v->id, v->singleshot, 0)))
            return rc;
        v->singleshot = 0;
        return 0;
    }
}

long hv_do_vcpu_op(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    uint32_t op = (uint32_t)(cmd >> 8), id = (uint32_t)(cmd & 0xff);
    struct hv_vcpu *v;

    if (hv_is_priv(c) || cmd >> 32)
        return -EINVAL;
    if (op == KEEL_VCPUOP_GET_ID)
        return c->v->id;
    if (id >= c->d->max_vcpus)
        return -ENOENT;
    v = &c->d->vcpus[id];
    switch (op) {
    case KEEL_VCPUOP_INITIALISE:
        return vcpu_initialise(c, v, arg);
    case KEEL_VCPUOP_UP:
        return vcpu_up(c, c->d, v);
    case KEEL_VCPUOP_DOWN:
        return vcpu_down(c, v);
    case KEEL_VCPUOP_IS_UP:
        return v->online;
    case KEEL_VCPUOP_SET_PERIODIC_TIMER:
    case KEEL_VCPUOP_STOP_PERIODIC_TIMER:
    case KEEL_VCPUOP_SET_SINGLESHOT_TIMER:
    case KEEL_VCPUOP_STOP_SINGLESHOT_TIMER:
        return vcpu_timer(c, v, op, arg);
    default:
        return -ENOSYS;
    }
}

long hv_domctl_getvcpucontext(struct hv_caller *c, struct hv_domain *d,
                              struct keel_domctl_vcpucontext *vc)
{
    struct keel_vcpu_context ctx;
    struct hv_vcpu *v;
    int rc, paused_here = 0;

    if (vc->vcpu >= d->max_vcpus)
        return -ENOENT;
    v = &d->vcpus[vc->vcpu];
    if (v->started && !v->ctx_dirty && !d->dead) {
        if (!v->stopped) {
            if ((rc = hv_domain_pause(d)) < 0)
                return rc;
            paused_here = 1;
        }
        memcpy(&ctx, &slot_of(d, v)->ctx, sizeof(ctx));
        if (paused_here)
            hv_domain_unpause(d);
    } else {
        ctx = v->ctx;
    }
    return hv_buf_write(c, vc->ctx, &ctx, sizeof(ctx));
}

long hv_domctl_setvcpucontext(struct hv_caller *c, struct hv_domain *d,
                              struct keel_domctl_vcpucontext *vc)
{
    struct keel_vcpu_context ctx;
    struct hv_vcpu *v;
    int rc;

    if (vc->vcpu >= d->max_vcpus)
        return -ENOENT;
    if (d->pause_count == 0 && !d->shutdown_paused)
        return -EBUSY;
    if ((rc = hv_buf_read(c, vc->ctx, &ctx, sizeof(ctx))) < 0)
        return rc;
    if ((rc = hv_validate_context(&ctx)) < 0)
        return rc;
    v = &d->vcpus[vc->vcpu];
    v->ctx = ctx;
    v->initialised = true;
    v->online = true;
    if (v->started)
        v->ctx_dirty = true;
    return 0;
}

/* CPU time of a process (tid 0) or one of its threads, from /proc; also the CPU last run on. */
uint64_t hv_proc_cpu_ns(pid_t pid, pid_t tid, uint32_t *cpu)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    int last = 0;
    FILE *f;

    if (tid)
        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    else
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "re")))
        return 0;
    p = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (!p || !(p = strrchr(buf, ')')))
        return 0;
    /* fields after the command: state(3) ... utime(14) stime(15) ... processor(39) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
                      "%*d %*u %*u %*d %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*d %d",
               &ut, &st, &last) < 2)
        return 0;
    if (cpu)
        *cpu = (uint32_t)last;
    return (ut + st) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

void hv_domctl_getvcpuinfo(struct hv_domain *d, struct keel_domctl_vcpuinfo *vi)
{
    struct hv_vcpu *v = &d->vcpus[vi->vcpu];

    vi->online = v->online;
    vi->blocked = v->deferred;
    vi->running = v->started && !v->stopped && !v->deferred;
    vi->cpu_time_ns = (v->tid > 0 && !d->dead) ? hv_proc_cpu_ns(d->pid, v->tid, &vi->cpu) : 0;
}

/* vCPU pinning: hard affinity is the thread's CPU affinity; soft affinity is kept for the
 * toolstack (Linux has no preference-only affinity). */
long hv_domctl_vcpuaffinity(struct hv_domain *d, struct keel_domctl_vcpuaffinity *a, bool set)
{
    struct hv_vcpu *v;
    cpu_set_t cs;
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (a->vcpu >= d->max_vcpus)
        return -ENOENT;
    v = &d->vcpus[a->vcpu];
    if (!set) {
        memcpy(a->hard, v->hard_affinity, sizeof(a->hard));
        memcpy(a->soft, v->soft_affinity, sizeof(a->soft));
        return 0;
    }
    hv_cpupool_effective(d, a->hard, &cs);   /* within the domain's cpupool */
    for (long c = n; c < 64 * KEEL_CPUMAP_WORDS; c++)
        CPU_CLR((int)c, &cs);
    if (CPU_COUNT(&cs) == 0)
        return -EINVAL;                   /* no online CPU of its pool in the map */
    if (v->tid > 0 && !d->dead && sched_setaffinity(v->tid, sizeof(cs), &cs) < 0)
        return -errno;
    memcpy(v->hard_affinity, a->hard, sizeof(a->hard));
    memcpy(v->soft_affinity, a->soft, sizeof(a->soft));
    return 0;
}
