/* kf_handle.h - libkeelflask internals: the shared handle (policy, SID table, AVC, flags). */
#ifndef KEEL_KF_HANDLE_H
#define KEEL_KF_HANDLE_H

#include "kf.h"
#include "kf_db.h"

#include <pthread.h>
#include <stdatomic.h>

struct kf_sident {
    struct kf_context ctx;
    int valid;
    char *str; /* the context as given, re-resolved on reload (dynamic SIDs only) */
};

#define KF_AVC_SETS 512
#define KF_AVC_WAYS 4

struct kf_avc_node {
    kf_sid_t ssid, tsid;
    uint16_t tclass;
    uint32_t gen; /* 0: empty */
    struct kf_av av;
};

/* Readers never lock: a sequence counter (odd while a writer is inside) tells them to retry.
 * Writers serialise on the mutex.  Node fields are accessed with relaxed atomics. */
struct kf_avc_set {
    unsigned seq;
    unsigned next_victim;
    unsigned long long hits, misses, reclaims;
    pthread_mutex_t lock;
    struct kf_avc_node n[KF_AVC_WAYS];
};

struct kf {
    pthread_rwlock_t lock; /* policy, seqno, sidtab growth */
    struct kf_policydb *db;
    uint32_t seqno;
    atomic_int enforcing;
    atomic_uint avc_gen;
    pthread_mutex_t sid_lock;
    struct kf_sident *sids; /* SID s is sids[s - 1] */
    uint32_t nsids, capsids;
    struct kf_avc_set *avc;
    const char *const *expect_classes;
    unsigned nexpect;
    pthread_mutex_t audit_lock;
    kf_audit_fn *audit_fn;
    void *audit_arg;
};

/* kf_sid.c (callers hold kf->lock) */
int kf_sid_lookup(struct kf *kf, kf_sid_t sid, struct kf_context *ctx);
int kf_sid_intern(struct kf *kf, const char *str, const struct kf_context *ctx, kf_sid_t *sid);
int kf_sid_reload(struct kf *kf, struct kf_policydb *ndb);
void kf_sid_free(struct kf *kf);

/* kf_avc.c */
int kf_avc_init(struct kf *kf);
void kf_avc_fini(struct kf *kf);
/* With kf->lock held for reading. */
int kf_avc_query(struct kf *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, struct kf_av *av);
/* Permissive mode: grant bits in the cached decision so each denial is audited once. */
void kf_avc_grant(struct kf *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, uint32_t bits);
int kf_compute_locked(struct kf *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass,
                      struct kf_av *av);
int kf_format_locked(struct kf *kf, char *buf, size_t len, int granted, kf_sid_t ssid,
                     kf_sid_t tsid, uint16_t tclass, uint32_t perms, const char *extra);

#endif
