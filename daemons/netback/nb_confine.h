/* nb_confine.h - keel-netback's worker confinement (see nb_confine.c and README.md). */
#ifndef NB_CONFINE_H
#define NB_CONFINE_H

#include <stddef.h>

#define NB_NOFILE 64                 /* RLIMIT_NOFILE of a worker (soft and hard) */

/* Right after fork: close inherited descriptors, cap RLIMIT_NOFILE, set no_new_privs. */
int nb_confine_child(void);
/* Once set up (store, core, tap, statistics file open): the steady state's seccomp filter. */
int nb_confine_filter(char *err, size_t errlen);

#endif
