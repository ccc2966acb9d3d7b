/* kc-example - a small program built with `pkg-config --cflags --libs libkeelguest libkeelctrl`
 * that drives a domain through the installed libraries: create, build a kernel, run it until it
 * shuts down, print its console, destroy. Usage: kc-example KERNEL [RUNDIR] */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <keel/ctrl.h>
#include <keel/guest.h>

int main(int argc, char **argv)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 16384 };
    struct kg_build_info bi = { .mem_kb = 16384, .nr_vcpus = 1, .max_vcpus = 1,
                                .cmdline = "from kc-example" };
    struct kg_build_result res;
    struct keel_domctl_info info;
    char err[256], buf[4096];
    uint32_t domid = 0;
    uint64_t off = 0;
    size_t len;
    kc_handle *h;

    if (argc < 2) {
        fprintf(stderr, "usage: kc-example KERNEL [RUNDIR]\n");
        return 2;
    }
    bi.kernel = argv[1];
    if (kc_open(&h, argc > 2 ? argv[2] : NULL) < 0 || kc_domain_create(h, &cr, &domid) < 0) {
        fprintf(stderr, "kc-example: %s\n", kc_error(h));
        return 1;
    }
    if (kg_build(h, domid, &bi, &res, err, sizeof(err)) < 0 || kc_domain_unpause(h, domid) < 0) {
        fprintf(stderr, "kc-example: %s\n", err[0] ? err : kc_error(h));
        kc_domain_destroy(h, domid);
        return 1;
    }
    for (int i = 0; i < 500; i++) {
        if (kc_domain_getinfo(h, domid, &info) == 0 && (info.flags & KEEL_DOMINF_SHUTDOWN))
            break;
        usleep(10000);
    }
    len = sizeof(buf) - 1;
    kc_domain_console_read(h, domid, &off, buf, &len, NULL);
    buf[len] = 0;
    printf("domain %u said:\n%s", domid, buf);
    kc_domain_destroy(h, domid);
    kc_close(h);
    return (info.flags & KEEL_DOMINF_SHUTDOWN) ? 0 : 1;
}
