/* kc_lazy.c - libkeelctrl: lazy memory of a domain (KEEL_DOMCTL_LAZY_MEM): hand the core the
 * page source of a lazy restore (an image file and where its frames lie) or of a post-copy
 * migration (a channel), and read how far the fill is. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "kc_private.h"

int kc_lazy_attach_file(kc_handle *h, uint32_t domid, int fd, const struct keel_lazy_run *runs,
                        uint32_t nr_runs)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_LAZY_MEM, .domain = domid };
    long rc;

    if (nr_runs > KEEL_LAZY_MAX_RUNS)
        return (int)kc_fail(-E2BIG, "domain %u: %u runs of frames, at most %d", domid, nr_runs,
                            KEEL_LAZY_MAX_RUNS);
    dc.u.lazy.op = KEEL_LAZY_ATTACH_FILE;
    dc.u.lazy.fd = fd;
    dc.u.lazy.nr_runs = nr_runs;
    rc = kc_domctl(h, &dc, runs, (size_t)nr_runs * sizeof(*runs), NULL, 0, NULL, NULL, 0, NULL);
    return rc < 0 ? (int)kc_fail(rc, "domain %u: giving the core its lazy memory source (file)",
                                 domid) : 0;
}

int kc_lazy_attach_channel(kc_handle *h, uint32_t domid, int sock)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_LAZY_MEM, .domain = domid };
    long rc;

    dc.u.lazy.op = KEEL_LAZY_ATTACH_CHANNEL;
    dc.u.lazy.fd = sock;
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    return rc < 0 ? (int)kc_fail(rc, "domain %u: giving the core its lazy memory source "
                                 "(channel)", domid) : 0;
}

int kc_lazy_status(kc_handle *h, uint32_t domid, struct keel_domctl_lazy_mem *st)
{
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_LAZY_MEM, .domain = domid };
    long rc;

    dc.u.lazy.op = KEEL_LAZY_STATUS;
    rc = kc_domctl(h, &dc, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    if (rc < 0)
        return (int)kc_fail(rc, "domain %u: lazy memory status", domid);
    *st = dc.u.lazy;
    return 0;
}
