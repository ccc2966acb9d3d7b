/* vt_sock.c - the tpm2-tools access to a vTPM: per device a Unix socket
 * <rundir>/vtpm/<domid>.<devid>.sock speaking the protocol of tpm2-tss's swtpm TCTI (a raw TPM
 * command, then the raw response, on the data socket; control commands on <path>.ctrl, of which
 * the TCTI sends CMD_SET_LOCALITY), e.g. tpm2_getrandom -T "swtpm:path=<path>". Root only (the
 * directory is 0700, the sockets 0600). One client at a time; its commands are checked like the
 * guest's (tag, size 10..4096, size field = bytes sent), serialised with the guest's, at
 * locality 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "klog.h"
#include "vt_int.h"
#include "kio.h"

#define VT_SWTPM_SET_LOCALITY 5u
#define VT_TPM_FAIL 9u
#define VT_TPM_BAD_LOCALITY 61u

static int vt_listen(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    strcpy(a.sun_path, path);
    unlink(path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(path, 0600) < 0 ||
        listen(fd, 8) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int vt_sock_open(struct vt_dev *d)
{
    char ctrl[128];
    int rc;

    if ((size_t)snprintf(d->sock_path, sizeof(d->sock_path), "%s/%u.%u.sock", vt.vtdir,
                         d->domid, d->devid) >= sizeof(d->sock_path) - 5)
        return -ENAMETOOLONG;
    snprintf(ctrl, sizeof(ctrl), "%s.ctrl", d->sock_path);
    if ((rc = d->lfd = vt_listen(d->sock_path)) < 0 || (rc = d->cfd = vt_listen(ctrl)) < 0) {
        klog_err(d->name, "tpm2-tools socket %s: %s", d->sock_path, strerror(-rc));
        vt_sock_close(d);
        return rc;
    }
    klog_info(d->name, "tpm2-tools: -T swtpm:path=%s", d->sock_path);
    return 0;
}

static void vt_client_drop(struct vt_dev *d)
{
    if (d->client >= 0)
        close(d->client);
    d->client = -1;
    d->sock_pending = 0;
}

void vt_sock_close(struct vt_dev *d)
{
    char ctrl[128];

    vt_client_drop(d);
    if (d->lfd >= 0)
        close(d->lfd);
    if (d->cfd >= 0)
        close(d->cfd);
    if (d->lfd >= 0 || d->cfd >= 0) {
        snprintf(ctrl, sizeof(ctrl), "%s.ctrl", d->sock_path);
        unlink(d->sock_path);
        unlink(ctrl);
    }
    d->lfd = d->cfd = -1;
}

/* How long a tpm2-tools client may take to send or to take a message (and the sockets'
 * SO_RCVTIMEO/SO_SNDTIMEO). */
#define VT_SOCK_TIMEOUT_MS 2000

static int vt_accept(int lfd)
{
    struct timeval tv = { VT_SOCK_TIMEOUT_MS / 1000, 0 };
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/* A new data connection: it replaces an idle one (the TCTI connects once per command). */
void vt_sock_accept(struct vt_dev *d)
{
    int fd;

    if (d->sock_pending || d->busy == VT_SRC_SOCK)
        return;
    if ((fd = vt_accept(d->lfd)) < 0)
        return;
    vt_client_drop(d);
    d->client = fd;
}

void vt_sock_ctrl(struct vt_dev *d)
{
    uint8_t b[5];
    uint32_t res = VT_TPM_FAIL, cmd;
    int fd = vt_accept(d->cfd);

    if (fd < 0)
        return;
    if (kio_read_full_timeout(fd, b, 4, VT_SOCK_TIMEOUT_MS) == 0) {
        cmd = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (cmd == VT_SWTPM_SET_LOCALITY &&
            kio_read_full_timeout(fd, b + 4, 1, VT_SOCK_TIMEOUT_MS) == 0)
            res = b[4] == 0 ? 0 : VT_TPM_BAD_LOCALITY;
        else
            klog_debug(d->name, "tpm2-tools control command %u not supported", cmd);
        b[0] = (uint8_t)(res >> 24);
        b[1] = (uint8_t)(res >> 16);
        b[2] = (uint8_t)(res >> 8);
        b[3] = (uint8_t)res;
        kio_send_all_timeout(fd, b, 4, VT_SOCK_TIMEOUT_MS);
    }
    close(fd);
}

void vt_sock_readable(struct vt_dev *d)
{
    uint32_t size, tag;
    uint8_t e[10];
    int rc;

    if (d->client < 0 || d->sock_pending || d->busy == VT_SRC_SOCK)
        return;
    if ((rc = kio_read_full_timeout(d->client, d->scmd, 10, VT_SOCK_TIMEOUT_MS)) < 0) {
        vt_client_drop(d);               /* the client is done (or sent a partial header) */
        return;
    }
    tag = (uint32_t)d->scmd[0] << 8 | d->scmd[1];
    size = (uint32_t)d->scmd[2] << 24 | (uint32_t)d->scmd[3] << 16 |
           (uint32_t)d->scmd[4] << 8 | d->scmd[5];
    if ((tag != 0x8001 && tag != 0x8002) || size < 10 || size > VT_TPM_BUF) {
        klog_warn(d->name, "tpm2-tools socket: command with tag 0x%x size %u refused", tag, size);
        vt_err_resp(e, tag != 0x8001 && tag != 0x8002 ? VT_RC_BAD_TAG : VT_RC_COMMAND_SIZE);
        kio_send_all_timeout(d->client, e, 10, VT_SOCK_TIMEOUT_MS);
        vt_client_drop(d);
        return;
    }
    if ((rc = kio_read_full_timeout(d->client, d->scmd + 10, size - 10,
                                     VT_SOCK_TIMEOUT_MS)) < 0) {
        vt_client_drop(d);
        return;
    }
    d->sock_len = size;
    d->sock_pending = 1;
    vt_kick(d);
}

void vt_sock_answer(struct vt_dev *d, const uint8_t *resp, uint32_t len)
{
    if (d->client < 0)
        return;
    if (kio_send_all_timeout(d->client, resp, len, VT_SOCK_TIMEOUT_MS) < 0)
        vt_client_drop(d);
}
