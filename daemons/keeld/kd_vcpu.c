/* kd_vcpu.c - keeld's vCPU methods: domain.set_vcpus (the store's cpu/N/availability nodes, as
 * xl vcpu-set writes them: the guest brings vCPUs up and down), domain.vcpu_list and
 * domain.vcpu_pin (hard and soft affinity through liblight's kl_vcpu.h, as xl vcpu-list / vcpu-pin). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "kd.h"
#include "keel/kl_light.h"
#include "keel/kl_vcpu.h"

static int get_domain(struct kd_call *c, uint32_t *domid, kl_dominfo *info)
{
    if (kd_domain_param(c, domid) < 0)
        return kd_err(c);
    if (kl_domain_info(kd_ctx(), *domid, info) < 0)
        return kd_fail(c, KD_NO_SUCH_DOMAIN, "no domain %u", *domid);
    return 0;
}

int kd_m_set_vcpus(struct kd_call *c)
{
    kl_dominfo info;
    uint32_t domid;
    long long n;

    if (get_domain(c, &domid, &info) < 0)
        return kd_err(c);
    if (kd_param_int(c->req->params, "count", 1, KEEL_MAX_VCPUS, 0, &n, c->msg, sizeof(c->msg)) < 0 || !n)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg[0] ? c->msg : "\"count\" is required");
    if ((uint64_t)n > (uint64_t)info.vcpu_max_id + 1)
        return kd_fail(c, KD_INVALID_PARAMS, "domain %u has only %u vCPUs (maxvcpus)", domid,
                       info.vcpu_max_id + 1);
    for (uint32_t v = 0; v <= info.vcpu_max_id; v++) {
        char path[96];
        snprintf(path, sizeof(path), "/local/domain/%u/cpu/%u/availability", domid, v);
        if (kl_store_write(kd_ctx(), path, (long long)v < n ? "online" : "offline") < 0)
            return kd_fail(c, KD_HYPERVISOR, "set_vcpus: %s", kl_ctx_error(kd_ctx()));
    }
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_int(c->g, "count", n);
    yajl_gen_map_close(c->g);
    return 0;
}

static void gen_map(yajl_gen g, const char *key, const uint64_t map[KEEL_CPUMAP_WORDS])
{
    kd_gen_str(g, key);
    yajl_gen_array_open(g);
    for (int i = 0; i < KEEL_CPUMAP_WORDS * 64; i++)
        if (map[i / 64] & (1ULL << (i % 64)))
            yajl_gen_integer(g, i);
    yajl_gen_array_close(g);
}

int kd_m_vcpu_list(struct kd_call *c)
{
    kl_dominfo info;
    uint32_t domid;

    if (get_domain(c, &domid, &info) < 0)
        return kd_err(c);
    yajl_gen_array_open(c->g);
    for (uint32_t v = 0; v <= info.vcpu_max_id; v++) {
        uint64_t hard[KEEL_CPUMAP_WORDS], soft[KEEL_CPUMAP_WORDS];
        if (kl_vcpu_get_affinity(kd_ctx(), domid, v, hard, soft) < 0)
            return kd_fail(c, KD_HYPERVISOR, "%s", kl_ctx_error(kd_ctx()));
        yajl_gen_map_open(c->g);
        kd_gen_key_int(c->g, "vcpu", v);
        gen_map(c->g, "hard", hard);
        gen_map(c->g, "soft", soft);
        yajl_gen_map_close(c->g);
    }
    yajl_gen_array_close(c->g);
    return 0;
}

/* An array of CPU numbers (each < 128) into a map; NULL/absent: every CPU. */
static int cpu_map(struct kd_call *c, const char *name, uint64_t map[KEEL_CPUMAP_WORDS])
{
    yajl_val v = kd_param(c->req->params, name);

    memset(map, v ? 0 : 0xff, sizeof(uint64_t) * KEEL_CPUMAP_WORDS);
    if (!v)
        return 0;
    if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0)
        return kd_fail(c, KD_INVALID_PARAMS, "\"%s\" must be a non-empty array of CPU numbers", name);
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val e = v->u.array.values[i];
        if (!YAJL_IS_INTEGER(e) || YAJL_GET_INTEGER(e) < 0 ||
            YAJL_GET_INTEGER(e) >= KEEL_CPUMAP_WORDS * 64)
            return kd_fail(c, KD_INVALID_PARAMS, "\"%s\"[%zu] must be a CPU number 0..%d", name, i,
                           KEEL_CPUMAP_WORDS * 64 - 1);
        map[YAJL_GET_INTEGER(e) / 64] |= 1ULL << (YAJL_GET_INTEGER(e) % 64);
    }
    return 0;
}

int kd_m_vcpu_pin(struct kd_call *c)
{
    uint64_t hard[KEEL_CPUMAP_WORDS], soft[KEEL_CPUMAP_WORDS];
    yajl_val vv = kd_param(c->req->params, "vcpu");
    const char *vs = vv && YAJL_IS_STRING(vv) ? YAJL_GET_STRING(vv) : NULL;
    kl_dominfo info;
    uint32_t domid, first, last;

    if (get_domain(c, &domid, &info) < 0 || cpu_map(c, "hard", hard) < 0 || cpu_map(c, "soft", soft) < 0)
        return kd_err(c);
    if (vs && !strcmp(vs, "all")) {
        first = 0;
        last = info.vcpu_max_id;
    } else if (vv && YAJL_IS_INTEGER(vv) && YAJL_GET_INTEGER(vv) >= 0 &&
               YAJL_GET_INTEGER(vv) <= (long long)info.vcpu_max_id) {
        first = last = (uint32_t)YAJL_GET_INTEGER(vv);
    } else {
        return kd_fail(c, KD_INVALID_PARAMS, "\"vcpu\" must be \"all\" or a vCPU number 0..%u",
                       info.vcpu_max_id);
    }
    for (uint32_t v = first; v <= last; v++)
        if (kl_vcpu_set_affinity(kd_ctx(), domid, v, hard, soft) < 0)
            return kd_fail(c, KD_INVALID_PARAMS, "%s", kl_ctx_error(kd_ctx()));
    return kd_m_vcpu_list(c);
}
