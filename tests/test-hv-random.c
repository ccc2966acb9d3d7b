/* test-hv-random - random hypercalls from both sides: thousands of toolstack calls with random
 * families, commands and argument bytes (right-sized and wrong-sized) against a real core with
 * live domains, and a guest (chaos) making 100000 random hypercalls. The core must answer every one (an error or a result), never crash or hang, and
 * still work afterwards. A seeded generator, so a failure can be replayed. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

#define CALLS 20000

static struct hvhost host;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const uint32_t ops[] = { KH_DOMCTL, KH_SYSCTL, KH_MEMORY_OP, KH_EVENT_CHANNEL_OP,
                                KH_SCHED_OP, KH_VCPU_OP, KH_CONSOLE_IO, KH_XSM_OP,
                                KH_XEN_VERSION, KH_SET_CALLBACKS, 1234 };

static size_t arg_size(uint32_t op)
{
    switch (op) {
    case KH_DOMCTL: return sizeof(struct keel_domctl);
    case KH_SYSCTL: return sizeof(struct keel_sysctl);
    case KH_MEMORY_OP: return sizeof(struct keel_memory_reservation);
    case KH_EVENT_CHANNEL_OP: return sizeof(struct keel_evtchn_op);
    case KH_XSM_OP: return sizeof(struct keel_flask_op);
    case KH_CONSOLE_IO: return sizeof(struct keel_console_io);
    default: return 16;
    }
}

/* Random bytes, with the fields that select a path sometimes made plausible. */
static void fill(uint32_t op, uint8_t *arg, size_t len, const int *doms)
{
    for (size_t i = 0; i < len; i++)
        arg[i] = (uint8_t)rnd();
    if (op == KH_DOMCTL && len == sizeof(struct keel_domctl)) {
        struct keel_domctl *dc = (struct keel_domctl *)arg;
        static const uint32_t cmds[] = { 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 17, 25, 33, 34, 48, 200, 201 };
        if (rnd() % 4)
            dc->interface_version = KEEL_DOMCTL_INTERFACE_VERSION;
        dc->cmd = cmds[rnd() % (sizeof(cmds) / sizeof(cmds[0]))];
        if (rnd() % 3)
            dc->domain = (uint32_t)doms[rnd() % 3];
        if (dc->cmd == KEEL_DOMCTL_DESTROYDOMAIN && rnd() % 8)
            dc->cmd = KEEL_DOMCTL_GETDOMAININFO;  /* keep the domains alive most of the time */
        if (dc->cmd == KEEL_DOMCTL_SHADOW_OP)
            dc->u.shadow.op = (uint32_t)(rnd() % 14);
    } else if (op == KH_SYSCTL && len == sizeof(struct keel_sysctl)) {
        struct keel_sysctl *sc = (struct keel_sysctl *)arg;
        if (rnd() % 4)
            sc->interface_version = KEEL_SYSCTL_INTERFACE_VERSION;
        sc->cmd = (uint32_t)(rnd() % 8);
    } else if (op == KH_EVENT_CHANNEL_OP || op == KH_MEMORY_OP) {
        uint32_t *w = (uint32_t *)arg;
        if (rnd() % 2)
            w[0] = (uint32_t)doms[rnd() % 3];
        if (rnd() % 2 && len >= 8)
            w[1] = (uint32_t)doms[rnd() % 3];
        if (op == KH_MEMORY_OP && rnd() % 2)
            ((struct keel_memory_reservation *)arg)->domid = (uint32_t)doms[rnd() % 3];
    } else if (op == KH_XSM_OP && len == sizeof(struct keel_flask_op)) {
        struct keel_flask_op *fo = (struct keel_flask_op *)arg;
        fo->cmd = (uint32_t)(2 + rnd() % 5);      /* never LOAD garbage-as-policy half the time */
        if (fo->cmd == KEEL_FLASK_SETENFORCE)
            fo->value = 1;
    }
}

int main(void)
{
    static uint8_t arg[8192], in[4096], out[65536];
    int doms[3], answered = 0, nfds = 0, fds[4];
    long rc;
    uint32_t maj, min;

    if (getenv("KEEL_TEST_SEED"))
        rng = strtoull(getenv("KEEL_TEST_SEED"), NULL, 0) | 1;
    tap_diag("seed %#llx (set KEEL_TEST_SEED to replay)", (unsigned long long)rng);
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    doms[0] = hvhost_boot(&host, "counter", "interval=5", 1, 16);
    doms[1] = hvhost_boot(&host, "smp", "", 4, 16);
    doms[2] = 0;
    for (int i = 0; i < CALLS; i++) {
        uint32_t op = ops[rnd() % (sizeof(ops) / sizeof(ops[0]))];
        size_t len = rnd() % 5 ? arg_size(op) : rnd() % 300, in_len = rnd() % 3 ? 0 : rnd() % 4096;
        size_t out_max = rnd() % 2 ? sizeof(out) : rnd() % 64, got = 0;
        fill(op, arg, len, doms);
        for (size_t k = 0; k < in_len; k++)
            in[k] = (uint8_t)rnd();
        rc = kc_hypercall(host.h, op, rnd() % 4 ? rnd() % 16 : rnd(), arg, len, in, in_len, out,
                          out_max, &got, fds, 4, &nfds);
        for (int k = 0; k < nfds; k++)
            close(fds[k]);
        if (rc != -EPIPE && rc != -EPROTO)
            answered++;
        else
            break;
    }
    tap_is_int(answered, CALLS, "the core answers 20000 random hypercalls");
    tap_ok(kc_version(host.h, &maj, &min) == 0, "the core still works afterwards");
    for (int i = 0; i < 2; i++)
        if (doms[i] > 0)
            kc_domain_destroy(host.h, (uint32_t)doms[i]);
    tap_ok(hvhost_count_children(host.pid) == 0, "every domain can still be destroyed");
    {
        char cmd[64];
        int bystander = hvhost_boot(&host, "counter", "interval=10", 1, 16), chaos;
        snprintf(cmd, sizeof(cmd), "calls=100000 seed=%llu", (unsigned long long)(rnd() % 100000));
        chaos = hvhost_boot(&host, "chaos", cmd, 1, 16);
        tap_ok(hvhost_wait_console(&host, (uint32_t)chaos, "chaos: survived 100000 calls", 60000),
               "a guest making 100000 random hypercalls gets an answer to each");
        tap_ok(hvhost_wait_console(&host, (uint32_t)bystander, "counter 20", 5000),
               "a bystander keeps running meanwhile");
        tap_ok(kc_version(host.h, &maj, &min) == 0, "the core still works after the guest's chaos");
        kc_domain_destroy(host.h, (uint32_t)chaos);
        kc_domain_destroy(host.h, (uint32_t)bystander);
    }
    hvhost_stop(&host);
    return tap_done();
}
