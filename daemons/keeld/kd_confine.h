/* kd_confine.h - confinement of keeld's client-facing process (kd_confine.c). */
#ifndef KEEL_KD_CONFINE_H
#define KEEL_KD_CONFINE_H

#include <stddef.h>
#include <sys/types.h>

/* The user the client-facing process runs as: NAME or UID[:GID] (NULL: the user "keeld" if the
 * host has one, else "nobody", else 65534:65534). 0, or -EINVAL with err filled. */
int kd_confine_user(const char *spec, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/* In the client-facing process, once its descriptors are set up and before it reads a byte
 * from a client: new mount, network, IPC and UTS namespaces, chroot to a fresh read-only empty
 * tmpfs mounted on empty_dir, capability bounding set emptied, uid/gid (and no supplementary
 * groups), not dumpable, killed with the privileged part, no_new_privs, at most nofile
 * descriptors, then the seccomp filter of its role. As root all of it; as another user only
 * no_new_privs, the limit and the filter. 0 or a negative errno with err filled. */
int kd_confine_front(const char *empty_dir, uid_t uid, gid_t gid, unsigned nofile, char *err,
                     size_t errlen);

#endif
