/* mig_tls.h - TLS for the migration transport (mig_tls.c). */
#ifndef KEEL_MIG_TLS_H
#define KEEL_MIG_TLS_H

#include "lc_int.h"

/* Handshake on the connected TCP socket s (owned from now on: closed on failure) as client
 * (server 0, verifying peer_name) or server, then start the relay thread; *fd is the caller's
 * plaintext end. */
int mig_tls_start(kl_ctx *ctx, int s, const kl_tls_opts *tls, int server, const char *peer_name,
                  int *fd);

#endif
