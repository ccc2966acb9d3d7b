/* fuzz-xsreply.c - the store client (common/kxs.c under lifecycle/xs.c) against hostile replies: the input is
 * what the "daemon" sends back, through a socketpair, to a sequence of requests (read, write,
 * transaction start/end, rm, set-perms). Nothing may crash, leak or read out of bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lc_int.h"

int kl__err(kl_ctx *ctx, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
    va_end(ap);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const perms[] = { "n0", "r1" };
    kl_ctx ctx;
    int sv[2], bufsz = 1 << 17;
    uint32_t tx = 0;
    char *out = NULL;

    if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
    if (size && write(sv[1], data, size) != (ssize_t)size) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    shutdown(sv[1], SHUT_WR);          /* the daemon says nothing more: EOF, no waiting */
    memset(&ctx, 0, sizeof(ctx));
    if (kxs_open_fd(&ctx.xs, sv[0]) < 0) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    snprintf(ctx.rundir, sizeof(ctx.rundir), "/nonexistent");
    for (int round = 0; round < 4 && ctx.xs; round++) {
        if (kl__xs_read(&ctx, 0, "/local/domain/1/name", &out) == 0) {
            if (strlen(out) > 4096)
                abort();               /* a reply is at most 4096 bytes */
            free(out);
            out = NULL;
        }
        if (!ctx.xs)
            break;
        kl__xs_write(&ctx, tx, "/local/domain/1/memory/target", "16384");
        if (ctx.xs && kl__xs_tx_start(&ctx, &tx) == 0 && ctx.xs)
            kl__xs_tx_end(&ctx, tx, 1);
        if (ctx.xs)
            kl__xs_set_perms(&ctx, 0, "/local/domain/1", perms, 2);
        if (ctx.xs)
            kl__xs_rm(&ctx, 0, "/vm/x");
    }
    kl__xs_close(&ctx);
    close(sv[1]);
    return 0;
}
