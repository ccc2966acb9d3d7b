/* bb_nbd.c - keel-blkback's image engine (kind qdisk): the image ("<format>:<path>") is opened by
 * qemu-nbd, started by libnbd with systemd socket activation (no socket in the file system; it
 * exits when the connection closes), and read, written, flushed and trimmed with libnbd's
 * asynchronous commands. The image format is entirely qemu's business. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnbd.h>

#include "bb_target.h"

struct bb_nbd_cmd {
    struct bb_target *t;
    void *cookie;
    int64_t len;
};

static const char *const bb_formats[] = { "raw", "qcow2", "qcow", "vmdk", "qed", "vdi", "vpc",
                                          "vhdx", NULL };

/* "<format>:<path>": a format qemu knows (vhd means vpc) and an absolute path. */
static int bb_nbd_spec(const char *spec, char *fmt, size_t fl, const char **path)
{
    const char *c = strchr(spec, ':');
    size_t n;

    if (!c || (n = (size_t)(c - spec)) == 0 || n >= fl || c[1] != '/')
        return -EINVAL;
    memcpy(fmt, spec, n);
    fmt[n] = 0;
    if (!strcmp(fmt, "vhd"))
        snprintf(fmt, fl, "vpc");
    for (int i = 0; bb_formats[i]; i++)
        if (!strcmp(fmt, bb_formats[i])) {
            *path = c + 1;
            return 0;
        }
    return -EINVAL;
}

/* Before the worker's seccomp filter: remove libnbd's socket and its directory now (qemu-nbd
 * holds the listening socket, we the connection), so that nbd_close has nothing to unlink under
 * the filter, and note qemu-nbd's pid: the only process the filter lets the worker signal. */
static void bb_nbd_confine_prep(struct bb_target *t)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    char p[64], *slash;
    FILE *f;
    int pid = 0;

    memset(&sa, 0, sizeof(sa));
    if (getpeername(nbd_aio_get_fd(t->nbd), (struct sockaddr *)&sa, &len) == 0 &&
        sa.sun_family == AF_UNIX && sa.sun_path[0] == '/' && len > offsetof(struct sockaddr_un, sun_path)) {
        sa.sun_path[sizeof(sa.sun_path) - 1] = 0;
        unlink(sa.sun_path);
        if ((slash = strrchr(sa.sun_path, '/')) && slash != sa.sun_path) {
            *slash = 0;
            if (strstr(sa.sun_path, "/libnbd"))
                rmdir(sa.sun_path);
        }
    }
    snprintf(p, sizeof(p), "/proc/self/task/%d/children", (int)gettid());
    if ((f = fopen(p, "re"))) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    t->nbd_pid = pid;
}

int bb_nbd_open(struct bb_target *t, const char *spec, char *err, size_t errlen)
{
    const char *qnbd = getenv("KEEL_QEMU_NBD"), *path = NULL;
    char fmt[16];
    char *argv[12];
    int a = 0;
    int64_t size;

    if (bb_nbd_spec(spec, fmt, sizeof(fmt), &path) < 0) {
        snprintf(err, errlen, "params '%s' is not <format>:<absolute path> with a known format",
                 spec);
        return -EINVAL;
    }
    if (access(path, t->readonly ? R_OK : R_OK | W_OK) < 0) {
        int e = errno;
        snprintf(err, errlen, "image %s: %s", path, strerror(e));
        return -e;
    }
    argv[a++] = (char *)(qnbd && *qnbd ? qnbd : "qemu-nbd");
    argv[a++] = (char *)"-f";
    argv[a++] = fmt;
    argv[a++] = (char *)"--discard=unmap";
    argv[a++] = (char *)"--cache=writeback";
    if (t->readonly)
        argv[a++] = (char *)"-r";
    argv[a++] = (char *)path;
    argv[a] = NULL;
    if (!(t->nbd = nbd_create())) {
        snprintf(err, errlen, "libnbd: %s", nbd_get_error());
        return -ENOMEM;
    }
    /* a previous qemu-nbd of this image (a backend restart) may still hold its lock briefly */
    for (int tries = 0;; tries++) {
        if (nbd_connect_systemd_socket_activation(t->nbd, argv) == 0)
            break;
        if (tries == 20) {
            snprintf(err, errlen, "qemu-nbd on %s (%s): %s", path, fmt, nbd_get_error());
            nbd_close(t->nbd);
            t->nbd = NULL;
            return -EIO;
        }
        nbd_close(t->nbd);
        usleep(100000);
        if (!(t->nbd = nbd_create()))
            return -ENOMEM;
    }
    bb_nbd_confine_prep(t);
    if ((size = nbd_get_size(t->nbd)) < 0) {
        snprintf(err, errlen, "size of %s: %s", path, nbd_get_error());
        bb_nbd_close(t);
        return -EIO;
    }
    t->size = (uint64_t)size;
    t->phys_sector = 512;
    t->can_flush = nbd_can_flush(t->nbd) == 1;
    t->can_discard = !t->readonly && nbd_can_trim(t->nbd) == 1;
    return 0;
}

void bb_nbd_close(struct bb_target *t)
{
    if (!t->nbd)
        return;
    while (t->inflight && nbd_aio_is_ready(t->nbd) + nbd_aio_is_processing(t->nbd) > 0)
        if (nbd_poll(t->nbd, 1000) < 0)
            break;
    nbd_shutdown(t->nbd, 0);
    nbd_close(t->nbd);             /* waits for qemu-nbd */
    t->nbd = NULL;
}

static int bb_nbd_done(void *ud, int *error)
{
    struct bb_nbd_cmd *c = ud;

    c->t->inflight--;
    c->t->done(c->cookie, *error ? -*error : (int)c->len);
    return 1;
}

static nbd_completion_callback bb_nbd_cb(struct bb_target *t, void *cookie, int64_t len)
{
    struct bb_nbd_cmd *c = malloc(sizeof(*c));
    nbd_completion_callback cb = { .callback = bb_nbd_done, .user_data = c, .free = free };

    if (c) {
        c->t = t;
        c->cookie = cookie;
        c->len = len;
    }
    return cb;
}

static int bb_nbd_issued(struct bb_target *t, int64_t cookie_rc)
{
    if (cookie_rc < 0)
        return -(nbd_get_errno() ? nbd_get_errno() : EIO);
    t->inflight++;
    return 1;
}

int bb_nbd_rw(struct bb_target *t, int write, uint64_t off, const struct iovec *iov, int cnt,
              void *cookie)
{
    int issued = 0;

    for (int i = 0; i < cnt; i++) {
        nbd_completion_callback cb = bb_nbd_cb(t, cookie, (int64_t)iov[i].iov_len);
        int64_t rc;
        if (!cb.user_data)
            return issued ? issued : -ENOMEM;
        rc = write ? nbd_aio_pwrite(t->nbd, iov[i].iov_base, iov[i].iov_len, off, cb, 0)
                   : nbd_aio_pread(t->nbd, iov[i].iov_base, iov[i].iov_len, off, cb, 0);
        if (bb_nbd_issued(t, rc) < 0)
            return issued ? issued : -EIO;
        issued++;
        off += iov[i].iov_len;
    }
    return issued;
}

int bb_nbd_flush(struct bb_target *t, void *cookie)
{
    nbd_completion_callback cb;

    if (!t->can_flush)
        return 0;                   /* no volatile cache: nothing to wait for */
    cb = bb_nbd_cb(t, cookie, 0);
    if (!cb.user_data)
        return -ENOMEM;
    return bb_nbd_issued(t, nbd_aio_flush(t->nbd, cb, 0));
}

int bb_nbd_discard(struct bb_target *t, uint64_t off, uint64_t len, void *cookie)
{
    nbd_completion_callback cb = bb_nbd_cb(t, cookie, 0);

    if (!cb.user_data)
        return -ENOMEM;
    return bb_nbd_issued(t, nbd_aio_trim(t->nbd, len, off, cb, 0));
}

int bb_nbd_pollfd(struct bb_target *t, short *events)
{
    unsigned dir;

    if (!t->nbd || !t->inflight)
        return -1;
    dir = nbd_aio_get_direction(t->nbd);
    *events = (short)((dir & LIBNBD_AIO_DIRECTION_READ ? POLLIN : 0) |
                      (dir & LIBNBD_AIO_DIRECTION_WRITE ? POLLOUT : 0));
    return nbd_aio_get_fd(t->nbd);
}

int bb_nbd_process(struct bb_target *t, short revents)
{
    if (revents & (POLLIN | POLLHUP | POLLERR))
        nbd_aio_notify_read(t->nbd);
    if (revents & POLLOUT)
        nbd_aio_notify_write(t->nbd);
    return nbd_aio_is_dead(t->nbd) ? -EIO : 0;
}
