/* kc_core.c - libkeelctrl's connection to the core: open, close, framing, errors. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "kc_private.h"
#include "keel/privcmd.h"
#include "kiov.h"
#include "krundir.h"

static __thread char kc_errbuf[512];

long kc_fail(long rc, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(kc_errbuf, sizeof(kc_errbuf), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(kc_errbuf) && rc < 0)
        snprintf(kc_errbuf + n, sizeof(kc_errbuf) - (size_t)n, ": %s", strerror((int)-rc));
    return rc;
}

const char *kc_error(const kc_handle *h)
{
    (void)h;
    return kc_errbuf;
}

const char *kc_rundir(const kc_handle *h)
{
    return h->rundir;
}

int kc_open(kc_handle **out, const char *rundir)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    kc_handle *h;

    rundir = krundir(rundir);
    if (strlen(rundir) + sizeof(KEEL_PRIVCMD_SOCKET) + 1 > sizeof(sa.sun_path))
        return (int)kc_fail(-ENAMETOOLONG, "runtime directory %s", rundir);
    h = calloc(1, sizeof(*h));
    if (!h)
        return (int)kc_fail(-ENOMEM, "kc_open");
    snprintf(h->rundir, sizeof(h->rundir), "%s", rundir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", rundir, KEEL_PRIVCMD_SOCKET);
    for (int i = 0; i < KC_MAX_PORTS; i++)
        h->port_fd[i] = -1;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->plock, NULL);
    h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->fd < 0 || connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;
        if (h->fd >= 0)
            close(h->fd);
        pthread_mutex_destroy(&h->plock);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return (int)kc_fail(e, "cannot reach the hypervisor core at %s (is keel-hv running?)",
                            sa.sun_path);
    }
    *out = h;
    return 0;
}

int kc_open_role(kc_handle **out, const char *rundir, const char *role)
{
    struct keel_privcmd_role r;
    kc_handle *h;
    long rc;

    memset(&r, 0, sizeof(r));
    if (!role || strlen(role) >= sizeof(r.name))
        return (int)kc_fail(-EINVAL, "role '%s'", role ? role : "(null)");
    memcpy(r.name, role, strlen(role));
    if ((rc = kc_open(&h, rundir)) < 0)
        return (int)rc;
    if (!strcmp(role, KC_ROLE_TOOLSTACK)) {     /* the default: nothing to declare */
        *out = h;
        return 0;
    }
    rc = kc_hypercall(h, KEEL_PRIVCMD_OP_ROLE, 0, &r, sizeof(r), NULL, 0, NULL, 0, NULL, NULL, 0,
                      NULL);
    if (rc < 0) {
        kc_close(h);
        return (int)kc_fail(rc, "the hypervisor core refused role '%s' (see xl dmesg)", role);
    }
    *out = h;
    return 0;
}

void kc_close(kc_handle *h)
{
    if (!h)
        return;
    for (int i = 0; i < KC_MAX_PORTS; i++)
        if (h->port_fd[i] >= 0)
            close(h->port_fd[i]);
    kc_evtchn_release(h);
    kc_gnttab_release(h);
    close(h->fd);
    pthread_mutex_destroy(&h->plock);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static int write_all(int fd, const struct iovec *iov_in, int cnt)
{
    struct iovec iov[4];
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };

    memcpy(iov, iov_in, sizeof(*iov) * (size_t)cnt);
    while (mh.msg_iovlen) {
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        kiov_advance(&mh, (size_t)n);
    }
    return 0;
}

/* Read exactly len bytes; descriptors may ride on the first bytes. */
static int read_all(int fd, void *buf, size_t len, int *fds, int max_fds, int *nfds)
{
    char cbuf[CMSG_SPACE(sizeof(int) * KEEL_PRIVCMD_MAX_FDS)];
    uint8_t *p = buf;

    while (len) {
        struct iovec iov = { p, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                             .msg_controllen = sizeof(cbuf) };
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? -EPIPE : -errno;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                continue;
            int cnt = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            int *cfds = (int *)CMSG_DATA(cm);
            for (int i = 0; i < cnt; i++) {
                if (fds && *nfds < max_fds)
                    fds[(*nfds)++] = cfds[i];
                else
                    close(cfds[i]);
            }
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static long exchange(kc_handle *h, struct keel_privcmd_req *rq, void *arg, const void *in,
                     void *out, size_t out_max, size_t *out_len, int *fds, int max_fds, int *nfds)
{
    struct iovec iov[3] = { { rq, sizeof(*rq) }, { arg, rq->arg_len }, { (void *)in, rq->extra_len } };
    struct keel_privcmd_rsp rsp;
    uint8_t scratch[256];
    int rc;

    if ((rc = write_all(h->fd, iov, 3)) < 0)
        return kc_fail(rc, "sending to the hypervisor core");
    if ((rc = read_all(h->fd, &rsp, sizeof(rsp), fds, max_fds, nfds)) < 0)
        return kc_fail(rc, "reading the hypervisor core's reply");
    if (rsp.magic != KEEL_PRIVCMD_MAGIC || rsp.seq != rq->seq || rsp.arg_len != rq->arg_len ||
        rsp.extra_len > out_max || rsp.nfds > KEEL_PRIVCMD_MAX_FDS)
        return kc_fail(-EPROTO, "malformed reply from the hypervisor core");
    if ((rc = read_all(h->fd, arg, rsp.arg_len, fds, max_fds, nfds)) < 0 ||
        (rc = read_all(h->fd, out ? out : scratch, rsp.extra_len, fds, max_fds, nfds)) < 0)
        return kc_fail(rc, "reading the hypervisor core's reply");
    if (out_len)
        *out_len = rsp.extra_len;
    return rsp.rc;
}

long kc_hypercall(kc_handle *h, uint32_t op, uint64_t cmd, void *arg, size_t arg_len,
                  const void *in, size_t in_len, void *out, size_t out_max, size_t *out_len,
                  int *fds, int max_fds, int *nfds)
{
    struct keel_privcmd_req rq = { .magic = KEEL_PRIVCMD_MAGIC, .version = KEEL_PRIVCMD_VERSION };
    int dummy = 0;
    long rc;

    if (arg_len > KEEL_PRIVCMD_MAX_ARG || in_len > KEEL_PRIVCMD_MAX_EXTRA ||
        out_max > KEEL_PRIVCMD_MAX_EXTRA)
        return kc_fail(-E2BIG, "hypercall %u: buffers too large", op);
    if (!out)
        out_max = 0;
    rq.op = op;
    rq.cmd = cmd;
    rq.arg_len = (uint32_t)arg_len;
    rq.extra_len = (uint32_t)in_len;
    rq.extra_out_max = (uint32_t)out_max;
    if (!nfds)
        nfds = &dummy;
    *nfds = 0;
    pthread_mutex_lock(&h->lock);
    rq.seq = ++h->seq;
    rc = exchange(h, &rq, arg, in, out, out_max, out_len, fds, max_fds, nfds);
    pthread_mutex_unlock(&h->lock);
    return rc;
}

int kc_version(kc_handle *h, uint32_t *major, uint32_t *minor)
{
    long rc = kc_hypercall(h, KH_XEN_VERSION, KEEL_VERSION_VERSION, NULL, 0, NULL, 0, NULL, 0,
                           NULL, NULL, 0, NULL);
    if (rc < 0)
        return (int)kc_fail(rc, "xen_version");
    *major = (uint32_t)rc >> 16;
    *minor = (uint32_t)rc & 0xffff;
    return 0;
}
