/* xsm.c - the XSM hook called on every hypercall. This is the built-in "dummy" module with
 * Xen's default semantics: the privileged toolstack (Domain-0) may do everything; a guest may act
 * only on itself, never use domctl/sysctl, and reach another domain only through event channels
 * that the other side offered. FLASK replaces these decisions when a policy is loaded.
 * Control connections in a service role (store, console, backend; role.c) pass hv_xsm_role
 * first: with FLASK, it keeps them to the hypercall families whose every operation FLASK checks
 * against the connection's label; without FLASK, to a fixed list of operations per role (as
 * Xen's dummy module gives a xenstore or device-model domain only its own privileges). */
#include "config.h"

#include <errno.h>

#include "hv.h"
#include "keel/vm_event.h"

int hv_xsm_hypercall(struct hv_caller *c, uint32_t op, uint64_t cmd)
{
    (void)cmd;
    if (hv_is_priv(c))
        return 0;
    switch (op) {
    case KH_DOMCTL:       /* a guest's monitoring attempt goes on to FLASK (domctl.c, vm_event.c) */
        return cmd == KEEL_DOMCTL_MONITOR_OP || cmd == KEEL_DOMCTL_VM_EVENT_OP ? 0 : -EPERM;
    case KH_SYSCTL:
    case KH_XSM_OP:
        return -EPERM;
    default:
        return 0;
    }
}

int hv_xsm_target(struct hv_caller *c, struct hv_domain *target, uint32_t op, uint64_t cmd)
{
    (void)op;
    (void)cmd;
    if (hv_is_priv(c) || target == c->d)
        return 0;
    return -EPERM;
}

struct role_op {
    uint32_t op;
    int32_t sub;                         /* the family's command, -1: any but those listed next */
};

/* Without FLASK: what each service role may call (sub = domctl/sysctl/grant/event command). */
static bool dummy_role_allows(int role, uint32_t op, uint32_t sub)
{
    static const struct role_op common[] = {
        { KH_XEN_VERSION, -1 }, { KH_EVENT_CHANNEL_OP, -1 },
    };
    static const struct role_op store[] = {
        { KH_DOMCTL, KEEL_DOMCTL_GETDOMAININFO }, { KH_DOMCTL, KEEL_DOMCTL_FOREIGN_MAP },
        { KH_SYSCTL, KEEL_SYSCTL_GETDOMAININFOLIST },
    };
    static const struct role_op grants[] = {
        { KH_GRANT_TABLE_OP, KEEL_GNTTABOP_MAP_GRANT_REF },
        { KH_GRANT_TABLE_OP, KEEL_GNTTABOP_UNMAP_GRANT_REF },
        { KH_GRANT_TABLE_OP, KEEL_GNTTABOP_COPY },
    };

    if (op == KH_EVENT_CHANNEL_OP && sub == KEEL_EVTCHNOP_RESET)
        return false;                    /* resetting a guest's channels is the toolstack's */
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        if (common[i].op == op)
            return true;
    if (role == HV_ROLE_STORE || role == HV_ROLE_CONSOLE)
        for (size_t i = 0; i < sizeof(store) / sizeof(store[0]); i++)
            if (store[i].op == op && (uint32_t)store[i].sub == sub)
                return true;
    if (role == HV_ROLE_BACKEND || role == HV_ROLE_CONSOLE)
        for (size_t i = 0; i < sizeof(grants) / sizeof(grants[0]); i++)
            if (grants[i].op == op && (uint32_t)grants[i].sub == sub)
                return true;
    return false;
}

/* The families whose every operation FLASK checks with the caller's label. */
static bool flask_covers(uint32_t op)
{
    switch (op) {
    case KH_XEN_VERSION:
    case KH_CONSOLE_IO:
    case KH_EVENT_CHANNEL_OP:
    case KH_MEMORY_OP:
    case KH_GRANT_TABLE_OP:
    case KH_DOMCTL:
    case KH_SYSCTL:
    case KH_XSM_OP:
        return true;
    default:
        return false;
    }
}

/* A control connection's request, before its handler: op, the raw cmd, and sub, the command
 * inside the argument for domctl and sysctl (the low byte of cmd for grant ops, cmd for the
 * rest). The toolstack passes. */
int hv_xsm_role(struct hv_caller *c, uint32_t op, uint64_t cmd, uint32_t sub)
{
    int role = c->conn ? hv_conn_role(c->conn) : HV_ROLE_TOOLSTACK;

    (void)cmd;
    if (role == HV_ROLE_TOOLSTACK)
        return 0;
    if (role < 0 || role >= HV_ROLE_NUM)
        return -EACCES;
    if (hv_flask_enabled())
        return flask_covers(op) ? 0 : -EPERM;
    return dummy_role_allows(role, op, sub) ? 0 : -EPERM;
}
