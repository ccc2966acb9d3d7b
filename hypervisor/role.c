/* role.c - the roles a control-socket connection may take (toolstack, store, console, backend):
 * their names, their FLASK contexts, and which peers (uid/gid rules) may take which role. A peer
 * that is root or the core's own uid may take any role; `keel-hv --role ROLE=uid:N|gid:N|
 * user:NAME|group:NAME` lets another peer take one role (hypervisor/README.md, "Connection
 * roles"). */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"
#include "klog.h"

#define HV_ROLE_MAX_RULES 32

static const struct {
    const char *name;
    const char *context;                 /* NULL: Domain-0's initial SID */
} roles[HV_ROLE_NUM] = {
    [HV_ROLE_TOOLSTACK] = { "toolstack", NULL },
    [HV_ROLE_STORE] = { "store", "system_u:system_r:store_t" },
    [HV_ROLE_CONSOLE] = { "console", "system_u:system_r:console_t" },
    [HV_ROLE_BACKEND] = { "backend", "system_u:system_r:backend_t" },
};

static struct {
    int role;
    bool is_gid;
    uint32_t id;
} rules[HV_ROLE_MAX_RULES];
static int nrules;

int hv_role_by_name(const char *name)
{
    for (int r = 0; r < HV_ROLE_NUM; r++)
        if (!strcmp(name, roles[r].name))
            return r;
    return -EINVAL;
}

const char *hv_role_name(int role)
{
    return role >= 0 && role < HV_ROLE_NUM ? roles[role].name : "none";
}

const char *hv_role_context(int role)
{
    return role > 0 && role < HV_ROLE_NUM ? roles[role].context : "system_u:system_r:dom0_t";
}

static int parse_id(const char *kind, const char *val, bool *is_gid, uint32_t *id)
{
    char *end;
    unsigned long n;

    if (!strcmp(kind, "user") || !strcmp(kind, "group")) {
        *is_gid = kind[0] == 'g';
        if (*is_gid) {
            struct group *g = getgrnam(val);
            if (!g)
                return -ENOENT;
            *id = (uint32_t)g->gr_gid;
        } else {
            struct passwd *p = getpwnam(val);
            if (!p)
                return -ENOENT;
            *id = (uint32_t)p->pw_uid;
        }
        return 0;
    }
    if (strcmp(kind, "uid") && strcmp(kind, "gid"))
        return -EINVAL;
    *is_gid = kind[0] == 'g';
    errno = 0;
    n = strtoul(val, &end, 10);
    if (errno || end == val || *end || n > UINT32_MAX - 1)
        return -EINVAL;
    *id = (uint32_t)n;
    return 0;
}

/* "ROLE=KIND:VALUE", KIND one of uid, gid, user, group. */
int hv_role_rule_add(const char *spec)
{
    char buf[128], *eq, *colon;
    int role, rc;
    bool is_gid;
    uint32_t id;

    if (strlen(spec) >= sizeof(buf) || nrules == HV_ROLE_MAX_RULES)
        return -E2BIG;
    strcpy(buf, spec);
    if (!(eq = strchr(buf, '=')) || !(colon = strchr(eq + 1, ':')))
        return -EINVAL;
    *eq = *colon = 0;
    if ((role = hv_role_by_name(buf)) < 0)
        return role;
    if ((rc = parse_id(eq + 1, colon + 1, &is_gid, &id)) < 0)
        return rc;
    rules[nrules].role = role;
    rules[nrules].is_gid = is_gid;
    rules[nrules].id = id;
    nrules++;
    return 0;
}

bool hv_role_rules_any(void)
{
    return nrules > 0;
}

/* May this peer take role (HV_ROLE_ANY: some role)? */
bool hv_role_peer_may(int role, uid_t uid, gid_t gid)
{
    if (uid == 0 || uid == geteuid())
        return true;
    for (int i = 0; i < nrules; i++)
        if ((role == HV_ROLE_ANY || rules[i].role == role) &&
            (rules[i].is_gid ? (uint32_t)gid == rules[i].id : (uint32_t)uid == rules[i].id))
            return true;
    return false;
}
