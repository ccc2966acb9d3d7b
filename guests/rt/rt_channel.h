/* rt_channel.h - the guest runtime's PV channel frontend (rt_channel.c): a secondary console
 * with a name (Xen's docs/misc/console.txt; channel=[...] in xl.cfg), found under
 * device/console/<n> by its name, on a ring page of Xen's console layout that the guest grants
 * to the backend (keel-consoled) with an unbound event channel. One caller at a time. */
#ifndef RT_CHANNEL_H
#define RT_CHANNEL_H

#include "keel_guest.h"

struct rt_chan {
    struct rt_xb_dev xb;
    volatile struct rt_chan_ring *ring;
    uint32_t ref, port, cons;
    volatile uint32_t kicks;
    int broken;
    uint64_t instance;               /* the shared page's instance when last connected */
};

/* Find the channel called name, publish its ring (ring-ref, port; Initialised), wait for the
 * backend's Connected until deadline (ns), go Connected: 0, or a negative errno (-2 no such
 * channel, -19 the backend closed it, -110 timeout). */
int rt_chan_open(struct rt_chan *c, const char *name, uint64_t deadline);
/* Read and write first look whether the domain was restored or migrated since the channel
 * connected (the shared page's instance changed): the new host's backend then waits in
 * InitWait on a fresh frontend directory, and the carried ring page, grant and event channel
 * are published there again (backend path re-read for the new domid), waiting up to 30 s for
 * Connected; a failure breaks the channel (-5). The ring's contents and indices are kept:
 * nothing either side had queued is lost. */
/* Take what the host sent (no wait): bytes, or -5 when the backend broke the ring. */
int rt_chan_read(struct rt_chan *c, char *buf, size_t size);
/* Put bytes for the host, waiting while the ring is full: len, or -5. */
int rt_chan_write(struct rt_chan *c, const char *buf, size_t len);
/* Sleep until the backend notifies or deadline (ns; 0: 10 ms at most). */
void rt_chan_wait(struct rt_chan *c, uint64_t deadline);

#endif
