/* test-hv-restore - the core half of save/restore: a paused domain's state and memory are copied
 * into a new domain, the old one is destroyed, and the new one carries on where the old stopped:
 * its timers, event channels, event callback and memory come back (the counter continues without
 * restarting or repeating; the dirtier's checksums hold). Blob validation refuses bad input. */
#include "config.h"

#include <errno.h>
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
static uint8_t blob[1 << 20];

/* Move a paused domain into a new one; returns the new domid or a negative errno. */
static int move_domain(int old, uint32_t vcpus, size_t *blob_len)
{
    struct keel_domctl_create cr = { .max_vcpus = vcpus, .max_mem_kb = MIB << 10 };
    uint32_t domid = 0;
    size_t len = sizeof(blob);
    uint8_t *src, *dst;
    int rc;

    if ((rc = kc_domain_getstate(host.h, (uint32_t)old, blob, &len)) < 0)
        return rc;
    *blob_len = len;
    if ((rc = kc_domain_create(host.h, &cr, &domid)) < 0)
        return rc;
    kc_populate_physmap(host.h, domid, 0, PAGES);
    src = kc_map_foreign(host.h, (uint32_t)old, PROT_READ, 0, PAGES);
    dst = kc_map_foreign(host.h, domid, PROT_READ | PROT_WRITE, 0, PAGES);
    if (!src || !dst)
        return -EIO;
    memcpy(dst, src, (size_t)PAGES << 12);
    kc_unmap_foreign(src, PAGES);
    kc_unmap_foreign(dst, PAGES);
    if ((rc = kc_domain_setstate(host.h, domid, blob, len)) < 0)
        return rc;
    kc_domain_destroy(host.h, (uint32_t)old);
    return (int)domid;
}

static void test_counter(void)
{
    int old = hvhost_boot(&host, "counter", "interval=50", 1, MIB), nd;
    size_t len = 0;
    const char *out;

    tap_ok(hvhost_wait_console(&host, (uint32_t)old, "counter 5\n", 5000), "counter counts to 5");
    tap_is_int(kc_domain_getstate(host.h, (uint32_t)old, blob, &len), -EBUSY,
               "the state of a running domain cannot be taken");
    kc_domain_pause(host.h, (uint32_t)old);
    out = hvhost_console(&host, (uint32_t)old);
    int last = 0;
    for (const char *p = out; (p = strstr(p, "counter ")); p += 8)
        if (p[8] >= '0' && p[8] <= '9')
            last = atoi(p + 8);
    nd = move_domain(old, 1, &len);
    tap_ok(nd > 0, "state and memory move into a new domain (state %zu bytes)", len);
    tap_is_int(kc_domain_unpause(host.h, (uint32_t)nd), 0, "the new domain starts");
    {
        char want[32], bad[32];
        snprintf(want, sizeof(want), "counter %d\n", last + 3);
        snprintf(bad, sizeof(bad), "counter %d\n", last);
        tap_ok(hvhost_wait_console(&host, (uint32_t)nd, want, 5000),
               "it continues counting (to %d after %d) on its restored periodic timer", last + 3, last);
        out = hvhost_console(&host, (uint32_t)nd);
        tap_ok(!strstr(out, bad) && !strstr(out, "counting every"),
               "it neither restarts nor repeats a number");
    }
    kc_domain_destroy(host.h, (uint32_t)nd);
}

static void test_dirtier(void)
{
    int old = hvhost_boot(&host, "dirtier", "size=4 rate=1000 verify=1", 1, MIB), nd;
    size_t len;

    tap_ok(hvhost_wait_console(&host, (uint32_t)old, "tick 2 ", 5000), "dirtier runs");
    kc_domain_pause(host.h, (uint32_t)old);
    nd = move_domain(old, 1, &len);
    kc_domain_unpause(host.h, (uint32_t)nd);
    tap_ok(hvhost_wait_console(&host, (uint32_t)nd, "errors 0", 5000) &&
           !strstr(hvhost_console(&host, (uint32_t)nd), "errors 1"),
           "the moved dirtier verifies its whole memory without an error");
    kc_domain_destroy(host.h, (uint32_t)nd);
}

static void test_bad_blobs(void)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = MIB << 10 };
    int src = hvhost_boot(&host, "counter", "interval=100", 1, MIB);
    uint32_t dst = 0;
    size_t len = sizeof(blob);
    struct keel_domstate_header *h = (struct keel_domstate_header *)blob;
    struct keel_domstate_vcpu *v = (struct keel_domstate_vcpu *)(h + 1);

    kc_domain_pause(host.h, (uint32_t)src);
    kc_domain_getstate(host.h, (uint32_t)src, blob, &len);
    kc_domain_create(host.h, &cr, &dst);
    h->magic ^= 1;
    tap_is_int(kc_domain_setstate(host.h, dst, blob, len), -EINVAL, "a bad magic is refused");
    h->magic ^= 1;
    tap_is_int(kc_domain_setstate(host.h, dst, blob, len - 8), -EINVAL, "a truncated state is refused");
    v->ctx.regs.rip = 0xffff800000000000ULL;
    tap_is_int(kc_domain_setstate(host.h, dst, blob, len), -EINVAL,
               "a non-canonical vCPU context is refused");
    v->ctx.regs.rip = KEEL_GUEST_BASE;
    h->nr_ports = 5000;
    tap_is_int(kc_domain_setstate(host.h, dst, blob, len), -EINVAL, "an impossible port count is refused");
    kc_domain_destroy(host.h, dst);
    kc_domain_destroy(host.h, (uint32_t)src);
}

int main(void)
{
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    test_counter();
    test_dirtier();
    test_bad_blobs();
    hvhost_stop(&host);
    return tap_done();
}
