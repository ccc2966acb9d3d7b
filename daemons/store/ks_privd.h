/* ks_privd.h - keel-stored's privileged part (ks_priv.c): supervises the request process and
 * performs, on its checked requests, what needs the core. */
#ifndef KS_PRIVD_H
#define KS_PRIVD_H

struct ks_hv;

struct ks_priv_cfg {
    struct ks_hv *hv;           /* NULL: no core (sockets only) */
    int listen_fd;              /* the store's listening socket */
    int ready_fd;               /* daemonizing: 'R' once the first request process serves */
    char **child_argv;          /* this binary's argv plus --privsep-child=... */
};

/* Start the request process and serve its requests until SIGTERM/SIGINT (it is stopped then)
 * or until it cannot be kept running. 0 or -errno. */
int ks_priv_run(const struct ks_priv_cfg *cfg);

#endif
