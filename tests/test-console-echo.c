/* test-console-echo.c - keel-consoled through a real host: a conecho guest on its console ring
 * (kg_rings_setup), registered with "add"; its output lands in <rundir>/console/dom<N>.log; an
 * attach gets the history and live output and its bytes become the guest's input (echoed);
 * keel-console ends an attach at ^]; bad commands are refused; SIGTERM stops the daemon. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

static struct hvhost host;
static char bdir[256], sock[100];

static pid_t consoled_start(void)
{
    pid_t pid = fork();
    char exe[512];

    if (pid == 0) {
        snprintf(exe, sizeof(exe), "%s/daemons/console/keel-consoled", bdir);
        execl(exe, "keel-consoled", "-r", host.rundir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && access(sock, F_OK) < 0; i++)
        usleep(50000);
    return pid;
}

static int connect_sock(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read from fd until text shows up in what was read (or timeout); 1 if found. */
static int read_until(int fd, const char *text, char *acc, size_t size, int ms)
{
    size_t len = strlen(acc);

    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < ms / 20 && !strstr(acc, text); i++) {
        ssize_t n = read(fd, acc + len, size - 1 - len);
        if (n > 0)
            acc[len += (size_t)n] = 0;
        else if (n == 0)
            break;
        else
            usleep(20000);
    }
    return strstr(acc, text) != NULL;
}

/* One command; its one-line answer into ans. */
static void command(const char *cmd, char *ans, size_t size)
{
    int fd = connect_sock();

    ans[0] = 0;
    if (fd < 0)
        return;
    if (write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd))
        read_until(fd, "\n", ans, size, 2000);
    ans[strcspn(ans, "\n")] = 0;
    close(fd);
}

static int file_has(const char *path, const char *text, int ms)
{
    char buf[8192];

    for (int i = 0; i < ms / 50; i++) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = 0;
        if (strstr(buf, text))
            return 1;
        usleep(50000);
    }
    return 0;
}

static int make_guest(struct kg_build_info *bi)
{
    struct kg_build_result res;
    char err[512];
    int domid = hvhost_create(&host, 1, 8);

    bi->kernel = hvhost_guest("conecho");
    bi->mem_kb = 8 << 10;
    bi->nr_vcpus = bi->max_vcpus = 1;
    if (domid < 0 || kg_rings_setup(host.h, (uint32_t)domid, bi->mem_kb, bi, err, sizeof(err)) < 0 ||
        kg_build(host.h, (uint32_t)domid, bi, &res, err, sizeof(err)) < 0)
        return -1;
    return domid;
}

static void attach_checks(int d, const char *log)
{
    char cmd[128], acc[8192] = "";
    int fd = connect_sock();

    snprintf(cmd, sizeof(cmd), "attach %d\n", d);
    tap_ok(fd >= 0 && write(fd, cmd, strlen(cmd)) > 0 && read_until(fd, "ready", acc, sizeof(acc), 5000)
           && !strncmp(acc, "OK\n", 3), "attach answers OK and replays the console's history");
    tap_ok(write(fd, "hello ring\n", 11) == 11 && read_until(fd, "echo: hello ring", acc, sizeof(acc), 5000),
           "input sent on the attach reaches the guest, which echoes it");
    tap_ok(file_has(log, "echo: hello ring", 3000), "the echo is in the domain's log too");
    close(fd);
}

/* keel-console with our pipes: input, then ^] while its stdin stays open. */
static void client_checks(int d)
{
    char exe[512], dom[16], out[4096] = "";
    int in[2], outp[2], st = -1, done = 0;
    pid_t pid;

    if (pipe(in) < 0 || pipe(outp) < 0)
        return;
    snprintf(exe, sizeof(exe), "%s/daemons/console/keel-console", bdir);
    snprintf(dom, sizeof(dom), "%d", d);
    if ((pid = fork()) == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        close(in[1]);
        close(outp[0]);
        execl(exe, "keel-console", "-r", host.rundir, dom, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    if (write(in[1], "from xl\n", 8) != 8)
        tap_diag("write to keel-console failed");
    tap_ok(read_until(outp[0], "echo: from xl", out, sizeof(out), 5000),
           "keel-console carries input and output");
    if (write(in[1], "\035", 1) != 1)
        tap_diag("write to keel-console failed");
    for (int i = 0; i < 100 && !(done = waitpid(pid, &st, WNOHANG) == pid); i++)
        usleep(50000);
    tap_ok(done && WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "keel-console ends the attach at ^] (exit 0) while its input is still open");
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    close(in[1]);
    close(outp[0]);
}

/* A domain destroyed without "remove" is dropped on VIRQ_DOM_EXC; its log stays. */
static void death_checks(void)
{
    struct kg_build_info bi = { 0 };
    char cmd[128], ans[256], log[256];
    int d = make_guest(&bi), gone = 0;

    snprintf(cmd, sizeof(cmd), "add %d %llu %u\n", d, (unsigned long long)bi.console_gfn,
             bi.console_port);
    command(cmd, ans, sizeof(ans));
    kc_domain_unpause(host.h, (uint32_t)d);
    snprintf(log, sizeof(log), "%s/console/dom%d.log", host.rundir, d);
    tap_ok(d > 0 && !strcmp(ans, "OK") && file_has(log, "conecho: domain", 5000),
           "a second domain's console is served");
    kc_domain_destroy(host.h, (uint32_t)d);
    snprintf(cmd, sizeof(cmd), "attach %d\n", d);
    for (int i = 0; i < 60 && !gone; i++) {
        command(cmd, ans, sizeof(ans));
        gone = !strncmp(ans, "ERR", 3);
        if (!gone)
            usleep(50000);
    }
    tap_ok(gone, "a domain destroyed without remove is dropped (attach: %s)", ans);
    tap_ok(file_has(log, "conecho: domain", 100), "its log stays");
}

/* keel-stored beside it: the console keys written in the store are enough (no "add"). */
static void store_checks(void)
{
    struct kg_build_info bi = { 0 };
    char cmd[700], log[256], xs[200];
    const char *b = getenv("KEEL_BUILDDIR");
    int d;

    if (system("command -v xenstore-write >/dev/null")) {
        tap_ok(1, "# SKIP xenstore-write not installed");
        return;
    }
    snprintf(xs, sizeof(xs), "%s/xenstored/socket", host.rundir);
    setenv("XENSTORED_PATH", xs, 1);
    snprintf(cmd, sizeof(cmd), "KEEL_RUNDIR='%s' '%s/daemons/store/keel-stored' -n",
             host.rundir, b && *b ? b : "..");
    tap_ok(system(cmd) == 0, "keel-stored starts (keel-consoled connects to it on its own)");
    d = make_guest(&bi);
    snprintf(cmd, sizeof(cmd), "xenstore-write /local/domain/%d/console/port %u "
             "/local/domain/%d/console/ring-ref %llu", d, bi.console_port, d,
             (unsigned long long)bi.console_gfn);
    tap_ok(d > 0 && system(cmd) == 0, "the toolstack writes console/port and console/ring-ref");
    kc_domain_unpause(host.h, (uint32_t)d);
    snprintf(log, sizeof(log), "%s/console/dom%d.log", host.rundir, d);
    tap_ok(file_has(log, "conecho: domain", 8000),
           "keel-consoled found the console through its store watch and logs it");
    kc_domain_destroy(host.h, (uint32_t)d);
    snprintf(cmd, sizeof(cmd), "kill $(cat '%s/xenstored/keel-stored.pid')", host.rundir);
    if (system(cmd) != 0)
        tap_diag("could not stop keel-stored");
}

int main(void)
{
    struct kg_build_info bi = { 0 };
    char cmd[128], ans[256], log[256];
    const char *b = getenv("KEEL_BUILDDIR");
    pid_t pid;
    int d, st = -1;

    snprintf(bdir, sizeof(bdir), "%s", b && *b ? b : "..");
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start keel-hv");
    snprintf(sock, sizeof(sock), "%s/console/socket", host.rundir);
    pid = consoled_start();
    tap_ok(access(sock, F_OK) == 0, "keel-consoled listens on <rundir>/console/socket");
    d = make_guest(&bi);
    tap_ok(d > 0, "a conecho domain with its rings");
    snprintf(cmd, sizeof(cmd), "add %d %llu %u\n", d, (unsigned long long)bi.console_gfn,
             bi.console_port);
    command(cmd, ans, sizeof(ans));
    tap_ok(!strcmp(ans, "OK"), "add DOMID GFN PORT registers the console (%s)", ans);
    command(cmd, ans, sizeof(ans));
    tap_ok(!strncmp(ans, "ERR", 3), "a second add of the same domain is refused (%s)", ans);
    command("add 7 xyz 3\n", ans, sizeof(ans));
    tap_ok(!strncmp(ans, "ERR", 3), "a malformed add is refused (%s)", ans);
    command("attach 4000\n", ans, sizeof(ans));
    tap_ok(!strncmp(ans, "ERR", 3), "attaching an unknown domain is refused (%s)", ans);
    kc_domain_unpause(host.h, (uint32_t)d);
    snprintf(log, sizeof(log), "%s/console/dom%d.log", host.rundir, d);
    tap_ok(file_has(log, "conecho: domain", 5000), "the guest's output is in console/dom%d.log", d);
    attach_checks(d, log);
    client_checks(d);
    death_checks();
    store_checks();
    snprintf(cmd, sizeof(cmd), "remove %d\n", d);
    command(cmd, ans, sizeof(ans));
    tap_ok(!strcmp(ans, "OK"), "remove DOMID stops serving it (%s)", ans);
    kc_domain_destroy(host.h, (uint32_t)d);
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && access(sock, F_OK) < 0,
           "SIGTERM stops keel-consoled cleanly (socket removed)");
    hvhost_stop(&host);
    return tap_done();
}
