/* kl_vcpu.h - liblight's calls for what xl and keeld used to take from libkeelctrl directly:
 * vCPU affinity (xl vcpu-list/vcpu-pin, keeld domain.vcpu_list/vcpu_pin) and a domain's
 * console output kept by the core (keeld domain.console, xl console) and the word that more of
 * it was written. Conventions as kl_light.h: 0 on success, a negative errno on failure with a
 * message from kl_ctx_error(). */
#ifndef KEEL_KL_VCPU_H
#define KEEL_KL_VCPU_H

#include <stddef.h>
#include <stdint.h>

#include <keel/kl_light.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CPU maps are KEEL_CPUMAP_WORDS 64-bit words, bit N = physical CPU N. */
int kl_vcpu_get_affinity(kl_ctx *ctx, uint32_t domid, uint32_t vcpu,
                         uint64_t hard[KEEL_CPUMAP_WORDS], uint64_t soft[KEEL_CPUMAP_WORDS]);
/* Pin a vCPU: hard is where it may run, soft where it prefers to (either may not be empty). */
int kl_vcpu_set_affinity(kl_ctx *ctx, uint32_t domid, uint32_t vcpu,
                         const uint64_t hard[KEEL_CPUMAP_WORDS],
                         const uint64_t soft[KEEL_CPUMAP_WORDS]);

/* A domain's console output as the core keeps it, from *offset: up to *len bytes into buf,
 * *len set to what was read, *offset advanced past it, *end the offset of the newest byte. */
int kl_domain_console_read(kl_ctx *ctx, uint32_t domid, uint64_t *offset, char *buf, size_t *len,
                           uint64_t *end);

/* Word of new console output (the core's VIRQ_CON_RING, raised when any domain writes to its
 * console): kl_console_notify_fd polls readable after a write; kl_console_notify_ack clears it
 * (then read the output with kl_domain_console_read, so that no write goes unnoticed). */
typedef struct kl_console_notify kl_console_notify;
int kl_console_notify_open(kl_ctx *ctx, kl_console_notify **out);
int kl_console_notify_fd(const kl_console_notify *n);
void kl_console_notify_ack(kl_console_notify *n);
/* Unbinds; NULL is allowed. Close it before the context. */
void kl_console_notify_close(kl_console_notify *n);

#ifdef __cplusplus
}
#endif
#endif
