/* ks_priv.c - keel-stored's privileged part: it keeps the connection to the core (ks_hv.c),
 * the listening socket and the pid file, starts the request process (fork + exec of this
 * binary with --privsep-child: a fresh address space without the core handle's memory; see
 * ks_child.c), answers its typed requests on a SOCK_SEQPACKET socketpair after checking each
 * (size and type, domid in range and never Domain-0, the domain exists, a gfn inside it, one
 * ring page and one bound port per domain, notify/unbind only on the port bound for that
 * domain, a rate limit on map and bind), and restarts it when it dies: a death by signal is
 * logged with the signal (SIGSYS: a system call outside its filter), the ports bound for it
 * are closed (the new one binds them again from the journal), and the new process serves the
 * same listening socket. A malformed message means the request process is not ours any more:
 * it is killed and replaced. Starting, restarting and stopping it: common/kprivsep.c. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "klog.h"
#include "kprivsep.h"
#include "ks_hv.h"
#include "ks_priv.h"
#include "ks_privd.h"

struct ks_pdom {
    uint64_t gfn;
    uint32_t local;
    uint8_t mapped, bound;
};

struct ks_priv {
    const struct ks_priv_cfg *cfg;
    struct kprivsep *sup;
    struct kprivsep_rate rate;  /* map and bind */
    struct ks_pdom *dom;        /* [KS_PRIV_DOMID_END] */
};

static void ks_priv_reply(struct ks_priv *p, const struct ks_priv_rsp *r, int fd)
{
    kprivsep_send(kprivsep_chan(p->sup), r, sizeof(*r), &fd, fd >= 0);
}

static int ks_priv_map(struct ks_priv *p, const struct ks_priv_req *q, struct ks_priv_rsp *r,
                       int *fd)
{
    struct ks_pdom *d = &p->dom[q->domid];
    uint32_t flags;
    int rc;

    if (d->mapped && d->gfn != q->gfn)
        return -EEXIST;
    if ((rc = ks_hv_dominfo(p->cfg->hv, q->domid, &flags)) < 0)
        return rc;
    if ((rc = ks_hv_memfd(p->cfg->hv, q->domid, fd, &r->pages)) < 0)
        return rc;
    if (q->gfn >= r->pages)
        return -EINVAL;
    d->mapped = 1;
    d->gfn = q->gfn;
    return 0;
}

static int ks_priv_bind(struct ks_priv *p, const struct ks_priv_req *q, struct ks_priv_rsp *r,
                        int *fd)
{
    struct ks_pdom *d = &p->dom[q->domid];
    int rc;

    if (!d->mapped)
        return -EPERM;          /* a store port belongs to a mapped store ring */
    if (d->bound)
        return -EEXIST;
    if (q->port == 0 || q->port >= KS_PRIV_PORT_END)
        return -EINVAL;
    if ((rc = ks_hv_bind(p->cfg->hv, q->domid, q->port, &r->local, fd)) < 0)
        return rc;
    d->bound = 1;
    d->local = r->local;
    return 0;
}

/* A request that needs a reply: check, act, answer. */
static void ks_priv_answer(struct ks_priv *p, const struct ks_priv_req *q)
{
    struct ks_priv_rsp r = { 0 };
    int fd = -1, own = -1;

    if (!p->cfg->hv)
        r.rc = -ENODEV;
    else if (q->op != KS_PRIV_DOMINFO && !kprivsep_rate_take(&p->rate))
        r.rc = -EBUSY;
    else if (q->op == KS_PRIV_MAP)
        r.rc = ks_priv_map(p, q, &r, &own);
    else if (q->op == KS_PRIV_BIND)
        r.rc = ks_priv_bind(p, q, &r, &fd);
    else
        r.rc = ks_hv_dominfo(p->cfg->hv, q->domid, &r.flags);
    if (r.rc == -EBUSY || r.rc == -EEXIST || r.rc == -EINVAL || r.rc == -EPERM)
        klog(KLOG_WARN, "priv", "domain %u: request %u (gfn %#llx, port %u) refused: %s",
             q->domid, q->op, (unsigned long long)q->gfn, q->port, strerror(-r.rc));
    ks_priv_reply(p, &r, r.rc == 0 ? (own >= 0 ? own : fd) : -1);
    if (own >= 0)
        close(own);     /* the libctrl handle keeps a port's fd; the memory fd is ours */
}

static void ks_priv_handle(struct kprivsep *sup, void *arg, const void *msg)
{
    struct ks_priv *p = arg;
    const struct ks_priv_req *q = msg;
    struct ks_pdom *d;

    p->sup = sup;

    if (q->op == KS_PRIV_READY) {
        if (!kprivsep_is_ready(sup) && p->cfg->ready_fd >= 0) {
            if (write(p->cfg->ready_fd, "R", 1) != 1)
                klog(KLOG_WARN, "priv", "readiness pipe: %s", strerror(errno));
            close(p->cfg->ready_fd);
        }
        kprivsep_ready(sup);
        return;
    }
    if (q->domid < KS_PRIV_DOMID_MIN || q->domid >= KS_PRIV_DOMID_END) {
        klog(KLOG_WARN, "priv", "request %u for domain %u refused: not a guest's domid",
             q->op, q->domid);
        if (q->op == KS_PRIV_MAP || q->op == KS_PRIV_BIND || q->op == KS_PRIV_DOMINFO)
            ks_priv_reply(p, &(struct ks_priv_rsp){ .rc = -EINVAL }, -1);
        return;
    }
    d = &p->dom[q->domid];
    switch (q->op) {
    case KS_PRIV_MAP: case KS_PRIV_BIND: case KS_PRIV_DOMINFO:
        ks_priv_answer(p, q);
        break;
    case KS_PRIV_UNMAP:
        d->mapped = 0;
        break;
    case KS_PRIV_NOTIFY: case KS_PRIV_UNBIND:
        if (!d->bound || d->local != q->port) {
            klog(KLOG_WARN, "priv", "domain %u: %s of port %u refused: not its store port",
                 q->domid, q->op == KS_PRIV_NOTIFY ? "notify" : "unbind", q->port);
            break;
        }
        if (q->op == KS_PRIV_NOTIFY) {
            ks_hv_notify(p->cfg->hv, q->domid, q->port);
        } else {
            ks_hv_unbind(p->cfg->hv, q->domid, q->port);
            d->bound = 0;
        }
        break;
    default:
        kprivsep_kill(sup, "unknown request type");
    }
}

/* The request process is gone: the ports bound for it are closed. */
static void ks_priv_gone(void *arg)
{
    struct ks_priv *p = arg;

    for (uint32_t id = 0; id < KS_PRIV_DOMID_END; id++) {
        if (p->dom[id].bound)
            ks_hv_unbind(p->cfg->hv, id, p->dom[id].local);
        memset(&p->dom[id], 0, sizeof(p->dom[id]));
    }
}

int ks_priv_run(const struct ks_priv_cfg *cfg)
{
    struct ks_priv p = { .cfg = cfg };
    int exc = cfg->hv ? ks_hv_exc_fd(cfg->hv) : -1;
    struct kprivsep_cfg sc = {
        .what = "request process", .argv = cfg->child_argv, .msg_size = sizeof(struct ks_priv_req),
        .restart_note = "(the tree comes back from the journal; socket clients reconnect)",
        .fds = { cfg->listen_fd, KPRIV_FD_IS_CHAN, exc, -1 },
        .arg = &p, .msg = ks_priv_handle, .gone = ks_priv_gone,
    };
    int rc;

    if (!(p.dom = calloc(KS_PRIV_DOMID_END, sizeof(*p.dom))))
        return -ENOMEM;
    kprivsep_rate_init(&p.rate, KS_PRIV_BURST, KS_PRIV_RATE);
    rc = kprivsep_run(&sc);
    free(p.dom);
    return rc;
}
