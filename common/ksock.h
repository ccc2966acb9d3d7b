/* ksock: listening Unix sockets that appear on the file system only once they accept. */
#ifndef KEEL_KSOCK_H
#define KEEL_KSOCK_H

#include <sys/types.h>

/*
 * Bind a SOCK_STREAM Unix socket under a temporary name beside path, set its mode, listen, and
 * only then rename it onto path. A client that sees path can connect at once: there is no window
 * in which the name exists but connect() is refused. extra_flags is or-ed into the socket type
 * (e.g. SOCK_NONBLOCK); SOCK_CLOEXEC is always set. Returns the descriptor or a negative errno.
 */
int ksock_listen(const char *path, mode_t mode, int backlog, int extra_flags);

#endif
