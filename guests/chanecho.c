/* chanecho - the PV channel test guest: opens each channel named in `chan=NAME[,NAME...]` on
 * its command line (at most 4; default "org.keel.echo"), says "chanecho: connected" for each on
 * its console, then sends every byte it receives on a channel straight back on that channel;
 * the bytes "quit\n" (as one read) power it off. For the hostile-ring test, "break-ring" (as one
 * read) makes it write an out-of-range producer index into that channel's ring, as a hostile
 * guest would, notify the backend and leave that channel alone (the others go on). */
#include "rt/keel_guest.h"
#include "rt/rt_channel.h"

#define MAX_CHANS 4

/* The ring page's layout (Xen's public io/console.h: in[1024], out[2048], then the indices). */
struct cons_ring {
    char in[1024];
    char out[2048];
    uint32_t in_cons, in_prod, out_cons, out_prod;
};

static struct rt_chan chans[MAX_CHANS];
static int broke[MAX_CHANS];

/* Put an output producer index 64 KiB past the consumer (the ring holds 2 KiB) and kick. */
static void break_ring(int i)
{
    volatile struct cons_ring *r = (volatile struct cons_ring *)(volatile void *)chans[i].ring;

    r->out_prod = r->out_cons + 65536;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    rt_notify(chans[i].port);
    broke[i] = 1;
    rt_cons_printf("chanecho: channel %u: ring broken on purpose (out_prod %u)\r\n",
                   chans[i].cons, r->out_prod);
}

/* Split chan= into names[]; the count. */
static int chan_names(char names[MAX_CHANS][128])
{
    const char *a = rt_arg("chan");
    int n = 0;
    size_t l = 0;

    if (!a) {
        memcpy(names[0], "org.keel.echo", 14);
        return 1;
    }
    for (;; a++) {
        if (*a && *a != ' ' && *a != ',') {
            if (l + 1 < sizeof(names[0]))
                names[n][l++] = *a;
            continue;
        }
        if (l) {
            names[n++][l] = 0;
            l = 0;
        }
        if (!*a || *a == ' ' || n == MAX_CHANS)
            return n;
    }
}

int main(void)
{
    char names[MAX_CHANS][128], buf[512];
    int n = chan_names(names), rc;

    rt_cons_init();
    for (int i = 0; i < n; i++) {
        if ((rc = rt_chan_open(&chans[i], names[i], rt_now() + 30000000000ULL)) < 0) {
            rt_cons_printf("chanecho: channel %s: open failed (%d)\r\n", names[i], rc);
            return 1;
        }
        rt_cons_printf("chanecho: connected to channel %s (console %u)\r\n", names[i],
                       chans[i].cons);
    }
    for (;;) {
        int any = 0;
        for (int i = 0; i < n; i++) {
            if (broke[i])
                continue;
            if ((rc = rt_chan_read(&chans[i], buf, sizeof(buf))) < 0) {
                rt_cons_printf("chanecho: channel %s: read failed (%d)\r\n", names[i], rc);
                return 1;
            }
            if (rc == 0)
                continue;
            any = 1;
            if (rc == 10 && !memcmp(buf, "break-ring", 10)) {
                break_ring(i);
                continue;
            }
            if (rt_chan_write(&chans[i], buf, (size_t)rc) < 0)
                return 1;
            if (rc == 5 && !memcmp(buf, "quit\n", 5))
                return 0;
        }
        if (!any)
            rt_chan_wait(&chans[0], 0);
    }
}
