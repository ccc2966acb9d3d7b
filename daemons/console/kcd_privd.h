/* kcd_privd.h - keel-consoled's privileged part: the supervisor of the serving process
 * (kcd_priv.c) and the resources it holds and checks for it (kcd_pres.c). */
#ifndef KCD_PRIVD_H
#define KCD_PRIVD_H

#include "keel/ctrl.h"
#include "kcd_priv.h"

struct kcd_priv_cfg {
    kc_handle *h;               /* the core connection (kcd_core_open) */
    const char *dir;            /* <rundir>/console: logs; the socket */
    const char *store;          /* the store's socket path, NULL with -n */
    int listen_fd;              /* <rundir>/console/socket */
    int exc_fd;                 /* VIRQ_DOM_EXC's eventfd, or -1 */
    char **child_argv;          /* this binary's argv plus --privsep-child=... */
};

/* Start the serving process and answer its requests until SIGTERM/SIGINT (it is stopped then)
 * or until it cannot be kept running. 0 or -errno. */
int kcd_priv_run(const struct kcd_priv_cfg *cfg);

/* What the privileged part holds: consoles (a bound port each), channels (the host end, the
 * grant-mapped ring, a bound port); kept across restarts of the serving process. */
struct kcd_pres;

int kcd_pres_new(const struct kcd_priv_cfg *cfg, struct kcd_pres **out);
void kcd_pres_free(struct kcd_pres *r);
/* A request that gets a reply: checked, done; up to 3 descriptors to pass (the caller closes
 * them after sending). Returns the reply's rc. */
int kcd_pres_answer(struct kcd_pres *r, const struct kcd_priv_req *q, struct kcd_priv_rsp *a,
                    int fds[3], int *nfds);
/* A request without a reply (close, unmap, notify): checked, done or refused (logged). */
void kcd_pres_oneway(struct kcd_pres *r, const struct kcd_priv_req *q);
/* Release what is held for domains that no longer exist (a new serving process starts). */
void kcd_pres_sweep(struct kcd_pres *r);

#endif
