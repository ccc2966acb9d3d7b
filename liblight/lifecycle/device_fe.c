/* device_fe.c - the frontend side of a domain's PV block and network devices across save,
 * restore and live migration. Keel's save is transparent to the guest: its frontend never learns it was moved, so
 * the keys it published (state, ring-ref / ring-page-order + ring-refN, event-channel, protocol,
 * feature-persistent, multi-queue keys) travel with the image and are written again for the new
 * domid, where the backend attaches to the ring from them (the contract's "backend restart").
 * They travel in the xl config JSON of the preamble as a Keel-owned member,
 *   "keel_frontends": { "vbd": { "<devid>": { "<key>": "<value>", ... }, ... },
 *                       "vif": { "<devid>": { ... } } }   (each member only when it has devices)
 * which liblight's and libxl's JSON readers ignore as an unknown member and which Xen's
 * verify-stream-v2 never parses (optional data). Keys come from a fixed set with numeric values in
 * range (protocol: a fixed list), checked when read from the guest and again from the stream.
 * Also here: closing a domain's devices while it is paused for the final copy of a save or
 * migration (kg_save's suspend callback, so no backend writes guest memory during the copy),
 * marking them so; re-adding them with the same keys when the domain resumes instead; and
 * waiting for the backends to reconnect. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kl_internal.h"
#include "lc_int.h"

#define FE_MEMBER "keel_frontends"
#define FE_MAX_DEVS 256
#define FE_RING_REFS 16                  /* ring-page-order <= 4, as Xen's blkback */
#define FE_QUEUES 16
#define SUSPENDED "keel-suspended"       /* bookkeeping key: backend closed by a save */

/* A decimal number without sign or leading zeros, at most max. */
static int dec_ok(const char *s, unsigned long long min, unsigned long long max)
{
    unsigned long long v = 0;
    const char *p = s;

    if (!*p || (p[0] == '0' && p[1]) || strlen(p) > 20)
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (max - (unsigned)(*p - '0')) / 10)
            return 0;
        v = v * 10 + (unsigned)(*p - '0');
    }
    return v >= min && v <= max;
}

/* "ring-ref" + a suffix 0..15 (the name itself when suffix is empty and plain is allowed). */
static int ring_ref_name(const char *k, int plain)
{
    if (strncmp(k, "ring-ref", 8))
        return 0;
    k += 8;
    return (!*k && plain) || (*k && dec_ok(k, 0, FE_RING_REFS - 1));
}

/* A vif frontend key that may travel (netif.h, docs/device-net.md); queue-N/ keys when q. */
static int vif_key_ok(const char *k, const char *v, int q)
{
    static const char *const flags[] = { "request-rx-copy", "feature-rx-notify", "feature-sg",
        "feature-gso-tcpv4", "feature-gso-tcpv6", "feature-no-csum-offload",
        "feature-ipv6-csum-offload", "request-multicast-control" };

    if (!strcmp(k, "tx-ring-ref") || !strcmp(k, "rx-ring-ref") || (!q && !strcmp(k, "ctrl-ring-ref")))
        return dec_ok(v, 0, UINT32_MAX);
    if (!strcmp(k, "event-channel") || !strcmp(k, "event-channel-tx") ||
        !strcmp(k, "event-channel-rx") || (!q && !strcmp(k, "event-channel-ctrl")))
        return dec_ok(v, 1, (1u << 17) - 1);
    if (q)
        return 0;
    if (!strcmp(k, "state"))
        return dec_ok(v, 1, 8);
    if (!strcmp(k, "multi-queue-num-queues"))
        return dec_ok(v, 1, FE_QUEUES);
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (!strcmp(k, flags[i]))
            return dec_ok(v, 0, 1);
    return 0;
}

/* A vtpm frontend key that may travel (tpmif.h, docs/device-vtpm.md). */
static int vtpm_key_ok(const char *k, const char *v)
{
    if (!strcmp(k, "ring-ref"))
        return dec_ok(v, 0, UINT32_MAX);
    if (!strcmp(k, "event-channel"))
        return dec_ok(v, 1, (1u << 17) - 1);
    if (!strcmp(k, "feature-protocol-v2"))
        return dec_ok(v, 0, 1);
    return !strcmp(k, "state") && dec_ok(v, 1, 8);
}

/* Device classes in the image: 0 vbd, 1 vif, 2 vtpm. */
static const char *const cls_names[] = { "vbd", "vif", "vtpm" };
static const uint32_t cls_keys[] = { 0, KL__VIF_KEY, KL__VTPM_KEY };

static int key_class(uint32_t key)
{
    return KL__KEY_IS_VIF(key) ? 1 : KL__KEY_IS_VTPM(key) ? 2 : 0;
}

/* Is key=value one the frontend may carry across a save? Names and ranges from blkif.h
 * (a disk, cls 0), netif.h (a vif, 1) or tpmif.h (a vtpm, 2). */
static int key_ok(const char *k, const char *v, int cls)
{
    const char *slash;
    int vif = cls == 1;

    if (strlen(v) > 32)
        return 0;
    if (cls == 2)
        return vtpm_key_ok(k, v);
    if ((slash = strchr(k, '/'))) {
        /* queue-N/ring-ref[M], queue-N/event-channel (multi-queue, N < 16) */
        char n[8];
        size_t l = (size_t)(slash - k);
        if (strncmp(k, "queue-", 6) || l <= 6 || l - 6 >= sizeof(n))
            return 0;
        memcpy(n, k + 6, l - 6);
        n[l - 6] = 0;
        if (!dec_ok(n, 0, FE_QUEUES - 1))
            return 0;
        k = slash + 1;
        if (vif)
            return vif_key_ok(k, v, 1);
        if (!strcmp(k, "event-channel"))
            return dec_ok(v, 1, (1u << 17) - 1);
        return ring_ref_name(k, 1) && dec_ok(v, 0, UINT32_MAX);
    }
    if (vif)
        return vif_key_ok(k, v, 0);
    if (!strcmp(k, "state"))
        return dec_ok(v, 1, 8);
    if (!strcmp(k, "event-channel"))
        return dec_ok(v, 1, (1u << 17) - 1);
    if (!strcmp(k, "ring-page-order"))
        return dec_ok(v, 0, 4);
    if (!strcmp(k, "num-ring-pages"))
        return dec_ok(v, 1, FE_RING_REFS);
    if (!strcmp(k, "feature-persistent"))
        return dec_ok(v, 0, 1);
    if (!strcmp(k, "multi-queue-num-queues"))
        return dec_ok(v, 1, FE_QUEUES);
    if (!strcmp(k, "protocol"))
        return !strcmp(v, "x86_64-abi") || !strcmp(v, "x86_32-abi") || !strcmp(v, "arm-abi");
    return ring_ref_name(k, 1) && dec_ok(v, 0, UINT32_MAX);
}

static struct kl__fe_dev *dev_new(struct kl__fe_set *s, uint32_t devid)
{
    struct kl__fe_dev *nd;

    if (s->n >= FE_MAX_DEVS || !(nd = realloc(s->dev, sizeof(*nd) * (size_t)(s->n + 1))))
        return NULL;
    s->dev = nd;
    memset(&nd[s->n], 0, sizeof(nd[0]));
    nd[s->n].devid = devid;
    return &nd[s->n++];
}

static int dev_put(struct kl__fe_dev *d, const char *k, const char *v)
{
    char *kk, *vv;

    for (int i = 0; i < d->n; i++)
        if (!strcmp(d->kv[2 * i], k))
            return -EEXIST;
    if (d->n >= KL__FE_KEYS_MAX)
        return -E2BIG;
    if (!(kk = strdup(k)) || !(vv = strdup(v))) {
        free(kk);
        return -ENOMEM;
    }
    d->kv[2 * d->n] = kk;
    d->kv[2 * d->n + 1] = vv;
    d->n++;
    d->kv[2 * d->n] = NULL;
    return 0;
}

void kl__fe_free(struct kl__fe_set *s)
{
    for (int i = 0; s && i < s->n; i++)
        for (int j = 0; j < 2 * s->dev[i].n; j++)
            free(s->dev[i].kv[j]);
    if (s) {
        free(s->dev);
        s->dev = NULL;
        s->n = 0;
    }
}

const struct kl__fe_dev *kl__fe_find(const struct kl__fe_set *s, uint32_t devid)
{
    for (int i = 0; s && i < s->n; i++)
        if (s->dev[i].devid == devid)
            return &s->dev[i];
    return NULL;
}

int kl__fe_state(const struct kl__fe_dev *d)
{
    for (int i = 0; d && i < d->n; i++)
        if (!strcmp(d->kv[2 * i], "state"))
            return atoi(d->kv[2 * i + 1]);
    return 0;
}

/* ---- from the guest's frontend directories ---- */

/* Children of dir (NUL-separated, malloc'd in *list); 0 entries when it has none. */
static size_t children(kl_ctx *ctx, const char *dir, char **list)
{
    size_t len = 0;

    *list = NULL;
    if (kl__xs_directory(ctx, 0, dir, list, &len) < 0)
        len = 0;
    return len;
}

static void read_key(kl_ctx *ctx, const char *fe, const char *k, struct kl__fe_dev *d)
{
    char path[200], *v = NULL;

    snprintf(path, sizeof(path), "%s/%s", fe, k);
    if (kl__xs_read(ctx, 0, path, &v) == 0 && key_ok(k, v, key_class(d->devid)))
        dev_put(d, k, v);
    free(v);
}

static void collect_dev(kl_ctx *ctx, uint32_t domid, struct kl__fe_dev *d)
{
    char fe[96], sub[160], name[64], *list, *ql;
    size_t len = 0, qlen;

    snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%u", domid, KL__KEY_CLASS(d->devid),
             KL__KEY_DEVID(d->devid));
    len = children(ctx, fe, &list);
    for (size_t off = 0; off < len; off += strlen(list + off) + 1) {
        const char *c = list + off;
        if (strncmp(c, "queue-", 6)) {
            read_key(ctx, fe, c, d);
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s", fe, c);
        qlen = children(ctx, sub, &ql);
        for (size_t q = 0; q < qlen; q += strlen(ql + q) + 1) {
            if (snprintf(name, sizeof(name), "%s/%s", c, ql + q) < (int)sizeof(name))
                read_key(ctx, fe, name, d);
        }
        free(ql);
    }
    free(list);
}

int kl__fe_collect(kl_ctx *ctx, uint32_t domid, struct kl__fe_set *s)
{
    uint32_t *ids;
    int n = kl__dev_ids(ctx, domid, &ids);

    memset(s, 0, sizeof(*s));
    for (int i = 0; i < n; i++) {
        struct kl__fe_dev *d = dev_new(s, ids[i]);
        if (!d) {
            free(ids);
            kl__fe_free(s);
            return kl__err(ctx, -ENOMEM, "domain %u: too many devices or out of memory", domid);
        }
        collect_dev(ctx, domid, d);
        if (!d->n)
            s->n--;                      /* a frontend that wrote nothing yet */
    }
    free(ids);
    return 0;
}

int kl__fe_equal(const struct kl__fe_set *a, const struct kl__fe_set *b, uint32_t *devid)
{
    for (int pass = 0; pass < 2; pass++) {
        const struct kl__fe_set *x = pass ? b : a, *y = pass ? a : b;
        for (int i = 0; i < x->n; i++) {
            const struct kl__fe_dev *dx = &x->dev[i], *dy = kl__fe_find(y, dx->devid);
            *devid = dx->devid;
            if (!dy || dy->n != dx->n)
                return 0;
            for (int k = 0; k < dx->n; k++) {
                int found = 0;
                for (int j = 0; j < dy->n && !found; j++)
                    found = !strcmp(dx->kv[2 * k], dy->kv[2 * j]) &&
                            !strcmp(dx->kv[2 * k + 1], dy->kv[2 * j + 1]);
                if (!found)
                    return 0;
            }
        }
    }
    return 1;
}

/* ---- in the image's JSON ---- */

/* The devices of one class as the member cls: "<devid>": { keys }, ... */
static void json_class(kl__buf *b, const struct kl__fe_set *s, int cls, int *members)
{
    int first = 1;

    for (int i = 0; i < s->n; i++) {
        if (key_class(s->dev[i].devid) != cls)
            continue;
        if (first)
            kl__buf_add(b, "%s\n        \"%s\": {", (*members)++ ? "\n        }," : "",
                        cls_names[cls]);
        kl__buf_add(b, "%s\n            \"%u\": {", first ? "" : ",",
                    KL__KEY_DEVID(s->dev[i].devid));
        first = 0;
        for (int k = 0; k < s->dev[i].n; k++) {
            kl__buf_add(b, "%s ", k ? "," : "");
            kl__buf_add_quoted(b, s->dev[i].kv[2 * k]);
            kl__buf_add(b, ": ");
            kl__buf_add_quoted(b, s->dev[i].kv[2 * k + 1]);
        }
        kl__buf_add(b, " }");
    }
}

int kl__fe_json_insert(const struct kl__fe_set *s, char **json)
{
    kl__buf b = { 0 };
    size_t end;
    char *out;
    int members = 0;

    if (!s || !s->n)
        return 0;
    end = strlen(*json);
    while (end && (*json)[end - 1] != '}')
        end--;
    if (!end)
        return -EINVAL;
    end--;                               /* the top-level object's closing brace */
    while (end && strchr(" \t\r\n", (*json)[end - 1]))
        end--;
    kl__buf_add(&b, "%.*s%s\n    \"" FE_MEMBER "\": {", (int)end, *json,
                end && (*json)[end - 1] == '{' ? "" : ",");
    json_class(&b, s, 0, &members);
    json_class(&b, s, 1, &members);
    json_class(&b, s, 2, &members);
    kl__buf_add(&b, "\n        }\n    }\n}\n");
    if (!(out = kl__buf_take(&b)))
        return -ENOMEM;
    free(*json);
    *json = out;
    return 0;
}

static int bad(kl_ctx *ctx, const char *what, const char *name)
{
    return kl__err(ctx, -EBADMSG, "the image's frontend state (" FE_MEMBER "): %s%s%.64s%s",
                   what, name ? " '" : "", name ? name : "", name ? "'" : "");
}

static int parse_dev(kl_ctx *ctx, yajl_val keys, struct kl__fe_dev *d, int cls)
{
    if (!YAJL_IS_OBJECT(keys))
        return bad(ctx, "a device's keys are not an object", NULL);
    if (keys->u.object.len > KL__FE_KEYS_MAX)
        return bad(ctx, "too many keys for one device", NULL);
    for (size_t j = 0; j < keys->u.object.len; j++) {
        const char *k = keys->u.object.keys[j];
        yajl_val v = keys->u.object.values[j];
        if (!YAJL_IS_STRING(v) || !key_ok(k, YAJL_GET_STRING(v), cls))
            return bad(ctx, "key not allowed or value out of range:", k);
        if (dev_put(d, k, YAJL_GET_STRING(v)) < 0)
            return bad(ctx, "duplicate key", k);
    }
    return 0;
}

/* One member ("vbd", "vif" or "vtpm") of keel_frontends into s. */
static int parse_class(kl_ctx *ctx, yajl_val devs, int cls, struct kl__fe_set *s)
{
    int rc = 0, vif = cls != 0;          /* vif and vtpm: devids 0..65535 */

    if (!YAJL_IS_OBJECT(devs))
        return bad(ctx, "a device class is not an object:", cls_names[cls]);
    for (size_t i = 0; rc == 0 && i < devs->u.object.len; i++) {
        const char *id = devs->u.object.keys[i];
        uint32_t key = 0;
        struct kl__fe_dev *d;
        if (dec_ok(id, vif ? 0 : 1, vif ? 65535 : (2u << 28) - 1))
            key = (uint32_t)strtoul(id, NULL, 10) | cls_keys[cls];
        if (!key || kl__fe_find(s, key))
            rc = bad(ctx, "not a device number, or a repeated one:", id);
        else if (!(d = dev_new(s, key)))
            rc = bad(ctx, "too many devices", NULL);
        else
            rc = parse_dev(ctx, devs->u.object.values[i], d, cls);
    }
    return rc;
}

int kl__fe_from_json(kl_ctx *ctx, const char *json, struct kl__fe_set *s)
{
    const char *top[] = { FE_MEMBER, NULL };
    yajl_val root = NULL, m;
    int rc = 0;

    memset(s, 0, sizeof(*s));
    if (kl__json_tree(json, &root, NULL) < 0)
        return 0;                        /* the config reader reports a broken document */
    if (!(m = yajl_tree_get(root, top, yajl_t_any)))
        goto out;
    if (!YAJL_IS_OBJECT(m) || m->u.object.len < 1 || m->u.object.len > 3) {
        rc = bad(ctx, "not an object with the members \"vbd\", \"vif\" and/or \"vtpm\"", NULL);
        goto out;
    }
    for (size_t i = 0; rc == 0 && i < m->u.object.len; i++) {
        const char *cls = m->u.object.keys[i];
        int c = !strcmp(cls, "vbd") ? 0 : !strcmp(cls, "vif") ? 1 : !strcmp(cls, "vtpm") ? 2 : -1;
        for (size_t j = 0; c >= 0 && j < i; j++)
            if (!strcmp(cls, m->u.object.keys[j]))
                c = -2;
        if (c == -1)
            rc = bad(ctx, "unknown device class", cls);
        else if (c == -2)
            rc = bad(ctx, "repeated device class", cls);
        else
            rc = parse_class(ctx, m->u.object.values[i], c, s);
    }
out:
    if (rc < 0)
        kl__fe_free(s);
    yajl_tree_free(root);
    return rc;
}

/* ---- the devices of a moving domain ---- */

/* Settled: the wanted state (6 Closed, or 4 Connected), the node gone, or for 4 a backend that
 * closes instead. */
static int settled(const char *v, void *arg)
{
    int want = *(int *)arg;
    char *end;
    long s;

    if (!v)
        return 1;
    s = strtol(v, &end, 10);
    return !*end && end != v && (s == want || (want == 4 && s >= 5));
}

/* Wait for the backend of d to reach state (4 or 6); -EIO if it settled elsewhere (a backend
 * dir that is gone counts as closed). */
static int be_wait(kl_ctx *ctx, const struct kl__dev *d, int state)
{
    char path[160], *v = NULL;
    int rc;

    snprintf(path, sizeof(path), "%s/state", d->be);
    rc = kl__xs_wait(ctx, path, settled, &state, kl__dev_timeout(KL__DESTROY_TIMEOUT_MS));
    if (rc == 0 && kl__xs_read(ctx, 0, path, &v) < 0)
        rc = state == 6 ? 0 : -EIO;
    else if (rc == 0 && atoi(v) != state)
        rc = -EIO;
    free(v);
    return rc;
}

int kl__fe_quiesce(kl_ctx *ctx, uint32_t domid)
{
    uint32_t *ids;
    int n = kl__dev_ids(ctx, domid, &ids), rc = 0;

    for (int i = 0; i < n && rc == 0; i++) {
        struct kl__dev d;
        char path[160], *v = NULL;
        uint32_t tx;
        /* a vtpm stays connected: its manager froze it at the export (vtpm_mig.c) */
        if (KL__KEY_IS_VTPM(ids[i]) || kl__dev_load(ctx, domid, ids[i], &d) < 0)
            continue;
        snprintf(path, sizeof(path), "%s/state", d.be);
        if (kl__xs_read(ctx, 0, path, &v) < 0 || atoi(v) < 2 || atoi(v) == 6) {
            free(v);                      /* no backend picked it up, or already closed */
            continue;
        }
        free(v);
        if ((rc = kl__xs_tx_start(ctx, &tx)) == 0) {
            snprintf(path, sizeof(path), "%s/online", d.be);
            kl__xs_write(ctx, tx, path, "0");
            snprintf(path, sizeof(path), "%s/state", d.be);
            kl__xs_write(ctx, tx, path, "5");
            /* Domain-0's mark: closed for a save, to be added again if the domain resumes */
            snprintf(path, sizeof(path), "%s/" SUSPENDED, d.bk);
            kl__xs_write(ctx, tx, path, "1");
            rc = kl__xs_tx_end(ctx, tx, 1);
        }
        if (rc == 0 && (rc = be_wait(ctx, &d, 6)) < 0)
            kl__err(ctx, rc, "domain %u: %s: the backend did not finish its requests and "
                    "close the device (%s) within %d s", domid, d.label, d.be,
                    kl__dev_timeout(KL__DESTROY_TIMEOUT_MS) / 1000);
        else if (rc < 0)
            kl__err(ctx, rc, "domain %u: %s: cannot ask the backend to close: %s", domid,
                    d.label, strerror(-rc));
    }
    free(ids);
    return rc;
}

int kl__fe_reopen(kl_ctx *ctx, uint32_t domid)
{
    struct kl__fe_set fe;
    uint32_t *ids;
    int n = kl__dev_ids(ctx, domid, &ids), closed = 0, rc;

    kl__vtpms_thaw(ctx, domid);          /* vtpms a save froze go on */
    for (int i = 0; i < n && !closed; i++) {
        char path[128], *v = NULL;
        kl__dev_bk_path(domid, ids[i], path, sizeof(path) - sizeof(SUSPENDED) - 1);
        strcat(path, "/" SUSPENDED);
        closed = kl__xs_read(ctx, 0, path, &v) == 0;
        free(v);
    }
    free(ids);
    if (!closed)
        return 0;
    /* the guest has been paused since the close: its frontends' keys are the ones it runs on */
    if ((rc = kl__fe_collect(ctx, domid, &fe)) < 0)
        return rc;
    rc = kl__fe_resume(ctx, domid, &fe);
    kl__fe_free(&fe);
    return rc;
}

int kl__fe_wait_connected(kl_ctx *ctx, uint32_t domid, const struct kl__fe_set *s)
{
    for (int i = 0; s && i < s->n; i++) {
        struct kl__dev d;
        int st = kl__fe_state(&s->dev[i]), rc;
        if (st != 3 && st != 4)
            continue;                    /* the backend attaches only to these */
        if (kl__dev_load(ctx, domid, s->dev[i].devid, &d) < 0)
            continue;
        if ((rc = be_wait(ctx, &d, 4)) < 0)
            return kl__err(ctx, rc, "domain %u: %s: the backend did not reconnect to the "
                           "frontend's ring (%s state %s) within %d s", domid, d.label, d.be,
                           rc == -EIO ? "closed" : "not 4",
                           kl__dev_timeout(KL__DESTROY_TIMEOUT_MS) / 1000);
    }
    return 0;
}

int kl__fe_resume(kl_ctx *ctx, uint32_t domid, const struct kl__fe_set *s)
{
    kl_domain_config dc;
    int rc;

    kl_domain_config_init(&dc);
    kl__vtpms_thaw(ctx, domid);          /* never removed: the frozen instance goes on */
    kl__devices_remove_pv(ctx, domid, 0);
    if ((rc = kl_domain_get_config(ctx, domid, &dc)) == 0)
        rc = kl__disks_add_config(ctx, domid, &dc, s);
    kl_domain_config_dispose(&dc);
    return rc;
}
