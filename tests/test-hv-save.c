/* test-hv-save - save and restore on the migration v2 stream (libkeelguest kg_save/kg_restore):
 * a counter saved to a file and restored into a new domain continues without a gap or a repeat;
 * a dirtier saved live (pre-copy on the log-dirty bitmap, then stop-and-copy) keeps its memory
 * intact; keel-stream-dump reads every stream written; truncated streams are refused. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

#define MIB 16

static struct hvhost host;

static int last_number(const char *out, const char *key)
{
    int last = -1;
    size_t k = strlen(key);

    for (const char *p = out; (p = strstr(p, key)); p += k)
        if (p[k] >= '0' && p[k] <= '9')
            last = atoi(p + k);
    return last;
}

static int save_to(int domid, const char *path, int live, struct kg_save_stats *st)
{
    struct kg_save_opts o = { .live = live };
    char err[512] = "";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc;

    rc = kg_save(host.h, (uint32_t)domid, fd, &o, st, err, sizeof(err));
    close(fd);
    if (rc < 0)
        tap_diag("save: %s", err);
    return rc;
}

static int restore_from(const char *path, uint32_t vcpus, uint64_t mib, char *err, size_t errlen)
{
    int domid = hvhost_create(&host, vcpus, mib), fd = open(path, O_RDONLY), rc;

    rc = kg_restore(host.h, (uint32_t)domid, mib << 10, fd, NULL, err, errlen);
    close(fd);
    if (rc < 0) {
        kc_domain_destroy(host.h, (uint32_t)domid);
        return rc;
    }
    return domid;
}

static int dump_ok(const char *path)
{
    char cmd[700];
    const char *b = getenv("KEEL_BUILDDIR");

    snprintf(cmd, sizeof(cmd), "%s/libguest/keel-stream-dump %s >/dev/null 2>&1", b ? b : "..", path);
    return system(cmd) == 0;
}

/* Xen's own verify-stream-v2 (unpacked by scripts/install-deps.sh), if present. */
static const char *xen_verifier(void)
{
    static const char *const paths[] = { "/opt/keel-xen/usr/lib/xen-4.17/bin/verify-stream-v2",
                                         "/usr/lib/xen-4.17/bin/verify-stream-v2" };
    const char *env = getenv("KEEL_XEN_VERIFIER");

    if (env && *env)
        return env;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], R_OK) == 0)
            return paths[i];
    return NULL;
}

static void xen_verifies(const char *path, const char *what)
{
    const char *v = xen_verifier();
    char cmd[1400];

    if (!v) {
        printf("ok %d - # SKIP Xen's verify-stream-v2 is not available for %s\n", ++tap_count_, what);
        return;
    }
    snprintf(cmd, sizeof(cmd), "PYTHONPATH=$(dirname %s)/../lib/python python3 %s -q -f libxc -i %s "
             ">/dev/null 2>&1", v, v, path);
    tap_ok(system(cmd) == 0, "Xen's verify-stream-v2 accepts %s", what);
}

static void test_counter(void)
{
    char path[128], want[32], err[512] = "";
    struct kg_save_stats st;
    struct stat sb;
    int old = hvhost_boot(&host, "counter", "interval=50", 1, MIB), nd, last;

    snprintf(path, sizeof(path), "%s/counter.save", host.rundir);
    tap_ok(hvhost_wait_console(&host, (uint32_t)old, "counter 5\n", 5000), "counter counts");
    tap_is_int(save_to(old, path, 0, &st), 0, "save a running counter to a file");
    last = last_number(hvhost_console(&host, (uint32_t)old), "counter ");
    stat(path, &sb);
    tap_diag("saved %llu pages, %lld bytes, guest paused for %.2f ms", (unsigned long long)st.pages_sent,
             (long long)sb.st_size, st.downtime_ns / 1e6);
    tap_ok(dump_ok(path), "keel-stream-dump reads the save image without an error");
    xen_verifies(path, "the save image");
    kc_domain_destroy(host.h, (uint32_t)old);
    nd = restore_from(path, 1, MIB, err, sizeof(err));
    tap_ok(nd > 0, "restore into a new domain");
    kc_domain_unpause(host.h, (uint32_t)nd);
    snprintf(want, sizeof(want), "counter %d\n", last + 3);
    tap_ok(hvhost_wait_console(&host, (uint32_t)nd, want, 5000) &&
           last_number(hvhost_console(&host, (uint32_t)nd), "counter ") > last,
           "the restored counter continues after %d on its restored timer", last);
    snprintf(want, sizeof(want), "counter %d\n", last);
    tap_ok(!strstr(hvhost_console(&host, (uint32_t)nd), want), "no number repeats");
    kc_domain_destroy(host.h, (uint32_t)nd);
}

static void test_live(void)
{
    char path[128], err[512] = "";
    struct kg_save_stats st;
    int old = hvhost_boot(&host, "dirtier", "size=96 rate=20000 verify=1", 1, 128), nd, tick;

    snprintf(path, sizeof(path), "%s/dirtier.save", host.rundir);
    tap_ok(hvhost_wait_console(&host, (uint32_t)old, "tick 2 ", 5000), "dirtier runs");
    tap_is_int(save_to(old, path, 1, &st), 0, "live save of a dirtier");
    tap_diag("live save: %u rounds, %llu pages sent, %llu in the last round, downtime %.2f ms, "
             "total %.1f ms", st.rounds, (unsigned long long)st.pages_sent,
             (unsigned long long)st.last_dirty, st.downtime_ns / 1e6, st.total_ns / 1e6);
    tap_ok(st.rounds >= 2 && st.pages_sent > 96 * 256, "pre-copy sent the pages dirtied meanwhile in further rounds");
    tick = last_number(hvhost_console(&host, (uint32_t)old), "tick ");
    tap_ok(dump_ok(path), "keel-stream-dump reads the live stream");
    xen_verifies(path, "the live migration stream");
    kc_domain_destroy(host.h, (uint32_t)old);
    nd = restore_from(path, 1, 128, err, sizeof(err));
    kc_domain_unpause(host.h, (uint32_t)nd);
    {
        char want[32];
        snprintf(want, sizeof(want), "tick %d ", tick + 2);
        tap_ok(nd > 0 && hvhost_wait_console(&host, (uint32_t)nd, want, 15000),
               "the restored dirtier ticks on");
        if (nd > 0 && !strstr(hvhost_console(&host, (uint32_t)nd), want))
            tap_diag("restored console: %s", hvhost_console(&host, (uint32_t)nd));
    }
    tap_ok(!strstr(hvhost_console(&host, (uint32_t)nd), "errors 1"),
           "its checksums over the whole working set hold");
    kc_domain_destroy(host.h, (uint32_t)nd);
}

static void test_errors(void)
{
    char path[128], cut[128], cmd[400], err[512] = "";
    int d = hvhost_boot(&host, "hello", "", 1, MIB), rc;
    struct kg_save_stats st;

    snprintf(path, sizeof(path), "%s/hello.save", host.rundir);
    snprintf(cut, sizeof(cut), "%s/cut.save", host.rundir);
    hvhost_wait_shutdown(&host, (uint32_t)d, 5000);
    save_to(d, path, 0, &st);
    kc_domain_destroy(host.h, (uint32_t)d);
    snprintf(cmd, sizeof(cmd), "head -c 100000 %s > %s", path, cut);
    tap_ok(system(cmd) == 0, "make a truncated copy of a save image");
    rc = restore_from(cut, 1, MIB, err, sizeof(err));
    tap_ok(rc < 0 && err[0], "a truncated stream is refused: %s", err);
    err[0] = 0;
    rc = restore_from(path, 2, MIB, err, sizeof(err));
    tap_ok(rc < 0, "restoring into a domain of another shape is refused (%s)", err);
    tap_is_int(hvhost_count_children(host.pid), 0, "refused restores leave no domain behind");
}

struct watch {
    int reports, monotonic, saw_final, cancel_after;
    volatile int cancel;
    struct kg_save_progress last;
};

static void on_progress(const struct kg_save_progress *p, void *arg)
{
    struct watch *w = arg;

    if (w->reports && (p->pages_sent < w->last.pages_sent || p->round < w->last.round ||
                       p->elapsed_ns < w->last.elapsed_ns))
        w->monotonic = 0;
    if (p->round_sent > p->round_pages || p->pages_total == 0)
        w->monotonic = 0;
    w->saw_final |= p->stop_and_copy;
    w->last = *p;
    if (++w->reports == w->cancel_after)
        w->cancel = 1;
}

/* A live save reports each round as it goes and can be cancelled between batches. */
static void test_progress(void)
{
    struct watch w = { .monotonic = 1 };
    struct kg_save_opts o = { .live = 1, .progress = on_progress, .progress_arg = &w };
    struct kg_save_stats st;
    struct keel_domctl_info info;
    char path[128], err[512] = "";
    int d = hvhost_boot(&host, "dirtier", "size=64 rate=20000 verify=1", 1, 96), fd, rc;

    snprintf(path, sizeof(path), "%s/progress.save", host.rundir);
    tap_ok(hvhost_wait_console(&host, (uint32_t)d, "tick 2 ", 5000), "a dirtier runs for the progress test");
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    rc = kg_save(host.h, (uint32_t)d, fd, &o, &st, err, sizeof(err));
    close(fd);
    tap_is_int(rc, 0, "a live save with a progress callback succeeds");
    tap_ok(w.reports >= 3 && w.monotonic, "progress was reported %d times, never going backwards",
           w.reports);
    tap_ok(w.saw_final && w.last.stop_and_copy && w.last.round == st.rounds,
           "the last report is the stop-and-copy round (%u of %u)", w.last.round, st.rounds);
    tap_ok(w.last.pages_sent == st.pages_sent && w.last.pages_total >= 96 * 256,
           "the last report's page count is the save's total (%llu)",
           (unsigned long long)w.last.pages_sent);
    kc_domain_unpause(host.h, (uint32_t)d);
    memset(&w, 0, sizeof(w));
    w.monotonic = 1;
    w.cancel_after = 2;
    o.cancel = &w.cancel;
    err[0] = 0;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    rc = kg_save(host.h, (uint32_t)d, fd, &o, &st, err, sizeof(err));
    close(fd);
    tap_ok(rc == -ECANCELED && strstr(err, "cancelled"), "setting the cancel flag stops the save: %s",
           err);
    tap_ok(kc_domain_getinfo(host.h, (uint32_t)d, &info) == 0 && !(info.flags & KEEL_DOMINF_PAUSED),
           "a save cancelled during pre-copy leaves the domain running");
    {
        uint8_t bm[8];
        uint64_t dirty;
        tap_ok(kc_logdirty_read(host.h, (uint32_t)d, 0, bm, 1, &dirty) < 0,
               "and log-dirty mode switched off again");
    }
    kc_domain_destroy(host.h, (uint32_t)d);
}

int main(void)
{
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    test_counter();
    test_live();
    test_progress();
    test_errors();
    hvhost_stop(&host);
    return tap_done();
}
