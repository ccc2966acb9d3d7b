/* logdirty_probe.c - which log-dirty engine this core uses. At start the core asks the kernel
 * what userfaultfd offers (UFFDIO_API with no features returns them all) and whether PAGEMAP_SCAN
 * exists; "async" needs UFFD_FEATURE_WP_ASYNC + PAGEMAP_SCAN (Linux 6.7+), "sync" needs
 * UFFD_FEATURE_WP_HUGETLBFS_SHMEM (Linux 5.19+). auto takes async, else sync, else none;
 * --logdirty / $KEEL_LOGDIRTY force one (none turns log-dirty mode off). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hv.h"
#include "klog.h"
#include "logdirty.h"

#define F_WP_SHMEM (1ULL << 12)        /* UFFD_FEATURE_WP_HUGETLBFS_SHMEM */
#define F_WP_UNPOPULATED (1ULL << 13)  /* UFFD_FEATURE_WP_UNPOPULATED */
#define F_WP_ASYNC (1ULL << 15)        /* UFFD_FEATURE_WP_ASYNC */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static enum hv_ld_engine engine;
static uint32_t avail;                 /* 1 << HV_LD_ASYNC | 1 << HV_LD_SYNC */

const char *hv_logdirty_engine_name(enum hv_ld_engine e)
{
    return e == HV_LD_ASYNC ? "async" : e == HV_LD_SYNC ? "sync" : "none";
}

enum hv_ld_engine hv_logdirty_engine(void)
{
    return engine;
}

uint32_t hv_logdirty_stub_features(void)
{
    if (engine == HV_LD_ASYNC)
        return (uint32_t)(F_WP_ASYNC | F_WP_UNPOPULATED | F_WP_SHMEM);
    return engine == HV_LD_SYNC ? (uint32_t)F_WP_SHMEM : 0;
}

uint32_t hv_logdirty_physcaps(void)
{
    return (avail & (1u << HV_LD_ASYNC) ? KEEL_PHYSCAP_LOGDIRTY_ASYNC : 0) |
           (avail & (1u << HV_LD_SYNC) ? KEEL_PHYSCAP_LOGDIRTY_SYNC : 0) |
           ((uint32_t)engine << KEEL_PHYSCAP_LOGDIRTY_SHIFT);
}

/* The userfaultfd features this kernel has (0 with *why set if none at all). */
static uint64_t uffd_features(const char **why)
{
    struct uffdio_api api = { .api = UFFD_API, .features = 0 };
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

    if (fd < 0) {
        *why = errno == ENOSYS ? "userfaultfd (CONFIG_USERFAULTFD)" : "a usable userfaultfd";
        return 0;
    }
    if (ioctl((int)fd, UFFDIO_API, &api) < 0) {
        *why = "the userfaultfd API handshake";
        api.features = 0;
    }
    close((int)fd);
    return api.features;
}

static void probe(char *lacks, size_t size)
{
    const char *why = NULL;
    uint64_t f = uffd_features(&why);
    int scan = hv_ld_async_probe();

    if ((f & F_WP_SHMEM))
        avail |= 1u << HV_LD_SYNC;
    if ((f & F_WP_SHMEM) && (f & F_WP_ASYNC) && scan == 0)
        avail |= 1u << HV_LD_ASYNC;
    snprintf(lacks, size, "%s%s%s%s", why ? why : "",
             !why && !(f & F_WP_SHMEM) ? "UFFD_FEATURE_WP_HUGETLBFS_SHMEM (Linux 5.19) " : "",
             !why && !(f & F_WP_ASYNC) ? "UFFD_FEATURE_WP_ASYNC (Linux 6.7) " : "",
             scan < 0 ? "PAGEMAP_SCAN (Linux 6.7)" : "");
}

int hv_logdirty_init(const char *want)
{
    char lacks[160];
    enum hv_ld_engine e;

    if (!want || !*want)
        want = getenv("KEEL_LOGDIRTY");
    if (!want || !*want)
        want = "auto";
    probe(lacks, sizeof(lacks));
    if (!strcmp(want, "auto"))
        e = avail & (1u << HV_LD_ASYNC) ? HV_LD_ASYNC : avail & (1u << HV_LD_SYNC) ? HV_LD_SYNC
                                                                               : HV_LD_NONE;
    else if (!strcmp(want, "async"))
        e = HV_LD_ASYNC;
    else if (!strcmp(want, "sync"))
        e = HV_LD_SYNC;
    else if (!strcmp(want, "none"))
        e = HV_LD_NONE;
    else {
        klog_err("logdirty", "unknown log-dirty engine '%s' (auto, async, sync or none)", want);
        return -EINVAL;
    }
    if (e != HV_LD_NONE && !(avail & (1u << e))) {
        klog_err("logdirty", "log-dirty engine '%s' asked for, but the kernel lacks %s", want,
                 lacks);
        return -EOPNOTSUPP;
    }
    engine = e;
    if (e == HV_LD_NONE && strcmp(want, "none"))
        hv_printk("log-dirty mode unavailable (no live migration, live save or Remus): the "
                  "kernel lacks %s", lacks);
    else
        hv_printk("log-dirty engine: %s%s%s", hv_logdirty_engine_name(e),
                  *lacks && e != HV_LD_NONE ? "; the kernel lacks " : "",
                  *lacks && e != HV_LD_NONE ? lacks : "");
    return 0;
}
