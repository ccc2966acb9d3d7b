/* hvhost.h - starts a real hypervisor core in a private runtime directory for a test or a
 * benchmark, and helps drive guests on it through libkeelctrl and libkeelguest. */
#ifndef KEEL_TESTS_HVHOST_H
#define KEEL_TESTS_HVHOST_H

#include <stdint.h>
#include <sys/types.h>

#include "keel/ctrl.h"
#include "keel/guest.h"

struct hvhost {
    char rundir[64];
    pid_t pid;
    kc_handle *h;
};

/* Start keel-hv from the build tree ($KEEL_BUILDDIR) in a fresh runtime directory. */
int hvhost_start(struct hvhost *host);
/* Stop it (SIGTERM), wait, remove the runtime directory. */
void hvhost_stop(struct hvhost *host);
/* Path of an in-tree guest image. */
const char *hvhost_guest(const char *name);
/* Create a paused, empty domain; returns its domid or a negative errno. */
int hvhost_create(struct hvhost *host, uint32_t vcpus, uint64_t mib);
/* Load a guest into a created domain. */
int hvhost_build(struct hvhost *host, uint32_t domid, const char *guest, const char *cmdline,
                 uint32_t vcpus, uint64_t mib);
/* Create, build and unpause a guest; returns its domid or a negative errno. */
int hvhost_boot(struct hvhost *host, const char *guest, const char *cmdline, uint32_t vcpus,
                uint64_t mib);
/* Same, but leave the domain paused. */
int hvhost_boot_paused(struct hvhost *host, const char *guest, const char *cmdline,
                       uint32_t vcpus, uint64_t mib);
/* Wait until the domain's console contains text (timeout in ms); returns 1 if found. */
int hvhost_wait_console(struct hvhost *host, uint32_t domid, const char *text, int timeout_ms);
/* The domain's console so far, NUL-terminated, in a static buffer. */
const char *hvhost_console(struct hvhost *host, uint32_t domid);
/* 1 if the core's console ring (xl dmesg: its own messages and AVC lines) holds text. */
int hvhost_ring_has(struct hvhost *host, const char *text);
/* Wait until the domain is shut down; returns the reason or -1 on timeout. */
int hvhost_wait_shutdown(struct hvhost *host, uint32_t domid, int timeout_ms);
/* Number of open descriptors of a process; number of domain processes (keel-stub) whose parent
 * is pid. */
int hvhost_count_fds(pid_t pid);
int hvhost_count_children(pid_t pid);
/* Call fn for each domain process (keel-stub child) of the core pid; returns how many. */
int hvhost_each_domain_process(pid_t pid, void (*fn)(pid_t child, void *arg), void *arg);
/* Copy the core's log to the file $env names, if set (benchmarks: KEEL_LOG=debug steps). */
void hvhost_keep_log(struct hvhost *host, const char *env, const char *who);
/* Descriptors of pid whose target contains text (e.g. "memfd:keel"). */
int hvhost_count_fds_to(pid_t pid, const char *text);
uint64_t hvhost_now_ns(void);

#endif
