/* hv.h - internal interfaces of the hypervisor core (keel-hv).
 *
 * The core owns domains: for each, a guest memory memfd, a shared control memfd, one confined
 * process running the stub (one thread per vCPU), and one runner thread in the core answering that
 * domain's hypercalls. All domain state is protected by hv.lock, except what a domain's runner
 * reads from its own shared slots. Privileged toolstack processes reach the same hypercall
 * handlers through the control socket (control.c) as "domain 0". */
#ifndef KEEL_HV_H
#define KEEL_HV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keel/abi.h"
#include "hv_ctl.h"

#define HV_DEFER  (-1000000)          /* handler result: answer later (block, poll, shutdown) */
#define HV_MAX_DOMAINS 4096
#define HV_DOM_CONSOLE_SIZE (16 * 1024)
#define HV_CONSOLE_RING_SIZE (64 * 1024)
#define HV_DOMU_EVTCHNS 1024

enum hv_chn_state { CHN_FREE = 0, CHN_UNBOUND, CHN_INTERDOMAIN, CHN_VIRQ, CHN_IPI };

struct hv_conn;
struct hv_gnttab;
struct hv_vm_event;
struct hv_mem_access;

struct hv_evtchn {
    uint8_t state;                     /* enum hv_chn_state */
    uint16_t vcpu;                     /* vCPU notified */
    uint32_t remote_dom;
    uint32_t remote_port;
    uint32_t virq;
    int efd;                           /* Domain-0 ports: the eventfd handed to the toolstack */
    struct hv_conn *owner;             /* Domain-0 ports: the connection that bound it */
    uint32_t sid;                      /* FLASK label of the channel */
};

struct hv_vcpu {
    uint32_t id;
    bool initialised;                  /* has a context (VCPUOP_initialise, setvcpucontext) */
    bool online;                       /* up */
    bool stopped;                      /* asked to pause (pause_req set) */
    bool started;                      /* its thread runs (or ran) guest context */
    bool ctx_dirty;                    /* ctx must be loaded when the vCPU resumes */
    bool deferred;                     /* a hypercall waits for an answer */
    uint32_t deferred_op;
    uint64_t deferred_cmd;
    uint32_t last_seq;                 /* last request sequence taken from the slot */
    pid_t tid;                         /* global thread id */
    uint64_t poll_deadline;            /* block/poll timeout (system time), 0 = none */
    uint32_t poll_ports[KEEL_POLL_MAX_PORTS];
    uint32_t nr_poll_ports;
    uint64_t singleshot;               /* absolute system time, 0 = off */
    uint64_t periodic, periodic_next;
    uint32_t virq_port[KEEL_NR_VIRQS];
    struct keel_vcpu_context ctx;      /* the core's copy: initial or set context */
    uint64_t hard_affinity[KEEL_CPUMAP_WORDS];
    uint64_t soft_affinity[KEEL_CPUMAP_WORDS];
    uint32_t rt_period_us, rt_budget_us;  /* RTDS parameters (cpupool.c, sched_rt.c) */
    uint8_t rt_extratime, rt_engine;
    bool held;                         /* stopped while another vCPU runs an instruction a
                                        * memory access answer let through (mem_access.c) */
};

struct hv_domain {
    uint32_t domid;
    uint8_t handle[16];
    char label[64];
    uint32_t ssidref;                  /* FLASK SID of the domain */
    uint32_t self_sid;                 /* its SID when it acts on itself */
    uint32_t max_vcpus;
    struct hv_vcpu *vcpus;
    uint32_t pause_count;
    bool is_shutdown;
    uint32_t shutdown_reason;
    bool dead;                         /* process ended */
    bool destroying;
    bool ready;                        /* fully created */
    bool shutdown_paused;              /* vCPUs stopped by a shutdown */
    int exit_status;                   /* waitid status of the process */
    struct hv_crash_report crash;
    /* memory */
    int mem_fd;
    uint64_t mem_size;                 /* bytes, size of the memfd */
    uint64_t max_pages, tot_pages;
    uint64_t outstanding_pages;        /* claim not yet populated (memory.c, XENMEM_claim_pages) */
    uint8_t *populated;                /* bitmap of populated frames */
    /* log-dirty mode */
    int uffd;                          /* our copy of the domain's userfaultfd, -1 if none */
    int pagemap_fd;
    uint8_t ld_engine;                 /* enum hv_ld_engine (logdirty.h), fixed at creation */
    struct hv_ld_sync *ld_sync;        /* the sync engine's state while log-dirty is on */
    bool logdirty;
    uint8_t *core_dirty;               /* pages the core itself wrote while log-dirty is on */
    /* shared control area */
    int shared_fd;
    void *shared;
    /* process */
    pid_t pid;
    int pidfd;
    char cgroup[256];                  /* relative cgroup path, "" if none */
    /* runner */
    pthread_t runner;
    bool runner_started;
    int stop;                          /* atomic: runner must exit */
    /* events */
    struct hv_evtchn *evtchn;
    uint32_t nr_evtchn;
    /* console_io output */
    char *con;
    uint64_t con_end;                  /* bytes ever written */
    uint64_t created_ns;
    uint32_t sched_weight, sched_cap;
    uint32_t cpupool;                  /* cpupool.c: the pool it runs in */
    int64_t time_offset;               /* guest system time = core system time + offset */
    uint64_t instance;                 /* unique over the core's life (grant.c) */
    struct hv_gnttab *gnt;             /* grant table (grant.c), NULL for Domain-0 */
    struct hv_vm_event *vm_event;      /* monitoring (vm_event.c), from the first enable on */
    struct hv_mem_access *mem_access;  /* access table (mem_access.c), from the first set on */
    struct hv_lazy *lazy;              /* lazy memory (lazymem.c), NULL unless created lazy */
};

/* Who is making a hypercall and where its buffers live. */
struct hv_caller {
    struct hv_domain *d;               /* calling domain (Domain-0 for the control socket) */
    struct hv_vcpu *v;                 /* calling vCPU, NULL for the control socket */
    struct hv_conn *conn;              /* control socket connection, NULL for guests */
    uint8_t *arg;                      /* control socket: the argument structure, inline */
    size_t arg_len;
    const uint8_t *in;                 /* control socket: input buffer */
    size_t in_len;
    uint8_t *out;                      /* control socket: output buffer */
    size_t out_max, out_len;
    int fds[4];                        /* descriptors to pass back */
    int nfds;
    uint32_t action;                   /* guests: enum hv_rsp_action */
    uint64_t action_data;
};

struct hv_state {
    pthread_mutex_t lock;
    char rundir[512];
    char stub_path[512];
    int stub_fd;
    bool stopping;                     /* the core exits: destroys send no VIRQ_DOM_EXC */
    struct hv_domain *domains[HV_MAX_DOMAINS];
    struct hv_domain *dom0;
    uint32_t next_domid;
    uint64_t boot_mono_ns;
    uint64_t tsc_hz;
    uint32_t tsc_mul;
    int8_t tsc_shift;
    uint64_t tsc_at_boot;
    uint64_t spin_cycles;
    uint64_t runner_spin_ns;
    struct { uint64_t sock_filter[HV_FILTER_MAX]; uint32_t len; } filter;
    char *console;                     /* hypervisor console ring */
    uint64_t console_end, console_start;
    int epfd;                          /* reaper epoll */
    bool cgroups;
    int cgroup_version;                /* 1 (v1 hierarchies), 2 (unified), 0 none */
    char cgroup_base[128];             /* e.g. keel/<instance> */
    char cgroup_root[128];             /* the v2 mount point */
};

extern struct hv_state hv;

/* time.c */
uint64_t hv_now(void);                 /* system time: ns since the core started */
uint64_t hv_guest_now(const struct hv_domain *d);  /* the domain's system time */
int hv_time_init(void);
void hv_time_publish(struct hv_domain *d);

/* console.c */
void hv_console_init(void);
void hv_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hv_console_put(const char *buf, size_t len);
void hv_dom_console_put(struct hv_domain *d, const char *buf, size_t len);
long hv_do_console_io(struct hv_caller *c, uint64_t cmd, uint64_t arg);
long hv_sysctl_readconsole(struct hv_caller *c, struct keel_sysctl_readconsole *rc);
long hv_domctl_console_read(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_console_read *cr);

/* guestmem.c: buffers named by a caller (guest addresses or the socket's buffers) */
int hv_copy_from_guest(struct hv_domain *d, uint64_t va, void *dst, size_t len);
int hv_copy_to_guest(struct hv_domain *d, uint64_t va, const void *src, size_t len);
int hv_arg_read(struct hv_caller *c, uint64_t addr, void *dst, size_t len);
int hv_arg_write(struct hv_caller *c, uint64_t addr, const void *src, size_t len);
int hv_buf_read(struct hv_caller *c, uint64_t addr, void *dst, size_t len);
int hv_buf_write(struct hv_caller *c, uint64_t addr, const void *src, size_t len);

/* domain.c */
#include "lazymem.h"                   /* lazy memory: hv_lazy_need before touching frames */

struct hv_domain *hv_domain_get(uint32_t domid);        /* lock held; NULL if none or dying */
struct hv_domain *hv_domain_target(struct hv_caller *c, uint32_t domid);
long hv_domain_create(struct keel_domctl_create *cr, uint32_t want, uint32_t *domid);
long hv_domain_destroy(struct hv_caller *c, uint32_t domid); /* WITHOUT the lock; c NULL: no XSM */
int hv_domain_create_allowed(struct hv_caller *c, const struct keel_domctl_create *cr);
int hv_domain_pause(struct hv_domain *d);
int hv_domain_unpause(struct hv_domain *d);
void hv_domain_shutdown(struct hv_domain *d, uint32_t reason);
void hv_domain_info(struct hv_domain *d, struct keel_domctl_info *info);
void hv_domain_died(struct hv_domain *d, int status);
int hv_dom0_init(void);

/* domstate.c */
long hv_domctl_getdomstate(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_domstate *ds);
long hv_domctl_setdomstate(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_domstate *ds);

/* logdirty.c */
long hv_domctl_shadow_op(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_shadow_op *op);
void hv_logdirty_mark(struct hv_domain *d, uint64_t gpa, size_t len);
void hv_logdirty_release(struct hv_domain *d);

/* spawn.c */
int hv_spawn_domain(struct hv_domain *d);
int hv_wait_stub_ready(struct hv_domain *d);
int hv_stub_init(const char *path);
void hv_spawn_start(void);          /* the spawner thread and its waiting child */
void hv_spawn_stop(void);
void hv_spawn_idle(void);           /* a create is done: the next child may be made */

#include "cpupool.h"              /* cpupools, cpusets, per-pool schedulers */
/* cgroup.c */
int hv_cgroup_init(void);
void hv_cgroup_fini(void);
int hv_cgroup_create(struct hv_domain *d);
int hv_cgroup_attach(struct hv_domain *d, pid_t tid, bool cpu_only);
void hv_cgroup_remove(struct hv_domain *d);
int hv_cgroup_set_sched(struct hv_domain *d, uint32_t weight, uint32_t cap);

/* filter.c */
int hv_filter_build(void);

/* vcpu.c */
int hv_vcpus_stop(struct hv_domain *d);
void hv_vcpus_resume(struct hv_domain *d);
int hv_vcpu_find_tids(struct hv_domain *d);
void hv_vcpu_kick(struct hv_domain *d, struct hv_vcpu *v);
void hv_vcpu_respond(struct hv_domain *d, struct hv_vcpu *v, int64_t val, uint32_t action, uint64_t data);
long hv_do_vcpu_op(struct hv_caller *c, uint64_t cmd, uint64_t arg);
long hv_domctl_getvcpucontext(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_vcpucontext *vc);
long hv_domctl_setvcpucontext(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_vcpucontext *vc);
void hv_domctl_getvcpuinfo(struct hv_domain *d, struct keel_domctl_vcpuinfo *vi);
int hv_validate_context(const struct keel_vcpu_context *ctx);
uint64_t hv_proc_cpu_ns(pid_t pid, pid_t tid, uint32_t *cpu);
long hv_domctl_vcpuaffinity(struct hv_domain *d, struct keel_domctl_vcpuaffinity *a, bool set);

/* runner.c */
int hv_runner_start(struct hv_domain *d);
void hv_runner_stop(struct hv_domain *d);
void hv_runner_wake(struct hv_domain *d);

/* sched.c */
long hv_do_sched_op(struct hv_caller *c, uint64_t cmd, uint64_t arg);
void hv_timers_fire(struct hv_domain *d, uint64_t now, uint64_t *next);

/* evtchn.c */
int hv_evtchn_init(struct hv_domain *d, uint32_t nr);
void hv_evtchn_teardown(struct hv_domain *d);
void hv_evtchn_set_pending(struct hv_domain *d, uint32_t port);
void hv_evtchn_defer_begin(void);
void hv_evtchn_defer_flush(void);
void hv_send_virq(struct hv_domain *d, struct hv_vcpu *v, uint32_t virq);
void hv_send_global_virq(uint32_t virq);
long hv_do_evtchn_op(struct hv_caller *c, uint64_t cmd, uint64_t arg);
void hv_evtchn_conn_closed(struct hv_conn *conn);
bool hv_port_pending(struct hv_domain *d, uint32_t port);
/* evtfast.c: the Domain-0 fast event path */
void hv_evfast_attach(struct hv_caller *c, struct hv_domain *remote);
bool hv_evfast_raise(struct hv_conn *conn, uint32_t port);
void hv_evfast_conn_closed(struct hv_conn *conn);
int hv_evfast_drain(struct hv_domain *d);
bool hv_evfast_waiting(struct hv_domain *d);
void hv_evfast_refresh(void);
bool hv_evfast_vcpu_polling(struct hv_domain *d, uint32_t vcpu);

/* grant.c: grant tables, outside hv.lock (their own locks) */
int hv_gnttab_init(struct hv_domain *d, uint32_t max_frames, uint32_t max_maptrack);
void hv_gnttab_publish(struct hv_domain *d);
void hv_gnttab_unpublish(struct hv_domain *d);   /* waits for grant ops in flight */
void hv_gnttab_teardown(struct hv_domain *d);
uint64_t hv_gnttab_state(struct hv_domain *d);    /* registration for domstate.c */
int hv_gnttab_state_check(struct hv_domain *d, uint64_t state);
int hv_gnttab_state_restore(struct hv_domain *d, uint64_t state);
long hv_gnttab_op(struct hv_caller *c, uint64_t cmd, uint64_t arg);
void hv_gnttab_serve_guest(struct hv_domain *d, struct hv_vcpu *v, uint32_t seq, uint64_t cmd,
                           uint64_t arg);
void hv_gnttab_conn_closed(struct hv_conn *conn);
void **hv_conn_grant_slot(struct hv_conn *conn);   /* control.c: the connection's maptrack */

/* vm_event.c: introspection (keel/vm_event.h); all under hv.lock except drain's first look, busy */
void hv_vm_event_note(struct hv_caller *c, uint32_t op, uint64_t cmd, uint64_t arg);
long hv_vm_event_trap(struct hv_caller *c, uint64_t trapno);
/* debugreg.c: a consumer's hardware breakpoints as perf events on a vCPU thread. */
long hv_debugreg_check(const uint64_t dr[4], uint64_t dr7);
long hv_debugreg_arm(uint32_t domid, pid_t tid, const uint64_t dr[4], uint64_t dr7, int fd[4]);
void hv_debugreg_disarm(int fd[4]);
long hv_vm_event_hvm_op(struct hv_caller *c, uint64_t cmd, uint64_t arg);
/* before a privileged state write (KEEL_VM_EVENT_REG_*; the old callback/FS/GS are read here):
 * 0 go on, HV_DEFER the vCPU waits for the monitor, who may deny it (-EPERM) */
long hv_vm_event_reg(struct hv_caller *c, uint32_t index, uint32_t vcpu, uint64_t old, uint64_t new);
int hv_vm_event_drain(struct hv_domain *d);
bool hv_vm_event_drain_due(struct hv_domain *d);
bool hv_vm_event_busy(struct hv_domain *d);
void hv_vm_event_teardown(struct hv_domain *d, bool resume);
void hv_vm_event_free(struct hv_domain *d);
void hv_vm_event_conn_closed(struct hv_conn *conn);
long hv_vm_event_domctl(struct hv_caller *c, struct hv_domain *d, struct keel_domctl *dc);
long hv_vm_event_refuse_save(struct hv_domain *d);
long hv_vm_event_raise_mem(struct hv_caller *c, const struct keel_cpu_regs *r, uint64_t gfn,
                           uint64_t gla, uint32_t flags);
bool hv_vm_event_active(struct hv_domain *d);
/* mem_access.c: memory access restrictions (under hv.lock) */
long hv_mem_access_fault(struct hv_caller *c, uint64_t addr, uint64_t err);
long hv_mem_access_stepped(struct hv_caller *c);
struct keel_vm_event;
void hv_mem_access_answer(struct hv_domain *d, struct hv_vcpu *v, const struct keel_vm_event *req,
                          const struct keel_vm_event *rsp, uint64_t data);
void hv_mem_access_reset(struct hv_domain *d);
void hv_mem_access_free(struct hv_domain *d);
long hv_mem_access_op(struct hv_domain *d, void *op);
bool hv_mem_access_restricted(struct hv_domain *d);
/* vcpu.c: hold every other started vCPU stopped / let them go again */
int hv_vcpus_hold(struct hv_domain *d, struct hv_vcpu *except);
void hv_vcpus_unhold(struct hv_domain *d);

/* memory.c */
long hv_do_memory_op(struct hv_caller *c, uint64_t cmd, uint64_t arg);
/* memory.c: the host's free pages (MemAvailable less every domain's pages, claims not taken
 * off) and the sum of every live domain's outstanding claim. */
uint64_t hv_mem_free_pages(void);
uint64_t hv_claims_outstanding(void);
uint64_t hv_meminfo_kb(const char *key);  /* sysctl.c: a /proc/meminfo value, 0 if absent */

/* dispatch.c */
long hv_hypercall(struct hv_caller *c, uint32_t op, uint64_t cmd, uint64_t arg);

/* domctl.c, sysctl.c */
long hv_do_domctl(struct hv_caller *c, uint64_t cmd, uint64_t arg);
long hv_do_sysctl(struct hv_caller *c, uint64_t cmd, uint64_t arg);

/* xsm.c: the security hook on every hypercall */
int hv_xsm_hypercall(struct hv_caller *c, uint32_t op, uint64_t cmd);
int hv_xsm_role(struct hv_caller *c, uint32_t op, uint64_t cmd, uint32_t sub);
int hv_xsm_target(struct hv_caller *c, struct hv_domain *target, uint32_t op, uint64_t cmd);
/* flask.c: the FLASK module (all checks pass when FLASK is disabled) */
int hv_flask_init(const char *policy, const char *mode);
bool hv_flask_enabled(void);
int hv_flask_label(const char *label, uint32_t *sid, uint32_t *self_sid);
int hv_flask_dom0(uint32_t *sid);
int hv_xsm_check(struct hv_caller *c, struct hv_domain *t, uint16_t cls, uint32_t perm);
int hv_xsm_check_xen(struct hv_caller *c, uint16_t cls, uint32_t perm);
int hv_xsm_check_sids(uint32_t ssid, uint32_t tsid, uint16_t cls, uint32_t perm);
int hv_xsm_check_sids_unlocked(uint32_t ssid, uint32_t tsid, uint16_t cls, uint32_t perm);
bool hv_xsm_allowed_quietly(uint32_t ssid, uint32_t tsid, uint16_t cls, uint32_t perm);
uint32_t hv_flask_channel_sid(struct hv_domain *d, struct hv_domain *remote);
uint32_t hv_flask_channel_sid_of(uint32_t ssid, struct hv_domain *remote);
int hv_flask_role_sid(int role, uint32_t *sid);
long hv_do_xsm_op(struct hv_caller *c, uint64_t cmd, uint64_t arg);
static inline bool hv_is_priv(const struct hv_caller *c) { return c->conn != NULL; }

/* role.c: the roles of control-socket connections (README "Connection roles") */
enum hv_role { HV_ROLE_ANY = -1, HV_ROLE_TOOLSTACK, HV_ROLE_STORE, HV_ROLE_CONSOLE,
               HV_ROLE_BACKEND, HV_ROLE_NUM };
int hv_role_by_name(const char *name);
const char *hv_role_name(int role);
const char *hv_role_context(int role);
int hv_role_rule_add(const char *spec);
bool hv_role_rules_any(void);
bool hv_role_peer_may(int role, uid_t uid, gid_t gid);

/* control.c */
int hv_control_serve(const char *path);
int hv_conn_role(const struct hv_conn *conn);
pid_t hv_conn_peer_pid(const struct hv_conn *conn);
uint32_t hv_conn_sid(const struct hv_conn *conn);   /* the connection's FLASK label */

/* The FLASK SID a caller acts with: its domain's, or its control connection's role label. */
static inline uint32_t hv_caller_sid(const struct hv_caller *c)
{
    return c->conn ? hv_conn_sid(c->conn) : c->d->ssidref;
}

/* reaper.c */
int hv_reaper_init(void);
int hv_reaper_watch(struct hv_domain *d);
void hv_reaper_unwatch(struct hv_domain *d);

#endif
