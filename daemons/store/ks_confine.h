/* ks_confine.h - confinement of keel-stored's request process (ks_confine.c): its own mount
 * namespace, a chroot to the state directory, an unprivileged uid/gid without capabilities,
 * no_new_privs, and a seccomp filter written for what the store does once it serves. */
#ifndef KS_CONFINE_H
#define KS_CONFINE_H

#include <stddef.h>
#include <sys/types.h>

/* As root: a private mount namespace, chroot(dir), then setgroups/setresgid/setresuid to
 * uid:gid (all capabilities go with the uid change). Not root: nothing but a check that dir
 * exists (the process keeps its uid). 1 if chrooted, 0 if not, or -errno with err filled in. */
int ks_confine_jail(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen);
/* no_new_privs and the request process's seccomp filter (kill the process on anything else,
 * and on any other architecture). 0 or -errno with err filled in. */
int ks_confine_filter(char *err, size_t errlen);

#endif
