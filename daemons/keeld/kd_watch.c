/* kd_watch.c - the domain watcher: a thread that lists the domains every interval and posts
 * "domain.created", "domain.died", "domain.state" and "domain.renamed" events (topic "domain")
 * for what changed, in the order it saw it; and the per-thread liblight contexts. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kd.h"
#include "keel/kl_light.h"

static __thread struct kl_ctx *tctx;

struct kl_ctx *kd_ctx(void)
{
    if (!tctx && kl_ctx_open(&tctx, kd_rundir) < 0)
        tctx = NULL;
    return tctx;
}

void kd_ctx_release(void)
{
    kl_ctx_close(tctx);
    tctx = NULL;
}

static pthread_t watcher;
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static int stopping;                 /* under stop_lock */
static unsigned interval_ms;

/* Sleep ms (one wake-up, not one every 10 ms) unless kd_watch_stop comes first: 1 if it did. */
static int nap(unsigned ms)
{
    struct timespec until;
    int stop;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&stop_lock);
    while (!stopping && pthread_cond_timedwait(&stop_cond, &stop_lock, &until) == 0)
        ;
    stop = stopping;
    pthread_mutex_unlock(&stop_lock);
    return stop;
}

/* The lifecycle state an event reports: a vCPU that runs or waits is "running" alike, so a guest
 * going idle and busy again posts no event (xl list's r/b columns show the difference). */
static const char *state_of(const kl_dominfo *d)
{
    return d->dying ? "dying" : d->shutdown ? "shutdown" : d->paused ? "paused" : "running";
}

static void post(const char *what, const kl_dominfo *d, const char *extra_key, const char *extra)
{
    kd_out *o = kd_out_new();
    yajl_gen g;

    if (!o)
        return;
    g = kd_out_gen(o);
    yajl_gen_map_open(g);
    kd_gen_key_str(g, "event", what);
    kd_gen_key_int(g, "domid", d->domid);
    kd_gen_key_str(g, "name", d->name);
    kd_gen_key_str(g, "state", state_of(d));
    if (extra_key)
        kd_gen_key_str(g, extra_key, extra);
    yajl_gen_map_close(g);
    kd_event_post("domain", kd_out_text(o, NULL), 0);
    kd_out_free(o);
}

static const kl_dominfo *find(const kl_dominfo *v, int n, uint32_t domid)
{
    for (int i = 0; i < n; i++)
        if (v[i].domid == domid)
            return &v[i];
    return NULL;
}

/* A name comes from the store: it is empty while a domain is being built or torn down (its
 * store directory not written yet, or already removed). That is no rename: an empty name takes
 * the one seen before, and a name appearing where none was is not reported as a change. */
static void compare(const kl_dominfo *old, int no, kl_dominfo *now, int nn)
{
    for (int i = 0; i < no; i++)
        if (!find(now, nn, old[i].domid))
            post("domain.died", &old[i], NULL, NULL);
    for (int i = 0; i < nn; i++) {
        const kl_dominfo *o = find(old, no, now[i].domid);
        if (o && !now[i].name[0])
            memcpy(now[i].name, o->name, sizeof(now[i].name));
        if (!o)
            post("domain.created", &now[i], NULL, NULL);
        else if (o->name[0] && strcmp(o->name, now[i].name))
            post("domain.renamed", &now[i], "old_name", o->name);
        else if (strcmp(state_of(o), state_of(&now[i])))
            post("domain.state", &now[i], "old_state", state_of(o));
    }
}

static void *watch_main(void *arg)
{
    kl_dominfo *prev = NULL;
    int np = -1;

    (void)arg;
    for (;;) {
        kl_dominfo *cur = NULL;
        int n = kd_ctx() ? kl_domain_list(kd_ctx(), &cur) : -1;
        if (n >= 0) {
            if (np >= 0)
                compare(prev, np, cur, n);
            free(prev);
            prev = cur;
            np = n;
        } else {
            kd_ctx_release();                    /* the host went away: retry in a while */
        }
        if (nap(n >= 0 ? interval_ms : 5000))
            break;
    }
    free(prev);
    kd_ctx_release();
    return NULL;
}

int kd_watch_start(const char *rundir, unsigned interval)
{
    pthread_condattr_t a;

    (void)rundir;
    interval_ms = interval ? interval : 200;
    stopping = 0;
    pthread_condattr_init(&a);                   /* timed waits on the monotonic clock */
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_destroy(&stop_cond);
    pthread_cond_init(&stop_cond, &a);
    pthread_condattr_destroy(&a);
    return pthread_create(&watcher, NULL, watch_main, NULL) ? -1 : 0;
}

void kd_watch_stop(void)
{
    pthread_mutex_lock(&stop_lock);
    stopping = 1;
    pthread_cond_signal(&stop_cond);
    pthread_mutex_unlock(&stop_lock);
    pthread_join(watcher, NULL);
}
