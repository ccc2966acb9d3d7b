/* flask.c - the FLASK XSM module: loads the policy at start (enforcing by default), labels
 * domains and event channels, and answers the per-operation checks the hypercall handlers make.
 * Denials are audited to the hypervisor console ring as "avc: denied { perm } scontext=...
 * tcontext=... tclass=...". With --flask=disabled only the built-in dummy rules (xsm.c) apply.
 * The source of every check is the caller's label: a guest's domain SID, or for a control-socket
 * connection the SID of its role (Domain-0's for the toolstack; role.c, control.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "keel-flask-av.h"
#include "kf.h"
#include "klog.h"

static kf_t *kf;
static kf_sid_t xen_sid, security_sid, domU_sid;
static const char *const class_names[] = { NULL,
    "xen", "domain", "domain2", "hvm", "mmu", "resource", "shadow", "event", "grant",
    "security", "version", "xen2", "vtpm" };
_Static_assert(sizeof(class_names) / sizeof(class_names[0]) == SECCLASS_NUM + 1, "classes");

static void audit(void *arg, const char *line)
{
    (void)arg;
    hv_printk("%s", line);               /* callers hold hv.lock, which guards the ring */
}

bool hv_flask_enabled(void)
{
    return kf != NULL;
}

int hv_flask_init(const char *policy, const char *mode)
{
    char err[256] = "";
    int rc;

    if (!strcmp(mode, "disabled"))
        return 0;
    if (strcmp(mode, "enforcing") && strcmp(mode, "permissive")) {
        klog_err("flask", "unknown FLASK mode '%s' (enforcing, permissive or disabled)", mode);
        return -EINVAL;
    }
    if ((rc = kf_create(&kf)) < 0)
        return rc;
    kf_expect_classes(kf, class_names, SECCLASS_NUM);
    kf_set_audit(kf, audit, NULL);
    if ((rc = kf_load_file(kf, policy, err, sizeof(err))) < 0) {
        klog_err("flask", "cannot load the policy %s: %s", policy, err[0] ? err : strerror(-rc));
        kf_destroy(kf);
        kf = NULL;
        return rc;
    }
    kf_set_enforcing(kf, !strcmp(mode, "enforcing"));
    kf_initial_sid(kf, SECINITSID_XEN, &xen_sid);
    kf_initial_sid(kf, SECINITSID_SECURITY, &security_sid);
    kf_initial_sid(kf, SECINITSID_DOMU, &domU_sid);
    klog_info("flask", "policy %s loaded, %s", policy, mode);
    return 0;
}

/* A domain's label: its seclabel, or the default guest label; plus its "self" SID. */
int hv_flask_label(const char *label, uint32_t *sid, uint32_t *self_sid)
{
    kf_sid_t s = domU_sid, self;
    int rc;

    if (!kf) {
        *sid = *self_sid = 0;
        return 0;
    }
    if (label && label[0] && (rc = kf_context_to_sid(kf, label, &s)) < 0)
        return rc;
    if (kf_compute_create(kf, s, s, SECCLASS_DOMAIN, &self) < 0)
        self = s;
    *sid = s;
    *self_sid = self;
    return 0;
}

int hv_flask_dom0(uint32_t *sid)
{
    return kf ? kf_initial_sid(kf, SECINITSID_DOM0, sid) : 0;
}

/* The caller's SID against a domain (its self SID when the caller acts on itself). */
int hv_xsm_check(struct hv_caller *c, struct hv_domain *t, uint16_t cls, uint32_t perm)
{
    uint32_t tsid;

    if (!kf)
        return 0;
    tsid = t == c->d ? c->d->self_sid : t->ssidref;
    return kf_has_perm(kf, hv_caller_sid(c), tsid, cls, perm, NULL);
}

int hv_xsm_check_xen(struct hv_caller *c, uint16_t cls, uint32_t perm)
{
    return kf ? kf_has_perm(kf, hv_caller_sid(c), cls == SECCLASS_SECURITY ? security_sid : xen_sid,
                            cls, perm, NULL) : 0;
}

int hv_xsm_check_sids(uint32_t ssid, uint32_t tsid, uint16_t cls, uint32_t perm)
{
    return kf ? kf_has_perm(kf, ssid, tsid, cls, perm, NULL) : 0;
}

/* Is perm granted without an audit record (the Domain-0 direct event path, evtfast.c)? */
bool hv_xsm_allowed_quietly(uint32_t ssid, uint32_t tsid, uint16_t cls, uint32_t perm)
{
    struct kf_av av;

    if (!kf)
        return true;
    return kf_compute_av(kf, ssid, tsid, cls, &av) == 0 && (av.allowed & perm) == perm &&
           !(av.auditallow & perm);
}

/* For callers that do not hold hv.lock (grant ops): a cached grant that needs no audit takes no
 * lock; anything else is decided again under hv.lock, which guards the audit's console ring. */
int hv_xsm_check_sids_unlocked(uint32_t ssid, uint32_t tsid, uint16_t cls, uint32_t perm)
{
    struct kf_av av;
    int rc;

    if (!kf)
        return 0;
    if (kf_avc_lookup(kf, ssid, tsid, cls, &av) == 0 && (av.allowed & perm) == perm &&
        !(av.auditallow & perm))
        return 0;
    pthread_mutex_lock(&hv.lock);
    rc = kf_has_perm(kf, ssid, tsid, cls, perm, NULL);
    pthread_mutex_unlock(&hv.lock);
    return rc;
}

uint32_t hv_flask_channel_sid(struct hv_domain *d, struct hv_domain *remote)
{
    return hv_flask_channel_sid_of(d->ssidref, remote);
}

/* A channel created by a subject labelled ssid (a domain, or a control connection's role). */
uint32_t hv_flask_channel_sid_of(uint32_t ssid, struct hv_domain *remote)
{
    kf_sid_t s = 0;

    if (kf && kf_compute_create(kf, ssid, remote->ssidref, SECCLASS_EVENT, &s) < 0)
        s = ssid;
    return s;
}

/* The label of a control connection's role: Domain-0's for the toolstack, else the role's
 * context, which the loaded policy must know (-EINVAL if it does not). */
int hv_flask_role_sid(int role, uint32_t *sid)
{
    *sid = 0;
    if (!kf)
        return 0;
    if (role == HV_ROLE_TOOLSTACK)
        return kf_initial_sid(kf, SECINITSID_DOM0, sid);
    return kf_context_to_sid(kf, hv_role_context(role), sid);
}

static long flask_load(struct hv_caller *c, uint32_t len)
{
    char err[256] = "";
    int rc;

    if ((rc = hv_xsm_check_xen(c, SECCLASS_SECURITY, SECURITY__LOAD_POLICY)) < 0)
        return rc;
    if (!hv_is_priv(c) || len != c->in_len)
        return -EINVAL;
    if ((rc = kf_load(kf, c->in, c->in_len, err, sizeof(err))) < 0)
        hv_printk("flask: policy load refused: %s", err);
    else
        hv_printk("flask: policy loaded (%u bytes)", len);
    return rc;
}

static long xsm_op(struct hv_caller *c, uint64_t cmd, uint64_t arg);

/* A policy load or a mode change may revoke what the direct event path was allowed. */
long hv_do_xsm_op(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    long rc = xsm_op(c, cmd, arg);

    hv_evfast_refresh();
    return rc;
}

static long xsm_op(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    struct keel_flask_op op;
    long rc;

    (void)cmd;
    if (!kf)
        return -ENOSYS;
    if ((rc = hv_arg_read(c, arg, &op, sizeof(op))) < 0)
        return rc;
    op.context[sizeof(op.context) - 1] = 0;
    switch (op.cmd) {
    case KEEL_FLASK_LOAD:
        return flask_load(c, op.value);
    case KEEL_FLASK_GETENFORCE:
        return kf_get_enforcing(kf);
    case KEEL_FLASK_SETENFORCE:
        if ((rc = hv_xsm_check_xen(c, SECCLASS_SECURITY, SECURITY__SETENFORCE)) < 0)
            return rc;
        if (op.value > 1)
            return -EINVAL;
        kf_set_enforcing(kf, (int)op.value);
        hv_printk("flask: %s mode", op.value ? "enforcing" : "permissive");
        return 0;
    case KEEL_FLASK_CONTEXT_TO_SID:
        if ((rc = hv_xsm_check_xen(c, SECCLASS_SECURITY, SECURITY__CHECK_CONTEXT)) < 0 ||
            (rc = kf_context_to_sid(kf, op.context, &op.sid)) < 0)
            return rc;
        break;
    case KEEL_FLASK_SID_TO_CONTEXT:
        if ((rc = kf_sid_to_context(kf, op.sid, op.context, sizeof(op.context))) < 0)
            return rc;
        break;
    case KEEL_FLASK_ACCESS: {
        struct kf_av av;
        if ((rc = hv_xsm_check_xen(c, SECCLASS_SECURITY, SECURITY__COMPUTE_AV)) < 0 ||
            (rc = kf_compute_av(kf, op.sid, op.tsid, op.tclass, &av)) < 0)
            return rc;
        op.value = av.allowed;
        break;
    }
    default:
        return -ENOSYS;
    }
    return hv_arg_write(c, arg, &op, sizeof(op));
}
