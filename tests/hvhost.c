/* hvhost.c - see hvhost.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvhost.h"

uint64_t hvhost_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* $KEEL_BUILDDIR (make check sets it), else the build tree this was built in. */
static const char *builddir(void)
{
    const char *b = getenv("KEEL_BUILDDIR");

    return b && *b ? b : KEEL_ABS_BUILDDIR;
}

const char *hvhost_guest(const char *name)
{
    static __thread char path[512];

    snprintf(path, sizeof(path), "%s/guests/%s", builddir(), name);
    return path;
}

int hvhost_start(struct hvhost *host)
{
    char exe[512], sock[300];

    memset(host, 0, sizeof(*host));
    snprintf(host->rundir, sizeof(host->rundir), "/tmp/keel-test-XXXXXX");
    if (!mkdtemp(host->rundir))
        return -errno;
    snprintf(exe, sizeof(exe), "%s/hypervisor/keel-hv", builddir());
    snprintf(sock, sizeof(sock), "%s/hv.sock", host->rundir);
    host->pid = fork();
    if (host->pid == 0) {
        char log[128];
        int fd;
        snprintf(log, sizeof(log), "%s/keel-hv.log", host->rundir);
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        prctl(PR_SET_PDEATHSIG, SIGTERM);     /* a killed test takes its core with it */
        execl(exe, "keel-hv", "-r", host->rundir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        if (access(sock, F_OK) == 0 && kc_open(&host->h, host->rundir) == 0)
            return 0;
        if (waitpid(host->pid, NULL, WNOHANG) == host->pid)
            return -ECHILD;
        usleep(10000);
    }
    return -ETIMEDOUT;
}

void hvhost_stop(struct hvhost *host)
{
    char cmd[600];

    if (host->h)
        kc_close(host->h);
    host->h = NULL;
    if (host->pid > 0) {
        int status = 0;
        kill(host->pid, SIGTERM);
        for (int i = 0; i < 1500 && waitpid(host->pid, &status, WNOHANG) == 0; i++)
            usleep(10000);
        if (waitpid(host->pid, &status, WNOHANG) == 0) {
            fprintf(stderr, "# hvhost: keel-hv did not stop within 15 s; killing it\n");
            kill(host->pid, SIGKILL);
            waitpid(host->pid, &status, 0);
        }
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", host->rundir);
    if (system(cmd) != 0)
        fprintf(stderr, "hvhost: could not remove %s\n", host->rundir);
}

int hvhost_create(struct hvhost *host, uint32_t vcpus, uint64_t mib)
{
    struct keel_domctl_create cr = { .max_vcpus = vcpus, .max_mem_kb = mib << 10 };
    uint32_t domid = 0;
    int rc = kc_domain_create(host->h, &cr, &domid);

    return rc < 0 ? rc : (int)domid;
}

int hvhost_build(struct hvhost *host, uint32_t domid, const char *guest, const char *cmdline,
                 uint32_t vcpus, uint64_t mib)
{
    struct kg_build_info bi = { .kernel = hvhost_guest(guest), .cmdline = cmdline,
                                .mem_kb = mib << 10, .nr_vcpus = 1, .max_vcpus = vcpus };
    struct kg_build_result res;
    char err[512];
    int rc = kg_build(host->h, domid, &bi, &res, err, sizeof(err));

    if (rc < 0)
        fprintf(stderr, "# build failed: %s\n", err);
    return rc;
}

int hvhost_boot_paused(struct hvhost *host, const char *guest, const char *cmdline,
                       uint32_t vcpus, uint64_t mib)
{
    int domid = hvhost_create(host, vcpus, mib), rc;

    if (domid < 0)
        return domid;
    if ((rc = hvhost_build(host, (uint32_t)domid, guest, cmdline, vcpus, mib)) < 0) {
        kc_domain_destroy(host->h, (uint32_t)domid);
        return rc;
    }
    return domid;
}

int hvhost_boot(struct hvhost *host, const char *guest, const char *cmdline, uint32_t vcpus,
                uint64_t mib)
{
    int domid = hvhost_boot_paused(host, guest, cmdline, vcpus, mib), rc;

    if (domid < 0)
        return domid;
    if ((rc = kc_domain_unpause(host->h, (uint32_t)domid)) < 0) {
        kc_domain_destroy(host->h, (uint32_t)domid);
        return rc;
    }
    return domid;
}

const char *hvhost_console(struct hvhost *host, uint32_t domid)
{
    static char buf[16384];
    uint64_t off = 0;
    size_t total = 0;

    for (;;) {
        size_t len = sizeof(buf) - 1 - total;
        if (!len || kc_domain_console_read(host->h, domid, &off, buf + total, &len, NULL) < 0 ||
            !len)
            break;
        total += len;
    }
    buf[total] = 0;
    return buf;
}

int hvhost_wait_console(struct hvhost *host, uint32_t domid, const char *text, int timeout_ms)
{
    for (int t = 0; t <= timeout_ms; t += 10) {
        if (strstr(hvhost_console(host, domid), text))
            return 1;
        usleep(10000);
    }
    return 0;
}

int hvhost_wait_shutdown(struct hvhost *host, uint32_t domid, int timeout_ms)
{
    struct keel_domctl_info info;

    for (int t = 0; t <= timeout_ms; t += 5) {
        if (kc_domain_getinfo(host->h, domid, &info) < 0)
            return -1;
        if (info.flags & KEEL_DOMINF_SHUTDOWN)
            return (int)((info.flags >> KEEL_DOMINF_SHUTDOWN_SHIFT) & 0xff);
        usleep(5000);
    }
    return -1;
}

int hvhost_count_fds_to(pid_t pid, const char *text)
{
    char path[300], target[512];
    struct dirent *e;
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d))) {
        ssize_t len;
        snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, e->d_name);
        len = readlink(path, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = 0;
        n += strstr(target, text) != NULL;
    }
    closedir(d);
    return n;
}

int hvhost_count_fds(pid_t pid)
{
    return hvhost_count_fds_to(pid, "");
}

int hvhost_each_domain_process(pid_t pid, void (*fn)(pid_t child, void *arg), void *arg)
{
    char path[300], line[256];
    struct dirent *e;
    DIR *d = opendir("/proc");
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        FILE *f;
        int ppid = 0, stub = 0;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
        if (!(f = fopen(path, "re")))
            continue;
        while (fgets(line, sizeof(line), f)) {
            if (!strncmp(line, "PPid:", 5))
                ppid = atoi(line + 5);
            if (!strncmp(line, "Name:", 5))      /* not the core's child waiting for a domain */
                stub = strstr(line, "keel-stub") != NULL;
        }
        fclose(f);
        if (ppid == pid && stub) {
            n++;
            if (fn)
                fn((pid_t)atoi(e->d_name), arg);
        }
    }
    closedir(d);
    return n;
}

int hvhost_count_children(pid_t pid)
{
    return hvhost_each_domain_process(pid, NULL, NULL);
}

void hvhost_keep_log(struct hvhost *host, const char *env, const char *who)
{
    const char *to = getenv(env);
    char cmd[700];

    if (!to)
        return;
    snprintf(cmd, sizeof(cmd), "cp '%s/keel-hv.log' '%s'", host->rundir, to);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: could not copy the core's log\n", who);
}

int hvhost_ring_has(struct hvhost *host, const char *text)
{
    static char buf[64 * 1024 + 1];
    size_t len = sizeof(buf) - 1;
    uint64_t idx = 0;

    if (kc_readconsolering(host->h, buf, &len, &idx, 0) < 0)
        return 0;
    buf[len] = 0;
    return strstr(buf, text) != NULL;
}
