/* fuzz-cons-xs.c - fuzz target for keel-consoled's store-client input: the input is a byte
 * stream as the store socket could deliver it, read through the common store client
 * (kxs_open_fd over a socketpair, kxs_pump) as the daemon reads it; every queued watch event's
 * path is parsed with kcd_xs_console_domid and kcd_chan_path. Framing must never reach past
 * the input; a domid (and a channel's console number) must be in range and come from a path of
 * the expected shape. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kcd_chan.h"
#include "kcd_xs.h"
#include "kxs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path, *token;
    int sv[2], bufsz = 1 << 17;
    kxs *x;

    if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
    if ((size && write(sv[1], data, size) != (ssize_t)size) || kxs_open_fd(&x, sv[0]) < 0) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    close(sv[1]);                     /* the store says nothing more */
    for (int round = 0; round < 64 && !kxs_dead(x); round++) {
        kxs_pump(x);
        while (kxs_next_event(x, &path, &token) > 0) {
            size_t pl = strlen(path);
            long d = kcd_xs_console_domid(path, pl);
            if (d != -1 && (d < 0 || d > 0x7fef || pl < 22 || memcmp(path, "/local/domain/", 14)))
                abort();
            uint32_t cd = 0, cn = 0;
            if (kcd_chan_path(path, pl, &cd, &cn) == 0 &&
                (cd < 1 || cd > 0x7fef || cn < 1 || cn > 65536 || memcmp(path, "/local/domain/", 14)))
                abort();
            free(path);
        }
    }
    kxs_close(x);
    return 0;
}
