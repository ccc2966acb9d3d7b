/* bb_confine.h - keel-blkback's worker confinement (bb_confine.c): descriptors, limits,
 * no_new_privs after fork; the seccomp filter of a worker's steady state. */
#ifndef BB_CONFINE_H
#define BB_CONFINE_H

#include <stddef.h>
#include <sys/types.h>

#define BB_NOFILE 64u           /* RLIMIT_NOFILE of a worker (soft and hard) */

/* In a new worker: close every descriptor above 2, cap RLIMIT_NOFILE, set no_new_privs. */
int bb_confine_child(void);
/* Load the worker's filter (nbd: a qdisk worker whose qemu-nbd is qemu_nbd). 0 or -errno. */
int bb_confine_filter(int nbd, pid_t qemu_nbd, char *err, size_t errlen);

#endif
