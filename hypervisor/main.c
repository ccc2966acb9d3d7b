/* main.c - keel-hv, the hypervisor core daemon: options, runtime directory, start-up, shutdown. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv.h"
#include "logdirty.h"
#include "keel/privcmd.h"
#include "klog.h"
#include "krundir.h"

struct hv_state hv = { .lock = PTHREAD_MUTEX_INITIALIZER, .stub_fd = -1, .epfd = -1 };

int hv_control_serve_fd(int lfd, int stop_fd);

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: keel-hv [OPTIONS]\n"
            "Run the Keel hypervisor core for one runtime directory.\n\n"
            "  -r, --rundir DIR   runtime directory (default: $KEEL_RUNDIR or %s)\n"
            "  -s, --stub PATH    the domain stub program (default: beside keel-hv, or %s)\n"
            "  -P, --policy FILE  FLASK policy (default: $KEEL_POLICY, the build tree's, or\n"
            "                     %s)\n"
            "  -f, --flask MODE   enforcing (default), permissive or disabled\n"
            "  -L, --logdirty E   log-dirty engine: auto (default: $KEEL_LOGDIRTY, else async\n"
            "                     if the kernel has it, else sync), async, sync or none\n"
            "  -R, --role ROLE=uid:N|gid:N|user:NAME|group:NAME\n"
            "                     let that peer connect in ROLE (toolstack, store, console,\n"
            "                     backend); root and the core's uid may take any role\n"
            "  -d, --daemon       detach and run in the background (log: RUNDIR/keel-hv.log)\n"
            "      --reap-partitions  remove the rtds cpupool partitions of cores that died\n"
            "                     (their cpusets; the root cpuset balances again) and exit\n"
            "  -p, --pidfile FILE pid file (default: RUNDIR/keel-hv.pid)\n"
            "  -v, --verbose      log debug messages\n"
            "  -h, --help         show this help\n",
            KEEL_DEFAULT_RUNDIR, KEEL_PKGLIBEXECDIR "/keel-stub",
            KEEL_PKGDATADIR "/" KEEL_POLICY_FILE);
}

static void default_stub(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *env = getenv("KEEL_STUB");

    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return;
    }
    if (n > 0) {
        exe[n] = 0;
        snprintf(buf, len, "%s/keel-stub", dirname(exe));
        if (access(buf, R_OK) == 0)
            return;
    }
    snprintf(buf, len, "%s/keel-stub", KEEL_PKGLIBEXECDIR);
}

static char policy_path[512];
static const char *flask_mode = "enforcing";
static const char *logdirty_engine;     /* NULL: $KEEL_LOGDIRTY, else auto */

static void default_policy(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *env = getenv("KEEL_POLICY");

    if (env && *env) {
        snprintf(policy_path, sizeof(policy_path), "%s", env);
        return;
    }
    if (n > 0) {
        exe[n] = 0;
        snprintf(policy_path, sizeof(policy_path), "%s/../policy/%s", dirname(exe), KEEL_POLICY_FILE);
        if (access(policy_path, R_OK) == 0)
            return;
    }
    snprintf(policy_path, sizeof(policy_path), "%s/%s", KEEL_PKGDATADIR, KEEL_POLICY_FILE);
}

static int prepare_rundir(void)
{
    char path[600];

    if (mkdir(hv.rundir, 0755) < 0 && errno != EEXIST)
        return -errno;
    snprintf(path, sizeof(path), "%s/empty", hv.rundir);
    if (mkdir(path, 0555) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static void write_pidfile(const char *path)
{
    FILE *f = fopen(path, "we");

    if (!f) {
        klog_warn("main", "cannot write pid file %s: %s", path, strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

/* Run in the background (fork, new session), logging to RUNDIR/keel-hv.log. */
static int detach(void)
{
    char path[600];
    pid_t pid = fork();
    int fd;

    if (pid < 0) {
        klog_err("main", "cannot detach: %s", strerror(errno));
        return -1;
    }
    if (pid > 0)
        _exit(0);
    setsid();
    if (chdir("/") < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/keel-hv.log", hv.rundir);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, 0);
        close(fd);
    }
    return 0;
}

/* At the core's exit: every domain's process is killed first (they die side by side; the
 * reaper no longer watches them, so none is taken for a crash), then each is destroyed. */
static void destroy_all(void)
{
    pthread_mutex_lock(&hv.lock);
    hv.stopping = true;         /* no VIRQ_DOM_EXC per domain: N monitors would each ask N times */
    for (uint32_t i = 1; i < HV_MAX_DOMAINS; i++) {
        struct hv_domain *d = hv.domains[i];
        if (d && d->ready && !d->destroying && !d->dead && d->pid > 0) {
            hv_reaper_unwatch(d);
            kill(d->pid, SIGKILL);
        }
    }
    pthread_mutex_unlock(&hv.lock);
    for (uint32_t i = 1; i < HV_MAX_DOMAINS; i++)
        if (hv.domains[i])
            hv_domain_destroy(NULL, i);
}

static int start(void)
{
    int rc;

    if ((rc = prepare_rundir()) < 0) {
        klog_err("main", "runtime directory %s: %s", hv.rundir, strerror(-rc));
        return rc;
    }
    if ((rc = hv_stub_init(hv.stub_path)) < 0) {
        klog_err("main", "stub %s: %s", hv.stub_path, strerror(-rc));
        return rc;
    }
    if (hv_time_init() < 0 || hv_filter_build() < 0) {
        klog_err("main", "cannot calibrate time or build the seccomp program");
        return -EIO;
    }
    hv_console_init();
    if ((rc = hv_logdirty_init(logdirty_engine)) < 0)
        return rc;
    if ((rc = hv_flask_init(policy_path, flask_mode)) < 0)
        return rc;
    if ((rc = hv_cgroup_init()) < 0 || (rc = hv_cpupool_init()) < 0 || (rc = hv_dom0_init()) < 0 || (rc = hv_reaper_init()) < 0) {
        klog_err("main", "start-up failed: %s", strerror(-rc));
        return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "rundir", required_argument, 0, 'r' }, { "stub", required_argument, 0, 's' },
        { "daemon", no_argument, 0, 'd' },       { "pidfile", required_argument, 0, 'p' },
        { "verbose", no_argument, 0, 'v' },      { "help", no_argument, 0, 'h' },
        { "policy", required_argument, 0, 'P' }, { "flask", required_argument, 0, 'f' },
        { "logdirty", required_argument, 0, 'L' }, { "role", required_argument, 0, 'R' },
        { "reap-partitions", no_argument, 0, 'X' }, { 0, 0, 0, 0 }
    };
    const char *rundir = NULL, *pidfile = NULL;
    char sock[600], pidbuf[600];
    int daemonize = 0, reap = 0, c, lfd, sfd, rc;
    sigset_t set;

    klog_init_env("keel-hv", KLOG_INFO);
    default_stub(hv.stub_path, sizeof(hv.stub_path));
    default_policy();
    while ((c = getopt_long(argc, argv, "r:s:dp:vhP:f:L:R:", opts, NULL)) != -1) {
        switch (c) {
        case 'r': rundir = optarg; break;
        case 's': snprintf(hv.stub_path, sizeof(hv.stub_path), "%s", optarg); break;
        case 'd': daemonize = 1; break;
        case 'p': pidfile = optarg; break;
        case 'v': klog_set_level(KLOG_DEBUG); break;
        case 'P': snprintf(policy_path, sizeof(policy_path), "%s", optarg); break;
        case 'f': flask_mode = optarg; break;
        case 'L': logdirty_engine = optarg; break;
        case 'R':
            if ((rc = hv_role_rule_add(optarg)) < 0) {
                fprintf(stderr, "keel-hv: --role %s: %s (ROLE=uid:N|gid:N|user:NAME|group:NAME, "
                        "ROLE toolstack, store, console or backend)\n", optarg, strerror(-rc));
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'X': reap = 1; break;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "keel-hv: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    snprintf(hv.rundir, sizeof(hv.rundir), "%s", krundir(rundir));
    if (geteuid() != 0) {
        klog_err("main", "keel-hv must run as root (it creates namespaces and cgroups)");
        return 1;
    }
    if (reap) {                    /* rtds partitions of cores that died (keel-host stop) */
        if ((rc = hv_cpupart_reap()) < 0) {
            klog_err("main", "--reap-partitions: %s", strerror(-rc));
            return 1;
        }
        return 0;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* detach before any thread exists: threads do not survive daemon()'s fork */
    if (daemonize && (prepare_rundir() < 0 || detach() < 0))
        return 1;
    if (start() < 0)
        return 1;
    hv_spawn_start();
    snprintf(sock, sizeof(sock), "%s/%s", hv.rundir, KEEL_PRIVCMD_SOCKET);
    if ((lfd = hv_control_serve(sock)) < 0) {
        klog_err("main", "control socket %s: %s", sock, strerror(-lfd));
        return 1;
    }
    snprintf(pidbuf, sizeof(pidbuf), "%s/keel-hv.pid", hv.rundir);
    write_pidfile(pidfile ? pidfile : pidbuf);
    sigdelset(&set, SIGPIPE);
    sfd = signalfd(-1, &set, SFD_CLOEXEC);
    hv_printk("Keel hypervisor core %s (ABI %d.%d) started, TSC %llu kHz, FLASK %s", PACKAGE_VERSION,
              KEEL_ABI_VERSION_MAJOR, KEEL_ABI_VERSION_MINOR,
              (unsigned long long)(hv.tsc_hz / 1000), flask_mode);
    rc = hv_control_serve_fd(lfd, sfd);
    klog_info("main", "stopping: destroying every domain");
    destroy_all();
    hv_spawn_stop();
    hv_cgroup_fini();
    close(lfd);
    unlink(sock);
    unlink(pidfile ? pidfile : pidbuf);
    return rc < 0 ? 1 : 0;
}
