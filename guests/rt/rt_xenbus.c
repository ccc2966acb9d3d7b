/* rt_xenbus.c - the frontend side of xenbus (include/keel/io/xenbus.h, /work/device-contract):
 * finds a device's frontend directory under device/<type>/, reads its backend path from it,
 * reads and writes keys on either side, switches the frontend state and waits with a deadline
 * for the backend's state through a store watch. Everything the store returns is validated
 * (lengths, decimal numbers, the shape of the backend path) before use. Built on rt_xs.c:
 * one request at a time, one vCPU. */
#include "keel_guest.h"

#include "keel/io/xenbus.h"

#define XB_ENOENT 2
#define XB_EINVAL 22
#define XB_ERANGE 34
#define XB_ETIMEDOUT 110

int rt_xb_parse_u64(const char *s, uint64_t *val)
{
    uint64_t n = 0;

    if (!s || *s < '0' || *s > '9')
        return -XB_EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -XB_ERANGE;
        n = n * 10 + d;
    }
    if (*s)
        return -XB_EINVAL;
    *val = n;
    return 0;
}

static int key_path(const struct rt_xb_dev *d, int side, const char *key, char *buf, size_t size)
{
    int n = rt_snprintf(buf, size, "%s/%s", side == RT_XB_BACKEND ? d->be : d->fe, key);

    return n < 0 || (size_t)n >= size ? -XB_ERANGE : 0;
}

int rt_xb_read(const struct rt_xb_dev *d, int side, const char *key, char *buf, size_t size)
{
    char path[RT_XB_PATH_MAX + 64];
    int rc = key_path(d, side, key, path, sizeof(path));

    if (rc < 0)
        return rc;
    rc = rt_xs_read(path, buf, size);
    if (rc >= 0 && (size_t)rc >= size)
        return -XB_ERANGE;                     /* truncated: never act on half a value */
    return rc;
}

int rt_xb_read_u64(const struct rt_xb_dev *d, int side, const char *key, uint64_t *val)
{
    char buf[32];
    int rc = rt_xb_read(d, side, key, buf, sizeof(buf));

    return rc < 0 ? rc : rt_xb_parse_u64(buf, val);
}

uint64_t rt_xb_read_u64_or(const struct rt_xb_dev *d, int side, const char *key, uint64_t dflt)
{
    uint64_t v;

    return rt_xb_read_u64(d, side, key, &v) == 0 ? v : dflt;
}

int rt_xb_write(const struct rt_xb_dev *d, const char *key, const char *value)
{
    char path[RT_XB_PATH_MAX + 64];
    int rc = key_path(d, RT_XB_FRONTEND, key, path, sizeof(path));

    return rc < 0 ? rc : rt_xs_write(path, value);
}

int rt_xb_printf(const struct rt_xb_dev *d, const char *key, const char *fmt, ...)
{
    char value[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = rt_vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(value))
        return -XB_ERANGE;
    return rt_xb_write(d, key, value);
}

int rt_xb_rm(const struct rt_xb_dev *d, const char *key)
{
    char path[RT_XB_PATH_MAX + 64];
    int rc = key_path(d, RT_XB_FRONTEND, key, path, sizeof(path));

    return rc < 0 ? rc : rt_xs_rm(path);
}

int rt_xb_state(const struct rt_xb_dev *d, int side)
{
    uint64_t v;
    int rc = rt_xb_read_u64(d, side, "state", &v);

    if (rc < 0)
        return rc;
    return v > KEEL_XB_RECONFIGURED ? -XB_EINVAL : (int)v;
}

int rt_xb_switch(const struct rt_xb_dev *d, int state)
{
    if (state < KEEL_XB_INITIALISING || state > KEEL_XB_RECONFIGURED)
        return -XB_EINVAL;
    return rt_xb_printf(d, "state", "%d", state);
}

/* A backend path must look like /local/domain/<backend-id>/backend/<kind>/<us>/<devid>. */
static int backend_path_ok(const struct rt_xb_dev *d, const char *p)
{
    char want[64];
    int n = rt_snprintf(want, sizeof(want), "/local/domain/%u/backend/", d->be_id);

    if (strncmp(p, want, (size_t)n))
        return 0;
    for (const char *c = p; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '/' || *c == '-' ||
              *c == '_'))
            return 0;
    return p[strlen(p) - 1] != '/';
}

/* Fill d for device <devid> of <type>: the frontend dir and the backend it names. */
static int xb_bind(struct rt_xb_dev *d, const char *type, uint32_t devid)
{
    uint64_t be_id;
    int rc;

    memset(d, 0, sizeof(*d));
    d->devid = devid;
    rt_snprintf(d->fe, sizeof(d->fe), "device/%s/%u", type, devid);
    if ((rc = rt_xb_read_u64(d, RT_XB_FRONTEND, "backend-id", &be_id)) < 0)
        return rc;
    if (be_id >= KEEL_DOMID_FIRST_RESERVED)
        return -XB_EINVAL;
    d->be_id = (uint32_t)be_id;
    if ((rc = rt_xb_read(d, RT_XB_FRONTEND, "backend", d->be, sizeof(d->be))) < 0)
        return rc;
    if (!backend_path_ok(d, d->be)) {
        rt_printf("xenbus: %s: backend path '%s' is not a backend directory of domain %u\n",
                  d->fe, d->be, d->be_id);
        return -XB_EINVAL;
    }
    rt_snprintf(d->token, sizeof(d->token), "xb-%s-%u", type, devid);
    return 0;
}

/* The frontend dir names the backend again (after a transparent save/restore or migration the
 * toolstack rewrote it for the guest's new domid): take it, moving the watch. 0 when it changed,
 * 1 when it is the same, negative errno when unreadable or not a backend path. */
int rt_xb_rebind(struct rt_xb_dev *d)
{
    char be[RT_XB_PATH_MAX];
    uint64_t be_id;
    uint32_t old_id = d->be_id;
    int watching = d->watching, rc;

    if ((rc = rt_xb_read_u64(d, RT_XB_FRONTEND, "backend-id", &be_id)) < 0)
        return rc;
    if (be_id >= KEEL_DOMID_FIRST_RESERVED)
        return -XB_EINVAL;
    if ((rc = rt_xb_read(d, RT_XB_FRONTEND, "backend", be, sizeof(be))) < 0)
        return rc;
    d->be_id = (uint32_t)be_id;
    if (!backend_path_ok(d, be)) {
        d->be_id = old_id;
        return -XB_EINVAL;
    }
    if (!strcmp(be, d->be) && old_id == d->be_id)
        return 1;
    rt_xb_unwatch_backend(d);
    rt_snprintf(d->be, sizeof(d->be), "%s", be);
    if (watching)
        rt_xb_watch_backend(d);
    return 0;
}

int rt_xb_open(struct rt_xb_dev *d, const char *type, uint32_t devid)
{
    char dir[RT_XB_PATH_MAX], list[1024];
    int rc, len;

    if (strlen(type) > 16)
        return -XB_EINVAL;
    if (devid)
        return xb_bind(d, type, devid);
    rt_snprintf(dir, sizeof(dir), "device/%s", type);
    if ((len = rt_xs_directory(dir, list, sizeof(list))) < 0)
        return len;
    if ((size_t)len >= sizeof(list))
        len = sizeof(list) - 1;
    /* the first entry that is a decimal device number and binds (0 included: vifs count
     * from 0) */
    for (int off = 0; off < len; off += (int)strlen(list + off) + 1) {
        uint64_t id;
        if (rt_xb_parse_u64(list + off, &id) < 0 || id > UINT32_MAX)
            continue;
        if ((rc = xb_bind(d, type, (uint32_t)id)) == 0)
            return 0;
    }
    return -XB_ENOENT;
}

int rt_xb_watch_backend(struct rt_xb_dev *d)
{
    char path[RT_XB_PATH_MAX + 8];
    int rc;

    if (d->watching)
        return 0;
    rt_snprintf(path, sizeof(path), "%s/state", d->be);
    rc = rt_xs_watch(path, d->token);
    if (rc == 0 || rc == -17)                  /* EEXIST: the store still has it */
        d->watching = 1;
    return rc == -17 ? 0 : rc;
}

void rt_xb_unwatch_backend(struct rt_xb_dev *d)
{
    char path[RT_XB_PATH_MAX + 8];

    if (!d->watching)
        return;
    rt_snprintf(path, sizeof(path), "%s/state", d->be);
    rt_xs_unwatch(path, d->token);
    d->watching = 0;
}

int rt_xb_event_pending(void)
{
    char path[RT_XB_PATH_MAX], token[32];
    int any = 0;

    while (rt_xs_wait_watch(path, sizeof(path), token, sizeof(token), 0) == 0)
        any = 1;                               /* deadline 0: only what is already there */
    return any;
}

int rt_xb_wait_state(struct rt_xb_dev *d, uint32_t mask, uint64_t deadline)
{
    char path[RT_XB_PATH_MAX], token[32];
    int rc, st;

    if ((rc = rt_xb_watch_backend(d)) < 0)
        return rc;
    for (;;) {
        st = rt_xb_state(d, RT_XB_BACKEND);
        if (st >= 0 && (mask & (1u << st)))
            return st;
        if (rt_now() >= deadline)
            return -XB_ETIMEDOUT;
        /* a watch event, or a second at most (a store restart forgets our watch) */
        uint64_t until = rt_now() + 1000000000ULL;
        rc = rt_xs_wait_watch(path, sizeof(path), token, sizeof(token),
                              until < deadline ? until : deadline);
        if (rc == -XB_ETIMEDOUT && d->watching) {
            d->watching = 0;                   /* register again: harmless if it still exists */
            rt_xb_watch_backend(d);
        }
    }
}
