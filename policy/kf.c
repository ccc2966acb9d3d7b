/* kf.c - the libkeelflask handle: policy load and reload, contexts and SIDs, decisions,
 * the enforcement check with auditing, and booleans (see kf.h). */
#include "kf_handle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/klog.h"

int kf_create(kf_t **out)
{
    struct kf *kf = calloc(1, sizeof(*kf));

    if (!kf)
        return -ENOMEM;
    pthread_rwlock_init(&kf->lock, NULL);
    pthread_mutex_init(&kf->sid_lock, NULL);
    pthread_mutex_init(&kf->audit_lock, NULL);
    atomic_store(&kf->enforcing, 1);
    if (kf_avc_init(kf)) {
        kf_destroy(kf);
        return -ENOMEM;
    }
    *out = kf;
    return 0;
}

void kf_destroy(kf_t *kf)
{
    if (!kf)
        return;
    kf_avc_fini(kf);
    kf_sid_free(kf);
    kf_db_free(kf->db);
    pthread_rwlock_destroy(&kf->lock);
    pthread_mutex_destroy(&kf->sid_lock);
    pthread_mutex_destroy(&kf->audit_lock);
    free(kf);
}

void kf_expect_classes(kf_t *kf, const char *const *names, unsigned n)
{
    pthread_rwlock_wrlock(&kf->lock);
    kf->expect_classes = names;
    kf->nexpect = n;
    pthread_rwlock_unlock(&kf->lock);
}

static int check_classes(kf_t *kf, const struct kf_policydb *db, char *err, size_t errlen)
{
    for (unsigned i = 1; i <= kf->nexpect; i++)
        if (i > db->nclasses || strcmp(db->classes[i - 1].name, kf->expect_classes[i])) {
            if (err && errlen)
                snprintf(err, errlen, "class %u is %s in the policy but %s in the hypervisor",
                         i, i > db->nclasses ? "missing" : db->classes[i - 1].name,
                         kf->expect_classes[i]);
            return -EPROTO;
        }
    return 0;
}

int kf_load(kf_t *kf, const void *image, size_t len, char *err, size_t errlen)
{
    struct kf_policydb *ndb = NULL, *old;
    int rc = kf_db_read(&ndb, image, len, err, errlen);

    if (rc) {
        klog_debug("flask", "policy rejected: %s", err ? err : "");
        return rc;
    }
    pthread_rwlock_rdlock(&kf->lock);
    rc = check_classes(kf, ndb, err, errlen);
    pthread_rwlock_unlock(&kf->lock);
    if (rc) {
        kf_db_free(ndb);
        return rc;
    }
    pthread_rwlock_wrlock(&kf->lock);
    rc = kf_sid_reload(kf, ndb);
    if (rc) {
        pthread_rwlock_unlock(&kf->lock);
        kf_db_free(ndb);
        if (err && errlen)
            snprintf(err, errlen, "out of memory converting the SID table");
        return rc;
    }
    old = kf->db;
    kf->db = ndb;
    kf->seqno++;
    kf_avc_flush(kf);
    pthread_rwlock_unlock(&kf->lock);
    kf_db_free(old);
    return 0;
}

int kf_load_file(kf_t *kf, const char *path, char *err, size_t errlen)
{
    struct stat st;
    void *buf;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0) {
        rc = -errno;
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > (64 << 20)) {
        close(fd);
        if (err && errlen)
            snprintf(err, errlen, "%s: not a plausible policy file", path);
        return -EINVAL;
    }
    buf = malloc((size_t)st.st_size);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    got = read(fd, buf, (size_t)st.st_size);
    close(fd);
    if (got != st.st_size) {
        free(buf);
        if (err && errlen)
            snprintf(err, errlen, "%s: short read", path);
        return -EIO;
    }
    rc = kf_load(kf, buf, (size_t)st.st_size, err, errlen);
    free(buf);
    return rc;
}

uint32_t kf_seqno(kf_t *kf)
{
    uint32_t s;

    pthread_rwlock_rdlock(&kf->lock);
    s = kf->seqno;
    pthread_rwlock_unlock(&kf->lock);
    return s;
}

int kf_policy_version(kf_t *kf, uint32_t *version)
{
    int rc = -EAGAIN;

    pthread_rwlock_rdlock(&kf->lock);
    if (kf->db) {
        *version = kf->db->version;
        rc = 0;
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_get_enforcing(kf_t *kf)
{
    return atomic_load(&kf->enforcing);
}

void kf_set_enforcing(kf_t *kf, int enforcing)
{
    int was = atomic_exchange(&kf->enforcing, enforcing ? 1 : 0);

    if (enforcing && !was) /* drop what permissive mode granted in the cache */
        kf_avc_flush(kf);
}

int kf_context_to_sid(kf_t *kf, const char *context, kf_sid_t *sid)
{
    struct kf_context c;
    int rc = -EAGAIN;

    pthread_rwlock_rdlock(&kf->lock);
    if (kf->db) {
        rc = kf_db_parse_context(kf->db, context, &c);
        if (!rc)
            rc = kf_sid_intern(kf, context, &c, sid);
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_sid_to_context(kf_t *kf, kf_sid_t sid, char *buf, size_t len)
{
    struct kf_context c;
    int rc = -EAGAIN;

    pthread_rwlock_rdlock(&kf->lock);
    if (kf->db) {
        rc = kf_sid_lookup(kf, sid, &c);
        if (!rc)
            rc = kf_db_format_context(kf->db, &c, buf, len);
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_initial_sid(kf_t *kf, uint32_t isid, kf_sid_t *sid)
{
    struct kf_context c;
    int rc = -EAGAIN;

    if (!isid || isid > KF_MAX_ISID)
        return -EINVAL;
    pthread_rwlock_rdlock(&kf->lock);
    if (kf->db) {
        rc = kf_sid_lookup(kf, isid, &c) ? -ENOENT : 0;
        *sid = isid;
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_class_value(kf_t *kf, const char *name, uint16_t *tclass)
{
    uint32_t v;
    int rc = -EAGAIN;

    pthread_rwlock_rdlock(&kf->lock);
    if (kf->db) {
        rc = kf_names_find(&kf->db->class_names, name, &v) ? -ENOENT : 0;
        if (!rc)
            *tclass = (uint16_t)v;
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_perm_bit(kf_t *kf, uint16_t tclass, const char *perm, uint32_t *bit)
{
    int rc = -EAGAIN;

    pthread_rwlock_rdlock(&kf->lock);
    if (kf->db) {
        rc = -ENOENT;
        if (tclass >= 1 && tclass <= kf->db->nclasses) {
            const struct kf_class *cl = &kf->db->classes[tclass - 1];

            for (uint32_t i = 0; i < cl->nperms; i++)
                if (cl->perms[i] && !strcmp(cl->perms[i], perm)) {
                    *bit = 1u << i;
                    rc = 0;
                    break;
                }
        }
    }
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_compute_av(kf_t *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, struct kf_av *av)
{
    int rc;

    pthread_rwlock_rdlock(&kf->lock);
    rc = kf_compute_locked(kf, ssid, tsid, tclass, av);
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_avc_lookup(kf_t *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, struct kf_av *av)
{
    int rc = -EAGAIN;

    pthread_rwlock_rdlock(&kf->lock);
    if (kf->db)
        rc = kf_avc_query(kf, ssid, tsid, tclass, av);
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

int kf_compute_create(kf_t *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, kf_sid_t *out)
{
    struct kf_context s, t, n;
    char str[1024];
    uint32_t type;
    int rc = -EAGAIN;

    pthread_rwlock_rdlock(&kf->lock);
    if (!kf->db)
        goto out;
    rc = -EINVAL;
    if (kf_sid_lookup(kf, ssid, &s) || kf_sid_lookup(kf, tsid, &t) || !tclass ||
        tclass > kf->db->nclasses)
        goto out;
    /* user and role from the source; type from a type_transition rule, else the target's */
    n = s;
    n.type = kf_db_compute_type(kf->db, s.type, t.type, tclass, &type) ? t.type : type;
    if (!kf_db_context_valid(kf->db, &n))
        n.role = 1; /* object_r */
    rc = kf_db_format_context(kf->db, &n, str, sizeof(str));
    if (rc >= 0)
        rc = kf_sid_intern(kf, str, &n, out);
out:
    pthread_rwlock_unlock(&kf->lock);
    return rc;
}

void kf_set_audit(kf_t *kf, kf_audit_fn *fn, void *arg)
{
    pthread_mutex_lock(&kf->audit_lock);
    kf->audit_fn = fn;
    kf->audit_arg = arg;
    pthread_mutex_unlock(&kf->audit_lock);
}

int kf_has_perm(kf_t *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, uint32_t requested,
                const char *extra)
{
    struct kf_av av;
    uint32_t denied, audited;
    char line[1024];
    int rc, have_line = 0, granted;

    pthread_rwlock_rdlock(&kf->lock);
    rc = kf->db ? kf_avc_query(kf, ssid, tsid, tclass, &av) : -EAGAIN;
    if (rc) {
        pthread_rwlock_unlock(&kf->lock);
        return rc == -EAGAIN && !atomic_load(&kf->enforcing) ? 0 : -EACCES;
    }
    denied = requested & ~av.allowed;
    granted = !denied;
    audited = denied ? denied & av.auditdeny : requested & av.auditallow;
    if (audited && kf->audit_fn)
        have_line = kf_format_locked(kf, line, sizeof(line), granted, ssid, tsid, tclass,
                                     audited, extra) > 0;
    if (denied && !atomic_load(&kf->enforcing))
        kf_avc_grant(kf, ssid, tsid, tclass, denied); /* audit each denial once */
    pthread_rwlock_unlock(&kf->lock);
    if (have_line) {
        pthread_mutex_lock(&kf->audit_lock);
        if (kf->audit_fn)
            kf->audit_fn(kf->audit_arg, line);
        pthread_mutex_unlock(&kf->audit_lock);
    }
    if (denied && atomic_load(&kf->enforcing))
        return -EACCES;
    return 0;
}
