/* kd_long.c - keeld's long methods, run as tasks on their own threads: domain.create (xl.cfg
 * text or a JSON config; a monitor thread then applies the on_* actions as xl's monitor does),
 * domain.shutdown/reboot (waiting), domain.save/restore (xl save images, progress, cancel),
 * domain.migrate (xl's handshake over TCP, TLS unless asked otherwise); and task.*. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kd.h"
#include "kd_xlconf.h"
#include "keel/kl_cfg.h"
#include "keel/kl_config.h"
#include "keel/kl_diag.h"
#include "keel/kl_light.h"
#include "keel/kl_xml.h"

static int lfail(struct kd_call *c, int rc, const char *what)
{
    int code = rc == -ENOENT || rc == -ESRCH ? KD_NO_SUCH_DOMAIN : rc == -EEXIST ? KD_EXISTS
             : rc == -ECANCELED ? KD_CANCELLED : rc == -EINVAL ? KD_INVALID_PARAMS : KD_HYPERVISOR;

    return kd_fail(c, code, "%s: %s", what, kd_ctx() ? kl_ctx_error(kd_ctx()) : strerror(-rc));
}


/* The kernel made absolute the way every Keel tool finds it (kl_kernel_resolve), so a missing
 * one is a configuration error of this call rather than a failed creation. */
static int resolve_kernel(struct kd_call *c, char **kernel)
{
    char msg[600], *abs;
    int rc;

    if (!*kernel)
        return 0;
    if ((rc = kl_kernel_resolve(*kernel, &abs, msg, sizeof(msg))) < 0)
        return kd_fail(c, KD_CONFIG, "%s", rc == -ENOENT ? msg : strerror(-rc));
    free(*kernel);
    *kernel = abs;
    return 0;
}

/* params.config: xl.cfg text, libvirt domain XML text, or a JSON object in liblight's
 * (libxl's) domain config shape. */
static int load_config(struct kd_call *c, kl_domain_config *dc)
{
    yajl_val v = kd_param(c->req->params, "config");
    const char *xml = v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
    kl_diag *d = kl_diag_new();
    kl_cfg *cfg = NULL;
    int rc;

    if (!d)
        return kd_fail(c, KD_INTERNAL_ERROR, "out of memory");
    if (xml && kl_text_is_xml(xml, strlen(xml))) {  /* libvirt domain XML */
        rc = kl_domain_config_from_xml(dc, "config", xml, strlen(xml), 0, d);
    } else if (v && YAJL_IS_STRING(v)) {
        const char *t = YAJL_GET_STRING(v);
        rc = kl_cfg_parse_data(&cfg, "config", t, strlen(t), d);
        if (rc == 0)
            rc = kl_domain_config_from_cfg(dc, cfg, 0, d);
        kl_cfg_free(cfg);
    } else if (v && YAJL_IS_OBJECT(v)) {
        kd_out *o = kd_out_new();
        kd_gen_value(kd_out_gen(o), v);
        rc = kl_domain_config_from_json(dc, kd_out_text(o, NULL), d);
        kd_out_free(o);
    } else {
        kl_diag_free(d);
        return kd_fail(c, KD_INVALID_PARAMS, "\"config\" must be xl.cfg text, libvirt domain "
                       "XML or a JSON object");
    }
    if (rc < 0) {
        const char *first = kl_diag_first_error(d);
        int n = kl_diag_count(d);
        for (int i = 0; i < n && !first; i++)
            first = kl_diag_text(d, (size_t)i);
        kd_fail(c, KD_CONFIG, "configuration: %s", first ? first : strerror(-rc));
        if (kl_diag_errors(d) && kl_diag_line(d, 0) > 0)
            snprintf(c->msg + strlen(c->msg), sizeof(c->msg) - strlen(c->msg), " (line %d, column %d)",
                     kl_diag_line(d, 0), kl_diag_column(d, 0));
    }
    kl_diag_free(d);
    return rc < 0 ? -1 : resolve_kernel(c, &dc->b_info.kernel);
}

static void monitor_run(void *arg)
{
    uint32_t domid = (uint32_t)(uintptr_t)arg;

    if (kd_ctx())
        kl_domain_monitor(kd_ctx(), domid);
}

static void *monitor_main(void *arg)
{
    monitor_run(arg);
    kd_ctx_release();
    return NULL;
}

/* The domain's on_* monitor: the task's own thread once its end is announced, else (not in a
 * task) a thread of its own. */
static void start_monitor(uint32_t domid)
{
    pthread_attr_t a;
    pthread_t t;

    if (kd_task_then(monitor_run, (void *)(uintptr_t)domid) == 0)
        return;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &a, monitor_main, (void *)(uintptr_t)domid);
    pthread_attr_destroy(&a);
}

int kd_m_create(struct kd_call *c)
{
    kl_domain_config dc;
    uint32_t domid;
    bool paused;
    int rc;

    if (kd_param_bool(c->req->params, "paused", false, &paused, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if (!kd_ctx())
        return kd_fail(c, KD_HYPERVISOR, "no Keel host in %s", kd_rundir);
    kl_domain_config_init(&dc);
    if (load_config(c, &dc) < 0) {
        kl_domain_config_dispose(&dc);
        return kd_err(c);
    }
    if (kd_xlconf_apply(&dc, c->msg, sizeof(c->msg)) < 0) {   /* xl.conf, as xl create */
        kl_domain_config_dispose(&dc);
        return kd_fail(c, KD_CONFIG, "%s", c->msg);
    }
    kd_task_progress("creating", 0.1);
    rc = kl_domain_create(kd_ctx(), &dc, (paused ? KL_CREATE_PAUSED : 0) |
                          kd_xlconf_create_flags(), &domid);
    kl_domain_config_dispose(&dc);
    if (rc < 0)
        return lfail(c, rc, "create");
    start_monitor(domid);
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    yajl_gen_map_close(c->g);
    return 0;
}

static int down(struct kd_call *c, bool reboot)
{
    long long timeout;
    bool forced = false;
    uint32_t domid;
    int rc;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if (kd_param_int(c->req->params, "timeout_ms", 0, 3600000, 30000, &timeout, c->msg,
                     sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    rc = reboot ? kl_domain_reboot(kd_ctx(), domid, (int)timeout, &forced)
                : kl_domain_shutdown(kd_ctx(), domid, (int)timeout, &forced);
    if (rc < 0)
        return lfail(c, rc, reboot ? "reboot" : "shutdown");
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_bool(c->g, "forced", forced);
    yajl_gen_map_close(c->g);
    return 0;
}

int kd_m_shutdown(struct kd_call *c) { return down(c, false); }
int kd_m_reboot(struct kd_call *c) { return down(c, true); }

static void on_progress(const kl_migrate_progress *p, void *arg)
{
    (void)arg;
    kd_task_progress(p->stop_and_copy ? "stop-and-copy" : "copying",
                     p->pages_total ? (double)p->pages_sent / (double)p->pages_total : 0);
}

int kd_m_save(struct kd_call *c)
{
    kl_migrate_opts o = { .progress = on_progress, .cancel = kd_task_cancel_flag() };
    bool live, compress, keep;
    const char *path;
    uint32_t domid;
    int fd, rc;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if (kd_param_str(c->req->params, "path", &path, true, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_bool(c->req->params, "live", false, &live, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_bool(c->req->params, "compress", false, &compress, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_bool(c->req->params, "keep_running", false, &keep, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if (path[0] != '/')
        return kd_fail(c, KD_INVALID_PARAMS, "\"path\" must be absolute");
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s: %s", path, strerror(errno));
    o.flags = (live ? KL_SAVE_LIVE : 0) | (compress ? KL_SAVE_ZLIB : 0);
    rc = kl_domain_save_ext(kd_ctx(), domid, fd, &o);
    close(fd);
    if (rc < 0) {
        kl_domain_unpause(kd_ctx(), domid);       /* a failed save leaves the domain running */
        unlink(path);
        return lfail(c, rc, "save");
    }
    if (keep)
        kl_domain_unpause(kd_ctx(), domid);
    else
        kl_domain_destroy(kd_ctx(), domid);       /* as xl save does */
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_str(c->g, "path", path);
    yajl_gen_map_close(c->g);
    return 0;
}

int kd_m_restore(struct kd_call *c)
{
    kl_domain_config dc;
    kl_diag *d = kl_diag_new();
    const char *path;
    char *json = NULL;
    unsigned iflags = 0;
    uint32_t domid;
    bool paused;
    int fd, rc;

    if (kd_param_str(c->req->params, "path", &path, true, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_bool(c->req->params, "paused", false, &paused, c->msg, sizeof(c->msg)) < 0) {
        kl_diag_free(d);
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    }
    if (!kd_ctx() || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        kl_diag_free(d);
        return kd_fail(c, kd_ctx() ? KD_INVALID_PARAMS : KD_HYPERVISOR, "%s: %s", path,
                       kd_ctx() ? strerror(errno) : "no Keel host");
    }
    kl_domain_config_init(&dc);
    rc = kl_save_image_read_header(kd_ctx(), fd, path, &json, &iflags);
    if (rc == 0 && (!json || kl_domain_config_from_json(&dc, json, d) < 0)) {
        kd_fail(c, KD_CONFIG, "%s carries no usable configuration", path);
        rc = -EINVAL;
    } else if (rc < 0)
        lfail(c, rc, "restore");
    else if (kl_xl_conf_apply_cpumask(kd_xlconf(), &dc, c->msg, sizeof(c->msg)) < 0) {
        kd_fail(c, KD_CONFIG, "%s", c->msg);          /* xl.conf's masks, as xl restore */
        rc = -EINVAL;
    }
    if (rc == 0 && (rc = kl_domain_restore_image(kd_ctx(), &dc, fd, iflags,
                                                 (paused ? KL_CREATE_PAUSED : 0) |
                                                 kd_xlconf_create_flags(), &domid)) < 0)
        lfail(c, rc, "restore");
    close(fd);
    free(json);
    kl_diag_free(d);
    kl_domain_config_dispose(&dc);
    if (rc < 0)
        return kd_err(c);
    start_monitor(domid);
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    yajl_gen_map_close(c->g);
    return 0;
}

int kd_m_migrate(struct kd_call *c)
{
    kl_migrate_opts o = { .progress = on_progress, .cancel = kd_task_cancel_flag() };
    kl_tls_opts tls = { 0 };
    const char *dest;
    bool plain;
    uint32_t domid;
    int fd, rc;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if (kd_param_str(c->req->params, "destination", &dest, true, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_bool(c->req->params, "plain", false, &plain, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(c->req->params, "tls_ca", &tls.ca_file, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(c->req->params, "tls_cert", &tls.cert_file, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(c->req->params, "tls_key", &tls.key_file, false, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if ((rc = kl_migrate_connect(kd_ctx(), dest, plain ? NULL : &tls, &fd)) < 0)
        return lfail(c, rc, "migrate: connecting");
    rc = kl_domain_migrate_send(kd_ctx(), domid, fd, fd, &o);
    kl_migrate_close(fd);
    if (rc < 0)
        return lfail(c, rc, "migrate");
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_str(c->g, "destination", dest);
    yajl_gen_map_close(c->g);
    return 0;
}

static int task_id(struct kd_call *c, uint64_t *id)
{
    long long v;

    if (kd_param_int(c->req->params, "task", 1, 1LL << 53, 0, &v, c->msg, sizeof(c->msg)) < 0 || !v)
        return kd_fail(c, KD_INVALID_PARAMS, "\"task\" must be a task id");
    *id = (uint64_t)v;
    return 0;
}

int kd_m_task_get(struct kd_call *c)
{
    uint64_t id;

    if (task_id(c, &id) < 0)
        return kd_err(c);
    if (kd_task_describe(id, c->g) < 0)
        return kd_fail(c, KD_NO_SUCH_TASK, "no task %llu", (unsigned long long)id);
    return 0;
}

int kd_m_task_list(struct kd_call *c)
{
    kd_task_list(c->g);
    return 0;
}

int kd_m_task_cancel(struct kd_call *c)
{
    uint64_t id;

    if (task_id(c, &id) < 0)
        return kd_err(c);
    if (kd_task_cancel(id) < 0)
        return kd_fail(c, KD_NO_SUCH_TASK, "no running task %llu", (unsigned long long)id);
    yajl_gen_map_open(c->g);
    kd_gen_key_bool(c->g, "cancelling", true);
    yajl_gen_map_close(c->g);
    return 0;
}
