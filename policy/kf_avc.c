/* kf_avc.c - the access vector cache: a set-associative table of recent decisions; readers
 * take no lock (a per-set sequence counter), writers a per-set mutex; a generation number
 * invalidates everything at once (reload, boolean commit, flush). */
#include "kf_handle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int kf_avc_init(struct kf *kf)
{
    kf->avc = calloc(KF_AVC_SETS, sizeof(*kf->avc));
    if (!kf->avc)
        return -ENOMEM;
    for (int i = 0; i < KF_AVC_SETS; i++)
        pthread_mutex_init(&kf->avc[i].lock, NULL);
    atomic_store(&kf->avc_gen, 1);
    return 0;
}

void kf_avc_fini(struct kf *kf)
{
    if (!kf->avc)
        return;
    for (int i = 0; i < KF_AVC_SETS; i++)
        pthread_mutex_destroy(&kf->avc[i].lock);
    free(kf->avc);
    kf->avc = NULL;
}

static unsigned set_of(kf_sid_t s, kf_sid_t t, uint16_t c)
{
    uint32_t h = (s * 0x9e3779b1u) ^ (t * 0x85ebca6bu) ^ ((uint32_t)c * 0xc2b2ae35u);

    h ^= h >> 16;
    return h & (KF_AVC_SETS - 1);
}

int kf_compute_locked(struct kf *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass,
                      struct kf_av *av)
{
    struct kf_context s, t;

    if (!kf->db)
        return -EAGAIN;
    if (kf_sid_lookup(kf, ssid, &s) || kf_sid_lookup(kf, tsid, &t))
        return -EINVAL;
    if (!tclass || tclass > kf->db->nclasses)
        return -EINVAL;
    kf_db_compute_av(kf->db, &s, &t, tclass, &av->allowed, &av->auditallow, &av->auditdeny);
    av->seqno = kf->seqno;
    return 0;
}

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Lock-free read of one set; returns 1 and fills *av on a hit. */
static int set_read(struct kf_avc_set *set, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass,
                    unsigned gen, struct kf_av *av)
{
    for (int tries = 0; tries < 64; tries++) {
        unsigned s1 = __atomic_load_n(&set->seq, __ATOMIC_ACQUIRE);
        int found = 0;

        if (s1 & 1)
            continue;
        for (int i = 0; i < KF_AVC_WAYS && !found; i++) {
            struct kf_avc_node *n = &set->n[i];

            if (LD(n->gen) == gen && LD(n->ssid) == ssid && LD(n->tsid) == tsid &&
                LD(n->tclass) == tclass) {
                av->allowed = LD(n->av.allowed);
                av->auditallow = LD(n->av.auditallow);
                av->auditdeny = LD(n->av.auditdeny);
                av->seqno = LD(n->av.seqno);
                found = 1;
            }
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&set->seq, __ATOMIC_RELAXED) == s1)
            return found;
    }
    return 0; /* a busy set: treat as a miss */
}

static void set_write(struct kf_avc_set *set, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass,
                      unsigned gen, const struct kf_av *av)
{
    struct kf_avc_node *victim = NULL;
    unsigned s;

    pthread_mutex_lock(&set->lock);
    for (int i = 0; i < KF_AVC_WAYS && !victim; i++)
        if (set->n[i].gen != gen)
            victim = &set->n[i];
    if (!victim) {
        victim = &set->n[set->next_victim++ % KF_AVC_WAYS];
        __atomic_fetch_add(&set->reclaims, 1, __ATOMIC_RELAXED);
    }
    s = set->seq;
    ST(set->seq, s + 1);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    ST(victim->ssid, ssid);
    ST(victim->tsid, tsid);
    ST(victim->tclass, tclass);
    ST(victim->av.allowed, av->allowed);
    ST(victim->av.auditallow, av->auditallow);
    ST(victim->av.auditdeny, av->auditdeny);
    ST(victim->av.seqno, av->seqno);
    ST(victim->gen, gen);
    __atomic_store_n(&set->seq, s + 2, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&set->lock);
}

int kf_avc_query(struct kf *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, struct kf_av *av)
{
    struct kf_avc_set *set = &kf->avc[set_of(ssid, tsid, tclass)];
    unsigned gen = atomic_load(&kf->avc_gen);
    int rc;

    if (set_read(set, ssid, tsid, tclass, gen, av)) {
        __atomic_fetch_add(&set->hits, 1, __ATOMIC_RELAXED);
        return 0;
    }
    __atomic_fetch_add(&set->misses, 1, __ATOMIC_RELAXED);
    rc = kf_compute_locked(kf, ssid, tsid, tclass, av);
    if (rc)
        return rc;
    set_write(set, ssid, tsid, tclass, gen, av);
    return 0;
}

void kf_avc_grant(struct kf *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, uint32_t bits)
{
    struct kf_avc_set *set = &kf->avc[set_of(ssid, tsid, tclass)];
    unsigned gen = atomic_load(&kf->avc_gen), s;

    pthread_mutex_lock(&set->lock);
    for (int i = 0; i < KF_AVC_WAYS; i++) {
        struct kf_avc_node *n = &set->n[i];

        if (n->gen != gen || n->ssid != ssid || n->tsid != tsid || n->tclass != tclass)
            continue;
        s = set->seq;
        ST(set->seq, s + 1);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        ST(n->av.allowed, n->av.allowed | bits);
        __atomic_store_n(&set->seq, s + 2, __ATOMIC_RELEASE);
        break;
    }
    pthread_mutex_unlock(&set->lock);
}

void kf_avc_flush(kf_t *kf)
{
    unsigned g = atomic_fetch_add(&kf->avc_gen, 1) + 1;

    if (g == 0) /* generation 0 marks empty nodes */
        atomic_fetch_add(&kf->avc_gen, 1);
}

void kf_avc_stats(kf_t *kf, struct kf_avc_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < KF_AVC_SETS; i++) {
        st->hits += __atomic_load_n(&kf->avc[i].hits, __ATOMIC_RELAXED);
        st->misses += __atomic_load_n(&kf->avc[i].misses, __ATOMIC_RELAXED);
        st->reclaims += __atomic_load_n(&kf->avc[i].reclaims, __ATOMIC_RELAXED);
    }
    st->lookups = st->hits + st->misses;
}
