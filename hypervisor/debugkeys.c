/* debugkeys.c - Xen's debug keys and runtime parameters, as far as the core can honour them. Keys
 * print to the console ring (read with xl dmesg): 'h' the keys, 'q' every domain and its vCPUs,
 * 'm' memory per domain, 't' the core's clocks; others are reported as not honoured. Parameters:
 * loglvl (Xen's name) sets the core's log threshold. Called under the core lock. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "debugkeys.h"
#include "klog.h"

static void key_help(void);

/* What a vCPU waits for, as Xen's 'q' shows pause flags, upcall pend/mask and poll state:
 * its thread, the hypercall it waits in, its timers (ns from now), its event flags, and the
 * hypercall slot's sequence numbers (a request not yet taken shows req != last). */
static void vcpu_detail(struct hv_domain *d, struct hv_vcpu *v)
{
    const struct keel_vcpu_info *vi = &((struct keel_shared_info *)d->shared)->vcpu_info[v->id];
    const struct hv_vcpu_slot *s = HV_SLOT(d->shared, v->id);
    uint64_t now = hv_guest_now(d);
    long long ss = v->singleshot ? (long long)(v->singleshot - now) : 0;
    uint32_t tp = v->virq_port[KEEL_VIRQ_TIMER];
    const struct keel_shared_info *si = d->shared;
    int tpend = tp && tp < d->nr_evtchn ? (int)(si->evtchn_pending[tp / 64] >> (tp % 64) & 1) : -1;
    int tmask = tp && tp < d->nr_evtchn ? (int)(si->evtchn_mask[tp / 64] >> (tp % 64) & 1) : -1;

    hv_printk("      tid %d started=%u stopped=%u paused=%u wait=%s%s singleshot=%s%lld "
              "periodic=%llu timer_port=%u pend=%d mask=%d upcall_pend=%u upcall_mask=%u sel=%#llx polling=%u "
              "req=%u last=%u rsp=%u run_gen=%u pause_req=%u ctx_load=%u", (int)v->tid, v->started, v->stopped,
              __atomic_load_n(&s->paused, __ATOMIC_RELAXED),
              !v->deferred ? "none" : v->deferred_op != KH_SCHED_OP ? "hypercall"
              : v->deferred_cmd == KEEL_SCHEDOP_BLOCK ? "block" : "poll",
              v->deferred && v->poll_deadline ? " (deadline)" : "",
              v->singleshot ? "" : "off ", ss, (unsigned long long)v->periodic,
              tp, tpend, tmask, vi->evtchn_upcall_pending, vi->evtchn_upcall_mask,
              (unsigned long long)vi->evtchn_pending_sel, hv_evfast_vcpu_polling(d, v->id),
              __atomic_load_n(&s->req_seq, __ATOMIC_RELAXED), v->last_seq,
              __atomic_load_n(&s->rsp_seq, __ATOMIC_RELAXED),
              __atomic_load_n(&s->run_gen, __ATOMIC_RELAXED),
              __atomic_load_n(&s->pause_req, __ATOMIC_RELAXED),
              __atomic_load_n(&s->ctx_load, __ATOMIC_RELAXED));
}

static void key_domains(void)
{
    hv_printk("'q' pressed -> dumping domain info (now = %llu ns)",
              (unsigned long long)hv_now());
    for (uint32_t i = 1; i < HV_MAX_DOMAINS; i++) {
        struct hv_domain *d = hv.domains[i];
        if (!d || !d->ready)
            continue;
        hv_printk("General information for domain %u: pid %d, pause_count %u, %s%s",
                  d->domid, (int)d->pid, d->pause_count, d->dead ? "dead" : "alive",
                  d->is_shutdown ? ", shut down" : "");
        hv_printk("    nr_pages=%llu max_pages=%llu",
                  (unsigned long long)d->tot_pages, (unsigned long long)d->max_pages);
        for (uint32_t v = 0; v < d->max_vcpus; v++) {
            struct keel_domctl_vcpuinfo vi = { .vcpu = v };
            hv_domctl_getvcpuinfo(d, &vi);
            hv_printk("    VCPU%u: CPU%u [has=%c] online=%u blocked=%u time=%llu ns", v,
                      vi.cpu, vi.running ? 'T' : 'F', vi.online, vi.blocked,
                      (unsigned long long)vi.cpu_time_ns);
            vcpu_detail(d, &d->vcpus[v]);
        }
    }
}

static void key_memory(void)
{
    uint64_t total = 0;

    hv_printk("'m' pressed -> memory info");
    for (uint32_t i = 1; i < HV_MAX_DOMAINS; i++) {
        struct hv_domain *d = hv.domains[i];
        if (!d || !d->ready)
            continue;
        hv_printk("    domain %u: %llu pages (max %llu)", d->domid,
                  (unsigned long long)d->tot_pages, (unsigned long long)d->max_pages);
        total += d->tot_pages;
    }
    hv_printk("    guest pages in all: %llu", (unsigned long long)total);
}

static void key_time(void)
{
    struct timespec rt;

    clock_gettime(CLOCK_REALTIME, &rt);
    hv_printk("'t' pressed -> dumping time info: system time %llu ns, wallclock %lld.%09ld",
              (unsigned long long)hv_now(), (long long)rt.tv_sec, rt.tv_nsec);
}

static const struct { char key; const char *what; void (*fn)(void); } keys[] = {
    { 'h', "show this message", key_help },
    { 'm', "memory info", key_memory },
    { 'q', "dump domain (and vCPU) info", key_domains },
    { 't', "display the core's clocks", key_time },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void key_help(void)
{
    hv_printk("'h' pressed -> showing installed handlers");
    for (size_t i = 0; i < NKEYS; i++)
        hv_printk(" key '%c' (ascii '%02x') => %s", keys[i].key, keys[i].key, keys[i].what);
}

long hv_sysctl_debug_keys(struct hv_caller *c, const struct keel_sysctl_string *k)
{
    (void)c;
    if (k->len > KEEL_SYSCTL_STRING_MAX)
        return -EINVAL;
    for (uint32_t i = 0; i < k->len; i++) {
        size_t j = 0;
        while (j < NKEYS && keys[j].key != k->s[i])
            j++;
        if (j < NKEYS)
            keys[j].fn();
        else if (k->s[i] > 0x20 && k->s[i] < 0x7f)
            hv_printk("'%c' pressed -> not honoured by Keel ('h' lists the keys)", k->s[i]);
        else
            hv_printk("key 0x%02x pressed -> not honoured by Keel", (unsigned char)k->s[i]);
    }
    return 0;
}

static int set_loglvl(const char *v)
{
    static const struct { const char *name; enum klog_level lvl; } lv[] = {
        { "none", KLOG_ERROR }, { "error", KLOG_ERROR }, { "warning", KLOG_WARN },
        { "info", KLOG_INFO }, { "debug", KLOG_DEBUG }, { "all", KLOG_DEBUG },
    };
    for (size_t i = 0; i < sizeof(lv) / sizeof(lv[0]); i++)
        if (!strcmp(v, lv[i].name)) {
            klog_set_level(lv[i].lvl);
            return 0;
        }
    return -EINVAL;
}

long hv_sysctl_set_parameter(struct hv_caller *c, const struct keel_sysctl_string *p)
{
    char buf[KEEL_SYSCTL_STRING_MAX + 1], *save = NULL;
    long rc = 0;

    (void)c;
    if (p->len > KEEL_SYSCTL_STRING_MAX)
        return -E2BIG;
    memcpy(buf, p->s, p->len);
    buf[p->len] = 0;
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(t, '=');
        if (eq)
            *eq = 0;
        if (strcmp(t, "loglvl")) {
            hv_printk("parameter \"%s\" unknown! (the core's parameters: loglvl)", t);
            rc = -EINVAL;
        } else if (!eq || set_loglvl(eq + 1) < 0) {
            hv_printk("parameter \"loglvl\": bad value \"%s\" (none, error, warning, info, "
                      "debug, all)", eq ? eq + 1 : "");
            rc = -EINVAL;
        } else {
            hv_printk("parameter loglvl set to %s", eq + 1);
        }
    }
    return rc;
}
