/* vt_ctl.c - keel-vtpmd's control socket <rundir>/vtpm/control (SOCK_SEQPACKET, root only:
 * directory 0700 and SO_PEERCRED uid 0): one request per connection, the messages of
 * common/kvtpm.h, checked (magic, version, op, ids, lengths) before use. export freezes the
 * instance and returns its whole state; import checks a blob and keeps it for its device (sealed
 * to disk at once); release stops a frozen instance without saving; resume unfreezes it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "klog.h"
#include "kvtpm.h"
#include "vt_int.h"

int vt_ctl_open(void)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd;

    if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/control", vt.vtdir) >=
        sizeof(a.sun_path))
        return -ENAMETOOLONG;
    unlink(a.sun_path);
    if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(a.sun_path, 0600) < 0 ||
        listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    vt.ctl_fd = fd;
    return 0;
}

static int vt_ctl_export(struct vt_dev *d, uint8_t **blob, size_t *len, char *err, size_t el)
{
    struct kvtpm_blob_hdr h;
    uint8_t *st = NULL, *b;
    uint32_t n = 0, pl, vl;
    int rc;

    if (d->closed || d->fd < 0) {
        snprintf(err, el, "the device has no running instance");
        return -ESRCH;
    }
    if ((rc = vt_inst_getstate(d, &st, &n)) < 0) {
        snprintf(err, el, "the instance gave no state");
        return rc;
    }
    memcpy(&pl, st, 4);
    memcpy(&vl, st + 4, 4);
    if (pl == 0 || (uint64_t)pl + vl + 8 != n || !(b = malloc(sizeof(h) + n - 8))) {
        free(st);
        snprintf(err, el, "the instance's state is malformed");
        return -EPROTO;
    }
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, KVTPM_BLOB_MAGIC, 8);
    h.version = KVTPM_BLOB_VERSION;
    memcpy(h.uuid, d->uuid, 36);
    h.perm_len = pl;
    h.vol_len = vl;
    memcpy(b, &h, sizeof(h));
    memcpy(b + sizeof(h), st + 8, n - 8);
    free(st);
    d->frozen = 1;
    *blob = b;
    *len = sizeof(h) + n - 8;
    klog_info(d->name, "exported (%u + %u bytes): frozen until release or resume", pl, vl);
    return 0;
}

static int vt_ctl_import(uint32_t domid, uint32_t devid, const uint8_t *p, size_t n, char *err,
                         size_t el)
{
    char u[37], bu[37], why[300];
    struct vt_import *slot = NULL;
    struct kvtpm_blob_hdr h;
    struct vt_dev *d = vt_dev_find(domid, devid);
    int rc;

    if (n < 36) {
        snprintf(err, el, "no uuid");
        return -EINVAL;
    }
    memcpy(u, p, 36);
    u[36] = 0;
    if (vt_uuid_norm(u, u) < 0) {
        snprintf(err, el, "malformed uuid");
        return -EINVAL;
    }
    if ((rc = kvtpm_blob_check(p + 36, n - 36, bu, why, sizeof(why))) < 0) {
        snprintf(err, el, "%s", why);
        return rc;
    }
    if (strcmp(u, bu)) {
        snprintf(err, el, "the state is of uuid %s, not %s", bu, u);
        return -EINVAL;
    }
    if (d && !d->closed) {
        snprintf(err, el, "domain %u already has a running vtpm %u", domid, devid);
        return -EBUSY;
    }
    for (unsigned i = 0; i < sizeof(vt.imports) / sizeof(vt.imports[0]); i++)
        if (vt.imports[i].used && vt.imports[i].domid == domid && vt.imports[i].devid == devid)
            slot = &vt.imports[i];
    for (unsigned i = 0; !slot && i < sizeof(vt.imports) / sizeof(vt.imports[0]); i++)
        if (!vt.imports[i].used)
            slot = &vt.imports[i];
    if (!slot) {
        snprintf(err, el, "too many imports waiting for their devices");
        return -ENOSPC;
    }
    memcpy(&h, p + 36, sizeof(h));
    if ((rc = vt_state_save(vt.statedir, vt.key, u, p + 36 + sizeof(h), h.perm_len, why,
                            sizeof(why))) < 0) {
        snprintf(err, el, "%s", why);
        return rc;
    }
    free(slot->blob);
    if (!(slot->blob = malloc(n - 36))) {
        memset(slot, 0, sizeof(*slot));
        return -ENOMEM;
    }
    memcpy(slot->blob, p + 36, n - 36);
    slot->len = n - 36;
    slot->used = 1;
    slot->domid = domid;
    slot->devid = devid;
    memcpy(slot->uuid, u, 37);
    klog_info("vtpm", "vtpm %u/%u: state of %s imported (%zu bytes) and sealed", domid, devid,
              u, n - 36);
    return 0;
}

static int vt_ctl_frozen(struct vt_dev *d, int release, char *err, size_t el)
{
    if (!d || !d->frozen || d->closed) {
        snprintf(err, el, "no exported (frozen) instance for this device");
        return -ESRCH;
    }
    if (release) {
        d->released = 1;
        vt_inst_stop(d);
        klog_info(d->name, "released: the instance stopped without saving");
    } else {
        d->frozen = 0;
        klog_info(d->name, "resumed");
        vt_kick(d);
    }
    return 0;
}

static void vt_ctl_serve(int fd)
{
    struct kvtpm_msg_hdr h;
    struct ucred cr;
    socklen_t cl = sizeof(cr);
    uint8_t *p = NULL, *out = NULL;
    size_t n = 0, outlen = 0;
    char err[400] = "";
    struct vt_dev *d;
    int rc;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.uid != 0) {
        klog_warn("vtpm", "control: connection from uid %d refused", (int)cr.uid);
        return;
    }
    if ((rc = kvtpm_recv(fd, &h, &p, &n)) < 0) {
        klog_warn("vtpm", "control: malformed request: %s", strerror(-rc));
        return;
    }
    d = vt_dev_find(h.domid, h.devid);
    switch (h.op) {
    case KVTPM_OP_EXPORT:
        rc = n ? -EINVAL : d ? vt_ctl_export(d, &out, &outlen, err, sizeof(err)) : -ESRCH;
        break;
    case KVTPM_OP_IMPORT:
        rc = vt_ctl_import(h.domid, h.devid, p, n, err, sizeof(err));
        break;
    case KVTPM_OP_RELEASE:
    case KVTPM_OP_RESUME:
        rc = n ? -EINVAL : vt_ctl_frozen(d, h.op == KVTPM_OP_RELEASE, err, sizeof(err));
        break;
    default:
        rc = -EOPNOTSUPP;
        snprintf(err, sizeof(err), "unknown operation %u", h.op);
    }
    if (rc < 0 && !err[0])
        snprintf(err, sizeof(err), "%s", rc == -ESRCH ? "no such vtpm device" : strerror(-rc));
    if (rc < 0)
        klog_warn("vtpm", "control: op %u for vtpm %u/%u failed: %s", h.op, h.domid, h.devid,
                  err);
    if (rc < 0)
        kvtpm_send_reply(fd, h.op, h.domid, h.devid, rc, err, strlen(err) + 1);
    else
        kvtpm_send_reply(fd, h.op, h.domid, h.devid, 0, out, outlen);
    free(out);
    free(p);
}

void vt_ctl_accept(void)
{
    struct timeval tv = { 5, 0 };
    int fd = accept4(vt.ctl_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    vt_ctl_serve(fd);
    close(fd);
}
