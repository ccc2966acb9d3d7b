/* kl_flask.h - liblight's FLASK calls (xl getenforce, setenforce, loadpolicy, list -Z): the
 * core's enforcing mode, loading a compiled policy, and the label of a security id.
 * Conventions as kl_light.h: 0 (or the value asked for) on success, a negative errno on failure
 * with the core's reason in kl_ctx_error(); -ENOSYS when the core runs without FLASK. */
#ifndef KEEL_KL_FLASK_H
#define KEEL_KL_FLASK_H

#include <stddef.h>
#include <stdint.h>

#include <keel/kl_light.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 enforcing, 0 permissive. */
int kl_flask_getenforce(kl_ctx *ctx);
int kl_flask_setenforce(kl_ctx *ctx, int enforcing);
/* A compiled policy (policy/keel-policy.N) of len bytes; the core refuses more than 1 MiB. */
int kl_flask_load(kl_ctx *ctx, const void *policy, size_t len);
/* The security context (user:role:type) of sid, NUL-terminated in buf. */
int kl_flask_sid_to_context(kl_ctx *ctx, uint32_t sid, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
