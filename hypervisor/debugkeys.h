/* debugkeys.h - the core's debug keys and runtime parameters (xl debug-keys, xl set-parameters). */
#ifndef KEEL_HV_DEBUGKEYS_H
#define KEEL_HV_DEBUGKEYS_H

#include "hv.h"

/* KEEL_SYSCTL_DEBUG_KEYS: run each key's handler (output to the console ring). */
long hv_sysctl_debug_keys(struct hv_caller *c, const struct keel_sysctl_string *k);
/* KEEL_SYSCTL_SET_PARAMETER: "name=value ..."; -EINVAL (reason in the ring) on any bad one. */
long hv_sysctl_set_parameter(struct hv_caller *c, const struct keel_sysctl_string *p);

#endif
