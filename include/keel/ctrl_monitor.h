/* keel/ctrl_monitor.h - libkeelctrl's introspection calls (named after Xen's xc_monitor_*) and a
 * small consumer API over the vm_event ring (keel/vm_event.h): read an event, read and write guest
 * memory, answer (registers travel in the event and its response). One consumer per domain; the
 * monitoring belongs to the kc_handle that enabled it and ends when that handle closes. */
#ifndef KEEL_CTRL_MONITOR_H
#define KEEL_CTRL_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/ctrl.h"
#include "keel/vm_event.h"

typedef struct kc_vm_event kc_vm_event;

/* Start monitoring domid through h (EBUSY: another consumer has it; EACCES: FLASK). */
int kc_monitor_enable(kc_handle *h, uint32_t domid, kc_vm_event **out);
/* End it (every waiting vCPU resumes, every event off) and free ve. */
int kc_monitor_disable(kc_vm_event *ve);
/* The same by domain, for monitoring h holds without a kc_vm_event (ENOENT: h holds none). */
int kc_monitor_disable_raw(kc_handle *h, uint32_t domid);
int kc_monitor_get_capabilities(kc_handle *h, uint32_t domid, uint64_t *caps);
int kc_monitor_software_breakpoint(kc_handle *h, uint32_t domid, bool enable);
int kc_monitor_singlestep(kc_handle *h, uint32_t domid, bool enable);
int kc_monitor_guest_request(kc_handle *h, uint32_t domid, bool enable, bool sync);
/* Xen's xc_monitor_debug_exceptions: events for the hardware breakpoints set below. */
int kc_monitor_debug_exceptions(kc_handle *h, uint32_t domid, bool enable, bool sync);
/* A vCPU's debug registers, DR0-DR3 (dr) and DR7 with the x86 meaning (keel/vm_event.h,
 * KEEL_DR7_*); dr7 0 clears them. Only while h monitors domid (ENOENT), for a vCPU that runs
 * (EBUSY); EINVAL: a DR7 x86 would refuse or an I/O breakpoint; EOPNOTSUPP: no hardware
 * breakpoints on this host (perf). Cleared when the monitoring ends. */
int kc_monitor_set_debugregs(kc_handle *h, uint32_t domid, uint32_t vcpu, const uint64_t dr[4],
                             uint64_t dr7);
int kc_monitor_get_debugregs(kc_handle *h, uint32_t domid, uint32_t vcpu, uint64_t dr[4],
                             uint64_t *dr7);
/* index: KEEL_VM_EVENT_REG_*; onchangeonly: no event when the new value equals the old. */
int kc_monitor_write_ctrlreg(kc_handle *h, uint32_t domid, uint32_t index, bool enable, bool sync,
                             bool onchangeonly);

/* Memory access (Xen's xc_set_mem_access / xc_get_mem_access): access KEEL_MEM_ACCESS_N..RWX
 * for frames [first_gfn, first_gfn + nr) (KEEL_MEM_ACCESS_DEFAULT: back to the default), or
 * first_gfn KEEL_MEM_ACCESS_DEFAULT_GFN (nr 0) for the default access of every frame without
 * its own. EINVAL: bad access or frames beyond the guest; EBUSY: log-dirty mode is on; ENOENT:
 * h does not monitor domid. Get returns the frame's access in effect (or the default). */
int kc_mem_access_set(kc_handle *h, uint32_t domid, uint32_t access, uint64_t first_gfn,
                      uint64_t nr);
int kc_mem_access_get(kc_handle *h, uint32_t domid, uint64_t gfn, uint32_t *access);
const char *kc_mem_access_name(uint32_t access);      /* "rwx", "default", "invalid" */
/* In a response to a memory access event: give frame gfn access (KEEL_VM_EVENT_FLAG_SET_ACCESS). */
static inline void kc_vm_event_set_access(struct keel_vm_event *rsp, uint64_t gfn, uint32_t access)
{
    rsp->flags |= KEEL_VM_EVENT_FLAG_SET_ACCESS;
    rsp->u.mem_access.gfn = gfn;
    rsp->u.mem_access.pad = access;
}

/* The consumer. */
int kc_vm_event_fd(kc_vm_event *ve);           /* pollable: readable when requests may wait */
uint32_t kc_vm_event_domid(kc_vm_event *ve);
/* Take the next request: spins $KEEL_VM_EVENT_SPIN_US (default 0) first, then sleeps up to
 * timeout_ms (-1 forever). 1 = one copied into req, 0 = timeout, < 0 error. */
int kc_vm_event_get_request(kc_vm_event *ve, struct keel_vm_event *req, int timeout_ms);
/* Publish a response (vcpu_id and version as in the request) and wake the core if it sleeps. */
int kc_vm_event_put_response(kc_vm_event *ve, const struct keel_vm_event *rsp);
/* Guest memory at guest virtual (= KEEL_GUEST_BASE + physical) addresses. */
int kc_vm_event_read(kc_vm_event *ve, uint64_t gva, void *buf, size_t len);
int kc_vm_event_write(kc_vm_event *ve, uint64_t gva, const void *buf, size_t len);

#endif
