/* pingpong - event-channel ping-pong between two domains.
 * Server: role=server port=P rounds=N: the toolstack allocated port P in this domain for the
 *         client (as Xen's toolstack does for console and store rings); it answers each ping.
 * Client: role=client peer=DOMID port=P rounds=N: binds to the server's port and pings. */
#include "rt/keel_guest.h"

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
    uint64_t rounds = rt_arg_u64("rounds", 100), sent = 0, t0;
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
    if (!server)
        received = 0;             /* binding sets our own port pending once, as Xen does */
    t0 = rt_now();
    for (uint64_t i = 0; i < rounds; i++) {
        if (!server)
            rt_notify((uint32_t)port);
        while (received <= i)
            rt_block();
        if (server)
            rt_notify((uint32_t)port);
        sent++;
    }
    rt_printf("pingpong: %s done, %llu round trips in %llu us\n", server ? "server" : "client",
              (unsigned long long)rounds, (unsigned long long)((rt_now() - t0) / 1000));
    return 0;
}
