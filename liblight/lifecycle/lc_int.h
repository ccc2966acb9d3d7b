/* lc_int.h - internals of liblight's lifecycle part: the context and the store client. */
#ifndef KEEL_LC_INT_H
#define KEEL_LC_INT_H

#include <stdarg.h>
#include <stdint.h>

#include "keel/kl_light.h"

struct kl_ctx {
    kc_handle *kc;
    int xs_fd;                   /* store socket, -1 when not connected */
    uint32_t xs_req;             /* next request id */
    uint32_t exc_port;           /* VIRQ_DOM_EXC binding, valid when exc_bound */
    int exc_bound;
    char rundir[256];
    char err[512];
};

/* Record an error message and return rc (a negative errno). */
int kl__err(kl_ctx *ctx, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Store client (xenstore wire protocol over the daemon's Unix socket). */
int kl__xs_connect(kl_ctx *ctx);
void kl__xs_close(kl_ctx *ctx);
/* One request; the reply payload is malloc'd in *out (NUL-terminated beyond *outlen). */
struct kg_ring_params;
/* Publish a domain's rings (console/ and store/ ring-ref and port) and introduce its store ring
 * to the store daemon (XS_INTRODUCE). */
int kl__rings_introduce(kl_ctx *ctx, uint32_t domid, const struct kg_ring_params *r);
/* Read them back from the store (for a save); absent nodes leave zeros (no such ring). */
int kl__rings_read(kl_ctx *ctx, uint32_t domid, struct kg_ring_params *r);
void kl__rings_release(kl_ctx *ctx, uint32_t domid);
int kl__xs_request(kl_ctx *ctx, uint32_t type, uint32_t tx, const void *payload, size_t len,
                   char **out, size_t *outlen);
int kl__xs_write(kl_ctx *ctx, uint32_t tx, const char *path, const char *value);
int kl__xs_writef(kl_ctx *ctx, uint32_t tx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int kl__xs_read(kl_ctx *ctx, uint32_t tx, const char *path, char **out);
int kl__xs_rm(kl_ctx *ctx, uint32_t tx, const char *path);
int kl__xs_mkdir(kl_ctx *ctx, uint32_t tx, const char *path);
/* perms: "n0", "r5", ... as the wire's NUL-separated list, count entries. */
int kl__xs_set_perms(kl_ctx *ctx, uint32_t tx, const char *path, const char *const perms[], int n);
int kl__xs_tx_start(kl_ctx *ctx, uint32_t *tx);
int kl__xs_tx_end(kl_ctx *ctx, uint32_t tx, int commit);

/* Userdata: the domain's configuration as JSON in RUNDIR/light/. */
int kl__userdata_store(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc);
void kl__userdata_remove(kl_ctx *ctx, uint32_t domid);

/* The VIRQ_DOM_EXC port of the context (bound on first use). */
int kl__exc_port(kl_ctx *ctx, uint32_t *port);

/* Write the store nodes of a new domain. */
int kl__store_domain(kl_ctx *ctx, uint32_t domid, const kl_domain_config *dc);
int kl__store_forget(kl_ctx *ctx, uint32_t domid);

uint64_t kl__now_ms(void);

#endif
