/* kc_mem_access.c - libkeelctrl: memory access restrictions of a monitored domain
 * (keel/ctrl_monitor.h; named after Xen's xc_set_mem_access / xc_get_mem_access). Only the
 * connection that holds the domain's vm_event ring may set or read them; the core validates the
 * access value and the frame range and says in its console ring which one was wrong. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "kc_private.h"
#include "keel/ctrl_monitor.h"

static long mem_access(kc_handle *h, uint32_t domid, struct keel_domctl_mem_access_op *op)
{
    return kc__monitor_op(h, domid, op, sizeof(*op));
}

const char *kc_mem_access_name(uint32_t access)
{
    static const char *const names[] = { "n", "r", "w", "rw", "x", "rx", "wx", "rwx" };

    if (access < 8)
        return names[access];
    return access == KEEL_MEM_ACCESS_DEFAULT ? "default" : "invalid";
}

int kc_mem_access_set(kc_handle *h, uint32_t domid, uint32_t access, uint64_t first_gfn,
                      uint64_t nr)
{
    struct keel_domctl_mem_access_op op = { .op = KEEL_MONITOR_OP_SET_MEM_ACCESS,
                                            .access = access, .gfn = first_gfn, .nr = nr };
    long rc = mem_access(h, domid, &op);

    if (rc == -EINVAL)
        return (int)kc_fail(rc, "setting access %u (%s) on %s of domain %u: invalid (an access "
                            "is 0-7: n r w rw x rx wx rwx, or 10: the default, for frames; "
                            "frames must lie within the guest's memory)", access,
                            kc_mem_access_name(access),
                            first_gfn == KEEL_MEM_ACCESS_DEFAULT_GFN ? "the default" : "frames",
                            domid);
    if (rc == -EBUSY)
        return (int)kc_fail(rc, "setting access on domain %u: refused while log-dirty mode is on",
                            domid);
    if (rc == -ENOENT)
        return (int)kc_fail(rc, "setting access on domain %u: this handle does not monitor it "
                            "(kc_monitor_enable first)", domid);
    if (rc < 0)
        return (int)kc_fail(rc, "setting access %s on frames %#llx + %llu of domain %u",
                            kc_mem_access_name(access), (unsigned long long)first_gfn,
                            (unsigned long long)nr, domid);
    return 0;
}

int kc_mem_access_get(kc_handle *h, uint32_t domid, uint64_t gfn, uint32_t *access)
{
    struct keel_domctl_mem_access_op op = { .op = KEEL_MONITOR_OP_GET_MEM_ACCESS, .gfn = gfn };
    long rc = mem_access(h, domid, &op);

    if (rc < 0)
        return (int)kc_fail(rc, "reading the access of frame %#llx of domain %u%s",
                            (unsigned long long)gfn, domid,
                            rc == -EINVAL ? ": beyond the guest's memory" :
                            rc == -ENOENT ? ": this handle does not monitor it" : "");
    *access = op.access;
    return 0;
}
