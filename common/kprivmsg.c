/* kprivmsg.c - the two ends of a privilege-separated daemon's socketpair: one fixed-size
 * message with descriptors by SCM_RIGHTS (kprivsep_send / kprivsep_recv), and the child's argv
 * (kprivsep_child_argv), the request rate limit (kprivsep_rate_*). See kprivsep.h. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kprivsep.h"

typedef union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(KPRIV_FDS_MAX * sizeof(int))];
} kprivsep_cmsg;

int kprivsep_send(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
    kprivsep_cmsg u;
    struct iovec iov = { (void *)msg, len };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    struct cmsghdr *cm;

    if (nfds < 0 || nfds > KPRIV_FDS_MAX)
        return -EINVAL;
    if (nfds > 0) {
        memset(&u, 0, sizeof(u));
        m.msg_control = u.buf;
        m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        cm = CMSG_FIRSTHDR(&m);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
    }
    while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

ssize_t kprivsep_recv(int sock, void *msg, size_t len, int *fds, int maxfds, int *nfds)
{
    kprivsep_cmsg u;
    struct iovec iov = { msg, len };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *cm;
    ssize_t n;
    int got = 0;

    for (int i = 0; i < maxfds; i++)
        fds[i] = -1;
    *nfds = 0;
    while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0)
        if (errno != EINTR)
            return -errno;
    for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (got < maxfds)
                fds[got++] = fd;
            else
                close(fd);
        }
    }
    *nfds = got;
    return n;
}

char **kprivsep_child_argv(int argc, char **argv, uid_t uid, gid_t gid, int exc, char *buf,
                           size_t size)
{
    char **v = calloc((size_t)argc + 2, sizeof(*v));

    if (!v)
        return NULL;
    memcpy(v, argv, (size_t)argc * sizeof(*v));
    snprintf(buf, size, "--privsep-child=%lu:%lu:%ld:%d", (unsigned long)uid,
             (unsigned long)gid, (long)getpid(), exc >= 0);
    v[argc] = buf;
    return v;
}

static double kprivsep_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void kprivsep_rate_init(struct kprivsep_rate *r, unsigned burst, unsigned rate)
{
    r->burst = burst;
    r->rate = rate;
    r->tokens = burst;
    r->filled = kprivsep_mono();
}

bool kprivsep_rate_take(struct kprivsep_rate *r)
{
    double t = kprivsep_mono();

    r->tokens += (t - r->filled) * r->rate;
    r->filled = t;
    if (r->tokens > r->burst)
        r->tokens = r->burst;
    if (r->tokens < 1.0)
        return false;
    r->tokens -= 1.0;
    return true;
}
