/* grant_map.c - MAP_GRANT_REF and UNMAP_GRANT_REF for Domain-0 backends on the control socket.
 * A mapping pins the entry (GTF_reading/GTF_writing) and returns the granter's frame and domain
 * instance; the first mapping a connection makes from a domain instance also passes that
 * domain's memory descriptor (SCM_RIGHTS). The connection owns its maptrack entries (handles):
 * they end with unmap or when the connection closes. Only the connection's own thread touches its
 * maptrack, so it needs no lock. Guests cannot map (no driver domains yet, see README). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grant.h"
#include "keel-flask-av.h"
#include "keel/privcmd.h"

struct hv_gnt_map {
    uint64_t instance;                   /* granter domain instance */
    uint32_t dom, ref;
    uint32_t frame;
    uint8_t used, write;
};

struct hv_gnt_inst {                     /* a granter instance this connection maps from */
    uint64_t instance;
    uint32_t count;                      /* live maptrack entries; 0: descriptor not held */
};

struct hv_maptrack {
    struct hv_gnt_map *e;
    uint32_t cap, top, nr_used, limit;
    uint32_t *free;                      /* released handles below top */
    uint32_t nr_free;
    struct hv_gnt_inst *inst;
    uint32_t nr_inst;
};

static struct hv_maptrack *maptrack_of(struct hv_conn *conn)
{
    struct hv_maptrack **slot = (struct hv_maptrack **)hv_conn_grant_slot(conn);

    if (!*slot && (*slot = calloc(1, sizeof(**slot))))
        (*slot)->limit = hv_gnttab_dom0_maptrack_limit();
    return *slot;
}

static int handle_alloc(struct hv_maptrack *mt, uint32_t *handle)
{
    if (mt->nr_used >= mt->limit)
        return KEEL_GNTST_no_space;
    if (mt->nr_free) {
        *handle = mt->free[--mt->nr_free];
        return KEEL_GNTST_okay;
    }
    if (mt->top == mt->cap) {
        uint32_t cap = mt->cap ? mt->cap * 2 : 64;
        struct hv_gnt_map *e = realloc(mt->e, cap * sizeof(*e));
        uint32_t *f = e ? realloc(mt->free, cap * sizeof(*f)) : NULL;
        if (e)
            mt->e = e;
        if (!e || !f)
            return KEEL_GNTST_no_space;
        mt->free = f;
        mt->cap = cap;
    }
    *handle = mt->top++;
    return KEEL_GNTST_okay;
}

static struct hv_gnt_inst *inst_find(struct hv_maptrack *mt, uint64_t instance, bool add)
{
    struct hv_gnt_inst *n;

    for (uint32_t i = 0; i < mt->nr_inst; i++)
        if (mt->inst[i].instance == instance)
            return &mt->inst[i];
    for (uint32_t i = 0; i < mt->nr_inst; i++)      /* reuse a slot nobody maps from */
        if (!mt->inst[i].count && add) {
            mt->inst[i].instance = instance;
            return &mt->inst[i];
        }
    if (!add || !(n = realloc(mt->inst, (mt->nr_inst + 1) * sizeof(*n))))
        return NULL;
    mt->inst = n;
    n = &mt->inst[mt->nr_inst++];
    n->instance = instance;
    n->count = 0;
    return n;
}

/* The instance's descriptor goes with this reply unless the connection holds it already. */
static int pass_memory_fd(struct hv_caller *c, struct hv_gnttab *g, struct hv_gnt_inst *in)
{
    int fd;

    if (in->count)
        return KEEL_GNTST_okay;
    if (c->nfds >= KEEL_PRIVCMD_MAX_FDS)
        return KEEL_GNTST_eagain;                    /* too many new domains in one batch */
    fd = fcntl(g->d->mem_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return KEEL_GNTST_general_error;
    c->fds[c->nfds++] = fd;
    return KEEL_GNTST_okay;
}

static int map_one(struct hv_caller *c, struct hv_maptrack *mt, struct keel_gnttab_map_grant_ref *m)
{
    bool write = !(m->flags & KEEL_GNTMAP_readonly);
    struct hv_gnt_inst *in;
    struct hv_gnttab *g;
    uint64_t frame;
    uint32_t h;
    int st;

    if (!(m->flags & KEEL_GNTMAP_host_map) ||
        (m->flags & ~(KEEL_GNTMAP_host_map | KEEL_GNTMAP_readonly | KEEL_GNTMAP_device_map)))
        return KEEL_GNTST_general_error;
    if (m->dom == 0 || m->dom >= KEEL_DOMID_FIRST_RESERVED || !(g = hv_gnttab_get(m->dom)))
        return KEEL_GNTST_bad_domain;
    if (mt->nr_used >= mt->limit) {
        hv_gnttab_put(g);
        return KEEL_GNTST_no_space;
    }
    if (hv_gnttab_xsm(hv_caller_sid(c), g->d->ssidref,
                      GRANT__MAP_READ | (write ? GRANT__MAP_WRITE : 0)) < 0) {
        hv_gnttab_put(g);
        return KEEL_GNTST_permission_denied;
    }
    pthread_rwlock_rdlock(&g->rw);
    st = hv_gnttab_pin(g, m->ref, 0, write, &frame);
    pthread_rwlock_unlock(&g->rw);
    if (st == KEEL_GNTST_okay && hv_lazy_need(g->d, frame, 1) < 0) {
        pthread_rwlock_rdlock(&g->rw);               /* lazymem.c: the frame cannot come in */
        hv_gnttab_unpin(g, m->ref, write);
        pthread_rwlock_unlock(&g->rw);
        st = KEEL_GNTST_general_error;
    }
    if (st == KEEL_GNTST_okay) {
        in = inst_find(mt, g->instance, true);
        st = !in ? KEEL_GNTST_no_space : handle_alloc(mt, &h);
        if (st == KEEL_GNTST_okay && (st = pass_memory_fd(c, g, in)) != KEEL_GNTST_okay)
            mt->free[mt->nr_free++] = h;
        if (st != KEEL_GNTST_okay) {
            pthread_rwlock_rdlock(&g->rw);
            hv_gnttab_unpin(g, m->ref, write);
            pthread_rwlock_unlock(&g->rw);
        } else {
            in->count++;
            mt->e[h] = (struct hv_gnt_map){ .instance = g->instance, .dom = m->dom,
                                            .ref = m->ref, .frame = (uint32_t)frame,
                                            .used = 1, .write = write };
            mt->nr_used++;
            m->handle = h;
            m->frame = frame;
            m->dom_instance = g->instance;
        }
    }
    hv_gnttab_put(g);
    return st;
}

/* Release handle h: unpin the entry if its domain instance still exists. */
static int unmap_one(struct hv_maptrack *mt, uint32_t h)
{
    struct hv_gnt_map *m;
    struct hv_gnt_inst *in;
    struct hv_gnttab *g;

    if (h >= mt->top || !mt->e[h].used)
        return KEEL_GNTST_bad_handle;
    m = &mt->e[h];
    g = hv_gnttab_get(m->dom);
    if (g && g->instance == m->instance) {
        pthread_rwlock_rdlock(&g->rw);
        hv_gnttab_unpin(g, m->ref, m->write);
        pthread_rwlock_unlock(&g->rw);
        if (m->write)                               /* the backend may have written it */
            hv_gnttab_dirty(g->d, (uint64_t)m->frame << KEEL_PAGE_SHIFT, KEEL_PAGE_SIZE);
    }
    hv_gnttab_put(g);
    if ((in = inst_find(mt, m->instance, false)) && in->count)
        in->count--;
    m->used = 0;
    mt->nr_used--;
    mt->free[mt->nr_free++] = h;
    return KEEL_GNTST_okay;
}

long hv_gnttab_map(struct hv_caller *c, uint32_t count, uint64_t arg)
{
    size_t len = (size_t)count * sizeof(struct keel_gnttab_map_grant_ref);
    struct keel_gnttab_map_grant_ref *m = malloc(len + 1);
    struct hv_maptrack *mt = NULL;
    long rc;

    if (!m)
        return -ENOMEM;
    if ((rc = hv_arg_read(c, arg, m, len)) < 0)
        goto out;
    if (hv_is_priv(c) && !(mt = maptrack_of(c->conn))) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < count; i++)
        m[i].status = mt ? (int16_t)map_one(c, mt, &m[i]) : KEEL_GNTST_general_error;
    rc = hv_arg_write(c, arg, m, len);
    if (rc == 0 && !mt)
        rc = -EOPNOTSUPP;                            /* guests: driver domains not supported */
out:
    free(m);
    return rc;
}

long hv_gnttab_unmap(struct hv_caller *c, uint32_t count, uint64_t arg)
{
    size_t len = (size_t)count * sizeof(struct keel_gnttab_unmap_grant_ref);
    struct keel_gnttab_unmap_grant_ref *u = malloc(len + 1);
    struct hv_maptrack *mt = NULL;
    long rc;

    if (!u)
        return -ENOMEM;
    if ((rc = hv_arg_read(c, arg, u, len)) < 0)
        goto out;
    if (hv_is_priv(c) && !(mt = maptrack_of(c->conn))) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < count; i++)
        u[i].status = mt ? (int16_t)unmap_one(mt, u[i].handle) : KEEL_GNTST_bad_handle;
    rc = hv_arg_write(c, arg, u, len);
    if (rc == 0 && !mt)
        rc = -EOPNOTSUPP;
out:
    free(u);
    return rc;
}

/* The connection is gone: every mapping it held ends (in-use bits cleared). */
void hv_gnttab_conn_closed(struct hv_conn *conn)
{
    struct hv_maptrack **slot = (struct hv_maptrack **)hv_conn_grant_slot(conn), *mt = *slot;

    if (!mt)
        return;
    hv_gnttab_enter();
    for (uint32_t h = 0; h < mt->top; h++)
        if (mt->e[h].used)
            unmap_one(mt, h);
    hv_gnttab_leave();
    free(mt->e);
    free(mt->free);
    free(mt->inst);
    free(mt);
    *slot = NULL;
}
