/* kconfine.c - the shared steps of confining a daemon's child: empty root in new namespaces,
 * credentials, process bounds, and the seccomp filter's frame and common rules. See
 * kconfine.h. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kconfine.h"

/* libseccomp's SCMP_An() macros leave datum_b out (clang warns under -Wextra). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

int kconfine_fail(char *err, size_t errlen, const char *what)
{
    int e = errno ? errno : EPERM;

    snprintf(err, errlen, "%s: %s", what, strerror(e));
    return -e;
}

int kconfine_empty_root(const char *dir, const char *fsname, char *err, size_t errlen)
{
    if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
        return kconfine_fail(err, errlen, "unshare (mount, network, IPC, UTS namespaces)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return kconfine_fail(err, errlen, "making the mounts private");
    if (mount(fsname, dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=4k,nr_inodes=2,mode=0555") < 0)
        return kconfine_fail(err, errlen, "mounting an empty tmpfs");
    if (chroot(dir) < 0 || chdir("/") < 0)
        return kconfine_fail(err, errlen, "chroot to the empty directory");
    return 0;
}

/* mkdir -p of path under root (0755 each, in the new root's tmpfs). */
static int mkdirs_under(const char *root, const char *path, char *out, size_t outlen)
{
    size_t rl = strlen(root);

    if ((size_t)snprintf(out, outlen, "%s%s", root, path) >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = out + rl + 1; ; p++) {
        char c = *p;
        if (c != '/' && c)
            continue;
        *p = 0;
        if (mkdir(out, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = c;
        if (!c)
            return 0;
    }
}

static int bind_keep(const char *dir, const char *path, char *err, size_t errlen)
{
    char at[4096];

    if (path[0] != '/' || mkdirs_under(dir, path, at, sizeof(at)) < 0)
        return kconfine_fail(err, errlen, "making a mount point in the new root");
    if (mount(path, at, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
        int rc = kconfine_fail(err, errlen, "bind-mounting a kept directory");
        size_t l = strlen(err);
        snprintf(err + l, errlen > l ? errlen - l : 0, " (%s)", path);
        return rc;
    }
    return 0;
}

int kconfine_bound_root(const char *dir, const char *fsname, const char *const *keep, int n,
                        char *err, size_t errlen)
{
    int rc;

    if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
        return kconfine_fail(err, errlen, "unshare (mount, network, IPC, UTS namespaces)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return kconfine_fail(err, errlen, "making the mounts private");
    if (mount(fsname, dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755") < 0)
        return kconfine_fail(err, errlen, "mounting the new root's tmpfs");
    for (int i = 0; i < n; i++)
        if ((rc = bind_keep(dir, keep[i], err, errlen)) < 0)
            return rc;
    if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        return kconfine_fail(err, errlen, "making the new root read-only");
    if (chroot(dir) < 0 || chdir("/") < 0)
        return kconfine_fail(err, errlen, "chroot to the new root");
    return 0;
}

int kconfine_creds(uid_t uid, gid_t gid, bool own_group, char *err, size_t errlen)
{
    if (uid == 0 || gid == 0) {
        snprintf(err, errlen, "refusing to run a confined process as root");
        return -EINVAL;
    }
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
            break;
    if ((own_group ? setgroups(1, &gid) : setgroups(0, NULL)) < 0 ||
        setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return kconfine_fail(err, errlen, "switching to the unprivileged user");
    if (setresuid(0, 0, 0) == 0) {             /* must be impossible now */
        snprintf(err, errlen, "root could be regained");
        return -EPERM;
    }
    return 0;
}

int kconfine_bounds(unsigned nofile, char *err, size_t errlen)
{
    struct rlimit nf = { nofile, nofile }, zero = { 0, 0 };

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return kconfine_fail(err, errlen, "prctl");
    if ((nofile && setrlimit(RLIMIT_NOFILE, &nf) < 0) || setrlimit(RLIMIT_CORE, &zero) < 0 ||
        setrlimit(RLIMIT_NPROC, &zero) < 0)
        return kconfine_fail(err, errlen, "setrlimit");
    return 0;
}

int kconfine_allow(scmp_filter_ctx ctx, const int *nrs, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nrs[i], 0);
    return rc;
}

int kconfine_allow_noexec(scmp_filter_ctx ctx)
{
    /* malloc and pages handed over; never executable */
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                            SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) |
           seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                            SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
}

int kconfine_no_files(scmp_filter_ctx ctx)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                            SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH)) |
           seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0) |
           seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
}

int kconfine_allow_basic(scmp_filter_ctx ctx)
{
    static const int fcntls[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
    int rc = kconfine_allow_noexec(ctx);

    for (size_t i = 0; i < sizeof(fcntls) / sizeof(fcntls[0]); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                               SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)fcntls[i]));
    return rc;
}

int kconfine_seccomp(int (*rules)(scmp_filter_ctx ctx, void *arg), void *arg, const char *who,
                     char *err, size_t errlen)
{
    scmp_filter_ctx ctx;
    int rc = -EINVAL;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return kconfine_fail(err, errlen, "no_new_privs");
    if (!(ctx = seccomp_init(SCMP_ACT_KILL_PROCESS))) {
        snprintf(err, errlen, "seccomp_init failed");
        return -ENOMEM;
    }
    /* a binary tree over the syscall numbers (older libseccomp: the plain list) */
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 || rules(ctx, arg) != 0)
        snprintf(err, errlen, "cannot build the %s's seccomp filter", who);
    else if ((rc = seccomp_load(ctx)) < 0)
        snprintf(err, errlen, "cannot load the %s's seccomp filter: %s", who, strerror(-rc));
    seccomp_release(ctx);
    return rc;
}
