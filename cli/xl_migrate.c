/* xl_migrate.c - xl migrate and xl migrate-receive, thin callers of liblight's migration
 * (kl_domain_migrate_send / _receive: xl's handshake, NAME--incoming / NAME--migratedaway, the
 * source resumes on any failure). Transports: the standard input and output of `ssh HOST xl
 * migrate-receive` (or of any command, -s ''), or a direct TCP connection (--tcp HOST:PORT /
 * --listen ADDR:PORT), with TLS unless --plain is given. */
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
#include "xl_progress.h"

/* Long options only for Keel's additions: Xen's xl migrate uses -s -e -C -p -D --debug. */
enum { OPT_TCP = 1000, OPT_LISTEN, OPT_PLAIN, OPT_CERT, OPT_KEY, OPT_CA, OPT_DEBUG, OPT_LIVE,
       OPT_POSTCOPY };
static const struct option mig_longopts[] = {
    { "tcp", 0, 0, OPT_TCP }, { "listen", 1, 0, OPT_LISTEN }, { "plain", 0, 0, OPT_PLAIN },
    { "tls-cert", 1, 0, OPT_CERT }, { "tls-key", 1, 0, OPT_KEY }, { "tls-ca", 1, 0, OPT_CA },
    { "debug", 0, 0, OPT_DEBUG }, { "live", 0, 0, OPT_LIVE }, { "help", 0, 0, 'h' },
    { "postcopy", 0, 0, OPT_POSTCOPY },   /* Keel: post-copy (docs/lazy-restore.md) */
    { 0, 0, 0, 0 }
};

struct transport {
    int tcp, plain, have_tls;
    const char *listen;
    kl_tls_opts tls;
};

static volatile int cancel_flag;

static void on_sigint(int sig)
{
    (void)sig;
    cancel_flag = 1;
}

/* Options shared by both commands; returns 1 if c was one, 0 if not, -1 on a usage error. */
static int transport_opt(struct transport *t, int c)
{
    switch (c) {
    case OPT_TCP: t->tcp = 1; return 1;
    case OPT_LISTEN: t->listen = optarg; return 1;
    case OPT_PLAIN: t->plain = 1; return 1;
    case OPT_CERT: t->tls.cert_file = optarg; t->have_tls = 1; return 1;
    case OPT_KEY: t->tls.key_file = optarg; t->have_tls = 1; return 1;
    case OPT_CA: t->tls.ca_file = optarg; t->have_tls = 1; return 1;
    default: return 0;
    }
}

static int transport_check(const struct transport *t, const char *cmd, int direct)
{
    if (!direct && (t->plain || t->have_tls)) {
        fprintf(stderr, "xl %s: --plain and --tls-* go with %s\n", cmd,
                !strcmp(cmd, "migrate") ? "--tcp" : "--listen");
        return -EINVAL;
    }
    if (t->plain && t->have_tls) {
        fprintf(stderr, "xl %s: --plain and --tls-* exclude each other\n", cmd);
        return -EINVAL;
    }
    return 0;
}

static int getopts(int argc, char **argv, const char *opts, const char *cmd, int min_args,
                   struct transport *t, int (*own)(int c, void *arg), void *arg)
{
    char full[32];
    int c;

    snprintf(full, sizeof(full), "+h%s", opts);
    while ((c = getopt_long(argc, argv, full, mig_longopts, NULL)) != -1) {
        int r = transport_opt(t, c);
        if (r)
            continue;
        if (c == 'h') {
            xl_help(cmd);
            exit(0);
        }
        if (c == '?' || c == ':' || own(c, arg) < 0) {
            xl_help(cmd);
            return -EINVAL;
        }
    }
    if (argc - optind < min_args) {
        fprintf(stderr, "'xl %s' requires at least %d argument%s.\n\n", cmd, min_args,
                min_args > 1 ? "s" : "");
        xl_help(cmd);
        return -EINVAL;
    }
    return 0;
}

static pid_t spawn_receiver(const char *sshcmd, const char *host, const char *ropts, int *to,
                            int *from)
{
    char cmd[1024];

    if (sshcmd && !*sshcmd)
        snprintf(cmd, sizeof(cmd), "%s", host);
    else
        snprintf(cmd, sizeof(cmd), "%s %s xl migrate-receive%s", sshcmd ? sshcmd : "ssh", host,
                 ropts);
    return kproc_spawn_pipes(cmd, to, from);
}

struct send_args {
    const char *sshcmd, *config;
    int paused, nowait;           /* -p, -e (-F): passed on to `xl migrate-receive` as xl does */
    int keep_domid;               /* -D: the target creates the domain with the same id */
    int postcopy;                 /* --postcopy (Keel): passed on to `xl migrate-receive` */
};

static int send_opt(int c, void *arg)
{
    struct send_args *a = arg;

    switch (c) {
    case 's': a->sshcmd = optarg; return 0;
    case 'C': a->config = optarg; return 0;
    case 'e': case 'F': a->nowait = 1; return 0;   /* -F: no daemon on the target either */
    case 'p': a->paused = 1; return 0;
    case 'D': a->keep_domid = 1; return 0;
    case OPT_DEBUG: case OPT_LIVE: return 0;     /* --live: always live (xm compatibility) */
    case OPT_POSTCOPY: a->postcopy = 1; return 0;
    default: return -EINVAL;
    }
}

static int connect_target(kl_ctx *ctx, const struct transport *t, const char *host,
                          const struct send_args *a, int *to, int *from, pid_t *pid)
{
    *pid = -1;
    if (t->tcp) {
        int rc = kl_migrate_connect(ctx, host, t->plain ? NULL : &t->tls, to);
        if (rc < 0) {
            fprintf(stderr, "migration sender: %s\n", kl_ctx_error(ctx));
            return rc;
        }
        *from = *to;
        return 0;
    }
    char ropts[64];

    snprintf(ropts, sizeof(ropts), "%s%s", a->paused ? (a->nowait ? " -e -p" : " -p")
             : a->nowait ? " -e" : "", a->postcopy ? " --postcopy" : "");
    if ((*pid = spawn_receiver(a->sshcmd, host, ropts, to, from)) < 0) {
        int e = errno;
        fprintf(stderr, "xl migrate: cannot start the receiver: %s\n", strerror(e));
        return -e;
    }
    return 0;
}

int xl_cmd_migrate(int argc, char **argv)
{
    struct transport t = { 0 };
    struct send_args a = { 0 };
    kl_migrate_opts o = { .cancel = &cancel_flag };
    char *json = NULL;
    int to, from, rc = -1, status;
    uint32_t domid;
    kl_ctx *ctx;
    pid_t pid;

    if (getopts(argc, argv, "s:eC:pDF", "migrate", 2, &t, send_opt, &a) < 0 ||
        transport_check(&t, "migrate", t.tcp) < 0 || (t.listen && (fprintf(stderr,
        "xl migrate: --listen belongs to migrate-receive\n"), 1)))
        return 2;
    signal(SIGPIPE, SIG_IGN);
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    if ((a.config || a.keep_domid) &&
        !(o.new_config_json = json = xl_image_config(ctx, domid, a.config, a.keep_domid,
                                                     "migrate"))) {
        kl_ctx_close(ctx);
        return 1;
    }
    if (a.postcopy)
        o.flags |= KL_SAVE_POSTCOPY;          /* no log-dirty mode needed */
    else if (xl_logdirty_check(ctx, "migrate") < 0) {
        free(json);
        kl_ctx_close(ctx);
        return 1;
    }
    if (xl_progress_wanted()) {
        o.progress = xl_progress_line;
        o.arg = "Migrating";
    }
    if (connect_target(ctx, &t, argv[optind + 1], &a, &to, &from, &pid) == 0) {
        signal(SIGINT, on_sigint);
        rc = kl_domain_migrate_send(ctx, domid, to, from, &o);
        signal(SIGINT, SIG_DFL);
        if (rc < 0)
            fprintf(stderr, "%smigration sender: %s; the domain runs on here\n",
                    o.progress ? "\n" : "", kl_ctx_error(ctx));
        if (t.tcp) {
            kl_migrate_close(to);
        } else {
            close(to);
            close(from);
            waitpid(pid, &status, 0);
        }
        if (rc == 0)
            fprintf(stderr, "Migration successful.\n");
    }
    free(json);
    kl_ctx_close(ctx);
    return rc < 0 ? 1 : 0;
}

static int recv_opt(int c, void *arg)
{
    int *flags = arg;                     /* [0] -p paused, [1] -r Remus, [2] --postcopy */

    if (c == OPT_POSTCOPY)
        return flags[2] = 1, 0;
    if (c == 'p')
        flags[0] = 1;
    if (c == 'r')
        flags[1] = 1;
    return c == 'p' || c == 'r' || c == 'd' || c == 'e' || c == OPT_DEBUG ? 0 : -EINVAL;
}

/* --listen: accept one connection; its socket is both directions. */
static int accept_one(kl_ctx *ctx, const struct transport *t, int *fd)
{
    int lfd, rc;

    if ((rc = kl_migrate_listen(ctx, t->listen, &lfd)) < 0) {
        fprintf(stderr, "migration target: %s\n", kl_ctx_error(ctx));
        return rc;
    }
    fprintf(stderr, "migration target: listening on %s (%s)\n", t->listen,
            t->plain ? "plain TCP" : "TLS");
    rc = kl_migrate_accept(ctx, lfd, t->plain ? NULL : &t->tls, -1, fd);
    close(lfd);
    if (rc < 0)
        fprintf(stderr, "migration target: %s\n", kl_ctx_error(ctx));
    return rc;
}

int xl_cmd_migrate_receive(int argc, char **argv)
{
    struct transport t = { 0 };
    int flags[3] = { 0, 0, 0 }, paused, rc = -1, in = 0, out = 1;
    uint32_t domid;
    kl_ctx *ctx;

    if (getopts(argc, argv, "depr", "migrate-receive", 0, &t, recv_opt, flags) < 0 ||
        transport_check(&t, "migrate-receive", t.listen != NULL) < 0)
        return 2;
    if (t.tcp) {
        fprintf(stderr, "xl migrate-receive: --tcp belongs to migrate (use --listen)\n");
        return 2;
    }
    if (t.listen && !t.plain && (!t.tls.cert_file || !t.tls.key_file)) {
        fprintf(stderr, "xl migrate-receive: --listen needs --tls-cert and --tls-key (or --plain)\n");
        return 2;
    }
    paused = flags[0];
    if (flags[1] && !t.listen)
        return xl_remus_receive(paused);  /* -r: a Remus backup */
    if (flags[1]) {
        fprintf(stderr, "xl migrate-receive: -r works over the standard input and output only\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!(ctx = xl_open()))
        return 1;
    if (!t.listen || accept_one(ctx, &t, &in) == 0) {
        if (t.listen)
            out = in;
        kl_ctx_set_xl_conf(ctx, xl_conf());      /* vm.cpumask, vm.pv.cpumask, as restore */
        rc = kl_domain_migrate_receive(ctx, in, out, (paused ? KL_CREATE_PAUSED : 0) |
                                       (xl_conf_claim_mode() ? KL_CREATE_CLAIM : 0) |
                                       (flags[2] ? KL_CREATE_LAZY : 0), &domid);
        if (rc < 0)
            fprintf(stderr, "migration target: %s\n", kl_ctx_error(ctx));
        else
            fprintf(stderr, "migration target: Domain started.\n");
        if (t.listen)
            kl_migrate_close(in);
    }
    kl_ctx_close(ctx);
    return rc < 0 ? 1 : 0;
}
