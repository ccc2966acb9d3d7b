/* kconfine.h - the confinement steps the privilege-separated daemons' children share: new
 * namespaces with an empty read-only root, an empty capability bounding set and a switch to an
 * unprivileged user, the process bounds (not dumpable, killed with its parent, no core, no
 * fork), and a seccomp filter (libseccomp; default kill the process, other architectures
 * killed, no_new_privs) built from the daemon's own rules plus helpers for the rules every
 * such filter has. What each child may call stays in its daemon. Part of libkeelpriv.la. */
#ifndef KEEL_KCONFINE_H
#define KEEL_KCONFINE_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* snprintf "what: strerror(errno)" into err (EPERM when errno is 0); returns -errno. */
int kconfine_fail(char *err, size_t errlen, const char *what);

/* New mount, network, IPC and UTS namespaces, the mounts private, an empty read-only tmpfs
 * (named fsname) mounted on dir and chrooted into. Root only. 0 or a negative errno. */
int kconfine_empty_root(const char *dir, const char *fsname, char *err, size_t errlen);

/* The same namespaces, but the new root (a tmpfs on dir, read-only once built) holds the
 * directories keep[0..n) at their own paths, bind-mounted (read-write, nosuid, nodev, noexec;
 * not recursive), so a process that kept uid 0 sees nothing of the host but them. The
 * directories must exist and not lie under dir. Root only. 0 or a negative errno. */
int kconfine_bound_root(const char *dir, const char *fsname, const char *const *keep, int n,
                        char *err, size_t errlen);

/* Empty the capability bounding set, switch to uid/gid (supplementary groups: only gid when
 * own_group, else none) and check root cannot be regained. Refuses uid or gid 0. */
int kconfine_creds(uid_t uid, gid_t gid, bool own_group, char *err, size_t errlen);

/* Not dumpable, SIGKILL when the parent dies, RLIMIT_CORE and RLIMIT_NPROC 0, and
 * RLIMIT_NOFILE nofile unless 0. */
int kconfine_bounds(unsigned nofile, char *err, size_t errlen);

/* Allow each of the n system calls without a condition. 0, else nonzero. */
int kconfine_allow(scmp_filter_ctx ctx, const int *nrs, size_t n);

/* mmap and mprotect, never with PROT_EXEC (every child's filter). 0, else nonzero. */
int kconfine_allow_noexec(scmp_filter_ctx ctx);

/* No files: newfstatat only on a descriptor (glibc's fstat: AT_EMPTY_PATH), open and openat
 * fail with EACCES (a library looking for a file lazily fails instead of being killed). */
int kconfine_no_files(scmp_filter_ctx ctx);

/* The event-loop children's rules: kconfine_allow_noexec plus fcntl only F_GETFL/F_SETFL/
 * F_GETFD/F_SETFD. 0, else nonzero. */
int kconfine_allow_basic(scmp_filter_ctx ctx);

/* no_new_privs, then a filter of rules(ctx, arg) loaded on this thread; who names the process
 * in the error ("request process"). 0 or a negative errno with err set. */
int kconfine_seccomp(int (*rules)(scmp_filter_ctx ctx, void *arg), void *arg, const char *who,
                     char *err, size_t errlen);

#endif
