/* test-kf.c - libkeelflask against Keel's default policy: contexts and SIDs, the generated
 * header's numbers, the denial matrix, auditing, permissive mode, booleans, the AVC, reload
 * and reload while other threads query. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tap.h"
#include "keel-flask-av.h"
#include "kf.h"

static char policy_path[4096];
static char last_audit[1024];
static int naudit;

static void audit(void *arg, const char *line)
{
    (void)arg;
    snprintf(last_audit, sizeof(last_audit), "%s", line);
    naudit++;
}

static kf_sid_t sid_of(kf_t *kf, const char *ctx)
{
    kf_sid_t s = 0;
    int rc = kf_context_to_sid(kf, ctx, &s);

    if (rc)
        tap_diag("context %s: %d", ctx, rc);
    return s;
}

static kf_sid_t self_of(kf_t *kf, kf_sid_t s)
{
    kf_sid_t out = 0;

    kf_compute_create(kf, s, s, SECCLASS_DOMAIN, &out);
    return out;
}

static void test_contexts(kf_t *kf)
{
    char buf[256];
    kf_sid_t s, d0;

    tap_ok(kf_context_to_sid(kf, "system_u:system_r:domU_t", &s) == 0 && s == SECINITSID_DOMU,
           "the context of an initial SID maps to that SID");
    tap_ok(kf_context_to_sid(kf, "system_u:system_r:isolated_domU_t", &s) == 0 && s > 64,
           "another domain context gets a dynamic SID above the initial SIDs");
    tap_ok(kf_sid_to_context(kf, s, buf, sizeof(buf)) > 0 &&
               !strcmp(buf, "system_u:system_r:isolated_domU_t"),
           "SID to context gives the context back");
    tap_ok(kf_context_to_sid(kf, "system_u:system_r:isolated_domU_t", &d0) == 0 && d0 == s,
           "the same context gets the same SID");
    tap_is_int(kf_context_to_sid(kf, "system_u:system_r:no_such_t", &s), -EINVAL,
               "an unknown type is refused");
    tap_is_int(kf_context_to_sid(kf, "system_u:system_r:domain_type", &s), -EINVAL,
               "an attribute is not a context type");
    tap_is_int(kf_context_to_sid(kf, "system_u:system_r:domU_t:s0", &s), -EINVAL,
               "an MLS part is refused by a non-MLS policy");
    tap_is_int(kf_context_to_sid(kf, "garbage", &s), -EINVAL, "a malformed context is refused");
    tap_ok(kf_context_to_sid(kf, "system_u:object_r:nic_dev_t", &s) == 0,
           "object_r labels objects of any type");
    tap_ok(kf_initial_sid(kf, SECINITSID_DOM0, &d0) == 0 &&
               kf_sid_to_context(kf, d0, buf, sizeof(buf)) > 0 &&
               !strcmp(buf, "system_u:system_r:dom0_t"),
           "initial SID dom0 has dom0_t's context");
    tap_ok(kf_initial_sid(kf, SECINITSID_DOMU, &d0) == 0 &&
               kf_sid_to_context(kf, d0, buf, sizeof(buf)) > 0 &&
               !strcmp(buf, "system_u:system_r:domU_t"),
           "initial SID domU labels guests without seclabel");
    tap_is_int(kf_sid_to_context(kf, 999999, buf, sizeof(buf)), -EINVAL,
               "an unknown SID has no context");
    tap_is_int(kf_sid_to_context(kf, d0, buf, 4), -ERANGE, "a short buffer gives -ERANGE");
}

static void test_header(kf_t *kf)
{
    int ok = 1;
    uint16_t c;
    uint32_t bit;

    for (int i = 1; i <= SECCLASS_NUM; i++)
        if (kf_class_value(kf, keel_flask_class_names[i], &c) || c != i)
            ok = 0;
    tap_ok(ok, "every class of keel-flask-av.h has the policy's class number");
    tap_ok(kf_perm_bit(kf, SECCLASS_DOMAIN, "create", &bit) == 0 && bit == DOMAIN__CREATE,
           "DOMAIN__CREATE is the policy's bit for domain create");
    tap_ok(kf_perm_bit(kf, SECCLASS_EVENT, "bind", &bit) == 0 && bit == EVENT__BIND,
           "EVENT__BIND is the policy's bit for event bind");
    tap_ok(kf_perm_bit(kf, SECCLASS_VTPM, "command", &bit) == 0 && bit == VTPM__COMMAND,
           "VTPM__COMMAND is the policy's bit for vtpm command");
    tap_is_int(kf_perm_bit(kf, SECCLASS_DOMAIN, "no_such_perm", &bit), -ENOENT,
               "an unknown permission is not found");
}

struct sids {
    kf_sid_t xen, dom0, domU, domU2, iso, drv, dm, sec, vtpm;
};

static void get_sids(kf_t *kf, struct sids *s)
{
    kf_initial_sid(kf, SECINITSID_XEN, &s->xen);
    kf_initial_sid(kf, SECINITSID_DOM0, &s->dom0);
    kf_initial_sid(kf, SECINITSID_SECURITY, &s->sec);
    s->domU = sid_of(kf, "system_u:system_r:domU_t");
    s->domU2 = s->domU; /* two ordinary guests share the label */
    s->iso = sid_of(kf, "system_u:system_r:isolated_domU_t");
    s->drv = sid_of(kf, "system_u:system_r:driver_dom_t");
    s->dm = sid_of(kf, "system_u:system_r:dm_dom_t");
    s->vtpm = sid_of(kf, "system_u:object_r:vtpm_t");
}

#define ALLOWED(ss, ts, c, p, what) tap_ok(kf_has_perm(kf, ss, ts, c, p, NULL) == 0, what)
#define DENIED(ss, ts, c, p, what) tap_ok(kf_has_perm(kf, ss, ts, c, p, NULL) == -EACCES, what)

static void test_matrix(kf_t *kf, const struct sids *s)
{
    kf_sid_t ch = 0;

    ALLOWED(s->dom0, s->domU, SECCLASS_DOMAIN, DOMAIN__CREATE | DOMAIN__PAUSE | DOMAIN__DESTROY,
            "dom0 may create, pause and destroy a domU");
    DENIED(s->domU, s->domU2, SECCLASS_DOMAIN, DOMAIN__CREATE, "a domU may not create domains");
    DENIED(s->domU, s->domU2, SECCLASS_DOMAIN, DOMAIN__PAUSE, "a domU may not pause another");
    DENIED(s->domU, s->dom0, SECCLASS_MMU, MMU__MAP_READ, "a domU may not map dom0's memory");
    DENIED(s->domU, s->domU2, SECCLASS_MMU, MMU__MAP_WRITE, "a domU may not map another domU");
    ALLOWED(s->domU, self_of(kf, s->domU), SECCLASS_MMU, MMU__MAP_READ | MMU__ADJUST,
            "a domU may map and populate its own memory (self label)");
    ALLOWED(s->dom0, s->domU, SECCLASS_MMU, MMU__MAP_READ | MMU__MAP_WRITE,
            "dom0 may map a domU's memory");
    DENIED(s->domU, s->sec, SECCLASS_SECURITY, SECURITY__LOAD_POLICY,
           "a domU may not load a policy");
    DENIED(s->domU, s->sec, SECCLASS_SECURITY, SECURITY__SETENFORCE, "a domU may not setenforce");
    ALLOWED(s->dom0, s->sec, SECCLASS_SECURITY, SECURITY__LOAD_POLICY | SECURITY__SETENFORCE,
            "dom0 may load a policy and setenforce");
    ALLOWED(s->dom0, s->xen, SECCLASS_XEN, XEN__PHYSINFO | XEN__READCONSOLE,
            "dom0 may read physinfo and the console");
    DENIED(s->domU, s->xen, SECCLASS_XEN, XEN__READCONSOLE, "a domU may not read the console");
    /* event channels: dom0 opens one to a domU; the domU may not bind dom0's other labels */
    tap_ok(kf_compute_create(kf, s->dom0, s->domU, SECCLASS_EVENT, &ch) == 0,
           "a channel dom0 opens gets a label");
    ALLOWED(s->dom0, ch, SECCLASS_EVENT, EVENT__CREATE | EVENT__SEND, "dom0 may create and send");
    ALLOWED(ch, s->domU, SECCLASS_EVENT, EVENT__BIND, "dom0's channel may be bound by a domU");
    tap_ok(kf_compute_create(kf, s->domU, s->iso, SECCLASS_EVENT, &ch) == 0,
           "a channel a domU opens gets a label");
    DENIED(ch, s->iso, SECCLASS_EVENT, EVENT__BIND,
           "an isolated domU may not bind a domU's channel");
    DENIED(s->iso, s->domU, SECCLASS_GRANT, GRANT__MAP_READ,
           "an isolated domU may not map a domU's grants");
    ALLOWED(s->iso, s->dom0, SECCLASS_GRANT, GRANT__MAP_READ | GRANT__MAP_WRITE,
            "an isolated domU may map dom0's grants");
    ALLOWED(s->domU, s->domU2, SECCLASS_GRANT, GRANT__MAP_READ | GRANT__COPY,
            "ordinary domUs may use each other's grants");
    ALLOWED(s->dm, s->domU, SECCLASS_MMU, MMU__MAP_WRITE, "a device model may map its guest");
    ALLOWED(s->domU, s->vtpm, SECCLASS_VTPM, VTPM__OPEN | VTPM__COMMAND, "a domU may use a vTPM");
    DENIED(s->domU, s->vtpm, SECCLASS_VTPM, VTPM__CREATE, "a domU may not create vTPMs");
    ALLOWED(s->dom0, s->vtpm, SECCLASS_VTPM, VTPM__CREATE | VTPM__SAVE, "dom0 manages vTPMs");
}

static void test_audit(kf_t *kf, const struct sids *s)
{
    char buf[512];
    int n, rc;

    kf_set_audit(kf, audit, NULL);
    naudit = 0;
    rc = kf_has_perm(kf, s->domU, s->sec, SECCLASS_SECURITY, SECURITY__LOAD_POLICY, "for domid=5");
    tap_is_int(rc, -EACCES, "a denial in enforcing mode returns -EACCES");
    tap_ok(naudit == 1 && !strcmp(last_audit, "avc: denied { load_policy } for domid=5 "
                                              "scontext=system_u:system_r:domU_t "
                                              "tcontext=system_u:system_r:security_t "
                                              "tclass=security"),
           "the denial is audited in the usual form: %s", last_audit);
    kf_set_enforcing(kf, 0);
    tap_is_int(kf_get_enforcing(kf), 0, "permissive mode is reported");
    rc = kf_has_perm(kf, s->domU, s->sec, SECCLASS_SECURITY, SECURITY__SETENFORCE, NULL);
    tap_is_int(rc, 0, "permissive mode grants a denied permission");
    tap_ok(naudit == 2 && strstr(last_audit, "avc: denied { setenforce }"),
           "permissive mode still audits the denial");
    rc = kf_has_perm(kf, s->domU, s->sec, SECCLASS_SECURITY, SECURITY__SETENFORCE, NULL);
    tap_ok(rc == 0 && naudit == 2, "in permissive mode a repeated denial is audited only once");
    kf_set_enforcing(kf, 1);
    rc = kf_has_perm(kf, s->domU, s->sec, SECCLASS_SECURITY, SECURITY__SETENFORCE, NULL);
    tap_ok(rc == -EACCES && naudit == 3,
           "back in enforcing mode the denial is enforced and audited again");
    n = kf_format_avc(kf, buf, sizeof(buf), 0, s->domU, s->dom0, SECCLASS_MMU,
                      MMU__MAP_READ | MMU__MAP_WRITE, NULL);
    tap_ok(n > 0 && !strcmp(buf, "avc: denied { map_read map_write } "
                                 "scontext=system_u:system_r:domU_t "
                                 "tcontext=system_u:system_r:dom0_t tclass=mmu"),
           "kf_format_avc lists every permission: %s", buf);
    tap_is_int(kf_format_avc(kf, buf, 20, 0, s->domU, s->dom0, SECCLASS_MMU, MMU__MAP_READ,
                             NULL),
               -ERANGE, "a short audit buffer gives -ERANGE");
    naudit = 0;
    kf_has_perm(kf, s->dom0, s->domU, SECCLASS_DOMAIN, DOMAIN__PAUSE, NULL);
    tap_is_int(naudit, 0, "a plain grant is not audited");
    kf_set_audit(kf, NULL, NULL);
}

static void test_booleans(kf_t *kf, const struct sids *s)
{
    int v = -1;
    uint32_t seq = kf_seqno(kf);

    tap_ok(kf_bool_count(kf) == 2, "the default policy has two booleans");
    tap_ok(kf_bool_get(kf, "guest_writeconsole", &v) == 0 && v == 1,
           "guest_writeconsole is on by default");
    ALLOWED(s->domU, s->xen, SECCLASS_XEN, XEN__WRITECONSOLE, "a domU may write the console");
    tap_ok(kf_bool_set(kf, "guest_writeconsole", 0) == 0, "a boolean can be set");
    ALLOWED(s->domU, s->xen, SECCLASS_XEN, XEN__WRITECONSOLE, "a pending value changes nothing");
    tap_ok(kf_bool_commit(kf) == 0 && kf_seqno(kf) == seq + 1, "commit bumps the generation");
    DENIED(s->domU, s->xen, SECCLASS_XEN, XEN__WRITECONSOLE,
           "after commit the conditional rule is off (cache flushed)");
    kf_bool_set(kf, "guest_writeconsole", 1);
    kf_bool_commit(kf);
    ALLOWED(s->domU, s->xen, SECCLASS_XEN, XEN__WRITECONSOLE, "and back on");
    tap_is_int(kf_bool_set(kf, "no_such_bool", 1), -ENOENT, "an unknown boolean is refused");
}

static void test_avc(kf_t *kf, const struct sids *s)
{
    struct kf_av a, b;
    struct kf_avc_stats st0, st1;

    kf_avc_flush(kf);
    kf_avc_stats(kf, &st0);
    kf_avc_lookup(kf, s->dom0, s->domU, SECCLASS_DOMAIN, &a);
    kf_avc_lookup(kf, s->dom0, s->domU, SECCLASS_DOMAIN, &a);
    kf_avc_stats(kf, &st1);
    tap_ok(st1.misses == st0.misses + 1 && st1.hits == st0.hits + 1,
           "the second lookup is a cache hit");
    kf_compute_av(kf, s->dom0, s->domU, SECCLASS_DOMAIN, &b);
    tap_ok(a.allowed == b.allowed && a.auditdeny == b.auditdeny && a.auditallow == b.auditallow,
           "the cached decision equals the computed one");
    tap_is_int(kf_compute_av(kf, s->dom0, s->domU, 99, &b), -EINVAL, "an unknown class fails");
}

struct worker {
    kf_t *kf;
    const struct sids *s;
    int bad, stop;
    long n;
};

static void *work(void *arg)
{
    struct worker *w = arg;

    while (w->n < 2000 || !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
        if (kf_has_perm(w->kf, w->s->dom0, w->s->domU, SECCLASS_DOMAIN, DOMAIN__CREATE, NULL))
            w->bad++;
        if (kf_has_perm(w->kf, w->s->domU, w->s->dom0, SECCLASS_MMU, MMU__MAP_READ, NULL) !=
            -EACCES)
            w->bad++;
        w->n++;
    }
    return NULL;
}

static void test_reload(kf_t *kf, const struct sids *s)
{
    struct worker w[4];
    pthread_t th[4];
    char err[256], buf[256];
    int fails = 0;

    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ kf, s, 0, 0, 0 };
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 20; i++) {
        if (kf_load_file(kf, policy_path, err, sizeof(err)))
            fails++;
        kf_bool_set(kf, "driver_domains_use_devices", i & 1);
        kf_bool_commit(kf);
    }
    for (int i = 0; i < 4; i++) {
        __atomic_store_n(&w[i].stop, 1, __ATOMIC_RELEASE);
        pthread_join(th[i], NULL);
    }
    tap_is_int(fails, 0, "20 reloads succeed while 4 threads query");
    tap_ok(!w[0].bad && !w[1].bad && !w[2].bad && !w[3].bad && w[0].n > 0,
           "no query saw a wrong decision during reloads (%ld queries in thread 0)", w[0].n);
    tap_ok(kf_sid_to_context(kf, s->iso, buf, sizeof(buf)) > 0 &&
               !strcmp(buf, "system_u:system_r:isolated_domU_t"),
           "a dynamic SID keeps its context across reloads");
}

static void test_bad_load(kf_t *kf)
{
    char err[256] = "";
    static const unsigned char junk[] = "not a policy at all";
    uint32_t seq = kf_seqno(kf);

    tap_is_int(kf_load(kf, junk, sizeof(junk), err, sizeof(err)), -EINVAL,
               "garbage is refused as a policy");
    tap_ok(strstr(err, "offset 0") && strstr(err, "magic"), "the error names offset and cause: %s",
           err);
    tap_ok(kf_seqno(kf) == seq, "a refused load leaves the policy in force");
    tap_ok(kf_load_file(kf, "/nonexistent/policy", err, sizeof(err)) == -ENOENT,
           "a missing file gives -ENOENT");
    {
        static const char *const wrong[] = { "", "xen", "mmu" };

        kf_expect_classes(kf, keel_flask_class_names, SECCLASS_NUM);
        tap_ok(kf_load_file(kf, policy_path, err, sizeof(err)) == 0,
               "a policy with the hypervisor's class numbers loads");
        kf_expect_classes(kf, wrong, 2);
        tap_ok(kf_load_file(kf, policy_path, err, sizeof(err)) == -EPROTO &&
                   strstr(err, "class 2 is domain in the policy but mmu"),
               "a policy whose class numbers differ is refused: %s", err);
    }
}

int main(void)
{
    const char *b = getenv("KEEL_BUILDDIR");
    char err[256];
    struct sids s;
    kf_t *kf;
    struct kf_av av;
    uint32_t ver = 0;

    /* KEEL_FLASK_POLICY runs the same checks on another binary (checkpolicy's) */
    if (getenv("KEEL_FLASK_POLICY"))
        snprintf(policy_path, sizeof(policy_path), "%s", getenv("KEEL_FLASK_POLICY"));
    else
        snprintf(policy_path, sizeof(policy_path), "%s/policy/keel-policy.30", b ? b : "..");
    if (kf_create(&kf))
        tap_bail("kf_create failed");
    tap_is_int(kf_compute_av(kf, 1, 1, 1, &av), -EAGAIN, "no decision before a policy is loaded");
    tap_ok(kf_get_enforcing(kf) == 1, "a new handle is enforcing");
    tap_ok(kf_load_file(kf, policy_path, err, sizeof(err)) == 0, "the default policy loads (%s)",
           err);
    tap_ok(kf_policy_version(kf, &ver) == 0 && ver == 30, "policy version 30");
    test_contexts(kf);
    test_header(kf);
    get_sids(kf, &s);
    test_matrix(kf, &s);
    test_audit(kf, &s);
    test_booleans(kf, &s);
    test_avc(kf, &s);
    test_reload(kf, &s);
    test_bad_load(kf);
    kf_destroy(kf);
    return tap_done();
}
