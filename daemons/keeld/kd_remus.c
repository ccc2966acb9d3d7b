/* kd_remus.c - Remus protection through keeld, primary side (docs/remus.md, issue 15):
 * domain.protect runs kl_domain_remus_send as a task that stays "running" while the domain is
 * protected (phase "checkpoint N"), domain.unprotect stops it, domain.protection reports it;
 * "domain.protection" events (started, stopped, failed) go to topic "domain". One record per
 * protected domain lives here (the last one of a domain stays after it ended, for its error).
 * The backup is reached as domain.migrate reaches its target (TCP, TLS unless "plain") or by a
 * command whose standard input and output are the stream (`ssh HOST xl migrate-receive -r`). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kd.h"
#include "kproc.h"
#include "keel/abi.h"
#include "keel/kl_light.h"
#include "keel/kl_ops.h"

#define KD_PROT_KEPT 64              /* ended records kept for their last error */
#define KD_CMD_MAX 1024

struct prot {
    struct prot *next;
    uint32_t domid;
    char name[KL_DOMNAME_MAX + 1];
    char target[KD_CMD_MAX + 32];
    unsigned interval_ms, timeout_ms;
    bool disk, net, active;
    uint64_t task;
    uint32_t checkpoints;
    struct timespec last_cp;         /* CLOCK_REALTIME of the last acknowledged checkpoint */
    char error[512];
    volatile int *cancel;            /* the task's cancel flag, while active */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER;
static struct prot *prots;           /* newest first */

/* The parameters of domain.protect, checked. Strings point into the request. */
struct pargs {
    uint32_t domid;
    const char *command, *dest;
    kl_tls_opts tls;
    bool plain, disk, net;
    long long interval, timeout;
};

static struct prot *find(uint32_t domid)
{
    for (struct prot *p = prots; p; p = p->next)
        if (p->domid == domid)
            return p;
    return NULL;
}

/* Unknown members of an object are refused: a misspelt option must not be ignored. */
static int only_keys(struct kd_call *c, yajl_val o, const char *what, const char *const *keys)
{
    for (size_t i = 0; i < o->u.object.len; i++) {
        size_t k = 0;
        while (keys[k] && strcmp(keys[k], o->u.object.keys[i]))
            k++;
        if (!keys[k])
            return kd_fail(c, KD_INVALID_PARAMS, "%s: unknown member \"%s\"", what,
                           o->u.object.keys[i]);
    }
    return 0;
}

static int parse_backup(struct kd_call *c, struct pargs *a)
{
    static const char *const keys[] = { "command", "destination", "tls_ca", "tls_cert", "tls_key",
                                        "plain", NULL };
    yajl_val b = kd_param(c->req->params, "backup");

    if (!b || !YAJL_IS_OBJECT(b))
        return kd_fail(c, KD_INVALID_PARAMS, "\"backup\" is required: {\"command\": \"...\"} or "
                       "{\"destination\": \"HOST:PORT\", \"tls_ca\", \"tls_cert\", \"tls_key\" or "
                       "\"plain\": true} as domain.migrate takes its target");
    if (only_keys(c, b, "\"backup\"", keys) < 0)
        return kd_err(c);
    if (kd_param_str(b, "command", &a->command, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(b, "destination", &a->dest, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(b, "tls_ca", &a->tls.ca_file, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(b, "tls_cert", &a->tls.cert_file, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(b, "tls_key", &a->tls.key_file, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_bool(b, "plain", false, &a->plain, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "\"backup\": %s", c->msg);
    if (!a->command == !a->dest)
        return kd_fail(c, KD_INVALID_PARAMS, "\"backup\" needs exactly one of \"command\" and "
                       "\"destination\"");
    if (a->command && (!*a->command || strlen(a->command) > KD_CMD_MAX))
        return kd_fail(c, KD_INVALID_PARAMS, "\"backup\": \"command\" must be 1..%d bytes",
                       KD_CMD_MAX);
    if (a->command && (a->plain || a->tls.ca_file || a->tls.cert_file || a->tls.key_file))
        return kd_fail(c, KD_INVALID_PARAMS, "\"backup\": \"plain\" and \"tls_*\" go with "
                       "\"destination\", not \"command\"");
    if (a->dest && (!*a->dest || strlen(a->dest) > 255 || !strchr(a->dest, ':')))
        return kd_fail(c, KD_INVALID_PARAMS, "\"backup\": \"destination\" must be HOST:PORT");
    return 0;
}

static int parse_options(struct kd_call *c, struct pargs *a)
{
    static const char *const keys[] = { "disk", "net", NULL };
    yajl_val o = kd_param(c->req->params, "options");

    a->disk = a->net = true;
    if (!o)
        return 0;
    if (!YAJL_IS_OBJECT(o))
        return kd_fail(c, KD_INVALID_PARAMS, "\"options\" must be an object {\"disk\": bool, "
                       "\"net\": bool}");
    if (only_keys(c, o, "\"options\"", keys) < 0)
        return kd_err(c);
    if (kd_param_bool(o, "disk", true, &a->disk, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_bool(o, "net", true, &a->net, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "\"options\": %s", c->msg);
    return 0;
}

/* The host must track a running domain's dirty pages (as xl remus checks). */
static int logdirty_check(struct kd_call *c)
{
    kl_hostinfo hi;

    if (kl_host_info(kd_ctx(), &hi) == 0 && !(hi.capabilities & KEEL_PHYSCAP_LOGDIRTY_MASK))
        return kd_fail(c, KD_HYPERVISOR, "protect: this host cannot track a running domain's "
                       "dirty pages (no log-dirty engine; see xl info)");
    return 0;
}

/* -EEXIST with the reply set when the domain is protected already (lock held). */
static int busy_locked(struct kd_call *c, uint32_t domid)
{
    struct prot *p = find(domid);

    if (p && p->active)
        return kd_fail(c, KD_EXISTS, "protect: domain %u (%s) is already protected (task %llu, "
                       "backup %s)", domid, p->name, (unsigned long long)p->task, p->target);
    return 0;
}

static int protected_check(struct kd_call *c, uint32_t domid)
{
    int rc;

    pthread_mutex_lock(&lock);
    rc = busy_locked(c, domid);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int parse_protect(struct kd_call *c, struct pargs *a)
{
    if (kd_domain_param(c, &a->domid) < 0)
        return kd_err(c);
    if (kd_param_int(c->req->params, "interval_ms", 10, 60000, 200, &a->interval, c->msg,
                     sizeof(c->msg)) < 0 ||
        kd_param_int(c->req->params, "timeout_ms", 10, 3600000, 0, &a->timeout, c->msg,
                     sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if (parse_backup(c, a) < 0 || parse_options(c, a) < 0)
        return kd_err(c);
    return 0;
}

/* Run before the task starts: a call that cannot work is refused in the reply itself. */
int kd_check_protect(struct kd_call *c)
{
    struct pargs a = { 0 };

    if (parse_protect(c, &a) < 0 || protected_check(c, a.domid) < 0)
        return kd_err(c);
    return logdirty_check(c);
}

static void post_event(const char *event, uint32_t domid, const char *name, const char *key,
                       const char *val, const char *reason, uint32_t checkpoints, uint64_t conn)
{
    kd_out *o = kd_out_new();
    yajl_gen g;

    if (!o)
        return;
    g = kd_out_gen(o);
    yajl_gen_map_open(g);
    kd_gen_key_str(g, "event", event);
    kd_gen_key_int(g, "domid", domid);
    kd_gen_key_str(g, "name", name);
    if (key)
        kd_gen_key_str(g, key, val);
    kd_gen_key_str(g, "reason", reason);
    if (checkpoints != UINT32_MAX)
        kd_gen_key_int(g, "checkpoints", checkpoints);
    yajl_gen_map_close(g);
    kd_event_post("domain", kd_out_text(o, NULL), conn);
    kd_out_free(o);
}

void kd_remus_event(const char *event, uint32_t domid, const char *name, const char *key,
                    const char *val, const char *reason, uint64_t conn)
{
    post_event(event, domid, name, key, val, reason, UINT32_MAX, conn);
}

/* Drop the oldest ended records beyond the limit (lock held). */
static void trim(void)
{
    size_t n = 0;

    for (struct prot **pp = &prots; *pp;) {
        struct prot *p = *pp;
        if (!p->active && ++n > KD_PROT_KEPT) {
            *pp = p->next;
            free(p);
            continue;
        }
        pp = &p->next;
    }
}

/* The record of a new protection; -EEXIST when one is active (a race past kd_check_protect). */
static struct prot *register_prot(struct kd_call *c, const struct pargs *a, const char *name)
{
    struct prot *p = calloc(1, sizeof(*p)), **pp;

    if (!p) {
        kd_fail(c, KD_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    *p = (struct prot){ .domid = a->domid, .interval_ms = (unsigned)a->interval,
                        .timeout_ms = (unsigned)a->timeout, .disk = a->disk, .net = a->net,
                        .active = true, .task = kd_task_current_id(),
                        .cancel = kd_task_cancel_flag() };
    snprintf(p->name, sizeof(p->name), "%s", name);
    if (a->command)
        snprintf(p->target, sizeof(p->target), "command: %s", a->command);
    else
        snprintf(p->target, sizeof(p->target), "%s (%s)", a->dest, a->plain ? "plain TCP" : "TLS");
    pthread_mutex_lock(&lock);
    if (busy_locked(c, a->domid) < 0) {
        pthread_mutex_unlock(&lock);
        free(p);
        return NULL;
    }
    for (pp = &prots; *pp; pp = &(*pp)->next)    /* the domain's ended record goes */
        if ((*pp)->domid == a->domid) {
            struct prot *old = *pp;
            *pp = old->next;
            free(old);
            break;
        }
    p->next = prots;
    prots = p;
    pthread_mutex_unlock(&lock);
    return p;
}

static void on_checkpoint(uint32_t n, void *arg)
{
    struct prot *p = arg;
    char phase[32];
    uint32_t count;

    (void)n;
    pthread_mutex_lock(&lock);
    count = ++p->checkpoints;
    clock_gettime(CLOCK_REALTIME, &p->last_cp);
    pthread_mutex_unlock(&lock);
    snprintf(phase, sizeof(phase), "checkpoint %u", count);
    kd_task_progress(phase, 0.5);
    if (count == 1)
        post_event("domain.protection", p->domid, p->name, "state", "started",
                   "the backup acknowledged the first checkpoint", count, 0);
}


/* The command gets 10 s to end after the stream closed, then SIGKILL. */
static void reap(pid_t pid)
{
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, NULL, WNOHANG) != 0)
            return;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int connect_backup(struct kd_call *c, const struct pargs *a, int *to, int *from,
                          pid_t *pid)
{
    int rc;

    if (a->command) {
        if ((*pid = kproc_spawn_pipes(a->command, to, from)) < 0)
            return kd_fail(c, KD_HYPERVISOR, "protect: cannot start the backup command: %s",
                           strerror(errno));
        return 0;
    }
    if ((rc = kl_migrate_connect(kd_ctx(), a->dest, a->plain ? NULL : &a->tls, to)) < 0)
        return kd_fail(c, rc == -EINVAL ? KD_INVALID_PARAMS : KD_HYPERVISOR,
                       "protect: connecting to %s: %s", a->dest, kl_ctx_error(kd_ctx()));
    *from = *to;
    return 0;
}

/* The end of a protection: the record keeps the error, the event says why. Returns the
 * checkpoints acknowledged (p may be gone once this returns). */
static uint32_t end_prot(struct prot *p, int rc, struct kd_call *c)
{
    const char *state = rc == 0 || rc == -ECANCELED ? "stopped" : "failed";
    char reason[512], name[KL_DOMNAME_MAX + 1];
    uint32_t n, domid = p->domid;

    if (rc == 0)
        snprintf(reason, sizeof(reason), "the domain is gone here: the backup takes over");
    else if (rc == -ECANCELED)
        snprintf(reason, sizeof(reason), "stopped by domain.unprotect or task.cancel: the "
                 "domain runs on here, the backup takes over its replica");
    else
        snprintf(reason, sizeof(reason), "%s", c->msg);
    pthread_mutex_lock(&lock);
    p->active = false;
    p->cancel = NULL;
    n = p->checkpoints;
    snprintf(name, sizeof(name), "%s", p->name);  /* p may go once the lock is dropped */
    if (rc < 0 && rc != -ECANCELED)
        snprintf(p->error, sizeof(p->error), "%s", c->msg);
    trim();
    pthread_cond_broadcast(&ended);
    pthread_mutex_unlock(&lock);
    post_event("domain.protection", domid, name, "state", state, reason, n, 0);
    return n;
}

static int replicate(struct kd_call *c, const struct pargs *a, struct prot *p, uint32_t *n)
{
    kl_remus_opts o = { .interval_ms = (uint32_t)a->interval, .cancel = kd_task_cancel_flag(),
                        .no_disk = !a->disk, .no_net = !a->net,
                        .timeout_ms = (uint32_t)a->timeout, .on_checkpoint = on_checkpoint,
                        .on_checkpoint_arg = p };
    int to = -1, from = -1, rc;
    pid_t pid = -1;

    if (connect_backup(c, a, &to, &from, &pid) < 0)
        return kd_err(c);
    kd_task_progress("waiting for the backup", 0);
    rc = kl_domain_remus_send(kd_ctx(), a->domid, to, from, &o, n);
    if (rc < 0 && rc != -ECANCELED)
        kd_fail(c, KD_HYPERVISOR, "protect: domain %u: %s", a->domid, kl_ctx_error(kd_ctx()));
    else if (rc == -ECANCELED)
        kd_fail(c, KD_CANCELLED, "protect: domain %u: protection stopped after %u checkpoints; "
                "the domain runs on here", a->domid, *n);
    if (a->command) {
        close(to);
        close(from);
        reap(pid);
    } else {
        kl_migrate_close(to);
    }
    return rc;
}

int kd_m_protect(struct kd_call *c)
{
    struct pargs a = { 0 };
    kl_dominfo info;
    struct prot *p;
    uint32_t n = 0, p_count;
    int rc;

    if (parse_protect(c, &a) < 0 || logdirty_check(c) < 0)
        return kd_err(c);
    if (kl_domain_info(kd_ctx(), a.domid, &info) < 0)
        return kd_fail(c, KD_NO_SUCH_DOMAIN, "protect: no domain %u", a.domid);
    if (!(p = register_prot(c, &a, info.name)))
        return kd_err(c);
    rc = replicate(c, &a, p, &n);
    p_count = end_prot(p, rc, c);
    if (rc < 0)
        return kd_err(c);
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", a.domid);
    kd_gen_key_int(c->g, "checkpoints", n > p_count ? n : p_count);
    kd_gen_key_str(c->g, "reason", "the domain is gone here: the backup takes over");
    yajl_gen_map_close(c->g);
    return 0;
}

/* domain.unprotect: the task is told to stop, then waited for (at most the interval + 10 s:
 * the sender looks at its cancel flag between checkpoints). */
int kd_m_unprotect(struct kd_call *c)
{
    struct timespec until;
    uint32_t domid;
    struct prot *p;
    uint64_t task;
    bool stopped;
    int rc = 0;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    pthread_mutex_lock(&lock);
    if (!(p = find(domid)) || !p->active) {
        pthread_mutex_unlock(&lock);
        return kd_fail(c, KD_INVALID_PARAMS, "unprotect: domain %u is not protected by this "
                       "keeld", domid);
    }
    task = p->task;
    if (p->cancel)
        *p->cancel = 1;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10 + p->interval_ms / 1000;
    while (rc == 0 && (p = find(domid)) && p->active && p->task == task)
        rc = pthread_cond_timedwait(&ended, &lock, &until);
    stopped = !(p && p->active && p->task == task);
    pthread_mutex_unlock(&lock);
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_int(c->g, "task", (long long)task);
    kd_gen_key_bool(c->g, "stopped", stopped);
    yajl_gen_map_close(c->g);
    return 0;
}

static void gen_time(yajl_gen g, const char *key, const struct timespec *t)
{
    char buf[40];
    struct tm tm;

    kd_gen_str(g, key);
    if (!t->tv_sec) {
        yajl_gen_null(g);
        return;
    }
    gmtime_r(&t->tv_sec, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03ldZ", t->tv_nsec / 1000000);
    kd_gen_str(g, buf);
}

static void describe(yajl_gen g, uint32_t domid, const char *name, const struct prot *p)
{
    yajl_gen_map_open(g);
    kd_gen_key_int(g, "domid", domid);
    kd_gen_key_str(g, "name", name);
    kd_gen_key_bool(g, "protected", p && p->active);
    if (p) {
        kd_gen_key_str(g, "backup", p->target);
        kd_gen_key_int(g, "interval_ms", p->interval_ms);
        kd_gen_key_bool(g, "disk", p->disk);
        kd_gen_key_bool(g, "net", p->net);
        kd_gen_key_int(g, "task", (long long)p->task);
        kd_gen_key_int(g, "checkpoints", p->checkpoints);
        gen_time(g, "last_checkpoint", &p->last_cp);
        kd_gen_key_str(g, "last_error", p->error[0] ? p->error : NULL);
    }
    yajl_gen_map_close(g);
}

int kd_m_protection(struct kd_call *c)
{
    kl_dominfo info;
    uint32_t domid;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if (kl_domain_info(kd_ctx(), domid, &info) < 0)
        return kd_fail(c, KD_NO_SUCH_DOMAIN, "protection: no domain %u", domid);
    pthread_mutex_lock(&lock);
    describe(c->g, domid, info.name, find(domid));
    pthread_mutex_unlock(&lock);
    return 0;
}
