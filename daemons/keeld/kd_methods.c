/* kd_methods.c - keeld's methods: host.*, domain.* and task.*, each a thin caller of liblight
 * (or libkeelctrl for host figures) on the calling worker thread's own context. Parameters are
 * checked first; liblight's errors map to Keel's codes with liblight's message. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kd.h"
#include "kd_wire.h"
#include "keel/kl_cfg.h"
#include "keel/kl_config.h"
#include "keel/kl_diag.h"
#include "keel/kl_light.h"
#include "keel/kl_ops.h"
#include "keel/kl_vcpu.h"

int kd_fail(struct kd_call *c, int code, const char *fmt, ...)
{
    char msg[sizeof(c->msg)];
    va_list ap;

    va_start(ap, fmt);             /* through a copy: callers pass c->msg itself as an argument */
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    memcpy(c->msg, msg, sizeof(msg));
    c->code = code;
    return kd_err(c);
}

int kd_err(const struct kd_call *c)
{
    switch (c->code) {
    case KD_PARSE_ERROR: return -EPROTO;
    case KD_INVALID_REQUEST: case KD_INVALID_PARAMS: case KD_CONFIG: return -EINVAL;
    case KD_METHOD_NOT_FOUND: return -ENOSYS;
    case KD_INTERNAL_ERROR: return -ENOMEM;
    case KD_NO_SUCH_DOMAIN: case KD_NO_SUCH_TASK: return -ENOENT;
    case KD_EXISTS: return -EEXIST;
    case KD_BUSY: return -EBUSY;
    case KD_LIMIT: return -EAGAIN;
    case KD_DENIED: return -EACCES;
    case KD_CANCELLED: return -ECANCELED;
    default: return -EIO;
    }
}

static int lib_fail(struct kd_call *c, int rc, const char *what)
{
    int code = rc == -ENOENT || rc == -ESRCH ? KD_NO_SUCH_DOMAIN : rc == -EEXIST ? KD_EXISTS
             : rc == -EBUSY ? KD_BUSY : rc == -ECANCELED ? KD_CANCELLED
             : rc == -EINVAL ? KD_INVALID_PARAMS : KD_HYPERVISOR;
    const char *m = kd_ctx() ? kl_ctx_error(kd_ctx()) : "no host";

    return kd_fail(c, code, "%s: %s", what, m && strcmp(m, "no error") ? m : strerror(-rc));
}

static struct kl_ctx *need_ctx(struct kd_call *c)
{
    struct kl_ctx *ctx = kd_ctx();

    if (!ctx)
        kd_fail(c, KD_HYPERVISOR, "no Keel host in %s (is keel-host running?)", kd_rundir);
    return ctx;
}

/* params.domain: a name or a decimal id (string), or an id (number). */
static int domain_arg(struct kd_call *c, struct kl_ctx *ctx, uint32_t *domid)
{
    yajl_val v = kd_param(c->req->params, "domain");
    const char *s = v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
    char buf[KL_DOMNAME_MAX + 1];

    if (v && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0 && YAJL_GET_INTEGER(v) < 0x7ff0)
        snprintf(buf, sizeof(buf), "%lld", YAJL_GET_INTEGER(v));
    else if (s && *s && strlen(s) <= KL_DOMNAME_MAX)
        snprintf(buf, sizeof(buf), "%s", s);
    else
        return kd_fail(c, KD_INVALID_PARAMS, "\"domain\" must be a name (at most %d bytes) or a "
                       "domain id", KL_DOMNAME_MAX);
    if (kl_domain_qualify(ctx, buf, domid) < 0)
        return kd_fail(c, KD_NO_SUCH_DOMAIN, "no domain '%s'", buf);
    return 0;
}

/* A method that acts on a guest: Domain-0 is not a valid target. */
int kd_domain_param(struct kd_call *c, uint32_t *domid)
{
    struct kl_ctx *ctx = kd_ctx();

    if (!ctx)
        return kd_fail(c, KD_HYPERVISOR, "no Keel host in %s", kd_rundir);
    if (domain_arg(c, ctx, domid) < 0)
        return kd_err(c);
    if (*domid == 0)
        return kd_fail(c, KD_INVALID_PARAMS, "\"domain\" must name a guest, not Domain-0");
    return 0;
}

static void gen_info(yajl_gen g, const kl_dominfo *d)
{
    char uuid[KL_UUID_STRLEN];

    kl_uuid_to_string(&d->uuid, uuid);
    yajl_gen_map_open(g);
    kd_gen_key_int(g, "domid", d->domid);
    kd_gen_key_str(g, "name", d->name);
    kd_gen_key_str(g, "uuid", uuid);
    kd_gen_key_int(g, "memory_kb", (long long)d->current_memkb);
    kd_gen_key_int(g, "max_memory_kb", (long long)d->max_memkb);
    kd_gen_key_int(g, "vcpus", d->vcpu_online);
    kd_gen_key_int(g, "cpu_time_ns", (long long)d->cpu_time_ns);
    kd_gen_key_str(g, "state", d->dying ? "dying" : d->shutdown ? "shutdown" : d->paused ? "paused"
                   : d->running ? "running" : "blocked");
    kd_gen_key_int(g, "shutdown_reason", d->shutdown_reason);
    yajl_gen_map_close(g);
}

static int m_ping(struct kd_call *c)
{
    yajl_gen_map_open(c->g);
    kd_gen_key_bool(c->g, "pong", true);
    yajl_gen_map_close(c->g);
    return 0;
}

static int m_host_info(struct kd_call *c)
{
    struct kl_ctx *ctx = need_ctx(c);
    kl_hostinfo hi;

    if (!ctx)
        return kd_err(c);
    if (kl_host_info(ctx, &hi) < 0)
        return kd_fail(c, KD_HYPERVISOR, "%s", kl_ctx_error(ctx));
    yajl_gen_map_open(c->g);
    kd_gen_key_str(c->g, "version", PACKAGE_VERSION);
    kd_gen_key_str(c->g, "rundir", kd_rundir);
    kd_gen_key_int(c->g, "nr_cpus", hi.nr_cpus);
    kd_gen_key_int(c->g, "cpu_khz", hi.cpu_khz);
    kd_gen_key_int(c->g, "total_memory_kb", (long long)hi.total_kb);
    kd_gen_key_int(c->g, "free_memory_kb", (long long)hi.free_kb);
    yajl_gen_map_close(c->g);
    return 0;
}

static int m_host_dmesg(struct kd_call *c)
{
    struct kl_ctx *ctx = need_ctx(c);
    static const size_t cap = 256 << 10;
    char *buf;
    size_t len = cap;
    uint64_t index = 0;
    bool clear;
    int rc;

    if (!ctx || kd_param_bool(c->req->params, "clear", false, &clear, c->msg, sizeof(c->msg)) < 0)
        return ctx ? kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg) : -1;
    if (!(buf = malloc(cap + 1)))
        return kd_fail(c, KD_INTERNAL_ERROR, "out of memory");
    rc = kl_console_ring_read(ctx, buf, &len, &index, clear);
    if (rc < 0) {
        free(buf);
        return kd_fail(c, KD_HYPERVISOR, "%s", kl_ctx_error(ctx));
    }
    buf[len] = 0;
    yajl_gen_map_open(c->g);
    kd_gen_key_str(c->g, "text", buf);
    yajl_gen_map_close(c->g);
    free(buf);
    return 0;
}

static int m_list(struct kd_call *c)
{
    struct kl_ctx *ctx = need_ctx(c);
    kl_dominfo *d = NULL;
    int n;

    if (!ctx)
        return kd_err(c);
    if ((n = kl_domain_list(ctx, &d)) < 0)
        return lib_fail(c, n, "listing domains");
    yajl_gen_array_open(c->g);
    for (int i = 0; i < n; i++)
        gen_info(c->g, &d[i]);
    yajl_gen_array_close(c->g);
    free(d);
    return 0;
}

static int m_info(struct kd_call *c)
{
    struct kl_ctx *ctx = need_ctx(c);
    const char *format = NULL;
    kl_dominfo d;
    uint32_t domid;
    int rc;

    if (!ctx || domain_arg(c, ctx, &domid) < 0)
        return kd_err(c);
    if (kd_param_str(c->req->params, "format", &format, false, c->msg, sizeof(c->msg)) < 0 ||
        (format && strcmp(format, "xml") && strcmp(format, "json")))
        return kd_fail(c, KD_INVALID_PARAMS, "\"format\" must be \"json\" or \"xml\"");
    if (format && !strcmp(format, "xml"))
        return kd_info_xml(c, ctx, domid);        /* libvirt domain XML (kd_xml.c) */
    if ((rc = kl_domain_info(ctx, domid, &d)) < 0)
        return lib_fail(c, rc, "domain info");
    gen_info(c->g, &d);
    return 0;
}

/* Simple one-call methods on a domain. */
static int simple(struct kd_call *c, int (*fn)(struct kl_ctx *, uint32_t), const char *what)
{
    struct kl_ctx *ctx = need_ctx(c);
    uint32_t domid;
    int rc;

    if (!ctx || domain_arg(c, ctx, &domid) < 0)
        return kd_err(c);
    if (domid == 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s: not Domain-0", what);
    if ((rc = fn(ctx, domid)) < 0)
        return lib_fail(c, rc, what);
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    yajl_gen_map_close(c->g);
    return 0;
}

static int m_destroy(struct kd_call *c) { return simple(c, kl_domain_destroy, "destroy"); }
static int m_pause(struct kd_call *c) { return simple(c, kl_domain_pause, "pause"); }
static int m_unpause(struct kd_call *c) { return simple(c, kl_domain_unpause, "unpause"); }

static int m_rename(struct kd_call *c)
{
    struct kl_ctx *ctx = need_ctx(c);
    const char *name;
    uint32_t domid;
    int rc;

    if (!ctx || domain_arg(c, ctx, &domid) < 0)
        return kd_err(c);
    if (kd_param_str(c->req->params, "name", &name, true, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if ((rc = kl_domain_rename(ctx, domid, name)) < 0)
        return lib_fail(c, rc, "rename");
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_str(c->g, "name", name);
    yajl_gen_map_close(c->g);
    return 0;
}

static int m_set_memory(struct kd_call *c)
{
    struct kl_ctx *ctx = need_ctx(c);
    long long target, max;
    uint32_t domid;
    int rc;

    if (!ctx || domain_arg(c, ctx, &domid) < 0)
        return kd_err(c);
    if (kd_param_int(c->req->params, "target_kb", 1024, 1LL << 40, 0, &target, c->msg,
                     sizeof(c->msg)) < 0 ||
        kd_param_int(c->req->params, "max_kb", 1024, 1LL << 40, 0, &max, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if (!target && !max)
        return kd_fail(c, KD_INVALID_PARAMS, "give \"target_kb\" and/or \"max_kb\"");
    if (max && (rc = kl_domain_setmaxmem(ctx, domid, (uint64_t)max)) < 0)
        return lib_fail(c, rc, "mem-max");
    if (target && (rc = kl_domain_set_target(ctx, domid, (uint64_t)target)) < 0)
        return lib_fail(c, rc, "mem-set");
    return m_info(c);
}

static int m_console(struct kd_call *c)
{
    struct kl_ctx *ctx = need_ctx(c);
    long long off;
    uint64_t offset, end = 0;
    size_t len = 64 << 10;
    char *buf;
    uint32_t domid;

    if (!ctx || domain_arg(c, ctx, &domid) < 0)
        return kd_err(c);
    if (kd_param_int(c->req->params, "offset", 0, 1LL << 62, 0, &off, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if (!(buf = malloc(len + 1)))
        return kd_fail(c, KD_INTERNAL_ERROR, "out of memory");
    offset = (uint64_t)off;
    if (kl_domain_console_read(ctx, domid, &offset, buf, &len, &end) < 0) {
        free(buf);
        return kd_fail(c, KD_HYPERVISOR, "%s", kl_ctx_error(ctx));
    }
    buf[len] = 0;
    for (size_t i = 0; i < len; i++)     /* keep the JSON valid: no raw control or high bytes */
        if ((unsigned char)buf[i] >= 0x80 || (buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\t'))
            buf[i] = '?';
    yajl_gen_map_open(c->g);
    kd_gen_key_str(c->g, "text", buf);
    kd_gen_key_int(c->g, "next_offset", (long long)offset);
    yajl_gen_map_close(c->g);
    free(buf);
    return 0;
}

static const struct kd_method methods[] = {
    { "host.ping", m_ping, false }, { "host.info", m_host_info, false },
    { "host.dmesg", m_host_dmesg, false },
    { "domain.list", m_list, false }, { "domain.info", m_info, false },
    { "domain.create", kd_m_create, true }, { "domain.destroy", m_destroy, false },
    { "domain.pause", m_pause, false }, { "domain.unpause", m_unpause, false },
    { "domain.rename", m_rename, false }, { "domain.set_memory", m_set_memory, false },
    { "domain.shutdown", kd_m_shutdown, true }, { "domain.reboot", kd_m_reboot, true },
    { "domain.save", kd_m_save, true }, { "domain.restore", kd_m_restore, true },
    { "domain.migrate", kd_m_migrate, true }, { "domain.console", m_console, false },
    { "domain.set_vcpus", kd_m_set_vcpus, false }, { "domain.vcpu_list", kd_m_vcpu_list, false },
    { "domain.vcpu_pin", kd_m_vcpu_pin, false },
    { "domain.block_attach", kd_m_block_attach, false },
    { "domain.block_list", kd_m_block_list, false },
    { "domain.block_detach", kd_m_block_detach, false },
    { "domain.network_attach", kd_m_network_attach, false },
    { "domain.network_list", kd_m_network_list, false },
    { "domain.network_detach", kd_m_network_detach, false },
    { "domain.vtpm_attach", kd_m_vtpm_attach, false },
    { "domain.vtpm_list", kd_m_vtpm_list, false },
    { "domain.vtpm_detach", kd_m_vtpm_detach, false },
    { "domain.protect", kd_m_protect, true }, { "domain.unprotect", kd_m_unprotect, false },
    { "domain.protection", kd_m_protection, false },
    { "domain.protect_receive", kd_m_protect_receive, true },
    { "task.get", kd_m_task_get, false }, { "task.list", kd_m_task_list, false },
    { "task.cancel", kd_m_task_cancel, false },
};

const struct kd_method *kd_method_find(const char *name)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (!strcmp(methods[i].name, name))
            return &methods[i];
    return NULL;
}

int kd_method_index(const char *name)
{
    const struct kd_method *m = kd_method_find(name);

    return m ? (int)(m - methods) : -1;
}

const struct kd_method *kd_method_at(unsigned idx)
{
    return idx < sizeof(methods) / sizeof(methods[0]) ? &methods[idx] : NULL;
}

kd_method_fn *kd_method_check(const char *name)
{
    if (!strcmp(name, "domain.protect"))
        return kd_check_protect;
    if (!strcmp(name, "domain.protect_receive"))
        return kd_check_protect_receive;
    return NULL;
}

bool kd_method_readonly(const char *name)
{
    static const char *const ro[] = { "host.ping", "host.info", "domain.list", "domain.info",
                                      "domain.console", "domain.vcpu_list", "domain.block_list",
                                      "domain.network_list", "domain.vtpm_list",
                                      "domain.protection",
                                      "task.get", "task.list" };

    for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
        if (!strcmp(ro[i], name))
            return true;
    return false;
}
