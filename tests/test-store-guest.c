/* test-store-guest.c - guests on their store rings through a real host: keel-hv and
 * keel-stored in a private runtime directory; two xsguest domains set up with kg_rings_setup
 * and introduced with XS_INTRODUCE. A guest writes a key through its ring and Debian's
 * xenstore-read reads it back; it cannot read the other guest's private node; its watch fires;
 * kill -9 of the store daemon and a restart lose no node and the guest's ring resumes. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvhost.h"
#include "kxs.h"
#include "tap.h"

static struct hvhost host;
static char sockpath[100];

static int stored_start(void)
{
    char cmd[900];
    const char *b = getenv("KEEL_BUILDDIR");

    snprintf(cmd, sizeof(cmd), "KEEL_RUNDIR='%s' '%s/daemons/store/keel-stored' -l info",
             host.rundir, b && *b ? b : "..");
    return system(cmd) == 0 ? 0 : -1;
}

static pid_t stored_pid(void)
{
    char p[300];
    FILE *f;
    int pid = -1;

    snprintf(p, sizeof(p), "%s/xenstored/keel-stored.pid", host.rundir);
    if (!(f = fopen(p, "r")))
        return -1;
    if (fscanf(f, "%d", &pid) != 1)
        pid = -1;
    fclose(f);
    return pid;
}

static void stored_kill(int sig)
{
    pid_t pid = stored_pid();

    if (pid <= 0 || kill(pid, sig) < 0)
        return;
    for (int i = 0; i < 50 && kill(pid, 0) == 0; i++)
        usleep(100000);
}

/* Run a stock client command; its first output line (trimmed) into out. 0 on exit 0. */
static int sh(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t size, const char *fmt, ...)
{
    char cmd[600], line[512] = "";
    va_list ap;
    FILE *p;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (!(p = popen(cmd, "r")))
        return -1;
    if (!fgets(line, sizeof(line), p))
        line[0] = 0;
    st = pclose(p);
    line[strcspn(line, "\n")] = 0;
    if (out)
        snprintf(out, size, "%s", line);
    return st == 0 ? 0 : -1;
}

/* One request through the common store client (INTRODUCE and IS_DOMAIN_INTRODUCED have no
 * stock client); the reply's body, or the store's error name, into reply. Returns the reply
 * type or -1. */
static int xs_raw(uint32_t type, const char *body, int n, char *reply, size_t size)
{
    char *out = NULL;
    size_t len = 0;
    kxs *x;
    int rc;

    reply[0] = 0;
    if (kxs_open_path(&x, sockpath) < 0)
        return -1;
    rc = kxs_request(x, type, 0, body, (size_t)n, &out, &len);
    if (rc == 0 && len < size)
        memcpy(reply, out, len + 1);
    else if (rc < 0)
        snprintf(reply, size, "%s", kxs_errname(-rc));
    free(out);
    kxs_close(x);
    return rc == 0 && len < size ? (int)type : -1;
}

static int xs_introduce(uint32_t domid, uint64_t gfn, uint32_t port)
{
    char body[96], reply[64];
    int n = snprintf(body, sizeof(body), "%u%c%llu%c%u", domid, 0, (unsigned long long)gfn, 0,
                     port) + 1;

    if (xs_raw(8, body, n, reply, sizeof(reply)) == 8 && !strcmp(reply, "OK"))
        return 0;
    tap_diag("introduce %u: '%s'", domid, reply);
    return -1;
}

/* "T" or "F" from IS_DOMAIN_INTRODUCED. */
static char is_introduced(int domid)
{
    char body[16], reply[16];
    int n = snprintf(body, sizeof(body), "%d", domid) + 1;

    return xs_raw(17, body, n, reply, sizeof(reply)) == 17 ? reply[0] : '?';
}

/* Create an xsguest domain with rings, its home's data/ owned by it, introduced; paused. */
static int make_guest(const char *cmdline)
{
    struct kg_build_info bi = { .kernel = hvhost_guest("xsguest"), .cmdline = cmdline,
                                .mem_kb = 8 << 10, .nr_vcpus = 1, .max_vcpus = 1 };
    struct kg_build_result res;
    char err[512];
    int domid = hvhost_create(&host, 1, 8);

    if (domid < 0)
        return domid;
    if (kg_rings_setup(host.h, (uint32_t)domid, bi.mem_kb, &bi, err, sizeof(err)) < 0 ||
        kg_build(host.h, (uint32_t)domid, &bi, &res, err, sizeof(err)) < 0) {
        tap_diag("domain %d: %s", domid, err);
        return -1;
    }
    if (sh(NULL, 0, "xenstore-write /local/domain/%d/data '' && "
           "xenstore-chmod /local/domain/%d/data n%d", domid, domid, domid) < 0 ||
        xs_introduce((uint32_t)domid, bi.store_gfn, bi.store_port) < 0)
        return -1;
    return domid;
}

static int wait_value(const char *path, const char *want, int ms)
{
    char got[256];

    for (int i = 0; i < ms / 50; i++) {
        if (sh(got, sizeof(got), "xenstore-read %s 2>/dev/null", path) == 0 && !strcmp(got, want))
            return 1;
        usleep(50000);
    }
    return 0;
}

static long read_counter(int domid)
{
    char got[64];

    if (sh(got, sizeof(got), "xenstore-read /local/domain/%d/data/counter 2>/dev/null", domid))
        return -1;
    return atol(got);
}

static void restart_checks(int a)
{
    char path[128], got[64];
    long before, after = -1;

    for (int i = 0; i < 100 && (before = read_counter(a)) < 3; i++)
        usleep(50000);
    tap_ok(before >= 3, "the guest writes its counter on its tick (%ld)", before);
    stored_kill(SIGKILL);
    tap_ok(sh(NULL, 0, "xenstore-read /local/domain/%d/data/hello 2>/dev/null", a) != 0,
           "with the store daemon killed, nothing answers");
    usleep(300000);
    tap_ok(stored_start() == 0, "keel-stored starts again on the same journal");
    tap_ok(sh(got, sizeof(got), "xenstore-read /local/domain/%d/data/hello", a) == 0 &&
           !strcmp(got, "world"), "the guest's node survived the restart (%s)", got);
    for (int i = 0; i < 100 && after <= before + 2; i++) {
        usleep(50000);
        after = read_counter(a);
    }
    tap_ok(after > before + 2, "the guest's ring resumes: its counter went on (%ld -> %ld)",
           before, after);
    snprintf(path, sizeof(path), "/local/domain/%d/data/echo", a);
    sh(NULL, 0, "xenstore-write /local/domain/%d/data/trigger pong", a);
    tap_ok(wait_value(path, "pong", 5000), "after the restart the guest's watch fires again");
}

int main(void)
{
    char got[256], path[128], cmd[64];
    int a, b;

    if (system("command -v xenstore-read >/dev/null && command -v xenstore-chmod >/dev/null")) {
        printf("1..0 # SKIP Debian's xenstore-utils not installed\n");
        return 0;
    }
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start keel-hv");
    snprintf(sockpath, sizeof(sockpath), "%s/xenstored/socket", host.rundir);
    setenv("XENSTORED_PATH", sockpath, 1);
    unsetenv("XENSTORED_RUNDIR");
    tap_ok(stored_start() == 0, "keel-stored starts beside the core");
    b = make_guest("exit=0 other=0");
    tap_ok(b > 0, "guest B created with its rings and introduced");
    snprintf(cmd, sizeof(cmd), "other=%d", b);
    a = make_guest(cmd);
    tap_ok(a > 0, "guest A created with its rings and introduced");
    if (a <= 0 || b <= 0)
        goto out;
    sh(NULL, 0, "xenstore-write /local/domain/%d/data/secret s3cret && "
       "xenstore-chmod /local/domain/%d/data/secret n%d", b, b, b);
    kc_domain_unpause(host.h, (uint32_t)b);
    kc_domain_unpause(host.h, (uint32_t)a);
    tap_ok(hvhost_wait_console(&host, (uint32_t)a, "xs watch data/trigger: 0", 10000),
           "guest A ran its store checks through the ring");
    tap_ok(strstr(hvhost_console(&host, (uint32_t)a), "xs read data/hello: world") != NULL,
           "the guest reads back what it wrote");
    tap_ok(sh(got, sizeof(got), "xenstore-read /local/domain/%d/data/hello", a) == 0 &&
           !strcmp(got, "world"), "the host reads the guest's key with xenstore-read (%s)", got);
    tap_ok(strstr(hvhost_console(&host, (uint32_t)a), "data/secret: EACCES") != NULL,
           "guest A cannot read guest B's private node (EACCES)");
    tap_ok(hvhost_wait_console(&host, (uint32_t)b, "xs read data/hello: world", 10000),
           "guest B works on its own ring too");
    snprintf(path, sizeof(path), "/local/domain/%d/data/echo", a);
    sh(NULL, 0, "xenstore-write /local/domain/%d/data/trigger ping", a);
    tap_ok(wait_value(path, "ping", 5000), "the guest's watch fires and it answers (echo)");
    restart_checks(a);
    kc_domain_destroy(host.h, (uint32_t)b);
    for (int i = 0; i < 60 && is_introduced(b) != 'F'; i++)
        usleep(50000);
    tap_ok(is_introduced(b) == 'F', "a guest destroyed without XS_RELEASE is released by the "
           "store on VIRQ_DOM_EXC");
    tap_ok(is_introduced(a) == 'T', "the other guest stays introduced");
    b = -1;
out:
    if (a > 0)
        kc_domain_destroy(host.h, (uint32_t)a);
    if (b > 0)
        kc_domain_destroy(host.h, (uint32_t)b);
    stored_kill(SIGTERM);
    hvhost_stop(&host);
    return tap_done();
}
