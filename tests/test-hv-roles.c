/* test-hv-roles - control-socket connection roles on a real core (hypervisor/README.md,
 * "Connection roles"): a backend-role connection is refused domain create, destroy, pause,
 * memory, scheduling and policy changes with EACCES and an AVC denial naming backend_t in the
 * core's console ring, and allowed grant copies, grant maps and event channels with a guest; a
 * store-role connection reads domain information, maps a guest's memory and binds DOM_EXC but is
 * refused grant copies, destroy, physinfo and enforcing changes; a console-role connection maps
 * guest memory and grants but may not copy or destroy; an unknown role and a role
 * declared after the first request are refused; permissive mode lets a denied operation through
 * with its audit line, as for any label. A second core (FLASK disabled, --role backend=uid:N)
 * checks the uid rules and the dummy module's per-role limits. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvhost.h"
#include "keel/privcmd.h"
#include "tap.h"

#define NOBODY 65534
#define OTHER_UID 65533

static struct hvhost host;
static int guest = -1;
static int ro_ref = -1;

static int ring_has(const char *text)
{
    return hvhost_ring_has(&host, text);
}

static int boot_granter(void)
{
    const char *p;
    int rw;
    unsigned long long gfn;

    guest = hvhost_boot(&host, "granter", "to=0 pages=1 frames=1", 1, 16);
    if (guest < 0 || !hvhost_wait_console(&host, (uint32_t)guest, "mailbox gfn=", 10000))
        return -1;
    p = strstr(hvhost_console(&host, (uint32_t)guest), "gref page=0 ");
    if (!p || sscanf(p, "gref page=0 ro=%d rw=%d gfn=%llu", &ro_ref, &rw, &gfn) != 3)
        return -1;
    return 0;
}

static int copy_from_guest(kc_handle *h, uint8_t *buf, int16_t *status)
{
    struct kc_gnttab_copy_seg seg = { .domid = (uint32_t)guest, .ref = (uint32_t)ro_ref,
                                      .len = 64, .local = buf };
    uint32_t failed = 0;
    int rc = kc_gnttab_copy(h, &seg, 1, &failed);

    *status = seg.status;
    return rc;
}

static void test_backend(void)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16 << 10 };
    struct keel_domctl_info info;
    uint32_t domid = 0, ref = (uint32_t)ro_ref, gport = 0, lport = 0;
    kc_handle *be = NULL;
    uint8_t buf[64];
    int16_t st = 1, mst = 1;
    void *p;

    if (!tap_ok(kc_open_role(&be, host.rundir, KC_ROLE_BACKEND) == 0,
                "a root peer opens a backend-role connection")) {
        tap_diag("%s", kc_error(NULL));
        return;
    }
    tap_is_int(kc_domain_create(be, &cr, &domid), -EACCES, "backend: domain create refused (EACCES)");
    tap_ok(ring_has("avc: denied { create } scontext=system_u:system_r:backend_t"),
           "backend: the create denial is audited with backend_t in the core's console ring");
    tap_is_int(kc_domain_destroy(be, (uint32_t)guest), -EACCES,
               "backend: destroying the guest refused (EACCES)");
    tap_ok(ring_has("avc: denied { destroy } scontext=system_u:system_r:backend_t"),
           "backend: the destroy denial is audited with backend_t");
    tap_ok(kc_domain_getinfo(host.h, (uint32_t)guest, &info) == 0,
           "the guest still exists after the refused destroy");
    tap_is_int(kc_domain_pause(be, (uint32_t)guest), -EACCES, "backend: pause refused");
    tap_is_int(kc_domain_setmaxmem(be, (uint32_t)guest, 32 << 10), -EACCES,
               "backend: setting a domain's memory refused");
    tap_is_int(kc_sched_credit_set(be, (uint32_t)guest, 512, 0), -EACCES,
               "backend: changing scheduling refused");
    tap_is_int(kc_flask_setenforce(be, 0), -EACCES, "backend: setenforce refused");
    tap_is_int(kc_flask_load(be, "x", 1), -EACCES, "backend: loading a policy refused");
    tap_is_int(kc_domain_getinfo(be, (uint32_t)guest, &info), -EACCES,
               "backend: domain information refused (not a backend's business)");

    memset(buf, 0, sizeof(buf));
    tap_ok(copy_from_guest(be, buf, &st) == 0 && st == KEEL_GNTST_okay && buf[0] == 0x41 &&
           buf[63] == 0x41, "backend: a grant copy from the guest's grant is allowed");
    p = kc_gnttab_map(be, (uint32_t)guest, &ref, 1, 0, &mst);
    tap_ok(p && mst == KEEL_GNTST_okay && ((uint8_t *)p)[100] == 0x41,
           "backend: a grant map of the guest's grant is allowed");
    if (p)
        kc_gnttab_unmap(be, p, 1);
    tap_ok(kc_evtchn_alloc_unbound(host.h, (uint32_t)guest, 0, &gport) == 0 &&
           kc_evtchn_bind_interdomain(be, (uint32_t)guest, gport, &lport) == 0 &&
           kc_evtchn_notify(be, lport) == 0 && kc_evtchn_close(be, lport) == 0,
           "backend: binds a guest's port, notifies it and closes its port");

    /* permissive: the denial is audited and the operation goes through, as for any label */
    tap_ok(kc_flask_setenforce(host.h, 0) == 0 && kc_domain_pause(be, (uint32_t)guest) == 0 &&
           kc_domain_unpause(be, (uint32_t)guest) == 0,
           "permissive mode: the backend's pause and unpause go through");
    tap_ok(ring_has("avc: denied { unpause } scontext=system_u:system_r:backend_t"),
           "permissive mode: the unpause (never asked before) is audited all the same");
    tap_ok(kc_flask_setenforce(host.h, 1) == 0 &&
           kc_domain_pause(be, (uint32_t)guest) == -EACCES,
           "enforcing again: the backend's pause is refused");
    kc_close(be);
}

static void test_store(void)
{
    struct keel_domctl_info info;
    struct keel_sysctl_physinfo pi;
    kc_handle *xs = NULL;
    uint32_t port = 0;
    uint8_t buf[64];
    int16_t st = 0;
    void *p;

    if (!tap_ok(kc_open_role(&xs, host.rundir, KC_ROLE_STORE) == 0,
                "a root peer opens a store-role connection"))
        return;
    tap_ok(kc_domain_getinfo(xs, (uint32_t)guest, &info) == 0 && info.domid == (uint32_t)guest,
           "store: reads the guest's domain information");
    p = kc_map_foreign(xs, (uint32_t)guest, PROT_READ | PROT_WRITE, 0, 1);
    tap_ok(p != NULL, "store: maps the guest's memory (its store ring)");
    if (p)
        kc_unmap_foreign(p, 1);
    tap_ok(kc_evtchn_bind_virq(xs, KEEL_VIRQ_DOM_EXC, &port) == 0, "store: binds VIRQ_DOM_EXC");
    tap_is_int(kc_domain_destroy(xs, (uint32_t)guest), -EACCES, "store: destroy refused");
    tap_is_int(kc_domain_pause(xs, (uint32_t)guest), -EACCES, "store: pause refused");
    tap_ok(copy_from_guest(xs, buf, &st) == 0 && st == KEEL_GNTST_permission_denied,
           "store: a grant copy is refused (permission_denied)");
    tap_ok(ring_has("avc: denied { copy } scontext=system_u:system_r:store_t"),
           "store: the grant copy denial is audited with store_t");
    tap_is_int(kc_physinfo(xs, &pi), -EACCES, "store: physinfo refused");
    tap_is_int(kc_flask_setenforce(xs, 0), -EACCES, "store: setenforce refused");
    tap_is_int(kc_flask_getenforce(host.h), 1, "the core is still enforcing");
    kc_close(xs);
}

static void test_console(void)
{
    uint32_t ref = (uint32_t)ro_ref;
    kc_handle *co = NULL;
    uint8_t buf[64];
    int16_t st = 0, mst = 1;
    void *p;

    if (!tap_ok(kc_open_role(&co, host.rundir, KC_ROLE_CONSOLE) == 0,
                "a root peer opens a console-role connection"))
        return;
    p = kc_map_foreign(co, (uint32_t)guest, PROT_READ | PROT_WRITE, 0, 1);
    tap_ok(p != NULL, "console: maps the guest's memory (its console ring)");
    if (p)
        kc_unmap_foreign(p, 1);
    p = kc_gnttab_map(co, (uint32_t)guest, &ref, 1, 0, &mst);
    tap_ok(p && mst == KEEL_GNTST_okay, "console: maps a grant (a PV channel ring)");
    if (p)
        kc_gnttab_unmap(co, p, 1);
    tap_ok(copy_from_guest(co, buf, &st) == 0 && st == KEEL_GNTST_permission_denied,
           "console: a grant copy is refused (not a console's business)");
    tap_is_int(kc_domain_destroy(co, (uint32_t)guest), -EACCES, "console: destroy refused");
    kc_close(co);
}

static void test_refusals(void)
{
    struct keel_privcmd_role r = { "backend" };
    struct keel_domctl_info info;
    kc_handle *h = NULL;

    tap_is_int(kc_open_role(&h, host.rundir, "hypervisor"), -EINVAL, "an unknown role is refused");
    tap_ok(ring_has("role 'hypervisor' refused: unknown role"),
           "the unknown role's refusal is in the console ring");
    if (!tap_ok(kc_open(&h, host.rundir) == 0 && kc_domain_getinfo(h, 0, &info) == 0,
                "a toolstack connection (kc_open) works as before"))
        return;
    tap_is_int(kc_hypercall(h, KEEL_PRIVCMD_OP_ROLE, 0, &r, sizeof(r), NULL, 0, NULL, 0, NULL,
                            NULL, 0, NULL), -EBUSY, "a role declared after the first request is refused");
    tap_ok(kc_domain_getinfo(h, 0, &info) < 0, "and that connection is closed");
    kc_close(h);
}

/* ---- a second core: FLASK disabled, uid NOBODY may be a backend ---- */

static pid_t start_core2(char *rundir)
{
    char exe[512], sock[300], log[300];
    const char *b = getenv("KEEL_BUILDDIR");
    pid_t pid;

    strcpy(rundir, "/tmp/keel-test-XXXXXX");
    if (!mkdtemp(rundir) || chmod(rundir, 0711) < 0)
        return -1;
    snprintf(exe, sizeof(exe), "%s/hypervisor/keel-hv", b && *b ? b : KEEL_ABS_BUILDDIR);
    snprintf(sock, sizeof(sock), "%s/hv.sock", rundir);
    snprintf(log, sizeof(log), "%s/keel-hv.log", rundir);
    if ((pid = fork()) == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl(exe, "keel-hv", "-r", rundir, "-f", "disabled", "--role", "backend=uid:65534",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && pid > 0; i++) {
        if (access(sock, F_OK) == 0)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(10000);
    }
    return -1;
}

/* In a child running as uid: what each step returned, one byte each (errno, or 0). */
static void as_uid(const char *rundir, uid_t uid, int out[5])
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16 << 10 };
    struct keel_domctl_info info;
    int pfd[2], status;
    unsigned char res[5] = { 255, 255, 255, 255, 255 };
    pid_t pid;

    if (pipe(pfd) < 0)
        return;
    if ((pid = fork()) == 0) {
        kc_handle *h = NULL;
        uint32_t domid;
        close(pfd[0]);
        if (setgid(uid) < 0 || setuid(uid) < 0)
            _exit(1);
        res[0] = (unsigned char)-kc_open_role(&h, rundir, KC_ROLE_BACKEND);
        res[1] = h ? (unsigned char)-kc_domain_create(h, &cr, &domid) : 255;
        res[2] = h ? (unsigned char)-kc_domain_getinfo(h, 0, &info) : 255;
        kc_close(h);
        h = NULL;
        res[3] = (unsigned char)-kc_open_role(&h, rundir, KC_ROLE_STORE);
        kc_close(h);
        h = NULL;
        if (kc_open(&h, rundir) == 0)              /* the toolstack, without declaring */
            res[4] = (unsigned char)-kc_domain_getinfo(h, 0, &info);
        kc_close(h);
        if (write(pfd[1], res, sizeof(res)) != sizeof(res))
            _exit(1);
        _exit(0);
    }
    close(pfd[1]);
    if (pid > 0 && read(pfd[0], res, sizeof(res)) != sizeof(res))
        memset(res, 255, sizeof(res));
    close(pfd[0]);
    if (pid > 0)
        waitpid(pid, &status, 0);
    for (int i = 0; i < 5; i++)
        out[i] = res[i];
}

static void test_peer_rules(void)
{
    char rundir[64], cmd[128];
    int r[5];
    pid_t core = start_core2(rundir);

    if (!tap_ok(core > 0, "a second core (FLASK disabled, --role backend=uid:65534) starts"))
        return;
    as_uid(rundir, NOBODY, r);
    tap_is_int(r[0], 0, "uid 65534 opens a backend-role connection (its --role rule)");
    tap_is_int(r[1], EPERM, "without FLASK the dummy module refuses the backend a domain create");
    tap_is_int(r[2], EPERM, "and domain information");
    tap_is_int(r[3], EACCES, "uid 65534 may not take the store role");
    tap_is_int(r[4], EACCES, "nor act as the toolstack without declaring a role");
    as_uid(rundir, OTHER_UID, r);
    tap_ok(r[0] != 0, "uid 65533 (no rule) cannot connect in any role");
    kill(core, SIGTERM);
    waitpid(core, NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
    if (system(cmd) != 0)
        tap_diag("could not remove %s", rundir);
}

int main(void)
{
    if (!tap_ok(hvhost_start(&host) == 0, "the core starts"))
        tap_bail("no core");
    if (!tap_ok(boot_granter() == 0, "a granter guest runs and grants a page to Domain-0")) {
        hvhost_stop(&host);
        tap_bail("no guest");
    }
    test_backend();
    test_store();
    test_console();
    test_refusals();
    test_peer_rules();
    tap_ok(kc_domain_destroy(host.h, (uint32_t)guest) == 0, "the toolstack destroys the guest");
    hvhost_stop(&host);
    return tap_done();
}
