/* kd_server.h - keeld's server options and entry point (kd_server.c), TLS set-up (kd_tls.c). */
#ifndef KEEL_KD_SERVER_H
#define KEEL_KD_SERVER_H

#include <event2/util.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "kd.h"
#include "kd_access.h"

struct kd_opts {
    const char *rundir, *socket, *pidfile;
    const char *listen;              /* ADDR:PORT for TCP+TLS, or NULL */
    const char *tls_cert, *tls_key, *tls_ca;
    const char *token;               /* TCP clients without a client certificate: auth.login */
    const struct kd_access *access;  /* --access: roles of groups, certificates, tokens */
    int allow_gid;                   /* also admit this group on the Unix socket (-1: none) */
    int ro_gid;                      /* admit this group read-only (-1: none) */
    size_t max_msg, max_backlog;
    unsigned max_conns, max_inflight, idle_s, workers, watch_ms;
    double rate, burst;
    int ready_fd;
};

int kd_server_run(const struct kd_opts *o);
void kd_stop_cb(evutil_socket_t sig, short what, void *arg);
SSL_CTX *kd_tls_server_ctx(const struct kd_opts *o);
void kd_sockaddr_name(const struct sockaddr *sa, char *buf, size_t len);

#endif
