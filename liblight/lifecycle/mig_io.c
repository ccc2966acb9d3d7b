/* mig_io.c - byte-stream helpers of the migration code: writing everything without SIGPIPE on
 * sockets, reading exactly with a timeout and a cancel flag. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mig_int.h"

int mig_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    int sock = 1;

    while (len) {
        ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
        if (n < 0 && sock && errno == ENOTSOCK) {
            sock = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pf = { fd, POLLOUT, 0 };
            poll(&pf, 1, 1000);
            continue;
        }
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mig_read_exact(int fd, void *buf, size_t len, int timeout_ms, volatile int *cancel)
{
    char *p = buf;
    int waited = 0;

    while (len) {
        struct pollfd pf = { fd, POLLIN, 0 };
        ssize_t n;
        int r;
        if (cancel && *cancel)
            return -ECANCELED;
        r = poll(&pf, 1, 100);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r <= 0) {
            waited += 100;
            if (timeout_ms >= 0 && waited >= timeout_ms)
                return -ETIMEDOUT;
            continue;
        }
        n = read(fd, p, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return errno == ECONNRESET ? -ECONNRESET : -errno;
        if (n == 0)
            return -ECONNRESET;
        waited = 0;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
