/* keel-console.c - attach a terminal to a domain's console through keel-consoled (what
 * `xl console` runs): "attach DOMID" on <rundir>/console/socket, then the console's output to
 * stdout and stdin to the guest, in raw mode on a terminal; ^] (0x1d) ends the attach. */
#include "config.h"
#include "krundir.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define KCD_ESCAPE 0x1d

static struct termios saved;
static int raw_on;

static void raw_restore(void)
{
    if (raw_on)
        tcsetattr(0, TCSAFLUSH, &saved);
}

static void raw_mode(void)
{
    struct termios t;

    if (!isatty(0) || tcgetattr(0, &saved) < 0)
        return;
    t = saved;
    cfmakeraw(&t);
    if (tcsetattr(0, TCSAFLUSH, &t) == 0) {
        raw_on = 1;
        atexit(raw_restore);
    }
}

static int connect_attach(const char *rundir, const char *dom)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char line[600];
    size_t n = 0;
    int fd;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/console/socket", rundir) >=
        (int)sizeof(sa.sun_path) || (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "keel-console: %s: %s\n", sa.sun_path, strerror(errno));
        close(fd);
        return -1;
    }
    snprintf(line, sizeof(line), "attach %s\n", dom);
    if (write(fd, line, strlen(line)) < 0)
        goto fail;
    while (n + 1 < sizeof(line) && read(fd, line + n, 1) == 1 && line[n] != '\n')
        n++;                                         /* the answer, one byte at a time */
    line[n] = 0;
    if (!strcmp(line, "OK"))
        return fd;
    fprintf(stderr, "keel-console: domain %s: %s\n", dom, n ? line : "no answer");
fail:
    close(fd);
    return -1;
}

/* Copy stdin to the socket up to the escape character; 1 when it was seen or stdin ended. */
static int from_stdin(int fd)
{
    char buf[1024];
    ssize_t n = read(0, buf, sizeof(buf));
    char *esc;

    if (n <= 0)
        return 1;
    esc = memchr(buf, KCD_ESCAPE, (size_t)n);
    if (esc)
        n = esc - buf;
    if (n > 0 && write(fd, buf, (size_t)n) != n)
        return 1;
    return esc != NULL;
}

int main(int argc, char **argv)
{
    const char *rundir = krundir(NULL);
    struct pollfd p[2];
    char buf[4096];
    int fd, c;

    while ((c = getopt(argc, argv, "r:h")) != -1) {
        if (c == 'r')
            rundir = optarg;
        else {
            fprintf(c == 'h' ? stdout : stderr, "Usage: keel-console [-r RUNDIR] DOMID\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "Usage: keel-console [-r RUNDIR] DOMID\n");
        return 2;
    }
    if ((fd = connect_attach(rundir, argv[optind])) < 0)
        return 1;
    raw_mode();
    p[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
    p[1] = (struct pollfd){ .fd = fd, .events = POLLIN };
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0 || write(1, buf, (size_t)n) != n)
                break;                               /* the domain went away */
        }
        if (p[0].revents && from_stdin(fd))
            break;
    }
    close(fd);
    return 0;
}
