/* kio.h - the tree's byte-moving loops: write all of a buffer, read exactly a length, each
 * over short transfers, EINTR and (with a timeout) non-blocking descriptors. */
#ifndef KEEL_KIO_H
#define KEEL_KIO_H

#include <stddef.h>

/* Write len bytes of buf to fd. timeout_ms < 0 waits for ever; otherwise a descriptor that
 * stays unwritable that long gives -ETIMEDOUT. Returns 0 or a negative errno (-EIO if the
 * descriptor takes no byte). */
int kio_write_all_timeout(int fd, const void *buf, size_t len, int timeout_ms);
/* The same on a socket, sent with MSG_NOSIGNAL: a closed peer gives -EPIPE, not SIGPIPE. */
int kio_send_all_timeout(int fd, const void *buf, size_t len, int timeout_ms);
/* Read exactly len bytes into buf: 0, -ECONNRESET when the peer ends the stream first,
 * -ETIMEDOUT when no byte comes within timeout_ms (< 0: no limit), or another negative errno. */
int kio_read_full_timeout(int fd, void *buf, size_t len, int timeout_ms);

static inline int kio_write_all(int fd, const void *buf, size_t len)
{
    return kio_write_all_timeout(fd, buf, len, -1);
}

static inline int kio_send_all(int fd, const void *buf, size_t len)
{
    return kio_send_all_timeout(fd, buf, len, -1);
}

static inline int kio_read_full(int fd, void *buf, size_t len)
{
    return kio_read_full_timeout(fd, buf, len, -1);
}

#endif
