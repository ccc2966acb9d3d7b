/* keel_guest.h - the freestanding runtime of Keel's in-tree PV guests: hypercalls, console,
 * boot information (flattened device tree), event channels with an upcall handler, time and
 * timers, secondary vCPUs, shutdown. The reference user of the guest ABI (keel/abi.h). */
#ifndef KEEL_GUEST_H
#define KEEL_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/abi.h"

/* Everything is linked statically at a fixed address: no symbol is preemptible. */
#pragma GCC visibility push(hidden)

#define RT_MAX_VCPUS KEEL_MAX_VCPUS

static inline long hypercall(long op, long cmd, const void *arg)
{
    long (*entry)(long, long, const void *) = (long (*)(long, long, const void *))KEEL_HYPERCALL_ENTRY;
    return entry(op, cmd, arg);
}

static inline long hypercall_val(long op, long cmd, uint64_t val)
{
    long (*entry)(long, long, uint64_t) = (long (*)(long, long, uint64_t))KEEL_HYPERCALL_ENTRY;
    return entry(op, cmd, val);
}

#define SHARED_INFO ((volatile struct keel_shared_info *)KEEL_SHARED_BASE)

/* Boot information */
struct rt_boot {
    const char *cmdline;
    uint64_t mem_bytes;
    uint32_t domid;
    uint32_t nr_vcpus;
};
extern struct rt_boot rt_boot;
/* Value of "key=value" in the command line, or NULL. */
const char *rt_arg(const char *key);
uint64_t rt_arg_u64(const char *key, uint64_t deflt);

/* Console */
void rt_write(const char *s, size_t len);
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Per-vCPU data, reached through the gs base */
struct rt_percpu {
    struct rt_percpu *self;
    uint32_t vcpu;
    volatile struct keel_vcpu_info *vi;
};
static inline struct rt_percpu *rt_this_cpu(void)
{
    struct rt_percpu *p;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(p));
    return p;
}
static inline uint32_t rt_vcpu_id(void) { return rt_this_cpu()->vcpu; }

/* Time */
uint64_t rt_now(void);                   /* system time, ns */
uint64_t rt_wallclock_sec(void);
void rt_set_timer(uint64_t deadline_ns); /* single-shot, VIRQ_TIMER */
int rt_set_periodic(uint64_t period_ns);
void rt_sleep_until(uint64_t deadline_ns);

/* Events */
typedef void (*rt_event_fn)(uint32_t port, void *data);
int rt_bind_virq(uint32_t virq, uint32_t vcpu, rt_event_fn fn, void *data);
int rt_bind_interdomain(uint32_t rdom, uint32_t rport, rt_event_fn fn, void *data);
int rt_alloc_unbound(uint32_t rdom, rt_event_fn fn, void *data);
int rt_bind_ipi(uint32_t vcpu, rt_event_fn fn, void *data);
void rt_set_handler(uint32_t port, rt_event_fn fn, void *data);
int rt_notify(uint32_t port);
void rt_enable_events(void);             /* unmask this vCPU and take pending events */
/* Sleeping on a condition an event handler changes: take seen = rt_events_seen() BEFORE
 * looking at the condition, then rt_block_since(seen): it returns at once if an event was taken
 * since (an upcall between the look and the block would otherwise leave the vCPU asleep with
 * its wake-up spent). rt_block() is rt_block_since(now): only for a caller that masked events
 * (upcall_mask = 1) before its look, or that waits for no condition. Both unmask. */
uint64_t rt_events_seen(void);
void rt_block_since(uint64_t seen);
void rt_block(void);

/* vCPUs */
int rt_vcpu_start(uint32_t vcpu, void (*fn)(uint32_t vcpu));
void rt_cpu_relax(void);

/* The end */
void rt_shutdown(uint32_t reason) __attribute__((noreturn));
void rt_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Strings and memory */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
int strcmp(const char *a, const char *b);

/* Provided by each guest */
int main(void);

/* Rings set up by the toolstack (rt_xs.c): the store and console ring frame and port from the
 * device tree (which = "store" or "console"); 0, -2 (none) or -19 (no device tree). */
int rt_ring_info(const char *which, uint64_t *gfn, uint32_t *port);

/* Xenstore client over the store ring (rt_xs.c). 0 / length / negative errno (-13 EACCES,
 * -2 ENOENT, ...). Paths are absolute or relative to /local/domain/<domid>. One caller at a
 * time (not for concurrent use from several vCPUs); no transactions. */
int rt_xs_init(void);
int rt_xs_read(const char *path, char *buf, size_t size);     /* value length */
int rt_xs_write(const char *path, const char *value);
int rt_xs_rm(const char *path);
int rt_xs_directory(const char *path, char *buf, size_t size); /* NUL-separated names */
int rt_xs_watch(const char *path, const char *token);
int rt_xs_unwatch(const char *path, const char *token);
/* Next watch event (queued or arriving before deadline ns): 0, or -110 on timeout. */
int rt_xs_wait_watch(char *path, size_t psize, char *token, size_t tsize, uint64_t deadline);

/* PV console on the console ring (rt_cons.c). rt_cons_init: 0, or negative without a ring
 * (output then goes through console_io). rt_cons_read takes what input is there (no wait);
 * rt_cons_getline waits for a line (deadline ns, 0 = none; -110 on timeout). */
int rt_cons_init(void);
int rt_cons_present(void);
void rt_cons_write(const char *s, size_t len);
int rt_cons_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_cons_read(char *buf, size_t size);
int rt_cons_getline(char *buf, size_t size, uint64_t deadline);

/* Guest memory pages (rt_mem.c): whole pages above the image and boot data, never freed back
 * below the top; rt_page_free returns pages for reuse. Addresses are guest virtual addresses;
 * rt_virt_to_gfn/rt_gfn_to_virt convert to and from guest frame numbers. */
void *rt_page_alloc(uint32_t npages);    /* zeroed, page-aligned; NULL when memory runs out */
void rt_page_free(void *p, uint32_t npages);
uint64_t rt_virt_to_gfn(const void *p);
void *rt_gfn_to_virt(uint64_t gfn);

/* Grant table (rt_gnttab.c): the domain's own table in pages it allocates and registers with
 * GNTTABOP_setup_table. Entries 0-7 are reserved, as in Xen. rt_gnttab_grant returns a
 * reference (>= 8) giving `domid` access to frame `gfn`, or a negative errno (-28 ENOSPC when
 * the table is full). rt_gnttab_end revokes: 0, or -16 (EBUSY) while the grantee still has it
 * mapped (the entry stays valid; try again later). */
int rt_gnttab_init(uint32_t nr_frames);
int rt_gnttab_grant(uint32_t domid, uint64_t gfn, int readonly);
int rt_gnttab_end(uint32_t ref);
int rt_gnttab_in_use(uint32_t ref);
/* After a resume (restore/migration): register the table again; every entry stays as it was. */
int rt_gnttab_resume(void);

/* Frontend side of xenbus (rt_xenbus.c). A device is device/<type>/<devid> under the home; its
 * backend directory comes from the frontend's `backend` key (checked to be a backend directory
 * of `backend-id`). side = RT_XB_FRONTEND or RT_XB_BACKEND; writes go to the frontend only.
 * Values longer than the buffer are -34 (ERANGE), never truncated. */
#define RT_XB_FRONTEND 0
#define RT_XB_BACKEND 1
#define RT_XB_PATH_MAX 128
struct rt_xb_dev {
    char fe[48];                         /* device/<type>/<devid> (relative to the home) */
    char be[RT_XB_PATH_MAX];             /* /local/domain/<be_id>/backend/<kind>/<domid>/<devid> */
    char token[32];                      /* of the watch on the backend's state */
    uint32_t devid, be_id;
    int watching;
};
int rt_xb_parse_u64(const char *s, uint64_t *val);             /* decimal, whole string */
int rt_xb_open(struct rt_xb_dev *d, const char *type, uint32_t devid);  /* devid 0: the first */
int rt_xb_read(const struct rt_xb_dev *d, int side, const char *key, char *buf, size_t size);
int rt_xb_read_u64(const struct rt_xb_dev *d, int side, const char *key, uint64_t *val);
uint64_t rt_xb_read_u64_or(const struct rt_xb_dev *d, int side, const char *key, uint64_t dflt);
int rt_xb_write(const struct rt_xb_dev *d, const char *key, const char *value);
int rt_xb_printf(const struct rt_xb_dev *d, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rt_xb_rm(const struct rt_xb_dev *d, const char *key);
int rt_xb_state(const struct rt_xb_dev *d, int side);           /* 0..8 or negative errno */
int rt_xb_switch(const struct rt_xb_dev *d, int state);         /* the frontend's state */
int rt_xb_watch_backend(struct rt_xb_dev *d);
/* Read the backend path from the frontend dir again (a restored guest's new domid): 0 changed,
 * 1 unchanged, negative errno. */
int rt_xb_rebind(struct rt_xb_dev *d);
void rt_xb_unwatch_backend(struct rt_xb_dev *d);
/* Wait until the backend's state is one of mask (bit 1<<state): the state, or -110 at deadline
 * (ns). Watches the backend's state; looks again every second in case the store restarted. */
int rt_xb_wait_state(struct rt_xb_dev *d, uint32_t mask, uint64_t deadline);
/* Without waiting: did any watch event arrive? (Drains the store client's event queue.) */
int rt_xb_event_pending(void);

/* PV block frontend (rt_blkfront.c), following the device contract: negotiation through
 * rt_xenbus, a ring of 2^order pages granted to the backend domain, requests in flight up to
 * the ring size, INDIRECT requests for large I/O when the backend offers them. Data buffers are
 * 512-byte aligned; each page they touch is granted for the request (read-only for writes,
 * writable for reads) and revoked before the request completes. Responses are taken in
 * rt_blk_poll/rt_blk_wait (the event handler only counts: callbacks never run in the upcall).
 * Errors: -5 EIO (backend error or a bad response), -95 EOPNOTSUPP, -19 ENODEV (device closed),
 * -11 EAGAIN (ring or grant table full: wait for a completion), -22 EINVAL. */
#define RT_BLK_READ 0
#define RT_BLK_WRITE 1
#define RT_BLK_BARRIER 2                 /* a write barrier without data */
#define RT_BLK_FLUSH 3                   /* flush the disk cache (barrier if only that is offered) */
#define RT_BLK_DISCARD 5
#define RT_BLK_SECURE_DISCARD 6
#define RT_BLK_RAW 7                     /* hostile tests: `raw` is copied into the slot as is */
struct rt_blk;
struct rt_blk_req {
    int op;
    uint64_t sector;                     /* 512-byte units */
    uint64_t nsectors;
    void *buf;
    void (*done)(struct rt_blk *b, struct rt_blk_req *r);  /* may be NULL; may submit again */
    void *data;
    const void *raw;                     /* RT_BLK_RAW: a 112-byte ring request (id replaced) */
    int status;                          /* out: 0 or negative errno */
    int rsp_status;                      /* out: the blkif status the backend sent */
    int rsp_op;                          /* out: the operation the response named */
    volatile int busy;                   /* 1 from submit until completion */
};
struct rt_blk_info {
    uint32_t devid, backend_id;
    uint64_t sectors;                    /* 512-byte units */
    uint32_t sector_size, physical_sector_size, vdisk_info;
    uint32_t ring_order, ring_slots;     /* chosen ring size */
    uint32_t max_segs;                   /* per request (11, or more with INDIRECT) */
    uint32_t indirect_segs;              /* the backend's feature-max-indirect-segments */
    int flush, barrier, discard, discard_secure;
    uint32_t discard_granularity, discard_alignment;
    char backend[RT_XB_PATH_MAX];
    int persistent;                      /* feature-persistent negotiated (data copied via a pool) */
};
struct rt_blk_opts {
    uint32_t max_ring_order;             /* 0xff = as much as the backend offers (up to 4) */
    uint32_t max_segs;                   /* 0 = 256 (1 MiB requests with INDIRECT) */
    int no_indirect;
    int no_persistent;                   /* per-request grants even if feature-persistent is offered */
};
/* devid 0: the first vbd. NULL opts: defaults. Returns NULL with *err set on failure. */
struct rt_blk *rt_blk_open(uint32_t devid, const struct rt_blk_opts *opts, int *err);
const struct rt_blk_info *rt_blk_get_info(const struct rt_blk *b);
int rt_blk_submit(struct rt_blk *b, struct rt_blk_req *r);
int rt_blk_poll(struct rt_blk *b);                 /* completions taken now (callbacks run) */
int rt_blk_wait(struct rt_blk *b, uint64_t deadline); /* >0 completions, 0 idle, -110 */
uint32_t rt_blk_inflight(const struct rt_blk *b);
int rt_blk_connected(const struct rt_blk *b);
/* Synchronous: split into requests as large as the device takes, up to 16 in flight. */
int rt_blk_read(struct rt_blk *b, uint64_t sector, uint64_t nsectors, void *buf);
int rt_blk_write(struct rt_blk *b, uint64_t sector, uint64_t nsectors, const void *buf);
int rt_blk_flush(struct rt_blk *b);
int rt_blk_discard(struct rt_blk *b, uint64_t sector, uint64_t nsectors, int secure);
/* Frontend-initiated close (Closing, then Closed after the backend follows). */
int rt_blk_close(struct rt_blk *b);
/* Hostile tests only: the ring itself, and the event channel to kick the backend. */
struct keel_blkif_front;
struct keel_blkif_front *rt_blk_ring(struct rt_blk *b);
uint32_t rt_blk_port(const struct rt_blk *b);

/* PV network frontend (rt_netfront.c), following docs/device-net.md: one queue, a tx and an
 * rx ring page granted to the backend domain, one event channel or split tx/rx ones when the
 * backend offers them; negotiated: request-rx-copy=1, feature-rx-notify=1, feature-sg=1 (when
 * offered: packets of several slots both ways), feature-no-csum-offload=1 (full checksums on
 * rx; a CSUM_BLANK packet is still passed on with its flag); no GSO, no multi-queue. A fixed
 * pool of rx pages (granted writable once, reposted with the same grant) and of tx pages
 * (granted read-only once, one per fragment, freed by its response). rt_nf_open waits (opts
 * timeout_ms, default 30 s) for the backend's InitWait, publishes, goes Connected and waits for
 * the backend's Connected. rt_nf_poll takes tx responses and backend state changes: each
 * time the backend's state reads Connected (first connect, backend restart, restore,
 * migration) rt_nf_announce moves, so the owner sends a gratuitous ARP; the backend's
 * Closing/Closed closes the device (frontend Closed, grants revoked). rt_nf_rx hands up to
 * `budget` packets to fn (frame valid during the call; flags = KEEL_NETRXF_*); rt_nf_recv copies
 * one. Tx: rt_nf_tx_buf gives a pool page (4096 bytes) to build a frame in, rt_nf_tx_send sends
 * it (len 0 gives it back unsent); rt_nf_send copies a frame of up to 65535 bytes into as many
 * pages as it needs. Errors: -11 EAGAIN (no free tx page: poll or wait), -19 ENODEV (closed),
 * -90 EMSGSIZE. rt_nf_wait blocks until an rx packet (or, want_tx, a tx response), a store
 * event or the deadline (ns, 0 none). */
struct rt_nf;
struct rt_nf_opts {
    uint32_t timeout_ms;                 /* for the backend to appear and connect; 0 = 30 s */
    uint32_t rx_bufs, tx_bufs;           /* pool sizes; 0 = the ring's 256 each */
    int no_split;                        /* one event channel even if split ones are offered */
    int no_gso;                          /* no TCP segmentation offload either way */
};
struct rt_nf_info {
    uint32_t devid, backend_id, mtu;
    uint8_t mac[6];
    int split, sg, gso;                  /* gso: we may send TCPv4 GSO packets */
    uint32_t tx_port, rx_port;
    char backend[RT_XB_PATH_MAX];
};
struct rt_nf_stats {
    uint64_t rx_packets, rx_bytes, rx_errors, rx_dropped;
    uint64_t tx_packets, tx_bytes, tx_errors, tx_dropped, tx_full, bad_responses;
    uint64_t tx_notify, rx_notify, kicks;      /* notifications sent, events received */
    uint64_t tx_gso;                           /* of tx_packets: sent for segmentation offload */
};
typedef void (*rt_nf_rx_fn)(void *ctx, const uint8_t *frame, size_t len, unsigned flags);
struct rt_nf *rt_nf_open(uint32_t devid, const struct rt_nf_opts *opts, int *err); /* devid 0: first */
int rt_nf_poll(struct rt_nf *nf);        /* 0 connected, -11 closing, -19 closed */
int rt_nf_rx(struct rt_nf *nf, rt_nf_rx_fn fn, void *ctx, int budget);   /* packets handed over */
int rt_nf_recv(struct rt_nf *nf, void *buf, size_t size);                /* bytes, 0 none */
uint8_t *rt_nf_tx_buf(struct rt_nf *nf);
int rt_nf_tx_send(struct rt_nf *nf, uint8_t *buf, size_t len);
/* TCPv4 segmentation offload (info.gso): one of 8 GSO buffers of 64 KiB (granted pages, sent
 * without a copy; busy until the backend answered), or NULL (not negotiated, all busy, or the
 * ring too full for the largest packet); send len bytes of it (a TCPv4 frame whose TCP checksum
 * field holds the pseudo-header sum) to be cut into mss-byte segments; len 0 gives it back. */
uint8_t *rt_nf_gso_buf(struct rt_nf *nf);
int rt_nf_gso_send(struct rt_nf *nf, uint8_t *buf, size_t len, uint16_t mss);
int rt_nf_send(struct rt_nf *nf, const void *frame, size_t len);
void rt_nf_wait(struct rt_nf *nf, uint64_t deadline, int want_tx);
uint32_t rt_nf_announce(const struct rt_nf *nf);
int rt_nf_connected(const struct rt_nf *nf);
const struct rt_nf_info *rt_nf_get_info(const struct rt_nf *nf);
const struct rt_nf_stats *rt_nf_get_stats(const struct rt_nf *nf);
int rt_nf_backend_read(const struct rt_nf *nf, const char *key, char *buf, size_t size);
int rt_nf_close(struct rt_nf *nf);       /* frontend-initiated: Closing, Closed, revoke */

/* The IPv4 stack (rt_net.h) on a netfront (rt_netif.c). rt_nif_open opens the vif and takes
 * the address from the command line (ip=A.B.C.D/len, gw=A.B.C.D), else the first address of
 * the backend's `ip` key (as /24), else none (the stack then answers nothing). rt_nif_poll
 * runs netfront's poll, sends the gratuitous ARP when rt_nf_announce moved, feeds up to 64
 * received frames to the stack and runs its timers: frames taken, or -19 when the vif closed.
 * rt_nif_wait sleeps until traffic, a store event, the next TCP timer or the deadline. */
#include "rt_net.h"
struct rt_nif {
    struct rt_nf *nf;
    struct rt_net net;
    uint32_t announced;
    uint64_t garps;
};
int rt_nif_open(struct rt_nif *s, uint32_t devid, const struct rt_nf_opts *opts);
int rt_nif_poll(struct rt_nif *s);
void rt_nif_wait(struct rt_nif *s, uint64_t deadline);
/* "a.b.c.d" of a host-order address into buf (at least 16 bytes). */
const char *rt_nif_ntoa(uint32_t ip, char *buf);

/* vTPM frontend (rt_tpmfront.c), tpmif v2 of docs/device-vtpm.md: one page granted to the
 * backend domain, an unbound event channel, feature-protocol-v2=1; open waits (30 s) for the
 * backend's InitWait with feature-protocol-v2=1, then for Connected with ready=1. rt_tpm_cmd
 * sends one TPM command (10 bytes at least, at most rt_tpm_max_cmd) at a locality and waits
 * for the response: its length, or -110 ETIMEDOUT after timeout_ns (0: no limit; the command
 * is cancelled), -90 EMSGSIZE, -71 EPROTO (a response that does not fit the page or rsp_size,
 * or a state other than FINISH), -19 ENODEV (not connected), -16 EBUSY (a cancelled command
 * the backend still holds). One caller at a time. */
struct rt_tpm;
struct keel_tpmif_shared_page;
struct rt_tpm *rt_tpm_open(uint32_t devid, int *err);    /* devid 0: the first vtpm */
int rt_tpm_cmd(struct rt_tpm *t, uint8_t locality, const void *cmd, uint32_t len, void *rsp,
               uint32_t rsp_size, uint64_t timeout_ns);
uint32_t rt_tpm_max_cmd(const struct rt_tpm *t);
int rt_tpm_connected(const struct rt_tpm *t);
uint64_t rt_tpm_cancels(const struct rt_tpm *t);
int rt_tpm_close(struct rt_tpm *t);
/* Hostile tests only: the shared page and the event channel. */
volatile struct keel_tpmif_shared_page *rt_tpm_page(struct rt_tpm *t);
uint32_t rt_tpm_port(const struct rt_tpm *t);

/* SHA-256 (rt_sha256.c, FIPS 180-4). */
struct rt_sha256 {
    uint32_t h[8];
    uint64_t len;                        /* bytes so far */
    uint8_t buf[64];
    uint32_t fill;
};
void rt_sha256_init(struct rt_sha256 *c);
void rt_sha256_update(struct rt_sha256 *c, const void *data, size_t len);
void rt_sha256_final(struct rt_sha256 *c, uint8_t out[32]);
void rt_sha256(const void *data, size_t len, uint8_t out[32]);

#pragma GCC visibility pop
#endif
