/* kd_server.h - keeld's server options and the entry points of its two processes: the
 * privileged part (kd_server.c) and the client-facing process (kd_front.c); TLS set-up
 * (kd_tls.c). */
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
    unsigned list_cache_ms;          /* domain.list answered by the front from a snapshot at most
                                        this old (0: never; kd_front.c) */
    double rate, burst;
    int ready_fd;
    /* privilege separation (kd_front.c, kd_confine.c) */
    const char *empty_dir;           /* <rundir>/keeld/empty: the client-facing process's root */
    uid_t front_uid;                 /* its user (--user) */
    gid_t front_gid;
    char **argv;                     /* keeld's own command line: the front is started with it */
    int argc;
};

/* The descriptors a client-facing process starts with (besides 0-2). */
#define KD_FD_CHAN 3                 /* the socketpair to the privileged part */
#define KD_FD_UNIX 4                 /* the listening Unix socket */
#define KD_FD_TCP 5                  /* the listening TCP socket (with --listen) */

/* The privileged part: listeners, the client-facing process (started and restarted), workers,
 * tasks, the watcher. 0 after SIGTERM/SIGINT, or a negative errno. */
int kd_server_run(const struct kd_opts *o);
/* The client-facing process (keeld --front=FIRST_CONN_ID ...): its exit status. */
int kd_front_run(const struct kd_opts *o, uint64_t first_conn);
void kd_stop_cb(evutil_socket_t sig, short what, void *arg);
SSL_CTX *kd_tls_server_ctx(const struct kd_opts *o);
/* Plain sockets' bufferevents (kd_io.c): EV_WRITE disabled (libevent enables it by default),
 * written by kd_io_flush at the end of each callback that queued output; kd_io_drained is
 * their write callback. */
struct bufferevent;
void kd_io_flush(struct bufferevent *bev);
void kd_io_drained(struct bufferevent *bev, void *arg);
void kd_sockaddr_name(const struct sockaddr *sa, char *buf, size_t len);

#endif
