/* kcd_child.c - keel-consoled's serving process: started by the privileged part (kcd_priv.c)
 * with fork+exec, it confines itself (kcd_confine.c) before it reads anything untrusted, then
 * serves: the console socket it was handed (commands, attaches), the guests' console and
 * channel rings (pages, eventfds and logs handed over on request, kcd_req.c), the store
 * (a connection handed over). It first takes over what the privileged part still holds from
 * a serving process before it (consoles; channels come back through the store scan). */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "kcd_chan.h"
#include "kcd_child.h"
#include "kcd_confine.h"
#include "kcd_int.h"
#include "kcd_xs.h"
#include "klog.h"

/* Readable channel outside a call: the privileged part closed it (it never speaks first). */
static void kcd_child_chan_cb(evutil_socket_t fd, short what, void *arg)
{
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);

    (void)what;
    (void)arg;
    if (n == 0 || n > 0) {
        klog(KLOG_ERROR, "child", "channel to the privileged part: %s: exiting",
             n ? "a message nobody asked for" : "closed");
        _exit(1);
    }
}

static void kcd_child_stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    klog(KLOG_INFO, "child", "signal %d: stopping", (int)sig);
    event_base_loopexit(arg, NULL);
}

static void kcd_child_hup_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    kcd_dom_reopen_logs(arg);
}

static int kcd_child_events(struct kcd *k, struct event **evs, int exc_fd)
{
    int n = 0, rc;

    evs[n++] = evsignal_new(k->base, SIGTERM, kcd_child_stop_cb, k->base);
    evs[n++] = evsignal_new(k->base, SIGINT, kcd_child_stop_cb, k->base);
    evs[n++] = evsignal_new(k->base, SIGHUP, kcd_child_hup_cb, k);
    evs[n++] = event_new(k->base, k->chan, EV_READ | EV_PERSIST, kcd_child_chan_cb, k);
    for (int i = 0; i < n; i++)
        if (!evs[i] || event_add(evs[i], NULL) < 0)
            return -ENOMEM;
    if ((rc = kcd_listen(k, KCD_PRIV_FD_LISTEN)) < 0)
        return rc;
    if (exc_fd >= 0 && (rc = kcd_dom_watch_deaths(k, exc_fd)) < 0)
        return rc;
    return 0;
}

int kcd_child_run(const struct kcd_child_cfg *cc)
{
    struct event *evs[4] = { NULL };
    struct kcd k;
    char err[256];
    int rc;

    memset(&k, 0, sizeof(k));
    k.chan = KCD_PRIV_FD_CHAN;
    if ((rc = kcd_confine_jail(cc->dir, cc->uid, cc->gid, err, sizeof(err))) < 0) {
        klog(KLOG_ERROR, "child", "confining the serving process: %s", err);
        return rc;
    }
    if (getppid() != cc->parent)
        return -ESRCH;
    if (!(k.base = event_base_new()))
        return -ENOMEM;
    if ((rc = kcd_child_events(&k, evs, cc->exc_fd)) < 0)
        goto out;
    if ((rc = kcd_confine_filter(err, sizeof(err))) < 0) {
        klog(KLOG_ERROR, "child", "%s", err);
        goto out;
    }
    /* from here on nothing but the filter's system calls */
    kcd_req_ready(&k);
    kcd_dom_claim_held(&k);
    if (cc->store && (rc = kcd_xs_start(&k, cc->store)) < 0)
        klog(KLOG_WARN, "child", "store %s: %s (consoles only through \"add\")", cc->store,
             strerror(-rc));
    event_base_dispatch(k.base);
    rc = 0;
out:
    kcd_chan_free_all(&k);
    kcd_xs_stop(&k);
    kcd_clients_free(&k);
    kcd_dom_free_all(&k);
    for (int i = 0; i < 4; i++)
        if (evs[i])
            event_free(evs[i]);
    event_base_free(k.base);
    return rc;
}
