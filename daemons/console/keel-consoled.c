/* keel-consoled.c - the console daemon's main program: options, runtime directory
 * (<rundir>/console: the socket and the per-domain logs), the hypervisor connection, the
 * event loop, clean stop on SIGTERM/SIGINT, logs reopened on SIGHUP (log rotation). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kcd_chan.h"
#include "kcd_int.h"
#include "kcd_xs.h"
#include "klog.h"
#include "krundir.h"

static void kcd_usage(FILE *f)
{
    fprintf(f, "Usage: keel-consoled [-r RUNDIR] [-n] [-l error|warn|info|debug]\n"
               "Serves guests' console rings: logs in <rundir>/console/dom<N>.log, control and\n"
               "attach socket <rundir>/console/socket. Runs in the foreground.\n"
               "Also watches the store ($XENSTORED_PATH, else <rundir>/xenstored/socket) for\n"
               "/local/domain/N/console/{ring-ref,port}; -n: no store.\n"
               "SIGHUP reopens the domains' logs (after logrotate moved them).\n"
               "Runtime directory: -r, else $KEEL_RUNDIR, else %s.\n", KEEL_DEFAULT_RUNDIR);
}

static void kcd_stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    klog(KLOG_INFO, "main", "signal %d: stopping", (int)sig);
    event_base_loopexit(arg, NULL);
}

static void kcd_hup_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    kcd_dom_reopen_logs(arg);
}

static void kcd_start_store(struct kcd *k, const char *rundir)
{
    const char *env = getenv("XENSTORED_PATH");
    char path[4200];
    int rc;

    if (env && *env)
        snprintf(path, sizeof(path), "%s", env);
    else
        snprintf(path, sizeof(path), "%s/xenstored/socket", rundir);
    if ((rc = kcd_xs_start(k, path)) < 0)
        klog(KLOG_WARN, "main", "store %s: %s (consoles only through \"add\")", path,
             strerror(-rc));
}

static int kcd_run(struct kcd *k, const char *rundir, int use_store)
{
    struct event *sigs[3] = { NULL, NULL, NULL };
    char sock[4200];
    int rc = -ENOMEM;

    snprintf(k->dir, sizeof(k->dir), "%s/console", rundir);
    if (mkdir(k->dir, 0700) < 0 && errno != EEXIST) {
        klog(KLOG_ERROR, "main", "%s: %s", k->dir, strerror(errno));
        return -errno;
    }
    if ((rc = kc_open_role(&k->h, rundir, KC_ROLE_CONSOLE)) < 0) {
        klog(KLOG_ERROR, "main", "no hypervisor core in %s: %s", rundir, strerror(-rc));
        return rc;
    }
    if ((rc = kcd_dom_watch_deaths(k)) < 0)
        klog(KLOG_WARN, "main", "VIRQ_DOM_EXC: %s (dead domains stay until removed)",
             kc_error(k->h));
    snprintf(sock, sizeof(sock), "%s/socket", k->dir);
    sigs[0] = evsignal_new(k->base, SIGTERM, kcd_stop_cb, k->base);
    sigs[1] = evsignal_new(k->base, SIGINT, kcd_stop_cb, k->base);
    sigs[2] = evsignal_new(k->base, SIGHUP, kcd_hup_cb, k);
    if (!sigs[0] || !sigs[1] || !sigs[2] || evsignal_add(sigs[0], NULL) < 0 ||
        evsignal_add(sigs[1], NULL) < 0 || evsignal_add(sigs[2], NULL) < 0)
        goto out;
    if ((rc = kcd_listen(k, sock)) < 0) {
        klog(KLOG_ERROR, "main", "%s: cannot listen: %s", sock, strerror(-rc));
        goto out;
    }
    klog(KLOG_INFO, "main", "listening on %s", sock);
    if (use_store)
        kcd_start_store(k, rundir);
    event_base_dispatch(k->base);
    unlink(sock);
    rc = 0;
out:
    kcd_chan_free_all(k);
    kcd_xs_stop(k);
    kcd_clients_free(k);
    kcd_dom_free_all(k);
    for (int i = 0; i < 3; i++)
        if (sigs[i])
            event_free(sigs[i]);
    kc_close(k->h);
    return rc;
}

int main(int argc, char **argv)
{
    const char *rundir = krundir(NULL);
    struct kcd k;
    int c, rc, use_store = 1;

    memset(&k, 0, sizeof(k));
    klog_init_env("keel-consoled", KLOG_WARN);
    while ((c = getopt(argc, argv, "r:l:nh")) != -1) {
        switch (c) {
        case 'r': rundir = optarg; break;
        case 'l':
            if (klog_set_level_name(optarg) < 0) {
                fprintf(stderr, "keel-consoled: unknown log level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'n': use_store = 0; break;
        case 'h': kcd_usage(stdout); return 0;
        default: kcd_usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        kcd_usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!(k.base = event_base_new()))
        return 1;
    rc = kcd_run(&k, rundir, use_store);
    event_base_free(k.base);
    return rc < 0 ? 1 : 0;
}
