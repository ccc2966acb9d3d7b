/* rt_netfront.c - the PV network frontend of the guest runtime (netif, include/keel/io/netif.h;
 * the store contract in docs/device-net.md). Open: find device/vif/<devid>, read our MAC (FE
 * `mac`), wait for the backend's InitWait, read its features (feature-rx-copy is required;
 * feature-split-event-channels and feature-sg are used when offered), grant one tx and one rx
 * ring page to the backend domain, allocate one event channel (or one each for tx and rx),
 * post every rx buffer, write tx-ring-ref, rx-ring-ref, event-channel(-tx/-rx),
 * request-rx-copy=1, feature-rx-notify=1, feature-sg=1, feature-no-csum-offload=1 (full
 * checksums on rx), feature-persistent=1 (the pools below stay granted: the backend may keep
 * them mapped until it disconnects), and go Connected (4) directly, then wait for the backend's Connected.
 * With sg (and unless opts.no_gso), TCPv4 segmentation offload both ways: we write
 * feature-gso-tcpv4=1 and feature-no-csum-offload=0 (the backend may hand us packets of up to
 * 64 KiB with a GSO extra slot and partial checksums, flagged CSUM_BLANK), and when the backend
 * offers feature-gso-tcpv4, rt_nf_gso_buf/rt_nf_gso_send send such packets: first slot
 * CSUM_BLANK|DATA_VALIDATED|EXTRA_INFO, then the GSO extra slot (segment size), then the data.
 * Not negotiated: multi-queue, the control ring, multicast control.
 * Buffers: a fixed pool of rx pages, each granted writable once, reposted with the same grant
 * after its data was taken (the backend copies into them, and may cache mappings); a fixed pool
 * of tx pages granted read-only once, one page per fragment, freed by the tx response whose id
 * names it. A packet up to 64 KiB takes up to 17 fragments (feature-sg); rx packets of several
 * slots are gathered into one 64 KiB buffer, single-slot ones are handed over in place.
 * Everything the backend writes is copied out of its slot once and checked: producer indices
 * against what was requested, ids against what is in flight, offset + size within the page;
 * a backend breaking the ring's indices is treated as closing.
 * State: the backend's `state` is watched; each time it reads Connected the announce counter
 * moves (first connect, and a backend that connected again after a restart, restore or
 * migration: the owner sends a gratuitous ARP); Closing/Closed starts the close handshake
 * (frontend Closed, then the grants are revoked, retried while the backend still maps one).
 * The event handler only counts; all work runs from rt_nf_* calls on one vCPU. */
#include "keel_guest.h"

#include "keel/io/netif.h"
#include "keel/io/xenbus.h"

#define E_AGAIN 11
#define E_NOMEM 12
#define E_BUSY 16
#define E_NODEV 19
#define E_INVAL 22
#define E_MSGSIZE 90
#define E_PROTO 71
#define E_TIMEDOUT 110

#define NF_RING_SLOTS 256u
#define NF_ASM_BYTES 69632u                    /* 17 pages: a GSO packet with its headers */
#define NF_MAX_CHAIN 64u                       /* rx slots per packet before we call it broken */
#define NF_TX_MAX_FRAGS (KEEL_NETIF_NR_SLOTS_MIN - 1)
#define NF_GSO_FRAGS ((KEEL_NETIF_MAX_TX_SIZE + KEEL_PAGE_SIZE - 1) / KEEL_PAGE_SIZE)
#define NF_GSO_BUFS 8u                         /* GSO packets in flight at once */
#define NF_TX_IDS (NF_RING_SLOTS + NF_GSO_BUFS * NF_GSO_FRAGS)

enum { ST_CONNECTED = 1, ST_FE_CLOSED, ST_CLOSED };

struct nf_buf {
    uint8_t *page;
    uint32_t gref;                             /* 0: revoked */
};

struct rt_nf {
    struct rt_xb_dev xb;
    struct rt_nf_info info;
    struct keel_netif_tx_front tx;
    struct keel_netif_rx_front rx;
    void *tx_area, *rx_area;
    uint32_t tx_ref, rx_ref, rings_granted;    /* bit 0 tx, bit 1 rx */
    volatile uint32_t kicks;
    int state;
    uint32_t announce;
    /* rx: buffers, which buffer each ring slot's request holds, free list */
    struct nf_buf rxb[NF_RING_SLOTS];
    uint16_t rx_slot_buf[NF_RING_SLOTS], rx_free[NF_RING_SLOTS];
    uint32_t nrx, nrx_free;
    uint8_t *asm_buf;
    /* tx: buffers, owner (0 free, 1 the caller's, 2 in flight), free list; ids [0, ntx) are
     * the pool's pages, [NF_RING_SLOTS, + ngso * NF_GSO_FRAGS) the GSO buffers' pages */
    struct nf_buf txb[NF_TX_IDS];
    uint8_t tx_owner[NF_TX_IDS];
    uint16_t tx_free[NF_RING_SLOTS];
    uint32_t ntx, ntx_free, tx_inflight;
    /* GSO buffers: NF_GSO_FRAGS contiguous pages each, every page granted once (read-only);
     * busy from rt_nf_gso_buf until the backend answered each of its pages */
    uint8_t *gso_base[NF_GSO_BUFS];
    uint32_t ngso, gso_pending[NF_GSO_BUFS];
    uint8_t gso_taken[NF_GSO_BUFS];
    int rx_gso;                                /* we take GSO packets and partial sums */
    struct rt_nf_stats st;
};

static void nf_event(uint32_t port, void *data)
{
    (void)port;
    ((struct rt_nf *)data)->kicks++;
}

static int grant_table_ready(void)
{
    static int ready;

    if (ready)
        return 0;
    for (uint32_t frames = 32; frames; frames /= 2) {
        int rc = rt_gnttab_init(frames);
        if (rc == 0 || rc == -E_INVAL) {       /* EINVAL: someone (blkfront) set it up */
            ready = 1;
            return 0;
        }
    }
    return -E_NOMEM;
}

static void bad_response(struct rt_nf *nf, const char *what, uint32_t a, uint32_t b)
{
    if (nf->st.bad_responses++ < 10)
        rt_printf("netfront: vif %u: bad response: %s (%u, %u)\n", nf->info.devid, what, a, b);
}

/* ---- closing ---- */

static void start_close(struct rt_nf *nf, const char *why)
{
    if (nf->state != ST_CONNECTED)
        return;
    rt_printf("netfront: vif %u: closing (%s)\n", nf->info.devid, why);
    rt_xb_switch(&nf->xb, KEEL_XB_CLOSED);
    nf->state = ST_FE_CLOSED;
}

static int revoke_bufs(struct nf_buf *b, uint32_t n)
{
    int left = 0;

    for (uint32_t i = 0; i < n; i++)
        if (b[i].gref && rt_gnttab_end(b[i].gref) == 0) {
            b[i].gref = 0;
            rt_page_free(b[i].page, 1);
        } else if (b[i].gref)
            left = 1;
    return left;
}

/* Revoke what is still granted; the device is CLOSED once nothing is. */
static void revoke_all(struct rt_nf *nf)
{
    int left = revoke_bufs(nf->rxb, nf->nrx) | revoke_bufs(nf->txb, nf->ntx) |
               revoke_bufs(nf->txb + NF_RING_SLOTS, nf->ngso * NF_GSO_FRAGS);

    if ((nf->rings_granted & 1) && rt_gnttab_end(nf->tx_ref) == 0)
        nf->rings_granted &= ~1u;
    if ((nf->rings_granted & 2) && rt_gnttab_end(nf->rx_ref) == 0)
        nf->rings_granted &= ~2u;
    if (!left && !nf->rings_granted) {
        nf->state = ST_CLOSED;
        rt_xb_unwatch_backend(&nf->xb);
        rt_printf("netfront: vif %u: closed\n", nf->info.devid);
    }
}

/* A watch event: look at the backend's state. */
static void check_backend(struct rt_nf *nf)
{
    int be = rt_xb_state(&nf->xb, RT_XB_BACKEND);

    /* restored under a new domid, the frontend dir names a new backend */
    if (be != KEEL_XB_CONNECTED && rt_xb_rebind(&nf->xb) == 0) {
        rt_printf("netfront: vif %u: backend is now %s\n", nf->info.devid, nf->xb.be);
        be = rt_xb_state(&nf->xb, RT_XB_BACKEND);
    }
    if (be == KEEL_XB_CONNECTED)
        nf->announce++;
    else if (be == KEEL_XB_CLOSING || be == KEEL_XB_CLOSED || be == -2)
        start_close(nf, be == -2 ? "backend gone" : "backend closing");
}

/* ---- tx ---- */

static int tx_id_valid(const struct rt_nf *nf, uint32_t id)
{
    return id < nf->ntx || (id >= NF_RING_SLOTS && id < NF_RING_SLOTS + nf->ngso * NF_GSO_FRAGS);
}

static int take_tx_responses(struct rt_nf *nf)
{
    keel_ring_idx prod = nf->tx.s->hdr.rsp_prod;
    int n = 0;

    keel_rmb();
    if ((keel_ring_idx)(prod - nf->tx.rsp_cons) > (keel_ring_idx)(nf->tx.req_prod_pvt - nf->tx.rsp_cons)) {
        bad_response(nf, "tx response index past the requests", prod, nf->tx.req_prod_pvt);
        start_close(nf, "broken backend");
        return 0;
    }
    while (nf->tx.rsp_cons != prod) {
        struct keel_netif_tx_response r;
        memcpy(&r, &nf->tx.s->ring[nf->tx.rsp_cons & (nf->tx.size - 1)].rsp, sizeof(r));
        nf->tx.rsp_cons++;
        if (r.status == KEEL_NETIF_RSP_NULL)
            continue;                          /* an extra-info slot (we send none) */
        if (!tx_id_valid(nf, r.id) || nf->tx_owner[r.id] != 2) {
            bad_response(nf, "tx id not in flight", r.id, (uint32_t)(uint16_t)r.status);
            continue;
        }
        nf->tx_owner[r.id] = 0;
        if (r.id < NF_RING_SLOTS)
            nf->tx_free[nf->ntx_free++] = r.id;
        else
            nf->gso_pending[(r.id - NF_RING_SLOTS) / NF_GSO_FRAGS]--;
        nf->tx_inflight--;
        if (r.status == KEEL_NETIF_RSP_ERROR)
            nf->st.tx_errors++;
        else if (r.status == KEEL_NETIF_RSP_DROPPED)
            nf->st.tx_dropped++;
        else if (r.status != KEEL_NETIF_RSP_OKAY)
            bad_response(nf, "tx status", r.id, (uint32_t)(uint16_t)r.status);
        n++;
    }
    return n;
}

uint8_t *rt_nf_tx_buf(struct rt_nf *nf)
{
    uint16_t id;

    if (nf->state != ST_CONNECTED)
        return NULL;
    if (!nf->ntx_free)
        take_tx_responses(nf);
    if (!nf->ntx_free) {
        nf->st.tx_full++;
        return NULL;
    }
    id = nf->tx_free[--nf->ntx_free];
    nf->tx_owner[id] = 1;
    return nf->txb[id].page;
}

static int tx_id_of(const struct rt_nf *nf, const uint8_t *buf)
{
    for (uint32_t i = 0; i < nf->ntx; i++)
        if (nf->txb[i].page == buf)
            return nf->tx_owner[i] == 1 ? (int)i : -E_INVAL;
    return -E_INVAL;
}

static void tx_put_req(struct rt_nf *nf, uint16_t id, uint16_t size, uint16_t flags)
{
    struct keel_netif_tx_request req = {
        .gref = nf->txb[id].gref, .offset = 0, .flags = flags, .id = id, .size = size
    };

    memcpy(keel_netif_tx_front_req_slot(&nf->tx, nf->tx.req_prod_pvt), &req, sizeof(req));
    nf->tx.req_prod_pvt++;
    nf->tx_owner[id] = 2;
    nf->tx_inflight++;
}

static void tx_push(struct rt_nf *nf)
{
    if (keel_netif_tx_front_push(&nf->tx)) {
        nf->st.tx_notify++;
        rt_notify(nf->info.tx_port);
    }
}

/* Ring slots free for requests (a GSO extra slot holds one without a page). */
static uint32_t tx_ring_free(const struct rt_nf *nf)
{
    return nf->tx.size - (uint32_t)(nf->tx.req_prod_pvt - nf->tx.rsp_cons);
}

int rt_nf_tx_send(struct rt_nf *nf, uint8_t *buf, size_t len)
{
    int id = tx_id_of(nf, buf);

    if (id < 0)
        return id;
    if (!len || len > KEEL_PAGE_SIZE || nf->state != ST_CONNECTED || !tx_ring_free(nf)) {
        nf->tx_owner[id] = 0;                  /* given back unsent */
        nf->tx_free[nf->ntx_free++] = (uint16_t)id;
        if (len && len <= KEEL_PAGE_SIZE && nf->state == ST_CONNECTED)
            nf->st.tx_full++;
        return !len ? 0 : len > KEEL_PAGE_SIZE ? -E_MSGSIZE
               : nf->state != ST_CONNECTED ? -E_NODEV : -E_AGAIN;
    }
    tx_put_req(nf, (uint16_t)id, (uint16_t)len, 0);
    nf->st.tx_packets++;
    nf->st.tx_bytes += len;
    tx_push(nf);
    return 0;
}

/* A GSO buffer that is neither handed out nor in flight, or -1. */
static int gso_idle(const struct rt_nf *nf)
{
    for (uint32_t i = 0; i < nf->ngso; i++)
        if (!nf->gso_taken[i] && !nf->gso_pending[i])
            return (int)i;
    return -1;
}

uint8_t *rt_nf_gso_buf(struct rt_nf *nf)
{
    int g;

    if (nf->state != ST_CONNECTED || !nf->info.gso)
        return NULL;
    if ((g = gso_idle(nf)) < 0 || tx_ring_free(nf) < NF_GSO_FRAGS + 1) {
        take_tx_responses(nf);
        g = gso_idle(nf);
    }
    if (g < 0 || tx_ring_free(nf) < NF_GSO_FRAGS + 1) {
        nf->st.tx_full++;
        return NULL;
    }
    nf->gso_taken[g] = 1;
    return nf->gso_base[g];
}

/* The packet goes from the GSO buffer's own granted pages: nothing is copied. */
int rt_nf_gso_send(struct rt_nf *nf, uint8_t *buf, size_t len, uint16_t mss)
{
    uint32_t frags = (uint32_t)((len + KEEL_PAGE_SIZE - 1) / KEEL_PAGE_SIZE), g, id0;
    struct keel_netif_extra_info x;

    for (g = 0; g < nf->ngso && nf->gso_base[g] != buf; g++)
        ;
    if (!buf || g == nf->ngso || !nf->gso_taken[g])
        return -E_INVAL;
    nf->gso_taken[g] = 0;
    if (!len)
        return 0;                              /* given back unsent */
    if (len > KEEL_NETIF_MAX_TX_SIZE || !mss)
        return -E_MSGSIZE;
    if (nf->state != ST_CONNECTED)
        return -E_NODEV;
    if (tx_ring_free(nf) < frags + 1)
        return -E_AGAIN;                       /* cannot happen after rt_nf_gso_buf */
    memset(&x, 0, sizeof(x));
    x.type = KEEL_NETIF_EXTRA_TYPE_GSO;
    x.u.gso.size = mss;
    x.u.gso.type = KEEL_NETIF_GSO_TYPE_TCPV4;
    id0 = NF_RING_SLOTS + g * NF_GSO_FRAGS;
    for (uint32_t i = 0; i < frags; i++) {
        size_t off = (size_t)i * KEEL_PAGE_SIZE, n = len - off < KEEL_PAGE_SIZE ? len - off : KEEL_PAGE_SIZE;
        uint16_t fl = i + 1 < frags ? KEEL_NETTXF_MORE_DATA : 0;
        if (i == 0)
            fl |= KEEL_NETTXF_CSUM_BLANK | KEEL_NETTXF_DATA_VALIDATED | KEEL_NETTXF_EXTRA_INFO;
        tx_put_req(nf, (uint16_t)(id0 + i), (uint16_t)(i == 0 ? len : n), fl);
        if (i == 0) {                          /* the extra slot right after the first */
            memcpy(keel_netif_tx_front_req_slot(&nf->tx, nf->tx.req_prod_pvt), &x, sizeof(x));
            nf->tx.req_prod_pvt++;
        }
    }
    nf->gso_pending[g] = frags;
    nf->st.tx_packets++;
    nf->st.tx_gso++;
    nf->st.tx_bytes += len;
    tx_push(nf);
    return 0;
}

int rt_nf_send(struct rt_nf *nf, const void *frame, size_t len)
{
    uint32_t frags = (uint32_t)((len + KEEL_PAGE_SIZE - 1) / KEEL_PAGE_SIZE);
    uint16_t ids[NF_TX_MAX_FRAGS];

    if (nf->state != ST_CONNECTED)
        return -E_NODEV;
    if (!len || len > KEEL_NETIF_MAX_TX_SIZE || (frags > 1 && !nf->info.sg))
        return -E_MSGSIZE;
    if (nf->ntx_free < frags || tx_ring_free(nf) < frags)
        take_tx_responses(nf);
    if (nf->ntx_free < frags || tx_ring_free(nf) < frags) {
        nf->st.tx_full++;
        return -E_AGAIN;
    }
    for (uint32_t i = 0; i < frags; i++) {
        size_t off = (size_t)i * KEEL_PAGE_SIZE, n = len - off < KEEL_PAGE_SIZE ? len - off : KEEL_PAGE_SIZE;
        ids[i] = nf->tx_free[--nf->ntx_free];
        memcpy(nf->txb[ids[i]].page, (const uint8_t *)frame + off, n);
    }
    for (uint32_t i = 0; i < frags; i++) {
        size_t off = (size_t)i * KEEL_PAGE_SIZE, n = len - off < KEEL_PAGE_SIZE ? len - off : KEEL_PAGE_SIZE;
        /* the first fragment's size is the whole packet's */
        tx_put_req(nf, ids[i], (uint16_t)(i == 0 ? len : n),
                   i + 1 < frags ? KEEL_NETTXF_MORE_DATA : 0);
    }
    nf->st.tx_packets++;
    nf->st.tx_bytes += len;
    tx_push(nf);
    return 0;
}

/* ---- rx ---- */

static void rx_post(struct rt_nf *nf)
{
    while (nf->nrx_free && keel_netif_rx_front_free(&nf->rx)) {
        keel_ring_idx i = nf->rx.req_prod_pvt;
        uint16_t b = nf->rx_free[--nf->nrx_free];
        struct keel_netif_rx_request req = { .id = (uint16_t)(i & (nf->rx.size - 1)), .gref = nf->rxb[b].gref };
        nf->rx_slot_buf[i & (nf->rx.size - 1)] = b;
        memcpy(keel_netif_rx_front_req_slot(&nf->rx, i), &req, sizeof(req));
        nf->rx.req_prod_pvt++;
    }
    if (keel_netif_rx_front_push(&nf->rx)) {
        nf->st.rx_notify++;
        rt_notify(nf->info.rx_port);
    }
}

/* Walk one packet's slots from rsp_cons; the slot count, or 0 when not all of it is there. */
static uint32_t rx_chain(struct rt_nf *nf, keel_ring_idx prod, int *broken)
{
    uint32_t n = 0;
    int more = 1, extra = 0;

    while (more || extra) {
        struct keel_netif_rx_response r;
        keel_ring_idx i = nf->rx.rsp_cons + n;
        if (i == prod)
            return 0;
        if (n >= NF_MAX_CHAIN) {
            *broken = 1;
            return 0;
        }
        memcpy(&r, &nf->rx.s->ring[i & (nf->rx.size - 1)].rsp, sizeof(r));
        n++;
        if (extra) {                           /* an extra-info slot */
            const struct keel_netif_extra_info *x = (const void *)&r;
            extra = x->flags & KEEL_NETIF_EXTRA_FLAG_MORE;
            continue;
        }
        more = r.flags & KEEL_NETRXF_MORE_DATA;
        extra = r.flags & KEEL_NETRXF_EXTRA_INFO;
    }
    return n;
}

/* Consume a whole packet of n slots: hand it over (or count why not), give buffers back. */
static void rx_packet(struct rt_nf *nf, uint32_t n, rt_nf_rx_fn fn, void *ctx)
{
    uint32_t total = 0, frags = 0;
    uint16_t flags0 = 0;
    const uint8_t *single = NULL;
    int bad = 0, extra = 0;

    for (uint32_t k = 0; k < n; k++) {
        keel_ring_idx i = nf->rx.rsp_cons++;
        uint32_t slot = i & (nf->rx.size - 1);
        uint16_t b = nf->rx_slot_buf[slot];
        struct keel_netif_rx_response r;
        memcpy(&r, &nf->rx.s->ring[slot].rsp, sizeof(r));
        nf->rx_free[nf->nrx_free++] = b;
        if (extra) {
            const struct keel_netif_extra_info *x = (const void *)&r;
            extra = x->flags & KEEL_NETIF_EXTRA_FLAG_MORE;
            if (x->type == KEEL_NETIF_EXTRA_TYPE_NONE || x->type >= KEEL_NETIF_EXTRA_TYPE_MAX)
                bad = 1;
            continue;
        }
        extra = r.flags & KEEL_NETRXF_EXTRA_INFO;
        if (k == 0)
            flags0 = r.flags;
        if (r.id != slot && !bad)
            bad_response(nf, "rx id is not its slot", r.id, slot);
        if (r.status < 0) {
            nf->st.rx_errors++;
            bad = 1;
            continue;
        }
        if ((uint32_t)r.offset + (uint32_t)r.status > KEEL_PAGE_SIZE ||
            total + (uint32_t)r.status > NF_ASM_BYTES) {
            if (!bad)
                bad_response(nf, "rx fragment past its page or 64 KiB", r.offset, (uint32_t)r.status);
            bad = 1;
            continue;
        }
        if (bad || !r.status)
            continue;
        if (frags == 0)
            single = nf->rxb[b].page + r.offset;
        else {
            if (frags == 1)
                memcpy(nf->asm_buf, single, total);
            memcpy(nf->asm_buf + total, nf->rxb[b].page + r.offset, (size_t)r.status);
        }
        frags++;
        total += (uint32_t)r.status;
    }
    if (bad || !total) {
        nf->st.rx_dropped++;
        return;
    }
    nf->st.rx_packets++;
    nf->st.rx_bytes += total;
    /* a single-slot packet is read in place: its buffer is reposted only after fn returns */
    fn(ctx, frags == 1 ? single : nf->asm_buf, total, flags0);
}

int rt_nf_rx(struct rt_nf *nf, rt_nf_rx_fn fn, void *ctx, int budget)
{
    int got = 0;

    if (nf->state != ST_CONNECTED)
        return nf->state == ST_CLOSED ? -E_NODEV : 0;
    while (got < budget) {
        keel_ring_idx prod = nf->rx.s->hdr.rsp_prod;
        uint32_t n;
        int broken = 0;
        keel_rmb();
        if ((keel_ring_idx)(prod - nf->rx.rsp_cons) > (keel_ring_idx)(nf->rx.req_prod_pvt - nf->rx.rsp_cons)) {
            bad_response(nf, "rx response index past the requests", prod, nf->rx.req_prod_pvt);
            start_close(nf, "broken backend");
            break;
        }
        if (nf->rx.rsp_cons == prod || !(n = rx_chain(nf, prod, &broken))) {
            if (broken) {
                bad_response(nf, "rx packet of too many slots", NF_MAX_CHAIN, 0);
                start_close(nf, "broken backend");
            }
            break;
        }
        rx_packet(nf, n, fn, ctx);
        got++;
    }
    if (got && nf->state == ST_CONNECTED)
        rx_post(nf);
    return got;
}

struct copy_ctx {
    void *buf;
    size_t size;
    int len;
};

static void copy_one(void *ctx, const uint8_t *frame, size_t len, unsigned flags)
{
    struct copy_ctx *c = ctx;

    (void)flags;
    if (len > c->size) {
        c->len = -E_MSGSIZE;
        return;
    }
    memcpy(c->buf, frame, len);
    c->len = (int)len;
}

int rt_nf_recv(struct rt_nf *nf, void *buf, size_t size)
{
    struct copy_ctx c = { buf, size, 0 };
    int rc = rt_nf_rx(nf, copy_one, &c, 1);

    return rc < 0 ? rc : c.len;
}

/* ---- polling and waiting ---- */

int rt_nf_poll(struct rt_nf *nf)
{
    if (nf->state == ST_CONNECTED)
        take_tx_responses(nf);
    if (nf->state != ST_CLOSED && rt_xb_event_pending())
        check_backend(nf);
    if (nf->state == ST_FE_CLOSED)
        revoke_all(nf);
    return nf->state == ST_CONNECTED ? 0 : nf->state == ST_CLOSED ? -E_NODEV : -E_AGAIN;
}

void rt_nf_wait(struct rt_nf *nf, uint64_t deadline, int want_tx)
{
    volatile struct keel_vcpu_info *vi = rt_this_cpu()->vi;
    int live = nf->state == ST_CONNECTED;

    vi->evtchn_upcall_mask = 1;
    keel_mb();
    if (live && (keel_netif_rx_front_final_check(&nf->rx) ||
                 (want_tx && nf->tx_inflight && keel_netif_tx_front_final_check(&nf->tx)))) {
        rt_enable_events();
        return;
    }
    if (nf->state == ST_FE_CLOSED && (!deadline || deadline > rt_now() + 1000000ULL))
        deadline = rt_now() + 1000000ULL;      /* revokes are retried */
    if (deadline)
        rt_set_timer(deadline);
    rt_block();
    rt_enable_events();
}

uint32_t rt_nf_announce(const struct rt_nf *nf)
{
    return nf->announce;
}

int rt_nf_connected(const struct rt_nf *nf)
{
    return nf->state == ST_CONNECTED;
}

const struct rt_nf_info *rt_nf_get_info(const struct rt_nf *nf)
{
    return &nf->info;
}

const struct rt_nf_stats *rt_nf_get_stats(const struct rt_nf *nf)
{
    ((struct rt_nf *)nf)->st.kicks = nf->kicks;
    return &nf->st;
}

int rt_nf_backend_read(const struct rt_nf *nf, const char *key, char *buf, size_t size)
{
    return rt_xb_read(&nf->xb, RT_XB_BACKEND, key, buf, size);
}

/* ---- open ---- */

static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++, s++) {
            int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 :
                    *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;
            if (d < 0)
                return -E_INVAL;
            v = v * 16 + d;
        }
        mac[i] = (uint8_t)v;
        if (*s != (i < 5 ? ':' : 0))
            return -E_INVAL;
        s++;
    }
    return mac[0] & 1 ? -E_INVAL : 0;
}

static int alloc_bufs(struct rt_nf *nf, struct nf_buf *b, uint32_t n, int readonly)
{
    for (uint32_t i = 0; i < n; i++) {
        int ref;
        if (!(b[i].page = rt_page_alloc(1)))
            return -E_NOMEM;
        if ((ref = rt_gnttab_grant(nf->info.backend_id, rt_virt_to_gfn(b[i].page), readonly)) < 0) {
            rt_page_free(b[i].page, 1);
            b[i].page = 0;
            return ref;
        }
        b[i].gref = (uint32_t)ref;
    }
    return 0;
}

/* The GSO buffers (only when we may send GSO): contiguous pages, each granted on its own. */
static int alloc_gso_bufs(struct rt_nf *nf)
{
    for (uint32_t g = 0; nf->info.gso && g < NF_GSO_BUFS; g++) {
        struct nf_buf *b = nf->txb + NF_RING_SLOTS + g * NF_GSO_FRAGS;
        uint8_t *base = rt_page_alloc(NF_GSO_FRAGS);
        if (!base)
            return -E_NOMEM;
        nf->gso_base[g] = base;
        nf->ngso = g + 1;
        for (uint32_t k = 0; k < NF_GSO_FRAGS; k++) {
            int ref = rt_gnttab_grant(nf->info.backend_id, rt_virt_to_gfn(base + k * KEEL_PAGE_SIZE), 1);
            b[k].page = base + k * KEEL_PAGE_SIZE;
            if (ref < 0) {
                for (uint32_t j = k; j < NF_GSO_FRAGS; j++)
                    rt_page_free(base + j * KEEL_PAGE_SIZE, 1);
                for (uint32_t j = k; j < NF_GSO_FRAGS; j++)
                    b[j].page = 0;
                return ref;
            }
            b[k].gref = (uint32_t)ref;
        }
    }
    return 0;
}

static int setup_rings(struct rt_nf *nf, const struct rt_nf_opts *o)
{
    int ref, rc;

    if (!(nf->tx_area = rt_page_alloc(1)) || !(nf->rx_area = rt_page_alloc(1)) ||
        !(nf->asm_buf = rt_page_alloc(NF_ASM_BYTES / KEEL_PAGE_SIZE)))
        return -E_NOMEM;
    keel_netif_tx_front_init(&nf->tx, nf->tx_area, KEEL_PAGE_SIZE);
    keel_netif_rx_front_init(&nf->rx, nf->rx_area, KEEL_PAGE_SIZE);
    if ((ref = rt_gnttab_grant(nf->info.backend_id, rt_virt_to_gfn(nf->tx_area), 0)) < 0)
        return ref;
    nf->tx_ref = (uint32_t)ref;
    nf->rings_granted |= 1;
    if ((ref = rt_gnttab_grant(nf->info.backend_id, rt_virt_to_gfn(nf->rx_area), 0)) < 0)
        return ref;
    nf->rx_ref = (uint32_t)ref;
    nf->rings_granted |= 2;
    nf->nrx = o->rx_bufs && o->rx_bufs < nf->rx.size ? o->rx_bufs : nf->rx.size;
    nf->ntx = o->tx_bufs && o->tx_bufs < nf->tx.size ? o->tx_bufs : nf->tx.size;
    if (nf->ntx < KEEL_NETIF_NR_SLOTS_MIN)
        nf->ntx = KEEL_NETIF_NR_SLOTS_MIN;
    if ((rc = alloc_bufs(nf, nf->rxb, nf->nrx, 0)) < 0 || (rc = alloc_bufs(nf, nf->txb, nf->ntx, 1)) < 0 ||
        (rc = alloc_gso_bufs(nf)) < 0)
        return rc;
    for (uint32_t i = 0; i < nf->nrx; i++)
        nf->rx_free[nf->nrx_free++] = (uint16_t)(nf->nrx - 1 - i);
    for (uint32_t i = 0; i < nf->ntx; i++)
        nf->tx_free[nf->ntx_free++] = (uint16_t)(nf->ntx - 1 - i);
    return 0;
}

static int publish(struct rt_nf *nf)
{
    struct rt_xb_dev *x = &nf->xb;
    int rc, port;

    if ((port = rt_alloc_unbound(nf->info.backend_id, nf_event, nf)) < 0)
        return port;
    nf->info.tx_port = nf->info.rx_port = (uint32_t)port;
    if (nf->info.split) {
        if ((port = rt_alloc_unbound(nf->info.backend_id, nf_event, nf)) < 0)
            return port;
        nf->info.rx_port = (uint32_t)port;
    }
    rc = rt_xb_printf(x, "tx-ring-ref", "%u", nf->tx_ref);
    if (rc == 0)
        rc = rt_xb_printf(x, "rx-ring-ref", "%u", nf->rx_ref);
    if (rc == 0 && nf->info.split) {
        rt_xb_rm(x, "event-channel");
        rc = rt_xb_printf(x, "event-channel-tx", "%u", nf->info.tx_port);
        if (rc == 0)
            rc = rt_xb_printf(x, "event-channel-rx", "%u", nf->info.rx_port);
    } else if (rc == 0) {
        rt_xb_rm(x, "event-channel-tx");
        rt_xb_rm(x, "event-channel-rx");
        rc = rt_xb_printf(x, "event-channel", "%u", nf->info.tx_port);
    }
    if (rc == 0)
        rc = rt_xb_write(x, "request-rx-copy", "1");
    if (rc == 0)
        rc = rt_xb_write(x, "feature-rx-notify", "1");
    if (rc == 0)
        rc = rt_xb_write(x, "feature-sg", nf->info.sg ? "1" : "0");
    if (rc == 0)
        rc = rt_xb_write(x, "feature-gso-tcpv4", nf->rx_gso ? "1" : "0");
    if (rc == 0)
        rc = rt_xb_write(x, "feature-no-csum-offload", nf->rx_gso ? "0" : "1");
    /* our buffer pools are granted once and reused: a backend may keep them mapped until it
     * disconnects (Keel's feature-persistent for vifs; revoke_all retries while it maps one) */
    if (rc == 0)
        rc = rt_xb_write(x, "feature-persistent", "1");
    if (rc == 0)
        rt_xb_rm(x, "multi-queue-num-queues");
    return rc;
}

static int read_features(struct rt_nf *nf, const struct rt_nf_opts *o)
{
    struct rt_xb_dev *x = &nf->xb;
    char mac[24];
    int rc;

    if ((rc = rt_xb_read(x, RT_XB_FRONTEND, "mac", mac, sizeof(mac))) < 0 ||
        (rc = parse_mac(mac, nf->info.mac)) < 0) {
        rt_printf("netfront: vif %u: no usable mac in %s (%d)\n", nf->info.devid, x->fe, rc);
        return rc < 0 ? rc : -E_INVAL;
    }
    if (rt_xb_read_u64_or(x, RT_XB_BACKEND, "feature-rx-copy", 0) != 1) {
        rt_printf("netfront: vif %u: backend offers no feature-rx-copy\n", nf->info.devid);
        return -E_PROTO;
    }
    nf->info.split = !o->no_split && rt_xb_read_u64_or(x, RT_XB_BACKEND, "feature-split-event-channels", 0) == 1;
    nf->info.sg = rt_xb_read_u64_or(x, RT_XB_BACKEND, "feature-sg", 0) == 1;
    nf->rx_gso = nf->info.sg && !o->no_gso;
    nf->info.gso = nf->rx_gso && rt_xb_read_u64_or(x, RT_XB_BACKEND, "feature-gso-tcpv4", 0) == 1;
    nf->info.mtu = (uint32_t)rt_xb_read_u64_or(x, RT_XB_FRONTEND, "mtu", 1500);
    return 0;
}

static int connect(struct rt_nf *nf, const struct rt_nf_opts *o, uint64_t deadline)
{
    uint32_t ready = 1u << KEEL_XB_INITWAIT | 1u << KEEL_XB_INITIALISED | 1u << KEEL_XB_CONNECTED;
    uint32_t gone = 1u << KEEL_XB_CLOSING | 1u << KEEL_XB_CLOSED;
    int st, rc;

    st = rt_xb_wait_state(&nf->xb, ready | gone, deadline);
    if (st < 0 || (gone & (1u << st)))
        return st < 0 ? st : -E_NODEV;
    if ((rc = read_features(nf, o)) < 0 || (rc = grant_table_ready()) < 0 ||
        (rc = setup_rings(nf, o)) < 0 || (rc = publish(nf)) < 0)
        return rc;
    nf->state = ST_CONNECTED;                  /* rx buffers go up before we say so */
    rx_post(nf);
    if ((rc = rt_xb_switch(&nf->xb, KEEL_XB_CONNECTED)) < 0)
        return rc;
    st = rt_xb_wait_state(&nf->xb, 1u << KEEL_XB_CONNECTED | gone, deadline);
    if (st < 0 || st != KEEL_XB_CONNECTED)
        return st < 0 ? st : -E_NODEV;
    rt_xb_event_pending();                     /* the watch's own events so far */
    nf->announce = 1;
    return 0;
}

struct rt_nf *rt_nf_open(uint32_t devid, const struct rt_nf_opts *opts, int *err)
{
    struct rt_nf_opts dflt = { 0 };
    const struct rt_nf_opts *o = opts ? opts : &dflt;
    uint64_t deadline = rt_now() + (o->timeout_ms ? o->timeout_ms : 30000) * 1000000ULL;
    struct rt_nf *nf;
    int rc;

    if ((rc = rt_xs_init()) < 0)
        goto fail;
    if (!(nf = rt_page_alloc((uint32_t)((sizeof(*nf) + KEEL_PAGE_SIZE - 1) / KEEL_PAGE_SIZE)))) {
        rc = -E_NOMEM;
        goto fail;
    }
    if ((rc = rt_xb_open(&nf->xb, "vif", devid)) < 0)
        goto fail;
    nf->info.devid = nf->xb.devid;
    nf->info.backend_id = nf->xb.be_id;
    memcpy(nf->info.backend, nf->xb.be, sizeof(nf->info.backend));
    if ((rc = connect(nf, o, deadline)) < 0) {
        rt_printf("netfront: vif %u: connecting to %s failed (%d): backend state %d, frontend "
                  "state %d\n", nf->xb.devid, nf->xb.be, rc, rt_xb_state(&nf->xb, RT_XB_BACKEND),
                  rt_xb_state(&nf->xb, RT_XB_FRONTEND));
        if (nf->rings_granted) {               /* published: tell the backend we give up */
            nf->state = ST_CONNECTED;
            start_close(nf, "connect failed");
            revoke_all(nf);
        }
        goto fail;
    }
    rt_printf("netfront: vif %u: connected to %s, mac %02x:%02x:%02x:%02x:%02x:%02x, %s event "
              "channel%s, sg %d, %u rx / %u tx buffers\n", nf->info.devid, nf->xb.be,
              nf->info.mac[0], nf->info.mac[1], nf->info.mac[2], nf->info.mac[3], nf->info.mac[4],
              nf->info.mac[5], nf->info.split ? "split" : "one", nf->info.split ? "s" : "",
              nf->info.sg, nf->nrx, nf->ntx);
    return nf;
fail:
    if (err)
        *err = rc;
    return NULL;
}

int rt_nf_close(struct rt_nf *nf)
{
    uint64_t deadline = rt_now() + 10000000000ULL;

    if (nf->state == ST_CONNECTED) {
        while (nf->tx_inflight && rt_now() < deadline && take_tx_responses(nf) >= 0 && nf->tx_inflight)
            rt_nf_wait(nf, rt_now() + 1000000ULL, 1);
        rt_xb_switch(&nf->xb, KEEL_XB_CLOSING);
        rt_xb_wait_state(&nf->xb, 1u << KEEL_XB_CLOSING | 1u << KEEL_XB_CLOSED, deadline);
        start_close(nf, "closed by the guest");
    }
    while (nf->state == ST_FE_CLOSED && rt_now() < deadline) {
        revoke_all(nf);
        if (nf->state != ST_CLOSED)
            rt_nf_wait(nf, rt_now() + 1000000ULL, 0);
    }
    return nf->state == ST_CLOSED ? 0 : -E_BUSY;
}
