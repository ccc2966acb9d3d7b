/* xl_console.c - `xl console` and `xl create -c`: a domain's console on the terminal. Two
 * sources are shown as they arrive: the domain's console_io output, read from the core, and
 * its PV console ring, through keel-consoled's "attach" (history, then live output). Input
 * goes into the ring; on a terminal it is in raw mode and ^] (0x1d) detaches, as Xen's
 * xenconsole does. The attach ends when the domain shuts down or disappears. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "keel/kl_vcpu.h"
#include "xl.h"

#define XL_ESCAPE 0x1d
static int escape_char = XL_ESCAPE;  /* xl console -e */
#define ATTACH_RETRY_MS 200
#define ATTACH_WINDOW_MS 3000          /* how long a new domain may take to be served */

struct console {
    kl_ctx *ctx;
    kl_console_notify *notify;         /* new console_io output (VIRQ_CON_RING), or NULL */
    uint32_t domid;
    uint64_t off;                      /* console_io offset read so far */
    int ring;                          /* keel-consoled attach, or -1 */
    int input;                         /* stdin still open (only read while attached) */
    long long attach_until, next_try;  /* monotonic ms */
    struct termios saved;
    int raw;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* "attach DOMID" on <rundir>/console/socket: the descriptor, -ENOENT when the daemon does not
 * (yet) serve the domain, -ECONNREFUSED/-ENOENT without a daemon. */
static int ring_attach(const char *rundir, uint32_t domid)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char line[128];
    size_t n = 0;
    int fd, rc = -ENOENT;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/console/socket", rundir) >=
        (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    snprintf(line, sizeof(line), "attach %u\n", domid);
    if (write_all(fd, line, strlen(line)) == 0) {
        while (n + 1 < sizeof(line) && read(fd, line + n, 1) == 1 && line[n] != '\n')
            n++;                                     /* the answer line, byte by byte */
        line[n] = 0;
        if (!strcmp(line, "OK"))
            return fd;
    }
    close(fd);
    return rc;
}

static void raw_on(struct console *c)
{
    struct termios t;

    if (c->raw || !isatty(0) || tcgetattr(0, &c->saved) < 0)
        return;
    t = c->saved;
    cfmakeraw(&t);
    t.c_oflag |= OPOST | ONLCR;                      /* console_io lines end in "\n" alone */
    if (tcsetattr(0, TCSAFLUSH, &t) == 0)
        c->raw = 1;
}

static void raw_off(struct console *c)
{
    if (c->raw)
        tcsetattr(0, TCSAFLUSH, &c->saved);
    c->raw = 0;
}

static void try_attach(struct console *c)
{
    long long t = now_ms();
    int fd;

    if (c->ring >= 0 || t >= c->attach_until || t < c->next_try)
        return;
    c->next_try = t + ATTACH_RETRY_MS;
    if ((fd = ring_attach(kl_ctx_rundir(c->ctx), c->domid)) < 0) {
        if (fd != -ENOENT)                           /* no daemon: stop trying */
            c->attach_until = 0;
        return;
    }
    c->ring = fd;
    raw_on(c);
}

/* The console_io output written since the last call. */
static int drain_io(struct console *c)
{
    char buf[4096];

    for (;;) {
        size_t len = sizeof(buf);
        int rc = kl_domain_console_read(c->ctx, c->domid, &c->off, buf, &len, NULL);
        if (rc < 0)
            return rc;
        if (!len)
            return 0;
        if (write_all(1, buf, len) < 0)
            return -EIO;
    }
}

/* What the ring attach has; the attach is closed when keel-consoled ends it. */
static int drain_ring(struct console *c)
{
    char buf[4096];
    ssize_t n = read(c->ring, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        close(c->ring);
        c->ring = -1;
        c->attach_until = 0;
        return 0;
    }
    return write_all(1, buf, (size_t)n);
}

/* Terminal input into the ring, up to the escape character: 1 when it was typed. */
static int from_stdin(struct console *c)
{
    char buf[1024];
    ssize_t n = read(0, buf, sizeof(buf));
    char *esc;

    if (n < 0 && errno == EINTR)
        return 0;
    if (n <= 0) {
        c->input = 0;                                /* input ended: output goes on */
        return 0;
    }
    esc = memchr(buf, escape_char, (size_t)n);
    if (esc)
        n = esc - buf;
    if (n > 0 && write_all(c->ring, buf, (size_t)n) < 0) {
        close(c->ring);
        c->ring = -1;
    }
    return esc != NULL;
}

/* Pending ring output once the domain has shut down or is gone: keel-consoled forwards what the
 * guest wrote last and ends the attach when the domain goes, so read until that end, until
 * quiet_ms pass without output (a domain that stays shut down keeps its attach), or 1 s. */
static void flush_ring(struct console *c, int quiet_ms)
{
    long long end = now_ms() + 1000;

    while (c->ring >= 0 && now_ms() < end) {
        struct pollfd p = { c->ring, POLLIN, 0 };
        if (poll(&p, 1, quiet_ms) <= 0)
            break;
        drain_ring(c);
    }
}

/* One turn: 1 to stop (shut down, gone, escape), 0 to go on, negative on error. */
static int step(struct console *c)
{
    struct pollfd p[3];
    kl_dominfo info;
    int n = 0, rc, gone;

    try_attach(c);
    rc = drain_io(c);
    if ((gone = kl_domain_info(c->ctx, c->domid, &info)) == -ENOENT || gone == -ESRCH) {
        flush_ring(c, 1000);                         /* destroyed (on_poweroff=destroy) */
        return 1;
    }
    if (rc < 0 || (rc = gone) < 0)
        return rc;
    if (info.shutdown) {
        drain_io(c);
        flush_ring(c, 300);
        return 1;
    }
    p[n++] = (struct pollfd){ c->notify ? kl_console_notify_fd(c->notify) : -1, POLLIN, 0 };
    p[n++] = (struct pollfd){ c->ring, POLLIN, 0 };
    p[n++] = (struct pollfd){ c->ring >= 0 && c->input ? 0 : -1, POLLIN, 0 };
    if (poll(p, (nfds_t)n, ATTACH_RETRY_MS) < 0)
        return errno == EINTR ? 0 : -errno;
    if (p[0].revents && c->notify)
        kl_console_notify_ack(c->notify);
    if (p[1].revents && (rc = drain_ring(c)) < 0)
        return rc;
    if (p[2].revents && c->ring >= 0 && from_stdin(c))
        return 1;
    return 0;
}

int xl_console_stream(kl_ctx *ctx, uint32_t domid)
{
    struct console c = { .ctx = ctx, .domid = domid, .ring = -1, .input = 1 };
    struct sigaction sa = { .sa_handler = on_sigint }, old;
    int rc = 0;

    c.attach_until = now_ms() + ATTACH_WINDOW_MS;
    if (kl_console_notify_open(ctx, &c.notify) < 0)
        c.notify = NULL;                             /* no word of new output: poll every 200 ms */
    sigaction(SIGINT, &sa, &old);                    /* xl's own signal, not liblight's */
    while (!interrupted && (rc = step(&c)) == 0)
        ;
    raw_off(&c);
    if (c.ring >= 0)
        close(c.ring);
    kl_console_notify_close(c.notify);
    sigaction(SIGINT, &old, NULL);
    return rc == -ENOENT || rc == 1 ? 0 : rc;
}

int xl_cmd_console(int argc, char **argv)
{
    uint32_t domid;
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "t:n:e:", "console", 1)) != -1) {
        if (c == 'e' && (escape_char = xl_escape_char(optarg)) < 0) {
            fprintf(stderr, "Invalid escape character: %s\n", optarg);
            return 1;
        }
        if (c == 't' && strcmp(optarg, "pv")) {
            fprintf(stderr, "console type '%s' is not available (only pv)\n", optarg);
            return 1;
        }
        if (c == 'n' && strcmp(optarg, "0")) {
            fprintf(stderr, "console %s does not exist (only 0)\n", optarg);
            return 1;
        }
        if (c == XL_USAGE_ERROR)
            return 2;
    }
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    rc = xl_console_stream(ctx, domid);
    kl_ctx_close(ctx);
    return rc < 0;
}
