/* test-hv-evil - every escape attempt of the evil guest crashes only evil: the core keeps
 * answering and a bystander domain keeps counting throughout. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

static struct hvhost host;

static const char *const attempts[] = { "syscall", "execve", "readout", "readhigh", "writestub",
                                        "jumpstub", "futex", "int80", "sigreturn", "malformed" };

static size_t console_len(uint32_t domid)
{
    return strlen(hvhost_console(&host, domid));
}

int main(void)
{
    int bystander;
    size_t before;

    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    bystander = hvhost_boot(&host, "counter", "interval=10", 1, 16);
    tap_ok(hvhost_wait_console(&host, (uint32_t)bystander, "counter 2", 3000),
           "a bystander domain is counting");
    for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
        char cmd[64];
        struct keel_domctl_info info;
        int evil, reason;

        snprintf(cmd, sizeof(cmd), "attempt=%s", attempts[i]);
        before = console_len((uint32_t)bystander);
        evil = hvhost_boot(&host, "evil", cmd, 1, 16);
        reason = hvhost_wait_shutdown(&host, (uint32_t)evil, 5000);
        tap_is_int(reason, KEEL_SHUTDOWN_CRASH, attempts[i]);
        tap_ok(kc_domain_getinfo(host.h, (uint32_t)evil, &info) == 0 &&
               (info.flags & KEEL_DOMINF_CRASHED), "%s: the evil domain's process ended",
               attempts[i]);
        if (!strcmp(attempts[i], "malformed"))
            tap_ok(strstr(hvhost_console(&host, (uint32_t)evil), "27/27 rejected") != NULL,
                   "malformed: every hostile hypercall argument was rejected");
        kc_domain_destroy(host.h, (uint32_t)evil);
        usleep(50000);
        tap_ok(console_len((uint32_t)bystander) > before,
               "%s: the bystander kept running", attempts[i]);
    }
    tap_ok(kc_domain_pause(host.h, (uint32_t)bystander) == 0, "the core still answers");
    kc_domain_destroy(host.h, (uint32_t)bystander);
    hvhost_stop(&host);
    return tap_done();
}
