/* ks_child.h - keel-stored's request process (ks_child.c): confined, unprivileged, it parses
 * every store request and keeps the tree; privileged operations go to the parent (ks_priv.c). */
#ifndef KS_CHILD_H
#define KS_CHILD_H

#include <sys/types.h>

#include "ks_store.h"

struct ks_child_cfg {
    struct ks_config cfg;   /* statedir as the parent sees it */
    const char *jail;       /* chroot: the state directory (or the runtime's xenstored/) */
    uid_t uid;              /* the store user */
    gid_t gid;
    pid_t parent;           /* the privileged part */
    int exc_fd;             /* VIRQ_DOM_EXC eventfd (KS_PRIV_FD_EXC) or -1: no core */
};

/* Confine, load the store, serve on KS_PRIV_FD_LISTEN until SIGTERM. 0 or -errno. */
int ks_child_run(const struct ks_child_cfg *cc);

#endif
