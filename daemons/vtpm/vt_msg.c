/* vt_msg.c - framing of the manager <-> instance messages (vt_proto.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vt_proto.h"
#include "kio.h"

int vt_msg_send(int fd, uint32_t type, const void *a, uint32_t alen, const void *b, uint32_t blen)
{
    struct vt_mhdr h = { type, alen + blen };
    struct iovec iov[3] = { { &h, sizeof(h) }, { (void *)a, alen }, { (void *)b, blen } };
    int cnt = 3, i = 0;

    if ((uint64_t)alen + blen > VT_MSG_MAX)
        return -EMSGSIZE;
    while (i < cnt) {
        ssize_t w = writev(fd, iov + i, cnt - i);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        while (i < cnt && (size_t)w >= iov[i].iov_len) {
            w -= (ssize_t)iov[i].iov_len;
            i++;
        }
        if (i < cnt) {
            iov[i].iov_base = (uint8_t *)iov[i].iov_base + w;
            iov[i].iov_len -= (size_t)w;
        }
    }
    return 0;
}

int vt_msg_recv(int fd, uint32_t *type, uint8_t **data, uint32_t *len, int timeout_ms)
{
    struct vt_mhdr h;
    uint8_t *p;
    int rc;

    *data = NULL;
    *len = 0;
    if ((rc = kio_read_full_timeout(fd, &h, sizeof(h), timeout_ms)) < 0)
        return rc;
    if (h.len > VT_MSG_MAX)
        return -EPROTO;
    if (!(p = malloc(h.len ? h.len : 1)))
        return -ENOMEM;
    if ((rc = kio_read_full_timeout(fd, p, h.len, timeout_ms)) < 0) {
        free(p);
        return rc;
    }
    *type = h.type;
    *data = p;
    *len = h.len;
    return 0;
}
