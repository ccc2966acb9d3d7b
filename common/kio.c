/* kio.c - write-all and read-exactly loops (see kio.h). */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kio.h"

/* Wait until fd is ready for events: 0, -ETIMEDOUT, or a negative errno. */
static int kio_wait(int fd, short events, int timeout_ms)
{
    struct pollfd p = { fd, events, 0 };

    for (;;) {
        int n = poll(&p, 1, timeout_ms);
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

enum { KIO_READ, KIO_WRITE, KIO_SEND };

/* One transfer: the bytes moved, or -EINTR/-EAGAIN to retry, or another negative errno. */
static ssize_t kio_step(int fd, void *p, size_t len, int mode)
{
    ssize_t n = mode == KIO_SEND ? send(fd, p, len, MSG_NOSIGNAL)
              : mode == KIO_WRITE ? write(fd, p, len) : read(fd, p, len);

    if (n > 0)
        return n;
    if (n == 0)
        return mode == KIO_READ ? -ECONNRESET : -EIO;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

/* With a timeout, every transfer waits for readiness first, so a blocking descriptor cannot
 * hold the caller past it; without one, only a non-blocking descriptor's EAGAIN waits. */
static int kio_xfer(int fd, void *buf, size_t len, int mode, int timeout_ms)
{
    short ev = mode == KIO_READ ? POLLIN : POLLOUT;
    char *p = buf;
    int rc;

    while (len) {
        ssize_t n;
        if (timeout_ms >= 0 && (rc = kio_wait(fd, ev, timeout_ms)) < 0)
            return rc;
        n = kio_step(fd, p, len, mode);
        if (n == -EINTR)
            continue;
        if (n == -EAGAIN) {
            if (timeout_ms < 0 && (rc = kio_wait(fd, ev, -1)) < 0)
                return rc;
            continue;
        }
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int kio_write_all_timeout(int fd, const void *buf, size_t len, int timeout_ms)
{
    return kio_xfer(fd, (void *)buf, len, KIO_WRITE, timeout_ms);
}

int kio_send_all_timeout(int fd, const void *buf, size_t len, int timeout_ms)
{
    return kio_xfer(fd, (void *)buf, len, KIO_SEND, timeout_ms);
}

int kio_read_full_timeout(int fd, void *buf, size_t len, int timeout_ms)
{
    return kio_xfer(fd, buf, len, KIO_READ, timeout_ms);
}
