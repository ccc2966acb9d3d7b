/* test-light-api.c - liblight's lifecycle API on a real core and store: creation and its store
 * nodes, userdata, name clashes, failure cleanup, rename, memory, shutdown with and without a
 * guest agent, the on_* actions, the libevent forms, and the caller's signals left alone; the
 * store client's pipelined batches (kxs_batch), which write a domain's home. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "hvhost.h"
#include "keel/kl_light.h"
#include "kxs.h"
#include "tap.h"

static struct hvhost host;
static pid_t stored = -1;
static kl_ctx *ctx;

static int start_store(void)
{
    char exe[512], sock[300];
    const char *b = getenv("KEEL_BUILDDIR");

    snprintf(exe, sizeof(exe), "%s/daemons/store/keel-stored", b && *b ? b : "..");
    snprintf(sock, sizeof(sock), "%s/xenstored/socket", host.rundir);
    if ((stored = fork()) == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl(exe, "keel-stored", "-F", "-n", "-r", host.rundir, "-l", "error", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        if (access(sock, F_OK) == 0)
            return 0;
        usleep(10000);
    }
    return -1;
}

static int load(kl_domain_config *dc, const char *name, const char *extra)
{
    char path[300], *ov[2] = { NULL, NULL };
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "%s/t.cfg", host.rundir);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f, "name = \"%s\"\nkernel = \"%s\"\nmemory = 16\nmaxmem = 24\n%s\n", name,
            hvhost_guest("counter"), extra ? extra : "");
    fclose(f);
    kl_domain_config_init(dc);
    rc = kl_domain_config_load(dc, path, 0, ov, 0, NULL);
    return rc;
}

static int node_is(const char *path, const char *want)
{
    char *v = NULL;
    int ok = kl_store_read(ctx, path, &v) == 0 && (!want || !strcmp(v, want));

    if (!ok)
        printf("# %s = %s (want %s)\n", path, v ? v : "(absent)", want ? want : "(any)");
    free(v);
    return ok;
}

static int node_absent(const char *path)
{
    char *v = NULL;
    int rc = kl_store_read(ctx, path, &v);

    free(v);
    return rc == -ENOENT;
}

static uint32_t create(const char *name, const char *extra, unsigned flags)
{
    kl_domain_config dc;
    uint32_t domid = KEEL_DOMID_INVALID;

    if (load(&dc, name, extra) == 0 && kl_domain_create(ctx, &dc, flags, &domid) < 0)
        printf("# create %s: %s\n", name, kl_ctx_error(ctx));
    kl_domain_config_dispose(&dc);
    return domid;
}

static void test_create(void)
{
    char p[128], uuid[KL_UUID_STRLEN], *vm = NULL;
    kl_domain_config dc, stored_dc;
    kl_dominfo info;
    uint32_t domid, other;
    int n0, n1;
    kl_dominfo *l;

    load(&dc, "t1", "on_poweroff = \"destroy\"");
    tap_ok(kl_domain_create(ctx, &dc, KL_CREATE_PAUSED, &domid) == 0, "create a paused domain");
    tap_ok(kl_domain_info(ctx, domid, &info) == 0 && info.paused && !strcmp(info.name, "t1") &&
           info.current_memkb == 16384, "info: paused, named from the store, 16 MiB");
    tap_ok(!memcmp(info.uuid.bytes, dc.c_info.uuid.bytes, 16), "the core's handle is the uuid");
    kl_uuid_to_string(&dc.c_info.uuid, uuid);
    snprintf(p, sizeof(p), "/local/domain/%u/name", domid);
    tap_ok(node_is(p, "t1"), "store: /local/domain/N/name");
    snprintf(p, sizeof(p), "/local/domain/%u/domid", domid);
    tap_ok(node_is(p, NULL), "store: /local/domain/N/domid");
    snprintf(p, sizeof(p), "/local/domain/%u/memory/target", domid);
    tap_ok(node_is(p, "16384"), "store: memory/target in KiB");
    snprintf(p, sizeof(p), "/local/domain/%u/memory/static-max", domid);
    tap_ok(node_is(p, "24576"), "store: memory/static-max is maxmem");
    snprintf(p, sizeof(p), "/local/domain/%u/cpu/0/availability", domid);
    tap_ok(node_is(p, "online"), "store: cpu/0/availability");
    snprintf(p, sizeof(p), "/local/domain/%u/control/shutdown", domid);
    tap_ok(node_is(p, ""), "store: control/shutdown exists, empty");
    snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
    kl_store_read(ctx, p, &vm);
    tap_ok(vm && !strncmp(vm, "/vm/", 4) && !strcmp(vm + 4, uuid), "store: vm is /vm/UUID");
    free(vm);
    snprintf(p, sizeof(p), "/vm/%s/name", uuid);
    tap_ok(node_is(p, "t1"), "store: /vm/UUID/name");
    snprintf(p, sizeof(p), "/libxl/%u/type", domid);
    tap_ok(node_is(p, "pvh"), "store: /libxl/N/type");
    kl_domain_config_init(&stored_dc);
    tap_ok(kl_domain_get_config(ctx, domid, &stored_dc) == 0 &&
           kl_domain_config_equal(&stored_dc, &dc), "the stored configuration equals the one used");
    kl_domain_config_dispose(&stored_dc);
    kl_domain_config_dispose(&dc);

    n0 = kl_domain_list(ctx, &l);
    free(l);
    load(&dc, "t1", NULL);
    tap_ok(kl_domain_create(ctx, &dc, 0, &other) == -EEXIST, "a used name is refused (-EEXIST)");
    kl_domain_config_dispose(&dc);
    load(&dc, "broken", NULL);
    free(dc.b_info.kernel);
    dc.b_info.kernel = strdup("/nonexistent/kernel");
    tap_ok(kl_domain_create(ctx, &dc, 0, &other) < 0 && strstr(kl_ctx_error(ctx), "/nonexistent"),
           "a failing build reports the kernel path");
    kl_domain_config_dispose(&dc);
    n1 = kl_domain_list(ctx, &l);
    free(l);
    tap_ok(n0 == n1, "failed creations leave no domain (%d, %d)", n0, n1);
    tap_ok(kl_domain_qualify(ctx, "broken", &other) == -ENOENT, "... and no name in the store");

    tap_ok(kl_domain_unpause(ctx, domid) == 0 && kl_domain_info(ctx, domid, &info) == 0 &&
           !info.paused, "unpause");
    tap_ok(kl_domain_rename(ctx, domid, "t1b") == 0 && kl_domain_qualify(ctx, "t1b", &other) == 0 &&
           other == domid, "rename; the new name resolves");
    snprintf(p, sizeof(p), "/vm/%s/name", uuid);
    tap_ok(node_is(p, "t1b"), "rename updates /vm/UUID/name");
    tap_ok(kl_domain_rename(ctx, domid, "12") == -EINVAL, "an all-digit name is refused");
    tap_ok(kl_domain_set_target(ctx, domid, 8192) == 0, "set the memory target");
    tap_ok(kl_domain_set_target(ctx, domid, 32768) == -EINVAL, "a target above the maximum fails");
    tap_ok(kl_domain_setmaxmem(ctx, domid, 4096) == -EINVAL, "a maximum below the target fails");
    tap_ok(kl_domain_destroy(ctx, domid) == 0, "destroy");
    snprintf(p, sizeof(p), "/local/domain/%u", domid);
    tap_ok(node_absent(p), "destroy removes /local/domain/N");
    snprintf(p, sizeof(p), "/vm/%s", uuid);
    tap_ok(node_absent(p), "destroy removes /vm/UUID");
    kl_domain_config_init(&dc);
    tap_ok(kl_domain_get_config(ctx, domid, &dc) < 0, "destroy removes the userdata");
    kl_domain_config_dispose(&dc);
}

static void test_shutdown(void)
{
    char p[128];
    uint32_t domid = create("s1", NULL, 0), next;
    kl_action_on_shutdown act;
    bool forced = false;
    uint64_t t0;
    int reason = -1;

    tap_ok(kl_domain_shutdown(ctx, domid, 5000, &forced) == 0 && forced,
           "shutdown without a guest agent: the core does it, at once");
    tap_ok(kl_domain_wait_shutdown(ctx, domid, 1000, &reason) == 0 && reason == KEEL_SHUTDOWN_POWEROFF,
           "wait_shutdown reports poweroff");
    snprintf(p, sizeof(p), "/local/domain/%u/control/shutdown", domid);
    tap_ok(node_is(p, "poweroff"), "control/shutdown was written");
    tap_ok(kl_domain_handle_shutdown(ctx, domid, &next, &act) == 0 &&
           act == KL_ACTION_ON_SHUTDOWN_DESTROY && next == KEEL_DOMID_INVALID,
           "on_poweroff=destroy is applied");
    tap_ok(kl_domain_wait_gone(ctx, domid, 1000) == 0, "... the domain is gone");

    domid = create("s2", NULL, 0);
    snprintf(p, sizeof(p), "/local/domain/%u/control/feature-poweroff", domid);
    kl_store_write(ctx, p, "1");          /* an agent that advertises but never acts */
    t0 = hvhost_now_ns();
    tap_ok(kl_domain_shutdown(ctx, domid, 300, &forced) == 0 && forced &&
           hvhost_now_ns() - t0 >= 300000000ULL, "an advertised agent is waited for, then forced");
    kl_domain_destroy(ctx, domid);

    domid = create("r1", "on_reboot = \"restart\"", 0);
    tap_ok(kl_domain_reboot(ctx, domid, 1000, &forced) == 0, "reboot");
    tap_ok(kl_domain_handle_shutdown(ctx, domid, &next, &act) == 0 &&
           act == KL_ACTION_ON_SHUTDOWN_RESTART && next != KEEL_DOMID_INVALID && next != domid,
           "on_reboot=restart creates a new domain");
    tap_ok(kl_domain_qualify(ctx, "r1", &domid) == 0 && domid == next, "... with the same name");
    tap_ok(hvhost_wait_console(&host, next, "counting", 3000), "... and it runs");
    kl_domain_destroy(ctx, next);

    domid = create("p1", "on_poweroff = \"preserve\"", 0);
    kl_domain_shutdown(ctx, domid, 0, NULL);
    tap_ok(kl_domain_handle_shutdown(ctx, domid, &next, &act) == 0 &&
           act == KL_ACTION_ON_SHUTDOWN_PRESERVE && kl_domain_wait_shutdown(ctx, domid, 0, NULL) == 0,
           "on_poweroff=preserve keeps the shut-down domain");
    kl_domain_destroy(ctx, domid);

    domid = create("rr", "on_crash = \"rename-restart\"", 0);
    kc_domain_shutdown(kl_ctx_kc(ctx), domid, KEEL_SHUTDOWN_CRASH);
    {
        char name[80] = "";
        uint32_t id;
        tap_ok(kl_domain_handle_shutdown(ctx, domid, &next, &act) == 0 &&
               act == KL_ACTION_ON_SHUTDOWN_RESTART_RENAME && next != KEEL_DOMID_INVALID,
               "on_crash=rename-restart restarts");
        kl_domain_name(ctx, domid, name, sizeof(name));
        tap_ok(!strncmp(name, "rr-", 3) && kl_domain_qualify(ctx, "rr", &id) == 0 && id == next,
               "... the old domain is renamed (%s), the new one has the name", name);
        kl_domain_destroy(ctx, next);
        kl_domain_destroy(ctx, domid);
    }
}

/* ---- libevent forms ---- */
struct evstate {
    int shut_calls, shut_rc, death_reason;
    bool forced;
    uint32_t death_domid;
    struct event_base *base;
};

static void on_shut(kl_ctx *c, uint32_t domid, int rc, bool forced, void *arg)
{
    struct evstate *s = arg;

    (void)c;
    (void)domid;
    s->shut_calls++;
    s->shut_rc = rc;
    s->forced = forced;
}

static void on_death(kl_ctx *c, uint32_t domid, int reason, void *arg)
{
    struct evstate *s = arg;

    (void)c;
    s->death_domid = domid;
    s->death_reason = reason;
    event_base_loopbreak(s->base);
}

static void test_events(void)
{
    struct evstate s = { .death_reason = -2, .death_domid = KEEL_DOMID_INVALID };
    struct timeval limit = { 5, 0 };
    uint32_t domid = create("ev1", NULL, 0);
    kl_ev *sh = NULL, *dw = NULL;
    sigset_t before, after;
    struct sigaction sa_before[65], sa_after;
    int same = 1;

    sigemptyset(&before);
    sigemptyset(&after);
    sigprocmask(SIG_BLOCK, NULL, &before);
    for (int i = 1; i < 65; i++)
        sigaction(i, NULL, &sa_before[i]);
    s.base = event_base_new();
    tap_ok(kl_ev_death_watch(ctx, s.base, domid, on_death, &s, &dw) == 0, "death watch on a loop");
    tap_ok(kl_ev_domain_shutdown(ctx, s.base, domid, false, 200, on_shut, &s, &sh) == 0,
           "asynchronous shutdown returns at once");
    tap_ok(s.shut_calls == 0, "... without calling back yet");
    event_base_loopexit(s.base, &limit);
    event_base_dispatch(s.base);
    tap_ok(s.shut_calls == 1 && s.shut_rc == 0 && s.forced, "the shutdown completes on the loop "
           "(forced: no agent)");
    tap_ok(s.death_domid == domid && s.death_reason == KEEL_SHUTDOWN_POWEROFF,
           "the death watch reports the domain's shutdown and reason");
    kl_ev_free(sh);
    kl_ev_free(dw);
    event_base_free(s.base);
    kl_domain_destroy(ctx, domid);
    sigprocmask(SIG_BLOCK, NULL, &after);
    for (int i = 1; i < 65; i++)
        if (sigaction(i, NULL, &sa_after) == 0 && sa_after.sa_handler != sa_before[i].sa_handler)
            same = 0;
    tap_ok(same, "no signal disposition was changed by the library");
    for (int i = 1; i < 65; i++)
        if (sigismember(&before, i) != sigismember(&after, i))
            same = -1;
    tap_ok(same != -1, "the signal mask is unchanged");
}

/* kxs_batch: replies matched to their requests, a failure in the middle reported with its
 * request while those behind it still apply, and a batch larger than the socket's buffers
 * (replies read while the rest is sent). */
static void test_batch(void)
{
    static char big[1001];
    char *v = NULL, *none = (char *)"x";
    struct kxs_req q[4] = {
        { KXS_WRITE, "/tb/a\0one", 9, NULL, NULL, 0 },
        { KXS_READ, "/tb/a", 6, &v, NULL, 0 },
        { KXS_READ, "/tb/missing", 12, &none, NULL, 0 },
        { KXS_WRITE, "/tb/b\0two", 9, NULL, NULL, 0 },
    };
    struct kxs_req *many = calloc(2000, sizeof(*many));
    char *payload = malloc(7 + sizeof(big));
    kxs *x = NULL;
    int rc, ok = 1;

    tap_ok(kxs_open(&x, host.rundir) == 0, "batch: a store connection");
    if (!x || !many || !payload)
        goto out;
    rc = kxs_batch(x, 0, q, 4);
    tap_ok(rc == -ENOENT && q[0].rc == 0 && q[1].rc == 0 && q[2].rc == -ENOENT && q[3].rc == 0,
           "batch: each request's result (0 0 ENOENT 0), the first failure returned");
    tap_ok(v && !strcmp(v, "one") && none == (char *)"x",
           "batch: the READ's value, none for the failed one");
    tap_ok(strstr(kxs_error(x), "READ /tb/missing") && strstr(kxs_error(x), "ENOENT"),
           "batch: the error names the failed request (%s)", kxs_error(x));
    tap_ok(node_is("/tb/b", "two"), "batch: the WRITE behind the failure applied");
    memset(big, 'v', sizeof(big) - 1);
    memcpy(payload, "/tb/big", 8);
    memcpy(payload + 8, big, sizeof(big) - 1);
    for (int i = 0; i < 2000; i++)
        many[i] = (struct kxs_req){ KXS_WRITE, payload, 8 + sizeof(big) - 1, NULL, NULL, 1 };
    rc = kxs_batch(x, 0, many, 2000);
    for (int i = 0; i < 2000; i++)
        ok &= many[i].rc == 0;
    tap_ok(rc == 0 && ok, "batch: 2000 WRITEs of 1000 bytes (2 MB, more than the socket holds)");
    tap_ok(node_is("/tb/big", big), "batch: the last of them is stored");
out:
    free(v);
    free(many);
    free(payload);
    kxs_close(x);
}

int main(void)
{
    if (hvhost_start(&host) < 0 || start_store() < 0) {
        printf("1..0 # SKIP cannot start keel-hv and keel-stored\n");
        hvhost_stop(&host);
        return 0;
    }
    setenv("KEEL_RUNDIR", host.rundir, 1);
    tap_ok(kl_ctx_open(&ctx, NULL) == 0, "open a context on $KEEL_RUNDIR");
    if (ctx) {
        test_create();
        test_shutdown();
        test_events();
        test_batch();
        kl_ctx_close(ctx);
    }
    if (stored > 0) {
        kill(stored, SIGTERM);
        waitpid(stored, NULL, 0);
    }
    hvhost_stop(&host);
    return tap_done();
}
