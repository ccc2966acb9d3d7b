/* kl_light.h - liblight's lifecycle part: domains on the hypervisor core and the store.
 *
 * A kl_ctx holds one libkeelctrl handle and one connection to the store daemon of a runtime
 * directory. It is not thread-safe: use one context per thread. Every call returns 0 (or a
 * count) on success and a negative errno on failure, with a message from kl_ctx_error().
 * The library never installs signal handlers and never changes the signal mask.
 *
 * Store layout written at creation (as Xen's toolstack does): /local/domain/N/{name, domid, vm,
 * memory/static-max, memory/target, cpu/I/availability, control/shutdown, control/
 * platform-feature-multiprocessor-suspend, data, device}, /vm/UUID/{uuid, name, start_time,
 * image/ostype, image/kernel, ...} and /libxl/N/type. The domain's configuration is kept as JSON in
 * RUNDIR/light/ (libxl's "userdata") for the on_* actions and `xl list -l`. */
#ifndef KEEL_KL_LIGHT_H
#define KEEL_KL_LIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <keel/ctrl.h>
#include <keel/kl_config.h>
#include <keel/kl_types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kl_ctx kl_ctx;

/* Connect to the core and the store of rundir (NULL: $KEEL_RUNDIR, else the default). */
int kl_ctx_open(kl_ctx **out, const char *rundir);
void kl_ctx_close(kl_ctx *ctx);
const char *kl_ctx_error(const kl_ctx *ctx);
const char *kl_ctx_rundir(const kl_ctx *ctx);
/* The underlying libkeelctrl handle (for calls liblight does not wrap). */
kc_handle *kl_ctx_kc(kl_ctx *ctx);

/* ---- Domain information ---- */
#define KL_DOMNAME_MAX 64
typedef struct kl_dominfo {
    uint32_t domid;
    char name[KL_DOMNAME_MAX + 1];   /* from the store; "" if it has none */
    kl_uuid uuid;
    uint64_t current_memkb, max_memkb;
    uint32_t vcpu_online, vcpu_max_id;
    uint64_t cpu_time_ns;
    bool running, blocked, paused, shutdown, dying;
    int shutdown_reason;             /* KEEL_SHUTDOWN_*, or -1 when not shut down */
    uint32_t ssidref;
} kl_dominfo;

/* Every domain, Domain-0 first; *out is malloc'd (free()). Returns the count. */
int kl_domain_list(kl_ctx *ctx, kl_dominfo **out);
int kl_domain_info(kl_ctx *ctx, uint32_t domid, kl_dominfo *info);
/* A domain named by its name or its decimal id, as xl's arguments do; -ENOENT if none. */
int kl_domain_qualify(kl_ctx *ctx, const char *name_or_id, uint32_t *domid);
int kl_domain_name(kl_ctx *ctx, uint32_t domid, char *buf, size_t len);

/* ---- Lifecycle ---- */
enum { KL_CREATE_PAUSED = 1 };
/* Create, build and (unless KL_CREATE_PAUSED) unpause a domain from dc, which is completed
 * with kl_domain_config_setdefault() first. The name must not be in use (-EEXIST). On any
 * failure nothing is left behind (domain, store nodes, userdata). */
int kl_domain_create(kl_ctx *ctx, kl_domain_config *dc, unsigned flags, uint32_t *domid);
/* Create a domain from dc and fill it from a save stream written by kl_domain_save (at the
 * current position of fd) instead of building it; otherwise as kl_domain_create. */
int kl_domain_restore(kl_ctx *ctx, kl_domain_config *dc, int fd, unsigned flags, uint32_t *domid);
/* Save a domain to fd as an xl save image (preamble with its config as JSON, then the
 * migration v2 stream). KL_SAVE_LIVE pre-copies while it runs. The domain is left paused. */
enum { KL_SAVE_LIVE = 1 };
int kl_domain_save(kl_ctx *ctx, uint32_t domid, int fd, unsigned flags);
/* Destroy the domain and remove its store nodes and userdata. */
int kl_domain_destroy(kl_ctx *ctx, uint32_t domid);
int kl_domain_pause(kl_ctx *ctx, uint32_t domid);
int kl_domain_unpause(kl_ctx *ctx, uint32_t domid);
int kl_domain_rename(kl_ctx *ctx, uint32_t domid, const char *new_name);
/* The configuration the domain was created with (dc initialised by the caller). */
int kl_domain_get_config(kl_ctx *ctx, uint32_t domid, kl_domain_config *dc);

/* Shutdown and reboot: write control/shutdown ("poweroff"/"reboot") in the store and wait up to
 * timeout_ms for the guest to act. A guest that never advertised control/feature-poweroff
 * (feature-reboot) has nothing listening, so it is not waited for. If the guest did not shut
 * down, the core shuts it down with the reason (KEEL_SHUTDOWN_*); *forced (may be NULL) says so. */
int kl_domain_shutdown(kl_ctx *ctx, uint32_t domid, int timeout_ms, bool *forced);
int kl_domain_reboot(kl_ctx *ctx, uint32_t domid, int timeout_ms, bool *forced);
/* Wait until the domain has shut down (0, *reason set) or is gone (-ENOENT); -ETIMEDOUT after
 * timeout_ms (< 0: forever). */
int kl_domain_wait_shutdown(kl_ctx *ctx, uint32_t domid, int timeout_ms, int *reason);
/* Wait until the domain no longer exists. */
int kl_domain_wait_gone(kl_ctx *ctx, uint32_t domid, int timeout_ms);

/* ---- on_poweroff / on_reboot / on_crash / on_watchdog ---- */
/* Apply the configured action to a domain that has shut down: destroy; restart (destroy and
 * create again from the stored configuration); preserve (leave it); rename-restart (rename the
 * old domain NAME-SUFFIX with a new uuid, keep it, create a new one). coredump-* act as their
 * non-dump forms (no core dumps yet). *new_domid is the restarted domain or KEEL_DOMID_INVALID;
 * *action (may be NULL) the action applied. */
int kl_domain_handle_shutdown(kl_ctx *ctx, uint32_t domid, uint32_t *new_domid,
                              kl_action_on_shutdown *action);
/* Follow a domain through its shutdowns and restarts, applying the actions, until no domain of
 * it is left (a preserved domain is waited for until someone destroys it). This is what `xl
 * create` leaves running in the background. */
int kl_domain_monitor(kl_ctx *ctx, uint32_t domid);

/* ---- Memory ---- */
/* The maximum (KiB): the core's limit and memory/static-max; not below the target (-EINVAL). */
int kl_domain_setmaxmem(kl_ctx *ctx, uint32_t domid, uint64_t max_kb);
/* The balloon target (KiB): memory/target; not above the maximum (-EINVAL). */
int kl_domain_set_target(kl_ctx *ctx, uint32_t domid, uint64_t target_kb);
int kl_domain_get_target(kl_ctx *ctx, uint32_t domid, uint64_t *target_kb);

/* ---- Store access for the toolstack (absolute paths; values are strings) ---- */
/* malloc'd value in *out (NUL-terminated); -ENOENT if absent. */
int kl_store_read(kl_ctx *ctx, const char *path, char **out);
int kl_store_write(kl_ctx *ctx, const char *path, const char *value);
int kl_store_rm(kl_ctx *ctx, const char *path);

/* ---- Asynchronous forms on the caller's libevent loop ---- */
struct event_base;
typedef struct kl_ev kl_ev;
/* Called for each domain found shut down (reason KEEL_SHUTDOWN_*) or gone (reason -1) after a
 * VIRQ_DOM_EXC notification; domid KL_ALL_DOMAINS watches every domain. Each domain is reported
 * once per shutdown. */
#define KL_ALL_DOMAINS UINT32_MAX
typedef void kl_death_cb(kl_ctx *ctx, uint32_t domid, int reason, void *arg);
int kl_ev_death_watch(kl_ctx *ctx, struct event_base *base, uint32_t domid, kl_death_cb *cb,
                      void *arg, kl_ev **out);
/* Request a shutdown (reboot) and return at once; cb runs on the loop when the domain has shut
 * down (rc 0, forced says whether the core had to do it) or on failure (rc < 0). */
typedef void kl_shutdown_cb(kl_ctx *ctx, uint32_t domid, int rc, bool forced, void *arg);
int kl_ev_domain_shutdown(kl_ctx *ctx, struct event_base *base, uint32_t domid, bool reboot,
                          int timeout_ms, kl_shutdown_cb *cb, void *arg, kl_ev **out);
/* Cancel (before or after completion); no callback runs afterwards. */
void kl_ev_free(kl_ev *ev);

#ifdef __cplusplus
}
#endif
#endif
