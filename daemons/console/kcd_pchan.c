/* kcd_pchan.c - the privileged part's share of PV channels. The serving process names only a
 * domain and a console number; everything else is read here from the store: the backend
 * (/local/domain/0/backend/console/<domid>/<n>: state Initialising, frontend the expected
 * path, connection pty or socket, path absolute) to open the host end - a Unix socket
 * listening at path (mode 0600; a stale socket nobody listens on is replaced, any other file
 * refused) or a raw pty whose slave stays open here - and the frontend (device/console/<n>:
 * ring-ref, port) to map the ring by grant and bind the port. The serving process gets the
 * listening socket or the pty master, the domain's memory descriptor with the ring's frame
 * (read from our own mapping in /proc/self/maps) and the port's eventfd. All of it stays here
 * across restarts of the serving process (the socket keeps its path, the pty its slave) until
 * the serving process closes the channel or the domain is gone. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "kcd_pres_int.h"
#include "klog.h"

#define REFUSE(a, rc, ...) (snprintf((a)->msg, sizeof((a)->msg), __VA_ARGS__), (rc))

struct kcd_pchan *kcd_pchan_find(struct kcd_pres *r, uint32_t domid, uint32_t cons)
{
    for (struct kcd_pchan *c = r->chans; c; c = c->next)
        if (c->domid == domid && c->cons == cons)
            return c;
    return NULL;
}

void kcd_pchan_unmap(struct kcd_pres *r, struct kcd_pchan *c)
{
    if (c->local)
        kc_evtchn_close(r->h, c->local);
    if (c->page)
        kc_gnttab_unmap(r->h, c->page, 1);
    c->local = 0;
    c->page = NULL;
}

void kcd_pchan_free(struct kcd_pres *r, struct kcd_pchan *c)
{
    struct stat st;

    for (struct kcd_pchan **pp = &r->chans; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            r->nchans--;
            break;
        }
    kcd_pchan_unmap(r, c);
    if (c->lfd >= 0) {
        close(c->lfd);
        if (stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
            unlink(c->path);
    }
    if (c->master >= 0)
        close(c->master);
    if (c->slave >= 0)
        close(c->slave);
    free(c);
}

/* Listen at path; a stale socket file (nobody listening) is replaced, anything else refused. */
static int host_listen(struct kcd_pchan *c, struct kcd_priv_rsp *a)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, rc, probe;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        goto fail;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (errno != EADDRINUSE || lstat(c->path, &st) < 0 || !S_ISSOCK(st.st_mode))
            goto fail;
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        rc = probe < 0 ? 0 : connect(probe, (struct sockaddr *)&sa, sizeof(sa));
        if (probe >= 0)
            close(probe);
        if (rc == 0 || errno != ECONNREFUSED) {
            errno = EADDRINUSE;
            goto fail;
        }
        unlink(c->path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            goto fail;
    }
    if (chmod(c->path, 0600) < 0 || listen(fd, 4) < 0 || stat(c->path, &st) < 0) {
        rc = errno;
        unlink(c->path);
        errno = rc;
        goto fail;
    }
    c->dev = st.st_dev;
    c->ino = st.st_ino;
    c->lfd = fd;
    return 0;
fail:
    rc = -errno;
    if (fd >= 0)
        close(fd);
    return REFUSE(a, rc, "socket %s: %s", c->path, strerror(-rc));
}

/* A pty in raw mode (no echo); we keep the slave open, so the master never reads end-of-file
 * while no client has it open. */
static int host_pty(struct kcd_pchan *c, struct kcd_priv_rsp *a)
{
    struct termios t;
    int rc;

    c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (c->master < 0 || grantpt(c->master) < 0 || unlockpt(c->master) < 0 ||
        ptsname_r(c->master, c->tty, sizeof(c->tty)) != 0)
        goto fail;
    if ((c->slave = open(c->tty, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)) < 0 ||
        tcgetattr(c->slave, &t) < 0)
        goto fail;
    cfmakeraw(&t);
    if (tcsetattr(c->slave, TCSANOW, &t) < 0)
        goto fail;
    return 0;
fail:
    rc = -errno;
    return REFUSE(a, rc ? rc : -EIO, "pty: %s", strerror(errno));
}

/* The backend's keys as the toolstack wrote them; a new channel in Initialising only. */
static int chan_keys(struct kcd_pres *r, struct kcd_pchan *c, struct kcd_priv_rsp *a)
{
    char be[96], fe[96], p[160], v[128];
    uint64_t st;
    kxs *x = kcd_pres_store(r);
    int rc = 0;

    if (!x)
        return REFUSE(a, -ENOTCONN, "no store to read the channel's backend from");
    snprintf(be, sizeof(be), "/local/domain/0/backend/console/%u/%u", c->domid, c->cons);
    snprintf(fe, sizeof(fe), "/local/domain/%u/device/console/%u", c->domid, c->cons);
    snprintf(p, sizeof(p), "%s/state", be);
    if (kcd_pres_read_u64(x, p, 8, &st) < 0 || st != 1)
        rc = REFUSE(a, -EPERM, "%s is not Initialising", be);
    snprintf(p, sizeof(p), "%s/frontend", be);
    if (!rc && (kcd_pres_read(x, p, v, sizeof(v)) < 0 || strcmp(v, fe)))
        rc = REFUSE(a, -EPERM, "backend key frontend is not %s", fe);
    snprintf(p, sizeof(p), "%s/connection", be);
    if (!rc && (kcd_pres_read(x, p, v, sizeof(v)) < 0 || (strcmp(v, "pty") && strcmp(v, "socket"))))
        rc = REFUSE(a, -EINVAL, "connection is neither pty nor socket");
    c->is_socket = !rc && !strcmp(v, "socket");
    snprintf(p, sizeof(p), "%s/path", be);
    if (!rc && c->is_socket &&
        (kcd_pres_read(x, p, c->path, sizeof(c->path)) < 0 || c->path[0] != '/'))
        rc = REFUSE(a, -EINVAL, "a socket channel needs an absolute path shorter than %zu",
                    sizeof(c->path));
    kxs_close(x);
    return rc;
}

static int chan_give(struct kcd_pchan *c, struct kcd_priv_rsp *a, int *fd)
{
    *fd = fcntl(c->is_socket ? c->lfd : c->master, F_DUPFD_CLOEXEC, 10);
    if (*fd < 0)
        return -errno;
    a->flags = c->is_socket ? KCD_PRIV_SOCKET : 0;
    snprintf(a->tty, sizeof(a->tty), "%s", c->is_socket ? "" : c->tty);
    return 0;
}

int kcd_pchan_open(struct kcd_pres *r, const struct kcd_priv_req *q, struct kcd_priv_rsp *a,
                   int *fd)
{
    struct kcd_pchan *c;
    int rc;

    if (q->cons == 0 || q->cons >= KCD_PRIV_CONS_END)
        return REFUSE(a, -EINVAL, "console %u out of range", q->cons);
    if ((c = kcd_pchan_find(r, q->domid, q->cons)))
        return chan_give(c, a, fd);
    if (q->flags & KCD_PRIV_ADOPT)
        return REFUSE(a, -ENOENT, "no host end held");
    if (r->nchans >= KCD_PRIV_CHANS_MAX)
        return REFUSE(a, -ENOSPC, "%u channels open", r->nchans);
    if (!(c = calloc(1, sizeof(*c))))
        return -ENOMEM;
    c->domid = q->domid;
    c->cons = q->cons;
    c->lfd = c->master = c->slave = -1;
    c->next = r->chans;
    r->chans = c;
    r->nchans++;
    if ((rc = chan_keys(r, c, a)) < 0 ||
        (rc = c->is_socket ? host_listen(c, a) : host_pty(c, a)) < 0 ||
        (rc = chan_give(c, a, fd)) < 0) {
        kcd_pchan_free(r, c);
        return rc;
    }
    klog(KLOG_INFO, "priv", "domain %u: channel %u on %s", c->domid, c->cons,
         c->is_socket ? c->path : c->tty);
    return 0;
}

/* The frame behind our mapping at page (kernel-made /proc/self/maps: start, offset). */
static int page_gfn(const void *page, uint64_t *gfn)
{
    unsigned long s, e, p = (unsigned long)page;
    unsigned long long off;
    char line[512];
    FILE *f = fopen("/proc/self/maps", "re");
    int rc = -ENOENT;

    if (!f)
        return -errno;
    while (rc && fgets(line, sizeof(line), f))
        if (sscanf(line, "%lx-%lx %*s %llx", &s, &e, &off) == 3 && s <= p && p < e) {
            *gfn = (off + (p - s)) >> 12;
            rc = 0;
        }
    fclose(f);
    return rc;
}

static int chan_ring(struct kcd_pres *r, struct kcd_pchan *c, struct kcd_priv_rsp *a)
{
    char p[160];
    uint64_t ref, port;
    kxs *x = kcd_pres_store(r);
    int rc = 0;

    if (!x)
        return REFUSE(a, -ENOTCONN, "no store to read the channel's frontend from");
    snprintf(p, sizeof(p), "/local/domain/%u/device/console/%u/ring-ref", c->domid, c->cons);
    if (kcd_pres_read_u64(x, p, UINT32_MAX, &ref) < 0)
        rc = REFUSE(a, -EINVAL, "frontend ring-ref missing or not a grant reference");
    snprintf(p, sizeof(p), "/local/domain/%u/device/console/%u/port", c->domid, c->cons);
    if (!rc && kcd_pres_read_u64(x, p, KCD_PRIV_PORT_END - 1, &port) < 0)
        rc = REFUSE(a, -EINVAL, "frontend port missing or out of range");
    kxs_close(x);
    if (rc < 0)
        return rc;
    c->ref = (uint32_t)ref;
    if (!(c->page = kc_gnttab_map(r->h, c->domid, &c->ref, 1, 1, NULL)))
        return REFUSE(a, -EIO, "mapping grant %u: %s", c->ref, kc_error(r->h));
    if ((rc = page_gfn(c->page, &c->gfn)) < 0) {
        kcd_pchan_unmap(r, c);
        return REFUSE(a, rc, "grant %u: its frame not found in /proc/self/maps", c->ref);
    }
    c->port = (uint32_t)port;
    return 0;
}

int kcd_pchan_map(struct kcd_pres *r, const struct kcd_priv_req *q, struct kcd_priv_rsp *a,
                  int fds[2])
{
    struct kcd_pchan *c = kcd_pchan_find(r, q->domid, q->cons);
    int rc, fd;

    if (!c)
        return REFUSE(a, -EPERM, "channel %u of domain %u is not open", q->cons, q->domid);
    if (!c->page) {
        if ((rc = chan_ring(r, c, a)) < 0)
            return rc;
        if ((rc = kcd_pres_bind(r, c->domid, c->port, &c->local, &fds[1], a)) < 0) {
            c->local = 0;
            kcd_pchan_unmap(r, c);
            return rc;
        }
    } else if ((fd = kc_evtchn_fd(r->h, c->local)) < 0 ||
               (fds[1] = fcntl(fd, F_DUPFD_CLOEXEC, 10)) < 0) {
        return REFUSE(a, -EIO, "port %u has no descriptor", c->local);
    }
    a->gfn = c->gfn;
    a->ref = c->ref;
    a->port = c->port;
    a->local = c->local;
    return kcd_pres_memfd(r, c->domid, c->gfn, &fds[0], a);
}
