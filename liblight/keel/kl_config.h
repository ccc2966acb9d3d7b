/* kl_config.h - from an xl.cfg to a typed, validated kl_domain_config and back.
 *
 * kl_domain_config_from_cfg reads the keys xl reads for a PVH guest, checks kinds, ranges and
 * cross-field rules, and parses the device spec strings. Every problem becomes a diagnostic
 * "file:line:col: key: message"; all are reported, and on any error the output is untouched.
 * Keys that Xen knows but Keel does not implement, and keys nobody knows, are warnings (or
 * errors with KL_CONV_STRICT). */
#ifndef KEEL_KL_CONFIG_H
#define KEEL_KL_CONFIG_H

#include <keel/kl_cfg.h>
#include <keel/kl_diag.h>
#include <keel/kl_types.h>

#define KL_MAX_VCPUS 128
#define KL_MEMORY_MAX_MIB (1024 * 1024) /* 1 TiB */
#define KL_CPU_WEIGHT_MAX 65535
#define KL_CAP_MAX (100 * KL_MAX_VCPUS)

enum {
    KL_CONV_STRICT = 1,  /* unknown and unsupported keys are errors, not warnings */
    KL_CONV_NO_UUID = 2, /* leave a missing uuid nil instead of generating one */
};

/* dc must be initialised; it is replaced only on success. 0, -EINVAL, -ENOMEM. */
int kl_domain_config_from_cfg(kl_domain_config *dc, const kl_cfg *cfg, unsigned flags,
                              kl_diag *d);
/* Parse a file, apply `key=value` overrides (as xl create's trailing arguments) and convert. */
int kl_domain_config_load(kl_domain_config *dc, const char *path, int noverrides,
                          char *const overrides[], unsigned flags, kl_diag *d);
/* The config as xl.cfg text that converts back to an equal config (malloc'd; NULL: ENOMEM). */
char *kl_domain_config_to_cfg(const kl_domain_config *dc);

/* The JSON xl prints for a domain (`xl create -N`, one element of `xl list -l`):
 * {"domid": DOMID or null when domid < 0, "config": <kl_domain_config_to_json>}.
 * malloc'd; NULL on error. */
char *kl_domain_config_to_xl_json(const kl_domain_config *dc, int domid);

/* Fill what the config leaves to the library, as libxl does before creating a domain:
 * type pvh; a nil uuid generated; one vCPU if none, all vCPUs online if avail_vcpus is empty;
 * memory 32 MiB when neither size is set, otherwise the missing one equal to the other;
 * credit weight 256 and cap 0; vif MACs random in Xen's OUI 00:16:3e (locally unique per
 * call), bridge xenbr0; disk format raw; vTPM uuids generated; devids from list positions.
 * Idempotent. 0, -EINVAL (max_memkb < target_memkb, avail beyond max_vcpus), -ENOMEM. */
#define KL_DEFAULT_MEMKB (32 * 1024)
/* 0 if this host can run the config; -EINVAL with one error per reason otherwise: a type
 * other than pvh, Xen-only settings kept in xen_only. kl_domain_config_setdefault calls it. */
int kl_domain_config_runnable(const kl_domain_config *dc, kl_diag *d);
#define KL_DEFAULT_WEIGHT 256
int kl_domain_config_setdefault(kl_domain_config *dc, kl_diag *d);

/* Device spec strings as in vif=[...], disk=[...], vtpm=[...], p9=[...], channel=[...].
 * The device must be initialised; it is replaced only on success. */
int kl_device_nic_parse_spec(kl_device_nic *nic, const char *spec, kl_diag *d);
int kl_device_disk_parse_spec(kl_device_disk *disk, const char *spec, kl_diag *d);
int kl_device_vtpm_parse_spec(kl_device_vtpm *vtpm, const char *spec, kl_diag *d);
int kl_device_p9_parse_spec(kl_device_p9 *p9, const char *spec, kl_diag *d);
int kl_device_channel_parse_spec(kl_device_channel *ch, const char *spec, kl_diag *d);
/* ... and back (malloc'd; NULL on ENOMEM). */
char *kl_device_nic_to_spec(const kl_device_nic *nic);
char *kl_device_disk_to_spec(const kl_device_disk *disk);
char *kl_device_vtpm_to_spec(const kl_device_vtpm *vtpm);
char *kl_device_p9_to_spec(const kl_device_p9 *p9);
char *kl_device_channel_to_spec(const kl_device_channel *ch);

/* A CPU list as in cpus=: "all", "3", "0-3", "^2", "0-7,^3" (terms applied left to right;
 * "all" is every CPU of this host). NUMA "nodes:" terms are not supported. 0 or -EINVAL. */
int kl_cpulist_parse(kl_bitmap *b, const char *s, kl_diag *d);

/* Names used by xl.cfg for the on_* actions ("rename-restart", ...). */
const char *kl_action_to_xl(kl_action_on_shutdown a);
int kl_action_from_xl(const char *s, kl_action_on_shutdown *out);

#endif
