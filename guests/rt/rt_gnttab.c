/* rt_gnttab.c - the guest's grant table (Xen's v1 layout): pages of its own memory registered
 * with GNTTABOP_setup_table, entries filled in the publishing order the core expects (domid and
 * frame, a write barrier, then flags), revoked with a compare-and-swap that fails while the core
 * has set GTF_reading/GTF_writing for a mapping. Entries 0-7 are reserved. A bitmap (in pages of
 * its own) says which entries are handed out; one spinlock guards it. */
#include "keel_guest.h"

#define RT_EBUSY 16
#define RT_EINVAL 22
#define RT_ENOSPC 28
#define RT_ENOMEM 12
#define RT_EIO 5

static struct keel_grant_entry_v1 *table;
static uint64_t *used;                         /* one bit per entry */
static uint32_t nr_frames, nr_entries, next_hint, gnt_lock;

static void lock(void)
{
    while (__atomic_exchange_n(&gnt_lock, 1, __ATOMIC_ACQUIRE))
        rt_cpu_relax();
}

static void unlock(void)
{
    __atomic_store_n(&gnt_lock, 0, __ATOMIC_RELEASE);
}

static int setup(void)
{
    struct keel_gnttab_setup_table st = {
        .dom = KEEL_DOMID_SELF, .nr_frames = nr_frames, .first_gfn = rt_virt_to_gfn(table),
    };
    long rc = hypercall(KH_GRANT_TABLE_OP, (long)KEEL_GNTTABOP_CMD(KEEL_GNTTABOP_SETUP_TABLE, 1), &st);

    if (rc < 0)
        return (int)rc;
    return st.status == KEEL_GNTST_okay ? 0 : -RT_EIO;
}

int rt_gnttab_init(uint32_t frames)
{
    uint32_t bitmap_pages;

    if (table)
        return -RT_EINVAL;
    if (!frames)
        return -RT_EINVAL;
    nr_entries = frames * (uint32_t)KEEL_GRANT_ENTRIES_PER_FRAME;
    bitmap_pages = (nr_entries / 8 + KEEL_PAGE_SIZE - 1) / KEEL_PAGE_SIZE;
    table = rt_page_alloc(frames);
    used = rt_page_alloc(bitmap_pages);
    if (!table || !used) {
        if (table)
            rt_page_free(table, frames);
        if (used)
            rt_page_free(used, bitmap_pages);
        table = NULL;
        used = NULL;
        return -RT_ENOMEM;
    }
    nr_frames = frames;
    next_hint = KEEL_GNTTAB_NR_RESERVED_ENTRIES;
    int rc = setup();
    if (rc < 0) {
        rt_page_free(table, frames);
        rt_page_free(used, bitmap_pages);
        table = NULL;
        used = NULL;
        nr_frames = 0;
    }
    return rc;
}

int rt_gnttab_resume(void)
{
    return table ? setup() : -RT_EINVAL;
}

static int take_entry(void)
{
    uint32_t ref = next_hint;

    for (uint32_t i = KEEL_GNTTAB_NR_RESERVED_ENTRIES; i < nr_entries; i++) {
        if (ref >= nr_entries)
            ref = KEEL_GNTTAB_NR_RESERVED_ENTRIES;
        if (!(used[ref / 64] & (1ULL << (ref % 64)))) {
            used[ref / 64] |= 1ULL << (ref % 64);
            next_hint = ref + 1;
            return (int)ref;
        }
        ref++;
    }
    return -RT_ENOSPC;
}

int rt_gnttab_grant(uint32_t domid, uint64_t gfn, int readonly)
{
    int ref;

    if (!table)
        return -RT_EINVAL;
    if (domid >= KEEL_DOMID_FIRST_RESERVED || gfn > UINT32_MAX)
        return -RT_EINVAL;
    lock();
    ref = take_entry();
    unlock();
    if (ref < 0)
        return ref;
    struct keel_grant_entry_v1 *e = &table[ref];
    e->domid = (uint16_t)domid;
    e->frame = (uint32_t)gfn;
    __atomic_thread_fence(__ATOMIC_RELEASE);   /* domid and frame before the flags */
    __atomic_store_n(&e->flags, (uint16_t)(KEEL_GTF_permit_access | (readonly ? KEEL_GTF_readonly : 0)),
                     __ATOMIC_RELEASE);
    return ref;
}

static int valid_ref(uint32_t ref)
{
    return table && ref >= KEEL_GNTTAB_NR_RESERVED_ENTRIES && ref < nr_entries &&
           (used[ref / 64] & (1ULL << (ref % 64)));
}

int rt_gnttab_in_use(uint32_t ref)
{
    if (!valid_ref(ref))
        return 0;
    return !!(__atomic_load_n(&table[ref].flags, __ATOMIC_ACQUIRE) &
              (KEEL_GTF_reading | KEEL_GTF_writing));
}

int rt_gnttab_end(uint32_t ref)
{
    uint16_t flags;

    if (!valid_ref(ref))
        return -RT_EINVAL;
    flags = __atomic_load_n(&table[ref].flags, __ATOMIC_ACQUIRE);
    do {
        if (flags & (KEEL_GTF_reading | KEEL_GTF_writing))
            return -RT_EBUSY;
    } while (!__atomic_compare_exchange_n(&table[ref].flags, &flags, 0, 0, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    lock();
    used[ref / 64] &= ~(1ULL << (ref % 64));
    unlock();
    return 0;
}
