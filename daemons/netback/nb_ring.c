/* nb_ring.c - keel-netback's data path. Each queue has a tx ring (guest -> tap) and an rx ring
 * (tap -> guest), one page each, and one or two event channels.
 *
 * tx: the unconsumed slots are copied out of the shared page into a snapshot, parsed packet by
 * packet (nb_txparse.c), charged to the `rate` credit, and the data of up to NB_TX_BATCH packets
 * is fetched with ONE kc_gnttab_copy call (a control-socket round trip per sweep, not per
 * packet); each frame is then checked against the anti-spoofing rules and written to the tap
 * with its virtio-net header. Every slot is answered in the same sweep, in order, so the
 * published rsp_prod always lies on a packet boundary (a restarted backend resumes there).
 *
 * rx: frames are read from the tap while the ring has posted requests enough for the largest
 * frame the frontend may get, and copied into the posted pages with one kc_gnttab_copy per batch;
 * each response goes into the slot of its request. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "klog.h"
#include "nb_int.h"
#include "nb_remus.h"

#define NB_PAGE 4096u
#define NB_VNET_LEN ((uint32_t)sizeof(struct nb_vnet_hdr))
#define NB_RX_SLOT (NB_VNET_LEN + NB_FRAME_MAX)

/* ---- connection ---------------------------------------------------------------------- */

/* FE key under `prefix` (queue-N/ or ""): 1 absent (optional), 0 read, < 0 failed (logged). */
static int nb_fe_u64(struct nb_vif *v, const char *prefix, const char *key, uint64_t max,
                     uint64_t *val, int optional)
{
    char p[200];
    int rc;

    snprintf(p, sizeof(p), "%s/%s%s", v->fe, prefix, key);
    rc = kxs_read_u64(v->xs, 0, p, max, val);
    if (rc == -ENOENT && optional)
        return 1;
    if (rc < 0)
        nb_dev_fail(v, "frontend key %s%s: %s", prefix, key,
                    rc == -EINVAL ? "not a number in range" : strerror(-rc));
    return rc;
}

static int nb_fe_flag(struct nb_vif *v, const char *key)
{
    uint64_t x = 0;
    char p[200];

    snprintf(p, sizeof(p), "%s/%s", v->fe, key);
    return kxs_read_u64(v->xs, 0, p, 1, &x) == 0 && x == 1;
}

static int nb_features_read(struct nb_vif *v)
{
    uint64_t n = 1;

    if (!nb_fe_flag(v, "request-rx-copy")) {
        nb_dev_fail(v, "the frontend did not write request-rx-copy=1 (only copying rx is served)");
        return -EINVAL;
    }
    v->fe_sg = nb_fe_flag(v, "feature-sg");
    v->fe_gso4 = nb_fe_flag(v, "feature-gso-tcpv4");
    v->fe_gso6 = nb_fe_flag(v, "feature-gso-tcpv6");
    v->fe_csum = !nb_fe_flag(v, "feature-no-csum-offload");
    v->fe_csum6 = nb_fe_flag(v, "feature-ipv6-csum-offload");
    v->persistent = v->persistent_offer && nb_fe_flag(v, "feature-persistent");
    if (nb_fe_u64(v, "", "multi-queue-num-queues", v->max_queues, &n, 1) < 0)
        return -EINVAL;
    if (n == 0) {
        nb_dev_fail(v, "frontend key multi-queue-num-queues: 0 queues");
        return -EINVAL;
    }
    v->nqueues = (unsigned)n;
    /* the frontend's own GSO is what it sends us; for rx we only use what it negotiated */
    v->lim.gso_v4 = 1;
    v->lim.gso_v6 = 1;
    v->lim.max_frame = v->mtu + 14 + 4;
    return 0;
}

static int nb_queue_connect(struct nb_vif *v, struct nb_queue *q)
{
    char prefix[24] = "";
    uint64_t txref, rxref, ev, evtx, evrx;
    int rc;

    if (v->nqueues > 1)
        snprintf(prefix, sizeof(prefix), "queue-%u/", q->idx);
    if (nb_fe_u64(v, prefix, "tx-ring-ref", UINT32_MAX, &txref, 0) < 0 ||
        nb_fe_u64(v, prefix, "rx-ring-ref", UINT32_MAX, &rxref, 0) < 0)
        return -EINVAL;
    if ((rc = nb_fe_u64(v, prefix, "event-channel-tx", UINT32_MAX, &evtx, 1)) < 0)
        return -EINVAL;
    if (rc == 0) {
        if (nb_fe_u64(v, prefix, "event-channel-rx", UINT32_MAX, &evrx, 0) < 0)
            return -EINVAL;
        v->split = 1;
    } else {
        if (nb_fe_u64(v, prefix, "event-channel", UINT32_MAX, &ev, 0) < 0)
            return -EINVAL;
        evtx = evrx = ev;
    }
    {
        uint32_t r = (uint32_t)txref;
        int16_t st = 0;
        if (!(q->tx_area = kc_gnttab_map(v->kc, v->domid, &r, 1, 1, &st))) {
            nb_dev_fail(v, "queue %u: cannot map the tx ring (ref %u: status %d): %s", q->idx, r,
                        st, kc_error(v->kc));
            return -EINVAL;
        }
        r = (uint32_t)rxref;
        if (!(q->rx_area = kc_gnttab_map(v->kc, v->domid, &r, 1, 1, &st))) {
            nb_dev_fail(v, "queue %u: cannot map the rx ring (ref %u: status %d): %s", q->idx, r,
                        st, kc_error(v->kc));
            return -EINVAL;
        }
    }
    keel_netif_tx_back_init(&q->tx, q->tx_area, NB_PAGE);
    keel_netif_rx_back_init(&q->rx, q->rx_area, NB_PAGE);
    if (kc_evtchn_bind_interdomain(v->kc, v->domid, (uint32_t)evtx, &q->tx_port) < 0) {
        nb_dev_fail(v, "queue %u: cannot bind the event channel %llu: %s", q->idx,
                    (unsigned long long)evtx, kc_error(v->kc));
        return -EINVAL;
    }
    q->tx_evfd = kc_evtchn_fd(v->kc, q->tx_port);
    q->rx_port = q->tx_port;
    q->rx_evfd = -1;
    q->connected = 1;
    if (evrx != evtx) {
        if (kc_evtchn_bind_interdomain(v->kc, v->domid, (uint32_t)evrx, &q->rx_port) < 0) {
            nb_dev_fail(v, "queue %u: cannot bind the rx event channel %llu: %s", q->idx,
                        (unsigned long long)evrx, kc_error(v->kc));
            return -EINVAL;
        }
        q->rx_evfd = kc_evtchn_fd(v->kc, q->rx_port);
    }
    klog_info(v->name, "queue %u: tx ring ref %llu, rx ring ref %llu, event channel%s %llu%s%.0llu; "
              "tx resumes at request %u, rx at %u", q->idx, (unsigned long long)txref,
              (unsigned long long)rxref, evrx != evtx ? "s" : "", (unsigned long long)evtx,
              evrx != evtx ? "/" : "", evrx != evtx ? (unsigned long long)evrx : 0ull,
              q->tx.req_cons, q->rx.req_cons);
    return 0;
}

int nb_ring_connect(struct nb_vif *v)
{
    if (nb_features_read(v) < 0)
        return -EINVAL;
    for (unsigned i = 0; i < v->nqueues; i++)
        if (nb_queue_connect(v, &v->q[i]) < 0) {
            nb_ring_disconnect(v);
            return -EINVAL;
        }
    if (nb_tap_set_queues(v, v->nqueues) < 0 || nb_tap_offload(v) < 0) {
        nb_ring_disconnect(v);
        nb_dev_fail(v, "the tap does not take the negotiated queues or offloads");
        return -EINVAL;
    }
    nb_rate_init(&v->rate, v->rate_bytes, v->rate_usecs, nb_now_us());
    v->connected = 1;
    klog_info(v->name, "connected: %u queue%s, %s event channels, sg %d, gso tcpv4 %d tcpv6 %d, "
              "csum offload %d ipv6 %d, persistent grants %d%s", v->nqueues,
              v->nqueues > 1 ? "s" : "", v->split ? "split" : "shared", v->fe_sg, v->fe_gso4,
              v->fe_gso6, v->fe_csum, v->fe_csum6, v->persistent,
              v->rate_bytes ? ", rate limited" : "");
    return 0;
}

void nb_ring_disconnect(struct nb_vif *v)
{
    nb_pg_clear(v);                      /* the guest may end those grants from now on */
    for (unsigned i = 0; i < NB_MAX_QUEUES; i++) {
        struct nb_queue *q = &v->q[i];
        if (q->tx_area)
            kc_gnttab_unmap(v->kc, q->tx_area, 1);
        if (q->rx_area)
            kc_gnttab_unmap(v->kc, q->rx_area, 1);
        q->tx_area = q->rx_area = NULL;
        if (q->connected) {
            kc_evtchn_close(v->kc, q->tx_port);
            if (q->rx_port != q->tx_port)
                kc_evtchn_close(v->kc, q->rx_port);
        }
        q->connected = 0;
        q->tx_evfd = q->rx_evfd = -1;
        q->tx_port = q->rx_port = 0;
        q->tx_stalled = 0;
        memset(&q->tx, 0, sizeof(q->tx));
        memset(&q->rx, 0, sizeof(q->rx));
    }
    if (v->connected)
        klog_info(v->name, "disconnected (rings unmapped, event channels closed)");
    v->connected = 0;
    v->split = 0;
}

/* ---- tx: guest -> tap ------------------------------------------------------------------ */

struct nb_txp {
    struct nb_tx_pkt p;
    uint32_t off;                        /* of its frame in txbuf */
    keel_ring_idx idx;                   /* ring index of its first slot */
    uint32_t seg0, nseg;                 /* its copy segments */
    int16_t status;
};

__attribute__((format(printf, 4, 5)))
static void nb_reject(struct nb_vif *v, struct nb_queue *q, keel_ring_idx idx, const char *fmt,
                      ...)
{
    char msg[256];
    va_list ap;

    if (++v->rejects > NB_LOG_REJECTS) {
        if (v->rejects == NB_LOG_REJECTS + 1)
            klog_warn(v->name, "more rejected tx requests: no longer logged");
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    klog_warn(v->name, "queue %u: tx request %u rejected: %s", q->idx, idx, msg);
}

/* Answer the slots of one packet (extras get RSP_NULL). */
static void nb_tx_respond(struct nb_queue *q, const struct nb_tx_pkt *p, int16_t status)
{
    for (uint32_t i = 0; i < p->nslots; i++) {
        struct keel_netif_tx_response r;
        r.id = p->id[i];
        r.status = (i >= 1 && i <= p->nextras) ? KEEL_NETIF_RSP_NULL : status;
        memcpy(keel_netif_tx_back_rsp_slot(&q->tx, q->tx.rsp_prod_pvt), &r, sizeof(r));
        q->tx.rsp_prod_pvt++;
    }
}

/* The data is in txbuf: spoofing rules, the virtio-net header, write to the tap. */
static int16_t nb_tx_deliver(struct nb_vif *v, struct nb_queue *q, struct nb_txp *t)
{
    const uint8_t *f = v->txbuf + t->off;
    struct nb_vnet_hdr h;
    struct iovec iov[2];
    int sp = nb_spoof_check(f, t->p.size, v->mac, v->ips, v->nips);
    ssize_t w;

    if (sp != NB_SPOOF_OK) {
        v->st.tx_dropped++;
        if (sp == NB_SPOOF_MAC)
            v->st.tx_spoof_mac++;
        else
            v->st.tx_spoof_ip++;
        return KEEL_NETIF_RSP_DROPPED;
    }
    if (nb_vnet_tx(f, t->p.size, !!(t->p.flags & KEEL_NETTXF_CSUM_BLANK),
                   !!(t->p.flags & KEEL_NETTXF_DATA_VALIDATED), t->p.gso_type, t->p.gso_size,
                   &h) < 0) {
        nb_reject(v, q, t->idx, "checksum offload or GSO asked for a frame that is not TCP/UDP over IP");
        v->st.tx_errors++;
        return KEEL_NETIF_RSP_ERROR;
    }
    iov[0] = (struct iovec){ &h, sizeof(h) };
    iov[1] = (struct iovec){ (void *)f, t->p.size };
    w = v->remus ? nb_remus_hold(v, q, iov, 2) : writev(q->tapfd, iov, 2);   /* Remus */
    if (w != (ssize_t)(sizeof(h) + t->p.size)) {
        v->st.tx_dropped++;              /* the interface is down or its queue full */
        return KEEL_NETIF_RSP_DROPPED;
    }
    v->st.tx_packets++;
    v->st.tx_bytes += t->p.size;
    return KEEL_NETIF_RSP_OKAY;
}

/* Copy a batch of segments: memcpy through the persistent mappings where the frontend allows
 * them (nb_pgrant.c), one kc_gnttab_copy for the rest; every segment gets its status. */
static void nb_copy(struct nb_vif *v, struct kc_gnttab_copy_seg *segs, uint32_t nseg)
{
    static uint32_t rest[NB_TX_BATCH * NB_TX_MAX_FRAGS + NB_RX_BATCH * (NB_TX_MAX_FRAGS + 1)];
    static struct kc_gnttab_copy_seg rs[sizeof(rest) / sizeof(rest[0])];
    uint32_t nr;

    if (!nseg)
        return;
    nr = nb_pg_copy(v, segs, nseg, rest);
    if (!nr)
        return;
    for (uint32_t i = 0; i < nr; i++)
        rs[i] = segs[rest[i]];
    if (kc_gnttab_copy(v->kc, rs, nr, NULL) < 0)
        for (uint32_t i = 0; i < nr; i++)
            rs[i].status = -1;
    for (uint32_t i = 0; i < nr; i++)
        segs[rest[i]].status = rs[i].status;
}

static void nb_tx_flush(struct nb_vif *v, struct nb_queue *q, struct nb_txp *pk, uint32_t n,
                        struct kc_gnttab_copy_seg *segs, uint32_t nseg)
{
    nb_copy(v, segs, nseg);
    for (uint32_t i = 0; i < n; i++) {
        struct nb_txp *t = &pk[i];
        if (t->status == KEEL_NETIF_RSP_OKAY) {
            for (uint32_t s = t->seg0; s < t->seg0 + t->nseg; s++)
                if (segs[s].status != 0) {
                    nb_reject(v, q, t->idx, "grant %u (offset %u, %u bytes) does not copy (status %d)",
                              segs[s].ref, segs[s].offset, segs[s].len, segs[s].status);
                    t->status = KEEL_NETIF_RSP_ERROR;
                    v->st.tx_errors++;
                    break;
                }
            if (t->status == KEEL_NETIF_RSP_OKAY)
                t->status = nb_tx_deliver(v, q, t);
        }
        nb_tx_respond(q, &t->p, t->status);
    }
    if (keel_netif_tx_back_push(&q->tx))
        kc_evtchn_notify(v->kc, q->tx_port);
    v->stats_dirty = 1;
}

/* One batch: parse from req_cons, copy, deliver, answer. 1 if it consumed anything, 0 if
 * there was nothing, 2 if only an incomplete packet is there. */
static int nb_tx_batch(struct nb_vif *v, struct nb_queue *q)
{
    static union keel_netif_tx_slot_req snap[256];
    static struct nb_txp pk[NB_TX_BATCH];
    static struct kc_gnttab_copy_seg segs[NB_TX_BATCH * NB_TX_MAX_FRAGS];
    uint32_t avail, room, pos = 0, n = 0, nseg = 0, off = 0;
    int bad, incomplete = 0;
    char err[160];

    avail = keel_netif_tx_back_unconsumed(&q->tx, &bad);
    if (bad) {
        nb_dev_disable(v, "queue %u: tx ring indices broken (req_prod %u, rsp_prod %u)", q->idx,
                       q->tx.s->hdr.req_prod, q->tx.rsp_prod_pvt);
        return 0;
    }
    if (avail == 0)
        return 0;
    if (avail > 256)
        avail = 256;
    for (uint32_t i = 0; i < avail; i++)
        memcpy(&snap[i], &q->tx.s->ring[(q->tx.req_cons + i) & (q->tx.size - 1)].req,
               sizeof(snap[i]));
    keel_rmb();
    room = q->tx.size - (q->tx.req_cons + avail - q->tx.rsp_prod_pvt);
    while (pos < avail && n < NB_TX_BATCH) {
        struct nb_txp *t = &pk[n];
        int rc = nb_tx_parse(snap + pos, avail - pos, room, &v->lim, &t->p, err, sizeof(err));
        if (rc == NB_TX_INCOMPLETE) {
            incomplete = 1;              /* the rest of the packet is not published yet */
            break;
        }
        t->off = off;
        t->idx = q->tx.req_cons + pos;
        t->seg0 = nseg;
        t->nseg = 0;
        t->status = KEEL_NETIF_RSP_OKAY;
        if (rc < 0) {
            nb_reject(v, q, t->idx, "%s", err);
            t->status = KEEL_NETIF_RSP_ERROR;
            v->st.tx_errors++;
            v->st.tx_fatal += t->p.fatal;
        } else {
            if (off + t->p.size > NB_TX_BUF)
                break;                   /* the buffer is full: the next batch takes it */
            if (!nb_rate_take(&v->rate, nb_now_us(), t->p.size)) {
                q->tx_stalled = 1;
                break;
            }
            for (uint32_t f = 0; f < t->p.nfrags; f++) {
                segs[nseg++] = (struct kc_gnttab_copy_seg){
                    .domid = v->domid, .ref = t->p.frag[f].gref, .offset = t->p.frag[f].offset,
                    .len = t->p.frag[f].len, .to_guest = 0, .local = v->txbuf + off };
                off += t->p.frag[f].len;
                t->nseg++;
            }
        }
        pos += t->p.nslots;
        n++;
    }
    if (!n) {
        if (incomplete) {                /* an event when the frontend publishes more */
            q->tx.s->hdr.req_event = q->tx.req_cons + avail + 1;
            keel_mb();
            return keel_netif_tx_back_unconsumed(&q->tx, &bad) > avail ? 1 : 2;
        }
        return 0;
    }
    q->tx.req_cons += pos;
    nb_tx_flush(v, q, pk, n, segs, nseg);
    if (v->st.tx_fatal > NB_FATAL_MAX || v->st.tx_errors > NB_ERROR_MAX)
        nb_dev_disable(v, "%llu malformed tx requests (%llu fatal)",
                       (unsigned long long)v->st.tx_errors, (unsigned long long)v->st.tx_fatal);
    return 1;
}

/* Sweep the tx ring; 1 when it stopped with requests left (the round limit: the caller must
 * come back without sleeping, since no event was asked for), else 0. */
static int nb_tx(struct nb_vif *v, struct nb_queue *q)
{
    if (q->tx_stalled) {
        if (nb_now_us() < v->rate.next_us)
            return 0;
        q->tx_stalled = 0;
    }
    for (int rounds = 0; rounds < 64 && !v->disabled && !q->tx_stalled; rounds++) {
        int rc = nb_tx_batch(v, q);
        if (rc == 2 || (rc == 0 && !keel_netif_tx_back_final_check(&q->tx)))
            return 0;
    }
    return !v->disabled && !q->tx_stalled;
}

/* ---- rx: tap -> guest ------------------------------------------------------------------ */

/* Slots the largest frame may need: data pages plus a GSO extra. */
static uint32_t nb_rx_worst(const struct nb_vif *v)
{
    if (!v->fe_sg)
        return 1;
    if (v->fe_gso4 || v->fe_gso6)
        return (65535u + 14 + NB_PAGE - 1) / NB_PAGE + 1;
    return (v->mtu + 18 + NB_PAGE - 1) / NB_PAGE;
}

int nb_ring_rx_room(struct nb_queue *q, const struct nb_vif *v)
{
    int bad;

    if (!q->connected)
        return 0;
    return keel_netif_rx_back_unconsumed(&q->rx, &bad) >= nb_rx_worst(v) || bad;
}

struct nb_rxf {
    uint8_t *data;
    uint32_t len;
    keel_ring_idx first;                 /* its first slot */
    uint32_t nslots, seg0, nseg;
    uint16_t flags;
    uint8_t gso_type;
    uint16_t gso_size;
};

/* The frame's checksum state for the frontend: its flags, or -1 to drop it. */
static int nb_rx_csum(struct nb_vif *v, struct nb_vnet_hdr *h, uint8_t *f, uint32_t len)
{
    int v6 = len >= 14 && f[12] == 0x86 && f[13] == 0xdd;

    if (h->flags & NB_VNET_NEEDS_CSUM) {
        if (v6 ? v->fe_csum6 : v->fe_csum)
            return KEEL_NETRXF_CSUM_BLANK | KEEL_NETRXF_DATA_VALIDATED;
        if (h->gso_type || nb_csum_finish(f, len, h->csum_start, h->csum_offset) < 0)
            return -1;
        return KEEL_NETRXF_DATA_VALIDATED;
    }
    return (h->flags & NB_VNET_DATA_VALID) ? KEEL_NETRXF_DATA_VALIDATED : 0;
}

/* Take the rx requests for one frame and build its copy segments. */
static void nb_rx_place(struct nb_vif *v, struct nb_queue *q, struct nb_rxf *r,
                        struct kc_gnttab_copy_seg *segs, uint32_t *nseg)
{
    uint32_t done = 0;

    r->first = q->rx.req_cons;
    r->seg0 = *nseg;
    r->nseg = 0;
    r->nslots = 0;
    while (done < r->len || r->nslots == 0) {
        struct keel_netif_rx_request req;
        uint32_t chunk = r->len - done < NB_PAGE ? r->len - done : NB_PAGE;
        memcpy(&req, &q->rx.s->ring[q->rx.req_cons & (q->rx.size - 1)].req, sizeof(req));
        q->rx.req_cons++;
        r->nslots++;
        segs[*nseg] = (struct kc_gnttab_copy_seg){ .domid = v->domid, .ref = req.gref,
                                                   .offset = 0, .len = (uint16_t)chunk,
                                                   .to_guest = 1, .local = r->data + done };
        (*nseg)++;
        r->nseg++;
        done += chunk;
        if (r->nslots == 1 && r->gso_type) {     /* the GSO extra takes the next slot */
            q->rx.req_cons++;
            r->nslots++;
        }
    }
}

/* Write the responses of one frame into the slots of its requests. */
static void nb_rx_respond(struct nb_vif *v, struct nb_queue *q, struct nb_rxf *r,
                          const struct kc_gnttab_copy_seg *segs)
{
    int failed = 0;
    uint32_t s = r->seg0;

    for (uint32_t i = 0; i < r->nseg; i++)
        failed |= segs[r->seg0 + i].status != 0;
    if (failed)
        v->st.rx_errors++;
    else {
        v->st.rx_packets++;
        v->st.rx_bytes += r->len;
    }
    for (uint32_t i = 0; i < r->nslots; i++) {
        keel_ring_idx idx = r->first + i;
        struct keel_netif_rx_request req;
        memcpy(&req, &q->rx.s->ring[idx & (q->rx.size - 1)].req, sizeof(req));
        if (i == 1 && r->gso_type) {
            struct keel_netif_extra_info x;
            memset(&x, 0, sizeof(x));
            x.type = KEEL_NETIF_EXTRA_TYPE_GSO;
            x.u.gso.size = r->gso_size;
            x.u.gso.type = r->gso_type;
            memcpy(&q->rx.s->ring[idx & (q->rx.size - 1)], &x, sizeof(x));
            continue;
        }
        {
            struct keel_netif_rx_response rsp;
            int last = s == r->seg0 + r->nseg - 1;
            rsp.id = req.id;
            rsp.offset = 0;
            rsp.flags = (uint16_t)((i == 0 ? r->flags : 0) | (last ? 0 : KEEL_NETRXF_MORE_DATA) |
                                   (i == 0 && r->gso_type ? KEEL_NETRXF_EXTRA_INFO : 0));
            rsp.status = failed ? KEEL_NETIF_RSP_ERROR : (int16_t)segs[s].len;
            memcpy(&q->rx.s->ring[idx & (q->rx.size - 1)].rsp, &rsp, sizeof(rsp));
            s++;
        }
    }
    q->rx.rsp_prod_pvt = r->first + r->nslots;
}

/* Read frames off the tap while the ring has room; one grant copy for the batch. */
static int nb_rx_batch(struct nb_vif *v, struct nb_queue *q)
{
    static struct nb_rxf fr[NB_RX_BATCH];
    static struct kc_gnttab_copy_seg segs[NB_RX_BATCH * (NB_TX_MAX_FRAGS + 1)];
    uint32_t n = 0, nseg = 0, worst = nb_rx_worst(v);
    int bad;

    while (n < NB_RX_BATCH) {
        uint8_t *buf = v->rxbuf + (size_t)n * NB_RX_SLOT;
        struct nb_vnet_hdr h;
        struct nb_rxf *r = &fr[n];
        ssize_t got;
        int flags;
        if (keel_netif_rx_back_unconsumed(&q->rx, &bad) < worst || bad)
            break;
        got = read(q->tapfd, buf, NB_RX_SLOT);
        if (got < (ssize_t)(NB_VNET_LEN + 14))
            break;                       /* EAGAIN (or a runt the kernel would not send) */
        memcpy(&h, buf, sizeof(h));
        r->data = buf + NB_VNET_LEN;
        r->len = (uint32_t)got - NB_VNET_LEN;
        r->gso_type = h.gso_type == NB_VNET_GSO_TCPV4 && v->fe_gso4 ? KEEL_NETIF_GSO_TYPE_TCPV4
                      : h.gso_type == NB_VNET_GSO_TCPV6 && v->fe_gso6 ? KEEL_NETIF_GSO_TYPE_TCPV6
                      : 0;
        r->gso_size = h.gso_size;
        flags = nb_rx_csum(v, &h, r->data, r->len);
        if (flags < 0 || (h.gso_type && !r->gso_type) || (!v->fe_sg && r->len > NB_PAGE) ||
            (!r->gso_type && r->len > v->mtu + 18u && !(h.gso_type))) {
            v->st.rx_dropped++;          /* nothing this frontend can take */
            continue;
        }
        r->flags = (uint16_t)flags;
        nb_rx_place(v, q, r, segs, &nseg);
        n++;
    }
    if (bad) {
        nb_dev_disable(v, "queue %u: rx ring indices broken (req_prod %u, rsp_prod %u)", q->idx,
                       q->rx.s->hdr.req_prod, q->rx.rsp_prod_pvt);
        return 0;
    }
    if (!n)
        return 0;
    nb_copy(v, segs, nseg);
    for (uint32_t i = 0; i < n; i++)
        nb_rx_respond(v, q, &fr[i], segs);
    if (keel_netif_rx_back_push(&q->rx))
        kc_evtchn_notify(v->kc, q->rx_port);
    v->stats_dirty = 1;
    return n == NB_RX_BATCH;
}

static void nb_rx(struct nb_vif *v, struct nb_queue *q)
{
    uint32_t worst = nb_rx_worst(v);
    int bad;

    for (int rounds = 0; rounds < 16 && !v->disabled; rounds++)
        if (!nb_rx_batch(v, q))
            break;
    /* no room for the largest frame: ask for an event once the frontend posted enough */
    if (!v->disabled && keel_netif_rx_back_unconsumed(&q->rx, &bad) < worst) {
        q->rx.s->hdr.req_event = q->rx.req_cons + worst;
        keel_mb();
    }
}

int nb_ring_work(struct nb_vif *v)
{
    int timeout = -1;

    if (!v->connected)
        return -1;
    for (unsigned i = 0; i < v->nqueues && v->connected && !v->disabled; i++) {
        if (nb_tx(v, &v->q[i]))
            timeout = 0;                 /* more requests and no event asked for them */
        if (!v->disabled)
            nb_rx(v, &v->q[i]);
        if (v->q[i].tx_stalled) {
            uint64_t now = nb_now_us();
            int ms = v->rate.next_us > now ? (int)((v->rate.next_us - now + 999) / 1000) : 0;
            if (timeout < 0 || ms < timeout)
                timeout = ms;
        }
    }
    return timeout;
}
