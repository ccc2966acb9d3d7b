/* ksock: listening Unix sockets that appear on the file system only once they accept. */
#include "ksock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int ksock_listen(const char *path, mode_t mode, int backlog, int extra_flags)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, n, e;

    n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%ld.new", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | extra_flags, 0);
    if (fd < 0)
        return -errno;
    unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto fail;
    if (chmod(sa.sun_path, mode) < 0 || listen(fd, backlog) < 0 || rename(sa.sun_path, path) < 0) {
        e = -errno;
        unlink(sa.sun_path);
        close(fd);
        return e;
    }
    return fd;
fail:
    e = -errno;
    close(fd);
    return e;
}
