/* keel/ctrl.h - libkeelctrl: one typed C call per hypercall of the Keel hypervisor core.
 *
 * A kc_handle is one connection to the core's control socket ($RUNDIR/hv.sock), usable from
 * several threads. Every call returns 0 (or a count) on success and a negative errno on failure;
 * kc_error() then gives a readable message for the calling thread. Event channel ports bound
 * through a handle belong to it (they close with it); each has a pollable file descriptor that
 * becomes readable when the port is signalled. No policy and no orchestration live here. */
#ifndef KEEL_CTRL_H
#define KEEL_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KC_API_VERSION 1

typedef struct kc_handle kc_handle;

/* Connect to the core of a runtime directory (NULL: $KEEL_RUNDIR, then the built-in default). */
int kc_open(kc_handle **out, const char *rundir);
/* Connect in a role (hypervisor/README.md, "Connection roles"): KC_ROLE_TOOLSTACK (what kc_open
 * does), KC_ROLE_STORE, KC_ROLE_CONSOLE or KC_ROLE_BACKEND. The core checks the role against
 * this process's uid/gid and acts with the role's FLASK label from then on; -EACCES if the peer
 * may not take it, -EINVAL for an unknown role. */
int kc_open_role(kc_handle **out, const char *rundir, const char *role);
#define KC_ROLE_TOOLSTACK "toolstack"
#define KC_ROLE_STORE "store"
#define KC_ROLE_CONSOLE "console"
#define KC_ROLE_BACKEND "backend"
void kc_close(kc_handle *h);
const char *kc_error(const kc_handle *h);
const char *kc_rundir(const kc_handle *h);

/* The raw call: arg is updated in place; out receives at most out_max bytes. */
long kc_hypercall(kc_handle *h, uint32_t op, uint64_t cmd, void *arg, size_t arg_len,
                  const void *in, size_t in_len, void *out, size_t out_max, size_t *out_len,
                  int *fds, int max_fds, int *nfds);

int kc_version(kc_handle *h, uint32_t *major, uint32_t *minor);

/* Domains */
int kc_domain_create(kc_handle *h, const struct keel_domctl_create *args, uint32_t *domid);
int kc_domain_destroy(kc_handle *h, uint32_t domid);
int kc_domain_pause(kc_handle *h, uint32_t domid);
int kc_domain_unpause(kc_handle *h, uint32_t domid);
int kc_domain_getinfo(kc_handle *h, uint32_t domid, struct keel_domctl_info *info);
/* Fill info[] with up to max domains from first_domid upwards; returns the count. */
int kc_domain_list(kc_handle *h, uint32_t first_domid, struct keel_domctl_info *info, uint32_t max);
int kc_domain_shutdown(kc_handle *h, uint32_t domid, uint32_t reason);
int kc_domain_setmaxmem(kc_handle *h, uint32_t domid, uint64_t max_kb);
int kc_domain_sethandle(kc_handle *h, uint32_t domid, const uint8_t uuid[16]);
int kc_domain_console_read(kc_handle *h, uint32_t domid, uint64_t *offset, char *buf,
                           size_t *len, uint64_t *end);
int kc_vcpu_getcontext(kc_handle *h, uint32_t domid, uint32_t vcpu, struct keel_vcpu_context *ctx);
int kc_vcpu_setcontext(kc_handle *h, uint32_t domid, uint32_t vcpu,
                       const struct keel_vcpu_context *ctx);
int kc_vcpu_getinfo(kc_handle *h, uint32_t domid, uint32_t vcpu, struct keel_domctl_vcpuinfo *info);

/* Scheduling: credit weight (1..65535, default 256) and cap (percent of one CPU, 0 = none),
 * applied through the domain's cpu cgroup; vCPU hard affinity pins the vCPU's thread. */
int kc_sched_credit_get(kc_handle *h, uint32_t domid, uint32_t *weight, uint32_t *cap);
int kc_sched_credit_set(kc_handle *h, uint32_t domid, uint32_t weight, uint32_t cap);
/* cpupools (kc_cpupool.c): one KEEL_CPUPOOL_OP_* / a pool's scheduler parameters / a vCPU's RTDS
 * parameters; the structure is updated with the answer. */
int kc_cpupool_op(kc_handle *h, struct keel_sysctl_cpupool *op);
int kc_sched_pool_op(kc_handle *h, struct keel_sysctl_sched_pool *op);
int kc_sched_vcpu_op(kc_handle *h, uint32_t domid, struct keel_domctl_sched_vcpu *op);
int kc_vcpu_setaffinity(kc_handle *h, uint32_t domid, uint32_t vcpu,
                        const uint64_t hard[KEEL_CPUMAP_WORDS], const uint64_t soft[KEEL_CPUMAP_WORDS]);
int kc_vcpu_getaffinity(kc_handle *h, uint32_t domid, uint32_t vcpu,
                        uint64_t hard[KEEL_CPUMAP_WORDS], uint64_t soft[KEEL_CPUMAP_WORDS]);

/* FLASK (xsm_op) */
int kc_flask_getenforce(kc_handle *h);                 /* 1 enforcing, 0 permissive */
int kc_flask_setenforce(kc_handle *h, int enforcing);
int kc_flask_load(kc_handle *h, const void *policy, size_t len);
int kc_flask_context_to_sid(kc_handle *h, const char *context, uint32_t *sid);
int kc_flask_sid_to_context(kc_handle *h, uint32_t sid, char *buf, size_t len);
int kc_flask_access(kc_handle *h, uint32_t ssid, uint32_t tsid, uint16_t tclass,
                    uint32_t requested, uint32_t *allowed);

/* Log-dirty mode: enable, read (and clear) the bitmap of pages the guest wrote, disable.
 * bitmap holds one bit per page for pages pages; *dirty receives the count. */
int kc_logdirty_enable(kc_handle *h, uint32_t domid);
int kc_logdirty_disable(kc_handle *h, uint32_t domid);
int kc_logdirty_read(kc_handle *h, uint32_t domid, int clear, uint8_t *bitmap, uint64_t pages,
                     uint64_t *dirty);

/* A paused domain's execution state (vCPUs, timers, events; not memory) and its restoration
 * into a new paused domain of the same shape. *len: in buffer size, out bytes. */
int kc_domain_getstate(kc_handle *h, uint32_t domid, void *buf, size_t *len);
int kc_domain_setstate(kc_handle *h, uint32_t domid, const void *buf, size_t len);
/* Lazy memory of a domain created with KEEL_DOMCTL_CDF_LAZY_MEM (kc_lazy.c, docs/lazy-restore.md):
 * the core fills each frame on first touch from the file fd (runs: where each frame's contents
 * lie in it, ascending; frames in no run are zero) or from a channel (a stream socket speaking
 * keel_lazy_req / keel_lazy_page), the rest in the background. The core keeps its own copy of
 * the descriptor. Status: KEEL_LAZY_STATE_*, frames left, faults served, fill time. */
int kc_lazy_attach_file(kc_handle *h, uint32_t domid, int fd, const struct keel_lazy_run *runs,
                        uint32_t nr_runs);
int kc_lazy_attach_channel(kc_handle *h, uint32_t domid, int sock);
int kc_lazy_status(kc_handle *h, uint32_t domid, struct keel_domctl_lazy_mem *st);

/* System */
int kc_physinfo(kc_handle *h, struct keel_sysctl_physinfo *info);
/* Read the hypervisor console ring from *index onwards (0: the oldest byte kept); *len in:
 * buffer size, out: bytes read; *index is advanced. clear empties the ring afterwards. */
int kc_readconsolering(kc_handle *h, char *buf, size_t *len, uint64_t *index, int clear);
/* The core's debug keys (output in the console ring) and runtime parameters ("name=value ..."),
 * each at most KEEL_SYSCTL_STRING_MAX bytes (kc_debug.c). */
int kc_debug_keys(kc_handle *h, const char *keys);
int kc_set_parameters(kc_handle *h, const char *params);

/* Memory */
int kc_populate_physmap(kc_handle *h, uint32_t domid, uint64_t first_gfn, uint64_t nr);
int kc_decrease_reservation(kc_handle *h, uint32_t domid, uint64_t first_gfn, uint64_t nr);
long kc_current_reservation(kc_handle *h, uint32_t domid);
long kc_maximum_reservation(kc_handle *h, uint32_t domid);
/* Xen's xc_domain_claim_pages: claim nr_pages in all for domid from the host's free memory
 * (KEEL_MEMOP_CLAIM_PAGES: the part beyond its current pages; populating consumes it); 0
 * cancels. -ENOMEM if free and unclaimed memory is short, -EINVAL (a claim already staked,
 * nr_pages not above the domain's pages or above its maximum), -ESRCH, -EACCES. */
int kc_domain_claim_pages(kc_handle *h, uint32_t domid, uint64_t nr_pages);
/* The domain's whole memory as a file descriptor (for the caller to mmap) and its size. */
int kc_foreign_fd(kc_handle *h, uint32_t domid, int *fd, uint64_t *size);
/* Map nr frames from first_gfn; unmap with kc_unmap_foreign(p, nr). */
void *kc_map_foreign(kc_handle *h, uint32_t domid, int prot, uint64_t first_gfn, uint64_t nr);
int kc_unmap_foreign(void *p, uint64_t nr);

/* Grant tables (Domain-0 side, as Xen's libxengnttab/xengntshr for a backend).
 * kc_gnttab_map maps `count` grant references that domain `domid` granted to Domain-0 into one
 * contiguous range of the caller's address space (PROT_READ, or PROT_READ|PROT_WRITE when
 * `writable`), marking each entry in use in the granter's table; it returns the address, or NULL
 * with errno set (kc_error says why; status[i], if not NULL, receives each reference's
 * KEEL_GNTST_* code). Nothing stays mapped after a failure. kc_gnttab_unmap releases a range
 * that kc_gnttab_map returned (the whole range; writable frames are logged dirty). Mappings end
 * with the handle too. */
void *kc_gnttab_map(kc_handle *h, uint32_t domid, const uint32_t *refs, uint32_t count,
                    int writable, int16_t *status);
int kc_gnttab_unmap(kc_handle *h, void *addr, uint32_t count);
int kc_gnttab_query_size(kc_handle *h, uint32_t domid, uint32_t *nr_frames, uint32_t *max_frames);
/* One element of a batched grant copy between a granted frame and a local buffer: `len` bytes
 * at `offset` in the frame of `ref` (offset + len <= 4096), to the frame (to_guest) or from it. */
struct kc_gnttab_copy_seg {
    uint32_t domid;
    uint32_t ref;
    uint16_t offset;
    uint16_t len;
    uint8_t to_guest;
    uint8_t pad;
    int16_t status;                      /* out: KEEL_GNTST_* */
    void *local;
};
/* Returns 0 when every element was looked at (each has its status; *failed, if not NULL,
 * counts those not okay), or a negative errno for a malformed batch. */
int kc_gnttab_copy(kc_handle *h, struct kc_gnttab_copy_seg *segs, uint32_t count, uint32_t *failed);

/* Event channels: Domain-0 side ports, each with a pollable fd (kc_evtchn_fd). */
int kc_evtchn_alloc_unbound(kc_handle *h, uint32_t dom, uint32_t remote_dom, uint32_t *port);
int kc_evtchn_bind_interdomain(kc_handle *h, uint32_t remote_dom, uint32_t remote_port,
                               uint32_t *port);
int kc_evtchn_bind_virq(kc_handle *h, uint32_t virq, uint32_t *port);
int kc_evtchn_notify(kc_handle *h, uint32_t port);
int kc_evtchn_close(kc_handle *h, uint32_t port);
int kc_evtchn_status(kc_handle *h, uint32_t dom, uint32_t port, struct keel_evtchn_op *status);
int kc_evtchn_fd(kc_handle *h, uint32_t port);
/* Consume the notifications of a port (non-blocking): returns how many arrived, 0 if none
 * (an eventfd count whose notification kc_evtchn_wait already consumed counts as none). */
long kc_evtchn_ack(kc_handle *h, uint32_t port);
/* Wait until one of `ports` (nports of them; nports 0: every port bound through h) fires and
 * consume it: spins briefly ($KEEL_EVTCHN_SPIN_US, default 50, 0 = never), then sleeps on the
 * eventfds. Writes up to max fired ports to fired[] and returns their count; 0 when timeout_ms
 * passed (0: only look, < 0: no timeout); a negative errno (-EBADF: a port not bound through
 * h, or closed while waiting). Each notification is consumed once: by kc_evtchn_wait or by
 * kc_evtchn_ack. */
int kc_evtchn_wait(kc_handle *h, const uint32_t *ports, unsigned nports, uint32_t *fired,
                   unsigned max, int timeout_ms);
/* on: the process promises to consume h's ports only through kc_evtchn_wait (no poll() on
 * their fds). kc_evtchn_wait then leaves the guests' ports watched when it returns, so a guest
 * answering before the next wait signals through shared memory instead of a hypercall and an
 * eventfd write. off (the default): what arrived meanwhile is handed to the eventfds. */
void kc_evtchn_set_wait_only(kc_handle *h, bool on);

#ifdef __cplusplus
}
#endif
#endif
