/* ops.c - liblight's operator calls (keel/kl_ops.h): host information, per-vCPU information,
 * vif statistics from keel-netback's statistics files, sysrq and triggers sent to a domain, and
 * the core's console ring. The core dump is in coredump.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "keel/kl_ops.h"
#include "lc_int.h"

int kl_host_info(kl_ctx *ctx, kl_hostinfo *info)
{
    struct keel_sysctl_physinfo pi;
    int rc;

    memset(info, 0, sizeof(*info));
    if ((rc = kc_physinfo(ctx->kc, &pi)) < 0)
        return kl__err(ctx, rc, "reading the host's information: %s", kc_error(ctx->kc));
    info->nr_cpus = pi.nr_cpus;
    info->threads_per_core = pi.threads_per_core;
    info->cores_per_socket = pi.cores_per_socket;
    info->nr_nodes = pi.nr_nodes;
    info->cpu_khz = pi.cpu_khz;
    info->total_kb = pi.total_pages << (KEEL_PAGE_SHIFT - 10);
    info->free_kb = pi.free_pages << (KEEL_PAGE_SHIFT - 10);
    info->max_cpu_id = pi.max_cpu_id;
    info->capabilities = pi.capabilities;
    info->outstanding_kb = pi.outstanding_pages << (KEEL_PAGE_SHIFT - 10);
    if ((rc = kc_version(ctx->kc, &info->abi_major, &info->abi_minor)) < 0)
        return kl__err(ctx, rc, "reading the core's version: %s", kc_error(ctx->kc));
    return 0;
}

/* Domain-0's vCPUs are the host's CPUs: their time is the CPU's busy time in /proc/stat
 * (user, nice, system, irq, softirq, steal). 0 if it cannot be read. */
static uint64_t host_cpu_busy_ns(uint32_t cpu)
{
    unsigned long long t[8] = { 0 };
    char line[256], want[24];
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t ns = 0;
    FILE *f = fopen("/proc/stat", "re");

    if (!f || hz <= 0) {
        if (f)
            fclose(f);
        return 0;
    }
    snprintf(want, sizeof(want), "cpu%u ", cpu);
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, want, strlen(want)) &&
            sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1],
                   &t[2], &t[3], &t[4], &t[5], &t[6], &t[7]) == 8) {
            ns = (t[0] + t[1] + t[2] + t[5] + t[6] + t[7]) * (1000000000ull / (uint64_t)hz);
            break;
        }
    fclose(f);
    return ns;
}

int kl_vcpu_list(kl_ctx *ctx, uint32_t domid, kl_vcpuinfo **out)
{
    kl_dominfo d;
    kl_vcpuinfo *v;
    int rc, n = 0;

    *out = NULL;
    if ((rc = kl_domain_info(ctx, domid, &d)) < 0)
        return rc;
    if (d.vcpu_max_id >= KEEL_MAX_VCPUS)
        return kl__err(ctx, -EPROTO, "domain %u: vCPU id %u out of range", domid, d.vcpu_max_id);
    if (!(v = calloc(d.vcpu_max_id + 1, sizeof(*v))))
        return kl__err(ctx, -ENOMEM, "out of memory");
    for (uint32_t i = 0; i <= d.vcpu_max_id; i++) {
        struct keel_domctl_vcpuinfo vi;
        if ((rc = kc_vcpu_getinfo(ctx->kc, domid, i, &vi)) < 0) {
            if (rc == -ENOENT)
                continue;
            free(v);
            return kl__err(ctx, rc, "domain %u vCPU %u: %s", domid, i, kc_error(ctx->kc));
        }
        v[n] = (kl_vcpuinfo){ .vcpu = i, .online = vi.online, .blocked = vi.blocked,
                              .running = vi.running, .cpu_time_ns = vi.cpu_time_ns,
                              .cpu = vi.cpu };
        if (domid == 0 && !vi.cpu_time_ns)
            v[n].cpu_time_ns = host_cpu_busy_ns(vi.cpu);
        n++;
    }
    *out = v;
    return n;
}

/* keel-netback's "name value" lines (daemons/netback/nb_stats.c); false if unreadable. */
static bool read_nic_stats(const char *path, kl_nicstats *s)
{
    struct { const char *key; uint64_t *val; } keys[] = {
        { "tx_bytes", &s->tx_bytes }, { "tx_packets", &s->tx_packets },
        { "tx_errors", &s->tx_errors }, { "tx_dropped", &s->tx_dropped },
        { "rx_bytes", &s->rx_bytes }, { "rx_packets", &s->rx_packets },
        { "rx_errors", &s->rx_errors }, { "rx_dropped", &s->rx_dropped },
    };
    char line[128], key[32];
    unsigned long long val;
    int found = 0;
    FILE *f = fopen(path, "re");

    if (!f)
        return false;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%31s %llu", key, &val) != 2)
            continue;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (!strcmp(key, keys[i].key)) {
                *keys[i].val = val;
                found++;
            }
    }
    fclose(f);
    return found > 0;
}

int kl_nic_stats(kl_ctx *ctx, uint32_t domid, kl_nicstats **out)
{
    kl_nicinfo *nics;
    kl_nicstats *s;
    int n;

    *out = NULL;
    if ((n = kl_nic_list(ctx, domid, &nics)) < 0)
        return n;
    if (!(s = calloc(n ? (size_t)n : 1, sizeof(*s)))) {
        free(nics);
        return kl__err(ctx, -ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/netback/vif%u.%u.stats", ctx->rundir, domid,
                 nics[i].devid);
        s[i].devid = nics[i].devid;
        s[i].valid = read_nic_stats(path, &s[i]);
    }
    free(nics);
    *out = s;
    return n;
}

int kl_domain_send_sysrq(kl_ctx *ctx, uint32_t domid, char key)
{
    char path[64], val[2] = { key, 0 };
    kl_dominfo d;
    int rc;

    if (key < 0x21 || key > 0x7e)
        return kl__err(ctx, -EINVAL, "sysrq: not a printable character (0x%02x)",
                       (unsigned char)key);
    if ((rc = kl_domain_info(ctx, domid, &d)) < 0)
        return rc;
    snprintf(path, sizeof(path), "/local/domain/%u/control/sysrq", domid);
    if ((rc = kl_store_write(ctx, path, val)) < 0)
        return kl__err(ctx, rc, "domain %u: writing %s: %s", domid, path, strerror(-rc));
    return 0;
}

static const char *const trigger_names[] = {
    [KL_TRIGGER_UNKNOWN] = "unknown", [KL_TRIGGER_POWER] = "power", [KL_TRIGGER_SLEEP] = "sleep",
    [KL_TRIGGER_NMI] = "nmi", [KL_TRIGGER_INIT] = "init", [KL_TRIGGER_RESET] = "reset",
    [KL_TRIGGER_S3RESUME] = "s3resume",
};

int kl_trigger_from_string(const char *s, kl_trigger *t)
{
    for (int i = KL_TRIGGER_POWER; i <= KL_TRIGGER_S3RESUME; i++)
        if (!strcasecmp(s, trigger_names[i])) {
            *t = (kl_trigger)i;
            return 0;
        }
    return -EINVAL;
}

const char *kl_trigger_to_string(kl_trigger t)
{
    return (unsigned)t <= KL_TRIGGER_S3RESUME ? trigger_names[t] : NULL;
}

int kl_domain_send_trigger(kl_ctx *ctx, uint32_t domid, kl_trigger t, uint32_t vcpu)
{
    char path[64];
    kl_dominfo d;
    int rc;

    if ((rc = kl_domain_info(ctx, domid, &d)) < 0)
        return rc;
    if (domid == 0)
        return kl__err(ctx, -EINVAL, "Domain-0 is the toolstack: it takes no triggers");
    if (vcpu > d.vcpu_max_id)
        return kl__err(ctx, -EINVAL, "domain %u has no vCPU %u", domid, vcpu);
    switch (t) {
    case KL_TRIGGER_POWER:
        snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
        if ((rc = kl_store_write(ctx, path, "poweroff")) < 0)
            return kl__err(ctx, rc, "domain %u: writing %s: %s", domid, path, strerror(-rc));
        return 0;
    case KL_TRIGGER_RESET:
        if ((rc = kc_domain_shutdown(ctx->kc, domid, KEEL_SHUTDOWN_REBOOT)) < 0)
            return kl__err(ctx, rc, "domain %u: reset: %s", domid, kc_error(ctx->kc));
        return 0;
    case KL_TRIGGER_SLEEP:
    case KL_TRIGGER_S3RESUME:
        return kl__err(ctx, -EOPNOTSUPP, "'%s': a PV domain has no ACPI sleep states",
                       kl_trigger_to_string(t));
    case KL_TRIGGER_NMI:
        return kl__err(ctx, -EOPNOTSUPP, "'nmi': a Keel PV domain registers no NMI callback");
    case KL_TRIGGER_INIT:
        return kl__err(ctx, -EOPNOTSUPP, "'init': PV vCPUs are started with VCPUOP_initialise, "
                       "not INIT/SIPI");
    default:
        return kl__err(ctx, -EINVAL, "unknown trigger %d", (int)t);
    }
}

int kl_console_ring_read(kl_ctx *ctx, char *buf, size_t *len, uint64_t *index, bool clear)
{
    int rc = kc_readconsolering(ctx->kc, buf, len, index, clear);

    if (rc < 0)
        return kl__err(ctx, rc, "reading the console ring: %s", kc_error(ctx->kc));
    return 0;
}

int kl_send_debug_keys(kl_ctx *ctx, const char *keys)
{
    int rc = kc_debug_keys(ctx->kc, keys);

    if (rc < 0)
        return kl__err(ctx, rc, "%s", kc_error(ctx->kc));
    return 0;
}

int kl_set_parameters(kl_ctx *ctx, const char *params)
{
    int rc = kc_set_parameters(ctx->kc, params);

    if (rc < 0)
        return kl__err(ctx, rc, "%s", kc_error(ctx->kc));
    return 0;
}

/* One number from CPU cpu's topology file (core_id, physical_package_id); -1 when absent. */
static long sysfs_num(uint32_t cpu, const char *file)
{
    char path[128];
    long v = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/topology/%s", cpu, file);
    if (!(f = fopen(path, "re")))
        return -1;
    if (fscanf(f, "%ld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

static uint32_t node_of_cpu(uint32_t cpu)
{
    char path[96];

    for (uint32_t n = 0; n < KL_MAX_NODES; n++) {
        snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpu%u", n, cpu);
        if (access(path, F_OK) == 0)
            return n;
    }
    return 0;
}

int kl_host_cpu_topology(kl_ctx *ctx, kl_cputopo **out)
{
    kl_hostinfo h;
    kl_cputopo *t;
    int rc, n = 0;

    *out = NULL;
    if ((rc = kl_host_info(ctx, &h)) < 0)
        return rc;
    if (!(t = calloc(h.nr_cpus ? h.nr_cpus : 1, sizeof(*t))))
        return kl__err(ctx, -ENOMEM, "out of memory");
    for (uint32_t c = 0; c < 4096 && (uint32_t)n < h.nr_cpus; c++) {
        long core = sysfs_num(c, "core_id");
        long sock = sysfs_num(c, "physical_package_id");
        if (core < 0 && sock < 0)
            continue;                    /* offline or absent */
        t[n++] = (kl_cputopo){ .cpu = c, .core = core < 0 ? 0 : (uint32_t)core,
                               .socket = sock < 0 ? 0 : (uint32_t)sock, .node = node_of_cpu(c) };
    }
    *out = t;
    return n;
}

/* MemTotal / MemFree of a node's meminfo, in kB. */
static void node_mem(uint32_t node, uint64_t *size_kb, uint64_t *free_kb)
{
    char path[96], line[160];
    unsigned long long v;
    FILE *f;

    snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/meminfo", node);
    if (!(f = fopen(path, "re")))
        return;
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "MemTotal:");
        const char *q = strstr(line, "MemFree:");
        if (p && sscanf(p + 9, "%llu", &v) == 1)
            *size_kb = v;
        else if (q && sscanf(q + 8, "%llu", &v) == 1)
            *free_kb = v;
    }
    fclose(f);
}

int kl_host_numa(kl_ctx *ctx, kl_numainfo **out)
{
    kl_numainfo *ni;
    char path[96];
    int n = 0;

    *out = NULL;
    if (!(ni = calloc(KL_MAX_NODES, sizeof(*ni))))
        return kl__err(ctx, -ENOMEM, "out of memory");
    for (uint32_t node = 0; node < KL_MAX_NODES; node++) {
        FILE *f;
        snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/distance", node);
        if (!(f = fopen(path, "re")))
            continue;
        ni[n].node = node;
        while (ni[n].ndist < KL_MAX_NODES && fscanf(f, "%u", &ni[n].dist[ni[n].ndist]) == 1)
            ni[n].ndist++;
        fclose(f);
        node_mem(node, &ni[n].size_kb, &ni[n].free_kb);
        n++;
    }
    if (n == 0) {                        /* no NUMA in this kernel: one node, the host */
        kl_hostinfo h;
        if (kl_host_info(ctx, &h) == 0)
            ni[0] = (kl_numainfo){ .node = 0, .size_kb = h.total_kb, .free_kb = h.free_kb,
                                   .ndist = 1, .dist = { 10 } };
        n = 1;
    }
    *out = ni;
    return n;
}

int kl_store_features(kl_ctx *ctx, uint32_t *features)
{
    char *out = NULL, *end;
    size_t len = 0;
    unsigned long v;
    int rc;

    *features = 0;
    if ((rc = kl__xs_request(ctx, 23 /* XS_GET_FEATURE */, 0, "", 1, &out, &len)) < 0)
        return rc == -ENOSYS || rc == -EINVAL ? 0 : kl__err(ctx, rc, "the store's features: %s",
                                                             strerror(-rc));
    v = strtoul(out ? out : "", &end, 10);
    if (!out || end == out || v > UINT32_MAX) {
        free(out);
        return kl__err(ctx, -EPROTO, "the store's features: not a number");
    }
    *features = (uint32_t)v;
    free(out);
    return 0;
}
