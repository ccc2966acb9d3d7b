/* kc_debug.c - the core's debug keys and runtime parameters (KEEL_SYSCTL_DEBUG_KEYS,
 * KEEL_SYSCTL_SET_PARAMETER), for xl debug-keys and xl set-parameters. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "kc_private.h"

static int string_sysctl(kc_handle *h, uint32_t cmd, const char *s, const char *what)
{
    struct keel_sysctl sc = { .cmd = cmd };
    size_t len = strlen(s);
    long rc;

    if (len > KEEL_SYSCTL_STRING_MAX)
        return (int)kc_fail(-E2BIG, "%s: longer than %d bytes", what, KEEL_SYSCTL_STRING_MAX);
    sc.u.debug_keys.len = (uint32_t)len;        /* debug_keys and set_parameter: one type */
    memcpy(sc.u.debug_keys.s, s, len);
    if ((rc = kc_sysctl(h, &sc, NULL, 0, NULL)) < 0)
        return (int)kc_fail(rc, "%s", what);
    return 0;
}

int kc_debug_keys(kc_handle *h, const char *keys)
{
    return string_sysctl(h, KEEL_SYSCTL_DEBUG_KEYS, keys, "debug keys");
}

int kc_set_parameters(kc_handle *h, const char *params)
{
    return string_sysctl(h, KEEL_SYSCTL_SET_PARAMETER, params, "set parameters");
}
