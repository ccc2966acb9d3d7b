/* xl_create.c - `xl create`: load and validate the config (file:line:column diagnostics),
 * resolve the kernel path, print JSON for a dry run, create through liblight, then optionally
 * attach to the console and hand the domain to a monitor applying the on_* actions. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xl.h"
#include "xl_conf.h"

/* The kernel made absolute the way every Keel tool finds it (kl_kernel_resolve: $KEEL_GUESTDIR,
 * the build tree's guests, the installed guests directory, the current directory), so a dry run
 * prints the file that would be built and restarts happen from anywhere. */
static int resolve_kernel(char **kernel)
{
    char msg[600], *abs;
    int rc;

    if (!*kernel)
        return 0;
    if ((rc = kl_kernel_resolve(*kernel, &abs, msg, sizeof(msg))) < 0) {
        fprintf(stderr, "xl: %s\n", rc == -ENOENT ? msg : strerror(-rc));
        return rc;
    }
    free(*kernel);
    *kernel = abs;
    return 0;
}

struct create_opts {
    bool paused, console, quiet, dryrun, foreground, nowait, ignore_masks;
    const char *file;
};

static int parse(int *argcp, char ***argvp, struct create_opts *o, int *first_override)
{
    int c, argc = *argcp;
    char **argv = *argvp;

    memset(o, 0, sizeof(*o));
    o->dryrun = xl_g.dryrun;
    /* Xen's order: `create <ConfigFile> [options] [vars]` (the file before the options) */
    if (argc > 1 && argv[1][0] != '-' && !strchr(argv[1], '=')) {
        o->file = argv[1];
        argv[1] = argv[0];
        *argcp = --argc;
        *argvp = ++argv;
    }
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--ignore-global-affinity-masks"))
            argv[i] = (char *)"-i";
    while ((c = xl_getopt(argc, argv, "pcf:qnFei", "create", 0)) != -1) {
        switch (c) {
        case 'p': o->paused = true; break;
        case 'c': o->console = true; break;
        case 'f': o->file = optarg; break;
        case 'q': o->quiet = true; break;
        case 'n': o->dryrun = true; break;
        case 'F': o->foreground = true; break;
        case 'e': o->nowait = true; break;
        case 'i': o->ignore_masks = true; break;
        default: return 2;
        }
    }
    if (!o->file && optind < argc && !strchr(argv[optind], '='))
        o->file = argv[optind++];
    if (!o->file) {
        fprintf(stderr, "xl create: no config file given\n");
        xl_help("create");
        return 2;
    }
    *first_override = optind;
    return 0;
}

static int load(const struct create_opts *o, int argc, char **argv, int first,
                kl_domain_config *dc)
{
    kl_diag *d = kl_diag_new();
    int rc;

    if (!o->quiet)
        fprintf(stderr, "Parsing config from %s\n", o->file);
    rc = xl_load_domain(o->file, argc - first, argv + first, 0, dc, d); /* xl.cfg or XML */
    if (d)
        kl_diag_print(d, stderr);
    kl_diag_free(d);
    if (rc < 0 || (rc = xl_conf_apply_domain(dc)) < 0)  /* xl.conf's defaults */
        return rc;
    if (!o->ignore_masks && (rc = xl_conf_apply_cpumask(dc)) < 0)   /* vm.cpumask, vm.pv.cpumask */
        return rc;
    return resolve_kernel(&dc->b_info.kernel);
}

/* The core ties a domain's process to the control-socket connection that created it (a
 * parent-death signal of the creating thread), so the domain must be created by a process that
 * lives as long as the domain: the monitor. It creates the domain, reports "OK DOMID" or
 * "ERR message" on a pipe to xl, then applies the on_* actions and stays until the domain is
 * gone. Its log is RUNDIR/xl-NAME.log. */
/* -p, and xl.conf's claim_mode: the domain's memory is claimed before it is built */
static unsigned create_flags(const struct create_opts *o)
{
    return (o->paused ? KL_CREATE_PAUSED : 0) | (xl_conf_claim_mode() ? KL_CREATE_CLAIM : 0);
}

static void monitor_child(int wfd, int gofd, kl_domain_config *dc, const struct create_opts *o)
{
    char log[512], msg[700];
    const char *rd = getenv("KEEL_RUNDIR");
    kl_ctx *ctx;
    uint32_t domid;
    int fd, rc;

    setsid();
    snprintf(log, sizeof(log), "%s/xl-%s.log", rd && *rd ? rd : KEEL_DEFAULT_RUNDIR,
             dc->c_info.name);
    /* never keep xl's stdin/stdout: a caller reading them would wait for the domain's end */
    if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    } else {
        close(1);
        close(2);
    }
    if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        dup2(fd, 0);
    else
        close(0);
    if ((rc = kl_ctx_open(&ctx, NULL)) < 0) {
        snprintf(msg, sizeof(msg), "ERR cannot reach the Keel host: %s (start it with "
                 "`keel-host start`)\n", strerror(-rc));
        if (write(wfd, msg, strlen(msg)) < 0)
            _exit(1);
        _exit(1);
    }
    rc = kl_domain_create(ctx, dc, create_flags(o), &domid);
    if (rc < 0)
        snprintf(msg, sizeof(msg), "ERR %s\n", kl_ctx_error(ctx));
    else
        snprintf(msg, sizeof(msg), "OK %u\n", domid);
    if (write(wfd, msg, strlen(msg)) < 0 || rc < 0)
        _exit(1);
    close(wfd);
    /* the monitor lives as long as the domain: give back the heap the create left free */
    malloc_trim(0);
    /* xl closes its end once its console (-c) has seen the domain shut down, so that the
     * action (e.g. destroy) cannot take the output away from it */
    while (read(gofd, msg, sizeof(msg)) > 0 || errno == EINTR)
        errno = 0;
    close(gofd);
    fprintf(stderr, "monitoring domain %u (%s)\n", domid, dc->c_info.name);
    rc = o->nowait ? kl_domain_wait_gone(ctx, domid, -1) : kl_domain_monitor(ctx, domid);
    if (rc < 0)
        fprintf(stderr, "xl: monitor of domain %u: %s\n", domid, kl_ctx_error(ctx));
    else
        fprintf(stderr, "domain %u (%s) and its restarts are gone\n", domid, dc->c_info.name);
    kl_ctx_close(ctx);
    _exit(rc < 0);
}

/* Fork the monitor and read what it reports. 0 and *domid, or -1 (reported). *go is the
 * descriptor to close when the monitor may start applying the on_* actions. */
static int create_via_monitor(kl_domain_config *dc, const struct create_opts *o, uint32_t *domid,
                              int *go)
{
    char buf[720];
    size_t len = 0;
    int p[2], g[2];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0 || pipe2(g, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
        int e = errno;
        fprintf(stderr, "xl: cannot start the monitor: %s\n", strerror(e));
        return -e;
    }
    if (pid == 0) {
        close(p[0]);
        close(g[1]);
        monitor_child(p[1], g[0], dc, o);
    }
    close(p[1]);
    close(g[0]);
    *go = g[1];
    for (;;) {
        ssize_t n = read(p[0], buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (len += (size_t)n) == sizeof(buf) - 1)
            break;
    }
    close(p[0]);
    buf[len] = 0;
    if (!strncmp(buf, "OK ", 3)) {
        *domid = (uint32_t)strtoul(buf + 3, NULL, 10);
        return 0;
    }
    close(*go);
    *go = -1;
    waitpid(pid, NULL, 0);
    buf[strcspn(buf, "\n")] = 0;
    fprintf(stderr, "libxl: error: %s\nxl: failed to create domain '%s'\n",
            !strncmp(buf, "ERR ", 4) ? buf + 4 : "the monitor failed", dc->c_info.name);
    return -EIO;
}

int xl_cmd_create(int argc, char **argv)
{
    struct create_opts o;
    kl_domain_config dc;
    kl_ctx *ctx = NULL;
    uint32_t domid;
    int first, rc, go = -1, lock;

    if ((rc = parse(&argc, &argv, &o, &first)) != 0)
        return rc;
    kl_domain_config_init(&dc);
    if (load(&o, argc, argv, first, &dc) < 0) {
        kl_domain_config_dispose(&dc);
        return 1;
    }
    if (o.dryrun) {
        char *json = kl_domain_config_to_xl_json(&dc, -1);
        if (json)
            printf("%s\n", json);
        free(json);
        kl_domain_config_dispose(&dc);
        return json ? 0 : 1;
    }
    fflush(NULL);
    if ((lock = xl_conf_lock()) < 0 && lock != -ENOENT) {   /* xl.conf's lockfile */
        kl_domain_config_dispose(&dc);
        return 1;
    }
    if (o.foreground) {
        if (!(ctx = xl_open()))
            rc = -1;
        else if ((rc = kl_domain_create(ctx, &dc, create_flags(&o), &domid)) < 0)
            fprintf(stderr, "libxl: error: %s\nxl: failed to create domain '%s'\n",
                    kl_ctx_error(ctx), dc.c_info.name);
    } else
        rc = create_via_monitor(&dc, &o, &domid, &go);
    xl_conf_unlock(lock);
    if (rc < 0) {
        kl_domain_config_dispose(&dc);
        kl_ctx_close(ctx);
        return 1;
    }
    if (!o.quiet)
        fprintf(stderr, "Domain %u (%s) created%s\n", domid, dc.c_info.name,
                o.paused ? ", paused" : "");
    if (o.console && (ctx || (ctx = xl_open())))
        xl_console_stream(ctx, domid);
    if (go >= 0)
        close(go);
    if (o.foreground) {
        rc = o.nowait ? kl_domain_wait_gone(ctx, domid, -1) : kl_domain_monitor(ctx, domid);
        if (rc < 0)
            fprintf(stderr, "xl: monitoring domain %u: %s\n", domid, kl_ctx_error(ctx));
    }
    kl_domain_config_dispose(&dc);
    kl_ctx_close(ctx);
    return rc < 0 ? 1 : 0;
}
