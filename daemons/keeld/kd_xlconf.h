/* kd_xlconf.h - keeld's copy of xl.conf (liblight's kl_xl_conf, the file xl reads), loaded at
 * start from --xl-conf FILE (default: xl's, $KEEL_XL_CONF or $(sysconfdir)/keel/xl.conf) and
 * applied by domain.create and domain.restore as xl applies it (kd_xlconf.c). */
#ifndef KD_XLCONF_H
#define KD_XLCONF_H

#include "keel/kl_light.h"
#include "keel/kl_xlconf.h"

/* Read path (NULL: xl's default). Errors are printed on stderr with file, line and key: -1. */
int kd_xlconf_load(const char *path);
void kd_xlconf_free(void);
const kl_xl_conf *kd_xlconf(void);
/* A configuration about to be created or restored: the vif and grant-frame defaults, then the
 * global affinity masks. -1 with the reason in msg (a vCPU left with no CPU, out of memory). */
int kd_xlconf_apply(kl_domain_config *dc, char *msg, size_t len);
/* KL_CREATE_CLAIM when claim_mode is on (the default, as Xen's). */
unsigned kd_xlconf_create_flags(void);

#endif
