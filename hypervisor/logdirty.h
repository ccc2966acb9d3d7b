/* logdirty.h - the two log-dirty engines behind KEEL_DOMCTL_SHADOW_OP (logdirty.c dispatches):
 * "async" (logdirty_async.c: asynchronous userfaultfd write-protection read back with
 * PAGEMAP_SCAN, Linux 6.7+) and "sync" (logdirty_sync.c: synchronous write-protect faults served
 * by core threads, Linux 5.19+). The engine is chosen once at start (logdirty_probe.c). */
#ifndef KEEL_HV_LOGDIRTY_H
#define KEEL_HV_LOGDIRTY_H

#include <stdint.h>

struct hv_domain;

enum hv_ld_engine { HV_LD_NONE = 0, HV_LD_ASYNC = 1, HV_LD_SYNC = 2 };

/* logdirty_probe.c: what the kernel offers and which engine this core uses. want is
 * "auto", "async", "sync" or "none" (NULL = $KEEL_LOGDIRTY, else auto). A forced engine the
 * kernel lacks is an error (-EOPNOTSUPP, logged with what is missing). */
int hv_logdirty_init(const char *want);
enum hv_ld_engine hv_logdirty_engine(void);
const char *hv_logdirty_engine_name(enum hv_ld_engine e);
uint32_t hv_logdirty_stub_features(void);   /* userfaultfd features a new stub asks for */
uint32_t hv_logdirty_physcaps(void);        /* KEEL_PHYSCAP_LOGDIRTY_* for physinfo */

/* logdirty_async.c */
int hv_ld_async_probe(void);                 /* 0 if PAGEMAP_SCAN works */
int hv_ld_async_enable(struct hv_domain *d);
long hv_ld_async_scan(struct hv_domain *d, int clear, uint8_t *bm, uint64_t pages, uint64_t *count);
void hv_ld_async_release(struct hv_domain *d);

/* logdirty_sync.c */
int hv_ld_sync_enable(struct hv_domain *d);
long hv_ld_sync_scan(struct hv_domain *d, int clear, uint8_t *bm, uint64_t pages, uint64_t *count);
int hv_ld_sync_disable(struct hv_domain *d);
void hv_ld_sync_release(struct hv_domain *d);

/* Shared by both: write-protect (on) or release (off) a range of guest frames. */
int hv_ld_protect(struct hv_domain *d, uint64_t first, uint64_t n, int on, int dontwake);

#endif
