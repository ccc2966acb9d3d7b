/* kvtpm.c - the client of keel-vtpmd's control socket (export, import, release, resume of a
 * domain's vTPM state) and the message framing both ends use. See kvtpm.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvtpm.h"
#include "krundir.h"

__attribute__((format(printf, 3, 4)))
static int kvtpm_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return 0;
}

int kvtpm_send(int fd, uint16_t op, uint32_t domid, uint32_t devid, const void *payload,
               size_t len)
{
    const uint8_t *p = payload;
    size_t off = 0;

    if (len > KVTPM_PAYLOAD_MAX)
        return -EMSGSIZE;
    do {
        size_t n = len - off > KVTPM_CHUNK_MAX ? KVTPM_CHUNK_MAX : len - off;
        struct kvtpm_msg_hdr h = { KVTPM_MAGIC, KVTPM_VERSION, op, domid, devid, (uint32_t)n,
                                   off + n < len ? KVTPM_F_MORE : 0 };
        struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)(p ? p + off : NULL), n } };
        struct msghdr m = { .msg_iov = iov, .msg_iovlen = n ? 2 : 1 };
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (w < 0)
            return -errno;
        if ((size_t)w != sizeof(h) + n)
            return -EIO;
        off += n;
    } while (off < len);
    return 0;
}

int kvtpm_send_reply(int fd, uint16_t op, uint32_t domid, uint32_t devid, int32_t status,
                     const void *data, size_t len)
{
    uint8_t *buf;
    int rc;

    if (len > KVTPM_PAYLOAD_MAX - 4)
        return -EMSGSIZE;
    if (!(buf = malloc(4 + len)))
        return -ENOMEM;
    memcpy(buf, &status, 4);
    if (len)
        memcpy(buf + 4, data, len);
    rc = kvtpm_send(fd, (uint16_t)(op | KVTPM_OP_REPLY), domid, devid, buf, 4 + len);
    free(buf);
    return rc;
}

/* One message into buf (room bytes of payload at most): its header checked. */
static int kvtpm_recv_one(int fd, struct kvtpm_msg_hdr *h, uint8_t *buf, size_t room)
{
    struct iovec iov[2] = { { h, sizeof(*h) }, { buf, room } };
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
    ssize_t r = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);

    if (r < 0)
        return -errno;
    if (r == 0)
        return -ECONNRESET;
    if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        return -EPROTO;
    if ((size_t)r < sizeof(*h) || h->magic != KVTPM_MAGIC || h->version != KVTPM_VERSION ||
        h->length != (size_t)r - sizeof(*h) || h->length > KVTPM_CHUNK_MAX ||
        (h->flags & ~KVTPM_F_MORE))
        return -EPROTO;
    return 0;
}

int kvtpm_recv(int fd, struct kvtpm_msg_hdr *hdr, uint8_t **payload, size_t *len)
{
    uint8_t *buf = NULL;
    size_t have = 0;
    int rc, first = 1;

    *payload = NULL;
    *len = 0;
    for (;;) {
        struct kvtpm_msg_hdr h;
        uint8_t *nb = realloc(buf, have + KVTPM_CHUNK_MAX + 1);
        if (!nb) {
            free(buf);
            return -ENOMEM;
        }
        buf = nb;
        if ((rc = kvtpm_recv_one(fd, &h, buf + have, KVTPM_CHUNK_MAX + 1)) < 0)
            break;
        if (first) {
            *hdr = h;
            first = 0;
        }
        if (h.op != hdr->op || h.domid != hdr->domid || h.devid != hdr->devid) {
            rc = -EPROTO;
            break;
        }
        have += h.length;
        if (have > KVTPM_PAYLOAD_MAX) {
            rc = -EMSGSIZE;
            break;
        }
        if (!(h.flags & KVTPM_F_MORE)) {
            hdr->length = (uint32_t)have;
            hdr->flags = 0;
            *payload = buf;
            *len = have;
            return 0;
        }
    }
    free(buf);
    return rc;
}

int kvtpm_blob_check(const uint8_t *blob, size_t len, char uuid[37], char *err, size_t errlen)
{
    struct kvtpm_blob_hdr h;

    if (!blob || len < sizeof(h)) {
        kvtpm_fail(err, errlen, "vTPM state blob truncated (%zu bytes)", len);
        return -EINVAL;
    }
    memcpy(&h, blob, sizeof(h));
    if (memcmp(h.magic, KVTPM_BLOB_MAGIC, 8) || h.version != KVTPM_BLOB_VERSION || h.flags) {
        kvtpm_fail(err, errlen, "not a Keel vTPM state blob (magic, version %u or flags %u)",
                   h.version, h.flags);
        return -EINVAL;
    }
    for (int i = 0; i < 36; i++) {
        char c = h.uuid[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            kvtpm_fail(err, errlen, "vTPM state blob: malformed uuid");
            return -EINVAL;
        }
    }
    if (h.perm_len == 0 || (uint64_t)h.perm_len + h.vol_len != len - sizeof(h)) {
        kvtpm_fail(err, errlen, "vTPM state blob: lengths %u + %u do not match its %zu bytes",
                   h.perm_len, h.vol_len, len - sizeof(h));
        return -EINVAL;
    }
    if (uuid) {
        memcpy(uuid, h.uuid, 36);
        uuid[36] = 0;
    }
    return 0;
}

static int kvtpm_connect(const char *rundir, char *err, size_t errlen)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct timeval tv = { 30, 0 };
    int fd;

    if (krundir_path(a.sun_path, sizeof(a.sun_path), rundir, "vtpm/control") < 0) {
        kvtpm_fail(err, errlen, "vTPM control socket path too long");
        return -ENAMETOOLONG;
    }
    if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        kvtpm_fail(err, errlen, "cannot reach the vTPM manager at %s: %s", a.sun_path,
                   strerror(e));
        close(fd);
        return -e;
    }
    return fd;
}

/* One request, one reply: data and dlen get the reply's data (data may be NULL). */
static int kvtpm_call(const char *rundir, uint16_t op, uint32_t domid, uint32_t devid,
                      const void *req, size_t reqlen, uint8_t **data, size_t *dlen,
                      char *err, size_t errlen)
{
    static const char *names[] = { "", "export", "import", "release", "resume" };
    struct kvtpm_msg_hdr h = { 0 };
    uint8_t *p = NULL;
    size_t n = 0;
    int32_t status;
    int fd, rc;

    if ((fd = kvtpm_connect(rundir, err, errlen)) < 0)
        return fd;
    if ((rc = kvtpm_send(fd, op, domid, devid, req, reqlen)) < 0) {
        kvtpm_fail(err, errlen, "vTPM %s of domain %u device %u: sending: %s", names[op], domid,
                   devid, strerror(-rc));
        goto out;
    }
    if ((rc = kvtpm_recv(fd, &h, &p, &n)) < 0) {
        kvtpm_fail(err, errlen, "vTPM %s of domain %u device %u: no valid reply: %s",
                   names[op], domid, devid, strerror(-rc));
        goto out;
    }
    if (h.op != (op | KVTPM_OP_REPLY) || h.domid != domid || h.devid != devid || n < 4) {
        kvtpm_fail(err, errlen, "vTPM %s of domain %u device %u: reply does not match",
                   names[op], domid, devid);
        rc = -EPROTO;
        goto out;
    }
    memcpy(&status, p, 4);
    if (status < 0) {
        kvtpm_fail(err, errlen, "vTPM %s of domain %u device %u: %.*s", names[op], domid, devid,
                   (int)strnlen((char *)p + 4, n - 4), (char *)p + 4);
        rc = status < -4095 ? -EPROTO : status;
        goto out;
    }
    rc = 0;
    if (data) {
        memmove(p, p + 4, n - 4);
        *data = p;
        *dlen = n - 4;
        p = NULL;
    }
out:
    free(p);
    close(fd);
    return rc;
}

int kvtpm_export(const char *rundir, uint32_t domid, uint32_t devid, uint8_t **blob, size_t *len,
                 char *err, size_t errlen)
{
    int rc;

    *blob = NULL;
    *len = 0;
    rc = kvtpm_call(rundir, KVTPM_OP_EXPORT, domid, devid, NULL, 0, blob, len, err, errlen);
    if (rc == 0 && (rc = kvtpm_blob_check(*blob, *len, NULL, err, errlen)) < 0) {
        free(*blob);
        *blob = NULL;
        *len = 0;
    }
    return rc;
}

int kvtpm_import(const char *rundir, uint32_t domid, uint32_t devid, const char *uuid,
                 const uint8_t *blob, size_t len, char *err, size_t errlen)
{
    char u[37];
    uint8_t *req;
    int rc;

    if ((rc = kvtpm_blob_check(blob, len, u, err, errlen)) < 0)
        return rc;
    if (!uuid || strlen(uuid) != 36 || strcasecmp(uuid, u)) {
        kvtpm_fail(err, errlen, "vTPM import of domain %u device %u: the state is of uuid %s, "
                   "not %s", domid, devid, u, uuid ? uuid : "(none)");
        return -EINVAL;
    }
    if (len > KVTPM_PAYLOAD_MAX - 36 || !(req = malloc(36 + len)))
        return -ENOMEM;
    memcpy(req, u, 36);
    memcpy(req + 36, blob, len);
    rc = kvtpm_call(rundir, KVTPM_OP_IMPORT, domid, devid, req, 36 + len, NULL, NULL, err,
                    errlen);
    free(req);
    return rc;
}

int kvtpm_release(const char *rundir, uint32_t domid, uint32_t devid, char *err, size_t errlen)
{
    return kvtpm_call(rundir, KVTPM_OP_RELEASE, domid, devid, NULL, 0, NULL, NULL, err, errlen);
}

int kvtpm_resume(const char *rundir, uint32_t domid, uint32_t devid, char *err, size_t errlen)
{
    return kvtpm_call(rundir, KVTPM_OP_RESUME, domid, devid, NULL, 0, NULL, NULL, err, errlen);
}
