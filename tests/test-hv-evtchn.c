/* test-hv-evtchn - event channels on a real core: ping-pong between two domains over a port the
 * toolstack set up, Domain-0 VIRQs (domain exceptions, console ring), port ownership. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

static struct hvhost host;

static void test_pingpong(void)
{
    char cmd[128];
    int server = hvhost_create(&host, 1, 16), client = hvhost_create(&host, 1, 16);
    uint32_t port = 0;
    struct keel_evtchn_op st;

    tap_ok(server > 0 && client > 0, "two domains created");
    tap_is_int(kc_evtchn_alloc_unbound(host.h, (uint32_t)server, (uint32_t)client, &port), 0,
               "toolstack allocates an unbound port in the server for the client");
    tap_is_int(kc_evtchn_status(host.h, (uint32_t)server, port, &st), -EACCES,
               "the default FLASK policy does not let Domain-0 read a guest channel's status");
    snprintf(cmd, sizeof(cmd), "role=server port=%u rounds=2000", port);
    hvhost_build(&host, (uint32_t)server, "pingpong", cmd, 1, 16);
    snprintf(cmd, sizeof(cmd), "role=client peer=%d port=%u rounds=2000", server, port);
    hvhost_build(&host, (uint32_t)client, "pingpong", cmd, 1, 16);
    kc_domain_unpause(host.h, (uint32_t)server);
    kc_domain_unpause(host.h, (uint32_t)client);
    tap_ok(hvhost_wait_console(&host, (uint32_t)client, "client done, 2000 round trips", 20000),
           "client completes 2000 round trips");
    tap_ok(hvhost_wait_console(&host, (uint32_t)server, "server done, 2000 round trips", 5000),
           "server completes 2000 round trips");
    tap_diag("%s", strstr(hvhost_console(&host, (uint32_t)client), "client done"));
    kc_flask_setenforce(host.h, 0);
    tap_ok(kc_evtchn_status(host.h, (uint32_t)server, port, &st) == 0 &&
           st.status == KEEL_EVTCHNSTAT_INTERDOMAIN, "(permissive) the server's port is interdomain");
    kc_domain_destroy(host.h, (uint32_t)client);
    tap_ok(kc_evtchn_status(host.h, (uint32_t)server, port, &st) == 0 &&
           st.status == KEEL_EVTCHNSTAT_UNBOUND,
           "(permissive) destroying the client leaves the server's port unbound");
    kc_flask_setenforce(host.h, 1);
    kc_domain_destroy(host.h, (uint32_t)server);
}

static void test_virqs(void)
{
    uint32_t exc, con, again;
    struct pollfd p;
    int domid;

    tap_is_int(kc_evtchn_bind_virq(host.h, KEEL_VIRQ_DOM_EXC, &exc), 0, "bind VIRQ_DOM_EXC");
    tap_is_int(kc_evtchn_bind_virq(host.h, KEEL_VIRQ_CON_RING, &con), 0, "bind VIRQ_CON_RING");
    tap_is_int(kc_evtchn_bind_virq(host.h, KEEL_VIRQ_DOM_EXC, &again), -EEXIST,
               "a connection binds a VIRQ once");
    {
        kc_handle *second;
        uint32_t p2;
        struct pollfd p2fd;
        tap_ok(kc_open(&second, host.rundir) == 0 &&
               kc_evtchn_bind_virq(second, KEEL_VIRQ_DOM_EXC, &p2) == 0,
               "another toolstack connection binds the same global VIRQ");
        int dd = hvhost_boot(&host, "hello", "", 1, 16);
        hvhost_wait_shutdown(&host, (uint32_t)dd, 5000);
        p2fd.fd = kc_evtchn_fd(second, p2);
        p2fd.events = POLLIN;
        tap_ok(poll(&p2fd, 1, 5000) == 1, "both connections are notified");
        kc_domain_destroy(host.h, (uint32_t)dd);
        kc_close(second);
        kc_evtchn_ack(host.h, exc);
    }
    domid = hvhost_boot(&host, "hello", "", 1, 16);
    p.fd = kc_evtchn_fd(host.h, con);
    p.events = POLLIN;
    tap_ok(poll(&p, 1, 5000) == 1, "guest console output raises VIRQ_CON_RING on its fd");
    hvhost_wait_shutdown(&host, (uint32_t)domid, 5000);
    p.fd = kc_evtchn_fd(host.h, exc);
    tap_ok(poll(&p, 1, 5000) == 1 && kc_evtchn_ack(host.h, exc) >= 1,
           "a guest shutdown raises VIRQ_DOM_EXC");
    tap_is_int(kc_evtchn_ack(host.h, exc), 0, "acknowledged notifications are consumed");
    kc_domain_destroy(host.h, (uint32_t)domid);
    p.fd = kc_evtchn_fd(host.h, exc);
    tap_ok(poll(&p, 1, 5000) == 1, "destroying a domain raises VIRQ_DOM_EXC");
    tap_is_int(kc_evtchn_close(host.h, exc), 0, "close a port");
    tap_is_int(kc_evtchn_close(host.h, exc), -EINVAL, "closing it twice fails");
    tap_is_int(kc_evtchn_notify(host.h, 4000), -EINVAL, "notifying an unbound port fails");
}

static void test_ownership(void)
{
    kc_handle *other;
    uint32_t port;

    kc_evtchn_bind_virq(host.h, KEEL_VIRQ_DOM_EXC, &port);
    tap_ok(kc_open(&other, host.rundir) == 0, "a second toolstack connection");
    tap_is_int(kc_evtchn_close(other, port), -EINVAL,
               "a connection cannot close another connection's port");
    kc_close(other);
    kc_close(host.h);
    kc_open(&host.h, host.rundir);
    int rc = -EEXIST;
    for (int i = 0; i < 100 && rc == -EEXIST; i++) {   /* the core notices the close shortly */
        rc = kc_evtchn_bind_virq(host.h, KEEL_VIRQ_DOM_EXC, &port);
        if (rc == -EEXIST)
            usleep(10000);
    }
    tap_is_int(rc, 0, "ports of a closed connection are released");
}

int main(void)
{
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    test_pingpong();
    test_virqs();
    test_ownership();
    hvhost_stop(&host);
    return tap_done();
}
