/* kiov.h - advancing a message's iovec array past the bytes a short sendmsg/writev moved
 * (header-only: shared by the core's control socket and libkeelctrl without linking). */
#ifndef KEEL_KIOV_H
#define KEEL_KIOV_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Drop n sent bytes from the front of mh's iovecs (emptied entries are skipped). */
static inline void kiov_advance(struct msghdr *mh, size_t n)
{
    while (mh->msg_iovlen && (n > 0 || mh->msg_iov->iov_len == 0)) {
        size_t take = n < mh->msg_iov->iov_len ? n : mh->msg_iov->iov_len;
        mh->msg_iov->iov_base = (char *)mh->msg_iov->iov_base + take;
        mh->msg_iov->iov_len -= take;
        n -= take;
        if (!mh->msg_iov->iov_len) {
            mh->msg_iov++;
            mh->msg_iovlen--;
        }
    }
}

#endif
