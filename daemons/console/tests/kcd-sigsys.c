/* kcd-sigsys.c - a test-only preload for test-consoled-privsep.sh (never installed, never
 * linked into keel-consoled): in keel-consoled's serving process (the one started with
 * --privsep-child=...), SIGUSR2 makes it call execve("/bin/sh"), and SIGUSR1 makes it ask the
 * privileged part for the console of the first served domain at a frame and port the store does
 * not name, for a channel the store has no backend for (and for Domain-0's console), as code
 * an attacker got to run there would; the
 * answers go to stderr (the daemon's log). keel-consoled itself has no such trigger; the test
 * shows that the filter kills the process for the first, that the privileged part refuses the
 * second, and that a new serving process is started after the kill. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kcd_priv.h"
#include "ksigsys.h"

/* One request straight on the channel (descriptor KCD_PRIV_FD_CHAN); the reply read here. */
static void call(uint32_t op, uint32_t domid, uint32_t cons, uint64_t gfn, uint32_t port,
                 struct kcd_priv_rsp *r)
{
    struct kcd_priv_req q = { .op = op, .domid = domid, .cons = cons, .gfn = gfn,
                              .port = port };

    if (send(KCD_PRIV_FD_CHAN, &q, sizeof(q), 0) != (ssize_t)sizeof(q) ||
        recv(KCD_PRIV_FD_CHAN, r, sizeof(*r), 0) != (ssize_t)sizeof(*r))
        _exit(98);
    r->msg[sizeof(r->msg) - 1] = 0;
}

static void ask(uint32_t domid, uint64_t gfn, uint32_t port)
{
    struct kcd_priv_rsp r;
    char line[300];
    int n;

    call(KCD_PRIV_CONS_OPEN, domid, 0, gfn, port, &r);
    n = snprintf(line, sizeof(line), "kcd-sigsys: console of domain %u at gfn %#llx: rc %d (%s)\n",
                 domid, (unsigned long long)gfn, r.rc, r.msg);
    if (write(2, line, (size_t)n) < 0)
        _exit(97);
}

static void on_usr1(int sig)
{
    struct kcd_priv_rsp r;

    (void)sig;
    call(KCD_PRIV_CONS_HELD, 0, 0, 0, 0, &r);
    if (r.rc == 0) {
        uint32_t d = r.domid;
        ask(d, r.gfn + 1, r.port + 1);
        call(KCD_PRIV_CHAN_OPEN, d, 9, 0, 0, &r);
    }
    ask(0, 0, 1);
}

/* Only in the serving process: its command line has --privsep-child=. */
__attribute__((constructor)) static void kcd_sigsys_init(void)
{
    ksigsys_arm("--privsep-child=", on_usr1);
}
