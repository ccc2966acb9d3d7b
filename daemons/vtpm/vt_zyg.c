/* vt_zyg.c - the instance launcher ("zygote") of keel-vtpmd. The manager forks it first thing,
 * before it reads the host key or connects to anything, so its memory holds nothing of the
 * manager's: no host key, no other vTPM's state, no guest's mapped page. It keeps only stdio and
 * its end of a SOCK_SEQPACKET socketpair, the capabilities CAP_SETUID, CAP_SETGID and CAP_KILL,
 * no_new_privs and a seccomp filter of its own, and dies with the manager (PR_SET_PDEATHSIG).
 * It takes three fixed-size requests:
 *   START name + one descriptor (SCM_RIGHTS): fork an instance that confines itself
 *         (vt_confine_child: the descriptor becomes its fd 3, uid/gid 65534) and runs
 *         vt_engine_main; answers its pid;
 *   KILL pid: SIGKILL one of its own instances (any other pid is refused);
 *   REAP pid: SIGKILL it and wait for it; answers the wait status.
 * So the manager, which parses what guests and socket clients send, holds no capability, cannot
 * fork and cannot signal anything; a compromised instance inherits nothing from the manager. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "klog.h"
#include "vt_confine.h"
#include "vt_proto.h"
#include "kconfine.h"
#include "vt_zyg.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define VT_ZFD 3                         /* the zygote's socket */
#define VT_ZKIDS 1024
#define VT_ZWAIT_MS 10000

enum { VT_Z_START = 1, VT_Z_KILL = 2, VT_Z_REAP = 3 };

struct vt_zreq {
    uint32_t op;
    int32_t pid;
    char name[40];
};

struct vt_zrep {
    int32_t rc;                          /* pid (START), 0, or a negative errno */
    int32_t status;                      /* REAP: the wait status */
};

static int vt_zfd = -1;
static pid_t vt_zpid;
static int vt_zdead;

/* ---- the zygote ------------------------------------------------------------------------ */

static pid_t vt_kids[VT_ZKIDS];

static int vt_zyg_rules(scmp_filter_ctx ctx)
{
    /* its own loop, and what an instance does before its own, narrower filter (libtpms and
     * OpenSSL starting: memory, randomness, clocks) */
    static const int plain[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
        SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
        SCMP_SYS(close), SCMP_SYS(close_range), SCMP_SYS(getuid), SCMP_SYS(geteuid),
        SCMP_SYS(getgid), SCMP_SYS(getegid),
        SCMP_SYS(wait4), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(dup2),
        SCMP_SYS(dup3), SCMP_SYS(prlimit64), SCMP_SYS(setrlimit), SCMP_SYS(seccomp),
        SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(futex),
        SCMP_SYS(getrandom), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
        SCMP_SYS(fstat), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
        SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall), SCMP_SYS(sigaltstack),
        SCMP_SYS(getpid), SCMP_SYS(getppid), SCMP_SYS(gettid), SCMP_SYS(sched_yield),
        SCMP_SYS(exit), SCMP_SYS(exit_group),
    };
    static const int prctl_ops[] = { PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS,
                                     PR_GET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_GET_SECCOMP };
    const scmp_datum_t fork_flags = CSIGNAL | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
    const scmp_datum_t nobody = VT_INST_UID;
    int rc = 0;

    rc |= kconfine_allow(ctx, plain, sizeof(plain) / sizeof(plain[0]));
    rc |= kconfine_allow_noexec(ctx);
    rc |= kconfine_no_files(ctx);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                           SCMP_A0(SCMP_CMP_MASKED_EQ, ~fork_flags, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
                           SCMP_A1(SCMP_CMP_EQ, SIGKILL));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setgroups), 1,
                           SCMP_A0(SCMP_CMP_EQ, 0));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setresgid), 3,
                           SCMP_A0(SCMP_CMP_EQ, nobody), SCMP_A1(SCMP_CMP_EQ, nobody),
                           SCMP_A2(SCMP_CMP_EQ, nobody));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setresuid), 3,
                           SCMP_A0(SCMP_CMP_EQ, nobody), SCMP_A1(SCMP_CMP_EQ, nobody),
                           SCMP_A2(SCMP_CMP_EQ, nobody));
    for (size_t i = 0; i < sizeof(prctl_ops) / sizeof(prctl_ops[0]); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                               SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctl_ops[i]));
    return rc;
}

static int vt_zyg_filter(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int rc = -EINVAL;

    if (!ctx)
        return -ENOMEM;
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) == 0 &&
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) == 0 && vt_zyg_rules(ctx) == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc;
}

static void vt_zyg_instance(int fd, const char *name, pid_t zyg)
{
    sigset_t all;

    prctl(PR_SET_PDEATHSIG, SIGKILL);    /* dies with the zygote, which dies with the manager */
    if (getppid() != zyg)
        _exit(0);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (vt_confine_child(fd) < 0) {
        klog_err(name, "instance confinement: %s", strerror(errno));
        _exit(1);
    }
    _exit(vt_engine_main(VT_INST_FD, name));
}

static int vt_kid_slot(pid_t pid)
{
    for (int i = 0; i < VT_ZKIDS; i++)
        if (vt_kids[i] == pid)
            return i;
    return -1;
}

static struct vt_zrep vt_zyg_do(const struct vt_zreq *q, int fd)
{
    struct vt_zrep r = { -EINVAL, 0 };
    int slot;
    pid_t pid;

    if (q->op == VT_Z_START) {
        if (fd < 0 || (slot = vt_kid_slot(0)) < 0)
            return (struct vt_zrep){ fd < 0 ? -EBADF : -EAGAIN, 0 };
        if ((pid = fork()) < 0)
            return (struct vt_zrep){ -errno, 0 };
        if (pid == 0)
            vt_zyg_instance(fd, q->name, getppid());
        vt_kids[slot] = pid;
        return (struct vt_zrep){ pid, 0 };
    }
    if ((q->op != VT_Z_KILL && q->op != VT_Z_REAP) || q->pid <= 0 ||
        (slot = vt_kid_slot(q->pid)) < 0)
        return (struct vt_zrep){ q->pid <= 0 ? -EINVAL : -ESRCH, 0 };
    kill(q->pid, SIGKILL);
    r.rc = 0;
    if (q->op == VT_Z_REAP) {
        while (waitpid(q->pid, &r.status, 0) < 0 && errno == EINTR)
            ;
        vt_kids[slot] = 0;
    }
    return r;
}

/* One request: 0, or -1 when the manager is gone (or broke the framing). */
static int vt_zyg_serve(void)
{
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } cb;
    struct vt_zreq q;
    struct iovec iov = { &q, sizeof(q) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
                        .msg_controllen = sizeof(cb.b) };
    struct cmsghdr *c;
    struct vt_zrep r;
    ssize_t n;
    int fd = -1;

    n = recvmsg(VT_ZFD, &m, MSG_CMSG_CLOEXEC);
    if (n <= 0)
        return n < 0 && errno == EINTR ? 0 : -1;
    for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)) && fd < 0)
            memcpy(&fd, CMSG_DATA(c), sizeof(int));
        else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            return -1;                   /* more descriptors than a request carries */
    if (n != (ssize_t)sizeof(q) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
        memchr(q.name, 0, sizeof(q.name)) == NULL) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    r = vt_zyg_do(&q, fd);
    if (fd >= 0)
        close(fd);
    return send(VT_ZFD, &r, sizeof(r), MSG_NOSIGNAL) == (ssize_t)sizeof(r) ? 0 : -1;
}

static void vt_zyg_main(int fd, pid_t manager)
{
    char err[200] = "";

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != manager)
        _exit(0);
    signal(SIGPIPE, SIG_IGN);
    if ((fd != VT_ZFD && dup2(fd, VT_ZFD) < 0) || close_range(VT_ZFD + 1, ~0U, 0) < 0 ||
        (geteuid() == 0 && vt_mconfine_caps(vt_zyg_kept(), err, sizeof(err)) < 0) ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || vt_zyg_filter() < 0) {
        klog_err("vtpm", "instance launcher: cannot confine itself (%s)",
                 err[0] ? err : strerror(errno));
        _exit(1);
    }
    while (vt_zyg_serve() == 0)
        ;
    _exit(0);                            /* its instances die with it */
}

/* ---- the manager's side ---------------------------------------------------------------- */

uint64_t vt_zyg_kept(void)
{
    return 1ULL << CAP_SETUID | 1ULL << CAP_SETGID | 1ULL << CAP_KILL;
}

int vt_zyg_start(void)
{
    int sv[2];
    pid_t me = getpid();

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    fflush(NULL);
    if ((vt_zpid = fork()) < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return -e;
    }
    if (vt_zpid == 0) {
        close(sv[0]);
        vt_zyg_main(sv[1], me);
    }
    close(sv[1]);
    vt_zfd = sv[0];
    klog_info("vtpm", "instance launcher %d started", (int)vt_zpid);
    return 0;
}

int vt_zyg_fd(void)
{
    return vt_zfd;
}

pid_t vt_zyg_pid(void)
{
    return vt_zpid;
}

static int vt_zyg_call(uint32_t op, pid_t pid, const char *name, int fd, struct vt_zrep *r)
{
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } cb;
    struct vt_zreq q = { op, pid, "" };
    struct iovec iov = { &q, sizeof(q) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    struct pollfd p = { vt_zfd, POLLIN, 0 };
    ssize_t n;

    if (!vt_zyg_alive())
        return -EPIPE;
    if (name)
        snprintf(q.name, sizeof(q.name), "%s", name);
    if (fd >= 0) {
        memset(&cb, 0, sizeof(cb));
        m.msg_control = cb.b;
        m.msg_controllen = sizeof(cb.b);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    if (sendmsg(vt_zfd, &m, MSG_NOSIGNAL) != (ssize_t)sizeof(q) ||
        poll(&p, 1, VT_ZWAIT_MS) != 1 ||
        (n = recv(vt_zfd, r, sizeof(*r), 0)) != (ssize_t)sizeof(*r)) {
        /* gone or stuck: never asked again (the poll loop stops the manager on its hang-up) */
        klog_err("vtpm", "the instance launcher %d does not answer", (int)vt_zpid);
        vt_zdead = 1;
        return -EPIPE;
    }
    return 0;
}

int vt_zyg_alive(void)
{
    return vt_zfd >= 0 && !vt_zdead;
}

int vt_zyg_spawn(const char *name, int fd, pid_t *pid)
{
    struct vt_zrep r;
    int rc;

    if ((rc = vt_zyg_call(VT_Z_START, 0, name, fd, &r)) < 0)
        return rc;
    if (r.rc <= 0)
        return r.rc < 0 ? r.rc : -EPROTO;
    *pid = r.rc;
    return 0;
}

int vt_zyg_kill(pid_t pid, int reap, int *status)
{
    struct vt_zrep r;
    int rc;

    if ((rc = vt_zyg_call(reap ? VT_Z_REAP : VT_Z_KILL, pid, NULL, -1, &r)) < 0)
        return rc;
    if (status)
        *status = r.status;
    return r.rc;
}
