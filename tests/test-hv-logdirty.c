/* test-hv-logdirty - log-dirty mode, once per engine (the core started with KEEL_LOGDIRTY=async,
 * then =sync; an engine the kernel lacks is skipped with the reason): the pages a running guest
 * writes are reported once and re-protected; a paused guest dirties nothing; errors; physinfo
 * names the engine; a copy kept up to date from the bitmaps of a 32-vCPU dirtier equals the
 * guest's memory once paused (no write lost); after disabling (sync) no page stays
 * write-protected and every vCPU writes on; destroying a guest while its vCPUs fault leaves no
 * thread or descriptor in the core. KEEL_LOGDIRTY=none: enabling fails with EOPNOTSUPP. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

#define PAGES 4096   /* 16 MiB */
#define BIG_MIB 48
#define BIG_PAGES (BIG_MIB * 256)
#define BIG_VCPUS 32

static struct hvhost host;

static uint32_t physinfo_engine(void)
{
    struct keel_sysctl_physinfo pi;

    if (kc_physinfo(host.h, &pi) < 0)
        return 99;
    return (pi.capabilities & KEEL_PHYSCAP_LOGDIRTY_MASK) >> KEEL_PHYSCAP_LOGDIRTY_SHIFT;
}

/* The domain's process: the core's only child while one domain runs. */
static pid_t domain_pid(void)
{
    DIR *dir = opendir("/proc");
    struct dirent *e;
    pid_t found = -1;

    while (dir && (e = readdir(dir))) {
        char path[300], buf[512], *p;
        FILE *f;
        int ppid;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
            sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == host.pid && strstr(buf, "(keel-stub)"))
            found = atoi(e->d_name);
        fclose(f);
    }
    if (dir)
        closedir(dir);
    return found;
}

/* Guest pages whose PTE in the domain's process is userfaultfd write-protected (pagemap bit 57). */
static long protected_pages(pid_t pid, uint64_t pages)
{
    char path[64];
    uint64_t *pm = malloc(pages * 8);
    long n = 0;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
    fd = open(path, O_RDONLY);
    if (fd < 0 || !pm ||
        pread(fd, pm, pages * 8, (off_t)(KEEL_GUEST_BASE / KEEL_PAGE_SIZE * 8)) != (ssize_t)(pages * 8))
        n = -1;
    for (uint64_t i = 0; n >= 0 && i < pages; i++)
        n += (pm[i] >> 57) & 1;
    if (fd >= 0)
        close(fd);
    free(pm);
    return n;
}

/* Threads of pid sleeping in a userfaultfd fault (wchan handle_userfault): what a vCPU left
 * blocked by the log-dirty mode would show. */
static int threads_in_userfault(pid_t pid)
{
    char path[320], buf[64];
    struct dirent *e;
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d))) {
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/wchan", (int)pid, e->d_name);
        if ((f = fopen(path, "r"))) {
            if (fgets(buf, sizeof(buf), f) && strstr(buf, "userfault"))
                n++;
            fclose(f);
        }
    }
    closedir(d);
    return n;
}

static int count_threads(pid_t pid)
{
    char path[64];
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if (!(d = opendir(path)))
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 2;
}

static void basic(int domid)
{
    static uint8_t bm[PAGES / 8];
    uint64_t n1 = 0, n2 = 0, n3 = 1, outside = 0;

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
}

/* Every "errors N" the dirtier printed says 0. */
static int no_errors(const char *con)
{
    for (const char *p = con; (p = strstr(p, "errors ")); p += 7)
        if (p[7] != '0' || (p[8] >= '0' && p[8] <= '9'))
            return 0;
    return 1;
}

/* Copy the pages set in bm from the live mapping into the copy; returns how many. */
static uint64_t copy_dirty(uint8_t *copy, const uint8_t *live, const uint8_t *bm)
{
    uint64_t n = 0;

    for (uint64_t p = 0; p < BIG_PAGES; p++)
        if (bm[p / 8] & (1u << (p % 8))) {
            memcpy(copy + p * KEEL_PAGE_SIZE, live + p * KEEL_PAGE_SIZE, KEEL_PAGE_SIZE);
            n++;
        }
    return n;
}

/* The vCPUs (slices of the dirtier's working set) owning a page that differs between a and b. */
static uint8_t seen[BIG_VCPUS];       /* vcpus_writing: which slices changed */

static uint32_t vcpus_writing(const uint8_t *a, const uint8_t *b, uint64_t ws_pages)
{
    uint32_t n = 0;

    memset(seen, 0, sizeof(seen));
    for (uint64_t p = 0; p < BIG_PAGES; p++) {
        uint64_t idx;
        if (!memcmp(a + p * KEEL_PAGE_SIZE, b + p * KEEL_PAGE_SIZE, KEEL_PAGE_SIZE))
            continue;
        memcpy(&idx, b + p * KEEL_PAGE_SIZE, 8);      /* word 0: working-set index */
        for (uint32_t v = BIG_VCPUS; idx < ws_pages && v-- > 0;)
            if (ws_pages * v / BIG_VCPUS <= idx) {
                n += !seen[v];
                seen[v] = 1;
                break;
            }
    }
    return n;
}

/* A vCPU that shows no write: what the core says of it (debug key 'q') and its thread's state. */
/* The guest-physical offset of one of the dirtier's variables (nm), or 0. */
static uint64_t guest_sym(const char *name)
{
    char cmd[512], line[256];
    uint64_t off = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "nm %s 2>/dev/null", hvhost_guest("dirtier"));
    if (!(p = popen(cmd, "r")))
        return 0;
    while (fgets(line, sizeof(line), p)) {
        unsigned long long a;
        char t, n[128];
        if (sscanf(line, "%llx %c %127s", &a, &t, n) == 3 && !strcmp(n, name))
            off = a - KEEL_GUEST_BASE;
    }
    pclose(p);
    return off < (uint64_t)BIG_PAGES * KEEL_PAGE_SIZE ? off : 0;
}

static void explain_silent_vcpus(pid_t pid, const uint8_t *live)
{
    uint64_t o_done = guest_sym("sleep_done"), o_up = guest_sym("upcalls");

    static char ring[1 << 16];
    size_t len = sizeof(ring) - 1;
    uint64_t index = 0;

    if (kc_debug_keys(host.h, "q") < 0 || kc_readconsolering(host.h, ring, &len, &index, 0) < 0)
        return;
    ring[len] = 0;
    for (uint32_t v = 0; v < BIG_VCPUS; v++) {
        char key[32], *p, *last = NULL;
        if (seen[v])
            continue;
        snprintf(key, sizeof(key), "    VCPU%u: ", v);
        for (p = strstr(ring, key); p; p = strstr(p + 1, key))
            last = p;
        if (!last)
            continue;
        tap_diag("vCPU %u wrote nothing: %.*s", v, (int)strcspn(last, "\n"), last);
        if (o_done && o_up)
            tap_diag("  guest: sleep_done %d upcalls %llu", ((const int *)(live + o_done))[v],
                     (unsigned long long)((const uint64_t *)(live + o_up))[v]);
        p = last + strcspn(last, "\n") + 1;
        tap_diag("  %.*s", (int)strcspn(p, "\n"), p);
        int tid = 0;
        if ((p = strstr(p, "tid ")))
            tid = atoi(p + 4);
        for (const char *f = "stat\0wchan\0syscall\0"; *f; f += strlen(f) + 1) {
            char path[96], buf[512] = "";
            FILE *fp;
            snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)pid, tid, f);
            if ((fp = fopen(path, "r"))) {
                if (!fgets(buf, sizeof(buf), fp))
                    buf[0] = 0;
                fclose(fp);
            }
            tap_diag("  %s: %.*s", path, (int)strcspn(buf, "\n"), buf);
        }
    }
}

static void many_vcpus(int sync)
{
    static uint8_t bm[BIG_PAGES / 8];
    size_t bytes = (size_t)BIG_PAGES * KEEL_PAGE_SIZE;
    uint8_t *copy = malloc(bytes), *before = malloc(bytes), *live;
    uint64_t n = 0, copied = 0, mismatch = 0, ws = 0;
    const char *con;
    pid_t pid;
    int domid = hvhost_boot(&host, "dirtier", "size=32 rate=32000 verify=2", BIG_VCPUS, BIG_MIB);

    tap_ok(domid > 0 && hvhost_wait_console(&host, (uint32_t)domid, "dirtier: tick 1 ", 10000),
           "a 32-vCPU dirtier runs (32 000 pages/s over 32 MiB)");
    con = hvhost_console(&host, (uint32_t)domid);
    if (strstr(con, "dirtier: "))
        ws = strtoull(strstr(con, "dirtier: ") + 9, NULL, 10);
    live = kc_map_foreign(host.h, (uint32_t)domid, PROT_READ, 0, BIG_PAGES);
    pid = domain_pid();
    if (!live || !copy || !before || pid < 0 || !ws)
        tap_bail("cannot map the 32-vCPU dirtier's memory or find its process");
    tap_is_int(kc_logdirty_enable(host.h, (uint32_t)domid), 0, "enable log-dirty mode on it");
    memcpy(copy, live, bytes);                  /* round 1: everything, as a migration does */
    for (int round = 0; round < 12; round++) {
        usleep(150000);
        kc_logdirty_read(host.h, (uint32_t)domid, 1, bm, BIG_PAGES, &n);
        copied += copy_dirty(copy, live, bm);
    }
    kc_domain_pause(host.h, (uint32_t)domid);
    tap_is_int(kc_logdirty_read(host.h, (uint32_t)domid, 1, bm, BIG_PAGES, &n), 0,
               "final read and clear with the guest paused");
    copied += copy_dirty(copy, live, bm);
    for (uint64_t p = 0; p < BIG_PAGES; p++)
        mismatch += memcmp(copy + p * KEEL_PAGE_SIZE, live + p * KEEL_PAGE_SIZE, KEEL_PAGE_SIZE) != 0;
    tap_diag("pages copied after round 1: %llu", (unsigned long long)copied);
    tap_ok(copied > 4000, "the rounds saw the vCPUs' writes (%llu pages)", (unsigned long long)copied);
    tap_is_int(mismatch, 0, "the copy kept from the bitmaps equals the paused guest's memory: no "
               "write of 32 concurrent vCPUs is lost");
    if (sync)
        tap_ok(protected_pages(pid, BIG_PAGES) > 1000,
               "while log-dirty mode is on, the pages are write-protected (pagemap)");
    kc_domain_unpause(host.h, (uint32_t)domid);
    tap_is_int(kc_logdirty_disable(host.h, (uint32_t)domid), 0, "disable it with the vCPUs writing");
    for (int i = 0; sync && i < 500 && protected_pages(pid, BIG_PAGES) != 0; i++)
        usleep(10000);                  /* the protections are lifted in the background */
    if (sync)
        tap_is_int(protected_pages(pid, BIG_PAGES), 0,
                   "after disabling, no guest page is write-protected any more");
    memcpy(before, live, bytes);
    /* each vCPU must get the CPU to show it writes: up to 15 s on a loaded (sanitizer) host */
    for (int i = 0; i < 75 && vcpus_writing(before, live, ws) < BIG_VCPUS; i++)
        usleep(200000);
    if (vcpus_writing(before, live, ws) < BIG_VCPUS)
        explain_silent_vcpus(pid, live);
    {
        int stuck = 0;
        for (int i = 0; i < 10; i++, usleep(20000))
            stuck += threads_in_userfault(pid) > 0;
        tap_is_int(stuck, 0, "after disabling, no thread of the domain waits in a userfault "
                   "fault (10 looks)");
    }
    tap_is_int(vcpus_writing(before, live, ws), BIG_VCPUS,
               "after disabling, every one of the 32 vCPUs writes on (none left blocked)");
    tap_ok(hvhost_wait_console(&host, (uint32_t)domid, "errors 0", 3000) &&
           no_errors(hvhost_console(&host, (uint32_t)domid)),
           "the dirtier's slices verify (checksums and generations) throughout");
    kc_unmap_foreign(live, BIG_PAGES);
    kc_domain_destroy(host.h, (uint32_t)domid);
    free(copy);
    free(before);
}

static void destroy_mid_faults(void)
{
    static uint8_t bm[BIG_PAGES / 8];
    int threads, fds, domid;
    uint64_t n;

    threads = count_threads(host.pid);
    fds = hvhost_count_fds(host.pid);
    domid = hvhost_boot(&host, "dirtier", "size=32 rate=64000 verify=0", BIG_VCPUS, BIG_MIB);
    hvhost_wait_console(&host, (uint32_t)domid, "dirtier: tick 1 ", 10000);
    kc_logdirty_enable(host.h, (uint32_t)domid);
    for (int i = 0; i < 5; i++) {
        usleep(50000);
        kc_logdirty_read(host.h, (uint32_t)domid, 1, bm, BIG_PAGES, &n);
    }
    tap_is_int(kc_domain_destroy(host.h, (uint32_t)domid), 0,
               "destroy a 32-vCPU guest in log-dirty mode while its vCPUs fault");
    tap_is_int(count_threads(host.pid), threads, "no fault worker thread is left in the core");
    tap_is_int(hvhost_count_fds(host.pid), fds, "no descriptor is left in the core");
    tap_is_int(hvhost_count_children(host.pid), 0, "no domain process is left");
    domid = hvhost_boot(&host, "dirtier", "size=4 rate=500", 1, 16);
    tap_ok(domid > 0 && kc_logdirty_enable(host.h, (uint32_t)domid) == 0,
           "the core goes on: a new guest gets log-dirty mode");
    kc_domain_destroy(host.h, (uint32_t)domid);
}

static void engine(const char *name, uint32_t want)
{
    char msg[160];
    int domid;

    setenv("KEEL_LOGDIRTY", name, 1);
    if (hvhost_start(&host) < 0) {
        snprintf(msg, sizeof(msg), "the kernel lacks the %s engine (keel-hv refuses to start with "
                 "it forced; see its log)", name);
        tap_diag("skip: %s", msg);
        return;
    }
    tap_diag("engine %s", name);
    tap_is_int(physinfo_engine(), want, "physinfo names the engine the core was told to use");
    domid = hvhost_boot(&host, "dirtier", "size=4 rate=500 verify=0", 1, 16);
    basic(domid);
    kc_domain_destroy(host.h, (uint32_t)domid);
    many_vcpus(want == 2);
    if (want == 2)
        destroy_mid_faults();
    hvhost_stop(&host);
}

int main(void)
{
    const char *only = getenv("KEEL_LOGDIRTY");
    int domid;

    if (!only || !*only || !strcmp(only, "async"))
        engine("async", 1);
    if (!only || !*only || !strcmp(only, "sync"))
        engine("sync", 2);
    setenv("KEEL_LOGDIRTY", "none", 1);
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core with log-dirty mode off");
    tap_is_int(physinfo_engine(), 0, "KEEL_LOGDIRTY=none: physinfo says no engine");
    domid = hvhost_boot(&host, "dirtier", "size=4 rate=500", 1, 16);
    tap_is_int(kc_logdirty_enable(host.h, (uint32_t)domid), -EOPNOTSUPP,
               "without an engine, enabling log-dirty mode fails with EOPNOTSUPP");
    kc_domain_destroy(host.h, (uint32_t)domid);
    hvhost_stop(&host);
    return tap_done();
}
