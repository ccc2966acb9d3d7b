/* kl_xlconf.h - xl.conf, the host-wide toolstack settings (Xen's grammar and keys; xl.conf(5)),
 * read once and shared by xl and keeld: claim_mode, the global affinity masks vm.cpumask and
 * vm.pv.cpumask, the vif defaults, the grant frame limits, the lockfile, and notes for the keys
 * Xen acts on that Keel accepts without an effect (liblight/config/xlconf.c). */
#ifndef KEEL_KL_XLCONF_H
#define KEEL_KL_XLCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <keel/kl_config.h>
#include <keel/kl_diag.h>
#include <keel/kl_light.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kl_xl_conf kl_xl_conf;

/* $KEEL_XL_CONF when set and not empty, else the installed $(sysconfdir)/keel/xl.conf. */
const char *kl_xl_conf_default_path(void);
/* Read path (NULL: kl_xl_conf_default_path()). A file that does not exist gives the defaults
 * (Xen's: claim_mode 1, no masks). Errors go to d with file, line and key ("FILE:LINE: KEY:
 * invalid value ..."); -EINVAL (bad value or syntax) or another negative errno, *out NULL. */
int kl_xl_conf_load(kl_xl_conf **out, const char *path, kl_diag *d);
void kl_xl_conf_free(kl_xl_conf *c);
/* The path read (or that would have been read). */
const char *kl_xl_conf_path(const kl_xl_conf *c);
/* claim_mode (default 1): creates and restores claim a domain's memory first
 * (KL_CREATE_CLAIM). NULL c: the default. */
bool kl_xl_conf_claim_mode(const kl_xl_conf *c);
/* The lockfile key, NULL when absent (the caller's default: <rundir>/xl.lock). */
const char *kl_xl_conf_lockfile(const kl_xl_conf *c);
/* "FILE:LINE: note: KEY is accepted but has no effect in Keel: WHY\n" lines, or "". */
const char *kl_xl_conf_notes(const kl_xl_conf *c);

/* Defaults for what a vif leaves unset (vif.default.script/.bridge/.gatewaydev, and the
 * deprecated vifscript, defaultbridge); -ENOMEM. */
int kl_xl_conf_apply_nic(const kl_xl_conf *c, kl_device_nic *nic);
/* Those for every vif of dc, and max_grant_frames / max_maptrack_frames when dc leaves them
 * unset; -ENOMEM. */
int kl_xl_conf_apply_domain(const kl_xl_conf *c, kl_domain_config *dc);

/* The global affinity masks: at least one of vm.cpumask, vm.pv.cpumask is set (Keel's guests
 * are paravirtual; vm.hvm.cpumask is checked but applies to none). */
bool kl_xl_conf_cpumask_set(const kl_xl_conf *c);
/* AND map (bit N = CPU N) with the masks; -ENOSPC when no CPU is left (map then empty). */
int kl_xl_conf_cpumask_and(const kl_xl_conf *c, uint64_t map[KEEL_CPUMAP_WORDS]);
/* `vm.cpumask="1" and vm.pv.cpumask="0-3" in FILE`, for messages. */
void kl_xl_conf_cpumask_describe(const kl_xl_conf *c, char *buf, size_t len);
/* Every vCPU's hard affinity in dc (cpus=, or every CPU) ANDed with the masks. -ENOSPC when one
 * would be left with no CPU, with "domain 'NAME': vcpu hard affinity map is empty: vCPU N's
 * hard affinity A ANDed with the global affinity masks M leaves no CPU" in err (dc's affinity
 * then partly masked: the caller gives up); -ENOMEM. Nothing to do without masks. */
int kl_xl_conf_apply_cpumask(const kl_xl_conf *c, kl_domain_config *dc, char *err,
                             size_t errlen);

/* The host settings a context applies to domains that arrive inside liblight (the
 * configuration carried by a migration stream): kl_domain_migrate_receive and
 * kl_domain_remus_receive AND the incoming domain's affinity with c's masks before anything is
 * created (a vCPU left with no CPU fails the receive, no domain left). c must outlive its use on ctx; NULL: none. */
void kl_ctx_set_xl_conf(kl_ctx *ctx, const kl_xl_conf *c);

#ifdef __cplusplus
}
#endif
#endif
