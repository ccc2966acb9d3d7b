/* grant_copy.c - GNTTABOP_copy: batched copies of up to a page between a granted frame of another
 * domain and a frame of the caller's own (a guest's frame, or for Domain-0 an offset into the
 * request's input or the reply's output buffer), or between two granted frames. Each grant side
 * is pinned (GTF_reading, or GTF_writing for the destination) for the length of the copy, so the
 * granter cannot revoke it underneath; pages written in a guest are logged dirty. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grant.h"
#include "keel-flask-av.h"

/* One resolved side of a copy. */
struct side {
    struct hv_gnttab *g;                 /* grant side: the granter's table (a reference) */
    uint32_t ref;
    bool write, pinned;
    struct hv_domain *d;                 /* guest memory: whose */
    uint64_t off;                        /* byte offset in d's memory, or in the socket buffer */
};

static int resolve_gref(struct hv_caller *c, const struct keel_gnttab_copy_ptr *p, uint16_t len,
                        bool write, struct side *s)
{
    uint32_t dom = p->domid == KEEL_DOMID_SELF ? c->d->domid : p->domid;
    uint64_t frame;
    int st;

    if ((uint32_t)p->offset + len > KEEL_PAGE_SIZE)
        return KEEL_GNTST_bad_copy_arg;
    if (dom >= KEEL_DOMID_FIRST_RESERVED || !(s->g = hv_gnttab_get(dom)))
        return KEEL_GNTST_bad_domain;
    if (hv_gnttab_xsm(hv_caller_sid(c), s->g->d == c->d ? c->d->self_sid : s->g->d->ssidref,
                      GRANT__COPY) < 0)
        return KEEL_GNTST_permission_denied;
    pthread_rwlock_rdlock(&s->g->rw);
    st = hv_gnttab_pin(s->g, p->u.ref, (uint16_t)c->d->domid, write, &frame);
    pthread_rwlock_unlock(&s->g->rw);
    if (st != KEEL_GNTST_okay)
        return st;
    s->ref = p->u.ref;
    s->write = write;
    s->pinned = true;
    s->d = s->g->d;
    s->off = (frame << KEEL_PAGE_SHIFT) + p->offset;
    return KEEL_GNTST_okay;
}

/* The caller's own side: a guest frame, or a Domain-0 buffer offset. */
static int resolve_local(struct hv_caller *c, const struct keel_gnttab_copy_ptr *p, uint16_t len,
                         bool write, struct side *s)
{
    if (hv_is_priv(c)) {
        size_t lim = write ? c->out_max : c->in_len;
        if (p->offset || p->u.gmfn > lim || len > lim - p->u.gmfn)
            return KEEL_GNTST_bad_copy_arg;
        s->off = p->u.gmfn;
        return KEEL_GNTST_okay;
    }
    if (p->domid != KEEL_DOMID_SELF && p->domid != c->d->domid)
        return KEEL_GNTST_permission_denied;         /* only grants reach other domains */
    if ((uint32_t)p->offset + len > KEEL_PAGE_SIZE)
        return KEEL_GNTST_bad_copy_arg;
    if (p->u.gmfn >= c->d->mem_size >> KEEL_PAGE_SHIFT)
        return KEEL_GNTST_bad_page;
    s->d = c->d;
    s->off = (p->u.gmfn << KEEL_PAGE_SHIFT) + p->offset;
    return KEEL_GNTST_okay;
}

static void release(struct side *s)
{
    if (s->pinned) {
        pthread_rwlock_rdlock(&s->g->rw);
        hv_gnttab_unpin(s->g, s->ref, s->write);
        pthread_rwlock_unlock(&s->g->rw);
    }
    hv_gnttab_put(s->g);
}

static int move_bytes(struct hv_caller *c, const struct side *src, const struct side *dst,
                      uint16_t len)
{
    uint8_t buf[KEEL_PAGE_SIZE];
    const uint8_t *from = buf;

    if ((src->d && hv_lazy_need_bytes(src->d, src->off, len) < 0) ||
        (dst->d && hv_lazy_need_bytes(dst->d, dst->off, len) < 0))
        return KEEL_GNTST_general_error;             /* lazymem.c: its source broke */
    if (src->d) {
        if (pread(src->d->mem_fd, buf, len, (off_t)src->off) != (ssize_t)len)
            return KEEL_GNTST_general_error;
    } else {
        from = c->in + src->off;
    }
    if (dst->d) {
        if (pwrite(dst->d->mem_fd, from, len, (off_t)dst->off) != (ssize_t)len)
            return KEEL_GNTST_general_error;
        hv_gnttab_dirty(dst->d, dst->off, len);
    } else {
        memcpy(c->out + dst->off, from, len);
        if (dst->off + len > c->out_len)
            c->out_len = dst->off + len;
    }
    return KEEL_GNTST_okay;
}

static int copy_one(struct hv_caller *c, const struct keel_gnttab_copy *op)
{
    struct side src = { 0 }, dst = { 0 };
    int st;

    if (op->flags & ~(KEEL_GNTCOPY_source_gref | KEEL_GNTCOPY_dest_gref) ||
        op->len > KEEL_PAGE_SIZE)
        return KEEL_GNTST_bad_copy_arg;
    st = op->flags & KEEL_GNTCOPY_source_gref ? resolve_gref(c, &op->source, op->len, false, &src)
                                              : resolve_local(c, &op->source, op->len, false, &src);
    if (st == KEEL_GNTST_okay)
        st = op->flags & KEEL_GNTCOPY_dest_gref ? resolve_gref(c, &op->dest, op->len, true, &dst)
                                                : resolve_local(c, &op->dest, op->len, true, &dst);
    if (st == KEEL_GNTST_okay && op->len)
        st = move_bytes(c, &src, &dst, op->len);
    release(&src);
    release(&dst);
    return st;
}

long hv_gnttab_copy(struct hv_caller *c, uint32_t count, uint64_t arg)
{
    size_t len = (size_t)count * sizeof(struct keel_gnttab_copy);
    struct keel_gnttab_copy *ops = malloc(len + 1);
    long rc;

    if (!ops)
        return -ENOMEM;
    if ((rc = hv_arg_read(c, arg, ops, len)) == 0) {
        for (uint32_t i = 0; i < count; i++)
            ops[i].status = (int16_t)copy_one(c, &ops[i]);
        rc = hv_arg_write(c, arg, ops, len);
    }
    free(ops);
    return rc;
}
