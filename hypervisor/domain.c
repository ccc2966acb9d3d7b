/* domain.c - domain lifecycle in the core: create, destroy, pause, shutdown, death, info. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "lazymem.h"
#include "logdirty.h"
#include "keel-flask-av.h"
#include "klog.h"

static const char *const shutdown_names[] = { "poweroff", "reboot", "suspend", "crash", "watchdog" };

struct hv_domain *hv_domain_get(uint32_t domid)
{
    struct hv_domain *d;

    if (domid >= HV_MAX_DOMAINS)
        return NULL;
    d = hv.domains[domid];
    return (d && d->ready && !d->destroying) ? d : NULL;
}

struct hv_domain *hv_domain_target(struct hv_caller *c, uint32_t domid)
{
    if (domid == KEEL_DOMID_SELF)
        return c->d;
    return hv_domain_get(domid);
}

static int alloc_domid(uint32_t want, uint32_t *out)
{
    if (want) {
        if (want >= HV_MAX_DOMAINS || want >= KEEL_DOMID_FIRST_RESERVED)
            return -EINVAL;
        if (hv.domains[want])
            return -EEXIST;
        *out = want;
        return 0;
    }
    for (uint32_t i = 0; i < HV_MAX_DOMAINS - 1; i++) {
        uint32_t id = 1 + (hv.next_domid - 1 + i) % (HV_MAX_DOMAINS - 1);
        if (!hv.domains[id]) {
            hv.next_domid = id + 1;
            *out = id;
            return 0;
        }
    }
    return -ENOSPC;
}

static void domain_free(struct hv_domain *d)
{
    hv_lazy_release(d);                     /* before the userfaultfd closes */
    if (d->shared && d->shared != MAP_FAILED)
        munmap(d->shared, HV_SHARED_SIZE);
    if (d->mem_fd >= 0)
        close(d->mem_fd);
    if (d->shared_fd >= 0)
        close(d->shared_fd);
    if (d->pidfd >= 0)
        close(d->pidfd);
    hv_gnttab_teardown(d);
    hv_logdirty_release(d);
    hv_evtchn_teardown(d);
    hv_vm_event_free(d);
    hv_mem_access_free(d);
    free(d->evtchn);
    free(d->vcpus);
    free(d->populated);
    free(d->con);
    free(d);
}

static int init_shared(struct hv_domain *d)
{
    struct hv_ctl_header *h;
    struct keel_shared_info *si;
    char name[32];

    snprintf(name, sizeof(name), "keel-d%u-shared", d->domid);
    d->shared_fd = memfd_create(name, MFD_CLOEXEC);
    if (d->shared_fd < 0 || ftruncate(d->shared_fd, HV_SHARED_SIZE) < 0)
        return -errno;
    d->shared = mmap(NULL, HV_SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, d->shared_fd, 0);
    if (d->shared == MAP_FAILED)
        return -errno;
    si = d->shared;
    si->domid = d->domid;
    si->nr_vcpus = d->max_vcpus;
    si->nr_pages = d->mem_size >> KEEL_PAGE_SHIFT;
    while (!si->instance && getrandom(&si->instance, sizeof(si->instance), 0) < 0 && errno == EINTR)
        ;
    if (!si->instance)
        si->instance = ((uint64_t)d->domid << 32) ^ (uint64_t)time(NULL) ^ 1;
    for (uint32_t i = 0; i < d->max_vcpus; i++)
        si->vcpu_info[i].evtchn_upcall_mask = 1;
    h = HV_CTL(d->shared);
    h->mem_size = d->mem_size;
    h->nr_vcpus = d->max_vcpus;
    h->spin_cycles = hv.spin_cycles;
    h->filter_len = hv.filter.len;
    h->uffd_features = hv_logdirty_stub_features();
    h->uffd_missing = d->lazy != NULL;     /* lazymem.c */
    d->ld_engine = (uint8_t)hv_logdirty_engine();
    memcpy(h->filter, hv.filter.sock_filter, hv.filter.len * sizeof(uint64_t));
    hv_time_publish(d);
    return 0;
}

static int init_memory(struct hv_domain *d)
{
    char name[32];
    uint64_t pages = d->mem_size >> KEEL_PAGE_SHIFT;

    snprintf(name, sizeof(name), "keel-d%u-mem", d->domid);
    d->mem_fd = memfd_create(name, MFD_CLOEXEC);
    if (d->mem_fd < 0 || ftruncate(d->mem_fd, (off_t)d->mem_size) < 0)
        return -errno;
    d->populated = calloc((pages + 7) / 8, 1);
    d->max_pages = pages;
    d->con = calloc(1, HV_DOM_CONSOLE_SIZE);
    return (d->populated && d->con) ? 0 : -ENOMEM;
}

static struct hv_domain *domain_alloc(const struct keel_domctl_create *cr, uint32_t domid)
{
    struct hv_domain *d = calloc(1, sizeof(*d));

    if (!d)
        return NULL;
    d->domid = domid;
    d->mem_fd = d->shared_fd = d->pidfd = d->uffd = d->pagemap_fd = -1;
    d->max_vcpus = cr->max_vcpus;
    d->mem_size = (cr->max_mem_kb * 1024 + KEEL_PAGE_SIZE - 1) & ~(KEEL_PAGE_SIZE - 1);
    memcpy(d->handle, cr->handle, sizeof(d->handle));
    memcpy(d->label, cr->label, sizeof(d->label));
    d->label[sizeof(d->label) - 1] = 0;
    if (hv_flask_label(d->label, &d->ssidref, &d->self_sid) < 0) {
        free(d);
        return NULL;
    }
    d->vcpus = calloc(d->max_vcpus, sizeof(*d->vcpus));
    if (!d->vcpus) {
        free(d);
        return NULL;
    }
    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        d->vcpus[i].id = i;
        memset(d->vcpus[i].hard_affinity, 0xff, sizeof(d->vcpus[i].hard_affinity));
        memset(d->vcpus[i].soft_affinity, 0xff, sizeof(d->vcpus[i].soft_affinity));
    }
    d->created_ns = hv_now();
    d->sched_weight = KEEL_SCHED_WEIGHT_DEFAULT;
    if (domid != 0 && hv_gnttab_init(d, cr->max_grant_frames, cr->max_maptrack_frames) < 0) {
        free(d->vcpus);
        free(d);
        return NULL;
    }
    return d;
}

static int validate_create(const struct keel_domctl_create *cr)
{
    if (cr->max_vcpus < 1 || cr->max_vcpus > KEEL_MAX_VCPUS)
        return -EINVAL;
    if (cr->max_mem_kb < 64 || cr->max_mem_kb > KEEL_MAX_GUEST_MEM / 1024)
        return -EINVAL;
    if (cr->flags & ~KEEL_DOMCTL_CDF_LAZY_MEM)
        return -EINVAL;
    if (memchr(cr->label, 0, sizeof(cr->label)) == NULL)
        return -EINVAL;
    if (cr->max_grant_frames > KEEL_GNTTAB_MAX_FRAMES_LIMIT ||
        (cr->max_maptrack_frames > KEEL_GNTTAB_MAX_MAPTRACK_LIMIT &&
         cr->max_maptrack_frames != KEEL_GNTTAB_NO_MAPTRACK))
        return -EINVAL;
    return 0;
}

/* The XSM check for creating a domain labelled as cr asks (called without the lock). */
int hv_domain_create_allowed(struct hv_caller *c, const struct keel_domctl_create *cr)
{
    uint32_t sid, self;
    int rc;

    if (memchr(cr->label, 0, sizeof(cr->label)) == NULL)
        return -EINVAL;
    if ((rc = hv_flask_label(cr->label, &sid, &self)) < 0)
        return rc;
    pthread_mutex_lock(&hv.lock);
    rc = hv_xsm_check_sids(hv_caller_sid(c), sid, SECCLASS_DOMAIN, DOMAIN__CREATE);
    pthread_mutex_unlock(&hv.lock);
    return rc;
}

/* Everything that needs no lock: memory, shared area, the confined process, the runner. */
static int build_domain(struct hv_domain *d)
{
    uint64_t t[7];
    int rc;

    t[0] = hv_now();
    if ((rc = init_memory(d)) < 0 || (rc = init_shared(d)) < 0)
        return rc;
    if ((rc = hv_evtchn_init(d, HV_DOMU_EVTCHNS)) < 0)
        return rc;
    t[1] = hv_now();
    if ((rc = hv_cgroup_create(d)) < 0)
        return rc;
    t[2] = hv_now();
    if ((rc = hv_spawn_domain(d)) < 0)
        return rc;
    t[3] = hv_now();
    if ((rc = hv_wait_stub_ready(d)) < 0)
        return rc;
    t[4] = hv_now();
    if ((rc = hv_vcpu_find_tids(d)) < 0)
        return rc;
    t[5] = hv_now();
    rc = hv_runner_start(d);
    t[6] = hv_now();
    klog_debug("domain", "domain %u built in %llu us: memory %llu, cgroup %llu, spawn %llu, "
               "stub %llu, tids %llu, runner %llu", d->domid,
               (unsigned long long)(t[6] - t[0]) / 1000, (unsigned long long)(t[1] - t[0]) / 1000,
               (unsigned long long)(t[2] - t[1]) / 1000, (unsigned long long)(t[3] - t[2]) / 1000,
               (unsigned long long)(t[4] - t[3]) / 1000, (unsigned long long)(t[5] - t[4]) / 1000,
               (unsigned long long)(t[6] - t[5]) / 1000);
    return rc;
}

static void unbuild_domain(struct hv_domain *d)
{
    if (d->runner_started)
        hv_runner_stop(d);
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, __WALL);
    }
    hv_cgroup_remove(d);
}

long hv_domain_create(struct keel_domctl_create *cr, uint32_t want, uint32_t *domid)
{
    struct hv_domain *d;
    uint32_t id;
    int rc;

    if ((rc = validate_create(cr)) < 0)
        return rc;
    pthread_mutex_lock(&hv.lock);
    rc = alloc_domid(want, &id);
    d = rc < 0 ? NULL : domain_alloc(cr, id);
    if (d)
        hv.domains[id] = d;
    pthread_mutex_unlock(&hv.lock);
    if (!d)
        return rc < 0 ? rc : -EINVAL;       /* out of memory, or a label the policy lacks */
    rc = (cr->flags & KEEL_DOMCTL_CDF_LAZY_MEM) ? hv_lazy_init(d) : 0;
    if (rc == 0)
        rc = build_domain(d);
    if (rc == 0)
        rc = hv_lazy_start(d);              /* lazymem.c: the filler, once the uffd is ours */
    hv_spawn_idle();
    pthread_mutex_lock(&hv.lock);
    if (rc < 0) {
        hv.domains[id] = NULL;
        pthread_mutex_unlock(&hv.lock);
        klog_err("domain", "creating domain %u failed: %s", id, strerror(-rc));
        unbuild_domain(d);
        domain_free(d);
        return rc;
    }
    d->pause_count = 1;
    d->ready = true;
    hv_gnttab_publish(d);
    hv_reaper_watch(d);
    hv_printk("Domain %u created: %u vCPUs, %llu KiB, pid %d", id, d->max_vcpus,
              (unsigned long long)(d->mem_size >> 10), (int)d->pid);
    pthread_mutex_unlock(&hv.lock);
    *domid = id;
    return 0;
}

/* Interdomain channels of other domains that point at d become unbound again. */
static void unlink_peers(struct hv_domain *d)
{
    for (uint32_t p = 1; p < d->nr_evtchn; p++) {
        struct hv_evtchn *chn = &d->evtchn[p];
        struct hv_domain *rd;
        if (chn->state != CHN_INTERDOMAIN)
            continue;
        rd = chn->remote_dom < HV_MAX_DOMAINS ? hv.domains[chn->remote_dom] : NULL;
        if (rd && chn->remote_port < rd->nr_evtchn &&
            rd->evtchn[chn->remote_port].state == CHN_INTERDOMAIN &&
            rd->evtchn[chn->remote_port].remote_dom == d->domid) {
            rd->evtchn[chn->remote_port].state = CHN_UNBOUND;
            rd->evtchn[chn->remote_port].remote_port = 0;
        }
    }
}

long hv_domain_destroy(struct hv_caller *c, uint32_t domid)
{
    struct hv_domain *d;
    int rc;

    pthread_mutex_lock(&hv.lock);
    d = domid < HV_MAX_DOMAINS && domid != 0 ? hv.domains[domid] : NULL;
    if (!d || !d->ready || d->destroying) {
        pthread_mutex_unlock(&hv.lock);
        return -ESRCH;
    }
    if (c && (rc = hv_xsm_check(c, d, SECCLASS_DOMAIN, DOMAIN__DESTROY)) < 0) {
        pthread_mutex_unlock(&hv.lock);
        return rc;
    }
    d->destroying = true;
    hv_reaper_unwatch(d);
    unlink_peers(d);
    hv_evfast_refresh();                  /* Domain-0 processes stop acting on d directly */
    if (d->pid > 0)
        kill(d->pid, SIGKILL);
    pthread_mutex_unlock(&hv.lock);

    hv_gnttab_unpublish(d);               /* no grant op reaches d any more */
    hv_runner_stop(d);
    if (d->pid > 0 && !d->dead) {
        siginfo_t si;
        waitid(P_PIDFD, (id_t)d->pidfd, &si, WEXITED);
    }
    hv_cgroup_remove(d);
    pthread_mutex_lock(&hv.lock);
    hv.domains[domid] = NULL;
    hv_printk("Domain %u destroyed", domid);
    if (!hv.stopping)                    /* at exit every connection is about to close */
        hv_send_global_virq(KEEL_VIRQ_DOM_EXC);
    pthread_mutex_unlock(&hv.lock);
    domain_free(d);
    return 0;
}

static bool running_allowed(struct hv_domain *d)
{
    return d->pause_count == 0 && !d->shutdown_paused && !d->dead;
}

int hv_domain_pause(struct hv_domain *d)
{
    int rc = 0;

    if (d->pause_count == UINT32_MAX)
        return -EOVERFLOW;
    if (d->pause_count++ == 0 && !d->shutdown_paused)
        rc = hv_vcpus_stop(d);
    return rc;
}

int hv_domain_unpause(struct hv_domain *d)
{
    if (d->pause_count == 0)
        return -EINVAL;
    if (--d->pause_count == 0 && running_allowed(d))
        hv_vcpus_resume(d);
    return 0;
}

void hv_domain_shutdown(struct hv_domain *d, uint32_t reason)
{
    if (d->is_shutdown)
        return;
    d->is_shutdown = true;
    d->shutdown_reason = reason;
    if (d->pause_count == 0)
        hv_vcpus_stop(d);
    d->shutdown_paused = true;
    hv_printk("Domain %u shut down: reason %s", d->domid,
              reason <= KEEL_SHUTDOWN_MAX ? shutdown_names[reason] : "unknown");
    hv_send_global_virq(KEEL_VIRQ_DOM_EXC);
}

static void describe_death(struct hv_domain *d, int status)
{
    struct hv_ctl_header *h = HV_CTL(d->shared);

    if (__atomic_load_n(&h->crashed, __ATOMIC_SEQ_CST)) {
        d->crash = h->crash;
        if (d->crash.signo == SIGSYS)
            hv_printk("Domain %u crashed: vCPU %u forbidden system call %u at rip %#llx", d->domid,
                      d->crash.vcpu, d->crash.syscall_nr, (unsigned long long)d->crash.rip);
        else
            hv_printk("Domain %u crashed: vCPU %u signal %d (code %d) at rip %#llx, address %#llx",
                      d->domid, d->crash.vcpu, d->crash.signo, d->crash.code,
                      (unsigned long long)d->crash.rip, (unsigned long long)d->crash.addr);
    } else if (WIFSIGNALED(status)) {
        d->crash.signo = WTERMSIG(status);
        hv_printk("Domain %u crashed: process killed by signal %d", d->domid, WTERMSIG(status));
    } else {
        d->crash.signo = 0;
        hv_printk("Domain %u crashed: process exited with status %d", d->domid, WEXITSTATUS(status));
    }
}

void hv_domain_died(struct hv_domain *d, int status)
{
    d->dead = true;
    d->exit_status = status;
    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        d->vcpus[i].started = false;
        d->vcpus[i].deferred = false;
    }
    if (!d->is_shutdown) {
        describe_death(d, status);
        d->is_shutdown = true;
        d->shutdown_reason = KEEL_SHUTDOWN_CRASH;
        hv_send_global_virq(KEEL_VIRQ_DOM_EXC);
    }
}

void hv_domain_info(struct hv_domain *d, struct keel_domctl_info *info)
{
    uint32_t online = 0, blocked = 0, maxid = 0;

    memset(info, 0, sizeof(*info));
    info->domid = d->domid;
    for (uint32_t i = 0; i < d->max_vcpus; i++) {
        struct hv_vcpu *v = &d->vcpus[i];
        if (v->online) {
            online++;
            maxid = i;
            blocked += v->deferred;
        }
    }
    if (d->dead)
        info->flags |= KEEL_DOMINF_CRASHED;
    if (d->destroying)
        info->flags |= KEEL_DOMINF_DYING;
    if (d->is_shutdown)
        info->flags |= KEEL_DOMINF_SHUTDOWN | (d->shutdown_reason << KEEL_DOMINF_SHUTDOWN_SHIFT);
    if (d->pause_count)
        info->flags |= KEEL_DOMINF_PAUSED;
    if (d != hv.dom0 && online && blocked == online)
        info->flags |= KEEL_DOMINF_BLOCKED;
    else if (d == hv.dom0 || (online && running_allowed(d)))
        info->flags |= KEEL_DOMINF_RUNNING;
    info->tot_pages = d->tot_pages;
    info->max_pages = d->max_pages;
    info->outstanding_pages = d->outstanding_pages;
    info->nr_online_vcpus = d == hv.dom0 ? d->max_vcpus : online;
    info->max_vcpu_id = d->max_vcpus - 1;
    (void)maxid;
    info->ssidref = d->ssidref;
    info->pause_count = d->pause_count;
    memcpy(info->handle, d->handle, sizeof(info->handle));
    info->pid = d->pid;
    info->crash_signal = (uint32_t)d->crash.signo;
    info->cpupool = d->cpupool;
    info->cpu_time_ns = (d->pid > 0 && !d->dead) ? hv_proc_cpu_ns(d->pid, 0, NULL) : 0;
}

/* Domain 0 is the privileged toolstack: no process, no memory object, only event channels. */
int hv_dom0_init(void)
{
    struct keel_domctl_create cr = { .max_vcpus = 1, .max_mem_kb = 64 };
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    struct hv_domain *d;

    cr.max_vcpus = n > 0 && n <= KEEL_MAX_VCPUS ? (uint32_t)n : 1;
    d = domain_alloc(&cr, 0);
    if (!d || hv_evtchn_init(d, KEEL_NR_EVTCHN) < 0)
        return -ENOMEM;
    hv_flask_dom0(&d->ssidref);
    d->self_sid = d->ssidref;
    for (uint32_t i = 0; i < d->max_vcpus; i++)
        d->vcpus[i].online = true;
    d->ready = true;
    hv.domains[0] = d;
    hv.dom0 = d;
    hv.next_domid = 1;
    return 0;
}
