/* test-hv-lifecycle - a domain's life on a real hypervisor core through libkeelctrl: create,
 * run, console, pause/unpause, vCPU context, memory, shutdown, destroy leaves nothing behind. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

static struct hvhost host;

static void test_hello(void)
{
    struct keel_domctl_info info;
    int domid = hvhost_boot(&host, "hello", "greeting=yes", 1, 16);

    tap_ok(domid > 0, "hello domain created and started (domid %d)", domid);
    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "Hello from Keel", 5000),
           "hello prints its greeting on the console");
    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "command line: greeting=yes", 5000),
           "hello sees the command line given by the builder");
    tap_is_int(hvhost_wait_shutdown(&host, (uint32_t)domid, 5000), KEEL_SHUTDOWN_POWEROFF,
               "hello shuts down with reason poweroff");
    tap_ok(kc_domain_getinfo(host.h, (uint32_t)domid, &info) == 0 && info.pid > 0,
           "a shut-down domain is still listed until destroyed");
    tap_is_int(kc_domain_destroy(host.h, (uint32_t)domid), 0, "destroy succeeds");
    tap_is_int(kc_domain_getinfo(host.h, (uint32_t)domid, &info), -ESRCH,
               "a destroyed domain is gone");
    tap_ok(kill(info.pid, 0) < 0 && errno == ESRCH, "destroy leaves no domain process");
}

static int console_len(uint32_t domid)
{
    return (int)strlen(hvhost_console(&host, domid));
}

static void test_pause(void)
{
    struct keel_domctl_info info;
    struct keel_vcpu_context ctx, bad;
    struct keel_domctl_vcpuinfo vi;
    int domid = hvhost_boot(&host, "counter", "interval=20", 1, 16), a, b;

    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "counter 3", 3000), "counter counts");
    tap_is_int(kc_domain_pause(host.h, (uint32_t)domid), 0, "pause succeeds");
    kc_domain_getinfo(host.h, (uint32_t)domid, &info);
    tap_ok(info.flags & KEEL_DOMINF_PAUSED, "paused domain is flagged paused");
    usleep(50000);
    a = console_len((uint32_t)domid);
    usleep(300000);
    b = console_len((uint32_t)domid);
    tap_ok(a == b, "a paused domain makes no progress (%d -> %d bytes)", a, b);
    tap_is_int(kc_vcpu_getcontext(host.h, (uint32_t)domid, 0, &ctx), 0, "get vCPU context");
    tap_ok((ctx.regs.rip >= KEEL_GUEST_BASE && ctx.regs.rip < KEEL_GUEST_BASE + (16 << 20)) ||
           (ctx.regs.rip >= KEEL_STUB_BASE && ctx.regs.rip < KEEL_STUB_BASE + KEEL_STUB_SIZE),
           "vCPU context rip %#llx is in guest code or at the hypercall entry",
           (unsigned long long)ctx.regs.rip);
    tap_ok(ctx.regs.rsp >= KEEL_GUEST_BASE && ctx.regs.rsp < KEEL_GUEST_BASE + (16 << 20),
           "vCPU context rsp is in guest memory");
    tap_ok(ctx.regs.gs_base >= KEEL_GUEST_BASE, "vCPU context carries the guest's gs base");
    bad = ctx;
    bad.regs.rip = 0xffff800000001000ULL;
    tap_is_int(kc_vcpu_setcontext(host.h, (uint32_t)domid, 0, &bad), -EINVAL,
               "a context with a non-canonical rip is refused");
    tap_is_int(kc_vcpu_setcontext(host.h, (uint32_t)domid, 0, &ctx), 0,
               "setting back the saved context of a paused vCPU succeeds");
    tap_is_int(kc_vcpu_getinfo(host.h, (uint32_t)domid, 0, &vi), 0, "vCPU info");
    tap_ok(vi.online && !vi.running, "paused vCPU is online and not running");
    tap_is_int(kc_domain_unpause(host.h, (uint32_t)domid), 0, "unpause succeeds");
    usleep(300000);
    tap_ok(console_len((uint32_t)domid) > b, "after unpause the counter continues");
    tap_is_int(kc_domain_unpause(host.h, (uint32_t)domid), -EINVAL,
               "unpausing a running domain is an error");
    kc_domain_destroy(host.h, (uint32_t)domid);
}

/* A pause right after the first unpause may reach a vCPU thread that has announced it is ready
 * but not yet gone to wait for its start: it once took that stub context for the guest's and,
 * unpaused, never ran the guest (1 in 5 creates under load, found through kl-example). */
static void test_pause_at_start(void)
{
    int silent = 0, rounds = 40;

    for (int i = 0; i < rounds; i++) {
        int domid = hvhost_boot(&host, "counter", "interval=20", 1, 16);
        if (domid < 0) {
            silent++;
            continue;
        }
        kc_domain_pause(host.h, (uint32_t)domid);
        kc_domain_unpause(host.h, (uint32_t)domid);
        silent += !hvhost_wait_console(&host, (uint32_t)domid, "counter 1", 5000);
        kc_domain_destroy(host.h, (uint32_t)domid);
    }
    tap_ok(silent == 0, "%d domains paused and unpaused at once after their start all run "
           "(%d silent)", rounds, silent);
}

static void test_memory(void)
{
    int domid = hvhost_boot_paused(&host, "hello", "", 1, 16);
    uint8_t *m;
    long cur;

    cur = kc_current_reservation(host.h, (uint32_t)domid);
    tap_is_int(cur, 4096, "builder populated all 4096 frames of a 16 MiB domain");
    tap_is_int(kc_maximum_reservation(host.h, (uint32_t)domid), 4096, "maximum reservation");
    m = kc_map_foreign(host.h, (uint32_t)domid, PROT_READ, 256, 1);
    tap_ok(m && m[0] != 0, "foreign mapping shows the loaded kernel at 1 MiB");
    if (m)
        kc_unmap_foreign(m, 1);
    tap_is_int(kc_decrease_reservation(host.h, (uint32_t)domid, 4000, 16), 0, "release 16 frames");
    tap_is_int(kc_current_reservation(host.h, (uint32_t)domid), 4080, "reservation shrinks");
    tap_is_int(kc_populate_physmap(host.h, (uint32_t)domid, 4090, 100), -EINVAL,
               "populating past the end of memory is refused");
    tap_is_int(kc_domain_setmaxmem(host.h, (uint32_t)domid, 1 << 30), -ENOSPC,
               "raising max memory beyond the memory object is refused");
    tap_ok(kc_map_foreign(host.h, (uint32_t)domid, PROT_READ, 4096, 1) == NULL,
           "mapping beyond the domain's memory is refused");
    kc_domain_destroy(host.h, (uint32_t)domid);
}

static void test_dirtier(void)
{
    int domid = hvhost_boot(&host, "dirtier", "size=4 rate=2000 ticks=3 verify=1", 1, 16);

    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "dirtier: done, 0 errors", 15000),
           "dirtier rewrites and verifies its memory with no checksum error");
    tap_is_int(hvhost_wait_shutdown(&host, (uint32_t)domid, 5000), KEEL_SHUTDOWN_POWEROFF,
               "dirtier powers off after its ticks");
    kc_domain_destroy(host.h, (uint32_t)domid);
}

struct hammer { int ok; };

static void *hammer_main(void *arg)
{
    struct hammer *hm = arg;
    struct keel_sysctl_physinfo pi;
    struct keel_domctl_info info;

    for (int i = 0; i < 300; i++)
        hm->ok += kc_physinfo(host.h, &pi) == 0 && kc_domain_getinfo(host.h, 0, &info) == 0;
    return NULL;
}

/* One handle shared by several threads: every call gets its own answer. */
static void test_threads(void)
{
    pthread_t t[4];
    struct hammer hm[4] = { { 0 } };
    int total = 0;

    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer_main, &hm[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += hm[i].ok;
    }
    tap_is_int(total, 1200, "4 threads x 300 calls on one libkeelctrl handle all succeed");
}

/* Domains belong to the core, not to the connection that created them. */
static void test_outlives_creator(void)
{
    struct hvhost other = host;
    int domid;

    kc_open(&other.h, host.rundir);
    domid = hvhost_boot(&other, "counter", "interval=20", 1, 16);
    kc_close(other.h);
    usleep(100000);
    tap_ok(domid > 0 && hvhost_wait_console(&host, (uint32_t)domid, "counter 10", 3000),
           "a domain keeps running after the connection that created it closes");
    kc_domain_destroy(host.h, (uint32_t)domid);
}

static void test_errors(void)
{
    struct keel_domctl_create cr = { .max_vcpus = 0, .max_mem_kb = 16384 };
    uint32_t domid = 0;

    tap_is_int(kc_domain_create(host.h, &cr, &domid), -EINVAL, "0 vCPUs is refused");
    cr.max_vcpus = KEEL_MAX_VCPUS + 1;
    tap_is_int(kc_domain_create(host.h, &cr, &domid), -EINVAL, "129 vCPUs is refused");
    cr.max_vcpus = 1;
    cr.max_mem_kb = 1ULL << 40;
    tap_is_int(kc_domain_create(host.h, &cr, &domid), -EINVAL, "1 PiB of memory is refused");
    tap_is_int(kc_domain_destroy(host.h, 4000), -ESRCH, "destroying a missing domain: ESRCH");
    tap_is_int(kc_domain_pause(host.h, 4000), -ESRCH, "pausing a missing domain: ESRCH");
    tap_is_int(kc_domain_destroy(host.h, 0), -ESRCH, "Domain-0 cannot be destroyed");
}

static void test_system(void)
{
    struct keel_sysctl_physinfo pi;
    struct keel_domctl_info list[8];
    char buf[65536];
    size_t len = sizeof(buf) - 1;
    uint64_t idx = 0;
    uint32_t maj, min;

    tap_ok(kc_version(host.h, &maj, &min) == 0 && maj == KEEL_ABI_VERSION_MAJOR, "ABI version");
    tap_ok(kc_physinfo(host.h, &pi) == 0 && pi.nr_cpus >= 1 && pi.total_pages > 0 &&
           pi.cpu_khz > 0, "physinfo reports CPUs, memory and the CPU clock");
    tap_ok(kc_domain_list(host.h, 0, list, 8) >= 1 && list[0].domid == 0,
           "the domain list starts with Domain-0");
    tap_ok(kc_readconsolering(host.h, buf, &len, &idx, 0) == 0 && len > 0,
           "the hypervisor console ring can be read");
    buf[len] = 0;
    tap_ok(strstr(buf, "Domain 1 created") != NULL, "the ring records domain creation");
    len = sizeof(buf) - 1;
    idx = 0;
    kc_readconsolering(host.h, buf, &len, &idx, 1);
    len = sizeof(buf) - 1;
    idx = 0;
    tap_ok(kc_readconsolering(host.h, buf, &len, &idx, 0) == 0 && len == 0,
           "clearing the console ring empties it");
}

int main(void)
{
    int fds0, fds1;

    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    test_hello();
    fds0 = hvhost_count_fds(host.pid);   /* after a first domain: the runtime has warmed up */
    test_pause();
    test_pause_at_start();
    test_memory();
    test_errors();
    test_outlives_creator();
    test_dirtier();
    test_threads();
    test_system();
    fds1 = hvhost_count_fds(host.pid);
    tap_is_int(fds1, fds0, "the core holds no descriptor of destroyed domains");
    tap_is_int(hvhost_count_fds_to(host.pid, "memfd:keel"), 0, "the core holds no domain memory object");
    tap_is_int(hvhost_count_children(host.pid), 0, "the core has no domain process left");
    hvhost_stop(&host);
    return tap_done();
}
