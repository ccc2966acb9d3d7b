/* keeld.c - the management daemon's main program: options, runtime directory, pidfile lock
 * (one keeld per host), detaching, then the privileged part (kd_server.c), which runs this
 * program again with --front as its client-facing process (kd_front.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "kd_confine.h"
#include "kd_server.h"
#include "kd_xlconf.h"
#include "klog.h"
#include "krundir.h"

const char *kd_rundir;

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: keeld [options]\n"
        "The Keel management daemon: JSON-RPC 2.0, one JSON text per line, over\n"
        "<rundir>/keeld/socket (root, the daemon's user, or --group) and optionally TCP with TLS.\n"
        "  -r, --rundir DIR        runtime directory (default $KEEL_RUNDIR, else %s)\n"
        "  -F, --foreground        do not detach\n"
        "  -l, --log LEVEL         error|warn|info|debug\n"
        "      --group GID         also admit this group on the Unix socket\n"
        "      --readonly-group GID  admit this group for methods that change nothing\n"
        "      --listen ADDR:PORT  also serve TCP with TLS (needs --tls-cert, --tls-key and\n"
        "                          --tls-ca for client certificates or --token-file)\n"
        "      --tls-cert F, --tls-key F, --tls-ca F   PEM files\n"
        "      --token-file F      TCP clients without a certificate call auth.login with it\n"
        "      --access F          roles (full, readonly) of groups, client certificates (CN)\n"
        "                          and tokens, one 'ROLE KIND VALUE' a line (README)\n"
        "      --max-message N     bytes per message (default 1048576)\n"
        "      --max-connections N (default 256)   --max-inflight N per connection (default 32)\n"
        "      --rate N            requests per second per connection (default 500, burst 2x)\n"
        "      --idle S            close connections idle S seconds (default 600)\n"
        "      --workers N         worker threads (default 8)\n"
        "      --list-cache-ms N   answer domain.list from a snapshot at most N ms old (0..1000,\n"
        "                          default 10; 0: every call asks the core and the store)\n"
        "      --user NAME|UID[:GID]  the client-facing process's user (default: keeld if the\n"
        "                          host has that user, else nobody)\n"
        "      --xl-conf F         xl.conf applied by domain.create/restore/protect_receive (default xl's:\n"
        "                          $KEEL_XL_CONF, else %s)\n", KEEL_DEFAULT_RUNDIR,
        kl_xl_conf_default_path());
}

/* A detached daemon: no terminal; its log goes to <rundir>/keeld/keeld.log. */
static void detach_stdio(const char *dir)
{
    char path[4300];
    int null = open("/dev/null", O_RDWR | O_CLOEXEC), log;

    snprintf(path, sizeof(path), "%s/keeld.log", dir);
    log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        close(null);
    }
    if (log >= 0) {
        dup2(log, 2);
        close(log);
    }
}

static int lock_pidfile(const char *path)
{
    char buf[32];
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), n;

    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -EBUSY;
    }
    n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
        close(fd);
        return -EIO;
    }
    return fd;
}

static char *read_token(const char *path)
{
    static char buf[512];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return n >= 16 ? buf : NULL;
}

void kd_stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    klog(KLOG_INFO, "main", "signal %d: stopping", (int)sig);
    event_base_loopexit(arg, NULL);
}

/* the access rules, freed at exit (both sides of the fork return through main) */
static struct kd_access *access_rules;

static void free_access(void)
{
    kd_access_free(access_rules);
    access_rules = NULL;
}

enum { O_ROGROUP = 999, O_GROUP = 1000, O_LISTEN, O_CERT, O_KEY, O_CA, O_TOKEN, O_MSG, O_CONNS, O_INFL, O_RATE,
       O_IDLE, O_WORKERS, O_ACCESS, O_XLCONF, O_USER, O_FRONT, O_LISTCACHE };

/* --front=FIRST_CONN_ID: this process is the client-facing one (started by kd_server.c) */
static unsigned long long front_first;

static int parse(int argc, char **argv, struct kd_opts *o, int *fg, const char **xlconf)
{
    const char *user = NULL;
    char uerr[256];
    static const struct option lo[] = {
        { "rundir", 1, 0, 'r' }, { "foreground", 0, 0, 'F' }, { "log", 1, 0, 'l' },
        { "help", 0, 0, 'h' }, { "group", 1, 0, O_GROUP }, { "readonly-group", 1, 0, O_ROGROUP }, { "listen", 1, 0, O_LISTEN },
        { "tls-cert", 1, 0, O_CERT }, { "tls-key", 1, 0, O_KEY }, { "tls-ca", 1, 0, O_CA },
        { "token-file", 1, 0, O_TOKEN }, { "max-message", 1, 0, O_MSG },
        { "max-connections", 1, 0, O_CONNS }, { "max-inflight", 1, 0, O_INFL },
        { "rate", 1, 0, O_RATE }, { "idle", 1, 0, O_IDLE }, { "workers", 1, 0, O_WORKERS },
        { "access", 1, 0, O_ACCESS }, { "xl-conf", 1, 0, O_XLCONF },
        { "user", 1, 0, O_USER }, { "front", 1, 0, O_FRONT },
        { "list-cache-ms", 1, 0, O_LISTCACHE }, { 0, 0, 0, 0 } };
    int c;
    long v;
    char *end;

    while ((c = getopt_long(argc, argv, "r:Fl:h", lo, NULL)) != -1) {
        v = optarg ? strtol(optarg, &end, 10) : 0;
        switch (c) {
        case 'r': o->rundir = optarg; break;
        case 'F': *fg = 1; break;
        case 'l': if (klog_set_level_name(optarg) < 0) { fprintf(stderr, "keeld: unknown log level '%s' (error, warn, info, debug)\n", optarg); return -EINVAL; } break;
        case 'h': usage(stdout); exit(0);
        case O_GROUP: o->allow_gid = (int)v; break;
        case O_ROGROUP: o->ro_gid = (int)v; break;
        case O_LISTEN: o->listen = optarg; break;
        case O_CERT: o->tls_cert = optarg; break;
        case O_KEY: o->tls_key = optarg; break;
        case O_CA: o->tls_ca = optarg; break;
        case O_TOKEN:
            if (!(o->token = read_token(optarg))) {
                fprintf(stderr, "keeld: %s: unreadable or shorter than 16 characters\n", optarg);
                return -EINVAL;
            }
            break;
        case O_MSG: o->max_msg = (size_t)v; break;
        case O_CONNS: o->max_conns = (unsigned)v; break;
        case O_INFL: o->max_inflight = (unsigned)v; break;
        case O_RATE: o->rate = (double)v; o->burst = 2.0 * (double)v; break;
        case O_IDLE: o->idle_s = (unsigned)v; break;
        case O_WORKERS: o->workers = (unsigned)v; break;
        case O_ACCESS: {
            struct kd_access *a;
            char err[512];
            if (kd_access_load(optarg, &a, err, sizeof(err)) < 0) {
                fprintf(stderr, "keeld: %s\n", err);
                return -EINVAL;
            }
            if (!access_rules)
                atexit(free_access);
            kd_access_free(access_rules);
            o->access = access_rules = a;
            break;
        }
        case O_XLCONF: *xlconf = optarg; break;
        case O_USER: user = optarg; break;
        case O_FRONT: front_first = strtoull(optarg, &end, 10); break;
        case O_LISTCACHE: o->list_cache_ms = (unsigned)v; break;
        default: usage(stderr); return -EINVAL;
        }
        if (optarg && c >= O_ROGROUP && c != O_LISTEN && c != O_CERT && c != O_KEY && c != O_CA &&
            c != O_TOKEN && c != O_ACCESS && c != O_XLCONF && c != O_USER && c != O_FRONT && (*end || v < 0 || (c != O_GROUP && c != O_ROGROUP && c != O_LISTCACHE && v == 0) ||
            (c == O_LISTCACHE && v > 1000))) {
            fprintf(stderr, "keeld: %s: not a number in range\n", optarg);
            return -EINVAL;
        }
    }
    if (kd_confine_user(user, &o->front_uid, &o->front_gid, uerr, sizeof(uerr)) < 0) {
        fprintf(stderr, "keeld: %s\n", uerr);
        return -EINVAL;
    }
    if (optind != argc || o->max_msg < 256 || o->max_conns > 100000 || o->workers > 256) {
        usage(stderr);
        return -EINVAL;
    }
    if (o->listen && (!o->tls_cert || !o->tls_key ||
                      (!o->tls_ca && !o->token && !kd_access_has(o->access, "token")))) {
        fprintf(stderr, "keeld: --listen needs --tls-cert, --tls-key and --tls-ca, --token-file or "
                "token rules in --access\n");
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static char sock[4300], pid[4300], dir[4200], empty[4300];
    struct kd_opts o = { .allow_gid = -1, .ro_gid = -1, .max_msg = 1 << 20, .max_backlog = 16 << 20,
                         .max_conns = 256, .max_inflight = 32, .idle_s = 600, .workers = 8,
                         .watch_ms = 200, .list_cache_ms = 10, .rate = 500, .burst = 1000, .ready_fd = -1 };
    int fg = 0, lockfd, pfd[2], rc;
    const char *xlconf = NULL;
    char c;

    klog_init_env("keeld", KLOG_WARN);
    o.rundir = krundir(NULL);
    if (parse(argc, argv, &o, &fg, &xlconf) < 0)
        return 2;
    /* xl.conf: the settings xl applies too (the privileged part's; the front reads none) */
    if (!front_first && kd_xlconf_load(xlconf) < 0)
        return 2;
    atexit(kd_xlconf_free);
    kd_rundir = o.rundir;
    if (strlen(o.rundir) > 4000) {
        fprintf(stderr, "keeld: the runtime directory's path is too long\n");
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/keeld", o.rundir);
    snprintf(sock, sizeof(sock), "%s/socket", dir);
    snprintf(pid, sizeof(pid), "%s/keeld.pid", dir);
    snprintf(empty, sizeof(empty), "%s/empty", dir);
    o.socket = sock;
    o.pidfile = pid;
    o.empty_dir = empty;
    o.argc = argc;
    o.argv = argv;
    if (front_first) {
        /* the client-facing process ends without atexit handlers: the leak checker of a
         * sanitizer build would need system calls its seccomp filter does not allow */
        rc = kd_front_run(&o, front_first);
        free_access();
        _exit(rc);
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "keeld: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    /* other users reach the socket only through a searchable directory */
    if (chmod(dir, o.allow_gid >= 0 || o.ro_gid >= 0 ? 0711 : 0700) < 0) {
        fprintf(stderr, "keeld: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!fg) {
        if (pipe(pfd) < 0)
            return 1;
        if (fork() > 0) {                        /* parent: exit once the socket listens */
            close(pfd[1]);
            rc = read(pfd[0], &c, 1) == 1 ? 0 : 1;
            if (rc)
                fprintf(stderr, "keeld: did not start; see the log\n");
            return rc;
        }
        close(pfd[0]);
        setsid();
        detach_stdio(dir);
        o.ready_fd = pfd[1];
    }
    if ((lockfd = lock_pidfile(pid)) < 0) {
        klog(KLOG_ERROR, "main", "%s: %s", pid, lockfd == -EBUSY ?
             "another keeld runs on this runtime directory" : strerror(-lockfd));
        return 1;
    }
    rc = kd_server_run(&o);
    unlink(pid);
    close(lockfd);
    return rc < 0 ? 1 : 0;
}
