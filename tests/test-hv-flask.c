/* test-hv-flask - FLASK on a real core: enforcing by default with Keel's default policy, denials
 * audited as avc lines, permissive mode, labels from seclabel, policy (re)load of Keel's own and
 * of checkpolicy's binary, and what a guest may not do. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

static struct hvhost host;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 20);

    *len = f && buf ? fread(buf, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

static int ring_has(const char *text)
{
    return hvhost_ring_has(&host, text);
}

static void test_modes(void)
{
    struct keel_evtchn_op st;
    uint32_t port;
    int a = hvhost_create(&host, 1, 16), b = hvhost_create(&host, 1, 16);

    tap_is_int(kc_flask_getenforce(host.h), 1, "the core enforces by default");
    kc_evtchn_alloc_unbound(host.h, (uint32_t)a, (uint32_t)b, &port);
    tap_is_int(kc_evtchn_status(host.h, (uint32_t)a, port, &st), -EACCES,
               "a denied operation fails with EACCES");
    tap_ok(ring_has("avc: denied { status }") && ring_has("scontext=system_u:system_r:dom0_t") &&
           ring_has("tclass=event"), "the denial is audited as an avc line in the console ring");
    tap_is_int(kc_flask_setenforce(host.h, 0), 0, "setenforce 0");
    tap_is_int(kc_flask_getenforce(host.h), 0, "getenforce reports permissive");
    tap_is_int(kc_evtchn_status(host.h, (uint32_t)a, port, &st), 0,
               "in permissive mode the operation goes through");
    tap_is_int(kc_flask_setenforce(host.h, 1), 0, "setenforce 1");
    {
        struct keel_flask_op op = { .cmd = KEEL_FLASK_SETENFORCE, .value = 7 };
        tap_is_int(kc_hypercall(host.h, KH_XSM_OP, 0, &op, sizeof(op), NULL, 0, NULL, 0, NULL, NULL,
                                0, NULL), -EINVAL, "setenforce 7 is refused");
    }
    kc_domain_destroy(host.h, (uint32_t)a);
    kc_domain_destroy(host.h, (uint32_t)b);
}

static void test_labels(void)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16384 };
    struct keel_domctl_info info;
    uint32_t domid = 0, sid = 0;
    char ctx[256];

    tap_is_int(kc_flask_context_to_sid(host.h, "system_u:system_r:domU_t", &sid), 0,
               "context_to_sid of domU_t");
    tap_ok(kc_flask_sid_to_context(host.h, sid, ctx, sizeof(ctx)) == 0 &&
           !strcmp(ctx, "system_u:system_r:domU_t"), "sid_to_context gives it back");
    tap_ok(kc_flask_context_to_sid(host.h, "system_u:system_r:no_such_t", &sid) < 0,
           "an unknown context has no SID");
    strcpy(cr.label, "system_u:system_r:isolated_domU_t");
    tap_is_int(kc_domain_create(host.h, &cr, &domid), 0, "create a domain with seclabel isolated_domU_t");
    kc_flask_context_to_sid(host.h, "system_u:system_r:isolated_domU_t", &sid);
    tap_ok(kc_domain_getinfo(host.h, domid, &info) == 0 && info.ssidref == sid,
           "the domain carries its label");
    kc_domain_destroy(host.h, domid);
    strcpy(cr.label, "system_u:system_r:no_such_t");
    domid = 0;
    tap_ok(kc_domain_create(host.h, &cr, &domid) < 0, "a label the policy does not know creates nothing");
    strcpy(cr.label, "system_u:system_r:dom0_t");
    domid = 0;
    tap_is_int(kc_domain_create(host.h, &cr, &domid), -EACCES,
               "the policy does not let dom0 create another dom0_t domain");
}

static void test_load(void)
{
    char path[600], cmd[1400], *img;
    size_t len;
    const char *b = getenv("KEEL_BUILDDIR");

    snprintf(path, sizeof(path), "%s/policy/keel-policy.30", b ? b : "..");
    img = slurp(path, &len);
    tap_ok(len > 1000, "read Keel's compiled default policy");
    tap_is_int(kc_flask_load(host.h, img, len), 0, "loadpolicy of Keel's own binary");
    tap_ok(kc_flask_load(host.h, "garbage", 7) < 0, "a garbage policy is refused");
    tap_ok(ring_has("flask: policy load refused"), "the refusal is logged");
    tap_is_int(kc_flask_getenforce(host.h), 1, "the previous policy stays in force");
    free(img);
    snprintf(path, sizeof(path), "%s/policy/policy.conf", b ? b : "..");
    snprintf(cmd, sizeof(cmd), "checkpolicy -t Xen -c 30 -o %s/cp.bin %s >/dev/null 2>&1",
             host.rundir, path);
    if (access(path, R_OK) == 0 && system(cmd) == 0) {
        snprintf(path, sizeof(path), "%s/cp.bin", host.rundir);
        img = slurp(path, &len);
        tap_is_int(kc_flask_load(host.h, img, len), 0, "the core loads checkpolicy's binary of the same source");
        free(img);
    } else {
        tap_ok(0, "checkpolicy compiles the default policy source (%s)", path);
    }
}

static void test_guest_denials(void)
{
    int domid = hvhost_boot(&host, "evil", "attempt=malformed", 1, 16);

    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "27/27 rejected", 5000),
           "under the enforcing policy every hostile guest hypercall is refused");
    kc_domain_destroy(host.h, (uint32_t)domid);
    domid = hvhost_boot(&host, "hello", "", 1, 16);
    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "Hello from Keel", 5000),
           "an ordinary guest runs under the enforcing policy (guest_writeconsole)");
    kc_domain_destroy(host.h, (uint32_t)domid);
}

int main(void)
{
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    test_modes();
    test_labels();
    test_load();
    test_guest_denials();
    hvhost_stop(&host);
    return tap_done();
}
