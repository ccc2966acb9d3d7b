/* kl_ops.h - liblight's operator calls: host and domain statistics (xl top), per-vCPU
 * information, ELF core dumps of a domain (xl dump-core), sysrq and triggers sent to a domain,
 * and the core's console ring (xl dmesg). Conventions as kl_light.h: 0 (or a count) on success,
 * a negative errno on failure with a message from kl_ctx_error(). */
#ifndef KEEL_KL_OPS_H
#define KEEL_KL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <keel/kl_light.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Host ---- */
typedef struct kl_hostinfo {
    uint32_t nr_cpus, threads_per_core, cores_per_socket, nr_nodes;
    uint32_t cpu_khz;
    uint64_t total_kb, free_kb;      /* memory the core may give domains, and what is left */
    uint32_t abi_major, abi_minor;   /* the core's ABI version */
    uint32_t max_cpu_id;
    uint32_t capabilities;           /* KEEL_PHYSCAP_* (the log-dirty engine: live migration) */
    uint64_t outstanding_kb;         /* every domain's memory claim (free_kb excludes them) */
} kl_hostinfo;
int kl_host_info(kl_ctx *ctx, kl_hostinfo *info);

/* The host's CPU topology (core, socket, NUMA node of each CPU, from Linux's sysfs: the core
 * runs domains on these CPUs) and NUMA nodes (memory size and free, distances), for xl info -n.
 * *out malloc'd; returns the count. */
typedef struct kl_cputopo { uint32_t cpu, core, socket, node; } kl_cputopo;
int kl_host_cpu_topology(kl_ctx *ctx, kl_cputopo **out);
#define KL_MAX_NODES 64
typedef struct kl_numainfo {
    uint32_t node;
    uint64_t size_kb, free_kb;
    uint32_t ndist;
    uint32_t dist[KL_MAX_NODES];
} kl_numainfo;
int kl_host_numa(kl_ctx *ctx, kl_numainfo **out);
/* The store daemon's feature bits (XS_GET_FEATURE; 0 when it has none), for xl info -x. */
int kl_store_features(kl_ctx *ctx, uint32_t *features);

/* ---- vCPUs ---- */
typedef struct kl_vcpuinfo {
    uint32_t vcpu;
    bool online, blocked, running;
    uint64_t cpu_time_ns;
    uint32_t cpu;                    /* physical CPU it ran on last */
} kl_vcpuinfo;
/* vCPUs 0..max_vcpu_id of the domain; *out malloc'd. Returns the count. */
int kl_vcpu_list(kl_ctx *ctx, uint32_t domid, kl_vcpuinfo **out);

/* ---- Network statistics of a domain's vifs (keel-netback's statistics files) ---- */
typedef struct kl_nicstats {
    uint32_t devid;
    bool valid;                      /* false: the backend publishes no statistics (yet) */
    /* from the guest's point of view, as xentop shows them: tx = sent by the guest */
    uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
    uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
} kl_nicstats;
/* One entry per vif of the domain (kl_nic_list order); *out malloc'd. Returns the count. */
int kl_nic_stats(kl_ctx *ctx, uint32_t domid, kl_nicstats **out);

/* ---- Core dump (lifecycle/coredump.c) ---- */
/* Write an ELF64 core file of the domain to path (created, mode 0600; an existing file is
 * replaced): one NT_PRSTATUS (general registers, pid = vCPU + 1) and one NT_FPREGSET (FXSAVE
 * image) note per vCPU, an NT_PRPSINFO note naming the domain, and one PT_LOAD segment holding
 * the guest's memory at its virtual address (KEEL_GUEST_BASE + guest physical), so that gdb
 * with the guest's ELF image shows every vCPU's registers and backtrace. The domain is paused
 * while its state is read and unpaused afterwards unless it was paused already. A vCPU stopped
 * inside a hypercall is written at its call site (rip = the return address on its stack, rsp
 * past it). All-zero pages are left as holes in the file. On failure the file is removed. */
int kl_domain_core_dump(kl_ctx *ctx, uint32_t domid, const char *path);

/* ---- Requests to a domain (lifecycle/ops.c) ---- */
/* Write control/sysrq = key in the domain's store directory, as Xen's toolstack does (the guest
 * acts on it if it watches the key). key must be a printable character. */
int kl_domain_send_sysrq(kl_ctx *ctx, uint32_t domid, char key);
/* libxl's trigger numbering */
typedef enum kl_trigger {
    KL_TRIGGER_UNKNOWN = 0, KL_TRIGGER_POWER = 1, KL_TRIGGER_SLEEP = 2, KL_TRIGGER_NMI = 3,
    KL_TRIGGER_INIT = 4, KL_TRIGGER_RESET = 5, KL_TRIGGER_S3RESUME = 6,
} kl_trigger;
int kl_trigger_from_string(const char *s, kl_trigger *t);
const char *kl_trigger_to_string(kl_trigger t);
/* What a trigger means for a Keel PV domain: power = the PV power button, control/shutdown
 * "poweroff" written for the guest (not waited for); reset = the reset line, the core shuts the
 * domain down at once with reason reboot (its on_reboot action follows). The others (sleep,
 * nmi, init, s3resume) need ACPI, an NMI callback or INIT/SIPI that PV guests do not have:
 * -EOPNOTSUPP with the reason. vcpu must name an existing vCPU (-EINVAL). */
int kl_domain_send_trigger(kl_ctx *ctx, uint32_t domid, kl_trigger t, uint32_t vcpu);

/* ---- The core's debug keys and runtime parameters (hypervisor/debugkeys.c) ---- */
/* Keys honoured: h (list), q (domains and vCPUs), m (memory per domain), t (the core's clocks);
 * output goes to the console ring; other keys are reported there as not honoured. */
int kl_send_debug_keys(kl_ctx *ctx, const char *keys);
/* "name=value ..."; the core knows loglvl=none|error|warning|info|debug|all. -EINVAL with the
 * reason in the console ring for an unknown name or a bad value. */
int kl_set_parameters(kl_ctx *ctx, const char *params);

/* ---- The store's quotas (xl xenstore-quota-get/-set) ---- */
typedef struct kl_xs_quota {
    char name[32];
    uint32_t value;                  /* 0: no limit */
} kl_xs_quota;
/* Every quota the store knows, global (domid -1) or of one domain (its values override the
 * global ones); *out malloc'd; returns the count. */
int kl_xs_quota_get(kl_ctx *ctx, int64_t domid, kl_xs_quota **out);
/* Set one quota, global (domid -1) or of one domain; -EINVAL (the store's) for an unknown name. */
int kl_xs_quota_set(kl_ctx *ctx, int64_t domid, const char *name, uint32_t value);

/* ---- The core's console ring (xl dmesg) ---- */
/* Read from *index onwards (incremental): up to *len bytes, *len set to what was read, *index
 * advanced; clear empties the ring after reading. */
int kl_console_ring_read(kl_ctx *ctx, char *buf, size_t *len, uint64_t *index, bool clear);

#ifdef __cplusplus
}
#endif
#endif
