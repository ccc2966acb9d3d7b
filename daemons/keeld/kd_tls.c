/* kd_tls.c - the TLS side of keeld's TCP listener: a server context with the daemon's
 * certificate and key, TLS 1.2 at least, and, when a CA is given, client certificates required
 * and verified against it; peer address names for the log. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include <openssl/err.h>

#include "kd_server.h"
#include "klog.h"

SSL_CTX *kd_tls_server_ctx(const struct kd_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char err[256];

    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (!o->tls_cert || !o->tls_key || SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    if (o->tls_ca) {
        if (SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) != 1)
            goto fail;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
fail:
    ERR_error_string_n(ERR_get_error(), err, sizeof(err));
    klog(KLOG_ERROR, "tls", "certificate %s, key %s%s%s: %s", o->tls_cert ? o->tls_cert : "(none)",
         o->tls_key ? o->tls_key : "(none)", o->tls_ca ? ", CA " : "", o->tls_ca ? o->tls_ca : "", err);
    SSL_CTX_free(ctx);
    return NULL;
}

void kd_sockaddr_name(const struct sockaddr *sa, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)sa;
        inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
        snprintf(buf, len, "tcp %s:%u", a, ntohs(s->sin_port));
    } else {
        const struct sockaddr_in6 *s = (const void *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
        snprintf(buf, len, "tcp [%s]:%u", a, ntohs(s->sin6_port));
    }
}
