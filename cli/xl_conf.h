/* xl_conf.h - xl.conf, xl's host-wide settings (Xen's grammar and keys; see xl.conf(5)), read
 * through liblight's kl_xl_conf (keel/kl_xlconf.h), which keeld shares. */
#ifndef KEEL_XL_CONF_H
#define KEEL_XL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/kl_light.h"
#include "keel/kl_xlconf.h"

/* Read $KEEL_XL_CONF, else $(sysconfdir)/keel/xl.conf (a missing file is no error). Prints
 * the file's errors and returns -1 when it cannot be parsed or a value is invalid. With
 * verbose set, also prints a note for every key Keel accepts but does not act on. */
int xl_conf_load(int verbose);
/* The loaded settings (NULL before xl_conf_load: liblight's defaults). */
const kl_xl_conf *xl_conf(void);
/* claim_mode (default 1, as Xen's): xl create claims a domain's memory before building it. */
int xl_conf_claim_mode(void);
/* The path read (or that would be read). */
const char *xl_conf_path(void);
/* Defaults from xl.conf for what a domain's config leaves unset: vif script, bridge,
 * gateway device; max_grant_frames, max_maptrack_frames. Prints, once, the notes for
 * keys set in xl.conf that Keel does not act on but that would change a domain on Xen. */
int xl_conf_apply_domain(kl_domain_config *dc);
int xl_conf_apply_nic(kl_device_nic *nic);
/* The global affinity masks vm.cpumask and vm.pv.cpumask (Keel's guests are paravirtual;
 * vm.hvm.cpumask is checked but applies to none). Set: at least one of them is in xl.conf. */
bool xl_conf_cpumask_set(void);
/* AND map (bit N = CPU N) with the masks; -1 when nothing is left (map is then empty). */
int xl_conf_cpumask_and(uint64_t map[KEEL_CPUMAP_WORDS]);
/* `vm.cpumask="1" and vm.pv.cpumask="0-3" in FILE`, for messages. */
void xl_conf_cpumask_describe(char *buf, size_t len);
/* xl create: every vCPU's hard affinity (cpus=, or every CPU) ANDed with the masks in dc;
 * -1 (printed: the domain, the vCPU, its affinity and the masks) when one would be empty. */
int xl_conf_apply_cpumask(kl_domain_config *dc);
/* xl.conf's lockfile (default <rundir>/xl.lock), held with a POSIX record lock (not
 * inherited by a forked monitor) while a domain is created. Returns the fd; -2 when the
 * default lockfile's runtime directory does not exist (no host: nothing to serialise, the
 * caller goes on and reports the missing host); -1 on an error (printed). */
int xl_conf_lock(void);
void xl_conf_unlock(int fd);

#endif
