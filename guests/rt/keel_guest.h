/* keel_guest.h - the freestanding runtime of Keel's in-tree PV guests: hypercalls, console,
 * boot information (flattened device tree), event channels with an upcall handler, time and
 * timers, secondary vCPUs, shutdown. The reference user of the guest ABI (keel/abi.h). */
#ifndef KEEL_GUEST_H
#define KEEL_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/abi.h"

/* Everything is linked statically at a fixed address: no symbol is preemptible. */
#pragma GCC visibility push(hidden)

#define RT_MAX_VCPUS KEEL_MAX_VCPUS

static inline long hypercall(long op, long cmd, const void *arg)
{
    long (*entry)(long, long, const void *) = (long (*)(long, long, const void *))KEEL_HYPERCALL_ENTRY;
    return entry(op, cmd, arg);
}

static inline long hypercall_val(long op, long cmd, uint64_t val)
{
    long (*entry)(long, long, uint64_t) = (long (*)(long, long, uint64_t))KEEL_HYPERCALL_ENTRY;
    return entry(op, cmd, val);
}

#define SHARED_INFO ((volatile struct keel_shared_info *)KEEL_SHARED_BASE)

/* Boot information */
struct rt_boot {
    const char *cmdline;
    uint64_t mem_bytes;
    uint32_t domid;
    uint32_t nr_vcpus;
};
extern struct rt_boot rt_boot;
/* Value of "key=value" in the command line, or NULL. */
const char *rt_arg(const char *key);
uint64_t rt_arg_u64(const char *key, uint64_t deflt);

/* Console */
void rt_write(const char *s, size_t len);
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Per-vCPU data, reached through the gs base */
struct rt_percpu {
    struct rt_percpu *self;
    uint32_t vcpu;
    volatile struct keel_vcpu_info *vi;
};
static inline struct rt_percpu *rt_this_cpu(void)
{
    struct rt_percpu *p;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(p));
    return p;
}
static inline uint32_t rt_vcpu_id(void) { return rt_this_cpu()->vcpu; }

/* Time */
uint64_t rt_now(void);                   /* system time, ns */
uint64_t rt_wallclock_sec(void);
void rt_set_timer(uint64_t deadline_ns); /* single-shot, VIRQ_TIMER */
int rt_set_periodic(uint64_t period_ns);
void rt_sleep_until(uint64_t deadline_ns);

/* Events */
typedef void (*rt_event_fn)(uint32_t port, void *data);
int rt_bind_virq(uint32_t virq, uint32_t vcpu, rt_event_fn fn, void *data);
int rt_bind_interdomain(uint32_t rdom, uint32_t rport, rt_event_fn fn, void *data);
int rt_alloc_unbound(uint32_t rdom, rt_event_fn fn, void *data);
int rt_bind_ipi(uint32_t vcpu, rt_event_fn fn, void *data);
void rt_set_handler(uint32_t port, rt_event_fn fn, void *data);
int rt_notify(uint32_t port);
void rt_enable_events(void);             /* unmask this vCPU and take pending events */
void rt_block(void);                     /* sleep until an event */

/* vCPUs */
int rt_vcpu_start(uint32_t vcpu, void (*fn)(uint32_t vcpu));
void rt_cpu_relax(void);

/* The end */
void rt_shutdown(uint32_t reason) __attribute__((noreturn));
void rt_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Strings and memory */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
int strcmp(const char *a, const char *b);

/* Provided by each guest */
int main(void);

/* Rings set up by the toolstack (rt_xs.c): the store and console ring frame and port from the
 * device tree (which = "store" or "console"); 0, -2 (none) or -19 (no device tree). */
int rt_ring_info(const char *which, uint64_t *gfn, uint32_t *port);

/* Xenstore client over the store ring (rt_xs.c). 0 / length / negative errno (-13 EACCES,
 * -2 ENOENT, ...). Paths are absolute or relative to /local/domain/<domid>. One caller at a
 * time (not for concurrent use from several vCPUs); no transactions. */
int rt_xs_init(void);
int rt_xs_read(const char *path, char *buf, size_t size);     /* value length */
int rt_xs_write(const char *path, const char *value);
int rt_xs_rm(const char *path);
int rt_xs_directory(const char *path, char *buf, size_t size); /* NUL-separated names */
int rt_xs_watch(const char *path, const char *token);
int rt_xs_unwatch(const char *path, const char *token);
/* Next watch event (queued or arriving before deadline ns): 0, or -110 on timeout. */
int rt_xs_wait_watch(char *path, size_t psize, char *token, size_t tsize, uint64_t deadline);

/* PV console on the console ring (rt_cons.c). rt_cons_init: 0, or negative without a ring
 * (output then goes through console_io). rt_cons_read takes what input is there (no wait);
 * rt_cons_getline waits for a line (deadline ns, 0 = none; -110 on timeout). */
int rt_cons_init(void);
int rt_cons_present(void);
void rt_cons_write(const char *s, size_t len);
int rt_cons_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_cons_read(char *buf, size_t size);
int rt_cons_getline(char *buf, size_t size, uint64_t deadline);

/* Guest memory pages (rt_mem.c): whole pages above the image and boot data, never freed back
 * below the top; rt_page_free returns pages for reuse. Addresses are guest virtual addresses;
 * rt_virt_to_gfn/rt_gfn_to_virt convert to and from guest frame numbers. */
void *rt_page_alloc(uint32_t npages);    /* zeroed, page-aligned; NULL when memory runs out */
void rt_page_free(void *p, uint32_t npages);
uint64_t rt_virt_to_gfn(const void *p);
void *rt_gfn_to_virt(uint64_t gfn);

/* Grant table (rt_gnttab.c): the domain's own table in pages it allocates and registers with
 * GNTTABOP_setup_table. Entries 0-7 are reserved, as in Xen. rt_gnttab_grant returns a
 * reference (>= 8) giving `domid` access to frame `gfn`, or a negative errno (-28 ENOSPC when
 * the table is full). rt_gnttab_end revokes: 0, or -16 (EBUSY) while the grantee still has it
 * mapped (the entry stays valid; try again later). */
int rt_gnttab_init(uint32_t nr_frames);
int rt_gnttab_grant(uint32_t domid, uint64_t gfn, int readonly);
int rt_gnttab_end(uint32_t ref);
int rt_gnttab_in_use(uint32_t ref);
/* After a resume (restore/migration): register the table again; every entry stays as it was. */
int rt_gnttab_resume(void);

#pragma GCC visibility pop
#endif
