/* kd_remus_recv.c - Remus protection through keeld, backup side (docs/remus.md):
 * domain.protect_receive listens on ADDR:PORT (TLS unless "plain", as xl migrate-receive
 * --listen), accepts one primary (a domain.protect with that "destination") and runs
 * kl_domain_remus_receive as a task: the replica NAME--incoming is kept paused at the last
 * complete checkpoint; when the stream ends or goes silent it takes over as NAME and runs, and
 * a "domain.failover" event {domid, name, reason} goes to topic "domain". */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kd.h"
#include "kd_xlconf.h"
#include "keel/kl_light.h"
#include "keel/kl_xlconf.h"

struct rargs {
    const char *listen;
    kl_tls_opts tls;
    bool plain, paused;
    long long accept_timeout;
};

static int parse_receive(struct kd_call *c, struct rargs *a)
{
    yajl_val p = c->req->params;

    if (kd_param_str(p, "listen", &a->listen, true, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(p, "tls_ca", &a->tls.ca_file, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(p, "tls_cert", &a->tls.cert_file, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(p, "tls_key", &a->tls.key_file, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_bool(p, "plain", false, &a->plain, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_bool(p, "paused", false, &a->paused, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_int(p, "accept_timeout_ms", 0, 86400000, 0, &a->accept_timeout, c->msg,
                     sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if (!*a->listen || strlen(a->listen) > 255 || !strchr(a->listen, ':'))
        return kd_fail(c, KD_INVALID_PARAMS, "\"listen\" must be ADDR:PORT");
    if (!a->plain && (!a->tls.cert_file || !a->tls.key_file))
        return kd_fail(c, KD_INVALID_PARAMS, "\"listen\" needs \"tls_cert\" and \"tls_key\" "
                       "(or \"plain\": true), as xl migrate-receive --listen");
    return 0;
}

int kd_check_protect_receive(struct kd_call *c)
{
    struct rargs a = { 0 };

    if (parse_receive(c, &a) < 0)
        return kd_err(c);
    if (!kd_ctx())
        return kd_fail(c, KD_HYPERVISOR, "no Keel host in %s", kd_rundir);
    return 0;
}

/* One primary: accept in short rounds so task.cancel (and accept_timeout_ms) are honoured. */
static int accept_primary(struct kd_call *c, const struct rargs *a, int *fd)
{
    volatile int *cancel = kd_task_cancel_flag();
    long long waited = 0;
    int lfd, rc;

    if ((rc = kl_migrate_listen(kd_ctx(), a->listen, &lfd)) < 0)
        return kd_fail(c, rc == -EINVAL ? KD_INVALID_PARAMS : KD_HYPERVISOR,
                       "protect_receive: %s", kl_ctx_error(kd_ctx()));
    kd_task_progress("listening", 0);
    for (;;) {
        rc = kl_migrate_accept(kd_ctx(), lfd, a->plain ? NULL : &a->tls, 250, fd);
        if (rc != -ETIMEDOUT && rc != -EAGAIN)
            break;
        waited += 250;
        if ((cancel && *cancel) || (a->accept_timeout && waited >= a->accept_timeout))
            break;
    }
    close(lfd);
    if (rc == 0)
        return 0;
    if (cancel && *cancel)
        return kd_fail(c, KD_CANCELLED, "protect_receive: cancelled before a primary connected");
    if (rc == -ETIMEDOUT || rc == -EAGAIN)
        return kd_fail(c, KD_HYPERVISOR, "protect_receive: no primary connected to %s within "
                       "%lld ms", a->listen, a->accept_timeout);
    return kd_fail(c, KD_HYPERVISOR, "protect_receive: %s", kl_ctx_error(kd_ctx()));
}

/* Why the backup took over: the stream's state once the receiver let go of it. */
static void failover_reason(int fd, char *buf, size_t len)
{
    struct pollfd p = { fd, POLLIN, 0 };
    const char *t = getenv("KEEL_REMUS_TIMEOUT_MS");
    char b;
    ssize_t r;

    if (poll(&p, 1, 0) <= 0) {
        snprintf(buf, len, "nothing from the primary for %s ms (the heartbeat timeout)",
                 t && *t ? t : "1000");
        return;
    }
    if ((r = read(fd, &b, 1)) == 0)
        snprintf(buf, len, "the primary closed the stream (it died, was destroyed, or "
                 "protection was stopped)");
    else if (r < 0)
        snprintf(buf, len, "the stream from the primary broke: %s", strerror(errno));
    else
        snprintf(buf, len, "the stream from the primary ended");
}

int kd_m_protect_receive(struct kd_call *c)
{
    struct rargs a = { 0 };
    char reason[200], name[KL_DOMNAME_MAX + 1] = "";
    kl_dominfo info;
    uint32_t domid;
    int fd, rc;

    if (parse_receive(c, &a) < 0 || accept_primary(c, &a, &fd) < 0)
        return kd_err(c);
    kd_task_progress("replica: receiving checkpoints", 0.5);
    kl_ctx_set_xl_conf(kd_ctx(), kd_xlconf());   /* its affinity masks, as xl's -r */
    rc = kl_domain_remus_receive(kd_ctx(), fd, fd, (a.paused ? KL_CREATE_PAUSED : 0) |
                                 kd_xlconf_create_flags(), &domid);
    if (rc == 0)
        failover_reason(fd, reason, sizeof(reason));
    kl_migrate_close(fd);
    if (rc < 0)
        return kd_fail(c, KD_HYPERVISOR, "protect_receive: %s", kl_ctx_error(kd_ctx()));
    if (kl_domain_info(kd_ctx(), domid, &info) == 0)
        snprintf(name, sizeof(name), "%s", info.name);
    kd_remus_event("domain.failover", domid, name, NULL, NULL, reason, c->conn_id);
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_str(c->g, "name", name);
    kd_gen_key_str(c->g, "reason", reason);
    yajl_gen_map_close(c->g);
    return 0;
}
