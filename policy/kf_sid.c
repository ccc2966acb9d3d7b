/* kf_sid.c - the SID table: SIDs 1..KF_MAX_ISID are the policy's initial SIDs, later SIDs are
 * handed out for contexts on first use and keep their number across policy reloads. */
#include "kf_handle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int kf_sid_lookup(struct kf *kf, kf_sid_t sid, struct kf_context *ctx)
{
    int rc = -EINVAL;

    pthread_mutex_lock(&kf->sid_lock);
    if (sid >= 1 && sid <= kf->nsids && kf->sids[sid - 1].valid) {
        *ctx = kf->sids[sid - 1].ctx;
        rc = 0;
    }
    pthread_mutex_unlock(&kf->sid_lock);
    return rc;
}

static int grow(struct kf *kf, uint32_t need)
{
    struct kf_sident *n;
    uint32_t cap = kf->capsids ? kf->capsids : 128;

    if (need <= kf->capsids)
        return 0;
    while (cap < need)
        cap *= 2;
    n = realloc(kf->sids, cap * sizeof(*n));
    if (!n)
        return -ENOMEM;
    memset(n + kf->capsids, 0, (cap - kf->capsids) * sizeof(*n));
    kf->sids = n;
    kf->capsids = cap;
    return 0;
}

int kf_sid_intern(struct kf *kf, const char *str, const struct kf_context *ctx, kf_sid_t *sid)
{
    int rc = 0;

    pthread_mutex_lock(&kf->sid_lock);
    for (uint32_t i = 0; i < kf->nsids; i++) {
        const struct kf_context *c = &kf->sids[i].ctx;

        if (kf->sids[i].valid && c->user == ctx->user && c->role == ctx->role &&
            c->type == ctx->type) {
            *sid = i + 1;
            goto out;
        }
    }
    rc = grow(kf, kf->nsids + 1);
    if (rc)
        goto out;
    kf->sids[kf->nsids].str = strdup(str);
    if (!kf->sids[kf->nsids].str) {
        rc = -ENOMEM;
        goto out;
    }
    kf->sids[kf->nsids].ctx = *ctx;
    kf->sids[kf->nsids].valid = 1;
    *sid = ++kf->nsids;
out:
    pthread_mutex_unlock(&kf->sid_lock);
    return rc;
}

/* Called with kf->lock held for writing, before ndb replaces kf->db. */
int kf_sid_reload(struct kf *kf, struct kf_policydb *ndb)
{
    struct kf_context unl = { 0, 0, 0 };
    int have_unl = 0, rc;

    pthread_mutex_lock(&kf->sid_lock);
    rc = grow(kf, KF_MAX_ISID);
    if (rc)
        goto out;
    if (kf->nsids < KF_MAX_ISID)
        kf->nsids = KF_MAX_ISID;
    for (uint32_t i = 0; i < KF_MAX_ISID; i++)
        kf->sids[i].valid = 0;
    for (uint32_t i = 0; i < ndb->nisids; i++) {
        struct kf_sident *e = &kf->sids[ndb->isids[i].sid - 1];

        e->ctx = ndb->isids[i].ctx;
        e->valid = 1;
        if (ndb->isids[i].sid == KF_UNLABELED_ISID) {
            unl = e->ctx;
            have_unl = 1;
        }
    }
    for (uint32_t i = KF_MAX_ISID; i < kf->nsids; i++) {
        struct kf_sident *e = &kf->sids[i];

        if (!e->str)
            continue;
        if (kf_db_parse_context(ndb, e->str, &e->ctx) == 0)
            e->valid = 1;
        else {
            e->ctx = unl;
            e->valid = have_unl;
        }
    }
out:
    pthread_mutex_unlock(&kf->sid_lock);
    return rc;
}

void kf_sid_free(struct kf *kf)
{
    for (uint32_t i = 0; i < kf->nsids; i++)
        free(kf->sids[i].str);
    free(kf->sids);
    kf->sids = NULL;
    kf->nsids = kf->capsids = 0;
}
