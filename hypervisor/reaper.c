/* reaper.c - notices when a domain's process ends (pidfds on an epoll set, one thread) and
 * records the death: a crash unless the guest had shut down. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv.h"

static void reap(uint32_t domid)
{
    struct hv_domain *d;
    siginfo_t si = { 0 };
    int status;

    pthread_mutex_lock(&hv.lock);
    d = domid < HV_MAX_DOMAINS ? hv.domains[domid] : NULL;
    if (d && d->ready && !d->destroying && !d->dead &&
        waitid(P_PIDFD, (id_t)d->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid) {
        status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
        epoll_ctl(hv.epfd, EPOLL_CTL_DEL, d->pidfd, NULL);
        hv_domain_died(d, status);
    }
    pthread_mutex_unlock(&hv.lock);
}

static void *reaper_main(void *arg)
{
    struct epoll_event ev[16];

    (void)arg;
    for (;;) {
        int n = epoll_wait(hv.epfd, ev, 16, -1);
        if (n < 0 && errno != EINTR)
            return NULL;
        for (int i = 0; i < n; i++)
            reap(ev[i].data.u32);
    }
}

int hv_reaper_init(void)
{
    pthread_t t;

    hv.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (hv.epfd < 0)
        return -errno;
    if (pthread_create(&t, NULL, reaper_main, NULL))
        return -EAGAIN;
    pthread_detach(t);
    return 0;
}

int hv_reaper_watch(struct hv_domain *d)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = d->domid };

    return epoll_ctl(hv.epfd, EPOLL_CTL_ADD, d->pidfd, &ev) < 0 ? -errno : 0;
}

void hv_reaper_unwatch(struct hv_domain *d)
{
    if (!d->dead)
        epoll_ctl(hv.epfd, EPOLL_CTL_DEL, d->pidfd, NULL);
}
