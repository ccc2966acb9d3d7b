/* xs_wait.c - waiting for a store node to reach a value: a watch on a second connection to the
 * store daemon (its events only wake us up), the value read on the context's own connection. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_int.h"

/* Discard the events queued on the watch connection: 0, or a negative errno when it is lost. */
static int drain(kxs *w)
{
    char *path, *token;
    int rc = kxs_pump(w);

    while (kxs_next_event(w, &path, &token) > 0)
        free(path);
    return rc;
}

int kl__xs_wait(kl_ctx *ctx, const char *path, int (*ok)(const char *value, void *arg), void *arg,
                int timeout_ms)
{
    uint64_t end = kl__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    kxs *w = NULL;
    int rc;

    if ((rc = kl__xs_open(ctx, &w)) < 0)
        return rc;
    if ((rc = kxs_watch(w, path, "w")) < 0) {
        kxs_close(w);
        return kl__err(ctx, rc, "store: cannot set a watch on %s: %s", path, strerror(-rc));
    }
    for (;;) {
        char *v = NULL;
        uint64_t now;
        struct pollfd p = { kxs_fd(w), POLLIN, 0 };
        drain(w);
        rc = kl__xs_read(ctx, 0, path, &v);
        if (rc < 0 && rc != -ENOENT)
            break;
        rc = ok(rc == 0 ? v : NULL, arg);
        free(v);
        if (rc) {
            rc = 0;
            break;
        }
        if ((now = kl__now_ms()) >= end) {
            rc = -ETIMEDOUT;
            break;
        }
        if (poll(&p, 1, (int)(end - now)) > 0 && drain(w) < 0) {
            rc = kl__err(ctx, -ECONNRESET, "store: the watch connection closed");
            break;
        }
    }
    kxs_close(w);
    return rc;
}
