/* kcd_priv.c - keel-consoled's privileged part: it keeps the core connection, the console
 * socket and what kcd_pres.c / kcd_pchan.c hold, starts the serving process (fork + exec of
 * this binary with --privsep-child, a fresh address space without the core handle's memory;
 * see kcd_child.c), answers its typed requests on a SOCK_SEQPACKET socketpair after checking
 * them (size and type here, rate: opens, maps, logs and store connections at most
 * KCD_PRIV_BURST at once then KCD_PRIV_RATE per second; the rest in kcd_pres.c), forwards
 * SIGHUP (logs reopened after a rotation) and restarts it when it dies: a death by signal is
 * logged with the signal (SIGSYS: a system call outside its filter); bound ports, channel host
 * ends and rings stay held and the new process claims them again, so guests notice nothing,
 * logs go on and attached clients reconnect. A malformed message means the serving process is
 * not ours any more: it is killed and replaced. Starting, restarting and stopping it:
 * common/kprivsep.c. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kcd_privd.h"
#include "klog.h"
#include "kprivsep.h"

static const char *const kcd_op_names[KCD_PRIV_OP_END] = {
    [KCD_PRIV_READY] = "ready", [KCD_PRIV_CONS_OPEN] = "console open",
    [KCD_PRIV_CONS_CLOSE] = "console close", [KCD_PRIV_CONS_HELD] = "held consoles",
    [KCD_PRIV_LOG_OPEN] = "log open", [KCD_PRIV_CHAN_OPEN] = "channel open",
    [KCD_PRIV_CHAN_MAP] = "channel map", [KCD_PRIV_CHAN_UNMAP] = "channel unmap",
    [KCD_PRIV_CHAN_CLOSE] = "channel close", [KCD_PRIV_NOTIFY] = "notify",
    [KCD_PRIV_DOMINFO] = "domain info", [KCD_PRIV_STORE] = "store connection",
};

struct kcd_priv {
    struct kcd_pres *res;
    struct kprivsep_rate rate;
};

static void kcd_priv_answer(struct kcd_priv *p, int chan, const struct kcd_priv_req *q)
{
    struct kcd_priv_rsp r;
    int fds[3] = { -1, -1, -1 }, nfds = 0;

    memset(&r, 0, sizeof(r));
    if (q->op != KCD_PRIV_DOMINFO && q->op != KCD_PRIV_CONS_HELD &&
        !kprivsep_rate_take(&p->rate)) {
        r.rc = -EBUSY;
        snprintf(r.msg, sizeof(r.msg), "rate limit: more than %u per second", KCD_PRIV_RATE);
    } else {
        r.rc = kcd_pres_answer(p->res, q, &r, fds, &nfds);
    }
    if (r.rc < 0 && r.rc != -ESRCH && r.rc != -ENOENT && q->op != KCD_PRIV_STORE)
        klog(KLOG_WARN, "priv", "domain %u: %s (console %u, gfn %#llx, port %u) refused: %s",
             q->domid, kcd_op_names[q->op], q->cons, (unsigned long long)q->gfn, q->port,
             r.msg[0] ? r.msg : strerror(-r.rc));
    for (int i = 0; i < nfds; i++)
        if (fds[i] < 0)
            r.rc = r.rc < 0 ? r.rc : -EIO;
    kprivsep_send(chan, &r, sizeof(r), fds, r.rc < 0 ? 0 : nfds);
    for (int i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void kcd_priv_handle(struct kprivsep *sup, void *arg, const void *msg)
{
    struct kcd_priv *p = arg;
    const struct kcd_priv_req *q = msg;

    switch (q->op) {
    case KCD_PRIV_READY:
        kprivsep_ready(sup);
        break;
    case KCD_PRIV_CONS_OPEN: case KCD_PRIV_CONS_HELD: case KCD_PRIV_LOG_OPEN:
    case KCD_PRIV_CHAN_OPEN: case KCD_PRIV_CHAN_MAP: case KCD_PRIV_DOMINFO: case KCD_PRIV_STORE:
        kcd_priv_answer(p, kprivsep_chan(sup), q);
        break;
    case KCD_PRIV_CONS_CLOSE: case KCD_PRIV_CHAN_UNMAP: case KCD_PRIV_CHAN_CLOSE:
    case KCD_PRIV_NOTIFY:
        kcd_pres_oneway(p->res, q);
        break;
    default:
        kprivsep_kill(sup, "unknown request type");
    }
}

/* Before each start of the serving process: what the last one left behind is swept. */
static void kcd_priv_sweep(void *arg)
{
    kcd_pres_sweep(((struct kcd_priv *)arg)->res);
}

int kcd_priv_run(const struct kcd_priv_cfg *cfg)
{
    struct kcd_priv p = { 0 };
    struct kprivsep_cfg sc = {
        .what = "serving process", .argv = cfg->child_argv,
        .restart_note = "(consoles and channels are kept; attached clients reconnect)",
        .fds = { cfg->listen_fd, KPRIV_FD_IS_CHAN, cfg->exc_fd, -1 },
        .msg_size = sizeof(struct kcd_priv_req), .forward_hup = true,
        .arg = &p, .msg = kcd_priv_handle, .before_start = kcd_priv_sweep,
    };
    int rc;

    kprivsep_rate_init(&p.rate, KCD_PRIV_BURST, KCD_PRIV_RATE);
    if ((rc = kcd_pres_new(cfg, &p.res)) < 0)
        return -ENOMEM;
    rc = kprivsep_run(&sc);
    kcd_pres_free(p.res);
    return rc;
}
