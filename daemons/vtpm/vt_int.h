/* vt_int.h - keel-vtpmd internals. The daemon (one process, one poll loop) owns the store
 * connection, the libkeelctrl handle, the guests' shared pages and event channels, the
 * tpm2-tools sockets and the control socket; each device's TPM runs in an instance process of
 * its own (vt_inst.c forks it, vt_engine.c is its code). Commands of a device are serialised:
 * at most one is with its instance at a time. */
#ifndef VT_INT_H
#define VT_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "keel/ctrl.h"
#include "keel/io/xenbus.h"
#include "kxs.h"
#include "vt_req.h"
#include "vt_state.h"

#define VT_MAX_DEVS 256
#define VT_BASE "/local/domain/0/backend/vtpm"
#define VT_WAIT_MS 60000                 /* longest wait for an instance (RSA key generation) */
#define VT_MAX_RESTARTS 5                /* crashes in a row before the device is closed */
#define VT_LOG_REJECTS 64u

enum vt_src { VT_SRC_NONE = 0, VT_SRC_GUEST, VT_SRC_SOCK, VT_SRC_INTERNAL };

struct vt_dev {
    int used;
    uint32_t domid, devid;
    char name[40];                       /* "vtpm 5/0" for log lines */
    char be[96], fe[96];
    char uuid[37];
    /* the instance */
    pid_t pid;
    int fd;                              /* socketpair to it, -1 none */
    int busy;                            /* enum vt_src of the command with the instance */
    int started;                         /* a TPM2_Startup succeeded (re-sent after a crash) */
    int frozen;                          /* exported: takes no command until resume/release */
    int released;                        /* its state must not be written any more */
    int restarts;                        /* crashes since the last good response */
    uint8_t *perm;                       /* the last permanent state sealed to disk */
    uint32_t perm_len;
    uint64_t cmds;                       /* commands sent to this instance */
    uint8_t *st_cache;                   /* its last whole state (GETSTATE), valid while no */
    uint32_t st_cache_len;               /* command ran since: Remus exports at every */
    uint64_t st_cache_cmds;              /* checkpoint, mostly of a TPM that did nothing */
    /* the guest's ring */
    int connected;
    uint8_t *page;
    uint32_t port;
    int evfd;
    void *extra_map;                     /* the current command's extra pages */
    uint32_t extra_n;
    struct vt_view view;
    struct vt_req req;
    int guest_pending;                   /* a checked guest command waits for the instance */
    int cancelled;                       /* the guest cancelled the command with the instance */
    uint8_t gcmd[VT_TPM_BUF];
    unsigned rejects;
    /* the tpm2-tools socket (swtpm TCTI: data socket and <path>.ctrl) */
    char sock_path[108];
    int lfd, cfd, client;
    int sock_pending;
    uint32_t sock_len;
    uint8_t scmd[VT_TPM_BUF];
    /* xenbus */
    int my_state;
    int closed;                          /* done: waits for the toolstack to remove the nodes */
};

struct vt_import {                       /* a kvtpm_import waiting for its device */
    int used;
    uint32_t domid, devid;
    char uuid[37];
    uint8_t *blob;
    size_t len;
};

struct vt_ctx {
    const char *rundir;
    char vtdir[256];                     /* <rundir>/vtpm */
    char statedir[4096];                 /* <statedir>/vtpm */
    uint8_t key[VT_KEY_LEN];
    kxs *xs;
    kc_handle *kc;
    int ctl_fd;
    struct vt_dev devs[VT_MAX_DEVS];
    struct vt_import imports[16];
};

extern struct vt_ctx vt;

/* vt_dev.c: devices, store side and ring */
void vt_scan(void);
void vt_dev_reconcile(struct vt_dev *d);
void vt_dev_close(struct vt_dev *d, int save);
void vt_ring_event(struct vt_dev *d);
void vt_deliver(struct vt_dev *d, int src, const uint8_t *resp, uint32_t len);
struct vt_dev *vt_dev_find(uint32_t domid, uint32_t devid);
void vt_stop_all(void);
/* After a store reconnection: watch the device's frontend again and write back the backend
 * state the store missed while it was away. */
void vt_dev_resync(struct vt_dev *d);

/* vt_store.c: the store connection, kept across a restart of keel-stored */
int vt_store_open(void);                 /* connect and watch VT_BASE: 0 or a negative errno */
int vt_store_fd(void);                   /* what to poll: -1 while the store is away */
int vt_store_lost(void);
int vt_store_timeout(int dflt);          /* poll timeout: dflt, or less while reconnecting */
void vt_store_check(void);               /* notice a loss; reconnect when the backoff is due */

/* vt_inst.c: instance processes */
int vt_inst_start(struct vt_dev *d, const uint8_t *perm, uint32_t plen, const uint8_t *vol,
                  uint32_t vlen);
void vt_inst_stop(struct vt_dev *d);
void vt_inst_readable(struct vt_dev *d);
int vt_inst_wait_idle(struct vt_dev *d);
/* The instance's whole state (malloc'd; permanent and volatile lengths first); a copy of the
 * last one when no command ran since. */
int vt_inst_getstate(struct vt_dev *d, uint8_t **st, uint32_t *len);
void vt_inst_drop_cache(struct vt_dev *d);
void vt_kick(struct vt_dev *d);
/* Send TPM2_Startup(CLEAR) on the manager's behalf (a TPM the guest had started). */
void vt_inst_startup(struct vt_dev *d);

/* vt_sock.c: the tpm2-tools sockets */
int vt_sock_open(struct vt_dev *d);
void vt_sock_close(struct vt_dev *d);
void vt_sock_accept(struct vt_dev *d);
void vt_sock_ctrl(struct vt_dev *d);
void vt_sock_readable(struct vt_dev *d);
void vt_sock_answer(struct vt_dev *d, const uint8_t *resp, uint32_t len);

/* vt_ctl.c: the control socket (kvtpm) */
int vt_ctl_open(void);
void vt_ctl_accept(void);

#endif
