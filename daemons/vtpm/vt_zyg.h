/* vt_zyg.h - keel-vtpmd's instance launcher (zygote, vt_zyg.c): a small process forked before
 * the manager's setup that forks the confined instances on the manager's request and alone
 * holds the capabilities for it. */
#ifndef VT_ZYG_H
#define VT_ZYG_H

#include <stdint.h>
#include <sys/types.h>

/* Fork the launcher (first thing in main, before any secret or connection). 0 or -errno. */
int vt_zyg_start(void);
/* Its socket (the manager polls it: a hang-up means the launcher, and the instances, died). */
int vt_zyg_fd(void);
pid_t vt_zyg_pid(void);
/* Whether it still answers (once not, the manager stops: its instances died with it). */
int vt_zyg_alive(void);
/* The capabilities the launcher keeps (bit n = capability n). */
uint64_t vt_zyg_kept(void);
/* An instance on fd (its end of the socketpair; the caller closes its copy): *pid. */
int vt_zyg_spawn(const char *name, int fd, pid_t *pid);
/* SIGKILL one of the launcher's instances; reap: wait for it too and give *status. */
int vt_zyg_kill(pid_t pid, int reap, int *status);

#endif
