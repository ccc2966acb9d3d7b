/* cpupool.h - cpupools (cpupool.c), their cpuset cgroups (cpupool_cg.c) and the per-pool
 * schedulers' effect on vCPU threads (sched_rt.c). Called with hv.lock held unless said. */
#ifndef KEEL_HV_CPUPOOL_H
#define KEEL_HV_CPUPOOL_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "keel/abi.h"

struct hv_domain;
struct hv_vcpu;
struct hv_caller;

struct hv_pool {
    bool used;
    char name[KEEL_CPUPOOL_NAME_MAX];
    uint32_t sched;                            /* KEEL_SCHEDULER_* */
    uint64_t cpus[KEEL_CPUMAP_WORDS];
    uint32_t tslice_ms, ratelimit_us, migr_delay_us;
};

/* Pool-0 with the CPUs the core may run on; the cpuset hierarchy (after hv_cgroup_init). */
int hv_cpupool_init(void);
struct hv_pool *hv_cpupool_get(uint32_t id);
long hv_sysctl_cpupool(struct hv_caller *c, struct keel_sysctl_cpupool *op);
long hv_sysctl_sched_pool(struct hv_caller *c, struct keel_sysctl_sched_pool *op);
/* The CPUs a vCPU may run on: its hard affinity within its pool (empty if they do not meet). */
void hv_cpupool_effective(const struct hv_domain *d, const uint64_t hard[KEEL_CPUMAP_WORDS],
                          cpu_set_t *cs);
/* Confine every vCPU thread of d to its pool (cpuset, affinity, the pool's scheduler). */
void hv_cpupool_apply(struct hv_domain *d);

/* cpupool_cg.c: the cpuset cgroup of each domain, in the v1 cpuset hierarchy or the v2 leaf */
void hv_cpuset_init(void);
void hv_cpuset_create(struct hv_domain *d);
int hv_cpuset_attach(struct hv_domain *d, pid_t pid);
void hv_cpuset_remove(struct hv_domain *d);
void hv_cpuset_set(struct hv_domain *d, const uint64_t cpus[KEEL_CPUMAP_WORDS]);
/* 1: the v1 cpuset hierarchy, 2: the unified one, 0: none. */
int hv_cpuset_version(void);
/* "0,2,5" (at most len bytes). */
void hv_cpuset_text(const uint64_t cpus[KEEL_CPUMAP_WORDS], char *buf, size_t len);

/* cpupool_part.c: an rtds pool with CPUs as a scheduling partition of its own (v1 cpusets),
 * for SCHED_DEADLINE. sync makes, moves or (p NULL, not rtds, no CPU) removes pool id's
 * partition; call it with no SCHED_DEADLINE thread among the pool's domains. 0: it holds (or
 * none is wanted); negative errno: none, hv_cpupart_why(id) says why. init at start (also
 * removes the partitions of cores that died), fini at exit (the root cpuset restored when no
 * Keel partition is left). */
void hv_cpupart_init(void);
int hv_cpupart_reap(void);                /* keel-hv --reap-partitions */
int hv_cpupart_sync(uint32_t id, const struct hv_pool *p);
const char *hv_cpupart_why(uint32_t id);
void hv_cpupart_fini(void);

/* sched_rt.c */
long hv_domctl_sched_vcpu(struct hv_domain *d, struct keel_domctl_sched_vcpu *op);
/* Put every vCPU thread under the pool's scheduler (SCHED_DEADLINE for rtds, with the CFS
 * bandwidth fallback; the credit time slice as the EEVDF slice), or back to SCHED_OTHER. */
void hv_sched_rt_apply(struct hv_domain *d, const struct hv_pool *p);
void hv_sched_rt_release(struct hv_domain *d);

#endif
