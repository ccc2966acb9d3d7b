/* test-kxs.c - common/kxs (the daemons' store client) against a real keel-stored started in a
 * private runtime directory: reads and writes, errors as negative errno, directories, watches
 * (fired at registration, queued while a reply is awaited, the fd pollable), transactions
 * (isolation, commit, conflict = -EAGAIN), decimal reads, a store that goes away. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kxs.h"
#include "tap.h"

static char dir[] = "/tmp/kxs-test.XXXXXX";

static pid_t start_store(void)
{
    const char *b = getenv("KEEL_BUILDDIR");
    char prog[512], pidf[600], sub[600];
    FILE *f;
    int pid = -1;

    snprintf(prog, sizeof(prog), "%s/daemons/store/keel-stored", b ? b : "../..");
    snprintf(sub, sizeof(sub), "%s/xenstored", dir);
    mkdir(sub, 0700);
    pid_t c = fork();
    if (c == 0) {
        execl(prog, prog, "-r", dir, "-n", (char *)NULL);
        _exit(127);
    }
    waitpid(c, NULL, 0);     /* keel-stored daemonizes once its socket listens */
    snprintf(pidf, sizeof(pidf), "%s/xenstored/keel-stored.pid", dir);
    if ((f = fopen(pidf, "r"))) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = -1;
        fclose(f);
    }
    return pid;
}

static int has_event(kxs *x, const char *path, const char *token)
{
    char *p, *t;
    int found = 0;

    while (kxs_next_event(x, &p, &t) == 1) {
        if (!strcmp(p, path) && !strcmp(t, token))
            found = 1;
        free(p);
    }
    return found;
}

int main(void)
{
    kxs *a = NULL, *b = NULL;
    char *v = NULL, **names = NULL;
    unsigned n = 0;
    uint64_t u = 0;
    uint32_t tx = 0, tx2 = 0;
    pid_t store;

    unsetenv("XENSTORED_PATH");
    if (!mkdtemp(dir))
        return 1;
    store = start_store();
    tap_ok(store > 0, "a private keel-stored starts in %s", dir);
    tap_ok(kxs_open(&a, dir) == 0 && kxs_open(&b, dir) == 0,
           "kxs_open connects to <rundir>/xenstored/socket");
    if (!a || !b)
        return tap_done();
    tap_ok(kxs_write(a, 0, "/t/one", "hello") == 0, "write a node");
    tap_ok(kxs_read(a, 0, "/t/one", &v, NULL) == 0 && v && !strcmp(v, "hello"),
           "read it back");
    free(v);
    v = NULL;
    tap_ok(kxs_read(a, 0, "/t/none", &v, NULL) == -ENOENT, "a missing node reads as -ENOENT");
    tap_ok(strcmp(kxs_error(a), "store: READ /t/none: ENOENT") == 0,
           "the handle keeps the failure's message (got '%s')", kxs_error(a));
    tap_ok(kxs_write(a, 0, "/t/two", "2") == 0 &&
           kxs_directory(a, 0, "/t", &names, &n) == 2 && names && !strcmp(names[0], "one") &&
           !strcmp(names[1], "two") && names[2] == NULL,
           "directory lists the children in order");
    free(names);
    tap_ok(kxs_read_u64(a, 0, "/t/two", 10, &u) == 0 && u == 2, "read_u64 parses a decimal");
    kxs_write(a, 0, "/t/bad", "12x");
    tap_ok(kxs_read_u64(a, 0, "/t/bad", 100, &u) == -EINVAL, "read_u64 rejects '12x'");
    tap_ok(kxs_read_u64(a, 0, "/t/two", 1, &u) == -EINVAL, "read_u64 rejects a value above max");
    kxs_write(a, 0, "/t/bad", "");
    tap_ok(kxs_read_u64(a, 0, "/t/bad", 100, &u) == -EINVAL, "read_u64 rejects an empty value");

    tap_ok(kxs_watch(a, "/w", "tok") == 0, "register a watch");
    kxs_pump(a);
    tap_ok(has_event(a, "/w", "tok"), "the watch fires once at registration");
    kxs_write(b, 0, "/w/x", "1");
    tap_ok(kxs_read(a, 0, "/t/one", &v, NULL) == 0, "a request made while an event is on its way");
    free(v);
    v = NULL;
    tap_ok(kxs_pending(a) && has_event(a, "/w/x", "tok"),
           "the event that arrived before the reply is queued, not lost");
    kxs_write(b, 0, "/w/y", "1");
    {
        struct pollfd p = { kxs_fd(a), POLLIN, 0 };
        tap_ok(poll(&p, 1, 5000) == 1, "kxs_fd becomes readable when an event arrives");
    }
    tap_ok(kxs_pump(a) == 0 && has_event(a, "/w/y", "tok"), "kxs_pump queues it");
    tap_ok(kxs_unwatch(a, "/w", "tok") == 0, "unwatch");
    tap_ok(kxs_unwatch(a, "/w", "tok") == -ENOENT, "a second unwatch is -ENOENT");

    tap_ok(kxs_tx_start(a, &tx) == 0 && tx != 0, "start a transaction");
    tap_ok(kxs_write(a, tx, "/t/txnode", "in-tx") == 0, "write inside it");
    tap_ok(kxs_read(b, 0, "/t/txnode", &v, NULL) == -ENOENT, "not visible outside before commit");
    tap_ok(kxs_tx_end(a, tx, 1) == 0, "commit");
    tap_ok(kxs_read(b, 0, "/t/txnode", &v, NULL) == 0 && !strcmp(v, "in-tx"),
           "visible after commit");
    free(v);
    v = NULL;
    kxs_tx_start(a, &tx);
    kxs_tx_start(b, &tx2);
    kxs_read(a, tx, "/t/one", &v, NULL);
    free(v);
    v = NULL;
    kxs_write(a, tx, "/t/one", "from-a");
    kxs_write(b, tx2, "/t/one", "from-b");
    tap_ok(kxs_tx_end(b, tx2, 1) == 0, "the first of two conflicting transactions commits");
    tap_ok(kxs_tx_end(a, tx, 1) == -EAGAIN, "the second gets -EAGAIN");
    tap_ok(kxs_tx_start(a, &tx) == 0 && kxs_write(a, tx, "/t/gone", "x") == 0 &&
           kxs_tx_end(a, tx, 0) == 0 && kxs_read(a, 0, "/t/gone", &v, NULL) == -ENOENT,
           "an aborted transaction leaves nothing");
    {
        const char *perms[] = { "n0", "r5" };
        tap_ok(kxs_set_perms(a, 0, "/t/one", perms, 2) == 0, "set_perms");
    }
    tap_ok(kxs_rm(a, 0, "/t") == 0 && kxs_read(a, 0, "/t/one", &v, NULL) == -ENOENT,
           "rm removes a subtree");
    tap_ok(kxs_write(a, 0, "bad//path", "x") == -EINVAL, "a malformed path is -EINVAL");

    tap_ok(!kxs_dead(a) && !kxs_dead(b), "a live connection is not marked dead");
    kill(store, SIGKILL);
    for (int i = 0; i < 50 && kill(store, 0) == 0; i++)
        usleep(20000);
    {
        int rc = kxs_read(a, 0, "/x", &v, NULL);
        tap_ok(rc < 0 && rc != -ETIMEDOUT, "a store that went away fails the request (%d), no hang", rc);
        tap_ok(kxs_dead(a), "and the handle says the connection is dead (kxs_dead)");
        tap_ok(kxs_pump(b) < 0 && kxs_dead(b), "a pump on the other handle finds it dead too");
    }
    kxs_close(a);
    kxs_close(b);
    {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            tap_diag("cannot remove %s", dir);
    }
    return tap_done();
}
