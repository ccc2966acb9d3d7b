/* xsguest - the store client demo/test guest: through its store ring it writes data/hello =
 * world under its home, reads it back, tries another domain's private node (expects EACCES),
 * watches data/trigger and answers each new value in data/echo, and writes data/counter on a
 * tick (tick=MS), re-registering its watch when the daemon no longer has it (a restarted store
 * keeps nodes but not the watches of its clients). bench=N times N ring reads and writes. Prints what happens; idles forever, or powers off after the checks with exit=1. */
#include "rt/keel_guest.h"

static char buf[512];

static void checks(void)
{
    char path[64];
    int rc;

    rc = rt_xs_write("data/hello", "world");
    rt_printf("xs write data/hello: %d\n", rc);
    rc = rt_xs_read("data/hello", buf, sizeof(buf));
    rt_printf("xs read data/hello: %s (%d)\n", rc < 0 ? "error" : buf, rc);
    rt_snprintf(path, sizeof(path), "/local/domain/%u/data/secret",
                (unsigned)rt_arg_u64("other", 0));
    rc = rt_xs_read(path, buf, sizeof(buf));
    rt_printf("xs read other domain's %s: %s\n", path,
              rc == -13 ? "EACCES" : rc < 0 ? "other error" : "READABLE");
    rc = rt_xs_directory("data", buf, sizeof(buf));
    rt_printf("xs directory data: %d bytes\n", rc);
    rc = rt_xs_watch("data/trigger", "trig");
    rt_printf("xs watch data/trigger: %d\n", rc);
}

static uint64_t median3(uint64_t *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/* bench=N: 5 rounds of N reads and N writes through the ring, against N null hypercalls. */
static void bench(unsigned n)
{
    uint64_t rd[5], wr[5], hc[5], t;

    for (int r = 0; r < 5; r++) {
        t = rt_now();
        for (unsigned i = 0; i < n; i++)
            rt_xs_read("data/hello", buf, sizeof(buf));
        rd[r] = (rt_now() - t) / n;
        t = rt_now();
        for (unsigned i = 0; i < n; i++)
            rt_xs_write("data/bench", "0123456789");
        wr[r] = (rt_now() - t) / n;
        t = rt_now();
        for (unsigned i = 0; i < n; i++)
            hypercall(KH_XEN_VERSION, KEEL_VERSION_VERSION, 0);
        hc[r] = (rt_now() - t) / n;
    }
    uint64_t mr = median3(rd, 5), mw = median3(wr, 5), mh = median3(hc, 5);
    rt_printf("xs bench: read %llu ns (spread %llu-%llu), write %llu ns (spread %llu-%llu), "
              "null hypercall %llu ns; read/hypercall %llu\n", (unsigned long long)mr,
              (unsigned long long)rd[0], (unsigned long long)rd[4], (unsigned long long)mw,
              (unsigned long long)wr[0], (unsigned long long)wr[4], (unsigned long long)mh,
              (unsigned long long)(mh ? mr / mh : 0));
}

/* A watch fired: echo the trigger's current value. */
static void on_watch(const char *path, const char *token)
{
    int rc = rt_xs_read("data/trigger", buf, sizeof(buf));

    rt_printf("xs watch fired: %s %s value=%s\n", path, token, rc < 0 ? "(none)" : buf);
    if (rc >= 0)
        rt_xs_write("data/echo", buf);
}

int main(void)
{
    char path[128], token[32], num[24];
    uint64_t tick = rt_arg_u64("tick", 200) * 1000000ULL, next;
    unsigned long long n = 0;
    int rc;

    if ((rc = rt_xs_init()) < 0) {
        rt_printf("xsguest: no store ring (%d)\n", rc);
        return 1;
    }
    rt_printf("xsguest: domain %u, store ring up\n", rt_boot.domid);
    checks();
    if (rt_arg_u64("bench", 0))
        bench((unsigned)rt_arg_u64("bench", 0));
    if (rt_arg_u64("exit", 0))
        return 0;
    next = rt_now() + tick;
    for (;;) {
        rc = rt_xs_wait_watch(path, sizeof(path), token, sizeof(token), next);
        if (rc == 0) {
            on_watch(path, token);
            continue;
        }
        rt_snprintf(num, sizeof(num), "%llu", ++n);
        rt_xs_write("data/counter", num);
        if (rt_xs_watch("data/trigger", "trig") == 0)   /* the daemon restarted: watch again */
            rt_printf("xs watch data/trigger registered again\n");
        next = rt_now() + tick;
    }
}
