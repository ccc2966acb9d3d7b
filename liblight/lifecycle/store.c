/* store.c - the store nodes of a domain, laid out as Xen's toolstack writes them:
 * /local/domain/N/..., /vm/UUID/... and /libxl/N/..., written in one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keel/guest.h"
#include "lc_int.h"

struct node { const char *rel; char val[300]; int guest_rw; };

/* The permissions of a domain's nodes: guest-writable (n<domid>), or Domain-0's and readable
 * by the guest (n0 r<domid>). */
struct perms { char rw[16], ro[16]; const char *rwp[1], *rop[2]; };

static void perms_init(struct perms *p, uint32_t domid)
{
    snprintf(p->rw, sizeof(p->rw), "n%u", domid);
    snprintf(p->ro, sizeof(p->ro), "r%u", domid);
    p->rwp[0] = p->rw;
    p->rop[0] = "n0";
    p->rop[1] = p->ro;
}

static void write_nodes(struct kl__xsb *b, const char *base, const struct node *n, size_t count,
                        const struct perms *pm)
{
    char path[512];

    for (size_t i = 0; i < count; i++) {
        snprintf(path, sizeof(path), "%s/%s", base, n[i].rel);
        kl__xsb_write(b, path, n[i].val);
        if (n[i].guest_rw)
            kl__xsb_set_perms(b, path, pm->rwp, 1);
        else
            kl__xsb_set_perms(b, path, pm->rop, 2);
    }
}

static void dom_dirs(struct kl__xsb *b, const char *dom, const struct perms *pm)
{
    static const char *const guest_dirs[] = { "data", "drivers", "feature", "attr", "error",
                                              "control/shutdown", "control/sysrq" };
    char path[512];

    kl__xsb_mkdir(b, dom);
    kl__xsb_set_perms(b, dom, pm->rop, 2);
    /* control/feature-* stay absent until a guest agent writes them */
    for (size_t i = 0; i < sizeof(guest_dirs) / sizeof(guest_dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dom, guest_dirs[i]);
        kl__xsb_write(b, path, "");
        kl__xsb_set_perms(b, path, pm->rwp, 1);
    }
    /* the guest may create control/feature-* itself: make control writable for it */
    snprintf(path, sizeof(path), "%s/control", dom);
    kl__xsb_set_perms(b, path, pm->rwp, 1);
}

/* The domain's home as one batch of requests (sent pipelined in its transaction). */
static void fill(struct kl__xsb *bt, uint32_t domid, const kl_domain_config *dc)
{
    const kl_domain_build_info *b = &dc->b_info;
    char dom[64], vm[128], uuid[KL_UUID_STRLEN];
    struct node dn[8], vn[8];
    struct perms pm;
    size_t nd = 0, nv = 0;

    perms_init(&pm, domid);
    kl_uuid_to_string(&dc->c_info.uuid, uuid);
    snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
    snprintf(vm, sizeof(vm), "/vm/%s", uuid);
#define DN(r, rw, ...) (dn[nd].rel = (r), dn[nd].guest_rw = (rw), \
                        snprintf(dn[nd].val, sizeof(dn[nd].val), __VA_ARGS__), nd++)
#define VN(r, ...) (vn[nv].rel = (r), vn[nv].guest_rw = 0, \
                    snprintf(vn[nv].val, sizeof(vn[nv].val), __VA_ARGS__), nv++)
    DN("name", 0, "%s", dc->c_info.name);
    DN("domid", 0, "%u", domid);
    DN("vm", 0, "%s", vm);
    DN("memory/static-max", 0, "%llu", (unsigned long long)b->max_memkb);
    DN("memory/target", 0, "%llu", (unsigned long long)b->target_memkb);
    DN("memory/videoram", 0, "0");
    DN("control/platform-feature-multiprocessor-suspend", 0, "1");
    DN("image/ostype", 0, "pvh");
    VN("uuid", "%s", uuid);
    VN("name", "%s", dc->c_info.name);
    VN("start_time", "%lld.%02d", (long long)time(NULL), 0);
    VN("image/ostype", "pvh");
    VN("image/kernel", "%s", b->kernel ? b->kernel : "");
    VN("image/cmdline", "%s", b->cmdline ? b->cmdline : "");
    VN("image/ramdisk", "%s", b->ramdisk ? b->ramdisk : "");
#undef DN
#undef VN
    dom_dirs(bt, dom, &pm);
    write_nodes(bt, dom, dn, nd, &pm);
    write_nodes(bt, vm, vn, nv, &pm);
    for (int i = 0; i < b->max_vcpus; i++) {
        char path[96];
        snprintf(path, sizeof(path), "%s/cpu/%d/availability", dom, i);
        kl__xsb_write(bt, path, kl_bitmap_test(&b->avail_vcpus, (unsigned)i) ? "online"
                                                                             : "offline");
    }
    snprintf(dom, sizeof(dom), "/libxl/%u/type", domid);
    kl__xsb_write(bt, dom, "pvh");
    snprintf(dom, sizeof(dom), "/libxl/%u/dm-version", domid);
    kl__xsb_write(bt, dom, "none");
}

/* One transaction: its start, the home's requests pipelined (one round trip), the commit. */
int kl__store_domain(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        struct kl__xsb b;
        uint32_t tx;
        int rc = kl__xs_tx_start(ctx, &tx);
        if (rc < 0)
            return rc;
        kl__xsb_init(&b);
        fill(&b, domid, dc);
        if ((rc = kl__xsb_send(ctx, tx, &b)) < 0) {
            char keep[sizeof(ctx->err)];
            memcpy(keep, ctx->err, sizeof(keep));
            kl__xs_tx_end(ctx, tx, 0);
            return kl__err(ctx, rc, "domain %u: its store nodes: %.440s", domid, keep);
        }
        rc = kl__xs_tx_end(ctx, tx, 1);
        if (rc != -EAGAIN)
            return rc < 0 ? kl__err(ctx, rc, "store: commit: %s", strerror(-rc)) : 0;
    }
    return kl__err(ctx, -EAGAIN, "store: domain %u: the transaction kept conflicting", domid);
}

/* Remove /local/domain/N, /vm/UUID (the vm path is read from the domain's node) and /libxl/N. */
int kl__store_forget(kl_ctx *ctx, uint32_t domid)
{
    char path[128], *vm = NULL;
    int rc = 0, r;

    snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
    if (kl__xs_read(ctx, 0, path, &vm) == 0 && !strncmp(vm, "/vm/", 4) && !strchr(vm + 4, '/'))
        rc = kl__xs_rm(ctx, 0, vm);
    free(vm);
    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    if ((r = kl__xs_rm(ctx, 0, path)) < 0)
        rc = r;
    snprintf(path, sizeof(path), "/libxl/%u", domid);
    if ((r = kl__xs_rm(ctx, 0, path)) < 0)
        rc = r;
    return rc;
}

/* Publish a new domain's rings where stock tools look (console/ring-ref and port, store/ring-ref
 * and port, readable by the guest) and introduce it to the store daemon, which then serves its
 * ring; keel-consoled finds the console through the same nodes. */
int kl__rings_introduce(kl_ctx *ctx, uint32_t domid, const struct kg_ring_params *r)
{
    static const char *const node[4] = { "console/ring-ref", "console/port", "store/ring-ref",
                                         "store/port" };
    unsigned long long v[4] = { r->console_gfn, r->console_port, r->store_gfn, r->store_port };
    char path[96], payload[32], port[16];
    int rc;

    struct kl__xsb b;

    /* the nodes and the INTRODUCE pipelined: the store applies them in order */
    kl__xsb_init(&b);
    for (int i = r->console_gfn ? 0 : 2; i < 4; i++) {
        snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, node[i]);
        kl__xsb_writef(&b, path, "%llu", v[i]);
    }
    snprintf(path, sizeof(path), "%u", domid);
    snprintf(payload, sizeof(payload), "%llu", (unsigned long long)r->store_gfn);
    snprintf(port, sizeof(port), "%u", r->store_port);
    kl__xsb_add(&b, 8 /* XS_INTRODUCE */, (const char *const[]){ path, payload, port }, 3, 1);
    if ((rc = kl__xsb_send(ctx, 0, &b)) < 0) {
        char keep[sizeof(ctx->err)];
        memcpy(keep, ctx->err, sizeof(keep));
        return kl__err(ctx, rc, "domain %u: its rings in the store, or its introduction: %.400s",
                       domid, keep);
    }
    return 0;
}

static int read_u64(kl_ctx *ctx, uint32_t domid, const char *node, uint64_t max, uint64_t *out)
{
    char path[96], *v = NULL, *end;
    unsigned long long x;
    int rc;

    snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, node);
    *out = 0;
    if ((rc = kl__xs_read(ctx, 0, path, &v)) < 0)
        return rc == -ENOENT ? 0 : kl__err(ctx, rc, "store: %s: %s", path, strerror(-rc));
    errno = 0;
    x = strtoull(v, &end, 10);
    rc = errno || end == v || *end || x > max ? -EINVAL : 0;
    if (rc < 0)
        kl__err(ctx, rc, "store: %s holds '%.40s', not a number up to %llu", path, v,
                (unsigned long long)max);
    free(v);
    *out = x;
    return rc;
}

int kl__rings_read(kl_ctx *ctx, uint32_t domid, struct kg_ring_params *r)
{
    uint64_t cp = 0, sp = 0;
    int rc;

    memset(r, 0, sizeof(*r));
    if ((rc = read_u64(ctx, domid, "console/ring-ref", UINT64_MAX >> 12, &r->console_gfn)) < 0 ||
        (rc = read_u64(ctx, domid, "console/port", KEEL_NR_EVTCHN - 1, &cp)) < 0 ||
        (rc = read_u64(ctx, domid, "store/ring-ref", UINT64_MAX >> 12, &r->store_gfn)) < 0 ||
        (rc = read_u64(ctx, domid, "store/port", KEEL_NR_EVTCHN - 1, &sp)) < 0)
        return rc;
    r->console_port = (uint32_t)cp;
    r->store_port = (uint32_t)sp;
    if (!r->console_port)
        r->console_gfn = 0;
    if (!r->store_port)
        r->store_gfn = 0;
    return 0;
}

/* Tell the store daemon the domain is gone (it unmaps its ring and revokes its rights). */
void kl__rings_release(kl_ctx *ctx, uint32_t domid)
{
    char payload[16];
    int n = snprintf(payload, sizeof(payload), "%u", domid);

    kl__xs_request(ctx, 9 /* XS_RELEASE */, 0, payload, (size_t)n + 1, NULL, NULL);
}
