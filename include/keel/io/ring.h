/* keel/io/ring.h - the shared request/response ring of Xen's split drivers, in Keel's own words:
 * a 64-byte header (req_prod, req_event, rsp_prod, rsp_event, padding) then a power-of-two array
 * of slots, each the union of a request and a response. Indices are free-running 32-bit
 * counters; slot = index & (size - 1). Used by guests (frontends) and backend daemons alike.
 *
 * KEEL_RING_DEFINE(name, req_t, rsp_t) declares struct name_sring plus the private views
 * struct name_front and struct name_back and their helpers. Everything a peer writes into the
 * shared page is hostile: consumers copy a request or response out of its slot once before
 * using it, and check the producer index against the ring size (keel_ring_*_overflow). */
#ifndef KEEL_IO_RING_H
#define KEEL_IO_RING_H

#include <stdint.h>

typedef uint32_t keel_ring_idx;

#define KEEL_RING_HDR_SIZE 64u

struct keel_sring_hdr {
    volatile keel_ring_idx req_prod, req_event;
    volatile keel_ring_idx rsp_prod, rsp_event;
    uint8_t pvt[4];
    uint8_t pad[44];
};

/* Largest power of two of entries that fits in `bytes` after the header. */
static inline uint32_t keel_ring_size(uint32_t bytes, uint32_t entry)
{
    uint32_t n = 1;

    if (bytes <= KEEL_RING_HDR_SIZE || entry == 0 || (bytes - KEEL_RING_HDR_SIZE) / entry == 0)
        return 0;
    while (n * 2 <= (bytes - KEEL_RING_HDR_SIZE) / entry)
        n *= 2;
    return n;
}

#define keel_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define keel_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define keel_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)

/* Should the producer notify after moving its index from old to new, given the peer's event
 * index? (Xen's rule: notify when the event index lies in (old, new].) */
static inline int keel_ring_need_notify(keel_ring_idx old, keel_ring_idx new_, keel_ring_idx event)
{
    return (keel_ring_idx)(new_ - event) < (keel_ring_idx)(new_ - old);
}

#define KEEL_RING_DEFINE(name, req_t, rsp_t)                                                    \
    union name##_entry { req_t req; rsp_t rsp; };                                               \
    struct name##_sring {                                                                       \
        struct keel_sring_hdr hdr;                                                              \
        union name##_entry ring[];                                                              \
    };                                                                                          \
    struct name##_front {                                                                       \
        struct name##_sring *s;                                                                 \
        keel_ring_idx req_prod_pvt, rsp_cons;                                                   \
        uint32_t size;                                                                          \
    };                                                                                          \
    struct name##_back {                                                                        \
        struct name##_sring *s;                                                                 \
        keel_ring_idx rsp_prod_pvt, req_cons;                                                   \
        uint32_t size;                                                                          \
    };                                                                                          \
    /* Frontend: initialise the shared header (only the frontend does) and its view. */         \
    static inline void name##_front_init(struct name##_front *f, void *area, uint32_t bytes)    \
    {                                                                                           \
        struct name##_sring *s = area;                                                          \
        uint8_t *p = (uint8_t *)&s->hdr;                                                        \
        for (uint32_t i = 0; i < KEEL_RING_HDR_SIZE; i++)                                       \
            p[i] = 0;                                                                           \
        s->hdr.req_event = 1;                                                                   \
        s->hdr.rsp_event = 1;                                                                   \
        f->s = s;                                                                               \
        f->req_prod_pvt = 0;                                                                    \
        f->rsp_cons = 0;                                                                        \
        f->size = keel_ring_size(bytes, sizeof(union name##_entry));                            \
    }                                                                                           \
    /* Backend: attach to a ring the frontend initialised, resuming at its published response \
     * index (so a restarted backend replays requests it never answered). */                   \
    static inline void name##_back_init(struct name##_back *b, void *area, uint32_t bytes)     \
    {                                                                                           \
        b->s = area;                                                                            \
        b->size = keel_ring_size(bytes, sizeof(union name##_entry));                            \
        b->rsp_prod_pvt = b->s->hdr.rsp_prod;                                                   \
        b->req_cons = b->rsp_prod_pvt;                                                          \
    }                                                                                           \
    static inline req_t *name##_front_req_slot(struct name##_front *f, keel_ring_idx i)         \
    {                                                                                           \
        return &f->s->ring[i & (f->size - 1)].req;                                              \
    }                                                                                           \
    static inline rsp_t *name##_back_rsp_slot(struct name##_back *b, keel_ring_idx i)           \
    {                                                                                           \
        return &b->s->ring[i & (b->size - 1)].rsp;                                              \
    }                                                                                           \
    static inline uint32_t name##_front_free(const struct name##_front *f)                     \
    {                                                                                           \
        return f->size - (f->req_prod_pvt - f->rsp_cons);                                       \
    }                                                                                           \
    /* Publish private requests; returns whether the backend must be notified. */              \
    static inline int name##_front_push(struct name##_front *f)                                 \
    {                                                                                           \
        keel_ring_idx old = f->s->hdr.req_prod, new_ = f->req_prod_pvt;                         \
        keel_wmb();                                                                             \
        f->s->hdr.req_prod = new_;                                                              \
        keel_mb();                                                                              \
        return keel_ring_need_notify(old, new_, f->s->hdr.req_event);                           \
    }                                                                                           \
    static inline int name##_back_push(struct name##_back *b)                                   \
    {                                                                                           \
        keel_ring_idx old = b->s->hdr.rsp_prod, new_ = b->rsp_prod_pvt;                         \
        keel_wmb();                                                                             \
        b->s->hdr.rsp_prod = new_;                                                              \
        keel_mb();                                                                              \
        return keel_ring_need_notify(old, new_, b->s->hdr.rsp_event);                           \
    }                                                                                           \
    /* Responses waiting for the frontend (it checks > size itself: a misbehaving backend). */ \
    static inline keel_ring_idx name##_front_unconsumed(const struct name##_front *f)           \
    {                                                                                           \
        keel_ring_idx n = f->s->hdr.rsp_prod - f->rsp_cons;                                     \
        keel_rmb();                                                                             \
        return n;                                                                               \
    }                                                                                           \
    /* Requests waiting for the backend, bounded by the ring; *bad is set when the frontend   \
     * published more than the ring holds. */                                                   \
    static inline keel_ring_idx name##_back_unconsumed(const struct name##_back *b, int *bad)   \
    {                                                                                           \
        keel_ring_idx prod = b->s->hdr.req_prod;                                                \
        keel_ring_idx n = prod - b->req_cons, room = b->size - (b->req_cons - b->rsp_prod_pvt); \
        keel_rmb();                                                                             \
        *bad = (keel_ring_idx)(prod - b->rsp_prod_pvt) > b->size;                               \
        return n < room ? n : room;                                                             \
    }                                                                                           \
    /* Before sleeping: ask for an event at the next request, then look again. */              \
    static inline int name##_back_final_check(struct name##_back *b)                            \
    {                                                                                           \
        int bad;                                                                                \
        if (name##_back_unconsumed(b, &bad))                                                    \
            return 1;                                                                           \
        b->s->hdr.req_event = b->req_cons + 1;                                                  \
        keel_mb();                                                                              \
        return name##_back_unconsumed(b, &bad) != 0;                                            \
    }                                                                                           \
    static inline int name##_front_final_check(struct name##_front *f)                          \
    {                                                                                           \
        if (name##_front_unconsumed(f))                                                         \
            return 1;                                                                           \
        f->s->hdr.rsp_event = f->rsp_cons + 1;                                                  \
        keel_mb();                                                                              \
        return name##_front_unconsumed(f) != 0;                                                 \
    }

#endif
