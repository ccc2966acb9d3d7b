/* vt_store.c - keel-vtpmd's store connection and its recovery. The manager connects to
 * keel-stored at start and watches the vtpm backend directory (and each device's frontend
 * directory, vt_dev.c). When the connection is lost (keel-stored killed or restarted) the
 * manager does not stop: its instances, the guests' pages and event channels, the tpm2-tools
 * sockets and the control socket need no store, so the guests' TPMs keep answering. Meanwhile
 * it connects again with a backoff (50 ms doubling to 2 s, for as long as it takes); once
 * connected it watches again, puts back the backend states it could not write while the store
 * was away, and rescans: devices whose nodes are still there go on where they were, devices
 * that appeared are started, devices whose nodes are gone are closed and forgotten. While the
 * store is away the dead handle stays in vt.xs, so a store call fails at once (never blocks). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "klog.h"
#include "vt_int.h"

#define VT_RETRY_FIRST_MS 50
#define VT_RETRY_MAX_MS 2000

static struct {
    int lost;                            /* the connection is gone: retrying */
    int delay;                           /* ms of the current backoff step */
    long since;                          /* monotonic ms of the loss */
    long next;                           /* monotonic ms of the next try */
    unsigned tries;
} vt_st;

static long vt_now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Connect and watch the backend directory: 0, or a negative errno (*out untouched). */
static int vt_store_connect(kxs **out)
{
    kxs *x = NULL;
    int rc;

    if ((rc = kxs_open(&x, vt.rundir)) < 0)
        return rc;
    if ((rc = kxs_watch(x, VT_BASE, "be")) < 0) {
        kxs_close(x);
        return rc;
    }
    *out = x;
    return 0;
}

int vt_store_open(void)
{
    return vt_store_connect(&vt.xs);
}

int vt_store_lost(void)
{
    return vt_st.lost || kxs_dead(vt.xs);
}

int vt_store_fd(void)
{
    return vt_st.lost ? -1 : kxs_fd(vt.xs);
}

int vt_store_timeout(int dflt)
{
    long left;

    if (!vt_st.lost)
        return dflt;
    left = vt_st.next - vt_now_ms();
    left = left < 0 ? 0 : left;
    return dflt >= 0 && dflt < left ? dflt : (int)left;
}

/* Connected again: watch each device's frontend again, put back what we could not write,
 * rescan. */
static void vt_store_back(kxs *x)
{
    kxs_close(vt.xs);
    vt.xs = x;
    vt_st.lost = 0;
    klog_info("vtpm", "store connection back after about %ld ms (%u tries): watching and "
              "rescanning", vt_now_ms() - vt_st.since, vt_st.tries);
    for (int i = 0; i < VT_MAX_DEVS; i++)
        vt_dev_resync(&vt.devs[i]);
    vt_scan();
}

void vt_store_check(void)
{
    kxs *x = NULL;
    int rc;

    if (!vt_st.lost) {
        if (!kxs_dead(vt.xs))
            return;
        vt_st.lost = 1;
        vt_st.delay = VT_RETRY_FIRST_MS;
        vt_st.since = vt_now_ms();
        vt_st.next = vt_st.since + vt_st.delay;
        vt_st.tries = 0;
        klog_warn("vtpm", "store connection lost: the vTPMs keep serving their guests and "
                  "sockets; reconnecting");
        return;
    }
    if (vt_now_ms() < vt_st.next)
        return;
    vt_st.tries++;
    if ((rc = vt_store_connect(&x)) == 0) {
        vt_store_back(x);
        return;
    }
    klog_debug("vtpm", "store not back yet: %s", strerror(-rc));
    vt_st.delay = vt_st.delay < VT_RETRY_MAX_MS / 2 ? vt_st.delay * 2 : VT_RETRY_MAX_MS;
    vt_st.next = vt_now_ms() + vt_st.delay;
}
