/* kcd_child.h - keel-consoled's serving process (kcd_child.c): confined, unprivileged, it reads
 * the guests' rings, parses store replies and serves the console socket; what needs the core
 * or the file system goes to the privileged part (kcd_priv.c) as checked requests. */
#ifndef KCD_CHILD_H
#define KCD_CHILD_H

#include <sys/types.h>

struct kcd_child_cfg {
    const char *dir;        /* <rundir>/console: the empty root is mounted over it */
    const char *store;      /* the store's socket path (messages only), NULL with -n */
    uid_t uid;              /* the console user */
    gid_t gid;
    pid_t parent;           /* the privileged part */
    int exc_fd;             /* VIRQ_DOM_EXC's eventfd (KCD_PRIV_FD_EXC) or -1 */
};

/* Confine, then serve on KCD_PRIV_FD_LISTEN until SIGTERM. 0 or -errno. */
int kcd_child_run(const struct kcd_child_cfg *cc);

#endif
