/* test-hv-migrate - live migration between two Keel hosts, each with its own core, the sender
 * and the receiver each in their own network namespace joined by a veth pair, over TCP: the
 * dirtier moves with its memory verified and its tick counter unbroken; cutting the connection
 * at random points always leaves the source domain running. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

#define MIB 64
#define PORT 7790
#define CUTS 100

static struct hvhost a, b;
static char ns_a[32], ns_b[32];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int netns_setup(void)
{
    snprintf(ns_a, sizeof(ns_a), "keelmA%d", (int)getpid());
    snprintf(ns_b, sizeof(ns_b), "keelmB%d", (int)getpid());
    return sh("ip netns add %s && ip netns add %s && "
              "ip link add kmva%d type veth peer name kmvb%d && "
              "ip link set kmva%d netns %s && ip link set kmvb%d netns %s && "
              "ip -n %s addr add 10.250.7.1/30 dev kmva%d && ip -n %s addr add 10.250.7.2/30 dev kmvb%d && "
              "ip -n %s link set kmva%d up && ip -n %s link set kmvb%d up && "
              "ip -n %s link set lo up && ip -n %s link set lo up",
              ns_a, ns_b, (int)getpid(), (int)getpid(), (int)getpid(), ns_a, (int)getpid(), ns_b,
              ns_a, (int)getpid(), ns_b, (int)getpid(), ns_a, (int)getpid(), ns_b, (int)getpid(),
              ns_a, ns_b);
}

static void netns_teardown(void)
{
    sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", ns_a, ns_b);
}

static int enter(const char *ns)
{
    char path[64];
    int fd, rc;

    snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
    if ((fd = open(path, O_RDONLY)) < 0)
        return -1;
    rc = setns(fd, CLONE_NEWNET);
    close(fd);
    return rc;
}

/* Receiver (in namespace B): accept one stream, restore it into a new domain of host B, start
 * it; with cut > 0, close the connection after cut bytes instead. Writes the domid (or -1) to
 * the pipe. */
static void receiver(int out, long cut)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
    int one = 1, ls, fd, domid = -1;
    char err[512];

    enter(ns_b);
    inet_pton(AF_INET, "10.250.7.2", &sa.sin_addr);
    ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0)
        _exit(1);
    if (write(out, &domid, sizeof(domid)) != sizeof(domid))   /* ready */
        _exit(1);
    fd = accept(ls, NULL, NULL);
    if (cut > 0) {
        static char buf[65536];
        long got = 0;
        while (got < cut) {
            ssize_t n = read(fd, buf, (size_t)(cut - got) < sizeof(buf) ? (size_t)(cut - got) : sizeof(buf));
            if (n <= 0)
                break;
            got += n;
        }
        close(fd);
        _exit(0);
    }
    kc_close(b.h);
    kc_open(&b.h, b.rundir);
    domid = hvhost_create(&b, 1, MIB);
    if (kg_restore(b.h, (uint32_t)domid, MIB << 10, fd, NULL, err, sizeof(err)) < 0 ||
        kc_domain_unpause(b.h, (uint32_t)domid) < 0) {
        fprintf(stderr, "# receiver: %s\n", err);
        kc_domain_destroy(b.h, (uint32_t)domid);
        domid = -1;
    }
    if (write(out, &domid, sizeof(domid)) != sizeof(domid))
        _exit(1);
    _exit(0);
}

/* Sender (in namespace A): live-save domid over TCP. Returns kg_save's result. */
static int send_domain(int domid, struct kg_save_stats *st, char *err, size_t errlen)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
    struct kg_save_opts o = { .live = 1 };
    int fd, rc, self = open("/proc/self/ns/net", O_RDONLY);

    enter(ns_a);
    inet_pton(AF_INET, "10.250.7.2", &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
    if (rc == 0)
        rc = kg_save(a.h, (uint32_t)domid, fd, &o, st, err, errlen);
    close(fd);
    setns(self, CLONE_NEWNET);
    close(self);
    return rc;
}

static pid_t start_receiver(long cut, int *rd)
{
    int p[2], ready;
    pid_t pid;

    if (pipe(p) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        receiver(p[1], cut);
    }
    close(p[1]);
    if (read(p[0], &ready, sizeof(ready)) != sizeof(ready))
        return -1;
    *rd = p[0];
    return pid;
}

static int last_tick(struct hvhost *h, int domid)
{
    const char *out = hvhost_console(h, (uint32_t)domid), *p;
    int last = -1;

    for (p = out; (p = strstr(p, "tick ")); p += 5)
        last = atoi(p + 5);
    return last;
}

static void test_migrate(void)
{
    struct kg_save_stats st;
    char err[512] = "", want[64];
    int src = hvhost_boot(&a, "dirtier", "size=32 rate=5000 verify=1", 1, MIB), dst = -1, rd, tick;
    pid_t rpid;

    tap_ok(hvhost_wait_console(&a, (uint32_t)src, "tick 2 ", 5000), "the dirtier runs on host A");
    rpid = start_receiver(0, &rd);
    tap_is_int(send_domain(src, &st, err, sizeof(err)), 0, "live migration A -> B over TCP");
    tap_diag("migration: %u rounds, %llu pages, %llu in the final round, source paused %.2f ms, "
             "total %.1f ms", st.rounds, (unsigned long long)st.pages_sent,
             (unsigned long long)st.last_dirty, st.downtime_ns / 1e6, st.total_ns / 1e6);
    tick = last_tick(&a, src);
    if (read(rd, &dst, sizeof(dst)) != sizeof(dst))
        dst = -1;
    waitpid(rpid, NULL, 0);
    close(rd);
    tap_ok(dst > 0, "host B restored and started the domain");
    kc_domain_destroy(a.h, (uint32_t)src);
    snprintf(want, sizeof(want), "tick %d ", tick + 3);
    tap_ok(dst > 0 && hvhost_wait_console(&b, (uint32_t)dst, want, 15000),
           "on host B the dirtier ticks on after tick %d", tick);
    if (dst > 0 && last_tick(&b, dst) <= tick + 2)
    {
        struct keel_domctl_info info;
        char cmd[200];
        kc_domain_getinfo(b.h, (uint32_t)dst, &info);
        tap_diag("host B console: [%s] flags %#x", hvhost_console(&b, (uint32_t)dst), info.flags);
        snprintf(cmd, sizeof(cmd), "tail -5 %s/keel-hv.log | sed 's/^/# /'", b.rundir);
        sh("%s", cmd);
        {
            static uint8_t sbuf[1 << 16];
            size_t len = sizeof(sbuf);
            kc_domain_pause(b.h, (uint32_t)dst);
            if (kc_domain_getstate(b.h, (uint32_t)dst, sbuf, &len) == 0) {
                struct keel_domstate_header *h = (void *)sbuf;
                struct keel_domstate_vcpu *v = (void *)(h + 1);
                struct keel_domstate_port *p = (void *)(v + h->nr_vcpus);
                tap_diag("B vcpu0 rip %#llx rdi %llu rsi %llu online %u pend %u mask %u single %llu "
                         "periodic %llu ports %u cb %#llx", (unsigned long long)v->ctx.regs.rip,
                         (unsigned long long)v->ctx.regs.rdi, (unsigned long long)v->ctx.regs.rsi,
                         v->online, v->upcall_pending, v->upcall_mask,
                         (unsigned long long)v->singleshot_left, (unsigned long long)v->periodic,
                         h->nr_ports, (unsigned long long)v->ctx.event_callback);
                for (uint32_t i = 0; i < h->nr_ports; i++)
                    tap_diag("port %u state %u virq %u vcpu %u", p[i].port, p[i].state, p[i].virq, p[i].vcpu);
            }
        }
    }
    snprintf(want, sizeof(want), "tick %d ", tick);
    tap_ok(dst > 0 && !strstr(hvhost_console(&b, (uint32_t)dst), want) &&
           last_tick(&b, dst) > tick, "no tick repeats and none is missing at the seam");
    tap_ok(dst > 0 && !strstr(hvhost_console(&b, (uint32_t)dst), "errors 1"),
           "its memory verifies on host B");
    if (dst > 0)
        kc_domain_destroy(b.h, (uint32_t)dst);
}

static void test_cuts(void)
{
    int src = hvhost_boot(&a, "dirtier", "size=16 rate=2000 verify=0", 1, MIB), survived = 0;
    uint64_t seed = 0x5eed;

    hvhost_wait_console(&a, (uint32_t)src, "tick 1 ", 5000);
    for (int i = 0; i < CUTS; i++) {
        struct kg_save_stats st;
        char err[512] = "";
        int rd, rc;
        pid_t rpid;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        rpid = start_receiver(1 + (long)((seed >> 33) % (MIB << 20)), &rd);
        rc = send_domain(src, &st, err, sizeof(err));
        waitpid(rpid, NULL, 0);
        close(rd);
        kc_domain_unpause(a.h, (uint32_t)src);            /* a failed migration: resume the source */
        {
            struct keel_domctl_info info;
            /* a cut near the end may reach the sender only after it wrote everything (TCP
             * buffers): then only the missing confirmation tells it; either way it resumes */
            if (kc_domain_getinfo(a.h, (uint32_t)src, &info) == 0 &&
                !(info.flags & (KEEL_DOMINF_PAUSED | KEEL_DOMINF_SHUTDOWN)))
                survived++;
            else
                tap_diag("cut %d: save rc %d (%s)", i, rc, err);
        }
    }
    {
        int before = last_tick(&a, src);
        usleep(1500000);
        tap_ok(last_tick(&a, src) > before, "after all the cuts the source still ticks");
    }
    tap_is_int(survived, CUTS, "migrations cut at random points all fail and leave the source running");
    kc_domain_destroy(a.h, (uint32_t)src);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (netns_setup() != 0) {
        netns_teardown();
        tap_bail("cannot create the two network namespaces");
    }
    if (hvhost_start(&a) < 0 || hvhost_start(&b) < 0)
        tap_bail("cannot start the two hypervisor cores");
    test_migrate();
    test_cuts();
    hvhost_stop(&a);
    hvhost_stop(&b);
    netns_teardown();
    return tap_done();
}
