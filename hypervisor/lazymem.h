/* lazymem.h - lazy guest memory (lazymem.c): a domain created with KEEL_DOMCTL_CDF_LAZY_MEM has
 * its guest range registered by its stub for missing-page faults as well as write-protection;
 * the core fills a frame on its first touch from a page source (an image file and a table, or
 * a channel to the toolstack that restores it) and a background pass fills the rest. */
#ifndef KEEL_HV_LAZYMEM_H
#define KEEL_HV_LAZYMEM_H

#include <stdbool.h>
#include <stdint.h>

struct hv_domain;
struct hv_caller;
struct keel_domctl_lazy_mem;

int hv_lazy_init(struct hv_domain *d);         /* at creation, before the stub runs */
int hv_lazy_start(struct hv_domain *d);        /* once the core holds the userfaultfd */
void hv_lazy_release(struct hv_domain *d);     /* destroy: stop the filler, free */
/* True while frames may still be missing (a lazy domain whose fill is not complete). */
bool hv_lazy_active(const struct hv_domain *d);
/* True until every frame is in (also before a source is given): log-dirty mode and memory
 * access restrictions are refused meanwhile (EBUSY, with a console line). */
bool hv_lazy_incomplete(const struct hv_domain *d);
/* Make frames [first, first + n) present before the core or a backend touches them; 0, or
 * -EIO if the source cannot supply them (the source broke). */
int hv_lazy_need(struct hv_domain *d, uint64_t first, uint64_t n);
/* The same for a byte range of guest-physical memory. */
int hv_lazy_need_bytes(struct hv_domain *d, uint64_t gpa, uint64_t len);
/* Frames released (a balloon): written with zeros instead of punched out; their contents in
 * the source are not wanted any more. */
int hv_lazy_zero(struct hv_domain *d, uint64_t first, uint64_t n);
/* Fill everything now (a foreign mapping of all of memory by the toolstack). */
int hv_lazy_complete_now(struct hv_domain *d);
long hv_domctl_lazy_mem(struct hv_caller *c, struct hv_domain *d, struct keel_domctl_lazy_mem *op);

#endif
