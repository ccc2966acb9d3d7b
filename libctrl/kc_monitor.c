/* kc_monitor.c - libkeelctrl: vm_event monitoring (keel/ctrl_monitor.h). The monitor domctls,
 * and the consumer's side of the ring: requests taken with Xen's req_event rule (spin, then ask
 * for an eventfd write and sleep in poll), responses published and the domain's runner woken
 * through its doorbell only when it sleeps. Everything read from the ring is copied once. */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kc_private.h"
#include "keel/ctrl_monitor.h"

struct kc_vm_event {
    kc_handle *h;
    uint32_t domid;
    int ring_fd, efd, mem_fd;
    uint64_t mem_size;
    struct keel_vm_event_sring *ring;
    struct keel_privcmd_bell *bell;    /* the domain's doorbell page */
    uint32_t req_cons, rsp_prod;
    uint64_t spin_ns;
};

long kc__monitor_op(kc_handle *h, uint32_t domid, void *op, size_t len)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_MONITOR_OP, .domain = domid };
    long rc;

    if (len > sizeof(dc.u.pad))
        return -EINVAL;
    memcpy(dc.u.pad, op, len);
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    if (rc >= 0)
        memcpy(op, dc.u.pad, len);
    return rc;
}

static long monitor(kc_handle *h, uint32_t domid, const struct keel_domctl_monitor_op *op,
                    struct keel_domctl_monitor_op *out)
{
    struct keel_domctl_monitor_op tmp = *op;
    long rc = kc__monitor_op(h, domid, &tmp, sizeof(tmp));

    if (rc >= 0 && out)
        *out = tmp;
    return rc;
}

static int monitor_event(kc_handle *h, uint32_t domid, uint32_t event, uint32_t index, bool on,
                         bool sync, bool onchange, const char *what)
{
    struct keel_domctl_monitor_op op = {
        .op = on ? KEEL_MONITOR_OP_ENABLE : KEEL_MONITOR_OP_DISABLE, .event = event,
        .index = index, .sync = sync, .onchangeonly = onchange };
    long rc = monitor(h, domid, &op, NULL);

    return rc < 0 ? (int)kc_fail(rc, "%s %s events of domain %u", on ? "enabling" : "disabling",
                                 what, domid) : 0;
}

int kc_monitor_get_capabilities(kc_handle *h, uint32_t domid, uint64_t *caps)
{
    struct keel_domctl_monitor_op op = { .op = KEEL_MONITOR_OP_GET_CAPABILITIES }, out;
    long rc = monitor(h, domid, &op, &out);

    if (rc < 0)
        return (int)kc_fail(rc, "reading the monitor capabilities of domain %u", domid);
    *caps = out.capabilities;
    return 0;
}

int kc_monitor_software_breakpoint(kc_handle *h, uint32_t domid, bool enable)
{
    return monitor_event(h, domid, KEEL_MONITOR_EVENT_SOFTWARE_BREAKPOINT, 0, enable, true, false,
                         "breakpoint");
}

int kc_monitor_singlestep(kc_handle *h, uint32_t domid, bool enable)
{
    return monitor_event(h, domid, KEEL_MONITOR_EVENT_SINGLESTEP, 0, enable, true, false,
                         "single-step");
}

int kc_monitor_guest_request(kc_handle *h, uint32_t domid, bool enable, bool sync)
{
    return monitor_event(h, domid, KEEL_MONITOR_EVENT_GUEST_REQUEST, 0, enable, sync, false,
                         "guest request");
}

int kc_monitor_debug_exceptions(kc_handle *h, uint32_t domid, bool enable, bool sync)
{
    return monitor_event(h, domid, KEEL_MONITOR_EVENT_DEBUG_EXCEPTION, 0, enable, sync, false,
                         "debug exception");
}

int kc_monitor_set_debugregs(kc_handle *h, uint32_t domid, uint32_t vcpu, const uint64_t dr[4],
                             uint64_t dr7)
{
    struct keel_domctl_debugreg_op op = { .op = KEEL_MONITOR_OP_SET_DEBUGREGS, .vcpu = vcpu,
                                          .dr7 = dr7 };
    long rc;

    if (dr)
        memcpy(op.dr, dr, sizeof(op.dr));
    else if (dr7)
        return (int)kc_fail(-EINVAL, "domain %u vCPU %u: DR7 %#llx without addresses", domid,
                            vcpu, (unsigned long long)dr7);
    rc = kc__monitor_op(h, domid, &op, sizeof(op));
    return rc < 0 ? (int)kc_fail(rc, "setting the debug registers of domain %u vCPU %u (DR7 "
                                 "%#llx)", domid, vcpu, (unsigned long long)dr7) : 0;
}

int kc_monitor_get_debugregs(kc_handle *h, uint32_t domid, uint32_t vcpu, uint64_t dr[4],
                             uint64_t *dr7)
{
    struct keel_domctl_debugreg_op op = { .op = KEEL_MONITOR_OP_GET_DEBUGREGS, .vcpu = vcpu };
    long rc = kc__monitor_op(h, domid, &op, sizeof(op));

    if (rc < 0)
        return (int)kc_fail(rc, "reading the debug registers of domain %u vCPU %u", domid, vcpu);
    memcpy(dr, op.dr, sizeof(op.dr));
    *dr7 = op.dr7;
    return 0;
}

int kc_monitor_write_ctrlreg(kc_handle *h, uint32_t domid, uint32_t index, bool enable, bool sync,
                             bool onchangeonly)
{
    return monitor_event(h, domid, KEEL_MONITOR_EVENT_WRITE_CTRLREG, index, enable, sync,
                         onchangeonly, "register write");
}

static void ve_free(kc_vm_event *ve)
{
    if (ve->ring && ve->ring != MAP_FAILED)
        munmap(ve->ring, KEEL_VM_EVENT_RING_BYTES);
    if (ve->bell && (void *)ve->bell != MAP_FAILED)
        munmap(ve->bell, KEEL_PRIVCMD_BELL_LEN);
    for (int *fd = &ve->ring_fd; fd <= &ve->mem_fd; fd++)
        if (*fd >= 0)
            close(*fd);
    free(ve);
}

static uint64_t spin_ns(void)
{
    const char *s = getenv("KEEL_VM_EVENT_SPIN_US");
    long us = s ? atol(s) : 0;      /* default: sleep at once (see docs/vm_event.md, Figures) */

    return us > 0 && us < 1000000 ? (uint64_t)us * 1000 : 0;
}

int kc_monitor_enable(kc_handle *h, uint32_t domid, kc_vm_event **out)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_VM_EVENT_OP, .domain = domid };
    struct keel_domctl_vm_event_op op = { .op = KEEL_VM_EVENT_OP_ENABLE,
                                          .mode = KEEL_VM_EVENT_MODE_MONITOR };
    int fds[3], n = 0;
    kc_vm_event *ve;
    long rc;

    memcpy(dc.u.pad, &op, sizeof(op));
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, fds, 3, &n);
    memcpy(&op, dc.u.pad, sizeof(op));
    if (rc >= 0 && (n != 3 || op.ring_bytes != KEEL_VM_EVENT_RING_BYTES ||
                    op.version != KEEL_VM_EVENT_INTERFACE_VERSION))
        rc = -EPROTO;
    if (rc < 0 || !(ve = calloc(1, sizeof(*ve)))) {
        for (int i = 0; i < n; i++)
            close(fds[i]);
        return (int)kc_fail(rc < 0 ? rc : -ENOMEM, "enabling vm_event monitoring of domain %u",
                            domid);
    }
    ve->h = h;
    ve->domid = domid;
    ve->ring_fd = fds[0];
    ve->efd = fds[1];
    ve->mem_fd = -1;
    ve->spin_ns = spin_ns();
    ve->ring = mmap(NULL, KEEL_VM_EVENT_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
    ve->bell = mmap(NULL, KEEL_PRIVCMD_BELL_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fds[2],
                    KEEL_PRIVCMD_BELL_OFF);
    close(fds[2]);
    rc = ve->ring == MAP_FAILED || (void *)ve->bell == MAP_FAILED ? -errno : 0;
    if (rc == 0)
        rc = kc_foreign_fd(h, domid, &ve->mem_fd, &ve->mem_size);
    if (rc < 0) {
        ve_free(ve);
        kc_monitor_disable_raw(h, domid);
        return (int)kc_fail(rc, "mapping the vm_event ring of domain %u", domid);
    }
    *out = ve;
    return 0;
}

int kc_monitor_disable_raw(kc_handle *h, uint32_t domid)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_VM_EVENT_OP, .domain = domid };
    struct keel_domctl_vm_event_op op = { .op = KEEL_VM_EVENT_OP_DISABLE,
                                          .mode = KEEL_VM_EVENT_MODE_MONITOR };

    memcpy(dc.u.pad, &op, sizeof(op));
    return (int)kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
}

int kc_monitor_disable(kc_vm_event *ve)
{
    int rc;

    if (!ve)
        return 0;
    rc = kc_monitor_disable_raw(ve->h, ve->domid);
    if (rc < 0)
        kc_fail(rc, "disabling vm_event monitoring of domain %u", ve->domid);
    ve_free(ve);
    return rc;
}

int kc_vm_event_fd(kc_vm_event *ve)
{
    return ve->efd;
}

uint32_t kc_vm_event_domid(kc_vm_event *ve)
{
    return ve->domid;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* 1: a request was copied; 0: none published; < 0: the core's index is impossible. */
static int take(kc_vm_event *ve, struct keel_vm_event *req)
{
    uint32_t prod = __atomic_load_n(&ve->ring->req_prod, __ATOMIC_ACQUIRE);

    if (prod == ve->req_cons)
        return 0;
    if (prod - ve->req_cons > KEEL_VM_EVENT_RING_SIZE)
        return (int)kc_fail(-EPROTO, "vm_event ring of domain %u: req_prod %u, consumed %u",
                            ve->domid, prod, ve->req_cons);
    memcpy(req, &ve->ring->ring[ve->req_cons % KEEL_VM_EVENT_RING_SIZE], sizeof(*req));
    ve->req_cons++;
    return 1;
}

int kc_vm_event_get_request(kc_vm_event *ve, struct keel_vm_event *req, int timeout_ms)
{
    uint64_t t0 = now_ns(), deadline = timeout_ms < 0 ? UINT64_MAX :
                                       t0 + (uint64_t)timeout_ms * 1000000ULL;
    unsigned spins = 0;
    int rc;

    for (;;) {
        uint64_t now, cnt;
        struct pollfd pfd = { ve->efd, POLLIN, 0 };
        if ((rc = take(ve, req)) != 0)
            return rc;
        now = now_ns();
        if (now - t0 < ve->spin_ns) {
            if (++spins % 16 == 0)
                sched_yield();             /* the vCPU or the runner may need this CPU */
            __builtin_ia32_pause();
            continue;
        }
        __atomic_store_n(&ve->ring->req_event, ve->req_cons + 1, __ATOMIC_SEQ_CST);
        if ((rc = take(ve, req)) != 0)
            return rc;
        if (now >= deadline)
            return 0;
        rc = poll(&pfd, 1, deadline == UINT64_MAX ? -1 : (int)((deadline - now + 999999) / 1000000));
        if (rc < 0 && errno != EINTR)
            return (int)kc_fail(-errno, "waiting for vm_event requests of domain %u", ve->domid);
        if (rc > 0)
            (void)!read(ve->efd, &cnt, sizeof(cnt));
        t0 = now_ns() + ve->spin_ns;       /* no second spin after a sleep */
    }
}

int kc_vm_event_put_response(kc_vm_event *ve, const struct keel_vm_event *rsp)
{
    memcpy(&ve->ring->ring[ve->rsp_prod % KEEL_VM_EVENT_RING_SIZE], rsp, sizeof(*rsp));
    ve->rsp_prod++;
    __atomic_store_n(&ve->ring->rsp_prod, ve->rsp_prod, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ve->bell->core_sleeping, __ATOMIC_SEQ_CST)) {
        __atomic_add_fetch(&ve->bell->doorbell, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, &ve->bell->doorbell, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    return 0;
}

static int guest_range(kc_vm_event *ve, uint64_t gva, size_t len, off_t *off)
{
    if (gva < KEEL_GUEST_BASE || gva - KEEL_GUEST_BASE >= ve->mem_size ||
        len > ve->mem_size - (gva - KEEL_GUEST_BASE))
        return (int)kc_fail(-EFAULT, "guest address %#llx+%zu outside domain %u's memory",
                            (unsigned long long)gva, len, ve->domid);
    *off = (off_t)(gva - KEEL_GUEST_BASE);
    return 0;
}

int kc_vm_event_read(kc_vm_event *ve, uint64_t gva, void *buf, size_t len)
{
    off_t off = 0;
    int rc = guest_range(ve, gva, len, &off);

    if (rc < 0)
        return rc;
    return pread(ve->mem_fd, buf, len, off) == (ssize_t)len ? 0 :
           (int)kc_fail(-EIO, "reading domain %u's memory", ve->domid);
}

int kc_vm_event_write(kc_vm_event *ve, uint64_t gva, const void *buf, size_t len)
{
    off_t off = 0;
    int rc = guest_range(ve, gva, len, &off);

    if (rc < 0)
        return rc;
    return pwrite(ve->mem_fd, buf, len, off) == (ssize_t)len ? 0 :
           (int)kc_fail(-EIO, "writing domain %u's memory", ve->domid);
}
