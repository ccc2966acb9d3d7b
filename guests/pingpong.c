/* pingpong - event-channel ping-pong between two domains, or with a Domain-0 process.
 * Server: role=server port=P rounds=N: the toolstack allocated port P in this domain for the
 *         client (as Xen's toolstack does for console and store rings); it answers each ping,
 *         after delay_us=D microseconds if given. forge=1: first, as a hostile guest would, it
 *         sets every Domain-0 send bit, every guest_send and kick_vcpu bit in its own control
 *         area and rings the doorbell (the core and Domain-0 processes must turn that into
 *         nothing but events on this domain's own ports).
 * Client: role=client peer=DOMID port=P rounds=N: binds to the server's port and pings. */
#include "rt/keel_guest.h"
#include "keel/privcmd.h"

/* Write what a Domain-0 process writes to signal us, for every Domain-0 port. */
static void forge_sends(void)
{
    volatile struct keel_privcmd_bell *b =
        (volatile struct keel_privcmd_bell *)(KEEL_SHARED_BASE + KEEL_PRIVCMD_BELL_OFF);

    for (unsigned w = 0; w < KEEL_NR_EVTCHN / 64; w++) {
        b->send[w] = ~0ULL;
        b->guest_send[w] = ~0ULL;
    }
    for (unsigned w = 0; w < KEEL_MAX_VCPUS / 64; w++)
        b->kick_vcpu[w] = ~0ULL;
    __atomic_store_n(&b->send_sel, ~0ULL, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&b->doorbell, 1, __ATOMIC_SEQ_CST);
    hypercall(KH_XEN_VERSION, KEEL_VERSION_VERSION, 0);   /* wakes the runner if it slept */
    rt_printf("pingpong: forged Domain-0 sends\n");
}

static volatile uint64_t received;

static void on_event(uint32_t port, void *data)
{
    (void)port;
    (void)data;
    received++;
}

int main(void)
{
    const char *role = rt_arg("role");
    uint32_t peer = (uint32_t)rt_arg_u64("peer", 0);
    uint64_t rounds = rt_arg_u64("rounds", 100), delay = rt_arg_u64("delay_us", 0), sent = 0, t0;
    int server, port;

    if (!role)
        rt_panic("pingpong: role= missing");
    server = !strncmp(role, "server", 6);
    if (server) {
        port = (int)rt_arg_u64("port", 0);
        rt_set_handler((uint32_t)port, on_event, 0);
        rt_printf("pingpong: server on port %d\n", port);
    } else {
        port = rt_bind_interdomain(peer, (uint32_t)rt_arg_u64("port", 0), on_event, 0);
        rt_printf("pingpong: client bound port %d to domain %u\n", port, peer);
    }
    if (port < 0)
        rt_panic("pingpong: binding failed (%d)", port);
    rt_enable_events();
    if (server && rt_arg_u64("forge", 0))
        forge_sends();
    if (!server)
        received = 0;             /* binding sets our own port pending once, as Xen does */
    t0 = rt_now();
    for (uint64_t i = 0; i < rounds; i++) {
        if (!server)
            rt_notify((uint32_t)port);
        for (uint64_t seen = rt_events_seen(); received <= i; seen = rt_events_seen())
            rt_block_since(seen);
        if (server && delay)
            rt_sleep_until(rt_now() + delay * 1000);
        if (server)
            rt_notify((uint32_t)port);
        sent++;
    }
    rt_printf("pingpong: %s done, %llu round trips in %llu us\n", server ? "server" : "client",
              (unsigned long long)rounds, (unsigned long long)((rt_now() - t0) / 1000));
    return 0;
}
