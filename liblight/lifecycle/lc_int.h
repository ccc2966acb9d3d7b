/* lc_int.h - internals of liblight's lifecycle part: the context and the store client. */
#ifndef KEEL_LC_INT_H
#define KEEL_LC_INT_H

#include <stdarg.h>
#include <stdint.h>

#include "keel/kl_light.h"
#include "kxs.h"

struct kl_ctx {
    kc_handle *kc;
    kxs *xs;                     /* store connection (common/kxs.h), NULL when not connected */
    uint32_t exc_port;           /* VIRQ_DOM_EXC binding, valid when exc_bound */
    int exc_bound;
    char rundir[256];
    char err[512];
    /* frontend keys of the image whose header was read last (device_fe.c), used by the next
     * restore on this context */
    struct kl__fe_set *fe_pending;
    /* the EMULATOR_CONTEXT records (vTPM states) of the stream restored last (create.c), taken
     * by kl__vtpms_add_config */
    struct kg_emu_records *vtpm_pending;
    const struct kg_restore_hooks *restore_hooks;   /* Remus backup (remus_dev.c) */
    /* xl.conf settings applied to a domain arriving by migration (kl_ctx_set_xl_conf) */
    const struct kl_xl_conf *xl_conf;
    /* post-copy target (mig_postcopy.c): 1 + the core's end of the page channel for the next
     * restore with KL_CREATE_LAZY (0: none) */
    int postcopy_chan;
};

/* Record an error message and return rc (a negative errno). */
int kl__err(kl_ctx *ctx, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* cpupool.c: move a new domain into its config's pool= (before it runs) */
int kl__cpupool_place(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc);
/* kernel.c: dc->b_info.kernel made absolute with kl_kernel_resolve (the message in ctx). */
int kl__kernel_resolve_config(kl_ctx *ctx, kl_domain_config *dc);

/* The store, through the common client (common/kxs.h) with the context's messages (xs.c). */
int kl__xs_connect(kl_ctx *ctx);
/* A new connection to the store daemon in *out (for watches: xs_wait.c). */
int kl__xs_open(kl_ctx *ctx, kxs **out);
void kl__xs_close(kl_ctx *ctx);
/* One request; the reply payload is malloc'd in *out (NUL-terminated beyond *outlen). */
struct kg_ring_params;
/* Publish a domain's rings (console/ and store/ ring-ref and port) and introduce its store ring
 * to the store daemon (XS_INTRODUCE). */
int kl__rings_introduce(kl_ctx *ctx, uint32_t domid, const struct kg_ring_params *r);
/* Read them back from the store (for a save); absent nodes leave zeros (no such ring). */
int kl__rings_read(kl_ctx *ctx, uint32_t domid, struct kg_ring_params *r);
void kl__rings_release(kl_ctx *ctx, uint32_t domid);
int kl__xs_request(kl_ctx *ctx, uint32_t type, uint32_t tx, const void *payload, size_t len,
                   char **out, size_t *outlen);
int kl__xs_write(kl_ctx *ctx, uint32_t tx, const char *path, const char *value);
int kl__xs_writef(kl_ctx *ctx, uint32_t tx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int kl__xs_read(kl_ctx *ctx, uint32_t tx, const char *path, char **out);
int kl__xs_rm(kl_ctx *ctx, uint32_t tx, const char *path);
/* The children of path as a NUL-separated list (malloc'd in *out, *outlen bytes). */
int kl__xs_directory(kl_ctx *ctx, uint32_t tx, const char *path, char **out, size_t *outlen);
/* Wait (a watch on a second connection) until ok(value or NULL when absent, arg) holds for the
 * node at path: 0, or -ETIMEDOUT after timeout_ms, or another negative errno. */
int kl__xs_wait(kl_ctx *ctx, const char *path, int (*ok)(const char *value, void *arg), void *arg,
                int timeout_ms);
int kl__xs_mkdir(kl_ctx *ctx, uint32_t tx, const char *path);
/* perms: "n0", "r5", ... as the wire's NUL-separated list, count entries. */
int kl__xs_set_perms(kl_ctx *ctx, uint32_t tx, const char *path, const char *const perms[], int n);
int kl__xs_tx_start(kl_ctx *ctx, uint32_t *tx);
int kl__xs_tx_end(kl_ctx *ctx, uint32_t tx, int commit);
/* A batch of store requests sent pipelined (kxs_batch: one round trip for all): built with
 * kl__xsb_*, which record the first building failure (-ENOMEM, -E2BIG) in err; sent and
 * emptied by kl__xsb_send (0, or the first failure with the message in ctx); kl__xsb_free
 * drops one not sent. */
struct kl__xsb {
    struct kxs_req *req;
    size_t *off;                 /* each payload's place in buf (buf moves as it grows) */
    unsigned n, cap;
    char *buf;
    size_t used, size;
    int err;
};
void kl__xsb_init(struct kl__xsb *b);
void kl__xsb_free(struct kl__xsb *b);
/* type with a payload of the strings given (each with its NUL; a WRITE's value has none) */
void kl__xsb_add(struct kl__xsb *b, uint32_t type, const char *const s[], int n, int last_nul);
void kl__xsb_write(struct kl__xsb *b, const char *path, const char *value);
void kl__xsb_writef(struct kl__xsb *b, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kl__xsb_mkdir(struct kl__xsb *b, const char *path);
void kl__xsb_set_perms(struct kl__xsb *b, const char *path, const char *const perms[], int n);
/* a READ whose value (malloc'd) goes to *out, left NULL when the read fails */
void kl__xsb_read(struct kl__xsb *b, const char *path, char **out);
int kl__xsb_send(kl_ctx *ctx, uint32_t tx, struct kl__xsb *b);

/* Userdata: the domain's configuration as JSON in RUNDIR/light/. */
int kl__userdata_store(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc);
void kl__userdata_remove(kl_ctx *ctx, uint32_t domid);

/* The VIRQ_DOM_EXC port of the context (bound on first use). */
int kl__exc_port(kl_ctx *ctx, uint32_t *port);

/* Write the store nodes of a new domain. */
int kl__store_domain(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc);
int kl__store_forget(kl_ctx *ctx, uint32_t domid);

uint64_t kl__now_ms(void);

/* ---- devices (device*.c, hotplug.c) ---- */
#define KL__DEV_KEYS_MAX 24
/* A device key names one device of a domain: a vbd's virtual-device number (< 2^29), a
 * vif's devid with KL__VIF_KEY set, or a vtpm's with KL__VTPM_KEY. Device lists and the
 * frontend sets use keys. */
#define KL__VIF_KEY 0x80000000u
#define KL__VTPM_KEY 0x40000000u
#define KL__KEY_IS_VIF(k) (((k) & KL__VIF_KEY) != 0)
#define KL__KEY_IS_VTPM(k) (((k) & KL__VTPM_KEY) != 0)
#define KL__KEY_IS_VBD(k) (((k) & (KL__VIF_KEY | KL__VTPM_KEY)) == 0)
#define KL__KEY_DEVID(k) ((k) & ~(KL__VIF_KEY | KL__VTPM_KEY))
/* The device class of a key: "vbd", "vif" or "vtpm". */
#define KL__KEY_CLASS(k) (KL__KEY_IS_VIF(k) ? "vif" : KL__KEY_IS_VTPM(k) ? "vtpm" : "vbd")
/* One PV device (block or network): where its nodes live and what the toolstack writes there. */
struct kl__dev {
    uint32_t domid, devid;
    int vif;                         /* a network device (class vif), else a disk (class vbd) */
    int vtpm;                        /* a vTPM (class vtpm: no hotplug script) */
    char vdev[20];
    char kind[8];                    /* backend kind: vbd, qdisk or vif */
    char label[48];                  /* for messages: "disk xvda", "vif 0" */
    char fe[96], be[128], bk[96];    /* frontend, backend, /libxl bookkeeping dirs */
    char be_rel[96];                 /* backend/<kind>/<domid>/<devid> (XENBUS_PATH) */
    char script[512];
    char ifname[20], netdev[20];     /* vif: the tap's name (env vif=) and gatewaydev (netdev=) */
    int nbe, nfe;
    /* ro (frontend keys): owned by Domain-0, the guest may only read (a vif's mtu) */
    struct { const char *k; char v[600]; int ro; } bek[KL__DEV_KEYS_MAX], fek[KL__DEV_KEYS_MAX];
};
/* Timeouts (ms): backend InitWait, hotplug script, backend Closed; $KEEL_DEVICE_TIMEOUT
 * (seconds) overrides the first and the last. */
int kl__dev_timeout(int dflt_ms);
#define KL__INIT_TIMEOUT_MS 10000
#define KL__HOTPLUG_TIMEOUT_MS 40000
#define KL__DESTROY_TIMEOUT_MS 10000
#define KL__DYING_TIMEOUT_MS 2000
/* Paths of domid's device devid of backend kind (vbd, qdisk: class vbd; vif: class vif). */
void kl__dev_paths(struct kl__dev *d, uint32_t domid, uint32_t devid, const char *kind);
/* Fill d from a disk description (checks and the key values); no store access but the
 * domain's existence. */
int kl__disk_prepare(kl_ctx *ctx, uint32_t domid, const kl_device_disk *disk, struct kl__dev *d);
/* Write d's nodes (one transaction), wait for the backend, run the hotplug script; undone on
 * failure. fe_extra: NULL-terminated name, value pairs. */
int kl__dev_add(kl_ctx *ctx, struct kl__dev *d, const char *const *fe_extra);
/* The remove sequence. timeout_ms 0: do not wait for the backend (force). ran_add: whether
 * to run the script's remove. */
int kl__dev_remove(kl_ctx *ctx, struct kl__dev *d, int timeout_ms, int ran_add);
/* Remove every device of a domain (destroy). */
void kl__devices_destroy(kl_ctx *ctx, uint32_t domid);
/* The same with another wait for each backend (0: none). */
void kl__devices_remove(kl_ctx *ctx, uint32_t domid, int timeout_ms);
/* The device keys under /libxl/<domid>/device/vbd and .../vif (malloc'd in *ids). Count. */
int kl__dev_ids(kl_ctx *ctx, uint32_t domid, uint32_t **ids);
/* device.c: sort n device ids ascending; a xenbus state value (0..8), -1 if absent or not one */
void kl__sort_u32(uint32_t *v, int n);
int kl__xb_state(const char *v);
/* Rebuild a device (by key) from its bookkeeping: -ENOENT if none, -EPROTO if it names another
 * backend. */
int kl__dev_load(kl_ctx *ctx, uint32_t domid, uint32_t key, struct kl__dev *d);
/* The bookkeeping dir of a device key. */
void kl__dev_bk_path(uint32_t domid, uint32_t key, char *out, size_t len);
struct kl__fe_set;
/* Add the disks and then the vifs of a configuration (create, restore). fe: the frontend keys a
 * restored guest published (NULL at create); those devices' backends are waited for until
 * Connected. */
int kl__disks_add_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc,
                         const struct kl__fe_set *fe);
/* Drop the disk vdev from the stored configuration. */
void kl__disk_forget(kl_ctx *ctx, uint32_t domid, const char *vdev);
/* The vtpms of a configuration (device_vtpm.c), added before the disks: at a restore each one's
 * state from the stream (ctx->vtpm_pending) is imported into the manager first and its backend
 * written with resume=True and the frontend keys of fe. */
int kl__vtpms_add_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc,
                         const struct kl__fe_set *fe);
/* PV channels (device_channel.c): the entries checked before a domain is built; their nodes
 * written and keel-consoled's InitWait awaited at create; removed at destroy. */
int kl__channels_check(kl_ctx *ctx, const kl_domain_config *dc);
int kl__channels_add_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc);
void kl__channels_destroy(kl_ctx *ctx, uint32_t domid);
/* Free ctx->vtpm_pending (create.c, after a restore). */
void kl__vtpm_pending_drop(kl_ctx *ctx);
/* Save/migration (vtpm_mig.c). In the suspend callback: export every vtpm of domid (the manager
 * freezes the instance), marking each (bookkeeping key keel-exported); the blobs in *out. */
struct kg_emu_records;
int kl__vtpms_export(kl_ctx *ctx, uint32_t domid, struct kg_emu_records *out);
/* The same for the vtpms ids[0..n) (Remus: those the domain had when protection began, the
 * devices its backup knows); kl__vtpm_ids: a domain's vtpm devids (malloc'd in *ids), count. */
int kl__vtpms_export_ids(kl_ctx *ctx, uint32_t domid, const uint32_t *ids, int n,
                         struct kg_emu_records *out);
int kl__vtpm_ids(kl_ctx *ctx, uint32_t domid, uint32_t **ids);
/* The exported (frozen) vtpms of domid go on: kvtpm_resume, the mark removed. */
void kl__vtpms_thaw(kl_ctx *ctx, uint32_t domid);
/* The exported vtpms of domid may go (the state lives on elsewhere): kvtpm_release. */
void kl__vtpms_release(kl_ctx *ctx, uint32_t domid);
/* Remove the devices of a domain but its vtpms (a resuming migration source). */
void kl__devices_remove_pv(kl_ctx *ctx, uint32_t domid, int timeout_ms);
/* The vifs of a configuration (device_nic.c), with the frontend keys of fe when restoring. */
int kl__nics_add_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc,
                        const struct kl__fe_set *fe);
/* A script by absolute path or by name in $KEEL_SCRIPTDIR, then the installed directory. */
int kl__hotplug_find(kl_ctx *ctx, const char *name, char *out, size_t len);
/* Run d's script for action (add/remove; a vif: online/offline with type_if=vif, and the vif
 * and netdev variables); its exit status (0 success), or a negative errno (timeout...). */
int kl__hotplug_run(kl_ctx *ctx, const struct kl__dev *d, int add, int timeout_ms);

/* ---- frontend keys across save/restore/migration (device_fe.c) ---- */
#define KL__FE_KEYS_MAX 64
struct kl__fe_dev {
    uint32_t devid;                      /* a device key: a vif's has KL__VIF_KEY */
    int n;                               /* pairs in kv */
    char *kv[2 * KL__FE_KEYS_MAX + 1];   /* name, value, ..., NULL: kl_disk_add_opts.fe_keys */
};
struct kl__fe_set {
    int n;
    struct kl__fe_dev *dev;
};
/* The allowed keys the frontends of domid's disks and vifs published (invalid ones left out). */
int kl__fe_collect(kl_ctx *ctx, uint32_t domid, struct kl__fe_set *s);
void kl__fe_free(struct kl__fe_set *s);
const struct kl__fe_dev *kl__fe_find(const struct kl__fe_set *s, uint32_t devid);
/* The carried xenbus state of a device (0 when none). */
int kl__fe_state(const struct kl__fe_dev *d);
/* 1 if both sets hold the same keys and values; else 0 and *devid names a device that differs. */
int kl__fe_equal(const struct kl__fe_set *a, const struct kl__fe_set *b, uint32_t *devid);
/* Add the set as the Keel-owned member of a config JSON object (*json replaced). */
int kl__fe_json_insert(const struct kl__fe_set *s, char **json);
/* Read and validate that member from an image's JSON (an empty set when absent); -EBADMSG with
 * a message in ctx when malformed. */
int kl__fe_from_json(kl_ctx *ctx, const char *json, struct kl__fe_set *s);
/* Save/migration source, paused: ask each backend to close (online=0, Closing) and wait until
 * it has finished its requests and closed (state 6); an error if one does not in the device
 * timeout. Each device closed is marked (bookkeeping key keel-suspended) for kl__fe_reopen;
 * backends already closed are left alone. */
int kl__fe_quiesce(kl_ctx *ctx, uint32_t domid);
/* A paused domain about to run again: if a save closed its disks (kl__fe_quiesce), add them
 * again with the keys its frontends published (kl__fe_resume), the backends reconnected. */
int kl__fe_reopen(kl_ctx *ctx, uint32_t domid);
/* Wait until the backend of every device whose carried state is 3/4 is Connected again. */
int kl__fe_wait_connected(kl_ctx *ctx, uint32_t domid, const struct kl__fe_set *s);
/* Migration source resuming: its devices removed and added again with the keys of s. */
int kl__fe_resume(kl_ctx *ctx, uint32_t domid, const struct kl__fe_set *s);

#endif
