/* test-hv-evtchn - event channels on a real core: ping-pong between two domains over a port the
 * toolstack set up, Domain-0 VIRQs (domain exceptions, console ring), port ownership; the
 * Domain-0 fast path (guest <-> Domain-0 process ping-pong through kc_evtchn_wait and through
 * eventfds, a guest forging Domain-0 sends in its control area, port close, connection close
 * and destroy in the middle of traffic, many ports over several connections); the direct path
 * (a guest that never polls, so every event a Domain-0 process marks itself needs the runner's
 * kick; a wait-only handle and its hand-over to the eventfds; FLASK mode changes mid-traffic). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A pingpong server guest whose port (allocated in it for Domain-0) h binds. */
struct server {
    int domid;
    uint32_t gport, port;
};

static int start_server(kc_handle *h, struct server *s, int rounds, const char *extra)
{
    char cmd[160];

    s->domid = hvhost_create(&host, 1, 16);
    if (s->domid < 0 || kc_evtchn_alloc_unbound(h, (uint32_t)s->domid, 0, &s->gport) < 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "role=server port=%u rounds=%d %s", s->gport, rounds, extra);
    if (hvhost_build(&host, (uint32_t)s->domid, "pingpong", cmd, 1, 16) < 0 ||
        kc_evtchn_bind_interdomain(h, (uint32_t)s->domid, s->gport, &s->port) < 0 ||
        kc_domain_unpause(h, (uint32_t)s->domid) < 0)
        return -1;
    kc_evtchn_ack(h, s->port);                  /* binding leaves our port pending once */
    return 0;
}

/* One notify -> answer through kc_evtchn_wait; 0 if exactly the port fired. */
static int round_wait(kc_handle *h, uint32_t port, int timeout_ms)
{
    uint32_t got[4];
    int n;

    if (kc_evtchn_notify(h, port) < 0)
        return -1;
    n = kc_evtchn_wait(h, &port, 1, got, 4, timeout_ms);
    return n == 1 && got[0] == port ? 0 : -1;
}

/* The same through the port's eventfd and kc_evtchn_ack, as an event loop does. */
static int round_poll(kc_handle *h, uint32_t port)
{
    struct pollfd p = { kc_evtchn_fd(h, port), POLLIN, 0 };

    if (kc_evtchn_notify(h, port) < 0)
        return -1;
    for (;;) {
        if (poll(&p, 1, 5000) != 1)
            return -1;
        if (kc_evtchn_ack(h, port) > 0)
            return 0;
    }
}

static int count_lines(const char *path, const char *text)
{
    char line[512];
    FILE *f = fopen(path, "r");
    int n = 0;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, text) != NULL;
    fclose(f);
    return n;
}

static int core_count(const char *what, const char *text)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)host.pid, what);
    return count_lines(path, text);
}

static void test_dom0_fast(void)
{
    struct server s;
    char self_maps[] = "/proc/self/maps", name[32];
    int lost = 0, rounds = 20000;

    tap_ok(start_server(host.h, &s, 2 * rounds + 2000 + 300, "") == 0,
           "a pingpong guest serves a port bound by this Domain-0 process");
    snprintf(name, sizeof(name), "keel-d%d-shared", s.domid);
    tap_ok(count_lines(self_maps, name) == 1,
           "binding maps the guest's bell page into the process (one page of its control area)");
    for (int i = 0; i < rounds; i++)
        lost += round_wait(host.h, s.port, 5000) < 0;
    tap_is_int(lost, 0, "20000 guest <-> Domain-0 round trips through kc_evtchn_wait, none lost");
    lost = 0;
    for (int i = 0; i < 2000; i++)
        lost += round_poll(host.h, s.port) < 0;
    tap_is_int(lost, 0, "2000 round trips sleeping in poll() on the eventfd (kc_evtchn_ack), none lost");
    lost = 0;
    for (int i = 0; i < rounds; i++)
        lost += (i % 2 ? round_poll(host.h, s.port) : round_wait(host.h, s.port, 5000)) < 0;
    tap_is_int(lost, 0, "20000 round trips alternating kc_evtchn_wait and eventfd, none lost");
    tap_ok(hvhost_wait_console(&host, (uint32_t)s.domid, "pingpong: server done", 0) == 0,
           "the guest is still serving (each ping it got was one we sent)");
    kc_domain_destroy(host.h, (uint32_t)s.domid);
    tap_is_int(kc_evtchn_close(host.h, s.port), 0, "the port closes after its guest is gone");
    tap_ok(count_lines(self_maps, name) == 0, "closing the port unmaps the guest's bell page");
    tap_is_int(kc_evtchn_notify(host.h, s.port), -EINVAL, "notifying the closed port fails as before");
}

static void test_dom0_sleep(void)
{
    struct server s;
    int lost = 0;

    tap_ok(start_server(host.h, &s, 300, "delay_us=300") == 0,
           "a guest that answers after 300 us (longer than the spin window)");
    for (int i = 0; i < 300; i++)
        lost += round_wait(host.h, s.port, 5000) < 0;
    tap_is_int(lost, 0, "300 rounds where kc_evtchn_wait stops spinning and sleeps: none lost");
    tap_ok(hvhost_wait_console(&host, (uint32_t)s.domid, "server done, 300 round trips", 5000),
           "the guest answered all 300");
    {
        uint32_t got[2];
        tap_is_int(kc_evtchn_wait(host.h, &s.port, 1, got, 2, 100), 0,
                   "with nothing sent, kc_evtchn_wait times out with 0");
        tap_is_int(kc_evtchn_wait(host.h, &s.port, 1, got, 2, 0), 0, "timeout 0 only looks");
    }
    {
        uint32_t bad = 3999, got[1];
        tap_is_int(kc_evtchn_wait(host.h, &bad, 1, got, 1, 0), -EBADF,
                   "waiting for a port not bound through the handle fails with EBADF");
    }
    kc_domain_destroy(host.h, (uint32_t)s.domid);
    kc_evtchn_close(host.h, s.port);
}

static void test_forge(void)
{
    struct server a, b;
    uint32_t got[4];
    int lost = 0;

    tap_ok(start_server(host.h, &b, 200, "") == 0 && start_server(host.h, &a, 1, "forge=1") == 0,
           "a victim guest and a guest that forges every Domain-0 send bit in its control area");
    tap_ok(hvhost_wait_console(&host, (uint32_t)a.domid, "pingpong: forged", 5000),
           "the forger wrote the bits and rang its doorbell");
    tap_ok(kc_evtchn_wait(host.h, &a.port, 1, got, 4, 5000) == 1,
           "the forged sends reached the forger's own port (it answered an event we never sent)");
    tap_is_int(kc_evtchn_wait(host.h, &b.port, 1, got, 4, 300), 0,
               "the other guest's Domain-0 port stays silent");
    for (int i = 0; i < 200; i++)
        lost += round_wait(host.h, b.port, 5000) < 0;
    tap_is_int(lost, 0, "and it ping-pongs normally afterwards (200 rounds)");
    tap_ok(hvhost_wait_console(&host, (uint32_t)b.domid, "server done, 200 round trips", 5000),
           "the victim saw exactly the 200 pings we sent");
    kc_domain_destroy(host.h, (uint32_t)a.domid);
    kc_domain_destroy(host.h, (uint32_t)b.domid);
    kc_evtchn_close(host.h, a.port);
    kc_evtchn_close(host.h, b.port);
}

struct traffic {
    kc_handle *h;
    uint32_t port;
    int rounds;                          /* done */
    int failed;
};

static void *traffic_main(void *arg)
{
    struct traffic *t = arg;

    while (!t->failed)
        if (round_wait(t->h, t->port, 1000) < 0)
            t->failed = 1;
        else
            t->rounds++;
    return NULL;
}

static void test_teardown(void)
{
    int fds0 = hvhost_count_fds(host.pid), maps0 = core_count("maps", "keel-evpage");
    struct traffic t = { 0 };
    struct server s;
    pthread_t th;
    kc_handle *h2;

    /* destroy while a backend thread ping-pongs */
    tap_ok(start_server(host.h, &s, 100000000, "") == 0, "a guest for traffic");
    t.h = host.h;
    t.port = s.port;
    pthread_create(&th, NULL, traffic_main, &t);
    usleep(200000);
    tap_is_int(kc_domain_destroy(host.h, (uint32_t)s.domid), 0, "destroy it mid-traffic");
    pthread_join(th, NULL);
    tap_ok(t.rounds > 0 && t.failed, "the backend's wait times out once the guest is gone");
    tap_is_int(kc_evtchn_notify(host.h, s.port), 0, "notify on a port whose guest died succeeds, as Xen drops it");
    tap_is_int(kc_evtchn_close(host.h, s.port), 0, "and the port closes");
    /* close a port mid-traffic: the guest's answers may still be in flight */
    tap_ok(start_server(host.h, &s, 100000000, "") == 0, "another guest");
    for (int i = 0; i < 100; i++)
        round_wait(host.h, s.port, 1000);
    kc_evtchn_notify(host.h, s.port);
    tap_is_int(kc_evtchn_close(host.h, s.port), 0, "close the port while the guest answers");
    tap_is_int(kc_evtchn_notify(host.h, s.port), -EINVAL, "the closed port cannot be notified");
    kc_domain_destroy(host.h, (uint32_t)s.domid);
    /* connection closed mid-traffic */
    tap_ok(kc_open(&h2, host.rundir) == 0 && start_server(h2, &s, 100000000, "") == 0,
           "a second connection with its own guest");
    for (int i = 0; i < 1000; i++)
        round_wait(h2, s.port, 1000);
    tap_is_int(core_count("maps", "keel-evpage"), maps0 + 1, "the core maps one event page for it");
    kc_evtchn_notify(h2, s.port);
    kc_close(h2);
    for (int i = 0; i < 100 && core_count("maps", "keel-evpage") != maps0; i++)
        usleep(10000);
    tap_is_int(core_count("maps", "keel-evpage"), maps0, "closing the connection mid-traffic unmaps its event page");
    kc_domain_destroy(host.h, (uint32_t)s.domid);
    for (int i = 0; i < 100 && hvhost_count_fds(host.pid) != fds0; i++)
        usleep(10000);
    tap_is_int(hvhost_count_fds(host.pid), fds0, "the core holds no descriptor more than before");
}

#define MANY_CONNS 2
#define MANY_GUESTS 3

struct many {
    kc_handle *h;
    struct server s[MANY_GUESTS];
    int lost;
};

/* Each round: notify every port of the connection, then collect until all have answered. */
static void *many_main(void *arg)
{
    struct many *m = arg;

    for (int r = 0; r < 2000 && !m->lost; r++) {
        int seen = 0;
        for (int g = 0; g < MANY_GUESTS; g++)
            kc_evtchn_notify(m->h, m->s[g].port);
        while (seen != (1 << MANY_GUESTS) - 1) {
            uint32_t got[8];
            int n = kc_evtchn_wait(m->h, NULL, 0, got, 8, 5000);
            if (n <= 0) {
                m->lost++;
                break;
            }
            for (int i = 0; i < n; i++)
                for (int g = 0; g < MANY_GUESTS; g++)
                    if (got[i] == m->s[g].port)
                        seen |= 1 << g;
        }
    }
    return NULL;
}

static void test_many(void)
{
    struct many m[MANY_CONNS];
    pthread_t th[MANY_CONNS];
    int ok = 1, lost = 0;

    memset(m, 0, sizeof(m));
    for (int c = 0; c < MANY_CONNS; c++) {
        ok &= kc_open(&m[c].h, host.rundir) == 0;
        for (int g = 0; ok && g < MANY_GUESTS; g++)
            ok &= start_server(m[c].h, &m[c].s[g], 2000, "") == 0;
    }
    tap_ok(ok, "%d connections, each with %d guests", MANY_CONNS, MANY_GUESTS);
    for (int c = 0; ok && c < MANY_CONNS; c++)
        pthread_create(&th[c], NULL, many_main, &m[c]);
    for (int c = 0; ok && c < MANY_CONNS; c++) {
        pthread_join(th[c], NULL);
        lost += m[c].lost;
    }
    tap_is_int(lost, 0, "2000 rounds of notify-all / wait-for-any on every connection at once, none lost");
    for (int c = 0; c < MANY_CONNS; c++) {
        for (int g = 0; g < MANY_GUESTS; g++)
            if (m[c].s[g].domid > 0)
                kc_domain_destroy(host.h, (uint32_t)m[c].s[g].domid);
        kc_close(m[c].h);
    }
}

/* No answer is left over after rounds through kc_evtchn_wait only: each ping was answered once
 * (a duplicate would show up here; after eventfd rounds a stale count could instead). */
static bool quiet(kc_handle *h, uint32_t port)
{
    uint32_t got[2];

    return kc_evtchn_wait(h, &port, 1, got, 2, 200) == 0;
}

static void test_direct(void)
{
    struct server s;
    kc_handle *h2 = NULL;
    int lost = 0;

    tap_ok(start_server(host.h, &s, 4000, "evpoll_us=0") == 0,
           "a guest that blocks at once (evpoll_us=0): every direct send needs a kick");
    for (int i = 0; i < 2000; i++)
        lost += round_wait(host.h, s.port, 5000) < 0;
    tap_ok(quiet(host.h, s.port), "no answer left over after 2000 kc_evtchn_wait rounds");
    for (int i = 0; i < 2000; i++)
        lost += round_poll(host.h, s.port) < 0;
    tap_is_int(lost, 0, "4000 rounds (kc_evtchn_wait, then eventfd) with a blocked guest, none lost");
    tap_ok(hvhost_wait_console(&host, (uint32_t)s.domid, "server done, 4000 round trips", 5000),
           "the guest answered all 4000");
    kc_domain_destroy(host.h, (uint32_t)s.domid);
    kc_evtchn_close(host.h, s.port);

    tap_ok(kc_open(&h2, host.rundir) == 0 && start_server(h2, &s, 23000, "") == 0,
           "a polling guest on a second connection");
    kc_evtchn_set_wait_only(h2, true);
    lost = 0;
    for (int i = 0; i < 20000; i++)
        lost += round_wait(h2, s.port, 5000) < 0;
    tap_is_int(lost, 0, "20000 rounds on a wait-only handle (watch left set between waits), none lost");
    tap_ok(quiet(h2, s.port), "no answer left over (each ping answered once)");
    kc_evtchn_set_wait_only(h2, false);
    lost = 0;
    for (int i = 0; i < 2000; i++)
        lost += round_poll(h2, s.port) < 0;
    tap_is_int(lost, 0, "wait-only turned off: 2000 rounds through the eventfd, none lost");
    lost = 0;
    for (int i = 0; i < 1000; i++) {
        if (i % 250 == 0)
            kc_flask_setenforce(host.h, (i / 250) % 2);
        lost += (i % 2 ? round_poll(h2, s.port) : round_wait(h2, s.port, 5000)) < 0;
    }
    kc_flask_setenforce(host.h, 1);
    tap_is_int(lost, 0, "1000 rounds while FLASK switches permissive/enforcing (direct entries "
               "recomputed), none lost");
    tap_is_int(kc_flask_getenforce(host.h), 1, "enforcing again");
    tap_ok(hvhost_wait_console(&host, (uint32_t)s.domid, "server done, 23000 round trips", 5000),
           "the guest answered all 23000");
    kc_domain_destroy(host.h, (uint32_t)s.domid);
    kc_close(h2);
}

int main(void)
{
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    test_pingpong();
    test_virqs();
    test_ownership();
    test_dom0_fast();
    test_dom0_sleep();
    test_forge();
    test_teardown();
    test_many();
    test_direct();
    hvhost_stop(&host);
    return tap_done();
}
