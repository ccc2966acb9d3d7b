/* xl_conf.h - xl.conf, xl's host-wide settings (Xen's grammar and keys; see xl.conf(5)). */
#ifndef KEEL_XL_CONF_H
#define KEEL_XL_CONF_H

#include "keel/kl_light.h"

/* Read $KEEL_XL_CONF, else $(sysconfdir)/keel/xl.conf (a missing file is no error). Prints
 * the file's errors and returns -1 when it cannot be parsed or a value is invalid. With
 * verbose set, also prints a note for every key Keel accepts but does not act on. */
int xl_conf_load(int verbose);
/* claim_mode (default 1, as Xen's): xl create claims a domain's memory before building it. */
int xl_conf_claim_mode(void);
/* The path read (or that would be read). */
const char *xl_conf_path(void);
/* Defaults from xl.conf for what a domain's config leaves unset: vif script, bridge,
 * gateway device; max_grant_frames, max_maptrack_frames. Prints, once, the notes for
 * keys set in xl.conf that Keel does not act on but that would change a domain on Xen. */
int xl_conf_apply_domain(kl_domain_config *dc);
int xl_conf_apply_nic(kl_device_nic *nic);
/* xl.conf's lockfile (default <rundir>/xl.lock), held with a POSIX record lock (not
 * inherited by a forked monitor) while a domain is created. Returns the fd; -2 when the
 * default lockfile's runtime directory does not exist (no host: nothing to serialise, the
 * caller goes on and reports the missing host); -1 on an error (printed). */
int xl_conf_lock(void);
void xl_conf_unlock(int fd);

#endif
