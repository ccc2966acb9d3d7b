/* nb_int.h - keel-netback internals: one struct nb_vif per device, owned by the worker process
 * that serves it (nb_dev.c: store side, state machine and event loop; nb_tap.c: the tap device;
 * nb_ring.c: the tx and rx rings of each queue; nb_stats.c: the statistics file). */
#ifndef NB_INT_H
#define NB_INT_H

#include <stdint.h>

#include "keel/ctrl.h"
#include "keel/io/netif.h"
#include "keel/io/xenbus.h"
#include "kxs.h"
#include "nb_rules.h"
#include "nb_txparse.h"

#define NB_MAX_QUEUES 8u
#define NB_EXIT_STORE 75             /* worker exit: store lost, device left connected: respawn */
#define NB_LOG_REJECTS 32u           /* rejected-request lines per vif before going quiet */
#define NB_FATAL_MAX 16u             /* fatal tx errors before the vif is disabled */
#define NB_ERROR_MAX 1024u           /* any tx errors (runts, bad grants...) before disabling */
#define NB_TX_BATCH 64u              /* packets per grant-copy batch */
#define NB_TX_BUF (1u << 20)         /* bytes per batch (linear frames) */
#define NB_RX_BATCH 32u              /* frames read from the tap per rx batch */
#define NB_FRAME_MAX (65535u + 14u + 4u)

struct nb_stats {
    uint64_t tx_packets, tx_bytes;       /* guest -> tap, delivered */
    uint64_t tx_errors, tx_fatal;        /* malformed requests (answered with RSP_ERROR) */
    uint64_t tx_dropped;                 /* well-formed but dropped: spoofing, tap full */
    uint64_t tx_spoof_mac, tx_spoof_ip;
    uint64_t rx_packets, rx_bytes;       /* tap -> guest, delivered */
    uint64_t rx_dropped;                 /* no room or too large for the frontend */
    uint64_t rx_errors;                  /* a copy into the guest failed */
};

#define NB_PG_CAP 2048u              /* persistent mapping table (at most half used) */

struct nb_pg {                           /* one persistently mapped grant */
    uint32_t ref;
    int writable;
    uint8_t *addr;                       /* NULL: a free slot */
};

struct nb_queue {
    uint32_t idx;
    int tapfd;                           /* this queue's file descriptor of the tap */
    int attached;
    /* rings */
    void *tx_area, *rx_area;
    struct keel_netif_tx_back tx;
    struct keel_netif_rx_back rx;
    uint32_t tx_port, rx_port;           /* equal without split event channels */
    int tx_evfd, rx_evfd;
    int connected;
    int tx_stalled;                      /* waiting for rate credit */
};

struct nb_vif {
    uint32_t domid, devid;
    char name[48];                       /* "vif 5/0" for log lines */
    char be[96], fe[96];
    char ifname[16];
    const char *rundir;
    kxs *xs;
    kc_handle *kc;
    /* configuration (BE keys) */
    uint8_t mac[6];
    uint32_t ips[NB_MAX_IPS];
    unsigned nips;
    uint64_t rate_bytes, rate_usecs;
    uint32_t mtu;
    /* negotiated */
    unsigned nqueues, max_queues;
    int split;
    int fe_sg, fe_gso4, fe_gso6, fe_csum, fe_csum6;
    int persistent_offer;                /* feature-persistent offered (KEEL_NETBACK_PERSISTENT) */
    int persistent;                      /* offered, and the frontend wrote feature-persistent=1 */
    struct nb_tx_limits lim;
    struct nb_rate rate;
    struct nb_queue q[NB_MAX_QUEUES];
    int tap_open;
    /* state */
    int my_state;
    int features_done, connected, closing, fe_closing, terminating, store_lost, exit_now;
    int disabled;
    int be_gone;                         /* BE directory removed: write nothing there */
    int hp_error_logged;
    unsigned rejects;
    struct nb_stats st;
    int stats_fd;
    int stats_dirty;
    uint64_t stats_written_us;
    /* buffers */
    uint8_t *txbuf;                      /* NB_TX_BUF: linear frames of one batch */
    uint8_t *rxbuf;                      /* NB_RX_BATCH * (vnet header + NB_FRAME_MAX) */
    struct nb_pg *pg;                    /* NB_PG_CAP entries (nb_pgrant.c) */
    uint32_t npg;
    struct nb_remus *remus;              /* Remus output commit (nb_remus.c), or NULL */
};

/* nb_dev.c */
int nb_dev_main(const char *rundir, uint32_t domid, uint32_t devid);
int nb_dev_write_state(struct nb_vif *v, int state);
void nb_dev_fail(struct nb_vif *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A frontend error serious enough to disable the vif (Xen's fatal error). */
void nb_dev_disable(struct nb_vif *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t nb_now_us(void);
/* DIR/KEY = VAL in one transaction with a check that DIR exists (-ENOENT if not). */
int nb_write_if_present(kxs *xs, const char *dir, const char *key, const char *val);

/* nb_tap.c */
int nb_tap_open(struct nb_vif *v, unsigned nfds);
int nb_tap_set_queues(struct nb_vif *v, unsigned n);
int nb_tap_offload(struct nb_vif *v);
void nb_tap_close(struct nb_vif *v, int delete_it);

/* nb_ring.c */
int nb_ring_connect(struct nb_vif *v);
void nb_ring_disconnect(struct nb_vif *v);
/* Serve every queue: tx sweep, rx from the tap. Returns the poll timeout wanted (ms, -1). */
int nb_ring_work(struct nb_vif *v);
int nb_ring_rx_room(struct nb_queue *q, const struct nb_vif *v);

/* nb_pgrant.c: copy the segments whose grants are (or can be) mapped persistently; the indices
 * of the others go to rest[] (returns their count) for kc_gnttab_copy. */
uint32_t nb_pg_copy(struct nb_vif *v, struct kc_gnttab_copy_seg *segs, uint32_t nseg,
                    uint32_t *rest);
void nb_pg_clear(struct nb_vif *v);

/* nb_stats.c */
int nb_stats_open(struct nb_vif *v);
void nb_stats_write(struct nb_vif *v, int force);
void nb_stats_path(const char *rundir, uint32_t domid, uint32_t devid, char *buf, size_t len);

#endif
