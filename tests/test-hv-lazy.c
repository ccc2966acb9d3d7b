/* test-hv-lazy - the core's lazy memory (docs/lazy-restore.md) through libctrl, without a
 * guest: a domain created with KEEL_DOMCTL_CDF_LAZY_MEM waits for a source; log-dirty mode is
 * refused with a console line until every frame is in; a file source is checked (runs
 * ascending, inside the file and the domain); a foreign mapping by the toolstack completes the
 * fill, and the frames hold the file's contents (zeros where no run says otherwise); then
 * log-dirty mode is allowed; a second source, or a source for a domain not created lazy, is
 * refused. Guests touching lazy memory: tests/test-xl-lazy.sh, test-xl-postcopy.sh. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

#define MIB 16
#define PAGES (MIB * 256)

static struct hvhost host;

static int lazy_domain(void)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = MIB << 10,
                                     .flags = KEEL_DOMCTL_CDF_LAZY_MEM };
    uint32_t domid = 0;
    int rc = kc_domain_create(host.h, &cr, &domid);

    return rc < 0 ? rc : (int)domid;
}

/* A file of 64 frames, frame k filled with the byte k + 1. */
static int image(void)
{
    char path[] = "/tmp/keel-lazy-XXXXXX";
    uint8_t page[KEEL_PAGE_SIZE];
    int fd = mkstemp(path);

    if (fd < 0)
        return -1;
    unlink(path);
    for (int k = 0; k < 64; k++) {
        memset(page, k + 1, sizeof(page));
        if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
            return -1;
    }
    return fd;
}

int main(void)
{
    struct keel_domctl_lazy_mem st;
    struct keel_lazy_run runs[2] = { { 10, 32, 0 }, { 100, 8, 40 * KEEL_PAGE_SIZE } };
    struct keel_lazy_run bad[2] = { { 10, 32, 0 }, { 20, 8, 0 } };
    int d, plain, fd, rc;
    uint8_t *m;

    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    if ((d = lazy_domain()) < 0 || (plain = hvhost_create(&host, 1, MIB)) < 0 || (fd = image()) < 0)
        tap_bail("cannot create the domains or the image");
    rc = kc_lazy_status(host.h, (uint32_t)d, &st);
    tap_ok(rc == 0 && st.state == KEEL_LAZY_STATE_WAITING && st.pages_left == PAGES,
           "a lazy domain waits for its source (%u frames left)", (unsigned)st.pages_left);
    tap_ok(kc_lazy_status(host.h, (uint32_t)plain, &st) == 0 && st.state == KEEL_LAZY_STATE_NONE,
           "a domain created otherwise is not lazy");
    rc = kc_logdirty_enable(host.h, (uint32_t)d);
    tap_ok(rc == -EBUSY && hvhost_ring_has(&host, "log-dirty mode refused: its memory is still "
           "coming in"), "log-dirty mode is refused while frames are missing, with a console "
           "line (%d)", rc);
    tap_ok(kc_lazy_attach_file(host.h, (uint32_t)plain, fd, runs, 2) == -EINVAL,
           "a source for a domain not created lazy is refused");
    tap_ok(kc_lazy_attach_file(host.h, (uint32_t)d, fd, bad, 2) == -EINVAL,
           "overlapping runs are refused");
    bad[1] = (struct keel_lazy_run){ 100, 8, 60 * KEEL_PAGE_SIZE };
    tap_ok(kc_lazy_attach_file(host.h, (uint32_t)d, fd, bad, 2) == -EINVAL,
           "a run beyond the file's end is refused");
    bad[1] = (struct keel_lazy_run){ PAGES - 4, 8, 0 };
    tap_ok(kc_lazy_attach_file(host.h, (uint32_t)d, fd, bad, 2) == -EINVAL,
           "a run beyond the domain's memory is refused");
    tap_ok(kc_lazy_attach_file(host.h, (uint32_t)d, fd, runs, 2) == 0 &&
           kc_lazy_status(host.h, (uint32_t)d, &st) == 0 && st.state == KEEL_LAZY_STATE_FILLING,
           "the image is attached; the domain, still paused, is filling");
    close(fd);
    tap_ok(kc_lazy_attach_file(host.h, (uint32_t)d, -1, NULL, 0) == -EBUSY,
           "a second source is refused (EBUSY)");
    m = kc_map_foreign(host.h, (uint32_t)d, PROT_READ, 0, PAGES);
    tap_ok(m && kc_lazy_status(host.h, (uint32_t)d, &st) == 0 &&
           st.state == KEEL_LAZY_STATE_COMPLETE && st.pages_left == 0,
           "a foreign mapping of all of memory completes the fill first");
    tap_ok(m && m[10 * KEEL_PAGE_SIZE] == 1 && m[41 * KEEL_PAGE_SIZE + 5] == 32 &&
           m[100 * KEEL_PAGE_SIZE] == 41 && m[107 * KEEL_PAGE_SIZE + 4095] == 48 &&
           m[9 * KEEL_PAGE_SIZE] == 0 && m[42 * KEEL_PAGE_SIZE] == 0 &&
           m[(PAGES - 1) * (size_t)KEEL_PAGE_SIZE] == 0,
           "each frame holds what the runs say, frames in no run are zeros");
    if (m)
        munmap(m, (size_t)PAGES * KEEL_PAGE_SIZE);
    rc = kc_logdirty_enable(host.h, (uint32_t)d);
    tap_ok(rc == 0 || rc == -EOPNOTSUPP, "once every frame is in, log-dirty mode is allowed (%s)",
           rc == 0 ? "on" : "no engine on this kernel");
    if (rc == 0)
        kc_logdirty_disable(host.h, (uint32_t)d);
    /* the filler reports after it marks the fill complete: give it a moment to say so */
    for (int i = 0; i < 500 && !hvhost_ring_has(&host, "lazy memory complete: 4096 frames"); i++)
        usleep(10000);
    tap_ok(hvhost_ring_has(&host, "lazy memory complete: 4096 frames"),
           "the console ring says the fill is complete");
    tap_ok(kc_domain_destroy(host.h, (uint32_t)d) == 0 && kc_domain_destroy(host.h, (uint32_t)plain) == 0,
           "both domains are destroyed");
    hvhost_stop(&host);
    return tap_done();
}
