/* keel-stored.c - the store daemon's main program: options, runtime directory, socket,
 * pid file, daemonizing with a readiness handshake, the store user and its state directory;
 * then the privileged part (ks_priv.c), which starts the confined request process: this same
 * binary run with --privsep-child (ks_child.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "klog.h"
#include "kprivsep.h"
#include "ks_child.h"
#include "ks_hv.h"
#include "ks_priv.h"
#include "ks_privd.h"
#include "ks_store.h"
#include "krundir.h"
#include "ksock.h"

#define KS_DEFAULT_USER "keel-store"
#define KS_FALLBACK_USER "nobody"

struct ks_opts {
    char dir[4096];         /* <rundir>/xenstored */
    const char *rundir;     /* where the hypervisor core is looked for too */
    char sock[4096];
    char pidfile[4096];
    char logfile[4096];
    const char *state;
    const char *user;       /* -u: the request process's user (name or UID:GID) */
    const char *child;      /* --privsep-child=UID:GID:PPID:EXC (internal) */
    bool foreground;
    bool persist;
    struct ks_config cfg;
};

static void ks_usage(FILE *f)
{
    fprintf(f,
        "Usage: keel-stored [OPTIONS]\n"
        "xenstore-compatible store daemon. Runtime directory: $KEEL_RUNDIR (default %s);\n"
        "files live in <rundir>/xenstored/.\n"
        "  -r, --rundir DIR        runtime directory (overrides $KEEL_RUNDIR)\n"
        "  -s, --socket PATH       Unix socket (default <rundir>/xenstored/socket)\n"
        "  -F, --foreground        do not daemonize\n"
        "  -p, --pid-file FILE     pid file (default <rundir>/xenstored/keel-stored.pid)\n"
        "  -L, --log-file FILE     log file when daemonized (default <rundir>/xenstored/keel-stored.log)\n"
        "  -l, --log-level LEVEL   error|warn|info|debug (default warn, or $KEEL_LOG)\n"
        "  -S, --state-dir DIR     journal directory (default <rundir>/xenstored)\n"
        "  -n, --no-persist        keep the tree in memory only\n"
        "      --sync MODE         always|periodic|none: fdatasync per change, every second, never\n"
        "  -Q, --quota NAME=VALUE  nodes|watches|transactions|node-size|permissions (0 = no limit)\n"
        "  -u, --user USER         user (name or UID:GID) of the request process (default "
        KS_DEFAULT_USER ", else " KS_FALLBACK_USER ")\n"
        "  -h, --help              this text\n", KEEL_DEFAULT_RUNDIR);
}

static int ks_set_quota(struct ks_config *cfg, const char *arg)
{
    struct { const char *name; unsigned *v; } qs[] = {
        { "nodes", &cfg->quota.nodes }, { "watches", &cfg->quota.watches },
        { "transactions", &cfg->quota.transactions }, { "node-size", &cfg->quota.node_size },
        { "permissions", &cfg->quota.perms },
    };
    const char *eq = strchr(arg, '=');
    char *end;
    unsigned long v;

    if (!eq)
        return -EINVAL;
    errno = 0;
    v = strtoul(eq + 1, &end, 10);
    if (errno || *end || end == eq + 1 || v > 0xffffffffUL)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        if (strlen(qs[i].name) == (size_t)(eq - arg) && !strncmp(qs[i].name, arg, (size_t)(eq - arg))) {
            *qs[i].v = (unsigned)v;
            return 0;
        }
    }
    return -EINVAL;
}

static int ks_level(const char *s, enum klog_level *out)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };

    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum klog_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int ks_path_join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int ks_parse_opts(int argc, char **argv, struct ks_opts *o)
{
    static const struct option longs[] = {
        { "rundir", required_argument, NULL, 'r' }, { "socket", required_argument, NULL, 's' },
        { "foreground", no_argument, NULL, 'F' }, { "pid-file", required_argument, NULL, 'p' },
        { "log-file", required_argument, NULL, 'L' }, { "log-level", required_argument, NULL, 'l' },
        { "state-dir", required_argument, NULL, 'S' }, { "no-persist", no_argument, NULL, 'n' },
        { "sync", required_argument, NULL, 'y' }, { "quota", required_argument, NULL, 'Q' },
        { "user", required_argument, NULL, 'u' }, { "privsep-child", required_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    const char *rundir = krundir(NULL), *sock = NULL, *pid = NULL, *log = NULL;
    enum klog_level lvl;
    int c;

    o->persist = true;
    ks_config_defaults(&o->cfg);
    while ((c = getopt_long(argc, argv, "r:s:Fp:L:l:S:nQ:u:h", longs, NULL)) != -1) {
        switch (c) {
        case 'r': rundir = optarg; break;
        case 's': sock = optarg; break;
        case 'F': o->foreground = true; break;
        case 'p': pid = optarg; break;
        case 'L': log = optarg; break;
        case 'l':
            if (ks_level(optarg, &lvl) < 0) {
                fprintf(stderr, "keel-stored: --log-level: unknown level '%s'\n", optarg);
                return -EINVAL;
            }
            klog_set_level(lvl);
            break;
        case 'S': o->state = optarg; break;
        case 'n': o->persist = false; break;
        case 'y':
            if (!strcmp(optarg, "always")) o->cfg.sync = KS_SYNC_ALWAYS;
            else if (!strcmp(optarg, "periodic")) o->cfg.sync = KS_SYNC_PERIODIC;
            else if (!strcmp(optarg, "none")) o->cfg.sync = KS_SYNC_NONE;
            else {
                fprintf(stderr, "keel-stored: --sync: expected always|periodic|none, got '%s'\n", optarg);
                return -EINVAL;
            }
            break;
        case 'Q':
            if (ks_set_quota(&o->cfg, optarg) < 0) {
                fprintf(stderr, "keel-stored: --quota: cannot parse '%s'\n", optarg);
                return -EINVAL;
            }
            break;
        case 'u': o->user = optarg; break;
        case 'C': o->child = optarg; break;
        case 'h': ks_usage(stdout); exit(0);
        default: ks_usage(stderr); return -EINVAL;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "keel-stored: unexpected argument '%s'\n", argv[optind]);
        return -EINVAL;
    }
    if (ks_path_join(o->dir, sizeof(o->dir), rundir, "xenstored") < 0)
        return -ENAMETOOLONG;
    o->rundir = rundir;
    snprintf(o->sock, sizeof(o->sock), "%s", sock ? sock : "");
    snprintf(o->pidfile, sizeof(o->pidfile), "%s", pid ? pid : "");
    snprintf(o->logfile, sizeof(o->logfile), "%s", log ? log : "");
    if ((!sock && ks_path_join(o->sock, sizeof(o->sock), o->dir, "socket") < 0) ||
        (!pid && ks_path_join(o->pidfile, sizeof(o->pidfile), o->dir, "keel-stored.pid") < 0) ||
        (!log && ks_path_join(o->logfile, sizeof(o->logfile), o->dir, "keel-stored.log") < 0))
        return -ENAMETOOLONG;
    o->cfg.statedir = o->persist ? (o->state ? o->state : o->dir) : NULL;
    (void)rundir;
    return 0;
}

static int ks_mkdirs(const char *dir)
{
    char buf[4096];

    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(buf, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* Fork; the parent waits until the child reports readiness (one byte) or failure. */
static int ks_daemonize(int *ready_fd)
{
    int p[2];
    pid_t pid;
    char c;

    if (pipe(p) < 0)
        return -errno;
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid > 0) {
        close(p[1]);
        exit(read(p[0], &c, 1) == 1 && c == 'R' ? 0 : 1);
    }
    close(p[0]);
    setsid();
    *ready_fd = p[1];
    return 0;
}

/* Take the pid file's lock (held for the daemon's life: a second keel-stored on the same
 * runtime directory refuses to start instead of stealing the socket), then write our pid.
 * Returns the open fd or a negative errno (-EBUSY: another daemon holds it). */
static int ks_lock_pidfile(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), rc;
    char buf[32];

    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        return rc;
    }
    snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf)) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int ks_redirect_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600), nul;

    if (fd < 0)
        return -errno;
    dup2(fd, STDERR_FILENO);
    close(fd);
    nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
        dup2(nul, STDIN_FILENO);
        dup2(nul, STDOUT_FILENO);
        close(nul);
    }
    return 0;
}

/* The request process's user: -u NAME or UID:GID, else keel-store, else nobody. */
static int ks_resolve_user(const char *name, uid_t *uid, gid_t *gid)
{
    struct passwd *pw;
    unsigned long u, g;
    char c;

    if (name && sscanf(name, "%lu:%lu%c", &u, &g, &c) == 2) {
        *uid = (uid_t)u;
        *gid = (gid_t)g;
        return u && g ? 0 : -EINVAL;
    }
    pw = getpwnam(name ? name : KS_DEFAULT_USER);
    if (!pw && !name) {
        klog(KLOG_INFO, "main", "no user %s: the request process runs as %s",
             KS_DEFAULT_USER, KS_FALLBACK_USER);
        pw = getpwnam(KS_FALLBACK_USER);
    }
    if (!pw)
        return -ENOENT;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return pw->pw_uid && pw->pw_gid ? 0 : -EINVAL;
}

/* The request process's chroot: root-owned, writable by the store group, sticky (it creates
 * and replaces its journal files but cannot remove the socket, pid or log file); journal files
 * of an earlier run pass to the store user. */
static int ks_prepare_jail(const char *dir, uid_t uid, gid_t gid)
{
    static const char *const files[] = { "journal", "journal.new" };
    char path[4096];

    if (geteuid() != 0)
        return 0;
    if (chown(dir, 0, gid) < 0 || chmod(dir, 01770) < 0)
        return -errno;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (ks_path_join(path, sizeof(path), dir, files[i]) < 0)
            return -ENAMETOOLONG;
        if (fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
            return -errno;
    }
    return 0;
}

static int ks_run(struct ks_opts *o, int argc, char **argv, int ready_fd)
{
    const char *jail = o->cfg.statedir ? o->cfg.statedir : o->dir;
    struct ks_priv_cfg pc = { .listen_fd = -1, .ready_fd = ready_fd };
    char carg[128];
    uid_t uid = 0;
    gid_t gid = 0;
    int rc, pidfd;

    if ((pidfd = rc = ks_lock_pidfile(o->pidfile)) < 0) {
        klog(KLOG_ERROR, "main", "%s: %s", o->pidfile, rc == -EBUSY ?
             "another keel-stored runs on this runtime directory" : strerror(-rc));
        return rc;
    }
    if (geteuid() == 0 && (rc = ks_resolve_user(o->user, &uid, &gid)) < 0) {
        klog(KLOG_ERROR, "main", "user %s: %s", o->user ? o->user : KS_DEFAULT_USER,
             rc == -EINVAL ? "the request process must not run as root" : "no such user");
        goto out;
    }
    if (geteuid() != 0) {
        uid = geteuid();
        gid = getegid();
    }
    if ((rc = ks_mkdirs(jail)) < 0 || (rc = ks_prepare_jail(jail, uid, gid)) < 0) {
        klog(KLOG_ERROR, "main", "%s: cannot prepare the state directory: %s", jail,
             strerror(-rc));
        goto out;
    }
    if ((rc = ks_hv_open(o->rundir, &pc.hv)) < 0)
        klog(KLOG_INFO, "main", "no hypervisor core (%s): serving sockets only", strerror(-rc));
    if ((pc.listen_fd = rc = ksock_listen(o->sock, 0600, 64, SOCK_NONBLOCK)) < 0) {
        klog(KLOG_ERROR, "main", "%s: cannot listen: %s", o->sock, strerror(-rc));
        goto out;
    }
    klog(KLOG_INFO, "main", "listening on %s", o->sock);
    rc = -ENOMEM;
    if (!(pc.child_argv = kprivsep_child_argv(argc, argv, uid, gid,
                                        pc.hv ? ks_hv_exc_fd(pc.hv) : -1, carg, sizeof(carg))))
        goto out;
    rc = ks_priv_run(&pc);
    unlink(o->sock);
    if (rc == 0)
        unlink(o->pidfile);
out:
    free(pc.child_argv);
    if (pc.listen_fd >= 0)
        close(pc.listen_fd);
    ks_hv_close(pc.hv);
    close(pidfd);
    return rc;
}

/* The request process (started by ks_priv.c with the daemon's own options). */
static int ks_child_main(struct ks_opts *o)
{
    struct ks_child_cfg cc = { .cfg = o->cfg, .exc_fd = -1 };
    unsigned long uid, gid;
    long ppid;
    int exc;
    char c;

    if (sscanf(o->child, "%lu:%lu:%ld:%d%c", &uid, &gid, &ppid, &exc, &c) != 4) {
        fprintf(stderr, "keel-stored: --privsep-child is internal\n");
        return 2;
    }
    cc.uid = (uid_t)uid;
    cc.gid = (gid_t)gid;
    cc.parent = (pid_t)ppid;
    cc.exc_fd = exc ? KS_PRIV_FD_EXC : -1;
    cc.jail = o->cfg.statedir ? o->cfg.statedir : o->dir;
    cc.cfg.peer_uid = (long)geteuid();  /* dom0 peers: root, or our user before the drop */
    /* leak checking at exit would need ptrace, outside the filter: leave without it */
    _exit(ks_child_run(&cc) < 0 ? 1 : 0);
}

int main(int argc, char **argv)
{
    struct ks_opts o;
    int ready_fd = -1, rc;

    memset(&o, 0, sizeof(o));
    klog_init_env("keel-stored", KLOG_WARN);
    if (ks_parse_opts(argc, argv, &o) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    if (o.child)
        return ks_child_main(&o);
    if ((rc = ks_mkdirs(o.dir)) < 0) {
        fprintf(stderr, "keel-stored: %s: cannot create: %s\n", o.dir, strerror(-rc));
        return 1;
    }
    if (!o.foreground) {
        if ((rc = ks_daemonize(&ready_fd)) < 0 || (rc = ks_redirect_log(o.logfile)) < 0) {
            fprintf(stderr, "keel-stored: cannot daemonize (log %s): %s\n", o.logfile, strerror(-rc));
            return 1;
        }
        fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
    }
    return ks_run(&o, argc, argv, ready_fd) < 0 ? 1 : 0;
}
