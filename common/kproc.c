/* kproc.c - a command started with pipes for its standard input and output (kproc.h). */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "kproc.h"

pid_t kproc_spawn_pipes(const char *cmd, int *to, int *from)
{
    int in[2], out[2];
    pid_t pid;

    if (pipe2(in, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    if ((pid = fork()) == 0) {           /* only async-signal-safe calls until exec */
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
            _exit(127);
        close_range(3, ~0u, 0);          /* none of the caller's descriptors goes along */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    *to = in[1];
    *from = out[0];
    return pid;
}
