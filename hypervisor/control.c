/* control.c - the control socket: privileged processes send hypercalls as framed messages
 * (keel/privcmd.h). Every header is validated before any payload is read; a malformed message
 * ends that connection only. One thread per connection. A connection is the toolstack unless its
 * first request declares another role (store, console, backend): the peer's credentials must
 * allow it (role.c) and the connection then acts with that role's FLASK label (flask.c). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv.h"
#include "keel/privcmd.h"
#include "klog.h"
#include "kio.h"
#include "kiov.h"
#include "ksock.h"

struct hv_conn {
    int fd;
    pid_t peer_pid;
    uid_t peer_uid;
    gid_t peer_gid;
    int role;                          /* enum hv_role; HV_ROLE_ANY until a peer that may not be
                                        * the toolstack declares one */
    uint32_t sid;                      /* FLASK label of the role */
    uint64_t served;                   /* requests served so far */
    void *grant;                       /* grant.c: this connection's maptrack */
};

int hv_conn_role(const struct hv_conn *conn)
{
    return conn->role;
}

pid_t hv_conn_peer_pid(const struct hv_conn *conn)
{
    return conn->peer_pid;
}

uint32_t hv_conn_sid(const struct hv_conn *conn)
{
    return conn->sid;
}

static int send_reply(struct hv_conn *conn, struct keel_privcmd_rsp *rsp, const void *arg,
                      const void *out, int *fds, int nfds)
{
    struct iovec iov[3] = { { rsp, sizeof(*rsp) }, { (void *)arg, rsp->arg_len },
                            { (void *)out, rsp->extra_len } };
    char cbuf[CMSG_SPACE(sizeof(int) * KEEL_PRIVCMD_MAX_FDS)];
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
    size_t total = sizeof(*rsp) + rsp->arg_len + rsp->extra_len, sent = 0;

    if (nfds > 0) {
        struct cmsghdr *cm;
        memset(cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
    }
    while (sent < total) {
        ssize_t n = sendmsg(conn->fd, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -errno;
        sent += (size_t)n;
        mh.msg_control = NULL;
        mh.msg_controllen = 0;
        kiov_advance(&mh, (size_t)n);
    }
    return 0;
}

static int valid_header(const struct keel_privcmd_req *rq)
{
    return rq->magic == KEEL_PRIVCMD_MAGIC && rq->version == KEEL_PRIVCMD_VERSION &&
           rq->flags == 0 && rq->arg_len <= KEEL_PRIVCMD_MAX_ARG &&
           rq->extra_len <= KEEL_PRIVCMD_MAX_EXTRA && rq->extra_out_max <= KEEL_PRIVCMD_MAX_EXTRA;
}

/* The command a role check looks at: inside the argument for domctl and sysctl. */
static uint32_t sub_command(const struct hv_caller *c, uint32_t op, uint64_t cmd)
{
    if (op == KH_DOMCTL && c->arg_len >= sizeof(struct keel_domctl))
        return ((const struct keel_domctl *)c->arg)->cmd;
    if (op == KH_SYSCTL && c->arg_len >= sizeof(struct keel_sysctl))
        return ((const struct keel_sysctl *)c->arg)->cmd;
    if (op == KH_GRANT_TABLE_OP)
        return (uint32_t)(cmd & 0xff);
    return (uint32_t)cmd;
}

/* Create and destroy run without the lock held (they start and stop processes). */
static long call(struct hv_caller *c, uint32_t op, uint64_t cmd)
{
    struct keel_domctl *dc = (struct keel_domctl *)c->arg;
    long rc;

    if ((rc = hv_xsm_role(c, op, cmd, sub_command(c, op, cmd))) < 0)
        return rc;
    if (op == KH_DOMCTL && c->arg_len == sizeof(*dc) &&
        dc->interface_version == KEEL_DOMCTL_INTERFACE_VERSION &&
        (dc->cmd == KEEL_DOMCTL_CREATEDOMAIN || dc->cmd == KEEL_DOMCTL_DESTROYDOMAIN)) {
        if ((rc = hv_xsm_hypercall(c, op, dc->cmd)) < 0)
            return rc;
        if (dc->cmd == KEEL_DOMCTL_DESTROYDOMAIN)
            return hv_domain_destroy(c, dc->domain);
        if ((rc = hv_domain_create_allowed(c, &dc->u.create)) < 0)
            return rc;
        return hv_domain_create(&dc->u.create, dc->domain, &dc->domain);
    }
    if (op == KH_GRANT_TABLE_OP)           /* grant ops take their own locks (grant.c) */
        return hv_gnttab_op(c, cmd, 0);
    pthread_mutex_lock(&hv.lock);
    rc = hv_hypercall(c, op, cmd, 0);
    pthread_mutex_unlock(&hv.lock);
    return rc;
}

void **hv_conn_grant_slot(struct hv_conn *conn)
{
    return &conn->grant;
}

static void refuse_role(struct hv_conn *conn, const char *name, const char *why)
{
    klog_warn("control", "pid %d uid %d: role '%s' refused: %s", (int)conn->peer_pid,
              (int)conn->peer_uid, name, why);
    pthread_mutex_lock(&hv.lock);
    hv_printk("control: pid %d uid %d: role '%s' refused: %s", (int)conn->peer_pid,
              (int)conn->peer_uid, name, why);
    pthread_mutex_unlock(&hv.lock);
}

/* KEEL_PRIVCMD_OP_ROLE: the first request may declare the connection's role. */
static long declare_role(struct hv_conn *conn, const struct keel_privcmd_req *rq, uint8_t *arg)
{
    struct keel_privcmd_role r;
    uint32_t sid;
    int role;

    if (rq->arg_len != sizeof(r) || rq->cmd || rq->extra_len || rq->extra_out_max) {
        refuse_role(conn, "?", "malformed role request");
        return -EINVAL;
    }
    memcpy(&r, arg, sizeof(r));
    if (!memchr(r.name, 0, sizeof(r.name))) {
        refuse_role(conn, "?", "name not terminated");
        return -EINVAL;
    }
    if (conn->served) {
        refuse_role(conn, r.name, "a role is declared by the first request only");
        return -EBUSY;
    }
    if ((role = hv_role_by_name(r.name)) < 0) {
        refuse_role(conn, r.name, "unknown role (toolstack, store, console or backend)");
        return -EINVAL;
    }
    if (!hv_role_peer_may(role, conn->peer_uid, conn->peer_gid)) {
        refuse_role(conn, r.name, "not allowed for this peer's uid/gid (keel-hv --role)");
        return -EACCES;
    }
    if (hv_flask_role_sid(role, &sid) < 0) {
        refuse_role(conn, r.name, "the loaded FLASK policy has no label for it");
        return -EACCES;
    }
    conn->role = role;
    conn->sid = sid;
    klog_debug("control", "pid %d uid %d: role %s (%s)", (int)conn->peer_pid, (int)conn->peer_uid,
               r.name, hv_role_context(role));
    return 0;
}

static int serve_one(struct hv_conn *conn)
{
    struct keel_privcmd_req rq;
    struct keel_privcmd_rsp rsp;
    struct hv_caller c;
    uint8_t *arg = NULL, *in = NULL, *out = NULL;
    int rc;

    if ((rc = kio_read_full(conn->fd, &rq, sizeof(rq))) < 0)
        return rc;
    if (!valid_header(&rq)) {
        klog_warn("control", "pid %d: malformed request header (magic %#x, version %u, sizes "
                  "%u/%u/%u): closing", (int)conn->peer_pid, rq.magic, rq.version, rq.arg_len,
                  rq.extra_len, rq.extra_out_max);
        return -EPROTO;
    }
    arg = calloc(1, rq.arg_len + 1);
    in = malloc(rq.extra_len + 1);
    out = calloc(1, rq.extra_out_max + 1);
    if (!arg || !in || !out) {
        rc = -ENOMEM;
        goto done;
    }
    if ((rc = kio_read_full(conn->fd, arg, rq.arg_len)) < 0 ||
        (rc = kio_read_full(conn->fd, in, rq.extra_len)) < 0)
        goto done;
    memset(&rsp, 0, sizeof(rsp));
    if (rq.op == KEEL_PRIVCMD_OP_ROLE || conn->role == HV_ROLE_ANY) {
        if (rq.op == KEEL_PRIVCMD_OP_ROLE) {
            rsp.rc = declare_role(conn, &rq, arg);
        } else {
            refuse_role(conn, "toolstack", "this peer must first declare a role it is allowed");
            rsp.rc = -EACCES;
        }
        rsp.magic = KEEL_PRIVCMD_MAGIC;
        rsp.seq = rq.seq;
        rsp.arg_len = rq.arg_len;
        if ((rc = send_reply(conn, &rsp, arg, out, NULL, 0)) == 0 && rsp.rc < 0)
            rc = (int)rsp.rc;                    /* a refused role ends the connection */
        conn->served++;
        goto done;
    }
    conn->served++;
    memset(&c, 0, sizeof(c));
    c.d = hv.dom0;
    c.conn = conn;
    c.arg = arg;
    c.arg_len = rq.arg_len;
    c.in = in;
    c.in_len = rq.extra_len;
    c.out = out;
    c.out_max = rq.extra_out_max;
    memset(&rsp, 0, sizeof(rsp));
    rsp.rc = call(&c, rq.op, rq.cmd);
    rsp.magic = KEEL_PRIVCMD_MAGIC;
    rsp.seq = rq.seq;
    rsp.arg_len = rq.arg_len;
    rsp.extra_len = (uint32_t)c.out_len;
    rsp.nfds = (uint32_t)c.nfds;
    rc = send_reply(conn, &rsp, arg, out, c.fds, c.nfds);
    for (int i = 0; i < c.nfds; i++)
        if (rq.op == KH_DOMCTL || rq.op == KH_GRANT_TABLE_OP)
            close(c.fds[i]);              /* dups made for the caller; evtchn fds stay ours */
done:
    free(arg);
    free(in);
    free(out);
    return rc;
}

static void *conn_main(void *p)
{
    struct hv_conn *conn = p;

    while (serve_one(conn) == 0)
        ;
    hv_gnttab_conn_closed(conn);
    pthread_mutex_lock(&hv.lock);
    hv_evtchn_conn_closed(conn);
    hv_vm_event_conn_closed(conn);
    pthread_mutex_unlock(&hv.lock);
    close(conn->fd);
    free(conn);
    return NULL;
}

static void accept_one(int lfd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct hv_conn *conn;
    pthread_t t;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
        !hv_role_peer_may(HV_ROLE_ANY, cred.uid, cred.gid)) {
        klog_warn("control", "refusing connection from uid %d gid %d (no role allowed)",
                  (int)cred.uid, (int)cred.gid);
        close(fd);
        return;
    }
    conn = calloc(1, sizeof(*conn));
    if (!conn) {
        close(fd);
        return;
    }
    conn->fd = fd;
    conn->peer_pid = cred.pid;
    conn->peer_uid = cred.uid;
    conn->peer_gid = cred.gid;
    conn->role = hv_role_peer_may(HV_ROLE_TOOLSTACK, cred.uid, cred.gid) ? HV_ROLE_TOOLSTACK
                                                                          : HV_ROLE_ANY;
    conn->sid = hv.dom0->ssidref;
    if (pthread_create(&t, NULL, conn_main, conn)) {
        close(fd);
        free(conn);
        return;
    }
    pthread_detach(t);
}

/* Serve until SIGTERM or SIGINT (delivered through stop_fd, a signalfd). */
int hv_control_serve_fd(int lfd, int stop_fd);
int hv_control_serve_fd(int lfd, int stop_fd)
{
    for (;;) {
        struct pollfd p[2] = { { lfd, POLLIN, 0 }, { stop_fd, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (p[1].revents)
            return 0;
        if (p[0].revents & POLLIN)
            accept_one(lfd);
    }
}

int hv_control_serve(const char *path)
{
    /* Peers other than root and the core's uid need --role rules, and to reach the socket. */
    return ksock_listen(path, hv_role_rules_any() ? 0666 : 0600, 64, 0);
}
