/* kf.h - libkeelflask: the FLASK security server the hypervisor core links for enforcement.
 *
 * Loads a binary policy in the Xen format (as `checkpolicy -t Xen` or keel-policyc write it),
 * validating every length and index as hostile input; maps security contexts to SIDs and back;
 * computes access vectors; keeps booleans, the enforcing flag and an access vector cache; formats
 * audit lines.  A handle is safe to share between threads: queries take a read lock, a policy
 * (re)load or a boolean commit swaps the policy under the write lock.  Every function returns 0
 * or a negative errno unless it says otherwise.  Class and permission numbers are the policy's
 * own (1-based class values, permission bit = 1 << (value - 1)), the same numbers the generated
 * header keel-flask-av.h names symbolically. */
#ifndef KEEL_KF_H
#define KEEL_KF_H

#include <stddef.h>
#include <stdint.h>

typedef struct kf kf_t;
typedef uint32_t kf_sid_t;

/* The decision for one (source SID, target SID, class). */
struct kf_av {
    uint32_t allowed;     /* permissions granted */
    uint32_t auditallow;  /* granted permissions to audit anyway */
    uint32_t auditdeny;   /* denied permissions to audit (cleared bits: dontaudit) */
    uint32_t seqno;       /* policy generation the decision was computed under */
};

/* AVC statistics. */
struct kf_avc_stats {
    uint64_t lookups, hits, misses, reclaims;
};

/* Called with each audit line (without trailing newline) when a decision must be audited. */
typedef void kf_audit_fn(void *arg, const char *line);

/* Create a security server with no policy loaded (every query fails with -EAGAIN until one is). */
int kf_create(kf_t **out);
void kf_destroy(kf_t *kf);

/* Load (or replace) the policy from a binary image.  On error the previous policy stays in
 * force and *err (if given) names what is wrong and at which offset.  SIDs handed out before
 * a reload stay valid: their contexts are re-resolved in the new policy; contexts the new
 * policy does not know map to the unlabeled initial SID's context. */
int kf_load(kf_t *kf, const void *image, size_t len, char *err, size_t errlen);
int kf_load_file(kf_t *kf, const char *path, char *err, size_t errlen);
/* From now on refuse (-EPROTO) any policy whose classes 1..n are not named names[1..n]
 * (names[0] unused), so the core's compiled-in SECCLASS_* numbers stay right; pass
 * keel_flask_class_names and SECCLASS_NUM from keel-flask-av.h.  The array must outlive kf. */
void kf_expect_classes(kf_t *kf, const char *const *names, unsigned n);
/* Policy generation number (0: none loaded; each load/boolean commit increments it). */
uint32_t kf_seqno(kf_t *kf);
/* Policy version, and whether the binary carried the Xen target string. */
int kf_policy_version(kf_t *kf, uint32_t *version);

/* Enforcing (1) or permissive (0).  A new handle is enforcing.  In permissive mode a denial
 * is audited once: the cached decision then grants it, until the cache is flushed (switching
 * back to enforcing flushes it). */
int kf_get_enforcing(kf_t *kf);
void kf_set_enforcing(kf_t *kf, int enforcing);

/* Contexts and SIDs. */
int kf_context_to_sid(kf_t *kf, const char *context, kf_sid_t *sid);
/* Writes the NUL-terminated context into buf; returns the length or -ERANGE if too small. */
int kf_sid_to_context(kf_t *kf, kf_sid_t sid, char *buf, size_t len);
/* The SID of initial SID number isid (1-based, as in initial_sids). */
int kf_initial_sid(kf_t *kf, uint32_t isid, kf_sid_t *sid);

/* Class and permission numbers by name (0 / -ENOENT). */
int kf_class_value(kf_t *kf, const char *name, uint16_t *tclass);
int kf_perm_bit(kf_t *kf, uint16_t tclass, const char *perm, uint32_t *bit);

/* Compute the decision, bypassing the cache. */
int kf_compute_av(kf_t *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, struct kf_av *av);
/* Same, through the access vector cache. */
int kf_avc_lookup(kf_t *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, struct kf_av *av);
/* The label of an object created by ssid with respect to tsid (type_transition), e.g. the
 * label of an event channel or of a domain built by another. */
int kf_compute_create(kf_t *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, kf_sid_t *out);

/* The enforcement check: 0 if every requested permission is granted (or the handle is
 * permissive), -EACCES otherwise.  Audits through the audit callback as the decision says;
 * extra (may be NULL) is inserted after the permission list, e.g. "for domid=3". */
int kf_has_perm(kf_t *kf, kf_sid_t ssid, kf_sid_t tsid, uint16_t tclass, uint32_t requested,
                const char *extra);
void kf_set_audit(kf_t *kf, kf_audit_fn *fn, void *arg);

/* Format "avc: denied { p1 p2 } [extra ]scontext=... tcontext=... tclass=..." (or "granted").
 * Returns the length written or a negative errno; truncation gives -ERANGE. */
int kf_format_avc(kf_t *kf, char *buf, size_t len, int granted, kf_sid_t ssid, kf_sid_t tsid,
                  uint16_t tclass, uint32_t perms, const char *extra);

/* Booleans: count, name by index, current value, pending value set + commit. */
int kf_bool_count(kf_t *kf);
int kf_bool_name(kf_t *kf, int index, char *buf, size_t len);
int kf_bool_get(kf_t *kf, const char *name, int *value);
int kf_bool_set(kf_t *kf, const char *name, int value); /* takes effect at kf_bool_commit */
int kf_bool_commit(kf_t *kf);

/* AVC control. */
void kf_avc_flush(kf_t *kf);
void kf_avc_stats(kf_t *kf, struct kf_avc_stats *st);

#endif
