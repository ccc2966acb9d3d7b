/* runner.c - one thread per domain that answers its vCPUs' hypercalls and fires its timers.
 * It spins briefly after each request (so a busy guest gets replies in well under a
 * microsecond of wake-up cost) while a vCPU could send another (none is blocked, polling its
 * upcall flag in guest mode or stopped), and otherwise sleeps on the domain's doorbell futex
 * until the next request, Domain-0 post or timer. Eventfd writes a hypercall causes are made
 * after its answer. Under cgroup v1 it joins the domain's cpu cgroup: a guest pays for its own
 * hypercalls. */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "klog.h"

static void futex_wake_all(uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Take one request from a vCPU's slot (copying every field once) and answer it. */
static void serve_vcpu(struct hv_domain *d, struct hv_vcpu *v)
{
    struct hv_vcpu_slot *s = HV_SLOT(d->shared, v->id);
    uint32_t seq = __atomic_load_n(&s->req_seq, __ATOMIC_ACQUIRE), op;
    uint64_t cmd, arg;
    struct hv_caller c;
    long rc;

    if (seq == v->last_seq)
        return;
    op = s->op;
    cmd = s->cmd;
    arg = s->arg;
    if (op == KH_GRANT_TABLE_OP) {         /* grant ops take their own locks (grant.c) */
        hv_gnttab_serve_guest(d, v, seq, cmd, arg);
        return;
    }
    memset(&c, 0, sizeof(c));
    c.d = d;
    c.v = v;
    pthread_mutex_lock(&hv.lock);
    if (!d->destroying && !d->dead) {
        v->last_seq = seq;
        v->deferred = false;
        hv_evtchn_defer_begin();
        rc = hv_hypercall(&c, op, cmd, arg);
        if (rc == HV_DEFER) {
            v->deferred = true;
            v->deferred_op = op;
            v->deferred_cmd = cmd;
        } else {
            hv_vcpu_respond(d, v, rc, c.action, c.action_data);
        }
        hv_evtchn_defer_flush();
    }
    pthread_mutex_unlock(&hv.lock);
}

static int serve_pending(struct hv_domain *d)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    int served = 0;

    for (uint32_t w = 0; w < KEEL_MAX_VCPUS / 64; w++) {
        uint64_t bits = __atomic_exchange_n(&h->pending[w], 0, __ATOMIC_SEQ_CST);
        while (bits) {
            uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (i < d->max_vcpus) {
                serve_vcpu(d, &d->vcpus[i]);
                served++;
            }
        }
    }
    return served + hv_evfast_drain(d) + hv_vm_event_drain(d);
}

static uint64_t run_timers(struct hv_domain *d)
{
    uint64_t next = UINT64_MAX;

    pthread_mutex_lock(&hv.lock);
    if (!d->destroying && !d->dead)
        hv_timers_fire(d, hv_guest_now(d), &next);
    pthread_mutex_unlock(&hv.lock);
    return next;
}

static void sleep_on_doorbell(struct hv_domain *d, uint64_t next)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);
    uint32_t bell = __atomic_load_n(&h->doorbell, __ATOMIC_SEQ_CST);
    uint64_t now = hv_guest_now(d), wait = 1000000000ULL;
    struct timespec ts;

    if (next != UINT64_MAX)
        wait = next > now ? next - now : 0;
    if (wait > 1000000000ULL)
        wait = 1000000000ULL;
    ts.tv_sec = (time_t)(wait / 1000000000ULL);
    ts.tv_nsec = (long)(wait % 1000000000ULL);
    __atomic_store_n(&h->core_sleeping, 1, __ATOMIC_SEQ_CST);
    if (!(h->pending[0] | h->pending[1]) && !hv_evfast_waiting(d) && !hv_vm_event_drain_due(d) &&
        !__atomic_load_n(&d->stop, __ATOMIC_SEQ_CST) && wait)
        syscall(SYS_futex, &h->doorbell, FUTEX_WAIT, bell, &ts, NULL, 0);
    __atomic_store_n(&h->core_sleeping, 0, __ATOMIC_SEQ_CST);
}

/* Could a vCPU send a request soon? Not one that is offline, stopped, waiting for an answer
 * (blocked, polling in the core) or polling its upcall flag in guest mode: while none could,
 * spinning would only take a CPU from the vCPU or the backend it talks to. A racy read, as a
 * hint: a request finds the runner asleep and rings the doorbell. */
static bool vcpus_may_call(struct hv_domain *d)
{
    if (hv_vm_event_busy(d))               /* a monitor's answer is due (vm_event.c) */
        return true;
    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        if (__atomic_load_n(&v->online, __ATOMIC_RELAXED) &&
            __atomic_load_n(&v->started, __ATOMIC_RELAXED) &&
            !__atomic_load_n(&v->stopped, __ATOMIC_RELAXED) &&
            !__atomic_load_n(&v->deferred, __ATOMIC_RELAXED) && !hv_evfast_vcpu_polling(d, i))
            return true;
    }
    return false;
}

static void *runner_main(void *arg)
{
    struct hv_domain *d = arg;
    uint64_t last = hv_now(), last_time_pub = last, next = UINT64_MAX;
    unsigned spins = 0;

    hv_cgroup_attach(d, (pid_t)syscall(SYS_gettid), true);
    while (!__atomic_load_n(&d->stop, __ATOMIC_SEQ_CST)) {
        uint64_t now;
        if (serve_pending(d)) {
            last = hv_now();
            continue;
        }
        now = hv_now();
        if (next <= hv_guest_now(d) || now - last_time_pub > 1000000000ULL) {
            next = run_timers(d);
            if (now - last_time_pub > 10000000000ULL) {
                hv_time_publish(d);
                last_time_pub = now;
            }
        }
        if (now - last < hv.runner_spin_ns && (++spins % 16 || vcpus_may_call(d))) {
            if (now - last > 2000 && spins % 16 == 0)
                sched_yield();              /* a vCPU or a backend may need this CPU */
            __builtin_ia32_pause();
            continue;
        }
        next = run_timers(d);
        sleep_on_doorbell(d, next);
        last = hv_now() - hv.runner_spin_ns;   /* do not spin after a timeout */
    }
    return NULL;
}

int hv_runner_start(struct hv_domain *d)
{
    int rc = pthread_create(&d->runner, NULL, runner_main, d);

    if (rc)
        return -rc;
    d->runner_started = true;
    return 0;
}

void hv_runner_wake(struct hv_domain *d)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);

    __atomic_add_fetch(&h->doorbell, 1, __ATOMIC_SEQ_CST);
    futex_wake_all(&h->doorbell);
}

void hv_runner_stop(struct hv_domain *d)
{
    if (!d->runner_started)
        return;
    __atomic_store_n(&d->stop, 1, __ATOMIC_SEQ_CST);
    hv_runner_wake(d);
    pthread_join(d->runner, NULL);
    d->runner_started = false;
}
