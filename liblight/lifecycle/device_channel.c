/* device_channel.c - PV channels (channel=[...] in xl.cfg): consoles with a name, as Xen's
 * docs/misc/console.txt lays them out, served by keel-consoled (daemons/console/README.md).
 * Checks of a configuration's channels before a domain is built, the store nodes of each
 * channel at create (frontend device/console/<devid+1>, backend backend/console/<domid>/<n>,
 * /libxl bookkeeping), the wait for the daemon's InitWait (its socket or pty exists then), the
 * removal at destroy (Closing, the daemon's Closed, nodes removed) and kl_channel_list. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "lc_int.h"

#define CH_NAME_MAX 127
#define CH_PROTOCOL "vt100"          /* Xen's console protocol key */
#define CH_LIMIT "1048576"           /* Xen's console limit key */

struct ch_nodes {
    char fe[96], be[128], bk[96];
};

static void ch_paths(struct ch_nodes *n, uint32_t domid, uint32_t cons)
{
    snprintf(n->fe, sizeof(n->fe), "/local/domain/%u/device/console/%u", domid, cons);
    snprintf(n->be, sizeof(n->be), "/local/domain/0/backend/console/%u/%u", domid, cons);
    snprintf(n->bk, sizeof(n->bk), "/libxl/%u/device/console/%u", domid, cons);
}

static int ch_backend_ok(const kl_device_channel *c)
{
    const char *bn = c->backend_domname;

    return c->backend_domid == 0 && (!bn || !strcmp(bn, "0") || !strcmp(bn, "Domain-0"));
}

/* One entry: name, connection and path as keel-consoled can serve them. */
static int ch_check_one(kl_ctx *ctx, const kl_device_channel *c, int i)
{
    const char *nm = c->name ? c->name : "";

    if (!c->name || !*c->name)
        return kl__err(ctx, -EINVAL, "channel %d: a name is required (name=...)", i);
    if (strlen(nm) > CH_NAME_MAX || strpbrk(nm, "\n\r"))
        return kl__err(ctx, -EINVAL, "channel %d (name=%.40s): the name must be one line of at "
                       "most %d characters", i, nm, CH_NAME_MAX);
    if (!ch_backend_ok(c))
        return kl__err(ctx, -ENOTSUP, "channel %d (name=%s): backend=%s: driver domains are not "
                       "supported (keel-consoled runs in Domain-0)", i, nm,
                       c->backend_domname ? c->backend_domname : "?");
    if (c->connection == KL_CHANNEL_CONNECTION_PTY)
        return c->path ? kl__err(ctx, -EINVAL, "channel %d (name=%s): a pty connection takes "
                                 "no path", i, nm) : 0;
    if (c->connection != KL_CHANNEL_CONNECTION_SOCKET)
        return kl__err(ctx, -EINVAL, "channel %d (name=%s): connection=pty or connection=socket "
                       "is required", i, nm);
    if (!c->path || !*c->path)
        return kl__err(ctx, -EINVAL, "channel %d (name=%s): connection=socket needs a path", i, nm);
    if (c->path[0] != '/')
        return kl__err(ctx, -EINVAL, "channel %d (name=%s): path %.80s is not absolute", i, nm,
                       c->path);
    if (strlen(c->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return kl__err(ctx, -ENAMETOOLONG, "channel %d (name=%s): path %.40s... is %zu bytes, a "
                       "Unix socket path holds at most %zu", i, nm, c->path, strlen(c->path),
                       sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    return 0;
}

int kl__channels_check(kl_ctx *ctx, const kl_domain_config *dc)
{
    int rc;

    for (int i = 0; i < dc->num_channels; i++) {
        const kl_device_channel *c = &dc->channels[i];
        if ((rc = ch_check_one(ctx, c, i)) < 0)
            return rc;
        for (int j = 0; j < i; j++) {
            const kl_device_channel *o = &dc->channels[j];
            if (!strcmp(o->name, c->name))
                return kl__err(ctx, -EINVAL, "channel %d (name=%s): channel %d has the same "
                               "name (names must be unique)", i, c->name, j);
            if (o->path && c->path && !strcmp(o->path, c->path))
                return kl__err(ctx, -EINVAL, "channel %d (name=%s): channel %d (name=%s) listens "
                               "on the same path %s", i, c->name, j, o->name, c->path);
        }
    }
    return 0;
}

static int ch_mkdir(kl_ctx *ctx, uint32_t tx, const char *path, const char *owner,
                    const char *reader)
{
    const char *perms[2] = { owner, reader };
    int rc;

    if ((rc = kl__xs_mkdir(ctx, tx, path)) < 0 || (rc = kl__xs_set_perms(ctx, tx, path, perms, 2)) < 0)
        return kl__err(ctx, rc, "store: %s: %s", path, strerror(-rc));
    return 0;
}

/* key=value pairs under dir; ro: owned by Domain-0, readable by the guest. */
static int ch_keys(kl_ctx *ctx, uint32_t tx, const char *dir, const char *const *kv, const char *ro)
{
    char path[256];
    int rc;

    for (; kv[0]; kv += 2) {
        if (!kv[1])
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, kv[0]);
        if ((rc = kl__xs_write(ctx, tx, path, kv[1])) < 0)
            return kl__err(ctx, rc, "store: %s: %s", path, strerror(-rc));
        if (ro) {
            const char *perms[2] = { "n0", ro };
            if ((rc = kl__xs_set_perms(ctx, tx, path, perms, 2)) < 0)
                return kl__err(ctx, rc, "store: %s: %s", path, strerror(-rc));
        }
    }
    return 0;
}

static int ch_fill(kl_ctx *ctx, uint32_t tx, uint32_t domid, const kl_device_channel *c,
                   const struct ch_nodes *n)
{
    char owner[16], reader[16], dom[16], output[48];
    const char *conn = kl_channel_connection_to_string(c->connection);
    const char *sock = c->connection == KL_CHANNEL_CONNECTION_SOCKET ? c->path : NULL;
    int rc;

    snprintf(owner, sizeof(owner), "n%u", domid);
    snprintf(reader, sizeof(reader), "r%u", domid);
    snprintf(dom, sizeof(dom), "%u", domid);
    if (sock)
        snprintf(output, sizeof(output), "chardev:keel-channel%d", c->devid);
    else
        snprintf(output, sizeof(output), "pty");
    const char *be[] = { "frontend", n->fe, "frontend-id", dom, "online", "1", "state", "1",
                         "protocol", CH_PROTOCOL, "name", c->name, "connection", conn,
                         "path", sock, NULL };
    const char *fe[] = { "backend", n->be, "backend-id", "0", "state", "1", "protocol",
                         CH_PROTOCOL, NULL };
    const char *fe_ro[] = { "name", c->name, "limit", CH_LIMIT, "type", "xenconsoled",
                            "output", output, "tty", "", NULL };
    const char *bk[] = { "frontend", n->fe, "backend", n->be, "name", c->name,
                         "connection", conn, "path", sock, NULL };

    if ((rc = ch_mkdir(ctx, tx, n->fe, owner, "r0")) < 0 ||
        (rc = ch_mkdir(ctx, tx, n->be, "n0", reader)) < 0 ||
        (rc = ch_keys(ctx, tx, n->be, be, NULL)) < 0 ||
        (rc = ch_keys(ctx, tx, n->fe, fe, NULL)) < 0 ||
        (rc = ch_keys(ctx, tx, n->fe, fe_ro, reader)) < 0)
        return rc;
    return ch_keys(ctx, tx, n->bk, bk, NULL);
}

static int ch_write(kl_ctx *ctx, uint32_t domid, const kl_device_channel *c,
                    const struct ch_nodes *n)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        uint32_t tx;
        int rc;

        if ((rc = kl__xs_tx_start(ctx, &tx)) < 0)
            return kl__err(ctx, rc, "store: transaction: %s", strerror(-rc));
        if ((rc = ch_fill(ctx, tx, domid, c, n)) < 0) {
            kl__xs_tx_end(ctx, tx, 0);
            return rc;
        }
        rc = kl__xs_tx_end(ctx, tx, 1);
        if (rc != -EAGAIN)
            return rc < 0 ? kl__err(ctx, rc, "store: commit: %s", strerror(-rc)) : 0;
    }
    return kl__err(ctx, -EAGAIN, "store: the transaction kept conflicting");
}

/* InitWait or later (the daemon has its socket or pty); Closed also ends the wait. */
static int ch_be_ready(const char *v, void *arg)
{
    (void)arg;
    return kl__xb_state(v) >= 2;
}

static int ch_be_closed(const char *v, void *arg)
{
    (void)arg;
    return !v || kl__xb_state(v) == 6;
}

static int ch_add(kl_ctx *ctx, uint32_t domid, const kl_device_channel *c)
{
    struct ch_nodes n;
    char path[160], *v = NULL, *err = NULL;
    int rc, st;

    ch_paths(&n, domid, (uint32_t)c->devid + 1);
    if ((rc = ch_write(ctx, domid, c, &n)) < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/state", n.be);
    rc = kl__xs_wait(ctx, path, ch_be_ready, NULL, kl__dev_timeout(KL__INIT_TIMEOUT_MS));
    if (rc == -ETIMEDOUT)
        return kl__err(ctx, rc, "keel-consoled did not take the channel within %d s (is it "
                       "running?)", kl__dev_timeout(KL__INIT_TIMEOUT_MS) / 1000);
    if (rc < 0)
        return kl__err(ctx, rc, "waiting for %s: %s", path, strerror(-rc));
    kl__xs_read(ctx, 0, path, &v);
    st = kl__xb_state(v);
    free(v);
    if (st != 6)
        return 0;
    snprintf(path, sizeof(path), "%s/error", n.be);
    kl__xs_read(ctx, 0, path, &err);
    rc = kl__err(ctx, -EIO, "keel-consoled refused it: %s", err ? err : "(no reason given)");
    free(err);
    return rc;
}

int kl__channels_add_config(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc)
{
    for (int i = 0; i < dc->num_channels; i++) {
        const kl_device_channel *c = &dc->channels[i];
        int rc = ch_add(ctx, domid, c);
        if (rc < 0) {
            char why[sizeof(ctx->err)];
            snprintf(why, sizeof(why), "%s", kl_ctx_error(ctx));
            return kl__err(ctx, rc, "domain %u: channel %d (name=%s): %s", domid, c->devid,
                           c->name, why);
        }
    }
    return 0;
}

/* The console numbers under /libxl/<domid>/device/console (malloc'd); count. */
static int ch_ids(kl_ctx *ctx, uint32_t domid, uint32_t **ids)
{
    char path[64], *list = NULL, *end;
    size_t len = 0;
    int n = 0;

    *ids = NULL;
    snprintf(path, sizeof(path), "/libxl/%u/device/console", domid);
    if (kl__xs_directory(ctx, 0, path, &list, &len) < 0 || !len) {
        free(list);
        return 0;
    }
    if (!(*ids = calloc(len, sizeof(**ids)))) {
        free(list);
        return 0;
    }
    for (size_t off = 0; off < len; off += strlen(list + off) + 1) {
        unsigned long v = strtoul(list + off, &end, 10);
        if (list[off] >= '1' && list[off] <= '9' && !*end && v <= 65536)
            (*ids)[n++] = (uint32_t)v;
    }
    free(list);
    return n;
}

/* Destroy: Closing, the daemon's Closed (it closes the socket or pty first), nodes gone. */
void kl__channels_destroy(kl_ctx *ctx, uint32_t domid)
{
    int wait = kl__dev_timeout(KL__DYING_TIMEOUT_MS);
    uint32_t *ids;
    int n = ch_ids(ctx, domid, &ids);
    char path[160];

    for (int i = 0; i < n; i++) {
        struct ch_nodes nd;
        ch_paths(&nd, domid, ids[i]);
        snprintf(path, sizeof(path), "%s/online", nd.be);
        kl__xs_write(ctx, 0, path, "0");
        snprintf(path, sizeof(path), "%s/state", nd.be);
        if (kl__xs_write(ctx, 0, path, "5") == 0)
            kl__xs_wait(ctx, path, ch_be_closed, NULL,
                        wait < KL__DYING_TIMEOUT_MS ? wait : KL__DYING_TIMEOUT_MS);
        kl__xs_rm(ctx, 0, nd.be);
        kl__xs_rm(ctx, 0, nd.fe);
        kl__xs_rm(ctx, 0, nd.bk);
    }
    free(ids);
    snprintf(path, sizeof(path), "/local/domain/0/backend/console/%u", domid);
    kl__xs_rm(ctx, 0, path);
    ctx->err[0] = 0;
}

static void ch_read(kl_ctx *ctx, const char *dir, const char *key, char *out, size_t len)
{
    char path[200], *v = NULL;

    out[0] = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    if (kl__xs_read(ctx, 0, path, &v) == 0)
        snprintf(out, len, "%s", v);
    free(v);
}

static int ch_read_int(kl_ctx *ctx, const char *dir, const char *key, long max)
{
    char v[32], *end;
    long x;

    ch_read(ctx, dir, key, v, sizeof(v));
    if (!v[0])
        return -1;
    x = strtol(v, &end, 10);
    return *end || x < 0 || x > max ? -1 : (int)x;
}

static void ch_info(kl_ctx *ctx, uint32_t domid, uint32_t cons, kl_channelinfo *o)
{
    struct ch_nodes n;
    char conn[16];

    ch_paths(&n, domid, cons);
    memset(o, 0, sizeof(*o));
    o->devid = cons - 1;
    o->frontend_id = domid;
    ch_read(ctx, n.bk, "name", o->name, sizeof(o->name));
    ch_read(ctx, n.bk, "connection", conn, sizeof(conn));
    if (kl_channel_connection_from_string(conn, &o->connection))
        o->connection = KL_CHANNEL_CONNECTION_UNKNOWN;
    if (o->connection == KL_CHANNEL_CONNECTION_SOCKET)
        ch_read(ctx, n.bk, "path", o->path, sizeof(o->path));
    ch_read(ctx, n.bk, "backend", o->backend, sizeof(o->backend));
    ch_read(ctx, n.bk, "frontend", o->frontend, sizeof(o->frontend));
    o->state = ch_read_int(ctx, n.fe, "state", 8);
    o->ring_ref = ch_read_int(ctx, n.fe, "ring-ref", INT32_MAX);
    o->evtch = ch_read_int(ctx, n.fe, "port", INT32_MAX);
    if (o->connection == KL_CHANNEL_CONNECTION_PTY)
        ch_read(ctx, n.fe, "tty", o->tty, sizeof(o->tty));
    o->backend_id = 0;           /* Domain-0 only (ch_check_one) */
}

int kl_channel_list(kl_ctx *ctx, uint32_t domid, kl_channelinfo **out)
{
    kl_dominfo di;
    uint32_t *ids;
    int n;

    *out = NULL;
    if ((n = kl_domain_info(ctx, domid, &di)) < 0)
        return n;
    n = ch_ids(ctx, domid, &ids);
    kl__sort_u32(ids, n);
    if (!(*out = calloc((size_t)n + 1, sizeof(**out)))) {
        free(ids);
        return kl__err(ctx, -ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++)
        ch_info(ctx, domid, ids[i], &(*out)[i]);
    free(ids);
    ctx->err[0] = 0;
    return n;
}
