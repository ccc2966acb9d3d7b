/* test-commit.c - the journal's group commit keeps the crash guarantee: a store runs in a
 * child process; three socket clients each send a burst of pipelined WRITEs (so one event-loop
 * round carries many changes and commits them together) while a fourth watches the subtree;
 * once every reply is in, the child is killed with SIGKILL (no clean shutdown, nothing flushed
 * at exit) and a new store replaying the journal must hold every acknowledged value. Done
 * with --sync periodic and --sync always on the mapped journal (whose file then ends in space
 * reserved in whole MiB), and with --sync periodic appending by write(2) (the file then ends
 * at its last record). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "kio.h"
#include "klog.h"
#include "tap.h"
#include "ks_test.h"

#define CLIENTS 3
#define BURST 40

static void run_store(const char *dir, const char *sock, enum ks_sync sync, bool wr)
{
    struct event_base *base = event_base_new();
    struct ks_config cfg;
    struct ks_store *s;

    ks_config_defaults(&cfg);
    cfg.statedir = dir;
    cfg.sync = sync;
    cfg.journal_write = wr;
    if (!base || ks_store_new(base, &cfg, &s) < 0 || ks_sock_listen(s, sock) < 0)
        _exit(1);
    event_base_dispatch(base);
    _exit(0);
}

static int dial(const char *sock)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    for (int i = 0; i < 500; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct timeval tv = { 10, 0 };     /* a reply that never comes fails, not hangs */
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        usleep(10000);
    }
    tap_bail("cannot connect to %s", sock);
    return -1;
}

/* A burst of BURST writes /c/<client>/<i> = v<i>, sent with one write(2). */
static int send_burst(int fd, int client)
{
    static char buf[BURST * (KS_HDR_SIZE + 64)];
    size_t off = 0;

    for (int i = 0; i < BURST; i++) {
        char p[64];
        int n = snprintf(p, sizeof(p), "/c/%d/%d%cv%d", client, i, '\0', i);
        struct ks_hdr h = { KS_WRITE, (uint32_t)i, 0, (uint32_t)n };
        memcpy(buf + off, &h, sizeof(h));
        memcpy(buf + off + sizeof(h), p, (size_t)n);
        off += sizeof(h) + (size_t)n;
    }
    return kio_write_all(fd, buf, off);
}

/* Read replies until `want` OKs to WRITEs came (watch events skipped): the count of OKs. */
static int read_oks(int fd, int want)
{
    int oks = 0;

    while (oks < want) {
        struct ks_hdr h;
        char body[KS_PAYLOAD_MAX];
        if (kio_read_full(fd, &h, sizeof(h)) < 0 || h.len > KS_PAYLOAD_MAX ||
            kio_read_full(fd, body, h.len) < 0)
            break;
        if (h.type == KS_WRITE && h.len == 3 && !memcmp(body, "OK", 3))
            oks++;
        else if (h.type != KS_WATCH_EVENT)
            break;
    }
    return oks;
}

/* WATCH /c and wait for its OK (its registration event may come first). */
static int watch(int fd)
{
    char req[KS_HDR_SIZE + 6];
    struct ks_hdr h = { KS_WATCH, 1, 0, 6 };

    memcpy(req, &h, sizeof(h));
    memcpy(req + sizeof(h), "/c\0tk", 6);
    if (kio_write_all(fd, req, sizeof(req)) < 0)
        return -1;
    for (;;) {
        char body[KS_PAYLOAD_MAX];
        if (kio_read_full(fd, &h, sizeof(h)) < 0 || h.len > KS_PAYLOAD_MAX ||
            kio_read_full(fd, body, h.len) < 0)
            return -1;
        if (h.type == KS_WATCH)
            return h.len == 3 && !memcmp(body, "OK", 3) ? 0 : -1;
        if (h.type != KS_WATCH_EVENT)
            return -1;
    }
}

/* How many of the acknowledged values a store replaying `dir` holds. */
static int replayed(const char *dir)
{
    struct event_base *base = event_base_new();
    struct ks_config cfg;
    struct ks_store *s;
    struct ks_conn *c;
    int found = 0;

    ks_config_defaults(&cfg);
    cfg.statedir = dir;
    cfg.sync = KS_SYNC_NONE;
    if (!base || ks_store_new(base, &cfg, &s) < 0)
        tap_bail("cannot reopen the store on %s", dir);
    c = ks_conn_new(s, 0, NULL, NULL);
    for (int k = 0; k < CLIENTS; k++)
        for (int i = 0; i < BURST; i++) {
            char path[64], want[16];
            snprintf(path, sizeof(path), "/c/%d/%d", k, i);
            snprintf(want, sizeof(want), "v%d", i);
            found += !strcmp(kt_req(c, KS_READ, 0, path, NULL), want);
        }
    ks_store_free(s);
    event_base_free(base);
    return found;
}

static void round_with(enum ks_sync sync, bool wr, const char *name)
{
    char dir[] = "/tmp/ks-commit.XXXXXX", sock[128], cmd[160];
    struct stat st;
    int fds[CLIENTS], w, oks = 0;
    pid_t pid;

    if (!mkdtemp(dir))
        tap_bail("mkdtemp: %s", strerror(errno));
    snprintf(sock, sizeof(sock), "%s/socket", dir);
    if ((pid = fork()) == 0)
        run_store(dir, sock, sync, wr);
    w = dial(sock);
    tap_ok(watch(w) == 0, "%s: a client watches /c", name);
    for (int k = 0; k < CLIENTS; k++)
        fds[k] = dial(sock);
    for (int k = 0; k < CLIENTS; k++)
        if (send_burst(fds[k], k) < 0)
            tap_bail("burst %d: %s", k, strerror(errno));
    for (int k = 0; k < CLIENTS; k++)
        oks += read_oks(fds[k], BURST);
    tap_ok(oks == CLIENTS * BURST, "%s: %d pipelined WRITEs from %d clients acknowledged (%d)",
           name, CLIENTS * BURST, CLIENTS, oks);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    snprintf(cmd, sizeof(cmd), "%s/journal", dir);
    if (stat(cmd, &st) < 0)
        st.st_size = 0;
    if (wr)
        tap_ok(st.st_size > 0 && st.st_size % (1 << 20) != 0, "%s: the journal file ends at its "
               "last record (%lld bytes)", name, (long long)st.st_size);
    else
        tap_ok(st.st_size > 0 && st.st_size % (1 << 20) == 0, "%s: the journal was mapped with "
               "space reserved ahead (%lld bytes)", name, (long long)st.st_size);
    tap_ok(replayed(dir) == oks, "%s: after SIGKILL the journal holds every acknowledged "
           "write", name);
    for (int k = 0; k < CLIENTS; k++)
        close(fds[k]);
    close(w);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        tap_diag("could not remove %s", dir);
}

int main(void)
{
    klog_init("test-commit", KLOG_ERROR, NULL);
    round_with(KS_SYNC_PERIODIC, false, "sync periodic");
    round_with(KS_SYNC_ALWAYS, false, "sync always");
    round_with(KS_SYNC_PERIODIC, true, "sync periodic, appends by write(2)");
    return tap_done();
}
