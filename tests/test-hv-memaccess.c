/* test-hv-memaccess - vm_event memory access events on a real core with the `vmevent` guest
 * (modes write and exec): bad arguments refused with EINVAL and a message; the default access and
 * per-frame access read back; write events with their frame, offset, flags and address;
 * allow-once answers (each later write faults again) and access changed in the answer (no event
 * after); EMULATE_NOWRITE (the write undone); exec events at each instruction of a watched function; four vCPUs writing watched
 * pages at once, all events answered allow-once; log-dirty mode refused while restrictions are in
 * place; a consumer killed holding an event with restrictions in place (the guest runs on to its
 * end, every frame rwx again). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvhost.h"
#include "keel/ctrl_monitor.h"
#include "tap.h"

#define MIB 16
#define PAGES (MIB * 256)
#define WPAGES 4                       /* guests/vmevent.c: pages per vCPU */

static struct hvhost host;

static int ring_has(const char *text)
{
    return hvhost_ring_has(&host, text);
}

/* Boot `vmevent mode=...` paused, monitor it, switch guest requests on, unpause, wait for the
 * guest's request (the guest waits in it) and read the address it printed after `key`. */
static int boot(const char *cmdline, uint32_t vcpus, kc_handle *h, kc_vm_event **ve,
                const char *key, uint64_t *addr, struct keel_vm_event *greq)
{
    int d = hvhost_boot_paused(&host, "vmevent", cmdline, vcpus, MIB);
    const char *p;

    if (d < 0 || kc_monitor_enable(h, (uint32_t)d, ve) < 0 ||
        kc_monitor_guest_request(h, (uint32_t)d, true, true) < 0)
        tap_bail("booting vmevent %s: %d (%s)", cmdline, d, kc_error(h));
    kc_domain_unpause(host.h, (uint32_t)d);
    if (kc_vm_event_get_request(*ve, greq, 10000) != 1 ||
        greq->reason != KEEL_VM_EVENT_REASON_GUEST_REQUEST ||
        !hvhost_wait_console(&host, (uint32_t)d, key, 10000) ||
        !(p = strstr(hvhost_console(&host, (uint32_t)d), key)) ||
        sscanf(p + strlen(key), "%llx", (unsigned long long *)addr) != 1)
        tap_bail("vmevent %s: no guest request or no %s in its console", cmdline, key);
    return d;
}

static void answer(kc_vm_event *ve, const struct keel_vm_event *req, uint32_t extra)
{
    struct keel_vm_event rsp = *req;

    rsp.flags = (req->flags & KEEL_VM_EVENT_FLAG_VCPU_PAUSED) | extra;
    kc_vm_event_put_response(ve, &rsp);
}

static uint64_t gfn_of(uint64_t gva)
{
    return (gva - KEEL_GUEST_BASE) >> 12;
}

/* Where write i of vCPU v goes (guests/vmevent.c write_loop; shared: all vCPUs on pages 0-3). */
static uint64_t write_addr(uint64_t buf, uint32_t v, uint32_t i, bool shared)
{
    if (shared)
        return buf + (uint64_t)(i % WPAGES) * 4096 + ((i * 200 + v * 8) % 4088 & ~7u);
    return buf + (uint64_t)(v * WPAGES + i % WPAGES) * 4096 + ((i * 200) % 4088 & ~7u);
}

static void test_bad_arguments(kc_vm_event *ve, uint32_t d)
{
    uint32_t a = 99;

    tap_is_int(kc_mem_access_set(host.h, d, 8, 0, 1), -EINVAL, "access 8 is refused (EINVAL)");
    tap_ok(strstr(kc_error(host.h), "invalid") && strstr(kc_error(host.h), "0-7"),
           "... with a message naming the valid accesses (%s)", kc_error(host.h));
    tap_is_int(kc_mem_access_set(host.h, d, KEEL_MEM_ACCESS_DEFAULT, KEEL_MEM_ACCESS_DEFAULT_GFN, 0),
               -EINVAL, "'default' cannot be the default access");
    tap_is_int(kc_mem_access_set(host.h, d, KEEL_MEM_ACCESS_R, PAGES, 1), -EINVAL,
               "a frame beyond the guest is refused (EINVAL)");
    tap_is_int(kc_mem_access_set(host.h, d, KEEL_MEM_ACCESS_R, PAGES - 2, 3), -EINVAL,
               "a range running past the guest's end is refused");
    tap_is_int(kc_mem_access_set(host.h, d, KEEL_MEM_ACCESS_R, ~0ULL - 1, 4), -EINVAL,
               "a range that wraps around is refused");
    tap_ok(ring_has("lie beyond the guest's 4096 frames") && ring_has("is not one of n r w rw"),
           "the core says what was wrong in its console ring");
    tap_is_int(kc_mem_access_get(host.h, d, PAGES, &a), -EINVAL, "get beyond the guest: EINVAL");
    tap_ok(kc_mem_access_get(host.h, d, 0, &a) == 0 && a == KEEL_MEM_ACCESS_RWX,
           "a frame never set is rwx");
    (void)ve;
}

/* One vCPU writing its 4 pages; the default access (r) watches them. */
static void test_write_events(void)
{
    const uint32_t n = 40;
    struct keel_vm_event greq, req;
    uint32_t events = 0, bad = 0, a_buf = 0, a_other = 0, a_dflt = 0, i = 0;
    int rc[3];
    uint64_t buf = 0, g0;
    kc_vm_event *ve;
    kc_handle *other;
    int d = boot("mode=write n=40", 1, host.h, &ve, "buf=", &buf, &greq);

    g0 = gfn_of(buf);
    test_bad_arguments(ve, (uint32_t)d);
    if (kc_open(&other, host.rundir) == 0) {
        tap_is_int(kc_mem_access_set(other, (uint32_t)d, KEEL_MEM_ACCESS_R, g0, 1), -ENOENT,
                   "another connection than the consumer's cannot set access");
        kc_close(other);
    }
    /* every frame its own rwx, the default r, the watched frames back to the default */
    rc[0] = kc_mem_access_set(host.h, (uint32_t)d, KEEL_MEM_ACCESS_RWX, 0, PAGES);
    rc[1] = kc_mem_access_set(host.h, (uint32_t)d, KEEL_MEM_ACCESS_R, KEEL_MEM_ACCESS_DEFAULT_GFN, 0);
    rc[2] = kc_mem_access_set(host.h, (uint32_t)d, KEEL_MEM_ACCESS_DEFAULT, g0, WPAGES);
    if (!tap_ok(!rc[0] && !rc[1] && !rc[2], "access set: all frames rwx, default r, the 4 "
                "watched frames to the default (%d %d %d)", rc[0], rc[1], rc[2])) {
        static char ring[65536];
        size_t len = sizeof(ring) - 1;
        uint64_t idx = 0;
        if (kc_readconsolering(host.h, ring, &len, &idx, 0) == 0) {
            ring[len] = 0;
            tap_diag("%s", strstr(ring, "mem_access: protections") ? strstr(ring, "mem_access: protections") : "-");
        }
    }
    kc_mem_access_get(host.h, (uint32_t)d, g0 + 2, &a_buf);
    kc_mem_access_get(host.h, (uint32_t)d, g0 + WPAGES, &a_other);
    kc_mem_access_get(host.h, (uint32_t)d, KEEL_MEM_ACCESS_DEFAULT_GFN, &a_dflt);
    tap_ok(a_buf == KEEL_MEM_ACCESS_R && a_other == KEEL_MEM_ACCESS_RWX &&
           a_dflt == KEEL_MEM_ACCESS_R, "get: a watched frame r (the default), another rwx, "
           "the default r (%u %u %u)", a_buf, a_other, a_dflt);
    tap_is_int(kc_logdirty_enable(host.h, (uint32_t)d), -EBUSY,
               "log-dirty mode is refused while restrictions are in place");
    answer(ve, &greq, 0);
    /* writes 0..19: let through once each (EMULATE); from 20 on: the answer gives the page rw
     * and the write runs again: one more event per page, then none */
    while (kc_vm_event_get_request(ve, &req, 5000) == 1) {
        const struct keel_vm_event_mem_access *m = &req.u.mem_access;
        uint64_t want = write_addr(buf, 0, i, false);
        if (req.reason != KEEL_VM_EVENT_REASON_MEM_ACCESS || req.vcpu_id != 0 ||
            m->gfn != gfn_of(want) || m->offset != (want & 4095) || m->gla != want ||
            m->flags != (KEEL_MEM_ACCESS_FLAG_W | KEEL_MEM_ACCESS_FLAG_GLA_VALID |
                         KEEL_MEM_ACCESS_FLAG_FAULT_WITH_GLA) ||
            req.data.regs.x86.rip < KEEL_GUEST_BASE) {
            if (bad++ < 3)
                tap_diag("event %u: reason %u gfn %#llx offset %#llx gla %#llx flags %#x, "
                         "expected gla %#llx", events, req.reason, (unsigned long long)m->gfn,
                         (unsigned long long)m->offset, (unsigned long long)m->gla, m->flags,
                         (unsigned long long)want);
        }
        events++;
        if (i < 20) {
            answer(ve, &req, KEEL_VM_EVENT_FLAG_EMULATE);
        } else {
            struct keel_vm_event rsp = req;
            rsp.flags = KEEL_VM_EVENT_FLAG_VCPU_PAUSED;
            kc_vm_event_set_access(&rsp, m->gfn, KEEL_MEM_ACCESS_RW);
            kc_vm_event_put_response(ve, &rsp);
        }
        i++;
        if (events == 24)
            break;
    }
    tap_ok(events == 24 && !bad, "24 write events (20 let through once, then one per page "
           "given rw), each with frame, offset, gla and flags W|GLA_VALID|FAULT_WITH_GLA "
           "(%u events, %u wrong)", events, bad);
    tap_is_int(kc_vm_event_get_request(ve, &req, 500), 0,
               "no event once every page is rw (the answer changed the access)");
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent write: 1 vCPUs x 40 writes ok", 10000),
           "every write landed (the guest read each back)");
    kc_mem_access_get(host.h, (uint32_t)d, g0 + 1, &a_buf);
    tap_is_int(a_buf, KEEL_MEM_ACCESS_RW, "the frame's access reads back as the answer set it");
    kc_monitor_disable(ve);
    kc_mem_access_get(host.h, (uint32_t)d, g0, &a_buf);
    kc_domain_destroy(host.h, (uint32_t)d);
    (void)n;
}

/* A watched function: an event at each of its three instructions, let through once each. */
static void test_exec_events(void)
{
    struct keel_vm_event greq, req;
    static const uint64_t off[3] = { 0, 4, 7 };   /* imul, inc, ret */
    uint32_t events = 0, bad = 0;
    uint64_t fn = 0;
    kc_vm_event *ve;
    int d = boot("mode=exec n=4", 1, host.h, &ve, "fn=", &fn, &greq);

    tap_is_int(kc_mem_access_set(host.h, (uint32_t)d, KEEL_MEM_ACCESS_RW, gfn_of(fn), 1), 0,
               "the function's frame is rw (no x)");
    answer(ve, &greq, 0);
    while (events < 12 && kc_vm_event_get_request(ve, &req, 5000) == 1) {
        uint64_t want = fn + off[events % 3];
        if (req.reason != KEEL_VM_EVENT_REASON_MEM_ACCESS || req.data.regs.x86.rip != want ||
            req.u.mem_access.gla != want ||
            !(req.u.mem_access.flags & KEEL_MEM_ACCESS_FLAG_X) ||
            (req.u.mem_access.flags & (KEEL_MEM_ACCESS_FLAG_R | KEEL_MEM_ACCESS_FLAG_W))) {
            if (bad++ < 3)
                tap_diag("exec event %u: rip %#llx gla %#llx flags %#x, expected %#llx", events,
                         (unsigned long long)req.data.regs.x86.rip,
                         (unsigned long long)req.u.mem_access.gla, req.u.mem_access.flags,
                         (unsigned long long)want);
        }
        events++;
        answer(ve, &req, KEEL_VM_EVENT_FLAG_EMULATE);
    }
    tap_ok(events == 12 && !bad, "4 calls: 12 exec events, one per instruction, rip = gla, "
           "flag X (%u events, %u wrong)", events, bad);
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent exec: 4 calls ok", 10000),
           "the function computed right while let through instruction by instruction");
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

/* EMULATE_NOWRITE: the write is let through once and undone; EMULATE: it stays. */
static void test_nowrite(void)
{
    struct keel_vm_event greq, req;
    uint32_t events = 0, bad = 0;
    uint64_t buf = 0, word = 1;
    kc_vm_event *ve;
    int d = boot("mode=wbench n=10", 1, host.h, &ve, "buf=", &buf, &greq);

    kc_mem_access_set(host.h, (uint32_t)d, KEEL_MEM_ACCESS_R, gfn_of(buf), 1);
    answer(ve, &greq, 0);
    while (events < 10 && kc_vm_event_get_request(ve, &req, 5000) == 1) {
        /* at event i the guest is past write i - 1: after NOWRITE answers the word is still 0 */
        if (events >= 1 && events <= 5 &&
            (kc_vm_event_read(ve, buf, &word, sizeof(word)) < 0 || word != 0) && bad++ < 3)
            tap_diag("event %u: the word at buf is %#llx", events, (unsigned long long)word);
        answer(ve, &req, events < 5 ? KEEL_VM_EVENT_FLAG_EMULATE_NOWRITE : KEEL_VM_EVENT_FLAG_EMULATE);
        events++;
    }
    hvhost_wait_console(&host, (uint32_t)d, "hypercall median", 10000);
    kc_vm_event_read(ve, buf, &word, sizeof(word));
    tap_ok(events == 10 && !bad && word == 9, "EMULATE_NOWRITE lets the write through once and "
           "undoes it (the word stayed 0 over 5 writes); EMULATE keeps it (then %llu)",
           (unsigned long long)word);
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

/* Four vCPUs write watched pages at once (their own, or the same four: then a vCPU let through
 * while another's page were open for all would pass unseen); every event let through once. */
static void test_smp(bool shared)
{
    const uint32_t vcpus = 4, n = shared ? 200 : 25;
    struct keel_vm_event greq, req;
    uint32_t next[4] = { 0 }, bad = 0, total = 0;
    uint64_t buf = 0;
    kc_vm_event *ve;
    char cmd[64], want[64];
    int d;

    snprintf(cmd, sizeof(cmd), "mode=write n=%u%s", n, shared ? " shared=1" : "");
    snprintf(want, sizeof(want), "vmevent write: %u vCPUs x %u writes ok", vcpus, n);
    d = boot(cmd, vcpus, host.h, &ve, "buf=", &buf, &greq);

    kc_mem_access_set(host.h, (uint32_t)d, KEEL_MEM_ACCESS_RX, gfn_of(buf), vcpus * WPAGES);
    answer(ve, &greq, 0);
    while (total < vcpus * n && kc_vm_event_get_request(ve, &req, 5000) == 1) {
        uint32_t v = req.vcpu_id;
        if (req.reason != KEEL_VM_EVENT_REASON_MEM_ACCESS || v >= vcpus ||
            req.u.mem_access.gla != write_addr(buf, v, next[v], shared)) {
            if (bad++ < 3)
                tap_diag("event %u: reason %u vcpu %u gla %#llx", total, req.reason, v,
                         (unsigned long long)req.u.mem_access.gla);
        } else {
            next[v]++;
        }
        total++;
        answer(ve, &req, KEEL_VM_EVENT_FLAG_EMULATE);
    }
    tap_ok(total == vcpus * n && !bad, "4 vCPUs x %u watched writes to %s pages: every one an "
           "event, in order per vCPU, none passing unseen while another was let through (%u, "
           "%u wrong)", n, shared ? "the same" : "their own", total, bad);
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, want, 10000), "every write landed on every vCPU");
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

/* A consumer process killed holding an event, restrictions in place. */
static void test_consumer_killed(void)
{
    int ready[2], gfnpipe[2], status = 0;
    int d = hvhost_boot_paused(&host, "vmevent", "mode=write n=200000", 1, MIB);
    struct keel_domctl_info info;
    unsigned long long buf = 0;
    uint64_t g0 = 0;
    const char *p;
    kc_vm_event *ve;
    uint32_t a = 0;
    pid_t pid;
    char c = 0;

    if (d < 0 || pipe(ready) < 0 || pipe(gfnpipe) < 0)
        tap_bail("booting vmevent write: %d", d);
    pid = fork();
    if (pid == 0) {
        struct keel_vm_event req;
        kc_handle *h;
        int n = 0;
        if (kc_open(&h, host.rundir) < 0 || kc_monitor_enable(h, (uint32_t)d, &ve) < 0 ||
            kc_monitor_guest_request(h, (uint32_t)d, true, true) < 0)
            _exit(2);
        (void)!write(ready[1], "r", 1);
        if (kc_vm_event_get_request(ve, &req, 10000) != 1 ||
            read(gfnpipe[0], &g0, sizeof(g0)) != sizeof(g0))
            _exit(3);
        kc_mem_access_set(h, (uint32_t)d, KEEL_MEM_ACCESS_N, KEEL_MEM_ACCESS_DEFAULT_GFN, 0);
        kc_mem_access_set(h, (uint32_t)d, KEEL_MEM_ACCESS_RWX, 0, PAGES);
        kc_mem_access_set(h, (uint32_t)d, KEEL_MEM_ACCESS_R, g0, WPAGES);
        answer(ve, &req, 0);
        while (kc_vm_event_get_request(ve, &req, 10000) == 1 && ++n < 10)
            answer(ve, &req, KEEL_VM_EVENT_FLAG_EMULATE);
        kill(getpid(), SIGKILL);           /* the 10th event is never answered */
        _exit(4);
    }
    close(ready[1]);
    (void)!read(ready[0], &c, 1);
    close(ready[0]);
    kc_domain_unpause(host.h, (uint32_t)d);
    if (hvhost_wait_console(&host, (uint32_t)d, "buf=", 10000) &&
        (p = strstr(hvhost_console(&host, (uint32_t)d), "buf=")) && sscanf(p + 4, "%llx", &buf) == 1)
        g0 = gfn_of(buf);
    (void)!write(gfnpipe[1], &g0, sizeof(g0));
    close(gfnpipe[1]);
    close(gfnpipe[0]);
    waitpid(pid, &status, 0);
    tap_ok(c == 'r' && WIFSIGNALED(status), "the consumer died holding a memory access event");
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent write: 1 vCPUs x 200000 writes ok",
                               20000),
           "the guest runs on to its end (200000 writes to the frames that were watched)");
    tap_ok(kc_domain_getinfo(host.h, (uint32_t)d, &info) == 0 &&
           !(info.flags & KEEL_DOMINF_CRASHED), "the domain did not crash");
    tap_ok(kc_monitor_enable(host.h, (uint32_t)d, &ve) == 0 &&
           kc_mem_access_get(host.h, (uint32_t)d, g0, &a) == 0 && a == KEEL_MEM_ACCESS_RWX &&
           kc_mem_access_get(host.h, (uint32_t)d, KEEL_MEM_ACCESS_DEFAULT_GFN, &a) == 0 &&
           a == KEEL_MEM_ACCESS_RWX,
           "a new consumer finds every frame and the default rwx again");
    kc_monitor_disable(ve);
    kc_domain_destroy(host.h, (uint32_t)d);
}

/* keel-access against a running guest: `-a write` and `-a exec` (every access printed and let
 * through once), then `write` (a frame's first write, then the frame is rwx). */
static void test_keel_access(void)
{
    static const struct { const char *opts, *kind; unsigned n; } runs[3] = {
        { "-a -n 10", "write", 10 }, { "-a -n 10", "exec", 10 }, { "-n 1", "write", 1 } };
    const char *b = getenv("KEEL_BUILDDIR");
    int d = hvhost_boot(&host, "vmevent", "mode=trace n=300", 1, MIB);
    char args[64], cmd[768], line[512];
    FILE *f;

    hvhost_wait_console(&host, (uint32_t)d, "fn=0x", 10000);
    for (int m = 0; m < 3; m++) {
        unsigned lines = 0, good = 0;
        snprintf(args, sizeof(args), "%s %d %s", runs[m].opts, d, runs[m].kind);
        snprintf(cmd, sizeof(cmd), "%s/cli/keel-access -r %s %s 2>&1",
                 b && *b ? b : KEEL_ABS_BUILDDIR, host.rundir, args);
        if (!(f = popen(cmd, "r")))
            continue;
        while (fgets(line, sizeof(line), f)) {
            unsigned long long gfn, off, gla, rip;
            char kind[8], acc[8];
            bool exec = !strcmp(runs[m].kind, "exec");
            lines++;
            if (sscanf(line, "d%*u v%*u %7s gfn=%llx offset=%llx gla=%llx rip=%llx access=%7s",
                       kind, &gfn, &off, &gla, &rip, acc) == 6 && !strcmp(kind, runs[m].kind) &&
                gla == KEEL_GUEST_BASE + gfn * 4096 + off && !strcmp(acc, exec ? "x" : "w") &&
                (!exec || rip == gla))
                good++;
            else
                tap_diag("keel-access %s: %s", args, line);
        }
        tap_ok(pclose(f) == 0 && lines == runs[m].n && good == lines, "keel-access %s prints one "
               "line per event with frame, offset, address and access (%u lines, %u right)",
               args, lines, good);
    }
    if (!tap_ok(hvhost_wait_console(&host, (uint32_t)d, "vmevent trace: 300 calls ok", 20000),
                "the guest runs on after keel-access exits (every frame rwx again)")) {
        static char ring[1 << 16];
        size_t len = sizeof(ring) - 1;
        uint64_t idx = 0;
        if (kc_readconsolering(host.h, ring, &len, &idx, 0) == 0) {
            ring[len] = 0;
            tap_diag("%s", len > 1500 ? ring + len - 1500 : ring);
        }
    }
    kc_domain_destroy(host.h, (uint32_t)d);
}

int main(void)
{
    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root\n");
        return 0;
    }
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start keel-hv");
    test_write_events();
    test_exec_events();
    test_nowrite();
    test_smp(false);
    test_smp(true);
    test_consumer_killed();
    test_keel_access();
    hvhost_stop(&host);
    return tap_done();
}
