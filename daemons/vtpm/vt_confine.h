/* vt_confine.h - confinement of keel-vtpmd's instance processes (see vt_confine.c). */
#ifndef VT_CONFINE_H
#define VT_CONFINE_H

#include <stddef.h>
#include <stdint.h>

#define VT_INST_FD 3                     /* the instance's socketpair end after confinement */
#define VT_INST_NOFILE 8
#define VT_INST_UID 65534                /* nobody */

/* Right after fork: keep only stdio and fd (moved to VT_INST_FD), limits, drop to uid/gid
 * VT_INST_UID (when root), no_new_privs. 0 or a negative errno. */
int vt_confine_child(int fd);
/* The instance's seccomp filter (steady state: read/write its socket, memory, randomness,
 * clocks, exit). 0 or a negative errno with err. */
int vt_confine_filter(char *err, size_t errlen);

/* vt_mconfine.c: the manager's own confinement after its setup (no capability, no_new_privs,
 * its seccomp filter). 0 or a negative errno with err. */
int vt_mconfine(char *err, size_t errlen);
/* Reduce the bounding, permitted and effective sets to keep (bit n = capability n), empty the
 * inheritable and ambient sets (root only). 0 or a negative errno with err. */
int vt_mconfine_caps(uint64_t keep, char *err, size_t errlen);

#endif
