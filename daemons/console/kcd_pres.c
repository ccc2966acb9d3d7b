/* kcd_pres.c - what keel-consoled's privileged part does for the serving process, each request
 * checked first: a domain's console (the domain exists, a guest's domid, the frame inside its
 * memory, a port in range, the frame and port the store's console/ring-ref and console/port
 * say when the store answers, one console per domain; then its log opened in <rundir>/console,
 * the domain's memory descriptor handed over, the port bound as Domain-0 and its eventfd handed
 * over), a log opened again (SIGHUP), the held consoles listed (after a restart), notify only
 * on a port bound for that domain, the domain-dead check, a new store connection. Channels are
 * in kcd_pchan.c. What is held (bound ports, channel host ends and rings) stays across restarts
 * of the serving process, which claims it again; a dead domain's share is released. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kcd_pres_int.h"
#include "klog.h"

#define KCD_PRES_STORE_MS 2000

#define REFUSE(a, rc, ...) (snprintf((a)->msg, sizeof((a)->msg), __VA_ARGS__), (rc))

kxs *kcd_pres_store(struct kcd_pres *r)
{
    kxs *x = NULL;

    if (!r->cfg->store || kxs_open_path(&x, r->cfg->store) < 0)
        return NULL;
    kxs_set_timeout(x, KCD_PRES_STORE_MS);
    return x;
}

int kcd_pres_read(kxs *x, const char *path, char *out, size_t len)
{
    char *v = NULL;
    size_t vl = 0;
    int rc;

    out[0] = 0;
    if ((rc = kxs_read(x, 0, path, &v, &vl)) < 0)
        return rc;
    rc = vl < len && !memchr(v, 0, vl) ? 0 : -ENAMETOOLONG;
    if (rc == 0)
        memcpy(out, v, vl + 1);
    free(v);
    return rc;
}

int kcd_pres_read_u64(kxs *x, const char *path, uint64_t max, uint64_t *v)
{
    return kxs_read_u64(x, 0, path, max, v);
}

int kcd_pres_exists(struct kcd_pres *r, uint32_t domid, struct kcd_priv_rsp *a)
{
    struct keel_domctl_info info;
    int rc = kc_domain_getinfo(r->h, domid, &info);

    return rc < 0 ? REFUSE(a, rc, "domain %u: %s", domid, kc_error(r->h)) : 0;
}

int kcd_pres_bind(struct kcd_pres *r, uint32_t domid, uint32_t port, uint32_t *local, int *evfd,
                  struct kcd_priv_rsp *a)
{
    int rc, fd;

    if (port == 0 || port >= KCD_PRIV_PORT_END)
        return REFUSE(a, -EINVAL, "port %u out of range", port);
    if ((rc = kc_evtchn_bind_interdomain(r->h, domid, port, local)) < 0)
        return REFUSE(a, rc, "binding port %u: %s", port, kc_error(r->h));
    if ((fd = kc_evtchn_fd(r->h, *local)) < 0 || (*evfd = fcntl(fd, F_DUPFD_CLOEXEC, 10)) < 0) {
        kc_evtchn_close(r->h, *local);
        return REFUSE(a, -EIO, "port %u has no descriptor", *local);
    }
    return 0;
}

static struct kcd_pcons *cons_find(struct kcd_pres *r, uint32_t domid)
{
    for (struct kcd_pcons *c = r->cons; c; c = c->next)
        if (c->domid == domid)
            return c;
    return NULL;
}

static void cons_free(struct kcd_pres *r, struct kcd_pcons *c)
{
    for (struct kcd_pcons **pp = &r->cons; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    kc_evtchn_close(r->h, c->local);
    free(c);
}

/* <rundir>/console/dom<N>.log, for appending and for the attach's history (pread). */
static int open_log(struct kcd_pres *r, uint32_t domid, int *fd, struct kcd_priv_rsp *a)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/dom%u.log", r->cfg->dir, domid);
    *fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    return *fd < 0 ? REFUSE(a, -errno, "console/dom%u.log: %s", domid, strerror(errno)) : 0;
}

int kcd_pres_memfd(struct kcd_pres *r, uint32_t domid, uint64_t gfn, int *fd,
                   struct kcd_priv_rsp *a)
{
    uint64_t size;
    int rc = kc_foreign_fd(r->h, domid, fd, &size);

    if (rc < 0)
        return REFUSE(a, rc, "%s", kc_error(r->h));
    if (gfn >= size >> 12) {
        close(*fd);
        *fd = -1;
        return REFUSE(a, -EINVAL, "frame %#llx is outside domain %u's %llu pages",
                      (unsigned long long)gfn, domid, (unsigned long long)(size >> 12));
    }
    return 0;
}

/* When the store answers, the console must be the one its console/ring-ref and port name. */
static int cons_check_store(struct kcd_pres *r, const struct kcd_priv_req *q,
                            struct kcd_priv_rsp *a)
{
    kxs *x = kcd_pres_store(r);
    char p[64];
    uint64_t gfn, port;
    int rc = 0;

    if (!x)
        return 0;               /* no store (-n, or down): the toolstack's "add" path */
    snprintf(p, sizeof(p), "/local/domain/%u/console/ring-ref", q->domid);
    if (kcd_pres_read_u64(x, p, UINT64_MAX >> 12, &gfn) < 0)
        rc = REFUSE(a, -EPERM, "the store has no console/ring-ref for domain %u", q->domid);
    snprintf(p, sizeof(p), "/local/domain/%u/console/port", q->domid);
    if (!rc && kcd_pres_read_u64(x, p, UINT32_MAX, &port) < 0)
        rc = REFUSE(a, -EPERM, "the store has no console/port for domain %u", q->domid);
    if (!rc && (gfn != q->gfn || port != q->port))
        rc = REFUSE(a, -EPERM, "the store says ring-ref %#llx port %u, not %#llx port %u",
                    (unsigned long long)gfn, (unsigned)port, (unsigned long long)q->gfn,
                    q->port);
    kxs_close(x);
    return rc;
}

static int cons_open(struct kcd_pres *r, const struct kcd_priv_req *q, struct kcd_priv_rsp *a,
                     int fds[3], int *nfds)
{
    struct kcd_pcons *c = cons_find(r, q->domid);
    int rc;

    if (q->port == 0 || q->port >= KCD_PRIV_PORT_END)
        return REFUSE(a, -EINVAL, "port %u out of range", q->port);
    if (c && (c->gfn != q->gfn || c->port != q->port))
        return REFUSE(a, -EEXIST, "domain %u's console is served at gfn %#llx port %u",
                      q->domid, (unsigned long long)c->gfn, c->port);
    if (!c && (rc = cons_check_store(r, q, a)) < 0)
        return rc;
    if ((rc = open_log(r, q->domid, &fds[2], a)) < 0)
        return rc;
    *nfds = 3;
    if ((rc = kcd_pres_memfd(r, q->domid, q->gfn, &fds[0], a)) < 0)
        return rc;
    if (c) {                    /* held: the serving process was restarted */
        int fd = kc_evtchn_fd(r->h, c->local);
        if (fd < 0 || (fds[1] = fcntl(fd, F_DUPFD_CLOEXEC, 10)) < 0)
            return REFUSE(a, -EIO, "port %u has no descriptor", c->local);
        a->local = c->local;
        return 0;
    }
    if (!(c = calloc(1, sizeof(*c))))
        return -ENOMEM;
    if ((rc = kcd_pres_bind(r, q->domid, q->port, &c->local, &fds[1], a)) < 0) {
        free(c);
        return rc;
    }
    c->domid = q->domid;
    c->gfn = q->gfn;
    c->port = q->port;
    c->next = r->cons;
    r->cons = c;
    a->local = c->local;
    return 0;
}

/* The held console with the smallest domid above q->domid. */
static int cons_held(struct kcd_pres *r, const struct kcd_priv_req *q, struct kcd_priv_rsp *a)
{
    struct kcd_pcons *best = NULL;

    for (struct kcd_pcons *c = r->cons; c; c = c->next)
        if (c->domid > q->domid && (!best || c->domid < best->domid))
            best = c;
    if (!best)
        return -ENOENT;
    a->domid = best->domid;
    a->gfn = best->gfn;
    a->port = best->port;
    return 0;
}

static int store_connect(struct kcd_pres *r, struct kcd_priv_rsp *a, int *fd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (!r->cfg->store)
        return REFUSE(a, -ENODEV, "no store (-n)");
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->cfg->store);
    if ((*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return REFUSE(a, -errno, "%s: %s", r->cfg->store, strerror(errno));
    return 0;
}

int kcd_pres_answer(struct kcd_pres *r, const struct kcd_priv_req *q, struct kcd_priv_rsp *a,
                    int fds[3], int *nfds)
{
    int rc;

    *nfds = 0;
    fds[0] = fds[1] = fds[2] = -1;
    if (q->op == KCD_PRIV_STORE) {
        rc = store_connect(r, a, &fds[0]);
        *nfds = 1;
        return rc;
    }
    if (q->op == KCD_PRIV_CONS_HELD)
        return cons_held(r, q, a);
    if (q->domid < KCD_PRIV_DOMID_MIN || q->domid >= KCD_PRIV_DOMID_END)
        return REFUSE(a, -EINVAL, "domain %u is not a guest's domid", q->domid);
    if ((rc = kcd_pres_exists(r, q->domid, a)) < 0)
        return rc;
    switch (q->op) {
    case KCD_PRIV_DOMINFO:
        return 0;
    case KCD_PRIV_CONS_OPEN:
        return cons_open(r, q, a, fds, nfds);
    case KCD_PRIV_LOG_OPEN:
        if (!cons_find(r, q->domid))
            return REFUSE(a, -EPERM, "domain %u's console is not served", q->domid);
        *nfds = 1;
        return open_log(r, q->domid, &fds[0], a);
    case KCD_PRIV_CHAN_OPEN:
        *nfds = 1;
        return kcd_pchan_open(r, q, a, &fds[0]);
    case KCD_PRIV_CHAN_MAP:
        *nfds = 2;
        return kcd_pchan_map(r, q, a, fds);
    default:
        return -EINVAL;
    }
}

/* notify: only a port bound for that domain's console or one of its channels. */
static int port_of(struct kcd_pres *r, uint32_t domid, uint32_t local)
{
    struct kcd_pcons *c = cons_find(r, domid);

    if (c && c->local == local)
        return 1;
    for (struct kcd_pchan *ch = r->chans; ch; ch = ch->next)
        if (ch->domid == domid && ch->page && ch->local == local)
            return 1;
    return 0;
}

void kcd_pres_oneway(struct kcd_pres *r, const struct kcd_priv_req *q)
{
    struct kcd_pcons *c = cons_find(r, q->domid);
    struct kcd_pchan *ch = kcd_pchan_find(r, q->domid, q->cons);

    switch (q->op) {
    case KCD_PRIV_NOTIFY:
        if (q->port && port_of(r, q->domid, q->port))
            kc_evtchn_notify(r->h, q->port);
        else
            klog(KLOG_WARN, "priv", "domain %u: notify of port %u refused: not one of its "
                 "console or channel ports", q->domid, q->port);
        return;
    case KCD_PRIV_CONS_CLOSE:
        if (c)
            cons_free(r, c);
        return;
    case KCD_PRIV_CHAN_UNMAP:
        if (ch)
            kcd_pchan_unmap(r, ch);
        return;
    case KCD_PRIV_CHAN_CLOSE:
        if (ch)
            kcd_pchan_free(r, ch);
        return;
    default:
        return;
    }
}

void kcd_pres_sweep(struct kcd_pres *r)
{
    struct keel_domctl_info info;

    for (struct kcd_pcons *c = r->cons, *next; c; c = next) {
        next = c->next;
        if (kc_domain_getinfo(r->h, c->domid, &info) == -ESRCH) {
            klog(KLOG_INFO, "priv", "domain %u is gone: its console port closed", c->domid);
            cons_free(r, c);
        }
    }
    for (struct kcd_pchan *ch = r->chans, *next; ch; ch = next) {
        next = ch->next;
        if (kc_domain_getinfo(r->h, ch->domid, &info) == -ESRCH)
            kcd_pchan_free(r, ch);
    }
}

int kcd_pres_new(const struct kcd_priv_cfg *cfg, struct kcd_pres **out)
{
    struct kcd_pres *r = calloc(1, sizeof(*r));

    if (!r)
        return -ENOMEM;
    r->cfg = cfg;
    r->h = cfg->h;
    *out = r;
    return 0;
}

void kcd_pres_free(struct kcd_pres *r)
{
    if (!r)
        return;
    while (r->chans)
        kcd_pchan_free(r, r->chans);
    while (r->cons)
        cons_free(r, r->cons);
    free(r);
}
