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
    uint32_t cpupool;                /* the cpupool it runs in (keel/kl_cpupool.h) */
    uint64_t outstanding_memkb;      /* its memory claim not yet populated (xl claims) */
} kl_dominfo;

/* Every domain, Domain-0 first; *out is malloc'd (free()). Returns the count. */
int kl_domain_list(kl_ctx *ctx, kl_dominfo **out);
int kl_domain_info(kl_ctx *ctx, uint32_t domid, kl_dominfo *info);
/* A domain named by its name or its decimal id, as xl's arguments do; -ENOENT if none. */
int kl_domain_qualify(kl_ctx *ctx, const char *name_or_id, uint32_t *domid);
int kl_domain_name(kl_ctx *ctx, uint32_t domid, char *buf, size_t len);

/* ---- Guest kernels ---- */
/* The file a configuration's `kernel` names, as xl, keeld, the Python module and kl_domain_create
 * all find it: an absolute path as is; a relative one (a bare name such as "counter") in
 * $KEEL_GUESTDIR, then BUILD/guests when this library is the uninstalled one of build tree BUILD,
 * then the installed guests directory ($(pkglibdir)/guests), then the current directory.
 * *path: malloc'd, absolute. -ENOENT (msg, if not NULL, says where it looked), -EINVAL (no
 * kernel), -ENOMEM. */
int kl_kernel_resolve(const char *kernel, char **path, char *msg, size_t msglen);

/* ---- Lifecycle ---- */
enum { KL_CREATE_PAUSED = 1 };
/* KL_CREATE_CLAIM (xl.conf's claim_mode): right after the core domain is made, claim the
 * memory the build populates (Xen's XENMEM_claim_pages), so that a domain the host cannot hold
 * fails at once with ENOMEM and nothing left behind; the claim is dropped after the build.
 * Restores (kl_domain_restore, _restore_image) and kl_domain_migrate_receive honour it too:
 * the target memory is claimed before the stream populates the domain. */
enum { KL_CREATE_CLAIM = 2 };
/* KL_CREATE_LAZY (restores only, docs/lazy-restore.md): the domain is created with lazy memory
 * and, from a regular file, runs before its memory is in: the core keeps its own descriptor of
 * the file and fills each frame on first touch, the rest in the background (a pipe, a socket
 * or a compressed image is read in full first, as without it). Ignored by kl_domain_create. */
enum { KL_CREATE_LAZY = 4 };
/* Create, build and (unless KL_CREATE_PAUSED) unpause a domain from dc, which is completed
 * with kl_domain_config_setdefault() first and whose kernel is made absolute with
 * kl_kernel_resolve() (so dc and the stored configuration name the file that was built). The
 * name must not be in use (-EEXIST). On any failure nothing is left behind (domain, store
 * nodes, userdata). */
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
/* xl config-update: the configuration the domain is built from when it restarts (on_reboot
 * restart, ...), kept beside the live one until then; the running domain is not changed.
 * get_reboot_config gives it, or the live one when none was set. */
int kl_domain_set_reboot_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc);
int kl_domain_get_reboot_config(kl_ctx *ctx, uint32_t domid, kl_domain_config *dc);

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

/* ---- PV block devices (lifecycle/device*.c, vdev.c, hotplug.c; contract: the README) ---- */
/* A vdev name (xvda, xvdb1, xvdaa, hdc, sda2) or a decimal device number to the virtual-device
 * number (xvda = 51712). 0 or -EINVAL. */
int kl_disk_vdev_to_devid(const char *vdev, uint32_t *devid);
enum { KL_DISK_NO_RECORD = 1 };      /* do not add the disk to the stored configuration */
typedef struct kl_disk_add_opts {
    unsigned flags;
    /* extra frontend keys written with the others: name, value, ..., NULL (e.g. a restored
     * guest's ring-ref, event-channel and state); the toolstack's own links are refused.
     * "state" is written last, once the hotplug script said connected: the backend goes
     * through InitWait as for a new device, then attaches to the ring the keys describe */
    const char *const *fe_keys;
} kl_disk_add_opts;
/* Attach a disk to a running (or paused, being created) domain: nodes written in one store
 * transaction, the backend's InitWait awaited (10 s), the hotplug script run (`add`, 40 s);
 * returns once the backend is ready, as xl block-attach (the guest connects on its own). On
 * failure every node is removed (the script's `remove` run if `add` ran) and kl_ctx_error has
 * the reason (the script's hotplug-error). o may be NULL. */
int kl_disk_add(kl_ctx *ctx, uint32_t domid, const kl_device_disk *disk, const kl_disk_add_opts *o);
typedef struct kl_diskinfo {
    char vdev[20];                   /* the backend's dev key ("" if unknown) */
    uint32_t devid, backend_id, frontend_id;
    char kind[8];                    /* vbd or qdisk */
    int backend_state, frontend_state;  /* xenbus states, -1 when absent */
    int evtch, ring_ref;             /* the frontend's event-channel and ring-ref, -1 if absent */
    char mode[2];                    /* r or w */
    char params[520];                /* the backend's params (target, or format:target) */
    char hotplug_status[16];
    char backend[128], frontend[96];
} kl_diskinfo;
/* The domain's disks (from the /libxl bookkeeping), devid order; *out malloc'd. Count. */
int kl_disk_list(kl_ctx *ctx, uint32_t domid, kl_diskinfo **out);
/* Detach a disk named by vdev or device number: online=0, Closing, wait for the backend's
 * Closed (10 s; KL_DISK_FORCE: no wait), hotplug `remove`, nodes and bookkeeping removed, the
 * disk dropped from the stored configuration. -ENODEV if the domain has no such disk. */
enum { KL_DISK_FORCE = 1 };
int kl_disk_remove(kl_ctx *ctx, uint32_t domid, const char *vdev, unsigned flags);

/* ---- PV network devices (lifecycle/device_nic.c; contract: docs/device-net.md) ---- */
enum { KL_NIC_NO_RECORD = 1 };       /* do not add the vif to the stored configuration */
typedef struct kl_nic_add_opts {
    unsigned flags;
    /* extra frontend keys, as kl_disk_add_opts.fe_keys (a restored guest's rings, event
     * channels, features and state); handle, mac, mtu, trusted and the links are refused */
    const char *const *fe_keys;
} kl_nic_add_opts;
/* Attach a vif to a running (or paused, being created) domain, as xl network-attach: devid < 0
 * takes one past the highest the domain has, a zero MAC a random 00:16:3e one (both written
 * back into *nic), no script Keel's vif-bridge; the nodes of the contract are written in one
 * store transaction, the backend's InitWait awaited (10 s), `<script> online type_if=vif` run
 * (40 s). On failure every node is removed (`offline` run if `online` ran) and kl_ctx_error
 * has the reason (the script's hotplug-error). o may be NULL. */
int kl_nic_add(kl_ctx *ctx, uint32_t domid, kl_device_nic *nic, const kl_nic_add_opts *o);
typedef struct kl_nicinfo {
    uint32_t devid, backend_id, frontend_id;
    char mac[18];                    /* the backend's mac, aa:bb:cc:dd:ee:ff */
    int backend_state, frontend_state;  /* xenbus states, -1 when absent */
    int evtch, rref_tx, rref_rx;     /* the frontend's event-channel(-tx), tx-/rx-ring-ref, -1 */
    int mtu;                         /* the frontend's mtu key, -1 when absent */
    char ifname[20];                 /* the tap: vifname or vif<domid>.<devid> */
    char bridge[20], ip[256], script[512], hotplug_status[16];
    char backend[128], frontend[96];
} kl_nicinfo;
/* The domain's vifs (from the /libxl bookkeeping), devid order; *out malloc'd. Count. */
int kl_nic_list(kl_ctx *ctx, uint32_t domid, kl_nicinfo **out);
/* Detach the vif named by devid (decimal) or MAC: online=0, Closing, wait for the backend's
 * Closed (10 s; KL_NIC_FORCE: no wait), `<script> offline type_if=vif`, nodes and bookkeeping
 * removed, the vif dropped from the stored configuration. -ENODEV if there is no such vif. */
enum { KL_NIC_FORCE = 1 };
int kl_nic_remove(kl_ctx *ctx, uint32_t domid, const char *dev, unsigned flags);

/* ---- vTPMs (lifecycle/device_vtpm.c, vtpm_mig.c; contract: docs/device-vtpm.md) ---- */
enum { KL_VTPM_NO_RECORD = 1,        /* do not add the vtpm to the stored configuration */
       KL_VTPM_RESUME = 2 };         /* backend resume=True: keel-vtpmd was given its state */
typedef struct kl_vtpm_add_opts {
    unsigned flags;
    /* extra frontend keys, as kl_disk_add_opts.fe_keys (a restored guest's ring-ref,
     * event-channel, feature-protocol-v2 and state); backend, backend-id, handle refused */
    const char *const *fe_keys;
} kl_vtpm_add_opts;
/* Attach a vTPM to a running (or paused, being created) domain, as xl vtpm-attach: devid < 0
 * takes one past the highest the domain has, a nil uuid a new random one (both written back
 * into *vtpm); a backend other than Domain-0 is refused (-ENOTSUP), a uuid another vtpm of this
 * host has (-EEXIST). The contract's nodes are written in one store transaction and the
 * manager's InitWait awaited (10 s; no hotplug script). On failure every node is removed and
 * kl_ctx_error has the reason. o may be NULL. */
int kl_vtpm_add(kl_ctx *ctx, uint32_t domid, kl_device_vtpm *vtpm, const kl_vtpm_add_opts *o);
typedef struct kl_vtpminfo {
    uint32_t devid, backend_id, frontend_id;
    char uuid[37];                   /* the backend's uuid ("" when it does not parse) */
    int backend_state, frontend_state;  /* xenbus states, -1 when absent */
    int evtch, ring_ref;             /* the frontend's event-channel and ring-ref, -1 if absent */
    char backend[128], frontend[96];
} kl_vtpminfo;
/* The domain's vtpms (from the /libxl bookkeeping), devid order; *out malloc'd. Count. */
int kl_vtpm_list(kl_ctx *ctx, uint32_t domid, kl_vtpminfo **out);
/* Detach the vtpm named by devid (decimal) or uuid: online=0, Closing, wait for the manager's
 * Closed (it seals the state first; 10 s, KL_VTPM_FORCE: no wait), nodes and bookkeeping
 * removed, the vtpm dropped from the stored configuration. -ENODEV if there is no such vtpm. */
enum { KL_VTPM_FORCE = 1 };
int kl_vtpm_remove(kl_ctx *ctx, uint32_t domid, const char *dev, unsigned flags);

/* ---- PV channels (lifecycle/device_channel.c; channel=[...], consoles with a name served by
 * keel-consoled, Xen's docs/misc/console.txt layout) ---- */
typedef struct kl_channelinfo {
    uint32_t devid, backend_id, frontend_id;   /* devid as xl's Idx: the console's number - 1 */
    char name[128], path[108], tty[64];        /* path: socket only; tty: pty only, "" until set */
    kl_channel_connection connection;
    int state, evtch, ring_ref;                /* the frontend's; -1 when absent */
    char backend[128], frontend[96];
} kl_channelinfo;
/* The domain's channels (from the /libxl bookkeeping), devid order; *out malloc'd. Count. */
int kl_channel_list(kl_ctx *ctx, uint32_t domid, kl_channelinfo **out);

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

/* ---- Save images with options, compression, live migration (lifecycle/migrate.c, mig_*.c) ---- */
/* Progress of a save or a migration, from kg_save's reports: round 1 is the full pass, each
 * further round one pre-copy round; stop_and_copy is set once the domain is paused for the last
 * round (always for a non-live save). A last call has done = 1 with the figures kg_save
 * measured. Called in the caller's thread, at most ~5 times a second plus once per round. */
typedef struct kl_migrate_progress {
    unsigned round;
    uint64_t pages_sent;             /* pages sent so far, all rounds */
    uint64_t pages_dirty;            /* pages of the last complete round (the dirty set) */
    uint64_t pages_total;            /* the domain's memory in pages */
    uint64_t round_pages, round_sent;  /* pages this round sends, and of them sent so far */
    uint64_t bytes_sent;             /* page bytes sent (compressed bytes with KL_SAVE_ZLIB) */
    double rate_mib_s;               /* recent stream rate */
    double expected_downtime_ms;     /* pages_dirty at rate_mib_s */
    int stop_and_copy;
    int done;                        /* last call: the save stream is complete */
    double downtime_ms;              /* done: measured pause (stop-and-copy) time */
} kl_migrate_progress;
typedef void kl_migrate_progress_cb(const kl_migrate_progress *p, void *arg);
typedef struct kl_migrate_opts {
    unsigned flags;                  /* kl_domain_save_ext: KL_SAVE_LIVE, KL_SAVE_ZLIB */
    kl_migrate_progress_cb *progress;  /* or NULL */
    void *arg;
    volatile int *cancel;            /* set non-zero from another thread or a signal handler:
                                        the source resumes, -ECANCELED (or NULL) */
    const char *new_config_json;     /* replaces the domain's config in the image (xl -C), or NULL */
} kl_migrate_opts;

/* KL_SAVE_ZLIB: the image is Keel's compressed variant: xl's preamble with the mandatory flag
 * 0x80000000 (Keel-specific; Xen's xl refuses it), then the libxl v2 stream deflated (zlib
 * format). Without it the image is exactly the one kl_domain_save writes. */
enum { KL_SAVE_ZLIB = 2 };
/* KL_SAVE_POSTCOPY (kl_domain_migrate_send only; Keel extension, docs/lazy-restore.md): the
 * domain is paused at once and only its state and ring frames are sent; the target runs it
 * while its memory follows (asked for on demand, the rest pushed). The receiver must be
 * started with KL_CREATE_LAZY (xl migrate-receive --postcopy). A link cut after the switch
 * kills the target's copy and resumes the source's (after KL_POSTCOPY_FENCE_MS): one side
 * runs, never both. */
enum { KL_SAVE_POSTCOPY = 4 };
#define KL_POSTCOPY_FENCE_MS 10000
/* The mandatory flags of xl's save image preamble (what xl prints as "info 0x%x"): the config
 * is JSON, the stream is libxl's v2, and Keel's zlib flag. */
#define KL_IMAGE_MANDATORY_JSON 1u
#define KL_IMAGE_MANDATORY_STREAMV2 2u
#define KL_IMAGE_MANDATORY_ZLIB 0x80000000u
/* kl_domain_save with options (o may be NULL: as kl_domain_save(flags 0)). Cancelling leaves
 * the domain paused like a failure; the caller unpauses it. */
int kl_domain_save_ext(kl_ctx *ctx, uint32_t domid, int fd, const kl_migrate_opts *o);
/* Read an image's xl preamble from fd, exactly (no byte more): its config JSON (malloc'd, in
 * *json) and KL_SAVE_ZLIB in *image_flags when the stream after it is compressed. -EBADMSG,
 * -ENOTSUP (unknown flags), -EIO with the reason in kl_ctx_error. */
int kl_save_image_read_header(kl_ctx *ctx, int fd, const char *what, char **json,
                              unsigned *image_flags);
/* Restore from fd positioned after the preamble (kl_save_image_read_header), inflating when
 * image_flags has KL_SAVE_ZLIB; otherwise as kl_domain_restore. A corrupt or truncated image
 * fails with a message saying where, and leaves no domain. */
int kl_domain_restore_image(kl_ctx *ctx, kl_domain_config *dc, int fd, unsigned image_flags,
                            unsigned flags, uint32_t *domid);

/* xl's migration handshake, source side. to_fd/from_fd: the byte streams to and from the
 * receiver (pipes to `ssh HOST xl migrate-receive`, or one socket twice); the caller ignores
 * SIGPIPE (kg_save writes with write(2)), as xl does. Waits for the receiver's banner, sends
 * the xl save image live (o->new_config_json replacing the config; o->flags is ignored), waits
 * for "domain received, ready to unpause", renames the domain NAME--migratedaway, sends
 * "domain is yours, you are cleared to unpause" and reads the receiver's report; on success
 * destroys the source. On any failure before that (link cut, receiver killed or refusing,
 * cancel) the source is renamed back and resumed, and a negative errno returned: -ECANCELED,
 * -ETIMEDOUT, -ECONNRESET or -EPIPE (the receiver went away), -EPROTO (it spoke something
 * else), -EREMOTEIO (it reported failure). The cancel flag is honoured until the final message
 * is sent; a failure after it (no report) still resumes the source, so a receiver that did
 * start the domain and then lost the link leaves two copies (Xen's xl says "failed badly"). */
int kl_domain_migrate_send(kl_ctx *ctx, uint32_t domid, int to_fd, int from_fd,
                           const kl_migrate_opts *o);
/* Target side: sends the banner, restores the image from in_fd as NAME--incoming (paused),
 * reports, waits for the sender's clearance, renames it NAME and (unless KL_CREATE_PAUSED)
 * unpauses it, and sends the report byte. On failure the incoming domain is destroyed.
 * flags: KL_CREATE_PAUSED, KL_CREATE_CLAIM; the context's xl.conf (kl_ctx_set_xl_conf,
 * keel/kl_xlconf.h) masks the incoming domain's affinity before anything is created. */
int kl_domain_migrate_receive(kl_ctx *ctx, int in_fd, int out_fd, unsigned flags,
                              uint32_t *domid);

/* Direct TCP transport (hosts without ssh). With tls, TLS 1.2+ over OpenSSL: the connection's
 * plaintext side is one end of a socketpair returned as *fd, relayed by a thread; a client
 * verifies the server certificate against ca_file (else the system's store) and the host name
 * or address (peer_name, else the host of host_port) and presents cert_file/key_file if given;
 * a server presents cert_file/key_file (required) and, when ca_file is given, requires and
 * verifies a client certificate. tls NULL: plain TCP (only when the user asked for it). */
typedef struct kl_tls_opts {
    const char *cert_file, *key_file;  /* PEM */
    const char *ca_file;               /* PEM CA certificates that verify the peer */
    const char *peer_name;             /* client: name the server certificate must carry */
} kl_tls_opts;
/* HOST:PORT or [V6]:PORT; connect (10 s timeout) and handshake. */
int kl_migrate_connect(kl_ctx *ctx, const char *host_port, const kl_tls_opts *tls, int *fd);
/* Listen on ADDR:PORT (ADDR may be empty or * for any); *listen_fd is the caller's. */
int kl_migrate_listen(kl_ctx *ctx, const char *addr_port, int *listen_fd);
/* Accept one connection (timeout_ms < 0: wait forever) and handshake. */
int kl_migrate_accept(kl_ctx *ctx, int listen_fd, const kl_tls_opts *tls, int timeout_ms,
                      int *fd);
/* Close a connection from kl_migrate_connect/accept: with TLS, waits (at most 10 s) until what
 * was written has reached the peer and the relay thread ended. Use it instead of close(). */
int kl_migrate_close(int fd);

/* ---- Remus: continuous checkpoints to a backup host (lifecycle/remus.c) ---- */
/* Replicate a running domain: wait for the receiver's banner (when from_fd >= 0), then send
 * the xl image with a checkpoint every interval_ms (0: 200) after the live pass; the guest
 * runs between checkpoints and is paused for each (its dirty pages and state). Returns when
 * replication stops, the domain running on the primary: 0 if the domain is gone (destroyed to
 * force the failover, or died), -ECANCELED when *cancel was set, or another negative errno
 * when the backup failed (the stream broke) with the reason in kl_ctx_error. *checkpoints
 * (may be NULL) receives how many were sent. There is no network or disk buffering: output
 * the guest gives between checkpoints is not held back. */
typedef struct kl_remus_opts {
    uint32_t interval_ms;
    volatile int *cancel;
    /* issue 15 (docs/remus.md): disk replication and network output commit are on unless
     * turned off (xl remus -d, -n); debug prints each acknowledged checkpoint on stderr;
     * timeout_ms (0: $KEEL_REMUS_TIMEOUT_MS or 1000) bounds the wait for the backup's
     * acknowledgement and the backends' epoch marks. When the backup is lost, the fencing
     * command $KEEL_REMUS_FENCE (if set; run by sh with the domain name and id as $1 $2)
     * decides: exit 0 - the domain runs on here, held output released; otherwise it is
     * destroyed here (the backup takes over; nothing it did not see leaves). */
    int no_disk, no_net, debug;
    uint32_t timeout_ms;
    /* called on the sending thread after each checkpoint the backup acknowledged (without a
     * reverse channel: once it was sent), with its number (1, 2, ...); NULL: none. Added for
     * keeld's domain.protection status. */
    void (*on_checkpoint)(uint32_t n, void *arg);
    void *on_checkpoint_arg;
} kl_remus_opts;
int kl_domain_remus_send(kl_ctx *ctx, uint32_t domid, int to_fd, int from_fd,
                         const kl_remus_opts *o, uint32_t *checkpoints);
/* Backup side (`xl migrate-receive -r`): sends the banner, restores the image as
 * NAME--incoming, paused, taking each checkpoint as it completes; when the stream breaks off
 * (the primary is gone) it fails over: the last complete checkpoint becomes NAME and runs
 * (unless KL_CREATE_PAUSED). A stream that breaks before the first checkpoint leaves no
 * domain and fails. KL_CREATE_CLAIM and the context's xl.conf masks (kl_ctx_set_xl_conf) as
 * kl_domain_migrate_receive. */
int kl_domain_remus_receive(kl_ctx *ctx, int in_fd, int out_fd, unsigned flags, uint32_t *domid);

#ifdef __cplusplus
}
#endif
#endif
