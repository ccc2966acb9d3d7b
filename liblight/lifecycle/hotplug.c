/* hotplug.c - running a device's hotplug script with Xen's contract: `SCRIPT add|remove` for a
 * disk, `SCRIPT online|offline type_if=vif` for a vif, the environment script, XENBUS_TYPE,
 * XENBUS_PATH (relative to Domain-0's home), XENBUS_BASE_PATH (a vif also vif=<tap name> and
 * netdev=<gatewaydev or empty>), plus KEEL_RUNDIR and XENSTORED_PATH so stock
 * xenstore-read/-write reach Keel's store; stdin
 * /dev/null, output appended to RUNDIR/hotplug.log, killed (its process group) after a timeout.
 * Also where a script named without a directory is found. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lc_int.h"

#ifndef KEEL_SCRIPTDIR_INSTALLED
#define KEEL_SCRIPTDIR_INSTALLED "/etc/keel/scripts"
#endif

extern char **environ;

int kl__hotplug_find(kl_ctx *ctx, const char *name, char *out, size_t len)
{
    const char *dirs[2] = { getenv("KEEL_SCRIPTDIR"), KEEL_SCRIPTDIR_INSTALLED };

    if (!name || !*name)
        name = "block";
    if (name[0] == '/') {
        if (access(name, X_OK) < 0)
            return kl__err(ctx, -errno, "hotplug script %s: %s", name, strerror(errno));
        snprintf(out, len, "%s", name);
        return 0;
    }
    if (strchr(name, '/') || strlen(name) > 64)
        return kl__err(ctx, -EINVAL, "hotplug script '%.80s': give an absolute path or a name "
                       "in the script directory", name);
    for (int i = 0; i < 2; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        if ((size_t)snprintf(out, len, "%s/%s", dirs[i], name) < len && access(out, X_OK) == 0)
            return 0;
    }
    return kl__err(ctx, -ENOENT, "hotplug script '%s' not found in %s%s%s", name,
                   dirs[0] && *dirs[0] ? dirs[0] : "", dirs[0] && *dirs[0] ? " or " : "",
                   KEEL_SCRIPTDIR_INSTALLED);
}

/* The caller's environment without the names we set, then ours (built before fork: the child
 * of a threaded process must not allocate). */
static char **make_env(char *const ours[], size_t nours)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ && environ[n])
        n++;
    if (!(env = calloc(n + nours + 1, sizeof(*env))))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < nours && !dup; j++) {
            size_t nl = (size_t)(strchr(ours[j], '=') - ours[j]);
            dup = !strncmp(environ[i], ours[j], nl + 1);
        }
        if (!dup)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < nours; j++)
        env[k++] = ours[j];
    return env;
}

static void child(const char *script, const char *action, const char *arg, char **env, int logfd)
{
    int null = open("/dev/null", O_RDONLY);
    char *const argv[] = { (char *)script, (char *)action, (char *)arg, NULL };
    sigset_t none;

    setpgid(0, 0);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (null >= 0)
        dup2(null, 0);
    if (logfd >= 0) {
        dup2(logfd, 1);
        dup2(logfd, 2);
    }
    execve(script, argv, env);
    _exit(127);
}

/* Wait for pid up to timeout_ms; kill its process group after that. Exit status or -errno. */
static int reap(pid_t pid, int timeout_ms)
{
    uint64_t end = kl__now_ms() + (uint64_t)timeout_ms;
    int st;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (kl__now_ms() >= end) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -ETIMEDOUT;
        }
        nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
    }
}

int kl__hotplug_run(kl_ctx *ctx, const struct kl__dev *d, int add, int timeout_ms)
{
    const char *action = d->vif ? (add ? "online" : "offline") : (add ? "add" : "remove");
    char v[8][600], log[300];
    char *ours[8];
    char **env;
    int logfd, rc, n = 6;
    pid_t pid;

    snprintf(v[0], sizeof(v[0]), "script=%s", d->script);
    snprintf(v[1], sizeof(v[1]), "XENBUS_TYPE=%s", d->kind);
    snprintf(v[2], sizeof(v[2]), "XENBUS_PATH=%s", d->be_rel);
    snprintf(v[3], sizeof(v[3]), "XENBUS_BASE_PATH=backend");
    snprintf(v[4], sizeof(v[4]), "KEEL_RUNDIR=%s", ctx->rundir);
    snprintf(v[5], sizeof(v[5]), "XENSTORED_PATH=%s/xenstored/socket", ctx->rundir);
    if (d->vif) {
        snprintf(v[n++], sizeof(v[0]), "vif=%s", d->ifname);
        snprintf(v[n++], sizeof(v[0]), "netdev=%s", d->netdev);
    }
    for (int i = 0; i < n; i++)
        ours[i] = v[i];
    if (!(env = make_env(ours, (size_t)n)))
        return -ENOMEM;
    snprintf(log, sizeof(log), "%s/hotplug.log", ctx->rundir);
    logfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    pid = fork();
    if (pid == 0)
        child(d->script, action, d->vif ? "type_if=vif" : NULL, env, logfd);
    free(env);
    if (logfd >= 0)
        close(logfd);
    if (pid < 0)
        return kl__err(ctx, -errno, "hotplug %s %s: fork: %s", d->script, action, strerror(errno));
    rc = reap(pid, timeout_ms);
    if (rc == -ETIMEDOUT)
        return kl__err(ctx, rc, "hotplug script %s %s (%s) did not finish within %d s; killed",
                       d->script, action, d->be_rel, timeout_ms / 1000);
    if (rc == -ECHILD)           /* SIGCHLD ignored by the caller: the store tells the outcome */
        return 0;
    if (rc == 127)
        return kl__err(ctx, -ENOEXEC, "hotplug script %s could not be run", d->script);
    return rc;
}
