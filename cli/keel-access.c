/* keel-access - watch a running domain through vm_event and print one line per event: Keel's
 * counterpart of Xen's xen-access (libctrl's kc_monitor_* and consumer API, keel/ctrl_monitor.h).
 *
 *   keel-access [-r RUNDIR] [-n COUNT] [-a] DOMID MODE
 *   MODE: breakpoint | singlestep | guest_request | write_ctrlreg | trace=ADDR |
 *         write[=GFN[+N]] | exec[=GFN[+N]] | hwbp=ADDR | watch=ADDR[+LEN]
 *
 * write / exec (Xen's xen-access modes): the frames GFN..GFN+N-1 (default: every frame, through
 * the default access) become rx (write) or rw (exec); a frame's first write (execution) is printed
 * and the answer gives the frame rwx, so each frame is reported once; with -a every access is
 * printed and let through once (the frame stays watched).
 * breakpoint: every int3 the guest executes (resumed after it); singlestep: every instruction;
 * guest_request: the guest's requests; write_ctrlreg: every privileged vCPU state write (event
 * callback, FS/GS base, timers, vCPU up/down), allowed. trace=ADDR is the example tool on top:
 * a function-entry tracer that plants an int3 at ADDR (a guest virtual address), logs each hit
 * with its arguments, and steps the original instruction before planting it again. hwbp=ADDR and
 * watch=ADDR[+LEN] set a hardware breakpoint (execute) or watchpoint (write, LEN 1, 2, 4 or 8
 * bytes, default 1) in DR0 of every vCPU and print each debug exception. The program
 * ends after COUNT events (default: never) or at SIGINT/SIGTERM, restoring what it planted;
 * monitoring ends with it in any case (the core lifts it when the connection closes). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/ctrl_monitor.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

struct trace {
    uint64_t addr;
    uint8_t orig;
    bool planted;
    uint32_t stepping_vcpu;            /* UINT32_MAX: none */
};

static const char *reg_names[KEEL_VM_EVENT_NR_REGS] = { "callback", "fs_base", "gs_base",
                                                        "singleshot", "periodic", "vcpu_up" };

static void print_event(uint32_t domid, const struct keel_vm_event *e)
{
    const struct keel_vm_event_regs_x86 *r = &e->data.regs.x86;

    switch (e->reason) {
    case KEEL_VM_EVENT_REASON_SOFTWARE_BREAKPOINT:
        printf("d%u v%u breakpoint rip=%#llx gfn=%#llx len=%u rax=%#llx\n", domid, e->vcpu_id,
               (unsigned long long)r->rip, (unsigned long long)e->u.software_breakpoint.gfn,
               e->u.software_breakpoint.insn_length, (unsigned long long)r->rax);
        break;
    case KEEL_VM_EVENT_REASON_SINGLESTEP:
        printf("d%u v%u singlestep rip=%#llx gfn=%#llx\n", domid, e->vcpu_id,
               (unsigned long long)r->rip, (unsigned long long)e->u.singlestep.gfn);
        break;
    case KEEL_VM_EVENT_REASON_GUEST_REQUEST:
        printf("d%u v%u guest_request rip=%#llx rbx=%#llx\n", domid, e->vcpu_id,
               (unsigned long long)r->rip, (unsigned long long)r->rbx);
        break;
    case KEEL_VM_EVENT_REASON_WRITE_CTRLREG:
        printf("d%u v%u write %s (vCPU %u) old=%#llx new=%#llx rip=%#llx\n", domid, e->vcpu_id,
               e->u.write_ctrlreg.index < KEEL_VM_EVENT_NR_REGS ?
               reg_names[e->u.write_ctrlreg.index] : "?", e->u.write_ctrlreg.vcpu,
               (unsigned long long)e->u.write_ctrlreg.old_value,
               (unsigned long long)e->u.write_ctrlreg.new_value, (unsigned long long)r->rip);
        break;
    case KEEL_VM_EVENT_REASON_MEM_ACCESS: {
        uint32_t f = e->u.mem_access.flags;
        printf("d%u v%u %s gfn=%#llx offset=%#llx gla=%#llx rip=%#llx access=%s%s%s\n", domid,
               e->vcpu_id, f & KEEL_MEM_ACCESS_FLAG_X ? "exec" : f & KEEL_MEM_ACCESS_FLAG_W ?
               "write" : "read", (unsigned long long)e->u.mem_access.gfn,
               (unsigned long long)e->u.mem_access.offset, (unsigned long long)e->u.mem_access.gla,
               (unsigned long long)r->rip, f & KEEL_MEM_ACCESS_FLAG_R ? "r" : "",
               f & KEEL_MEM_ACCESS_FLAG_W ? "w" : "", f & KEEL_MEM_ACCESS_FLAG_X ? "x" : "");
        break;
    }
    case KEEL_VM_EVENT_REASON_DEBUG_EXCEPTION:
        printf("d%u v%u debug rip=%#llx gfn=%#llx dr6=%#llx\n", domid, e->vcpu_id,
               (unsigned long long)r->rip, (unsigned long long)e->u.debug_exception.gfn,
               (unsigned long long)r->dr6);
        break;
    default:
        printf("d%u v%u reason %u\n", domid, e->vcpu_id, e->reason);
        break;
    }
    fflush(stdout);
}

static int plant(kc_vm_event *ve, struct trace *t)
{
    static const uint8_t int3 = 0xcc;
    int rc = kc_vm_event_write(ve, t->addr, &int3, 1);

    t->planted = rc == 0;
    return rc;
}

/* trace=ADDR: a hit at ADDR is logged, the original byte goes back, the vCPU steps once from
 * ADDR (the other vCPUs may pass ADDR meanwhile: the usual price of this technique), and at the
 * step the int3 is planted again. */
static void trace_event(kc_vm_event *ve, struct trace *t, const struct keel_vm_event *e,
                        struct keel_vm_event *rsp)
{
    const struct keel_vm_event_regs_x86 *r = &e->data.regs.x86;

    if (e->reason == KEEL_VM_EVENT_REASON_SOFTWARE_BREAKPOINT && r->rip == t->addr &&
        t->stepping_vcpu == UINT32_MAX) {
        printf("d%u v%u call %#llx (%#llx, %#llx, %#llx) rsp=%#llx\n", kc_vm_event_domid(ve),
               e->vcpu_id, (unsigned long long)r->rip, (unsigned long long)r->rdi,
               (unsigned long long)r->rsi, (unsigned long long)r->rdx,
               (unsigned long long)r->rsp);
        fflush(stdout);
        kc_vm_event_write(ve, t->addr, &t->orig, 1);
        t->planted = false;
        t->stepping_vcpu = e->vcpu_id;
        rsp->flags |= KEEL_VM_EVENT_FLAG_SET_REGISTERS | KEEL_VM_EVENT_FLAG_TOGGLE_SINGLESTEP;
        return;                                      /* rip stays at ADDR: run the original */
    }
    if (e->reason == KEEL_VM_EVENT_REASON_SINGLESTEP && e->vcpu_id == t->stepping_vcpu) {
        plant(ve, t);
        t->stepping_vcpu = UINT32_MAX;
        rsp->flags |= KEEL_VM_EVENT_FLAG_TOGGLE_SINGLESTEP;
        return;
    }
    if (e->reason == KEEL_VM_EVENT_REASON_SOFTWARE_BREAKPOINT) {
        /* someone else's int3, or ADDR hit while stepping: go back to it unchanged */
        rsp->flags |= KEEL_VM_EVENT_FLAG_SET_REGISTERS;
        if (r->rip == t->addr)
            return;                                  /* ADDR holds the original again now */
        rsp->data.regs.x86.rip += e->u.software_breakpoint.insn_length;
    }
}

/* write[=GFN[+N]] / exec[=GFN[+N]]: the frames (or the default access) lose w (x). */
static int watch_memory(kc_handle *h, uint32_t domid, const char *arg, uint32_t access)
{
    unsigned long long gfn, n = 1;
    char *end;

    if (!*arg)
        return kc_mem_access_set(h, domid, access, KEEL_MEM_ACCESS_DEFAULT_GFN, 0);
    gfn = strtoull(arg + 1, &end, 0);
    if (*arg != '=' || end == arg + 1 || (*end == '+' && ((n = strtoull(end + 1, &end, 0)) == 0)) ||
        *end) {
        fprintf(stderr, "keel-access: frames expected as =GFN or =GFN+N, not %s\n", arg);
        return -EINVAL;
    }
    return kc_mem_access_set(h, domid, access, gfn, n);
}

/* hwbp=ADDR / watch=ADDR[+LEN]: DR0 of every vCPU (EBUSY: one not up, skipped; EINVAL past
 * the first: no such vCPU, the end). */
static int hw_breakpoint(kc_handle *h, uint32_t domid, const char *arg, bool exec)
{
    static const unsigned len_code[9] = { [1] = 0, [2] = 1, [4] = 3, [8] = 2 };
    unsigned long long a, len = 1;
    uint64_t dr[4] = { 0 }, dr7;
    char *end;
    int rc;

    a = strtoull(arg, &end, 0);
    if (!exec && *end == '+')
        len = strtoull(end + 1, &end, 0);
    if (end == arg || *end || (len != 1 && len != 2 && len != 4 && len != 8)) {
        fprintf(stderr, "keel-access: expected %s, not %s\n", exec ? "hwbp=ADDR" :
                "watch=ADDR[+LEN] (LEN 1, 2, 4 or 8)", arg);
        return -EINVAL;
    }
    dr[0] = a;
    dr7 = KEEL_DR7_L(0) | (exec ? 0 : KEEL_DR7_RW(0, 1) | KEEL_DR7_LEN(0, len_code[len]));
    if ((rc = kc_monitor_debug_exceptions(h, domid, true, true)) < 0)
        return rc;
    for (uint32_t v = 0;; v++) {
        rc = kc_monitor_set_debugregs(h, domid, v, dr, dr7);
        if (v > 0 && rc == -EINVAL)
            return 0;
        if (rc < 0 && rc != -EBUSY)
            return rc;
    }
}

static int setup(kc_handle *h, uint32_t domid, const char *mode, struct trace *t,
                 kc_vm_event **ve)
{
    int rc = kc_monitor_enable(h, domid, ve);

    if (rc < 0)
        return rc;
    if (!strncmp(mode, "write", 5) && (mode[5] == 0 || mode[5] == '='))
        return watch_memory(h, domid, mode + 5, KEEL_MEM_ACCESS_RX);
    if (!strncmp(mode, "exec", 4) && (mode[4] == 0 || mode[4] == '='))
        return watch_memory(h, domid, mode + 4, KEEL_MEM_ACCESS_RW);
    if (!strcmp(mode, "breakpoint"))
        return kc_monitor_software_breakpoint(h, domid, true);
    if (!strcmp(mode, "singlestep"))
        return kc_monitor_singlestep(h, domid, true);
    if (!strcmp(mode, "guest_request"))
        return kc_monitor_guest_request(h, domid, true, true);
    if (!strcmp(mode, "write_ctrlreg")) {
        for (uint32_t i = 0; i < KEEL_VM_EVENT_NR_REGS && rc == 0; i++)
            rc = kc_monitor_write_ctrlreg(h, domid, i, true, true, false);
        return rc;
    }
    if (!strncmp(mode, "hwbp=", 5) || !strncmp(mode, "watch=", 6))
        return hw_breakpoint(h, domid, strchr(mode, '=') + 1, mode[0] == 'h');
    if (!strncmp(mode, "trace=", 6)) {
        char *end;
        t->addr = strtoull(mode + 6, &end, 0);
        if (*end || (rc = kc_vm_event_read(*ve, t->addr, &t->orig, 1)) < 0) {
            fprintf(stderr, "keel-access: bad trace address %s\n", mode + 6);
            return -EINVAL;
        }
        if ((rc = kc_monitor_software_breakpoint(h, domid, true)) < 0)
            return rc;
        return plant(*ve, t);
    }
    fprintf(stderr, "keel-access: unknown mode %s\n", mode);
    return -EINVAL;
}

int main(int argc, char **argv)
{
    struct trace t = { .stepping_vcpu = UINT32_MAX };
    const char *rundir = NULL;
    unsigned long long count = 0, seen = 0;
    bool every = false;
    struct sigaction sa;
    kc_vm_event *ve = NULL;
    kc_handle *h;
    uint32_t domid;
    int opt, rc;

    while ((opt = getopt(argc, argv, "r:n:ah")) != -1) {
        if (opt == 'r')
            rundir = optarg;
        else if (opt == 'a')
            every = true;
        else if (opt == 'n')
            count = strtoull(optarg, NULL, 0);
        else {
            fprintf(stderr, "usage: keel-access [-r RUNDIR] [-n COUNT] [-a] DOMID "
                            "breakpoint|singlestep|guest_request|write_ctrlreg|trace=ADDR|"
                            "write[=GFN[+N]]|exec[=GFN[+N]]|hwbp=ADDR|watch=ADDR[+LEN]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "keel-access: DOMID and MODE expected (-h for help)\n");
        return 2;
    }
    domid = (uint32_t)strtoul(argv[optind], NULL, 0);
    if (kc_open(&h, rundir) < 0) {
        fprintf(stderr, "keel-access: cannot reach the core: %s\n", kc_error(NULL));
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if ((rc = setup(h, domid, argv[optind + 1], &t, &ve)) < 0) {
        fprintf(stderr, "keel-access: %s\n", kc_error(h));
        kc_monitor_disable(ve);
        kc_close(h);
        return 1;
    }
    while (!stop && (!count || seen < count)) {
        struct keel_vm_event e, rsp;
        if ((rc = kc_vm_event_get_request(ve, &e, 200)) < 0)
            break;
        if (rc == 0)
            continue;
        seen++;
        rsp = e;
        rsp.flags = e.flags & KEEL_VM_EVENT_FLAG_VCPU_PAUSED;
        if (t.addr)
            trace_event(ve, &t, &e, &rsp);
        else
            print_event(domid, &e);
        if (e.reason == KEEL_VM_EVENT_REASON_MEM_ACCESS) {
            if (every)                               /* through once, still watched */
                rsp.flags |= KEEL_VM_EVENT_FLAG_EMULATE;
            else                                     /* reported once per frame */
                kc_vm_event_set_access(&rsp, e.u.mem_access.gfn, KEEL_MEM_ACCESS_RWX);
        }
        kc_vm_event_put_response(ve, &rsp);
    }
    if (t.planted)
        kc_vm_event_write(ve, t.addr, &t.orig, 1);
    kc_monitor_disable(ve);
    kc_close(h);
    return rc < 0 ? 1 : 0;
}
