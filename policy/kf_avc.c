/* kf_avc.c - the access vector cache: a set-associative table of recent decisions, each set
 * under its own lock; a generation number invalidates everything at once (reload, boolean
 * commit, flush). */
#include "kf_handle.h"

#include <errno.h>
#include <stdlib.h>

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

int kf_avc_query(struct kf *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, struct kf_av *av)
{
    struct kf_avc_set *set = &kf->avc[set_of(ssid, tsid, tclass)];
    unsigned gen = atomic_load(&kf->avc_gen);
    int rc;

    atomic_fetch_add_explicit(&kf->st_lookups, 1, memory_order_relaxed);
    pthread_mutex_lock(&set->lock);
    for (int i = 0; i < KF_AVC_WAYS; i++) {
        struct kf_avc_node *n = &set->n[i];

        if (n->gen == gen && n->ssid == ssid && n->tsid == tsid && n->tclass == tclass) {
            *av = n->av;
            pthread_mutex_unlock(&set->lock);
            atomic_fetch_add_explicit(&kf->st_hits, 1, memory_order_relaxed);
            return 0;
        }
    }
    pthread_mutex_unlock(&set->lock);
    atomic_fetch_add_explicit(&kf->st_misses, 1, memory_order_relaxed);
    rc = kf_compute_locked(kf, ssid, tsid, tclass, av);
    if (rc)
        return rc;
    pthread_mutex_lock(&set->lock);
    {
        struct kf_avc_node *victim = NULL;

        for (int i = 0; i < KF_AVC_WAYS && !victim; i++)
            if (set->n[i].gen != gen)
                victim = &set->n[i];
        if (!victim) {
            victim = &set->n[set->next_victim++ % KF_AVC_WAYS];
            atomic_fetch_add_explicit(&kf->st_reclaims, 1, memory_order_relaxed);
        }
        victim->ssid = ssid;
        victim->tsid = tsid;
        victim->tclass = tclass;
        victim->av = *av;
        victim->gen = gen;
    }
    pthread_mutex_unlock(&set->lock);
    return 0;
}

void kf_avc_flush(kf_t *kf)
{
    unsigned g = atomic_fetch_add(&kf->avc_gen, 1) + 1;

    if (g == 0) /* generation 0 marks empty nodes */
        atomic_fetch_add(&kf->avc_gen, 1);
}

void kf_avc_stats(kf_t *kf, struct kf_avc_stats *st)
{
    st->lookups = atomic_load(&kf->st_lookups);
    st->hits = atomic_load(&kf->st_hits);
    st->misses = atomic_load(&kf->st_misses);
    st->reclaims = atomic_load(&kf->st_reclaims);
}
