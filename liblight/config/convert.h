/* convert.h - internals of the xl.cfg to kl_domain_config conversion. */
#ifndef KEEL_CONVERT_H
#define KEEL_CONVERT_H

#include "cfg_int.h"
#include "keel/kl_config.h"

enum kl__key_class { KL_KEY_KEEL, KL_KEY_XEN_ONLY, KL_KEY_UNKNOWN };
enum kl__key_class kl__key_class(const char *key);

struct kl__conv {
    const kl_cfg *cfg;
    kl_domain_config *dc;
    unsigned flags;
    kl_diag *d;
    int errors;
};

/* Diagnostics at the value of key (or at the file when the key is absent). */
void kl__conv_err(struct kl__conv *cv, const char *key, const kl_cfg_value *at,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void kl__conv_warn(struct kl__conv *cv, const char *key, const kl_cfg_value *at,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 1 if present and valid, 0 if absent, -1 if invalid (counted). */
int kl__conv_str(struct kl__conv *cv, const char *key, const char **out);
int kl__conv_num(struct kl__conv *cv, const char *key, long long min, long long max,
                 long long *out);

void kl__conv_devices(struct kl__conv *cv);
void kl__conv_cpus(struct kl__conv *cv);

#endif
