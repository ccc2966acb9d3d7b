/* nb_tap.c - keel-netback's tap device: vif<domid>.<devid> (or the BE's `vifname`) in the
 * backend's network namespace, IFF_TAP|IFF_NO_PI|IFF_VNET_HDR|IFF_MULTI_QUEUE, one descriptor per
 * possible queue (those the frontend does not use are detached), persistent while the device
 * exists so that a restarted backend finds the same interface and bridge port. At close the
 * persistence is dropped and the last descriptor closing deletes the interface. TUNSETOFFLOAD
 * tells the kernel which partial checksums and GSO frames the worker may receive. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "klog.h"
#include "nb_int.h"

static int nb_tap_fd(const char *name, short flags)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_flags = flags;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int nb_tap_open(struct nb_vif *v, unsigned nfds)
{
    short flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (nfds > 1 ? IFF_MULTI_QUEUE : 0);
    unsigned off = 0;
    int fd;

    for (unsigned i = 0; i < nfds; i++) {
        if ((fd = nb_tap_fd(v->ifname, flags)) < 0) {
            nb_dev_fail(v, "tap %s (queue %u): %s", v->ifname, i, strerror(-fd));
            nb_tap_close(v, 0);
            return fd;
        }
        v->q[i].tapfd = fd;
        v->q[i].attached = 1;
    }
    v->tap_open = 1;
    if (ioctl(v->q[0].tapfd, TUNSETPERSIST, 1) < 0) {
        int e = errno;
        nb_dev_fail(v, "tap %s: TUNSETPERSIST: %s", v->ifname, strerror(e));
        return -e;
    }
    /* until the frontend says what it takes: plain frames, checksums complete */
    ioctl(v->q[0].tapfd, TUNSETOFFLOAD, off);
    klog_info(v->name, "tap %s open (%u queue descriptor%s, persistent)", v->ifname, nfds,
              nfds > 1 ? "s" : "");
    return 0;
}

/* Attach the first n queues, detach the others (the kernel steers only to attached ones). */
int nb_tap_set_queues(struct nb_vif *v, unsigned n)
{
    if (v->max_queues <= 1)
        return 0;
    for (unsigned i = 0; i < v->max_queues; i++) {
        struct ifreq ifr;
        int want = i < n;
        if (v->q[i].tapfd < 0 || v->q[i].attached == want)
            continue;
        memset(&ifr, 0, sizeof(ifr));
        ifr.ifr_flags = want ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
        if (ioctl(v->q[i].tapfd, TUNSETQUEUE, &ifr) < 0) {
            klog_err(v->name, "tap %s: %s queue %u: %s", v->ifname, want ? "attach" : "detach",
                     i, strerror(errno));
            return -errno;
        }
        v->q[i].attached = want;
    }
    return 0;
}

/* What the worker can take from the kernel: partial checksums always (finished in software for
 * a frontend without checksum offload), TSO frames when the frontend does GSO with sg. */
int nb_tap_offload(struct nb_vif *v)
{
    unsigned off = TUN_F_CSUM;

    if (v->fe_sg && v->fe_gso4)
        off |= TUN_F_TSO4;
    if (v->fe_sg && v->fe_gso6)
        off |= TUN_F_TSO6;
    if (ioctl(v->q[0].tapfd, TUNSETOFFLOAD, off) < 0) {
        klog_err(v->name, "tap %s: TUNSETOFFLOAD 0x%x: %s", v->ifname, off, strerror(errno));
        return -errno;
    }
    return 0;
}

/* delete_it: drop persistence, so the interface goes with the last descriptor (device closed);
 * else it stays for a restarted backend. */
void nb_tap_close(struct nb_vif *v, int delete_it)
{
    int unpersisted = 0;

    for (unsigned i = 0; i < NB_MAX_QUEUES; i++) {
        if (v->q[i].tapfd < 0)
            continue;
        if (delete_it && !unpersisted && !v->q[i].attached) {
            struct ifreq ifr;                /* TUNSETPERSIST needs an attached queue */
            memset(&ifr, 0, sizeof(ifr));
            ifr.ifr_flags = IFF_ATTACH_QUEUE;
            if (ioctl(v->q[i].tapfd, TUNSETQUEUE, &ifr) == 0)
                v->q[i].attached = 1;
        }
        if (delete_it && !unpersisted && v->q[i].attached &&
            ioctl(v->q[i].tapfd, TUNSETPERSIST, 0) == 0)
            unpersisted = 1;
        close(v->q[i].tapfd);
        v->q[i].tapfd = -1;
    }
    if (v->tap_open)
        klog_info(v->name, "tap %s %s", v->ifname,
                  unpersisted ? "deleted" : delete_it ? "closed (could not drop persistence)"
                                                      : "left for a restarted backend");
    v->tap_open = 0;
}
