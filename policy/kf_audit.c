/* kf_audit.c - the audit line "avc: denied { perms } [extra ]scontext=... tcontext=...
 * tclass=..." and the boolean interface of libkeelflask. */
#include "kf_handle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct outbuf {
    char *p;
    size_t len, off;
    int trunc;
};

__attribute__((format(printf, 2, 3))) static void put(struct outbuf *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->trunc)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->p + o->off, o->len - o->off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->len - o->off)
        o->trunc = 1;
    else
        o->off += (size_t)n;
}

int kf_format_locked(struct kf *kf, char *buf, size_t len, int granted, kf_sid_t ssid,
                     kf_sid_t tsid, uint16_t tclass, uint32_t perms, const char *extra)
{
    struct outbuf o = { buf, len, 0, 0 };
    const struct kf_class *cl;
    char sctx[512], tctx[512];

    if (!kf->db)
        return -EAGAIN;
    if (!len)
        return -ERANGE;
    if (!tclass || tclass > kf->db->nclasses)
        return -EINVAL;
    cl = &kf->db->classes[tclass - 1];
    put(&o, "avc: %s {", granted ? "granted" : "denied");
    for (uint32_t i = 0; i < 32; i++)
        if (perms & (1u << i)) {
            if (i < cl->nperms && cl->perms[i])
                put(&o, " %s", cl->perms[i]);
            else
                put(&o, " 0x%x", 1u << i);
        }
    put(&o, " } ");
    if (extra && *extra)
        put(&o, "%s ", extra);
    {
        struct kf_context s, t;

        if (kf_sid_lookup(kf, ssid, &s) || kf_db_format_context(kf->db, &s, sctx, sizeof(sctx)) < 0)
            snprintf(sctx, sizeof(sctx), "sid=%u", ssid);
        if (kf_sid_lookup(kf, tsid, &t) || kf_db_format_context(kf->db, &t, tctx, sizeof(tctx)) < 0)
            snprintf(tctx, sizeof(tctx), "sid=%u", tsid);
    }
    put(&o, "scontext=%s tcontext=%s tclass=%s", sctx, tctx, cl->name);
    return o.trunc ? -ERANGE : (int)o.off;
}

int kf_format_avc(kf_t *kf, char *buf, size_t len, int granted, kf_sid_t ssid, kf_sid_t tsid,
                  uint16_t tclass, uint32_t perms, const char *extra)
{
    int rc;

    pthread_rwlock_rdlock(&kf->lock);
    rc = kf_format_locked(kf, buf, len, granted, ssid, tsid, tclass, perms, extra);
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_bool_count(kf_t *kf)
{
    int n;

    pthread_rwlock_rdlock(&kf->lock);
    n = kf->db ? (int)kf->db->nbools : -EAGAIN;
    pthread_rwlock_unlock(&kf->lock);
    return n;
}

int kf_bool_name(kf_t *kf, int index, char *buf, size_t len)
{
    int rc = -EAGAIN;

    pthread_rwlock_rdlock(&kf->lock);
    if (kf->db) {
        rc = -ENOENT;
        if (index >= 0 && (uint32_t)index < kf->db->nbools) {
            rc = snprintf(buf, len, "%s", kf->db->bools[index].name);
            if (rc >= 0 && (size_t)rc >= len)
                rc = -ERANGE;
        }
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_bool_get(kf_t *kf, const char *name, int *value)
{
    uint32_t v;
    int rc = -EAGAIN;

    pthread_rwlock_rdlock(&kf->lock);
    if (kf->db) {
        rc = kf_names_find(&kf->db->bool_names, name, &v) ? -ENOENT : 0;
        if (!rc)
            *value = kf->db->bools[v - 1].state;
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_bool_set(kf_t *kf, const char *name, int value)
{
    uint32_t v;
    int rc = -EAGAIN;

    pthread_rwlock_wrlock(&kf->lock);
    if (kf->db) {
        rc = kf_names_find(&kf->db->bool_names, name, &v) ? -ENOENT : 0;
        if (!rc)
            kf->db->bools[v - 1].pending = value ? 1 : 0;
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_bool_commit(kf_t *kf)
{
    int rc = -EAGAIN;

    pthread_rwlock_wrlock(&kf->lock);
    if (kf->db) {
        for (uint32_t i = 0; i < kf->db->nbools; i++)
            kf->db->bools[i].state = kf->db->bools[i].pending;
        kf_db_eval_conds(kf->db);
        kf->seqno++;
        kf_avc_flush(kf);
        rc = 0;
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}
