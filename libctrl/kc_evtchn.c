/* kc_evtchn.c - libkeelctrl: event channels on the toolstack (Domain-0) side. Each bound port
 * comes with an eventfd from the core; the handle keeps it until the port is closed. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "kc_private.h"

static long evtchn(kc_handle *h, uint64_t cmd, struct keel_evtchn_op *op, int *fd)
{
    int fds[1], n = 0;
    long rc = kc_hypercall(h, KH_EVENT_CHANNEL_OP, cmd, op, sizeof(*op), NULL, 0, NULL, 0, NULL,
                           fds, 1, &n);

    if (rc < 0) {
        if (n)
            close(fds[0]);
        return rc;
    }
    if (fd)
        *fd = n ? fds[0] : -1;
    else if (n)
        close(fds[0]);
    return rc;
}

static int keep_port(kc_handle *h, uint32_t port, int fd)
{
    if (port >= KC_MAX_PORTS || fd < 0) {
        if (fd >= 0)
            close(fd);
        return -EPROTO;
    }
    pthread_mutex_lock(&h->lock);
    if (h->port_fd[port] >= 0)
        close(h->port_fd[port]);
    h->port_fd[port] = fd;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

int kc_evtchn_alloc_unbound(kc_handle *h, uint32_t dom, uint32_t remote_dom, uint32_t *port)
{
    struct keel_evtchn_op op = { .dom = dom, .remote_dom = remote_dom };
    int fd = -1;
    long rc = evtchn(h, KEEL_EVTCHNOP_ALLOC_UNBOUND, &op, &fd);

    if (rc < 0)
        return (int)kc_fail(rc, "allocating an unbound port in domain %u for domain %u", dom,
                            remote_dom);
    if (fd >= 0 && (rc = keep_port(h, op.port, fd)) < 0)
        return (int)kc_fail(rc, "port %u", op.port);
    *port = op.port;
    return 0;
}

int kc_evtchn_bind_interdomain(kc_handle *h, uint32_t remote_dom, uint32_t remote_port,
                               uint32_t *port)
{
    struct keel_evtchn_op op = { .remote_dom = remote_dom, .remote_port = remote_port };
    int fd = -1;
    long rc = evtchn(h, KEEL_EVTCHNOP_BIND_INTERDOMAIN, &op, &fd);

    if (rc < 0)
        return (int)kc_fail(rc, "binding to port %u of domain %u", remote_port, remote_dom);
    if ((rc = keep_port(h, op.port, fd)) < 0)
        return (int)kc_fail(rc, "port %u", op.port);
    *port = op.port;
    return 0;
}

int kc_evtchn_bind_virq(kc_handle *h, uint32_t virq, uint32_t *port)
{
    struct keel_evtchn_op op = { .virq = virq };
    int fd = -1;
    long rc = evtchn(h, KEEL_EVTCHNOP_BIND_VIRQ, &op, &fd);

    if (rc < 0)
        return (int)kc_fail(rc, "binding VIRQ %u", virq);
    if ((rc = keep_port(h, op.port, fd)) < 0)
        return (int)kc_fail(rc, "port %u", op.port);
    *port = op.port;
    return 0;
}

int kc_evtchn_notify(kc_handle *h, uint32_t port)
{
    struct keel_evtchn_op op = { .port = port };
    long rc = evtchn(h, KEEL_EVTCHNOP_SEND, &op, NULL);

    return rc < 0 ? (int)kc_fail(rc, "notifying port %u", port) : 0;
}

int kc_evtchn_close(kc_handle *h, uint32_t port)
{
    struct keel_evtchn_op op = { .port = port };
    long rc = evtchn(h, KEEL_EVTCHNOP_CLOSE, &op, NULL);

    if (rc < 0)
        return (int)kc_fail(rc, "closing port %u", port);
    if (port < KC_MAX_PORTS) {
        pthread_mutex_lock(&h->lock);
        if (h->port_fd[port] >= 0)
            close(h->port_fd[port]);
        h->port_fd[port] = -1;
        pthread_mutex_unlock(&h->lock);
    }
    return 0;
}

int kc_evtchn_status(kc_handle *h, uint32_t dom, uint32_t port, struct keel_evtchn_op *status)
{
    struct keel_evtchn_op op = { .dom = dom, .port = port };
    long rc = evtchn(h, KEEL_EVTCHNOP_STATUS, &op, NULL);

    if (rc < 0)
        return (int)kc_fail(rc, "status of port %u in domain %u", port, dom);
    *status = op;
    return 0;
}

int kc_evtchn_fd(kc_handle *h, uint32_t port)
{
    int fd;

    if (port >= KC_MAX_PORTS)
        return -EINVAL;
    pthread_mutex_lock(&h->lock);
    fd = h->port_fd[port];
    pthread_mutex_unlock(&h->lock);
    return fd >= 0 ? fd : -EBADF;
}

long kc_evtchn_ack(kc_handle *h, uint32_t port)
{
    uint64_t cnt = 0;
    int fd = kc_evtchn_fd(h, port);

    if (fd < 0)
        return kc_fail(fd, "port %u is not bound through this handle", port);
    if (read(fd, &cnt, sizeof(cnt)) != sizeof(cnt))
        return errno == EAGAIN ? 0 : kc_fail(-errno, "reading port %u", port);
    return (long)cnt;
}
