/* kc_gnttab.c - grant tables on the Domain-0 side (what libxengnttab does for a Xen backend):
 * map granted frames into one contiguous range, unmap it, query a table's size, and batched
 * copies between granted frames and local buffers.
 *
 * The core answers a map with the granter's frame and domain instance, and passes the granter's
 * memory descriptor the first time this connection maps from that instance. The handle keeps one
 * descriptor per (domid, instance) while any page from it is mapped: the core counts the same
 * mappings and sends the descriptor again after the count went to zero. Ranges are mapped by
 * reserving PROT_NONE address space and placing each frame with MAP_FIXED; unmap removes the
 * pages first and then releases the grant handles, so nothing stays reachable once the granter's
 * entries are free again. One mutex per handle orders map and unmap with this bookkeeping. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kc_private.h"

struct kc_gnt_fd {
    uint32_t domid;
    uint64_t instance;
    int fd;
    uint32_t pages;                      /* pages mapped from it through this handle */
};

struct kc_gnt_range {
    uint8_t *addr;
    uint32_t count;
    uint32_t *handles;
    uint64_t *instances;
    uint32_t *frames;
    uint32_t domid;
    uint8_t writable;
};

struct kc_gnt {
    pthread_mutex_t lock;
    struct kc_gnt_fd *fds;
    uint32_t nr_fds;
    struct kc_gnt_range *ranges;
    uint32_t nr_ranges;
};

static struct kc_gnt *gnt_of(kc_handle *h)
{
    struct kc_gnt *g;

    pthread_mutex_lock(&h->plock);
    if (!h->gnt && (g = calloc(1, sizeof(*g)))) {
        pthread_mutex_init(&g->lock, NULL);
        h->gnt = g;
    }
    g = h->gnt;
    pthread_mutex_unlock(&h->plock);
    return g;
}

static int gnst_errno(int st)
{
    switch (st) {
    case KEEL_GNTST_bad_domain: return ESRCH;
    case KEEL_GNTST_permission_denied: return EACCES;
    case KEEL_GNTST_no_space: return ENOSPC;
    case KEEL_GNTST_eagain: return EAGAIN;
    case KEEL_GNTST_bad_handle: return EBADF;
    case KEEL_GNTST_general_error: return EIO;
    default: return EINVAL;
    }
}

static struct kc_gnt_fd *fd_find(struct kc_gnt *g, uint32_t domid, uint64_t instance)
{
    for (uint32_t i = 0; i < g->nr_fds; i++)
        if (g->fds[i].instance == instance && g->fds[i].domid == domid)
            return &g->fds[i];
    return NULL;
}

static int fd_add(struct kc_gnt *g, uint32_t domid, uint64_t instance, int fd)
{
    struct kc_gnt_fd *n = realloc(g->fds, (g->nr_fds + 1) * sizeof(*n));

    if (!n)
        return -ENOMEM;
    g->fds = n;
    g->fds[g->nr_fds++] = (struct kc_gnt_fd){ domid, instance, fd, 0 };
    return 0;
}

/* One page fewer from (domid, instance); the descriptor goes with the last one. */
static void fd_release(struct kc_gnt *g, uint32_t domid, uint64_t instance)
{
    struct kc_gnt_fd *f = fd_find(g, domid, instance);

    if (!f || !f->pages || --f->pages)
        return;
    close(f->fd);
    *f = g->fds[--g->nr_fds];
}

/* Release grant handles with the core (batches of KEEL_GNTTAB_MAX_BATCH). */
static int unmap_handles(kc_handle *h, const uint32_t *handles, uint32_t count)
{
    struct keel_gnttab_unmap_grant_ref u[64];
    int err = 0;

    for (uint32_t done = 0; done < count;) {
        uint32_t n = count - done < 64 ? count - done : 64;
        long rc;
        memset(u, 0, sizeof(u));
        for (uint32_t i = 0; i < n; i++)
            u[i].handle = handles[done + i];
        rc = kc_hypercall(h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_UNMAP_GRANT_REF, n),
                          u, n * sizeof(u[0]), NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
        if (rc < 0)
            return (int)kc_fail(rc, "grant unmap of %u handles", n);
        for (uint32_t i = 0; i < n; i++)
            if (u[i].status != KEEL_GNTST_okay && !err)
                err = -gnst_errno(u[i].status);
        done += n;
    }
    return err;
}

/* Ask the core for `count` mappings (one batch); take the descriptors it passes. */
static long map_batch(kc_handle *h, struct kc_gnt *g, uint32_t domid, const uint32_t *refs,
                      uint32_t count, int writable, struct keel_gnttab_map_grant_ref *m)
{
    int fds[KEEL_PRIVCMD_MAX_FDS], nfds = 0, next = 0;
    long rc;

    for (uint32_t i = 0; i < count; i++) {
        memset(&m[i], 0, sizeof(m[i]));
        m[i].flags = KEEL_GNTMAP_host_map | (writable ? 0 : KEEL_GNTMAP_readonly);
        m[i].ref = refs[i];
        m[i].dom = domid;
    }
    rc = kc_hypercall(h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_MAP_GRANT_REF, count),
                      m, count * sizeof(*m), NULL, 0, NULL, 0, NULL, fds, KEEL_PRIVCMD_MAX_FDS,
                      &nfds);
    if (rc < 0) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        return kc_fail(rc, "grant map of %u references of domain %u", count, domid);
    }
    for (uint32_t i = 0; i < count; i++) {
        struct kc_gnt_fd *f;
        if (m[i].status != KEEL_GNTST_okay)
            continue;
        f = fd_find(g, domid, m[i].dom_instance);
        if (!f || !f->pages) {                   /* the core passed a descriptor for it */
            if (next >= nfds)
                rc = kc_fail(-EPROTO, "grant map: no memory descriptor for domain %u", domid);
            else if (f) {
                close(f->fd);
                f->fd = fds[next++];
            } else if (fd_add(g, domid, m[i].dom_instance, fds[next]) < 0)
                rc = -ENOMEM;
            else
                next++;
            f = fd_find(g, domid, m[i].dom_instance);
        }
        if (f)
            f->pages++;
    }
    while (next < nfds)
        close(fds[next++]);
    return rc;
}

/* Place each frame at its page of the reserved range. */
static int place_pages(struct kc_gnt *g, uint8_t *addr, uint32_t domid,
                       const struct keel_gnttab_map_grant_ref *m, uint32_t count, int prot)
{
    for (uint32_t i = 0; i < count; i++) {
        struct kc_gnt_fd *f = fd_find(g, domid, m[i].dom_instance);
        void *p;
        if (!f)
            return -EPROTO;
        p = mmap(addr + (size_t)i * KEEL_PAGE_SIZE, KEEL_PAGE_SIZE, prot, MAP_SHARED | MAP_FIXED,
                 f->fd, (off_t)(m[i].frame << KEEL_PAGE_SHIFT));
        if (p == MAP_FAILED)
            return -errno;
    }
    return 0;
}

static int record_range(struct kc_gnt *g, uint8_t *addr, uint32_t count, int writable,
                        const struct keel_gnttab_map_grant_ref *m)
{
    struct kc_gnt_range r = { addr, count, malloc(count * sizeof(uint32_t)),
                              malloc(count * sizeof(uint64_t)), malloc(count * sizeof(uint32_t)),
                              m[0].dom, (uint8_t)!!writable };
    struct kc_gnt_range *n = realloc(g->ranges, (g->nr_ranges + 1) * sizeof(*n));

    if (n)
        g->ranges = n;
    if (!n || !r.handles || !r.instances || !r.frames) {
        free(r.handles);
        free(r.instances);
        free(r.frames);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < count; i++) {
        r.handles[i] = m[i].handle;
        r.instances[i] = m[i].dom_instance;
        r.frames[i] = (uint32_t)m[i].frame;
    }
    g->ranges[g->nr_ranges++] = r;
    return 0;
}

/* Undo the core side of the mappings that succeeded (their status okay). */
static void unwind(kc_handle *h, struct kc_gnt *g, uint32_t domid,
                   const struct keel_gnttab_map_grant_ref *m, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (m[i].status != KEEL_GNTST_okay)
            continue;
        unmap_handles(h, &m[i].handle, 1);
        fd_release(g, domid, m[i].dom_instance);
    }
}

void *kc_gnttab_map(kc_handle *h, uint32_t domid, const uint32_t *refs, uint32_t count,
                    int writable, int16_t *status)
{
    struct kc_gnt *g = gnt_of(h);
    struct keel_gnttab_map_grant_ref *m;
    uint8_t *addr = MAP_FAILED;
    int err = 0;
    long rc = 0;

    if (!g || !refs || !count || count > (1u << 20) / 8) {
        errno = !g ? ENOMEM : EINVAL;
        kc_fail(-errno, "grant map: %u references", count);
        return NULL;
    }
    if (!(m = calloc(count, sizeof(*m)))) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&g->lock);
    for (uint32_t done = 0; done < count && rc >= 0; done += KEEL_GNTTAB_MAX_BATCH) {
        uint32_t n = count - done < KEEL_GNTTAB_MAX_BATCH ? count - done : KEEL_GNTTAB_MAX_BATCH;
        rc = map_batch(h, g, domid, refs + done, n, writable, m + done);
        if (rc < 0)                              /* elements never sent are not okay */
            for (uint32_t i = done + n; i < count; i++)
                m[i].status = KEEL_GNTST_general_error;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (status)
            status[i] = m[i].status;
        if (m[i].status != KEEL_GNTST_okay && !err) {
            err = gnst_errno(m[i].status);
            kc_fail(-err, "grant map: reference %u of domain %u: status %d", refs[i], domid,
                    m[i].status);
        }
    }
    if (rc < 0 && !err)
        err = (int)-rc;
    if (!err) {
        addr = mmap(NULL, (size_t)count * KEEL_PAGE_SIZE, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (addr == MAP_FAILED)
            err = errno;
        else if ((rc = place_pages(g, addr, domid, m, count,
                                   PROT_READ | (writable ? PROT_WRITE : 0))) < 0 ||
                 (rc = record_range(g, addr, count, writable, m)) < 0)
            err = (int)-rc;
        if (err)
            kc_fail(-err, "grant map: mapping %u frames of domain %u", count, domid);
    }
    if (err) {
        if (addr != MAP_FAILED)
            munmap(addr, (size_t)count * KEEL_PAGE_SIZE);
        unwind(h, g, domid, m, count);
        addr = NULL;
    }
    pthread_mutex_unlock(&g->lock);
    free(m);
    if (err)
        errno = err;
    return addr;
}

int kc_gnttab_unmap(kc_handle *h, void *addr, uint32_t count)
{
    struct kc_gnt *g = gnt_of(h);
    struct kc_gnt_range r;
    uint32_t i;
    int rc;

    if (!g)
        return -ENOMEM;
    pthread_mutex_lock(&g->lock);
    for (i = 0; i < g->nr_ranges; i++)
        if (g->ranges[i].addr == addr)
            break;
    if (i == g->nr_ranges || g->ranges[i].count != count) {
        pthread_mutex_unlock(&g->lock);
        return (int)kc_fail(-EINVAL, "grant unmap: %p (%u pages) is not a mapped grant range",
                            addr, count);
    }
    r = g->ranges[i];
    g->ranges[i] = g->ranges[--g->nr_ranges];
    munmap(r.addr, (size_t)r.count * KEEL_PAGE_SIZE);   /* gone before the entries are free */
    rc = unmap_handles(h, r.handles, r.count);
    for (i = 0; i < r.count; i++)
        fd_release(g, r.domid, r.instances[i]);
    pthread_mutex_unlock(&g->lock);
    free(r.handles);
    free(r.instances);
    free(r.frames);
    return rc;
}

int kc_gnttab_query_size(kc_handle *h, uint32_t domid, uint32_t *nr_frames, uint32_t *max_frames)
{
    struct keel_gnttab_query_size q = { .dom = domid };
    long rc = kc_hypercall(h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_QUERY_SIZE, 1), &q,
                           sizeof(q), NULL, 0, NULL, 0, NULL, NULL, 0, NULL);

    if (rc < 0)
        return (int)kc_fail(rc, "grant query_size of domain %u", domid);
    if (q.status != KEEL_GNTST_okay)
        return (int)kc_fail(-gnst_errno(q.status), "grant query_size of domain %u: status %d",
                            domid, q.status);
    if (nr_frames)
        *nr_frames = q.nr_frames;
    if (max_frames)
        *max_frames = q.max_nr_frames;
    return 0;
}

/* Release every range and descriptor of a closing handle (the core ends the grants with the
 * connection). */
void kc_gnttab_release(kc_handle *h)
{
    struct kc_gnt *g = h->gnt;

    if (!g)
        return;
    for (uint32_t i = 0; i < g->nr_ranges; i++) {
        munmap(g->ranges[i].addr, (size_t)g->ranges[i].count * KEEL_PAGE_SIZE);
        free(g->ranges[i].handles);
        free(g->ranges[i].instances);
        free(g->ranges[i].frames);
    }
    for (uint32_t i = 0; i < g->nr_fds; i++)
        close(g->fds[i].fd);
    free(g->ranges);
    free(g->fds);
    pthread_mutex_destroy(&g->lock);
    free(g);
    h->gnt = NULL;
}

/* Bytes of local data a copy element moves through the request (to the guest) or reply. */
static int seg_valid(const struct kc_gnttab_copy_seg *s)
{
    return s->local && s->len && (uint32_t)s->offset + s->len <= KEEL_PAGE_SIZE;
}

/* One core call for segs[0..n): local sources packed into `in`, destinations read from `out`. */
static long copy_batch(kc_handle *h, struct kc_gnttab_copy_seg *segs, uint32_t n,
                       struct keel_gnttab_copy *ops, uint8_t *in, uint8_t *out)
{
    size_t in_len = 0, out_len = 0, got = 0;
    long rc;

    for (uint32_t i = 0; i < n; i++) {
        struct kc_gnttab_copy_seg *s = &segs[i];
        struct keel_gnttab_copy *o = &ops[i];
        memset(o, 0, sizeof(*o));
        o->len = s->len;
        if (s->to_guest) {
            o->flags = KEEL_GNTCOPY_dest_gref;
            o->source.u.gmfn = in_len;
            o->dest.u.ref = s->ref;
            o->dest.domid = (uint16_t)s->domid;
            o->dest.offset = s->offset;
            memcpy(in + in_len, s->local, s->len);
            in_len += s->len;
        } else {
            o->flags = KEEL_GNTCOPY_source_gref;
            o->source.u.ref = s->ref;
            o->source.domid = (uint16_t)s->domid;
            o->source.offset = s->offset;
            o->dest.u.gmfn = out_len;
            out_len += s->len;
        }
    }
    rc = kc_hypercall(h, KH_GRANT_TABLE_OP, KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_COPY, n), ops,
                      n * sizeof(*ops), in, in_len, out, out_len, &got, NULL, 0, NULL);
    if (rc < 0)
        return kc_fail(rc, "grant copy of %u segments", n);
    for (uint32_t i = 0; i < n; i++) {
        segs[i].status = ops[i].status;
        if (!segs[i].to_guest && ops[i].status == KEEL_GNTST_okay &&
            ops[i].dest.u.gmfn + segs[i].len <= got)
            memcpy(segs[i].local, out + ops[i].dest.u.gmfn, segs[i].len);
    }
    return 0;
}

int kc_gnttab_copy(kc_handle *h, struct kc_gnttab_copy_seg *segs, uint32_t count, uint32_t *failed)
{
    /* Each call carries at most KEEL_GNTTAB_MAX_BATCH elements and 1 MiB each way. */
    enum { PER_CALL = KEEL_PRIVCMD_MAX_EXTRA / KEEL_PAGE_SIZE < KEEL_GNTTAB_MAX_BATCH
                          ? KEEL_PRIVCMD_MAX_EXTRA / KEEL_PAGE_SIZE : KEEL_GNTTAB_MAX_BATCH };
    struct keel_gnttab_copy *ops;
    uint8_t *in, *out;
    uint32_t bad = 0;
    long rc = 0;

    if (!segs && count)
        return (int)kc_fail(-EINVAL, "grant copy: no segments");
    for (uint32_t i = 0; i < count; i++)
        if (!seg_valid(&segs[i]))
            return (int)kc_fail(-EINVAL, "grant copy: segment %u (offset %u, length %u) is "
                                "malformed", i, segs[i].offset, segs[i].len);
    ops = malloc(PER_CALL * sizeof(*ops));
    in = malloc((size_t)PER_CALL * KEEL_PAGE_SIZE);
    out = malloc((size_t)PER_CALL * KEEL_PAGE_SIZE);
    if (!ops || !in || !out)
        rc = kc_fail(-ENOMEM, "grant copy");
    for (uint32_t done = 0; rc == 0 && done < count; done += PER_CALL) {
        uint32_t n = count - done < PER_CALL ? count - done : PER_CALL;
        rc = copy_batch(h, segs + done, n, ops, in, out);
    }
    free(ops);
    free(in);
    free(out);
    if (rc < 0)
        return (int)rc;
    for (uint32_t i = 0; i < count; i++)
        bad += segs[i].status != KEEL_GNTST_okay;
    if (failed)
        *failed = bad;
    return 0;
}
