/* ops.c - liblight's operator calls (keel/kl_ops.h): host information, per-vCPU information,
 * vif statistics from keel-netback's statistics files, sysrq and triggers sent to a domain, and
 * the core's console ring. The core dump is in coredump.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    if ((rc = kc_version(ctx->kc, &info->abi_major, &info->abi_minor)) < 0)
        return kl__err(ctx, rc, "reading the core's version: %s", kc_error(ctx->kc));
    return 0;
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
