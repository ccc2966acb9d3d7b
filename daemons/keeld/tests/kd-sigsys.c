/* kd-sigsys.c - a test-only preload for test-keeld-privsep.sh (never installed, never linked
 * into keeld): in keeld's client-facing process (the one started with --front=...), SIGUSR2
 * makes it call execve("/bin/sh") and SIGUSR1 makes it send a malformed request frame to the
 * privileged part, as code an attacker got to run there would. keeld itself has no such
 * trigger; the test shows that the seccomp filter kills the process for the first, that the
 * privileged part kills it for the second, and that a new one is started each time. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void on_usr2(int sig)
{
    char *argv[] = { "/bin/sh", "-c", "id", NULL }, *envp[] = { NULL };

    (void)sig;
    syscall(SYS_execve, "/bin/sh", argv, envp);
    _exit(99);                       /* not reached under the filter */
}

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
    char cmd[4096];
    struct sigaction sa;
    ssize_t n;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return;
    n = read(fd, cmd, sizeof(cmd) - 1);
    close(fd);
    if (n <= 0)
        return;
    cmd[n] = 0;
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1)
        if (!strncmp(cmd + i, "--front=", 8)) {
            memset(&sa, 0, sizeof(sa));
            sa.sa_handler = on_usr2;
            sigaction(SIGUSR2, &sa, NULL);
            sa.sa_handler = on_usr1;
            sigaction(SIGUSR1, &sa, NULL);
            return;
        }
}
