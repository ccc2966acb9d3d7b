/* kl_cpupool.h - liblight's cpupools and schedulers (xl cpupool-*, sched-credit, sched-credit2,
 * sched-rtds), and host CPU facts (hw_caps, NUMA nodes of CPUs). Conventions as kl_light.h: 0
 * (or a count) on success, a negative errno on failure with a message from kl_ctx_error(). CPU
 * maps are KEEL_CPUMAP_WORDS 64-bit words, bit N = physical CPU N. */
#ifndef KEEL_KL_CPUPOOL_H
#define KEEL_KL_CPUPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include <keel/kl_light.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libxl_scheduler's numbers and names ("credit", "credit2", "rtds") */
typedef enum kl_scheduler {
    KL_SCHEDULER_UNKNOWN = 0, KL_SCHEDULER_CREDIT = 5, KL_SCHEDULER_CREDIT2 = 6,
    KL_SCHEDULER_RTDS = 8,
} kl_scheduler;
const char *kl_scheduler_to_string(kl_scheduler s);
int kl_scheduler_from_string(const char *s, kl_scheduler *out);   /* -EINVAL if unknown */

typedef struct kl_cpupoolinfo {
    uint32_t poolid;
    char name[64];
    kl_scheduler sched;
    uint32_t n_dom;                    /* domains in it, Domain-0 included */
    uint64_t cpumap[KEEL_CPUMAP_WORDS];
} kl_cpupoolinfo;
/* Every pool in id order; *out malloc'd. Returns the count. */
int kl_cpupool_list(kl_ctx *ctx, kl_cpupoolinfo **out);
int kl_cpupool_info(kl_ctx *ctx, uint32_t poolid, kl_cpupoolinfo *info);   /* -ENOENT */
/* A pool named by its name or its decimal id (-ENOENT if none). */
int kl_cpupool_qualify(kl_ctx *ctx, const char *name_or_id, uint32_t *poolid);
/* CPUs that are in no pool. */
int kl_cpupool_freeinfo(kl_ctx *ctx, uint64_t cpus[KEEL_CPUMAP_WORDS]);
/* A new pool holding the given free CPUs (name: 1..63 printable, no '/', not all digits;
 * -EEXIST if taken, -EBUSY if a CPU is in use; nothing is left on failure). */
int kl_cpupool_create(kl_ctx *ctx, const char *name, kl_scheduler sched,
                      const uint64_t cpus[KEEL_CPUMAP_WORDS], uint32_t *poolid);
/* A pool with no domain (-EBUSY otherwise; Pool-0 never); its CPUs become free. */
int kl_cpupool_destroy(kl_ctx *ctx, uint32_t poolid);
int kl_cpupool_rename(kl_ctx *ctx, uint32_t poolid, const char *name);
/* -EBUSY: the CPU is in another pool (add) / the last CPU of a pool with domains (remove). */
int kl_cpupool_cpu_add(kl_ctx *ctx, uint32_t poolid, uint32_t cpu);
int kl_cpupool_cpu_remove(kl_ctx *ctx, uint32_t poolid, uint32_t cpu);
/* Move a domain (its vCPU affinities are reset to all, as Xen does). */
int kl_cpupool_move_domain(kl_ctx *ctx, uint32_t poolid, uint32_t domid);

/* A pool's scheduler parameters (credit: tslice_ms, ratelimit_us, vcpu_migr_delay_us;
 * credit2: ratelimit_us). set: sched must be the pool's. */
typedef struct kl_sched_pool_params {
    kl_scheduler sched;
    uint32_t tslice_ms, ratelimit_us, vcpu_migr_delay_us;
} kl_sched_pool_params;
int kl_sched_pool_get(kl_ctx *ctx, uint32_t poolid, kl_sched_pool_params *p);
int kl_sched_pool_set(kl_ctx *ctx, uint32_t poolid, const kl_sched_pool_params *p);

/* A domain's scheduler (its pool's) and its credit/credit2 weight and cap. */
int kl_domain_sched_get(kl_ctx *ctx, uint32_t domid, kl_scheduler *sched, uint32_t *weight,
                        uint32_t *cap);
/* weight 1..65535, cap 0..100 x vCPUs; a negative value keeps the current one. */
int kl_domain_sched_set(kl_ctx *ctx, uint32_t domid, int weight, int cap);

/* RTDS parameters of one vCPU of a domain in an rtds pool (-EOPNOTSUPP otherwise). engine:
 * KEEL_RTDS_ENGINE_DEADLINE (SCHED_DEADLINE) or _CFS (the fallback: CFS bandwidth). */
typedef struct kl_rtds_params {
    uint32_t period_us, budget_us;
    bool extratime;
    uint32_t engine;
} kl_rtds_params;
int kl_vcpu_rtds_get(kl_ctx *ctx, uint32_t domid, uint32_t vcpu, kl_rtds_params *p);
int kl_vcpu_rtds_set(kl_ctx *ctx, uint32_t domid, uint32_t vcpu, const kl_rtds_params *p);

/* Host facts: Xen's eight hw_caps words (CPUID 1 EDX, 1 ECX, 0x80000001 EDX, ECX, 0xD:1 EAX,
 * 7:0 EBX, 7:0 ECX, 0x80000007 EDX), and the NUMA node of a CPU (0 without sysfs nodes). */
void kl_host_hw_caps(uint32_t caps[8]);
int kl_host_cpu_node(uint32_t cpu);

#ifdef __cplusplus
}
#endif
#endif
