/* remus.c - Remus: a running domain checkpointed continuously to a backup (kl_domain_remus_send,
 * kg_save with checkpoint_ms, in xl's image format) and the backup's side, which keeps the last
 * complete checkpoint and fails over to it when the stream breaks off (kl_domain_remus_receive,
 * kg_restore through kl_domain_restore_image; xl.conf's affinity masks and claim_mode as for
 * a migration). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/guest.h"
#include "keel/kl_xlconf.h"
#include "klog.h"
#include "mig_int.h"
#include "remus_dev.h"
#include "stream/kg_stream.h"

static const char banner[] = "xl migration receiver ready, send binary domain data.\n";

static int wait_banner(kl_ctx *ctx, int fd, volatile int *cancel)
{
    char buf[sizeof(banner) - 1];
    int rc = mig_read_exact(fd, buf, sizeof(buf), 30000, cancel);

    if (rc < 0)
        return kl__err(ctx, rc, "remus: no answer from the backup: %s", strerror(-rc));
    if (memcmp(buf, banner, sizeof(buf)))
        return kl__err(ctx, -EPROTO, "remus: the backup did not answer as xl migrate-receive -r");
    return 0;
}

/* The backup is lost while the domain runs here: the fencing command decides whether it runs
 * on (released output) or is destroyed (docs/remus.md, split-brain). 1: it runs on. */
static int fence(kl_ctx *ctx, uint32_t domid)
{
    const char *cmd = getenv("KEEL_REMUS_FENCE");
    char name[KL_DOMNAME_MAX + 1] = "", id[16];
    kl_dominfo info;
    pid_t pid;
    int st = 1;

    if (!cmd || !*cmd)
        return 1;                    /* Xen's behaviour: the primary resumes unprotected */
    if (kl_domain_info(ctx, domid, &info) == 0)
        snprintf(name, sizeof(name), "%s", info.name);
    snprintf(id, sizeof(id), "%u", domid);
    if ((pid = fork()) == 0) {
        execl("/bin/sh", "sh", "-c", cmd, "keel-remus-fence", name, id, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        klog(KLOG_WARN, "light", "remus: domain %u: backup lost; the fencing command lets it "
             "run on here", domid);
        return 1;
    }
    klog(KLOG_WARN, "light", "remus: domain %u: backup lost and the fencing command refused: "
         "destroying it here (its held output is dropped)", domid);
    kl_domain_destroy(ctx, domid);
    return 0;
}

/* A checkpoint's devices: the hub's backends, then the domain's vTPMs. Each vTPM is exported
 * (frozen, its command in flight finished) while the guest is paused, before its memory is
 * read, so its state and the guest's pages (the tpmif page included) are of one moment; the
 * states travel as EMULATOR_CONTEXT records between CHECKPOINT and CHECKPOINT_END, which the
 * backup commits with the checkpoint's memory; the vTPMs thaw once the guest runs again. */
struct remus_cp {
    struct kl__remus_hub *hub;
    kl_ctx *ctx;
    uint32_t domid;
    uint32_t *vtpm;                  /* the vtpms' devids when protection began */
    int nvtpm, frozen;
    struct kg_emu_records emu;
};

static int remus_cp(void *arg, enum kg_cp_phase phase, uint32_t n, struct kg_stream_writer *w)
{
    struct remus_cp *c = arg;
    int rc;

    rc = kl__remus_hub_checkpoint(c->hub, phase, n, w);
    if (phase == KG_CP_RESUMED && c->frozen) {      /* after the hub timed the pause */
        kl__vtpms_thaw(c->ctx, c->domid);
        c->frozen = 0;
    }
    if (rc < 0 || phase != KG_CP_PAUSED || c->nvtpm <= 0)
        return rc;
    kg_emu_records_free(&c->emu);
    /* thawed again on failure */
    if ((rc = kl__vtpms_export_ids(c->ctx, c->domid, c->vtpm, c->nvtpm, &c->emu)) < 0) {
        klog(KLOG_WARN, "light", "remus: domain %u: checkpoint %u: %s", c->domid, n,
             kl_ctx_error(c->ctx));
        return rc;
    }
    c->frozen = 1;
    return 0;
}

static int send_checkpoints(kl_ctx *ctx, uint32_t domid, int fd, int from_fd,
                            const kl_remus_opts *o, uint32_t *count)
{
    struct kg_save_opts so = { .format = KG_FMT_XL, .checkpoint_ms = o && o->interval_ms ?
                               o->interval_ms : 200, .cancel = o ? o->cancel : NULL };
    struct kl__remus_hub *hub = NULL;
    struct remus_cp cp = { .ctx = ctx, .domid = domid };
    struct kg_save_stats st = { 0 };
    struct kl__fe_set fe = { 0 };
    kl_domain_config dc;
    kl_dominfo info;
    char err[512] = "", *json = NULL;
    int rc;

    kl_domain_config_init(&dc);
    if ((rc = kl_domain_get_config(ctx, domid, &dc)) == 0 && !(json = kl_domain_config_to_json(&dc)))
        rc = kl__err(ctx, -ENOMEM, "domain %u: cannot write its configuration as JSON", domid);
    kl_domain_config_dispose(&dc);
    /* the frontends' keys travel in the preamble (device_fe.c): after a failover the backup's
     * backends attach to the rings the guest runs on, as after a migration. Read once: a
     * guest that reconnects a device while protected fails over with the keys of its start. */
    if (rc == 0 && (rc = kl__fe_collect(ctx, domid, &fe)) == 0 &&
        (rc = kl__fe_json_insert(&fe, &json)) < 0)
        rc = kl__err(ctx, rc, "remus: domain %u: cannot add its frontends' keys to the "
                     "configuration JSON", domid);
    kl__fe_free(&fe);
    if (rc == 0 && (rc = kl__rings_read(ctx, domid, &so.rings)) == 0)
        rc = kl__remus_hub_start(ctx, domid, o && o->no_disk, o && o->no_net, from_fd,
                                 o && o->timeout_ms ? (int)o->timeout_ms : kl__remus_timeout(),
                                 o && o->debug, &hub);
    if (rc == 0 && o && o->on_checkpoint)
        kl__remus_hub_on_checkpoint(hub, o->on_checkpoint, o->on_checkpoint_arg);
    if (rc == 0) {
        cp.hub = hub;
        cp.nvtpm = kl__vtpm_ids(ctx, domid, &cp.vtpm);
        so.xl_config = json;
        so.checkpoint = remus_cp;
        so.checkpoint_arg = &cp;
        so.emu = &cp.emu;
        rc = kg_save(ctx->kc, domid, fd, &so, &st, err, sizeof(err));
        if (cp.frozen && kl_domain_info(ctx, domid, &info) == 0)
            kl__vtpms_thaw(ctx, domid);       /* the replication ended inside a checkpoint */
    }
    kg_emu_records_free(&cp.emu);
    free(cp.vtpm);
    free(json);
    if (count)
        *count = st.checkpoints;
    if (rc == 0 || rc == -ECANCELED || !hub) {
        kl__remus_hub_stop(hub, 1);      /* stopped by the user: what is held goes out */
        if (rc == 0 || rc == -ECANCELED)
            return rc;
    }
    if (kl_domain_info(ctx, domid, &info) < 0) {
        kl__remus_hub_stop(hub, 0);
        return 0;                        /* the primary is gone: the backup takes over */
    }
    if (hub)
        kl__remus_hub_stop(hub, fence(ctx, domid));
    return kl__err(ctx, rc, "remus: the backup failed after %u checkpoints: %s", st.checkpoints,
                   err[0] ? err : strerror(-rc));
}

int kl_domain_remus_send(kl_ctx *ctx, uint32_t domid, int to_fd, int from_fd,
                         const kl_remus_opts *o, uint32_t *checkpoints)
{
    int rc;

    ctx->err[0] = 0;
    if (checkpoints)
        *checkpoints = 0;
    if (from_fd >= 0 && (rc = wait_banner(ctx, from_fd, o ? o->cancel : NULL)) < 0)
        return rc;
    return send_checkpoints(ctx, domid, to_fd, from_fd, o, checkpoints);
}

/* The heartbeat: the primary sends a checkpoint every interval; a stream silent for the
 * timeout means the primary is lost. A relay thread copies in_fd to a socket the restore reads
 * and ends it after the timeout (the restore then fails over to the last checkpoint). */
struct watch { int in, out, timeout_ms; };

static void *watch_thread(void *arg)
{
    struct watch *w = arg;
    char buf[65536];

    for (;;) {
        struct pollfd p = { w->in, POLLIN, 0 };
        ssize_t r;
        int pr = poll(&p, 1, w->timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            klog(KLOG_WARN, "light", "remus: nothing from the primary for %d ms: it is lost",
                 w->timeout_ms);
        if (pr <= 0 || (r = read(w->in, buf, sizeof(buf))) <= 0 ||
            mig_write_all(w->out, buf, (size_t)r) < 0)
            break;
    }
    shutdown(w->out, SHUT_RDWR);
    return NULL;
}

static int restore_watched(kl_ctx *ctx, kl_domain_config *dc, int in_fd, int out_fd,
                           unsigned iflags, unsigned flags, uint32_t *id)
{
    struct kl__remus_backup *b = NULL;
    struct watch w = { in_fd, -1, kl__remus_timeout() };
    pthread_t th;
    int sv[2], rc;

    if ((rc = kl__remus_backup_new(ctx, dc, out_fd, &b)) < 0)
        return rc;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        kl__remus_backup_free(b);
        return kl__err(ctx, -errno, "remus: socketpair: %s", strerror(errno));
    }
    w.out = sv[0];
    if (pthread_create(&th, NULL, watch_thread, &w)) {
        close(sv[0]);
        close(sv[1]);
        kl__remus_backup_free(b);
        return kl__err(ctx, -EAGAIN, "remus: cannot start the heartbeat thread");
    }
    ctx->restore_hooks = kl__remus_backup_hooks(b);
    rc = kl_domain_restore_image(ctx, dc, sv[1], iflags,
                                 KL_CREATE_PAUSED | (flags & KL_CREATE_CLAIM), id);
    ctx->restore_hooks = NULL;
    shutdown(sv[1], SHUT_RDWR);
    pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    kl__remus_backup_free(b);
    return rc;
}

int kl_domain_remus_receive(kl_ctx *ctx, int in_fd, int out_fd, unsigned flags, uint32_t *domid)
{
    char *json = NULL, incoming[KL_DOMNAME_MAX + 32], why[1024];
    kl_diag *d = kl_diag_new();
    kl_domain_config dc;
    unsigned iflags;
    uint32_t id;
    char *name;
    int rc;

    kl_domain_config_init(&dc);
    if ((rc = mig_write_all(out_fd, banner, sizeof(banner) - 1)) < 0) {
        rc = kl__err(ctx, rc, "remus: sending the banner: %s", strerror(-rc));
        goto out;
    }
    if ((rc = kl_save_image_read_header(ctx, in_fd, "remus stream", &json, &iflags)) < 0)
        goto out;
    if ((rc = kl_domain_config_from_json(&dc, json, d)) < 0 || !dc.c_info.name) {
        rc = kl__err(ctx, rc < 0 ? rc : -EINVAL, "remus: no usable domain configuration in the "
                     "stream");
        goto out;
    }
    /* as migrate-receive: xl.conf's masks before anything exists, the claim at creation */
    if ((rc = kl_xl_conf_apply_cpumask(ctx->xl_conf, &dc, why, sizeof(why))) < 0) {
        rc = kl__err(ctx, rc, "remus: %s (xl.conf's vm.cpumask, vm.pv.cpumask)", why);
        goto out;
    }
    name = dc.c_info.name;
    snprintf(incoming, sizeof(incoming), "%s--incoming", name);
    dc.c_info.name = incoming;
    rc = restore_watched(ctx, &dc, in_fd, out_fd, iflags, flags, &id);
    dc.c_info.name = name;
    if (rc < 0)
        goto out;
    /* failover: the domain takes its name (unless the primary still holds it on this host) */
    if (kl_domain_rename(ctx, id, name) < 0)
        klog(KLOG_WARN, "light", "remus: domain %u keeps the name %s: %s", id, incoming,
             kl_ctx_error(ctx));
    ctx->err[0] = 0;
    if (!(flags & KL_CREATE_PAUSED) && (rc = kl_domain_unpause(ctx, id)) < 0) {
        kl_domain_destroy(ctx, id);
        goto out;
    }
    *domid = id;
out:
    free(json);
    kl_diag_free(d);
    kl_domain_config_dispose(&dc);
    return rc;
}
