/* test-hv-logdirty - log-dirty mode: the pages a running guest writes are reported once and
 * re-protected; a paused guest dirties nothing; the bitmap stays inside guest memory; errors. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

#define PAGES 4096   /* 16 MiB */

static struct hvhost host;

int main(void)
{
    static uint8_t bm[PAGES / 8];
    uint64_t n1 = 0, n2 = 0, n3 = 1, outside = 0;
    int domid;

    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    domid = hvhost_boot(&host, "dirtier", "size=4 rate=500 verify=0", 1, 16);
    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "dirtier: tick 1 ", 5000), "dirtier runs");
    tap_is_int(kc_logdirty_read(host.h, (uint32_t)domid, 1, bm, PAGES, &n1), -EINVAL,
               "reading the dirty bitmap before enabling log-dirty mode is an error");
    tap_is_int(kc_logdirty_enable(host.h, (uint32_t)domid), 0, "enable log-dirty mode");
    tap_is_int(kc_logdirty_enable(host.h, (uint32_t)domid), -EBUSY, "enabling it twice is refused");
    sleep(2);
    tap_is_int(kc_logdirty_read(host.h, (uint32_t)domid, 1, bm, PAGES, &n1), 0, "read and clear");
    tap_diag("pages dirtied in 2 s at 500 pages/s: %llu", (unsigned long long)n1);
    tap_ok(n1 >= 800 && n1 <= 1600, "about 1000 pages written in 2 s are reported (%llu)",
           (unsigned long long)n1);
    for (uint64_t p = 0; p < 256; p++)          /* below 1 MiB the guest writes nothing */
        outside += (bm[p / 8] >> (p % 8)) & 1;
    tap_is_int(outside, 0, "no page below the guest image (1 MiB) is reported dirty");
    tap_is_int(kc_logdirty_read(host.h, (uint32_t)domid, 1, bm, PAGES, &n2), 0, "read again at once");
    tap_ok(n2 < n1 / 4, "a read clears: right after it few pages are dirty (%llu)", (unsigned long long)n2);
    kc_domain_pause(host.h, (uint32_t)domid);
    kc_logdirty_read(host.h, (uint32_t)domid, 1, bm, PAGES, &n3);
    usleep(300000);
    tap_is_int(kc_logdirty_read(host.h, (uint32_t)domid, 1, bm, PAGES, &n3), 0, "read while paused");
    tap_is_int(n3, 0, "a paused guest dirties no page");
    kc_domain_unpause(host.h, (uint32_t)domid);
    usleep(1300000);                            /* the dirtier writes once a second */
    tap_is_int(kc_logdirty_read(host.h, (uint32_t)domid, 0, bm, PAGES, &n2), 0, "peek");
    tap_ok(n2 > 0, "after unpausing, writes show again (%llu)", (unsigned long long)n2);
    tap_is_int(kc_logdirty_disable(host.h, (uint32_t)domid), 0, "disable log-dirty mode");
    tap_is_int(kc_logdirty_read(host.h, (uint32_t)domid, 1, bm, PAGES, &n2), -EINVAL,
               "reading after disabling is an error");
    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "errors 0", 1000),
           "the guest's own checksums stay intact throughout");
    kc_domain_destroy(host.h, (uint32_t)domid);
    hvhost_stop(&host);
    return tap_done();
}
