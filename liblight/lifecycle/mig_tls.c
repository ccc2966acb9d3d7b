/* mig_tls.c - TLS (OpenSSL, 1.2 or later) for the migration transport: the handshake with
 * certificate verification both ways, and one relay thread per connection that moves bytes
 * between the TLS connection and a socketpair whose other end the caller uses as a plain socket
 * (so kg_save and kg_restore, which take file descriptors, run over TLS unchanged). The
 * connection ends when the caller closes its end (kl_migrate_close flushes first). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "klog.h"
#include "mig_int.h"
#include "mig_tls.h"
#include "mig_tlsdl.h"                  /* last: OpenSSL through a table loaded at first use */

#define TLS_BUF (64 * 1024)

struct conn {
    struct conn *next;
    int app;                         /* the caller's end (registry key) */
    int mine;                        /* our end of the socketpair */
    int tcp;
    SSL *ssl;
    SSL_CTX *sctx;
    pthread_t thread;
    int finished;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *reg;

static void ssl_errors(char *buf, size_t len)
{
    unsigned long e;
    size_t off = 0;

    buf[0] = 0;
    while ((e = ERR_get_error()) && off + 2 < len) {
        char one[256];
        ERR_error_string_n(e, one, sizeof(one));
        off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "; " : "", one);
    }
}

static SSL_CTX *make_ctx(kl_ctx *ctx, const kl_tls_opts *t, int server, int *rc)
{
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    char e[512];

    *rc = -EINVAL;
    if (!c) {
        kl__err(ctx, -ENOMEM, "TLS: cannot create a context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (server && (!t->cert_file || !t->key_file)) {
        kl__err(ctx, -EINVAL, "TLS: the receiving side needs a certificate and a key");
        goto bad;
    }
    if (t->cert_file && SSL_CTX_use_certificate_chain_file(c, t->cert_file) != 1) {
        ssl_errors(e, sizeof(e));
        kl__err(ctx, -EINVAL, "TLS: certificate %s: %s", t->cert_file, e);
        goto bad;
    }
    if (t->key_file && (SSL_CTX_use_PrivateKey_file(c, t->key_file, SSL_FILETYPE_PEM) != 1 ||
                        SSL_CTX_check_private_key(c) != 1)) {
        ssl_errors(e, sizeof(e));
        kl__err(ctx, -EINVAL, "TLS: key %s: %s", t->key_file, e);
        goto bad;
    }
    if (t->ca_file ? SSL_CTX_load_verify_locations(c, t->ca_file, NULL) != 1
                   : (!server && SSL_CTX_set_default_verify_paths(c) != 1)) {
        ssl_errors(e, sizeof(e));
        kl__err(ctx, -EINVAL, "TLS: CA %s: %s", t->ca_file ? t->ca_file : "(system)", e);
        goto bad;
    }
    if (!server)
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    else if (t->ca_file)
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    *rc = 0;
    return c;
bad:
    SSL_CTX_free(c);
    return NULL;
}

static int set_peer_name(SSL *ssl, const char *name)
{
    unsigned char addr[16];

    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 ? 0 : -1;
    SSL_set_tlsext_host_name(ssl, name);
    return SSL_set1_host(ssl, name) == 1 ? 0 : -1;
}

static int handshake(kl_ctx *ctx, struct conn *c, int server, const char *peer)
{
    struct timeval tv = { 10, 0 };
    char e[512];
    int r;

    setsockopt(c->tcp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->tcp, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (!(c->ssl = SSL_new(c->sctx)) || SSL_set_fd(c->ssl, c->tcp) != 1 ||
        (!server && peer && set_peer_name(c->ssl, peer) < 0))
        return kl__err(ctx, -ENOMEM, "TLS: cannot set up the connection");
    r = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
    if (r != 1) {
        long v = SSL_get_verify_result(c->ssl);
        ssl_errors(e, sizeof(e));
        if (v != X509_V_OK)
            return kl__err(ctx, -EACCES, "TLS handshake with the %s failed: certificate: %s "
                           "(%s)", server ? "sender" : "receiver", X509_verify_cert_error_string(v),
                           e[0] ? e : "verification");
        return kl__err(ctx, -EACCES, "TLS handshake with the %s failed: %s",
                       server ? "sender" : "receiver", e[0] ? e : "connection closed");
    }
    tv.tv_sec = 0;
    setsockopt(c->tcp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->tcp, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    fcntl(c->tcp, F_SETFL, fcntl(c->tcp, F_GETFL) | O_NONBLOCK);
    fcntl(c->mine, F_SETFL, fcntl(c->mine, F_GETFL) | O_NONBLOCK);
    return 0;
}

struct pump {
    uint8_t a2s[TLS_BUF], s2a[TLS_BUF];
    size_t a2s_len, a2s_off, s2a_len, s2a_off;
    int app_eof, ssl_eof, shut_sent, app_shut, fatal;
    short tcp_ev, app_ev;
};

/* A TLS call that did not complete: what to wait for, or fatal. */
static int ssl_wait(struct pump *p, SSL *ssl, int r, const char *what)
{
    int e = SSL_get_error(ssl, r);
    char buf[512];

    if (e == SSL_ERROR_WANT_READ)
        p->tcp_ev |= POLLIN;
    else if (e == SSL_ERROR_WANT_WRITE)
        p->tcp_ev |= POLLOUT;
    else if (e == SSL_ERROR_ZERO_RETURN)
        p->ssl_eof = 1;
    else {
        ssl_errors(buf, sizeof(buf));
        klog(KLOG_ERROR, "migrate", "TLS %s: %s", what,
             buf[0] ? buf : errno ? strerror(errno) : "connection closed without close_notify");
        p->fatal = 1;
    }
    return 0;
}

static int app_to_ssl(struct pump *p, struct conn *c)
{
    int progress = 0;

    if (!p->a2s_len && !p->app_eof) {
        ssize_t n = recv(c->mine, p->a2s, sizeof(p->a2s), MSG_DONTWAIT);
        if (n > 0) {
            p->a2s_len = (size_t)n;
            p->a2s_off = 0;
            progress = 1;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            p->app_eof = progress = 1;
        } else {
            p->app_ev |= POLLIN;
        }
    }
    if (p->a2s_len) {
        int r = SSL_write(c->ssl, p->a2s + p->a2s_off, (int)(p->a2s_len - p->a2s_off));
        if (r > 0) {
            p->a2s_off += (size_t)r;
            if (p->a2s_off == p->a2s_len)
                p->a2s_len = 0;
            progress = 1;
        } else {
            ssl_wait(p, c->ssl, r, "write");
        }
    }
    if (p->app_eof && !p->a2s_len && !p->shut_sent) {
        SSL_shutdown(c->ssl);          /* close_notify; the peer's is not waited for */
        p->shut_sent = progress = 1;
    }
    return progress;
}

static int ssl_to_app(struct pump *p, struct conn *c)
{
    int progress = 0;

    if (!p->s2a_len && !p->ssl_eof) {
        int r = SSL_read(c->ssl, p->s2a, sizeof(p->s2a));
        if (r > 0) {
            p->s2a_len = (size_t)r;
            p->s2a_off = 0;
            progress = 1;
        } else {
            ssl_wait(p, c->ssl, r, "read");
            progress = p->ssl_eof || p->fatal;
        }
    }
    if (p->s2a_len) {
        ssize_t n = send(c->mine, p->s2a + p->s2a_off, p->s2a_len - p->s2a_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            p->s2a_off += (size_t)n;
            if (p->s2a_off == p->s2a_len)
                p->s2a_len = 0;
            progress = 1;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            p->app_ev |= POLLOUT;
        } else {
            p->s2a_len = 0;              /* the caller is gone */
            p->app_eof = progress = 1;
        }
    }
    if (p->ssl_eof && !p->s2a_len && !p->app_shut) {
        shutdown(c->mine, SHUT_WR);
        p->app_shut = progress = 1;
    }
    return progress;
}

/* After our close_notify: half-close, then read (and drop) what the peer still sends until its
 * end or LINGER_MS. Closing with unread bytes (a late TLS 1.3 session ticket, say) would make
 * the kernel reset the connection and drop what is still unsent in our send queue. */
#define LINGER_MS 5000

static void linger_close(int tcp)
{
    struct timespec t0, now;
    char buf[4096];

    shutdown(tcp, SHUT_WR);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long left;
        struct pollfd pf = { tcp, POLLIN, 0 };
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = LINGER_MS - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            return;
        ssize_t n = recv(tcp, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return;
    }
}

static void *relay_main(void *arg)
{
    struct conn *c = arg;
    struct pump *p = calloc(1, sizeof(*p));
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (p && !p->fatal && !(p->app_eof && p->shut_sent)) {
        struct pollfd pf[2];
        int progress;
        p->tcp_ev = p->app_ev = 0;
        progress = app_to_ssl(p, c);
        progress |= ssl_to_app(p, c);
        if (progress || p->fatal || (!p->s2a_len && !p->ssl_eof && SSL_pending(c->ssl) > 0))
            continue;
        pf[0] = (struct pollfd){ c->tcp, p->tcp_ev, 0 };
        pf[1] = (struct pollfd){ c->mine, p->app_ev, 0 };
        if (poll(pf, 2, 1000) < 0 && errno != EINTR)
            break;
    }
    if (p && !p->fatal && p->shut_sent)
        linger_close(c->tcp);
    free(p);
    shutdown(c->mine, SHUT_RDWR);        /* the caller sees the end */
    pthread_mutex_lock(&c->lock);
    c->finished = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void conn_free(struct conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->sctx)
        SSL_CTX_free(c->sctx);
    if (c->tcp >= 0)
        close(c->tcp);
    if (c->mine >= 0)
        close(c->mine);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

int mig_tls_start(kl_ctx *ctx, int s, const kl_tls_opts *tls, int server, const char *peer_name,
                  int *fd)
{
    struct conn *c;
    char why[256];
    int sv[2], rc;

    if ((rc = mt_dl_load(why, sizeof(why))) < 0) {     /* OpenSSL is loaded at first use */
        close(s);
        return kl__err(ctx, rc, "TLS: %s", why);
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        close(s);
        return kl__err(ctx, -ENOMEM, "TLS: out of memory");
    }
    c->tcp = s;
    c->mine = c->app = -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (!(c->sctx = make_ctx(ctx, tls, server, &rc)) || (rc = -EMFILE,
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0))
        goto bad;
    c->app = sv[0];
    c->mine = sv[1];
    if ((rc = handshake(ctx, c, server, peer_name)) < 0)
        goto bad;
    if (pthread_create(&c->thread, NULL, relay_main, c) != 0) {
        rc = kl__err(ctx, -EAGAIN, "TLS: cannot start the relay thread");
        goto bad;
    }
    pthread_mutex_lock(&reg_lock);
    c->next = reg;
    reg = c;
    pthread_mutex_unlock(&reg_lock);
    *fd = c->app;
    return 0;
bad:
    if (c->app >= 0)
        close(c->app);
    conn_free(c);
    return rc;
}

int kl_migrate_close(int fd)
{
    struct conn **pp, *c = NULL;
    struct timespec until;
    int rc = 0;

    pthread_mutex_lock(&reg_lock);
    for (pp = &reg; *pp; pp = &(*pp)->next)
        if ((*pp)->app == fd) {
            c = *pp;
            *pp = c->next;
            break;
        }
    pthread_mutex_unlock(&reg_lock);
    if (close(fd) < 0)
        rc = -errno;
    if (!c)
        return rc;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&c->lock);
    while (!c->finished)
        if (pthread_cond_timedwait(&c->cond, &c->lock, &until) == ETIMEDOUT) {
            shutdown(c->tcp, SHUT_RDWR);     /* the peer does not read: give up */
            rc = -ETIMEDOUT;
            until.tv_sec += 5;
        }
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    conn_free(c);
    return rc;
}
