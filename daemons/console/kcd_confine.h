/* kcd_confine.h - confinement of keel-consoled's serving process (kcd_confine.c): its own
 * mount, network, IPC and UTS namespaces, an empty read-only root, an unprivileged uid/gid
 * without capabilities, no_new_privs, and a seccomp filter written for what it does once it
 * serves. */
#ifndef KCD_CONFINE_H
#define KCD_CONFINE_H

#include <stddef.h>
#include <sys/types.h>

/* The user the serving process runs as: name, else keel-console, else nobody. 0, -ENOENT, or
 * -EINVAL for root. */
int kcd_confine_user(const char *name, uid_t *uid, gid_t *gid);
/* As root: new namespaces, chroot into an empty read-only tmpfs mounted (in the new mount
 * namespace only) on dir, an empty capability bounding set, then uid:gid. Not root: the uid is
 * kept. Both: not dumpable, SIGKILL when the parent dies, no core files, no new processes.
 * 0 or -errno with err filled in. */
int kcd_confine_jail(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen);
/* no_new_privs and the seccomp filter (anything else kills the process). */
int kcd_confine_filter(char *err, size_t errlen);

#endif
