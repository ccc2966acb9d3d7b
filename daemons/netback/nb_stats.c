/* nb_stats.c - keel-netback's per-vif statistics file, <rundir>/netback/vif<domid>.<devid>.stats:
 * one "name value" line per counter, from the guest's point of view (tx = guest -> host, what
 * the tap received; rx = host -> guest), with the backend's drops and errors. The file is opened
 * before the worker's seccomp filter and rewritten in place with pwrite (fixed-width values, so
 * a reader never sees a shorter file); it is written at most twice a second and at the end, and
 * removed by the daemon when the worker ends with its device. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "klog.h"
#include "nb_int.h"
#include "krundir.h"

void nb_stats_path(const char *rundir, uint32_t domid, uint32_t devid, char *buf, size_t len)
{
    const char *rd = rundir;

    rd = krundir(rd);
    snprintf(buf, len, "%s/netback/vif%u.%u.stats", rd, domid, devid);
}

int nb_stats_open(struct nb_vif *v)
{
    char p[300];

    nb_stats_path(v->rundir, v->domid, v->devid, p, sizeof(p));
    v->stats_fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (v->stats_fd < 0) {
        klog_warn(v->name, "no statistics file %s: %s", p, strerror(errno));
        return -errno;
    }
    v->stats_dirty = 1;
    nb_stats_write(v, 1);
    return 0;
}

void nb_stats_write(struct nb_vif *v, int force)
{
    char b[1024];
    uint64_t now = nb_now_us();
    int n;

    if (v->stats_fd < 0 || (!v->stats_dirty && !force) ||
        (!force && now - v->stats_written_us < 500000))
        return;
#define L(k) #k, (unsigned long long)v->st.k
    n = snprintf(b, sizeof(b),
                 "ifname %-20s\n%s %20llu\n%s %20llu\n%s %20llu\n%s %20llu\n%s %20llu\n"
                 "%s %20llu\n%s %20llu\n%s %20llu\n%s %20llu\n%s %20llu\n%s %20llu\n"
                 "disabled %20d\n",
                 v->ifname, L(tx_packets), L(tx_bytes), L(tx_errors), L(tx_fatal), L(tx_dropped),
                 L(tx_spoof_mac), L(tx_spoof_ip), L(rx_packets), L(rx_bytes), L(rx_dropped),
                 L(rx_errors), !!v->disabled);
#undef L
    if (n > 0 && pwrite(v->stats_fd, b, (size_t)n, 0) == n) {
        v->stats_dirty = 0;
        v->stats_written_us = now;
    }
}
