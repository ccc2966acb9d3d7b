/* grant.c - grant tables (grant_table_op): a guest's v1 table in frames of its own memory that the
 * core maps MAP_SHARED from the domain's memfd; setup/query/version, map and unmap for Domain-0
 * backends (the frame and the granter's memory descriptor, with maptrack entries owned by the
 * control connection), and batched copy for Domain-0 and guests.
 *
 * Locking (Xen 4.6's scheme; none of this runs under hv.lock): a registry rwlock to find a
 * domain's table and take a reference on it (destroy unpublishes and waits for the references to
 * drop); per table a pthread rwlock (readers: map/unmap/copy, writer: setup and teardown); per
 * active entry a spinlock. An entry in use has GTF_reading (and GTF_writing for a writable use)
 * set with a compare-and-swap on its flags+domid word, so the granter cannot revoke it. With
 * KEEL_GRANT_GLOBAL_LOCK=1 in the core's environment every grant op also serializes on one
 * global mutex (the benchmark's reference). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "grant.h"
#include "keel-flask-av.h"
#include "klog.h"

static struct hv_gnttab *registry[HV_MAX_DOMAINS];
static pthread_rwlock_t registry_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static bool global_mode;
static uint32_t dom0_maptrack = KEEL_GNTTAB_DEFAULT_MAX_MAPTRACK;   /* frames per connection */

static void read_config(void)
{
    const char *g = getenv("KEEL_GRANT_GLOBAL_LOCK"), *m = getenv("KEEL_DOM0_MAX_MAPTRACK_FRAMES");

    global_mode = g && !strcmp(g, "1");
    if (m && *m) {
        char *end;
        unsigned long v = strtoul(m, &end, 10);
        if (!*end && v >= 1 && v <= 65535)
            dom0_maptrack = (uint32_t)v;
        else
            klog_warn("grant", "KEEL_DOM0_MAX_MAPTRACK_FRAMES=%s ignored (1..65535)", m);
    }
    if (global_mode)
        klog_info("grant", "grant ops serialize on one global lock (KEEL_GRANT_GLOBAL_LOCK)");
}

void hv_gnttab_enter(void)
{
    pthread_once(&config_once, read_config);
    if (global_mode)
        pthread_mutex_lock(&global_lock);
}

void hv_gnttab_leave(void)
{
    if (global_mode)
        pthread_mutex_unlock(&global_lock);
}

uint32_t hv_gnttab_dom0_maptrack_limit(void)
{
    pthread_once(&config_once, read_config);
    return dom0_maptrack * HV_MAPTRACK_PER_FRAME;
}

/* ---- per-domain table: creation, publication, teardown ---- */

int hv_gnttab_init(struct hv_domain *d, uint32_t max_frames, uint32_t max_maptrack)
{
    static uint64_t next_instance;
    struct hv_gnttab *g = calloc(1, sizeof(*g));

    if (!g)
        return -ENOMEM;
    pthread_rwlock_init(&g->rw, NULL);
    g->d = d;
    g->max_frames = max_frames ? max_frames : KEEL_GNTTAB_DEFAULT_MAX_FRAMES;
    if (max_maptrack == KEEL_GNTTAB_NO_MAPTRACK)
        g->max_maptrack = 0;
    else
        g->max_maptrack = (max_maptrack ? max_maptrack : KEEL_GNTTAB_DEFAULT_MAX_MAPTRACK) *
                          HV_MAPTRACK_PER_FRAME;
    d->instance = __atomic_add_fetch(&next_instance, 1, __ATOMIC_SEQ_CST);
    g->instance = d->instance;
    d->gnt = g;
    return 0;
}

void hv_gnttab_publish(struct hv_domain *d)
{
    if (!d->gnt || d->domid >= HV_MAX_DOMAINS)
        return;
    pthread_rwlock_wrlock(&registry_lock);
    registry[d->domid] = d->gnt;
    pthread_rwlock_unlock(&registry_lock);
}

/* No new grant op can find d after this; returns once those in flight have ended. */
void hv_gnttab_unpublish(struct hv_domain *d)
{
    struct hv_gnttab *g = d->gnt;

    if (!g || d->domid >= HV_MAX_DOMAINS)
        return;
    pthread_rwlock_wrlock(&registry_lock);
    if (registry[d->domid] == g)
        registry[d->domid] = NULL;
    pthread_rwlock_unlock(&registry_lock);
    while (__atomic_load_n(&g->refs, __ATOMIC_SEQ_CST))
        usleep(100);
}

/* Called from domain_free: nobody can reach the table any more. Mappings a Domain-0 backend
 * still holds keep only their maptrack records (by domain instance); their unmap finds the
 * instance gone and just releases the record. */
void hv_gnttab_teardown(struct hv_domain *d)
{
    struct hv_gnttab *g = d->gnt;

    if (!g)
        return;
    hv_gnttab_unpublish(d);
    pthread_rwlock_wrlock(&g->rw);
    if (g->tab)
        munmap(g->tab, (size_t)g->nr_frames << KEEL_PAGE_SHIFT);
    free(g->active);
    g->tab = NULL;
    g->active = NULL;
    pthread_rwlock_unlock(&g->rw);
    pthread_rwlock_destroy(&g->rw);
    free(g);
    d->gnt = NULL;
}

struct hv_gnttab *hv_gnttab_get(uint32_t domid)
{
    struct hv_gnttab *g = NULL;

    if (domid >= HV_MAX_DOMAINS)
        return NULL;
    pthread_rwlock_rdlock(&registry_lock);
    g = registry[domid];
    if (g)
        __atomic_add_fetch(&g->refs, 1, __ATOMIC_SEQ_CST);
    pthread_rwlock_unlock(&registry_lock);
    return g;
}

void hv_gnttab_put(struct hv_gnttab *g)
{
    if (g)
        __atomic_sub_fetch(&g->refs, 1, __ATOMIC_SEQ_CST);
}

/* ---- entries: pin and unpin (caller holds g->rw for reading) ---- */

static void act_lock(struct hv_gnt_active *a)
{
    while (__atomic_exchange_n(&a->lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&a->lock, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static void act_unlock(struct hv_gnt_active *a)
{
    __atomic_store_n(&a->lock, 0, __ATOMIC_RELEASE);
}

/* The flags (low half) and domid (high half) of entry ref, as one 32-bit word. */
static uint32_t *entry_word(struct hv_gnttab *g, uint32_t ref)
{
    return (uint32_t *)((uint8_t *)g->tab + (size_t)ref * sizeof(struct keel_grant_entry_v1));
}

static uint32_t entry_frame(struct hv_gnttab *g, uint32_t ref)
{
    return __atomic_load_n(entry_word(g, ref) + 1, __ATOMIC_ACQUIRE);
}

static bool frame_ok(struct hv_domain *d, uint64_t frame)
{
    if (frame >= d->mem_size >> KEEL_PAGE_SHIFT)
        return false;
    return __atomic_load_n(&d->populated[frame / 8], __ATOMIC_RELAXED) & (1u << (frame % 8));
}

/* Check the entry against (grantee, write) and set GTF_reading (+GTF_writing) atomically with
 * the check: the compare-and-swap covers flags and domid together. */
static int set_in_use(struct hv_gnttab *g, uint32_t ref, uint16_t grantee, bool write)
{
    uint32_t *w = entry_word(g, ref), old = __atomic_load_n(w, __ATOMIC_ACQUIRE), nw;

    do {
        uint16_t flags = (uint16_t)old, dom = (uint16_t)(old >> 16);
        if ((flags & KEEL_GTF_type_mask) != KEEL_GTF_permit_access || (flags & KEEL_GTF_sub_page))
            return KEEL_GNTST_general_error;
        if (dom != grantee)
            return KEEL_GNTST_permission_denied;
        if (write && (flags & KEEL_GTF_readonly))
            return KEEL_GNTST_permission_denied;
        nw = old | KEEL_GTF_reading | (write ? KEEL_GTF_writing : 0);
    } while (!__atomic_compare_exchange_n(w, &old, nw, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    return KEEL_GNTST_okay;
}

/* Clear the in-use bits that no pin needs any more. */
static void clear_in_use(struct hv_gnttab *g, uint32_t ref, const struct hv_gnt_active *a)
{
    uint32_t mask = 0;

    if (!a->pins_wr)
        mask |= KEEL_GTF_writing;
    if (!a->pins_rd && !a->pins_wr)
        mask |= KEEL_GTF_reading;
    if (mask)
        __atomic_fetch_and(entry_word(g, ref), ~mask, __ATOMIC_ACQ_REL);
}

int hv_gnttab_pin(struct hv_gnttab *g, uint32_t ref, uint16_t grantee, bool write, uint64_t *frame)
{
    struct hv_gnt_active *a;
    int st;

    if (!g->tab || ref >= g->nr_entries)
        return KEEL_GNTST_bad_gntref;
    a = &g->active[ref];
    act_lock(a);
    if ((st = set_in_use(g, ref, grantee, write)) != KEEL_GNTST_okay) {
        act_unlock(a);
        return st;
    }
    if (!a->pins_rd && !a->pins_wr) {
        uint32_t f = entry_frame(g, ref);           /* read once, after the entry is pinned */
        if (!frame_ok(g->d, f)) {
            clear_in_use(g, ref, a);
            act_unlock(a);
            return KEEL_GNTST_bad_page;
        }
        a->frame = f;
        __atomic_add_fetch(&g->nr_pinned, 1, __ATOMIC_SEQ_CST);
    }
    if (write)
        a->pins_wr++;
    else
        a->pins_rd++;
    *frame = a->frame;
    act_unlock(a);
    return KEEL_GNTST_okay;
}

void hv_gnttab_unpin(struct hv_gnttab *g, uint32_t ref, bool write)
{
    struct hv_gnt_active *a;

    if (!g->tab || ref >= g->nr_entries)
        return;
    a = &g->active[ref];
    act_lock(a);
    if (write && a->pins_wr)
        a->pins_wr--;
    else if (!write && a->pins_rd)
        a->pins_rd--;
    clear_in_use(g, ref, a);
    if (!a->pins_rd && !a->pins_wr)
        __atomic_sub_fetch(&g->nr_pinned, 1, __ATOMIC_SEQ_CST);
    act_unlock(a);
}

/* Pages the core or a backend wrote while the granter is in log-dirty mode. */
void hv_gnttab_dirty(struct hv_domain *d, uint64_t gpa, size_t len)
{
    if (!__atomic_load_n(&d->logdirty, __ATOMIC_SEQ_CST))
        return;
    pthread_mutex_lock(&hv.lock);
    if (!d->destroying)
        hv_logdirty_mark(d, gpa, len);
    pthread_mutex_unlock(&hv.lock);
}

/* Log-dirty read (logdirty.c, under hv.lock): frames a grantee holds mapped writable count as
 * dirty every time, since a backend writing through a long-lived mapping (a ring, persistent
 * grants) is not seen by the guest's write protection and its unmap may come after the last
 * round of a migration. */
void hv_gnttab_dirty_mapped(struct hv_domain *d)
{
    struct hv_gnttab *g = d->gnt;

    if (!g)
        return;
    pthread_rwlock_rdlock(&g->rw);
    for (uint32_t r = 0; g->active && r < g->nr_entries; r++)
        if (__atomic_load_n(&g->active[r].pins_wr, __ATOMIC_ACQUIRE))
            hv_logdirty_mark(d, (uint64_t)g->active[r].frame << KEEL_PAGE_SHIFT, KEEL_PAGE_SIZE);
    pthread_rwlock_unlock(&g->rw);
}

/* ---- SETUP_TABLE, QUERY_SIZE ---- */

/* Register [first, first+nr) as d's table; caller holds g->rw for writing. */
static int register_table(struct hv_gnttab *g, uint64_t first, uint32_t nr)
{
    struct hv_domain *d = g->d;
    uint32_t entries = nr * (uint32_t)KEEL_GRANT_ENTRIES_PER_FRAME;
    struct hv_gnt_active *act;
    void *tab;

    if (nr < 1 || nr > g->max_frames)
        return KEEL_GNTST_general_error;
    if (first >= d->mem_size >> KEEL_PAGE_SHIFT || nr > (d->mem_size >> KEEL_PAGE_SHIFT) - first)
        return KEEL_GNTST_bad_page;
    for (uint64_t f = first; f < first + nr; f++)
        if (!frame_ok(d, f))
            return KEEL_GNTST_bad_page;
    if (__atomic_load_n(&g->nr_pinned, __ATOMIC_SEQ_CST))
        return KEEL_GNTST_eagain;                    /* entries in use: no re-registration */
    if (hv_lazy_need(d, first, nr) < 0)              /* lazymem.c: in before the core maps it */
        return KEEL_GNTST_general_error;
    act = calloc(entries, sizeof(*act));
    if (!act)
        return KEEL_GNTST_general_error;
    tab = mmap(NULL, (size_t)nr << KEEL_PAGE_SHIFT, PROT_READ | PROT_WRITE, MAP_SHARED, d->mem_fd,
               (off_t)(first << KEEL_PAGE_SHIFT));
    if (tab == MAP_FAILED) {
        klog_warn("grant", "domain %u: cannot map its grant table (%u frames at %#llx): %s",
                  d->domid, nr, (unsigned long long)first, strerror(errno));
        free(act);
        return KEEL_GNTST_general_error;
    }
    if (g->tab)
        munmap(g->tab, (size_t)g->nr_frames << KEEL_PAGE_SHIFT);
    free(g->active);
    g->tab = tab;
    g->active = act;
    g->first_gfn = first;
    g->nr_frames = nr;
    g->nr_entries = entries;
    /* Nothing is mapped now: in-use bits left in the entries (a restored or migrated table)
     * are stale. */
    for (uint32_t r = 0; r < entries; r++)
        __atomic_fetch_and(entry_word(g, r), ~(uint32_t)(KEEL_GTF_reading | KEEL_GTF_writing),
                           __ATOMIC_ACQ_REL);
    return KEEL_GNTST_okay;
}

static long op_setup(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    struct keel_gnttab_setup_table st;
    struct hv_gnttab *g;
    long rc;

    if (cmd >> 8 != 1)
        return -EINVAL;
    if ((rc = hv_arg_read(c, arg, &st, sizeof(st))) < 0)
        return rc;
    if (st.dom == KEEL_DOMID_SELF || (!hv_is_priv(c) && st.dom == c->d->domid)) {
        if (hv_is_priv(c) || !(g = c->d->gnt))
            st.status = KEEL_GNTST_bad_domain;       /* Domain-0 has no memory to grant from */
        else if (hv_gnttab_xsm(hv_caller_sid(c), c->d->self_sid, GRANT__SETUP) < 0)
            st.status = KEEL_GNTST_permission_denied;
        else {
            pthread_rwlock_wrlock(&g->rw);
            st.status = (int16_t)register_table(g, st.first_gfn, st.nr_frames);
            pthread_rwlock_unlock(&g->rw);
        }
        return hv_arg_write(c, arg, &st, sizeof(st));
    }
    if (!hv_is_priv(c) || !(g = hv_gnttab_get(st.dom))) {
        st.status = hv_is_priv(c) ? KEEL_GNTST_bad_domain : KEEL_GNTST_permission_denied;
        return hv_arg_write(c, arg, &st, sizeof(st));
    }
    if (hv_gnttab_xsm(hv_caller_sid(c), g->d->ssidref, GRANT__SETUP) < 0) {
        st.status = KEEL_GNTST_permission_denied;
    } else {                                         /* the toolstack reads the registration */
        pthread_rwlock_rdlock(&g->rw);
        st.first_gfn = g->first_gfn;
        st.nr_frames = g->nr_frames;
        pthread_rwlock_unlock(&g->rw);
        st.status = KEEL_GNTST_okay;
    }
    hv_gnttab_put(g);
    return hv_arg_write(c, arg, &st, sizeof(st));
}

static long op_query(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    struct keel_gnttab_query_size q;
    struct hv_gnttab *g;
    bool self;
    long rc;

    if (cmd >> 8 != 1)
        return -EINVAL;
    if ((rc = hv_arg_read(c, arg, &q, sizeof(q))) < 0)
        return rc;
    self = !hv_is_priv(c) && (q.dom == KEEL_DOMID_SELF || q.dom == c->d->domid);
    if (!self && !hv_is_priv(c)) {
        q.status = KEEL_GNTST_permission_denied;
        return hv_arg_write(c, arg, &q, sizeof(q));
    }
    g = self ? c->d->gnt : hv_gnttab_get(q.dom);
    if (!g) {
        q.status = KEEL_GNTST_bad_domain;
    } else if (hv_gnttab_xsm(hv_caller_sid(c), self ? c->d->self_sid : g->d->ssidref,
                             GRANT__QUERY) < 0) {
        q.status = KEEL_GNTST_permission_denied;
    } else {
        pthread_rwlock_rdlock(&g->rw);
        q.nr_frames = g->nr_frames;
        q.max_nr_frames = g->max_frames;
        pthread_rwlock_unlock(&g->rw);
        q.status = KEEL_GNTST_okay;
    }
    if (!self)
        hv_gnttab_put(g);
    return hv_arg_write(c, arg, &q, sizeof(q));
}

/* The entry of every grant_table_op call (guests via the runner, Domain-0 via the control
 * socket), never under hv.lock. */
long hv_gnttab_op(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    uint32_t op = (uint32_t)(cmd & 0xff);
    uint64_t count = cmd >> 8;
    long rc;

    if (count > KEEL_GNTTAB_MAX_BATCH)
        return -E2BIG;
    hv_gnttab_enter();
    switch (op) {
    case KEEL_GNTTABOP_SETUP_TABLE:
        rc = op_setup(c, cmd, arg);
        break;
    case KEEL_GNTTABOP_QUERY_SIZE:
        rc = op_query(c, cmd, arg);
        break;
    case KEEL_GNTTABOP_GET_VERSION:
        rc = 1;
        break;
    case KEEL_GNTTABOP_MAP_GRANT_REF:
        rc = hv_gnttab_map(c, (uint32_t)count, arg);
        break;
    case KEEL_GNTTABOP_UNMAP_GRANT_REF:
        rc = hv_gnttab_unmap(c, (uint32_t)count, arg);
        break;
    case KEEL_GNTTABOP_COPY:
        rc = hv_gnttab_copy(c, (uint32_t)count, arg);
        break;
    default:
        rc = -ENOSYS;
        break;
    }
    hv_gnttab_leave();
    return rc;
}

int hv_gnttab_xsm(uint32_t ssid, uint32_t tsid, uint32_t perm)
{
    return hv_xsm_check_sids_unlocked(ssid, tsid, SECCLASS_GRANT, perm);
}

/* A guest's grant_table_op, from its runner thread without hv.lock: the runner is the only
 * thread answering this vCPU, and the domain's memory stays until the runner has stopped. */
void hv_gnttab_serve_guest(struct hv_domain *d, struct hv_vcpu *v, uint32_t seq, uint64_t cmd,
                           uint64_t arg)
{
    struct hv_caller c = { .d = d, .v = v };
    long rc;

    if (__atomic_load_n(&d->destroying, __ATOMIC_SEQ_CST) || __atomic_load_n(&d->dead, __ATOMIC_SEQ_CST))
        return;
    v->last_seq = seq;
    v->deferred = false;
    rc = hv_gnttab_op(&c, cmd, arg);
    hv_vcpu_respond(d, v, rc, 0, 0);
}

/* ---- the registration in a domain's saved state (domstate.c, under hv.lock) ---- */

#define STATE_GFN_BITS 40

uint64_t hv_gnttab_state(struct hv_domain *d)
{
    struct hv_gnttab *g = d->gnt;
    uint64_t s = 0;

    if (!g)
        return 0;
    pthread_rwlock_rdlock(&g->rw);
    if (g->nr_frames)
        s = (uint64_t)g->nr_frames << STATE_GFN_BITS | g->first_gfn;
    pthread_rwlock_unlock(&g->rw);
    return s;
}

int hv_gnttab_state_check(struct hv_domain *d, uint64_t state)
{
    uint64_t first = state & ((1ULL << STATE_GFN_BITS) - 1), nr = state >> STATE_GFN_BITS;

    if (!state)
        return 0;
    if (!d->gnt || nr < 1 || nr > d->gnt->max_frames || first >= d->mem_size >> KEEL_PAGE_SHIFT ||
        nr > (d->mem_size >> KEEL_PAGE_SHIFT) - first)
        return -EINVAL;
    for (uint64_t f = first; f < first + nr; f++)
        if (!frame_ok(d, f))
            return -EINVAL;
    return 0;
}

/* The restored guest's table is registered again, as the guest left it (its in-use bits are
 * stale: nothing maps a new domain yet, so registration clears them). */
int hv_gnttab_state_restore(struct hv_domain *d, uint64_t state)
{
    struct hv_gnttab *g = d->gnt;
    int st;

    if (!state || !g)
        return 0;
    pthread_rwlock_wrlock(&g->rw);
    st = register_table(g, state & ((1ULL << STATE_GFN_BITS) - 1), (uint32_t)(state >> STATE_GFN_BITS));
    pthread_rwlock_unlock(&g->rw);
    if (st != KEEL_GNTST_okay)
        klog_warn("grant", "domain %u: its restored grant table could not be registered (status "
                  "%d); the guest must register it again", d->domid, st);
    return st == KEEL_GNTST_okay ? 0 : -EINVAL;
}
