/* xl_remus.c - xl remus (Remus high availability: the domain checkpointed continuously to a
 * backup host, which takes over when the primary is gone) and the backup's side,
 * `xl migrate-receive -r`. Thin callers of kl_domain_remus_send / _receive, which replicate the
 * disks and hold the network output (docs/remus.md; -d and -n turn them off); COLO is not
 * implemented. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kproc.h"
#include "xl.h"
#include "xl_conf.h"

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

struct remus_args {
    long interval;
    const char *sshcmd, *host;
    int blackhole, unsafe, no_netbuf, no_diskbuf, no_wait, debug;
};

enum { OPT_DEBUG = 1000 };
static const struct option remus_longopts[] = {
    { "debug", 0, 0, OPT_DEBUG }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
};

static int parse(int argc, char **argv, struct remus_args *a)
{
    int c;
    char *end;

    while ((c = getopt_long(argc, argv, "+hi:us:eN:Fbndcp", remus_longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            xl_help("remus");
            exit(0);
        case OPT_DEBUG: a->debug = 1; break;
        case 'i':
            a->interval = strtol(optarg, &end, 10);
            if (*end || a->interval < 10 || a->interval > 60000) {
                fprintf(stderr, "xl remus: -i %s: the interval is 10..60000 ms\n", optarg);
                return -EINVAL;
            }
            break;
        case 'u': break;                  /* no compression: Keel never compresses checkpoints */
        case 's': a->sshcmd = optarg; break;
        case 'e': a->no_wait = 1; break;
        case 'N': break;                  /* no network buffering to script in Keel */
        case 'F': a->unsafe = 1; break;
        case 'b': a->blackhole = 1; break;
        case 'n': a->no_netbuf = 1; break;
        case 'd': a->no_diskbuf = 1; break;
        case 'c': case 'p':
            fprintf(stderr, "xl remus: COLO (-c, -p) is not supported by Keel\n");
            return -EOPNOTSUPP;
        default:
            xl_help("remus");
            return -EINVAL;
        }
    }
    if (argc - optind < 1) {
        fprintf(stderr, "'xl remus' requires at least 1 argument.\n\n");
        xl_help("remus");
        return -EINVAL;
    }
    if ((a->blackhole || a->no_netbuf || a->no_diskbuf) && !a->unsafe) {
        fprintf(stderr, "xl remus: -b, -n and -d are unsafe: add -F to use them\n");
        return -EINVAL;
    }
    a->host = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (!a->host && !a->blackhole) {
        fprintf(stderr, "xl remus: a backup host is needed (or -b -F)\n");
        return -EINVAL;
    }
    return 0;
}

/* `ssh HOST xl migrate-receive -r [-e]`, or HOST itself as a command with -s ''. */
static pid_t spawn_backup(const struct remus_args *a, int *to, int *from)
{
    char cmd[1024];

    if (a->sshcmd && !*a->sshcmd)
        snprintf(cmd, sizeof(cmd), "%s", a->host);
    else
        snprintf(cmd, sizeof(cmd), "%s %s xl migrate-receive -r%s", a->sshcmd ? a->sshcmd : "ssh",
                 a->host, a->no_wait ? " -e" : "");
    return kproc_spawn_pipes(cmd, to, from);
}

int xl_cmd_remus(int argc, char **argv)
{
    struct remus_args a = { .interval = 200 };
    kl_remus_opts o = { 0 };
    struct sigaction sa = { .sa_handler = on_signal };
    int to = -1, from = -1, rc, status;
    uint32_t domid, n = 0;
    pid_t pid = -1;
    kl_ctx *ctx;

    if (parse(argc, argv, &a) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    if (xl_logdirty_check(ctx, "remus") < 0) {
        kl_ctx_close(ctx);
        return 1;
    }
    if (a.blackhole)
        to = open("/dev/null", O_WRONLY | O_CLOEXEC);
    else
        pid = spawn_backup(&a, &to, &from);
    if (to < 0 || (!a.blackhole && pid < 0)) {
        fprintf(stderr, "xl remus: cannot start the backup: %s\n", strerror(errno));
        kl_ctx_close(ctx);
        return 1;
    }
    o.interval_ms = (uint32_t)a.interval;
    o.cancel = &stop_flag;
    o.no_net = a.no_netbuf;              /* -n: output leaves at once (unsafe) */
    o.no_disk = a.no_diskbuf;            /* -d: the backup's disk is the user's business */
    /* -F and --debug report each checkpoint on stderr (as Xen's xl remus does in its unsafe and
     * debug modes); so does $KEEL_REMUS_DEBUG */
    o.debug = a.unsafe || a.debug || (getenv("KEEL_REMUS_DEBUG") && *getenv("KEEL_REMUS_DEBUG"));
    rc = kl_domain_remus_send(ctx, domid, to, from, &o, &n);
    close(to);
    if (from >= 0)
        close(from);
    if (pid > 0)
        waitpid(pid, &status, 0);
    if (rc == 0)
        fprintf(stderr, "Remus: the primary domain is gone after %u checkpoints; the backup "
                "takes over.\n", n);
    else if (rc == -ECANCELED)
        fprintf(stderr, "Remus: replication stopped after %u checkpoints; the domain runs on "
                "here.\n", n);
    else
        fprintf(stderr, "%s\nBackup failed? resuming domain at primary.\n", kl_ctx_error(ctx));
    kl_ctx_close(ctx);
    return rc == 0 || rc == -ECANCELED ? 0 : 1;
}

/* xl migrate-receive -r: the backup's side (stdin/stdout of the transport). */
int xl_remus_receive(int paused)
{
    uint32_t domid;
    kl_ctx *ctx;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    if (!(ctx = xl_open()))
        return 1;
    kl_ctx_set_xl_conf(ctx, xl_conf());          /* vm.cpumask, vm.pv.cpumask, as restore */
    rc = kl_domain_remus_receive(ctx, 0, 1, (paused ? KL_CREATE_PAUSED : 0) |
                                 (xl_conf_claim_mode() ? KL_CREATE_CLAIM : 0), &domid);
    if (rc < 0)
        fprintf(stderr, "migration target: %s\n", kl_ctx_error(ctx));
    else
        fprintf(stderr, "migration target: Remus Failover for domain %u\n", domid);
    kl_ctx_close(ctx);
    return rc < 0 ? 1 : 0;
}
