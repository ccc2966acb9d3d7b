/* keel-consoled.c - the console daemon's main program: options, runtime directory
 * (<rundir>/console: the socket and the per-domain logs), the hypervisor connection (opened in
 * one place, kcd_core_open), VIRQ_DOM_EXC and the listening socket; then the privileged part
 * (kcd_priv.c) starts the confined serving process, this same binary run with --privsep-child
 * (kcd_child.c). SIGTERM/SIGINT stop both; SIGHUP reopens the domains' logs (log rotation). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kcd_child.h"
#include "kcd_confine.h"
#include "kcd_privd.h"
#include "klog.h"
#include "kprivsep.h"
#include "krundir.h"
#include "ksock.h"

struct kcd_opts {
    const char *rundir, *user, *child;
    int use_store;
};

static void kcd_usage(FILE *f)
{
    fprintf(f, "Usage: keel-consoled [-r RUNDIR] [-n] [-u USER] [-l error|warn|info|debug]\n"
               "Serves guests' console rings: logs in <rundir>/console/dom<N>.log, control and\n"
               "attach socket <rundir>/console/socket. Runs in the foreground.\n"
               "Also watches the store ($XENSTORED_PATH, else <rundir>/xenstored/socket) for\n"
               "/local/domain/N/console/{ring-ref,port}; -n: no store.\n"
               "The rings, the store's replies and the clients are handled by a confined process\n"
               "running as USER (-u; default keel-console, else nobody).\n"
               "SIGHUP reopens the domains' logs (after logrotate moved them).\n"
               "Runtime directory: -r, else $KEEL_RUNDIR, else %s.\n", KEEL_DEFAULT_RUNDIR);
}

static int kcd_parse(int argc, char **argv, struct kcd_opts *o)
{
    static const struct option longs[] = {
        { "privsep-child", required_argument, NULL, 'C' }, { NULL, 0, NULL, 0 },
    };
    int c;

    o->rundir = krundir(NULL);
    o->use_store = 1;
    while ((c = getopt_long(argc, argv, "r:l:nu:h", longs, NULL)) != -1) {
        switch (c) {
        case 'r': o->rundir = optarg; break;
        case 'l':
            if (klog_set_level_name(optarg) < 0) {
                fprintf(stderr, "keel-consoled: unknown log level '%s'\n", optarg);
                return -1;
            }
            break;
        case 'n': o->use_store = 0; break;
        case 'u': o->user = optarg; break;
        case 'C': o->child = optarg; break;
        case 'h': kcd_usage(stdout); exit(0);
        default: kcd_usage(stderr); return -1;
        }
    }
    if (optind != argc) {
        kcd_usage(stderr);
        return -1;
    }
    return 0;
}

/* The core connection, in the console role: the one place it is opened. */
static int kcd_core_open(kc_handle **h, const char *rundir)
{
    return kc_open_role(h, rundir, KC_ROLE_CONSOLE);
}

static void kcd_store_path(const struct kcd_opts *o, char *path, size_t len)
{
    const char *env = getenv("XENSTORED_PATH");

    if (env && *env)
        snprintf(path, len, "%s", env);
    else
        snprintf(path, len, "%s/xenstored/socket", o->rundir);
}

static int kcd_exc_fd(kc_handle *h)
{
    uint32_t port;
    int fd;

    if (kc_evtchn_bind_virq(h, KEEL_VIRQ_DOM_EXC, &port) < 0 || (fd = kc_evtchn_fd(h, port)) < 0) {
        klog(KLOG_WARN, "main", "VIRQ_DOM_EXC: %s (dead domains stay until removed)",
             kc_error(h));
        return -1;
    }
    return fd;
}

static int kcd_run(const struct kcd_opts *o, int argc, char **argv)
{
    struct kcd_priv_cfg pc = { .listen_fd = -1 };
    char dir[4096], sock[4200], store[4200], carg[128];
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int rc;

    snprintf(dir, sizeof(dir), "%s/console", o->rundir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        klog(KLOG_ERROR, "main", "%s: %s", dir, strerror(errno));
        return -errno;
    }
    if (geteuid() == 0 && (rc = kcd_confine_user(o->user, &uid, &gid)) < 0) {
        klog(KLOG_ERROR, "main", "user %s: %s", o->user ? o->user : "keel-console (or nobody)",
             rc == -EINVAL ? "the serving process must not run as root" : "no such user");
        return rc;
    }
    if ((rc = kcd_core_open(&pc.h, o->rundir)) < 0) {
        klog(KLOG_ERROR, "main", "no hypervisor core in %s: %s", o->rundir, strerror(-rc));
        return rc;
    }
    pc.exc_fd = kcd_exc_fd(pc.h);
    snprintf(sock, sizeof(sock), "%s/socket", dir);
    if ((pc.listen_fd = rc = ksock_listen(sock, 0600, 16, SOCK_NONBLOCK)) < 0) {
        klog(KLOG_ERROR, "main", "%s: cannot listen: %s", sock, strerror(-rc));
        goto out;
    }
    klog(KLOG_INFO, "main", "listening on %s", sock);
    kcd_store_path(o, store, sizeof(store));
    pc.dir = dir;
    pc.store = o->use_store ? store : NULL;
    rc = -ENOMEM;
    if (!(pc.child_argv = kprivsep_child_argv(argc, argv, uid, gid, pc.exc_fd, carg, sizeof(carg))))
        goto out;
    rc = kcd_priv_run(&pc);
    unlink(sock);
out:
    free(pc.child_argv);
    if (pc.listen_fd >= 0)
        close(pc.listen_fd);
    kc_close(pc.h);
    return rc;
}

/* The serving process (started by kcd_priv.c with the daemon's own options). */
static int kcd_child_main(const struct kcd_opts *o)
{
    struct kcd_child_cfg cc = { .exc_fd = -1 };
    char dir[4096], store[4200], c;
    unsigned long uid, gid;
    long ppid;
    int exc;

    if (sscanf(o->child, "%lu:%lu:%ld:%d%c", &uid, &gid, &ppid, &exc, &c) != 4) {
        fprintf(stderr, "keel-consoled: --privsep-child is internal\n");
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/console", o->rundir);
    kcd_store_path(o, store, sizeof(store));
    cc.dir = dir;
    cc.store = o->use_store ? store : NULL;
    cc.uid = (uid_t)uid;
    cc.gid = (gid_t)gid;
    cc.parent = (pid_t)ppid;
    cc.exc_fd = exc ? KCD_PRIV_FD_EXC : -1;
    /* leak checking at exit would need ptrace, outside the filter: leave without it */
    _exit(kcd_child_run(&cc) < 0 ? 1 : 0);
}

int main(int argc, char **argv)
{
    struct kcd_opts o;

    memset(&o, 0, sizeof(o));
    klog_init_env("keel-consoled", KLOG_WARN);
    if (kcd_parse(argc, argv, &o) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    if (o.child)
        return kcd_child_main(&o);
    return kcd_run(&o, argc, argv) < 0 ? 1 : 0;
}
