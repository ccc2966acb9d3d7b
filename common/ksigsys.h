/* ksigsys.h - header-only, for the test-only preloads of the privilege-separation tests (never
 * linked into a daemon): arm SIGUSR2 to call execve("/bin/sh") (which the child's seccomp
 * filter must answer with SIGSYS) and SIGUSR1 to the preload's own misbehaviour, only in the
 * process whose command line has a given argument (the confined child). */
#ifndef KEEL_KSIGSYS_H
#define KEEL_KSIGSYS_H

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void ksigsys_execve(int sig)
{
    char *argv[] = { "/bin/sh", "-c", "id", NULL }, *envp[] = { NULL };

    (void)sig;
    syscall(SYS_execve, "/bin/sh", argv, envp);
    _exit(99);                       /* not reached under the filter */
}

/* In a process with an argument starting with prefix: SIGUSR2 execve, SIGUSR1 usr1. */
static inline void ksigsys_arm(const char *prefix, void (*usr1)(int))
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
        if (!strncmp(cmd + i, prefix, strlen(prefix))) {
            memset(&sa, 0, sizeof(sa));
            sa.sa_handler = ksigsys_execve;
            sigaction(SIGUSR2, &sa, NULL);
            sa.sa_handler = usr1;
            sigaction(SIGUSR1, &sa, NULL);
            return;
        }
}

#endif
