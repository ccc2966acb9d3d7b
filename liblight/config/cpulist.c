/* cpulist.c - CPU lists as written in cpus= / cpus_soft= ("0-3,^1,all"), and the xl.cfg names
 * of the on_* actions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/kl_config.h"
#include "kl_internal.h"

static unsigned host_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);

    return n < 1 ? 1 : n > KL_BITMAP_MAX_BITS ? KL_BITMAP_MAX_BITS : (unsigned)n;
}

static int cpu_number(const char **s, unsigned *out)
{
    char *end;
    unsigned long v;

    if (**s < '0' || **s > '9')
        return -EINVAL;
    v = strtoul(*s, &end, 10);
    if (v >= KL_BITMAP_MAX_BITS)
        return -ERANGE;
    *s = end;
    *out = (unsigned)v;
    return 0;
}

/* One term: [^](all | N | N-M); sets or clears its CPUs. */
static int cpu_term(kl_bitmap *b, const char *t, const char *end, kl_diag *d, const char *whole)
{
    bool neg = *t == '^';
    unsigned lo, hi;
    const char *p = t + neg;

    if ((size_t)(end - p) == 3 && !strncmp(p, "all", 3)) {
        lo = 0;
        hi = host_cpus() - 1;
    } else if (!strncmp(p, "node", 4)) {
        kl__diag_add(d, KL_SEV_ERROR, NULL, "CPU list `%.60s': NUMA node terms are not supported",
                     whole);
        return -EINVAL;
    } else {
        int rc = cpu_number(&p, &lo);
        hi = lo;
        if (!rc && *p == '-') {
            p++;
            rc = cpu_number(&p, &hi);
        }
        if (rc || p != end || hi < lo) {
            kl__diag_add(d, KL_SEV_ERROR, NULL, "CPU list `%.60s': invalid term `%.*s'%s", whole,
                         (int)(end - t), t, rc == -ERANGE ? " (CPU number too large)" : "");
            return -EINVAL;
        }
    }
    for (unsigned c = lo; c <= hi; c++) {
        if (neg)
            kl_bitmap_reset(b, c);
        else if (kl_bitmap_set(b, c))
            return -ENOMEM;
    }
    return 0;
}

int kl_cpulist_parse(kl_bitmap *b, const char *s, kl_diag *d)
{
    kl_bitmap tmp = { 0, NULL };
    const char *t = s;
    int rc = 0;

    do {
        const char *e = strchr(t, ',');
        if (!e)
            e = t + strlen(t);
        rc = cpu_term(&tmp, t, e, d, s);
        t = *e ? e + 1 : NULL;
    } while (!rc && t);
    if (!rc && kl_bitmap_is_empty(&tmp)) {
        kl__diag_add(d, KL_SEV_ERROR, NULL, "CPU list `%.60s' selects no CPU", s);
        rc = -EINVAL;
    }
    if (rc) {
        free(tmp.map);
        return rc;
    }
    free(b->map);
    *b = tmp;
    return 0;
}

static const char *const xl_actions[] = {
    [KL_ACTION_ON_SHUTDOWN_DESTROY] = "destroy",
    [KL_ACTION_ON_SHUTDOWN_RESTART] = "restart",
    [KL_ACTION_ON_SHUTDOWN_RESTART_RENAME] = "rename-restart",
    [KL_ACTION_ON_SHUTDOWN_PRESERVE] = "preserve",
    [KL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY] = "coredump-destroy",
    [KL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART] = "coredump-restart",
    [KL_ACTION_ON_SHUTDOWN_SOFT_RESET] = "soft-reset",
};

const char *kl_action_to_xl(kl_action_on_shutdown a)
{
    return (unsigned)a < sizeof xl_actions / sizeof xl_actions[0] ? xl_actions[a] : NULL;
}

int kl_action_from_xl(const char *s, kl_action_on_shutdown *out)
{
    for (size_t i = 0; s && i < sizeof xl_actions / sizeof xl_actions[0]; i++)
        if (xl_actions[i] && !strcmp(s, xl_actions[i])) {
            *out = (kl_action_on_shutdown)i;
            return 0;
        }
    return -EINVAL;
}
