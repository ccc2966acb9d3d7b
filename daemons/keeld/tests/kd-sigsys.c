/* kd-sigsys.c - a test-only preload for test-keeld-privsep.sh (never installed, never linked
 * into keeld): in keeld's client-facing process (the one started with --front=...), SIGUSR2
 * makes it call execve("/bin/sh") and SIGUSR1 makes it send a malformed request frame to the
 * privileged part, as code an attacker got to run there would. keeld itself has no such
 * trigger; the test shows that the seccomp filter kills the process for the first, that the
 * privileged part kills it for the second, and that a new one is started each time. */
#define _GNU_SOURCE
#include <stdint.h>
#include <unistd.h>

#include "ksigsys.h"

/* A request frame whose payload is malformed (a batch of 0), as a taken-over front could send:
 * the privileged part must refuse it and kill the sender. Written straight to the channel
 * (descriptor 3, kd_server.h). */
static void on_usr1(int sig)
{
    struct {
        uint32_t len;
        uint16_t type;
        uint8_t role, topic;
        uint64_t conn;
        unsigned char payload[4];
    } __attribute__((packed)) f = { 4, 2, 2, 0, 1, { 0, 0, 0, 0 } };

    (void)sig;
    if (write(3, &f, sizeof(f)) < 0)
        _exit(98);
}

/* Only in the client-facing process: its command line has --front=. */
__attribute__((constructor)) static void kd_sigsys_init(void)
{
    ksigsys_arm("--front=", on_usr1);
}
