/* keel-boot - boots one guest kernel on the hypervisor core and shows its console until it
 * shuts down (a developer's tool over libkeelctrl and libkeelguest; xl is the operator's). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keel/ctrl.h"
#include "keel/guest.h"

static const char *const reasons[] = { "poweroff", "reboot", "suspend", "crash", "watchdog" };

static void usage(FILE *f)
{
    fprintf(f, "Usage: keel-boot [OPTIONS] KERNEL [COMMAND LINE...]\n"
               "Boot KERNEL in a new domain, print its console, wait for it to shut down.\n\n"
               "  -r, --rundir DIR    runtime directory of the host (default $KEEL_RUNDIR)\n"
               "  -m, --memory MIB    memory in MiB (default 16)\n"
               "  -c, --vcpus N       vCPUs (default 1)\n"
               "  -t, --timeout SEC   destroy the domain after SEC seconds (default: wait)\n"
               "  -k, --keep          leave the domain when it shuts down\n"
               "  -q, --quiet         do not print the console\n"
               "Exit status: 0 poweroff, 1 error, 2 usage, 3 crash, 4 reboot, 5 timeout.\n");
}

struct opts {
    const char *rundir, *kernel;
    char cmdline[1024];
    uint64_t mib;
    uint32_t vcpus;
    int timeout, keep, quiet;
};

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "rundir", 1, 0, 'r' }, { "memory", 1, 0, 'm' }, { "vcpus", 1, 0, 'c' },
        { "timeout", 1, 0, 't' }, { "keep", 0, 0, 'k' }, { "quiet", 0, 0, 'q' },
        { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->mib = 16;
    o->vcpus = 1;
    while ((c = getopt_long(argc, argv, "+r:m:c:t:kqh", lo, NULL)) != -1) {
        switch (c) {
        case 'r': o->rundir = optarg; break;
        case 'm': o->mib = strtoull(optarg, NULL, 10); break;
        case 'c': o->vcpus = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 't': o->timeout = atoi(optarg); break;
        case 'k': o->keep = 1; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); exit(0);
        default: return -EINVAL;
        }
    }
    if (optind >= argc || !o->mib || !o->vcpus)
        return -EINVAL;
    o->kernel = argv[optind++];
    for (int i = optind; i < argc; i++) {
        size_t n = strlen(o->cmdline);
        snprintf(o->cmdline + n, sizeof(o->cmdline) - n, "%s%s", n ? " " : "", argv[i]);
    }
    return 0;
}

static int create(kc_handle *h, const struct opts *o, uint32_t *domid)
{
    struct keel_domctl_create cr = { .max_vcpus = o->vcpus, .max_mem_kb = o->mib << 10 };
    struct kg_build_info bi = { .kernel = o->kernel, .cmdline = o->cmdline,
                                .mem_kb = o->mib << 10, .nr_vcpus = 1, .max_vcpus = o->vcpus };
    struct kg_build_result res;
    char err[512];
    int rc;

    *domid = 0;
    if ((rc = kc_domain_create(h, &cr, domid)) < 0) {
        fprintf(stderr, "keel-boot: %s\n", kc_error(h));
        return rc;
    }
    if ((rc = kg_build(h, *domid, &bi, &res, err, sizeof(err))) < 0 ||
        (rc = kc_domain_unpause(h, *domid)) < 0) {
        fprintf(stderr, "keel-boot: %s\n", rc < 0 && err[0] ? err : kc_error(h));
        kc_domain_destroy(h, *domid);
        return rc;
    }
    return 0;
}

static void drain_console(kc_handle *h, uint32_t domid, uint64_t *off, int quiet)
{
    char buf[4096];

    for (;;) {
        size_t len = sizeof(buf);
        if (kc_domain_console_read(h, domid, off, buf, &len, NULL) < 0 || len == 0)
            return;
        if (!quiet)
            fwrite(buf, 1, len, stdout);
    }
}

static int wait_shutdown(kc_handle *h, uint32_t domid, const struct opts *o, uint32_t con_port,
                         uint32_t exc_port)
{
    struct pollfd p[2] = { { kc_evtchn_fd(h, con_port), POLLIN, 0 },
                           { kc_evtchn_fd(h, exc_port), POLLIN, 0 } };
    time_t end = o->timeout ? time(NULL) + o->timeout : 0;
    struct keel_domctl_info info;
    uint64_t off = 0;

    for (;;) {
        poll(p, 2, 200);
        kc_evtchn_ack(h, con_port);
        kc_evtchn_ack(h, exc_port);
        drain_console(h, domid, &off, o->quiet);
        fflush(stdout);
        int rc = kc_domain_getinfo(h, domid, &info);
        if (rc < 0)
            return rc;
        if (info.flags & KEEL_DOMINF_SHUTDOWN)
            return (int)((info.flags >> KEEL_DOMINF_SHUTDOWN_SHIFT) & 0xff);
        if (end && time(NULL) >= end)
            return -ETIMEDOUT;
    }
}

int main(int argc, char **argv)
{
    uint32_t domid, con_port, exc_port;
    struct opts o;
    kc_handle *h;
    int reason;

    if (parse(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    if (kc_open(&h, o.rundir) < 0 || kc_evtchn_bind_virq(h, KEEL_VIRQ_CON_RING, &con_port) < 0 ||
        kc_evtchn_bind_virq(h, KEEL_VIRQ_DOM_EXC, &exc_port) < 0) {
        fprintf(stderr, "keel-boot: %s\n", kc_error(h));
        return 1;
    }
    if (create(h, &o, &domid) < 0)
        return 1;
    fprintf(stderr, "keel-boot: domain %u started\n", domid);
    reason = wait_shutdown(h, domid, &o, con_port, exc_port);
    if (reason >= 0)
        fprintf(stderr, "keel-boot: domain %u shut down: %s\n", domid,
                reason <= KEEL_SHUTDOWN_MAX ? reasons[reason] : "unknown");
    else if (reason == -ETIMEDOUT)
        fprintf(stderr, "keel-boot: domain %u: timeout\n", domid);
    if (!o.keep)
        kc_domain_destroy(h, domid);
    kc_close(h);
    return reason == KEEL_SHUTDOWN_POWEROFF ? 0 : reason == KEEL_SHUTDOWN_CRASH ? 3
         : reason == KEEL_SHUTDOWN_REBOOT ? 4 : reason == -ETIMEDOUT ? 5 : 1;
}
