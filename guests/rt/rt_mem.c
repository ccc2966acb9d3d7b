/* rt_mem.c - the guest's page allocator: whole pages between the end of the boot data and the
 * ring frames the toolstack reserved at the top of memory.
 *
 * The builder lays out guest memory as: image (linked at 1 MiB, ends at _end), ramdisk, 64 KiB
 * boot stack, then the device tree in a 64 KiB slot (libguest/kg_build.c); the console and store
 * rings sit in the last frames. Pages are handed out from a rising bump pointer; freed runs go to
 * a small table of free runs (first fit, merged with neighbours) and are reused from there. A run
 * freed while that table is full is dropped (leaked), never corrupted. One spinlock makes the
 * allocator safe from any vCPU (not from the event upcall). */
#include "keel_guest.h"

#define RT_FDT_SLOT (64 * 1024)                /* KG_FDT_MAX in include/keel/guest.h */
#define RT_FREE_RUNS 128

extern const void *rt_boot_fdt;

static struct { uint64_t first, n; } free_runs[RT_FREE_RUNS];  /* page numbers, 0 n = unused */
static uint64_t base_pfn, brk_pfn, top_pfn;    /* first page, next never-used, first unusable */
static int mem_ready, mem_lock;

static void lock(void)
{
    while (__atomic_exchange_n(&mem_lock, 1, __ATOMIC_ACQUIRE))
        rt_cpu_relax();
}

static void unlock(void)
{
    __atomic_store_n(&mem_lock, 0, __ATOMIC_RELEASE);
}

uint64_t rt_virt_to_gfn(const void *p)
{
    return ((uint64_t)p - KEEL_GUEST_BASE) >> KEEL_PAGE_SHIFT;
}

void *rt_gfn_to_virt(uint64_t gfn)
{
    return (void *)(KEEL_GUEST_BASE + (gfn << KEEL_PAGE_SHIFT));
}

/* The lowest ring frame, or the end of memory without rings. */
static uint64_t usable_top(void)
{
    uint64_t top = rt_boot.mem_bytes >> KEEL_PAGE_SHIFT, gfn;
    uint32_t port;

    if (rt_ring_info("console", &gfn, &port) == 0 && gfn < top)
        top = gfn;
    if (rt_ring_info("store", &gfn, &port) == 0 && gfn < top)
        top = gfn;
    return top;
}

static void mem_init(void)
{
    uint64_t fdt = (uint64_t)rt_boot_fdt, total = 0;
    extern char _end[] __attribute__((visibility("hidden")));

    if (fdt) {
        const uint8_t *b = rt_boot_fdt;
        total = (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 | (uint64_t)b[6] << 8 | b[7];
    }
    if (total < RT_FDT_SLOT)
        total = RT_FDT_SLOT;
    if (fdt < (uint64_t)_end)                  /* no tree seen: start after the image */
        fdt = (uint64_t)_end;
    brk_pfn = rt_virt_to_gfn((const void *)(fdt + total + KEEL_PAGE_SIZE - 1));
    base_pfn = brk_pfn;
    top_pfn = usable_top();
    mem_ready = 1;
}

/* First fit among freed runs; 0 when none is large enough. */
static uint64_t take_free_run(uint64_t n)
{
    for (int i = 0; i < RT_FREE_RUNS; i++) {
        if (free_runs[i].n < n)
            continue;
        uint64_t first = free_runs[i].first;
        free_runs[i].first += n;
        free_runs[i].n -= n;
        return first;
    }
    return 0;
}

void *rt_page_alloc(uint32_t npages)
{
    uint64_t first;

    if (!npages)
        return NULL;
    lock();
    if (!mem_ready)
        mem_init();
    first = take_free_run(npages);
    if (!first && brk_pfn + npages <= top_pfn) {
        first = brk_pfn;
        brk_pfn += npages;
    }
    unlock();
    if (!first)
        return NULL;
    void *p = rt_gfn_to_virt(first);
    memset(p, 0, (size_t)npages << KEEL_PAGE_SHIFT);
    return p;
}

/* Merge [first, first+n) into an adjacent run; 1 if it was. */
static int merge_run(uint64_t first, uint64_t n)
{
    for (int i = 0; i < RT_FREE_RUNS; i++) {
        if (!free_runs[i].n)
            continue;
        if (free_runs[i].first + free_runs[i].n == first) {
            free_runs[i].n += n;
            return 1;
        }
        if (first + n == free_runs[i].first) {
            free_runs[i].first = first;
            free_runs[i].n += n;
            return 1;
        }
    }
    return 0;
}

void rt_page_free(void *p, uint32_t npages)
{
    uint64_t first = rt_virt_to_gfn(p);

    if (!p || !npages || ((uint64_t)p & (KEEL_PAGE_SIZE - 1)))
        return;
    lock();
    if (mem_ready && first >= base_pfn && first + npages <= brk_pfn && !merge_run(first, npages)) {
        for (int i = 0; i < RT_FREE_RUNS; i++) {
            if (!free_runs[i].n) {
                free_runs[i].first = first;
                free_runs[i].n = npages;
                break;
            }
        }
    }
    unlock();
}
