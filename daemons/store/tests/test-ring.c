/* test-ring.c - the ring transport against a second process: the parent runs the store
 * with domain hooks that hand out a memfd-backed ring page and an eventfd pair; a forked
 * child plays guest domain 5, mapping the same memfd, writing requests into the ring and
 * kicking the eventfd. Covers replies, wrap-around of large messages, pipelining, watch
 * events over the ring, isolation from another guest's nodes, and a hostile index that
 * breaks the ring followed by a guest-initiated reconnect. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "tap.h"
#include "ks_ring.h"
#include "ks_test.h"

static int memfd, to_srv, to_guest, results[2];
static void *page;
static uint64_t mapped_gfn;
static int binds;

static void *t_map(void *opaque, uint32_t domid, uint64_t gfn)
{
    mapped_gfn = gfn;
    return domid == 5 ? page : NULL;
}

static int t_bind(void *opaque, uint32_t domid, uint32_t port, uint32_t *local, int *fd)
{
    binds++;
    *local = 7;
    *fd = to_srv;
    return 0;
}

static int acks, unmaps, unbinds;

static void t_ack(void *opaque, uint32_t domid, uint32_t local)
{
    uint64_t v;

    if (read(to_srv, &v, sizeof(v)) == sizeof(v))
        acks++;
}

static void t_unmap(void *opaque, uint32_t domid, void *p)
{
    unmaps += p == page;
}

static void t_unbind(void *opaque, uint32_t domid, uint32_t local)
{
    unbinds += local == 7;
}

static void t_notify(void *opaque, uint32_t domid, uint32_t local)
{
    uint64_t one = 1;

    if (local != 7 || write(to_guest, &one, sizeof(one)) != sizeof(one))
        tap_diag("notify on local port %u failed", local);
}

/* ---- the guest side (child process) ---- */

static volatile struct ks_ring_iface *g;

static void g_report(int ok, const char *what)
{
    dprintf(results[1], "%d %s\n", ok ? 1 : 0, what);
}

static int g_wait(void)
{
    struct pollfd p = { to_guest, POLLIN, 0 };
    uint64_t v;

    if (poll(&p, 1, 5000) <= 0)
        return -1;
    return read(to_guest, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

static void g_kick(void)
{
    uint64_t one = 1;

    if (write(to_srv, &one, sizeof(one)) != sizeof(one))
        _exit(3);
}

static int g_put(const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        uint32_t cons = __atomic_load_n(&g->req_cons, __ATOMIC_ACQUIRE), prod = g->req_prod;
        uint32_t space = KS_RING_SIZE - (prod - cons), off = KS_RING_MASK(prod), n;

        n = space < KS_RING_SIZE - off ? space : KS_RING_SIZE - off;
        if (n > len)
            n = (uint32_t)len;
        if (n == 0) {
            g_kick();
            if (g_wait() < 0)
                return -1;
            continue;
        }
        memcpy((char *)g->req + off, p, n);
        __atomic_store_n(&g->req_prod, prod + n, __ATOMIC_RELEASE);
        p += n;
        len -= n;
    }
    g_kick();
    return 0;
}

static int g_get(void *buf, size_t len)
{
    char *p = buf;

    while (len) {
        uint32_t prod = __atomic_load_n(&g->rsp_prod, __ATOMIC_ACQUIRE), cons = g->rsp_cons;
        uint32_t avail = prod - cons, off = KS_RING_MASK(cons), n;

        n = avail < KS_RING_SIZE - off ? avail : KS_RING_SIZE - off;
        if (n > len)
            n = (uint32_t)len;
        if (n == 0) {
            if (g_wait() < 0)
                return -1;
            continue;
        }
        memcpy(p, (const char *)g->rsp + off, n);
        __atomic_store_n(&g->rsp_cons, cons + n, __ATOMIC_RELEASE);
        p += n;
        len -= n;
        g_kick();   /* tell the server there is room again */
    }
    return 0;
}

static int g_send(uint32_t type, const char *payload, size_t len)
{
    struct ks_hdr h = { type, 9, 0, (uint32_t)len };

    return g_put(&h, sizeof(h)) < 0 ? -1 : g_put(payload, len);
}

/* Next message (any type). */
static int g_recv(struct kt_msg *m)
{
    struct ks_hdr h;

    memset(m, 0, sizeof(*m));
    if (g_get(&h, sizeof(h)) < 0 || h.len > KS_PAYLOAD_MAX || g_get(m->body, h.len) < 0)
        return -1;
    m->type = h.type;
    m->len = h.len;
    return 0;
}

/* Request and its reply, skipping watch events. */
static int g_req(uint32_t type, const char *payload, size_t len, struct kt_msg *m)
{
    if (g_send(type, payload, len) < 0)
        return -1;
    do
        if (g_recv(m) < 0)
            return -1;
    while (m->type == KS_WATCH_EVENT);
    return 0;
}

#define G_STR(s) s, sizeof(s)

static void guest(void)
{
    struct kt_msg m;
    char big[2100];
    int ok;

    g = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (g == MAP_FAILED)
        _exit(4);
    g_report(g->server_features & KS_FEATURE_RECONNECTION, "the server advertises reconnection");
    ok = g_req(KS_WRITE, G_STR("data/key\0fromguest") - 1, &m) == 0 && !strcmp(m.body, "OK");
    g_report(ok, "guest writes a key through its ring (relative path)");
    ok = g_req(KS_READ, G_STR("data/key"), &m) == 0 && m.type == KS_READ && !strcmp(m.body, "fromguest");
    g_report(ok, "guest reads it back");
    ok = g_req(KS_READ, G_STR("/local/domain/6/secret"), &m) == 0 && m.type == KS_ERROR &&
         !strcmp(m.body, "EACCES");
    g_report(ok, "guest cannot read another guest's private node (EACCES)");
    ok = g_req(KS_READ, G_STR("/local/domain/0/name"), &m) == 0 && !strcmp(m.body, "EACCES");
    g_report(ok, "guest cannot read dom0's nodes");
    ok = g_req(KS_INTRODUCE, G_STR("9\0" "1\0" "1"), &m) == 0 && !strcmp(m.body, "EACCES");
    g_report(ok, "guest cannot introduce domains");
    ok = g_send(KS_WATCH, G_STR("data\0tok")) == 0 && g_recv(&m) == 0 && m.type == KS_WATCH &&
         g_recv(&m) == 0 && m.type == KS_WATCH_EVENT && !strcmp(m.body, "data");
    g_report(ok, "watch over the ring: OK, then the registration event");
    memset(big, 'z', sizeof(big));
    memcpy(big, "data/big", 9);
    ok = g_send(KS_WRITE, big, 9 + 2000) == 0;
    {   /* the event (queued while the write ran) comes before the reply */
        struct kt_msg ev;
        int got = g_recv(&ev) == 0 && g_recv(&m) == 0;
        g_report(ok && got && m.type == KS_WRITE && !strcmp(m.body, "OK"),
                 "a 2 KiB write (larger than the 1 KiB ring) goes through");
        g_report(got && ev.type == KS_WATCH_EVENT && !strcmp(ev.body, "data/big"),
                 "the watch fires for it, with a relative path");
    }
    ok = g_req(KS_READ, G_STR("data/big"), &m) == 0 && m.len == 2000 && m.body[1999] == 'z';
    g_report(ok, "and reads back whole (wrap-around in both rings)");
    ok = g_req(KS_UNWATCH, G_STR("data\0tok"), &m) == 0 && !strcmp(m.body, "OK");
    g_report(ok, "unwatch");
    for (int i = 0; i < 100; i++) {
        char req[64];
        int n = snprintf(req, sizeof(req), "data/p%d%cv%d", i, '\0', i);
        if (g_send(KS_WRITE, req, (size_t)n) < 0)
            break;
    }
    ok = 1;
    for (int i = 0; i < 100 && ok; i++)
        ok = g_recv(&m) == 0 && !strcmp(m.body, "OK");
    g_report(ok, "100 pipelined writes all answered in order");
    /* Hostile: a producer index far beyond the consumer. */
    __atomic_store_n(&g->req_prod, g->req_cons + 5000, __ATOMIC_RELEASE);
    g_kick();
    for (int i = 0; i < 50 && g->error == 0; i++)
        usleep(20000);
    g_report(g->error == KS_RING_ERR_RINGIDX, "a bogus request index marks the ring broken (error 2)");
    __atomic_store_n(&g->connection, KS_RING_RECONNECT, __ATOMIC_RELEASE);
    g_kick();
    for (int i = 0; i < 50 && g->connection != KS_RING_CONNECTED; i++)
        usleep(20000);
    g_report(g->connection == KS_RING_CONNECTED && g->error == 0 && g->req_prod == 0,
             "guest-initiated reconnect resets the ring");
    ok = g_req(KS_READ, G_STR("data/key"), &m) == 0 && !strcmp(m.body, "fromguest");
    g_report(ok, "the ring works again after the reconnect");
    _exit(0);
}

/* ---- the store side (parent) ---- */

static void serve(struct event_base *base, int ms)
{
    struct timeval tv = { 0, ms * 1000 };

    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* Restart the store on the same journal; the parent plays the guest in-process. */
static void test_resume(struct event_base *base, const struct ks_config *cfg)
{
    struct ks_domain_ops ops = { t_map, t_unmap, t_bind, t_notify, t_ack, t_unbind, NULL };
    struct ks_store *s;
    struct ks_conn *d0;
    struct kt_msg m;

    mapped_gfn = 0;
    tap_ok(ks_store_new(base, cfg, &s) == 0, "the store starts again on its journal");
    ks_store_set_domain_ops(s, &ops);
    tap_ok(mapped_gfn == 4242, "the journaled domain's ring is mapped again (gfn 4242)");
    d0 = ks_conn_new(s, 0, NULL, NULL);
    kt_is(kt_req(d0, KS_IS_DOMAIN_INTRODUCED, 0, "5", NULL), "T", "domain 5 is still introduced");
    g = page;
    g_send(KS_READ, G_STR("data/key"));
    serve(base, 100);
    tap_ok(g_recv(&m) == 0 && m.type == KS_READ && !strcmp(m.body, "fromguest"),
           "the guest's ring is served after the restart, with its data");
    tap_ok(acks > 0, "notifications are consumed through the ack hook (%d)", acks);
    kt_is(kt_req(d0, KS_RELEASE, 0, "5", NULL), "OK", "release disconnects the ring");
    tap_ok(unmaps == 1 && unbinds == 1, "release unmapped the page and unbound the channel");
    ks_store_free(s);
}

int main(void)
{
    struct event_base *base = event_base_new();
    struct ks_domain_ops ops = { t_map, NULL, t_bind, t_notify, NULL, NULL, NULL };
    struct ks_config cfg;
    struct ks_store *s;
    struct ks_conn *d0;
    char line[256], statedir[] = "/tmp/ks-ring.XXXXXX";
    FILE *rf;
    pid_t pid;
    int status = -1, waited = 0;

    memfd = memfd_create("ks-ring", MFD_CLOEXEC);
    to_srv = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    to_guest = eventfd(0, EFD_CLOEXEC);
    if (memfd < 0 || to_srv < 0 || to_guest < 0 || ftruncate(memfd, 4096) < 0 || pipe(results) < 0)
        tap_bail("memfd/eventfd setup: %s", strerror(errno));
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (page == MAP_FAILED)
        tap_bail("mmap: %s", strerror(errno));
    ks_config_defaults(&cfg);
    cfg.statedir = statedir;
    cfg.sync = KS_SYNC_NONE;
    if (!mkdtemp(statedir))
        tap_bail("mkdtemp: %s", strerror(errno));
    tap_ok(ks_store_new(base, &cfg, &s) == 0, "store starts");
    ks_store_set_domain_ops(s, &ops);
    d0 = ks_conn_new(s, 0, NULL, NULL);
    kt_is(kt_req(d0, KS_MKDIR, 0, "/local/domain/5", NULL), "OK", "dom0 makes domain 5's home");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "/local/domain/5", "n5|r0"), "OK", "owned by domain 5");
    kt_is(kt_req(d0, KS_WRITE, 0, "/local/domain/6/secret", "6's"), "OK", "domain 6 has a secret");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "/local/domain/6/secret", "n6"), "OK", "private to domain 6");
    kt_is(kt_req(d0, KS_INTRODUCE, 0, "5", "4242|1"), "OK", "dom0 introduces domain 5");
    tap_ok(mapped_gfn == 4242 && binds == 1, "introduce mapped gfn 4242 and bound the event channel");
    pid = fork();
    if (pid == 0) {
        close(results[0]);
        guest();
    }
    close(results[1]);
    while (waited < 200) {     /* serve the guest for at most 20 s */
        struct timeval tv = { 0, 100000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        waited++;
    }
    if (waited == 200) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the guest process finished cleanly");
    rf = fdopen(results[0], "r");
    while (rf && fgets(line, sizeof(line), rf)) {
        line[strcspn(line, "\n")] = '\0';
        tap_ok(line[0] == '1', "guest: %s", line + 2);
    }
    if (rf)
        fclose(rf);
    kt_is(kt_req(d0, KS_READ, 0, "/local/domain/5/data/key", NULL), "fromguest",
          "the host reads back the key the guest wrote");
    kt_is(kt_req(d0, KS_READ, 0, "/local/domain/5/data/p99", NULL), "v99", "and the last pipelined write");
    ks_store_free(s);
    test_resume(base, &cfg);
    tap_ok(ks_store_new(base, &cfg, &s) == 0, "and once more");
    d0 = ks_conn_new(s, 0, NULL, NULL);
    kt_is(kt_req(d0, KS_IS_DOMAIN_INTRODUCED, 0, "5", NULL), "F", "a released domain stays released");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "/local/domain/5", NULL), "n0,r0",
          "the release's revocation of domain 5's rights survives a restart");
    ks_store_free(s);
    snprintf(line, sizeof(line), "rm -rf '%s'", statedir);
    if (system(line) != 0)
        tap_diag("could not remove %s", statedir);
    event_base_free(base);
    munmap(page, 4096);
    close(memfd);
    close(to_srv);
    close(to_guest);
    return tap_done();
}
