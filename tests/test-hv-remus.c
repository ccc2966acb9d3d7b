/* test-hv-remus - Remus checkpoints (kg_save with checkpoint_ms, kg_restore_ex) between a primary
 * and a backup domain on one host: the dirtier is checkpointed every 100 ms while it runs; when
 * the primary dies the backup fails over to the last complete checkpoint and runs on with its
 * memory verified and its tick counter where the primary left it; stopping the replication
 * (the cancel flag) leaves the primary running. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hvhost.h"
#include "tap.h"

#define MIB 32

static struct hvhost host;

struct side {
    int domid, fd, rc;
    volatile int cancel;
    struct kg_save_stats st;
    struct kg_restore_result res;
    char err[512];
};

static int last_tick(int domid)
{
    const char *out = hvhost_console(&host, (uint32_t)domid), *p;
    int last = -1;

    for (p = out; (p = strstr(p, "tick ")); p += 5)
        last = atoi(p + 5);
    return last;
}

static void *primary(void *arg)
{
    struct side *s = arg;
    struct kg_save_opts o = { .checkpoint_ms = 100, .cancel = &s->cancel };

    s->rc = kg_save(host.h, (uint32_t)s->domid, s->fd, &o, &s->st, s->err, sizeof(s->err));
    close(s->fd);                                /* what a dying primary's host does too */
    return NULL;
}

static void *backup(void *arg)
{
    struct side *s = arg;

    s->rc = kg_restore_ex(host.h, (uint32_t)s->domid, MIB << 10, s->fd, &s->res, s->err,
                          sizeof(s->err));
    return NULL;
}

/* Start replicating src into a new backup domain; returns 0 with both threads running. */
static int replicate(int src, struct side *p, struct side *b, pthread_t th[2])
{
    int sv[2];

    memset(p, 0, sizeof(*p));
    memset(b, 0, sizeof(*b));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    p->domid = src;
    p->fd = sv[0];
    b->domid = hvhost_create(&host, 1, MIB);
    b->fd = sv[1];
    pthread_create(&th[0], NULL, primary, p);
    pthread_create(&th[1], NULL, backup, b);
    return b->domid > 0 ? 0 : -1;
}

static void test_failover(void)
{
    int src = hvhost_boot(&host, "dirtier", "size=16 rate=3000 verify=1", 1, MIB), tick;
    struct side p, b;
    pthread_t th[2];
    char want[32];

    tap_ok(src > 0 && hvhost_wait_console(&host, (uint32_t)src, "tick 2 ", 10000),
           "the primary (a verifying dirtier) runs");
    tap_ok(replicate(src, &p, &b, th) == 0, "replication to a backup domain starts");
    usleep(1500000);
    tick = last_tick(src);
    kc_domain_destroy(host.h, (uint32_t)src);   /* the primary dies */
    pthread_join(th[0], NULL);
    close(b.fd);
    pthread_join(th[1], NULL);
    tap_ok(p.rc < 0 && p.err[0], "the primary's replication ends with an error: %s", p.err);
    tap_ok(p.st.checkpoints >= 5, "it had sent %u checkpoints (every 100 ms; last pause %.2f ms)",
           p.st.checkpoints, p.st.downtime_ns / 1e6);
    tap_is_int(b.rc, 0, "the backup's restore succeeds");
    tap_ok(b.res.failover && b.res.checkpoints >= 5,
           "by failing over to the last of %u complete checkpoints (%s)", b.res.checkpoints, b.err);
    kc_domain_unpause(host.h, (uint32_t)b.domid);
    snprintf(want, sizeof(want), "tick %d ", tick + 2);
    tap_ok(hvhost_wait_console(&host, (uint32_t)b.domid, want, 15000),
           "the backup runs on from the primary's tick %d", tick);
    tap_ok(last_tick(b.domid) > tick && !strstr(hvhost_console(&host, (uint32_t)b.domid), "errors 1"),
           "with its memory verified (no checksum error)");
    snprintf(want, sizeof(want), "tick 1 ");
    tap_ok(!strstr(hvhost_console(&host, (uint32_t)b.domid), want),
           "it did not start over: the counter continues");
    kc_domain_destroy(host.h, (uint32_t)b.domid);
}

static void test_stop(void)
{
    int src = hvhost_boot(&host, "dirtier", "size=8 rate=1000 verify=1", 1, MIB), before;
    struct keel_domctl_info info;
    struct side p, b;
    pthread_t th[2];

    hvhost_wait_console(&host, (uint32_t)src, "tick 1 ", 10000);
    tap_ok(replicate(src, &p, &b, th) == 0, "a second replication starts");
    usleep(600000);
    p.cancel = 1;
    pthread_join(th[0], NULL);
    close(b.fd);
    pthread_join(th[1], NULL);
    tap_ok(p.rc == -ECANCELED && p.st.checkpoints >= 2, "setting the cancel flag stops it after "
           "%u checkpoints: %s", p.st.checkpoints, p.err);
    tap_ok(kc_domain_getinfo(host.h, (uint32_t)src, &info) == 0 && !(info.flags & KEEL_DOMINF_PAUSED),
           "the primary is left running");
    before = last_tick(src);
    usleep(1500000);
    tap_ok(last_tick(src) > before, "and goes on ticking");
    kc_domain_destroy(host.h, (uint32_t)src);
    if (b.domid > 0)
        kc_domain_destroy(host.h, (uint32_t)b.domid);
}

int main(void)
{
    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    test_failover();
    test_stop();
    tap_is_int(hvhost_count_children(host.pid), 0, "no domain is left behind");
    hvhost_stop(&host);
    return tap_done();
}
