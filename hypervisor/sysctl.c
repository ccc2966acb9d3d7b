/* sysctl.c - system control: physical host information, the domain list, the console ring. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"
#include "debugkeys.h"
#include "logdirty.h"
#include "keel-flask-av.h"

uint64_t hv_meminfo_kb(const char *key)
{
    char line[256];
    unsigned long long v = 0;
    size_t n = strlen(key);
    FILE *f = fopen("/proc/meminfo", "re");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, n) && line[n] == ':')
            sscanf(line + n + 1, "%llu", &v);
    fclose(f);
    return v;
}

static void physinfo(struct keel_sysctl_physinfo *pi)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t doms = 0;

    memset(pi, 0, sizeof(*pi));
    pi->nr_cpus = n > 0 ? (uint32_t)n : 1;
    pi->max_cpu_id = pi->nr_cpus - 1;
    pi->threads_per_core = 1;
    pi->cores_per_socket = pi->nr_cpus;
    pi->nr_nodes = 1;
    pi->cpu_khz = (uint32_t)(hv.tsc_hz / 1000);
    pi->total_pages = hv_meminfo_kb("MemTotal") / 4;
    for (uint32_t i = 1; i < HV_MAX_DOMAINS; i++)
        doms += hv.domains[i] && hv.domains[i]->ready;
    /* as Xen's free_memory: not given to domains, nor claimed for them */
    pi->outstanding_pages = hv_claims_outstanding();
    pi->free_pages = hv_mem_free_pages();
    pi->free_pages = pi->free_pages > pi->outstanding_pages
                   ? pi->free_pages - pi->outstanding_pages : 0;
    pi->nr_domains = doms + 1;
    pi->capabilities = hv_logdirty_physcaps();
}

static long domaininfolist(struct hv_caller *c, struct keel_sysctl_getdomaininfolist *dl)
{
    struct keel_domctl_info *buf;
    uint32_t n = 0;
    long rc;

    if (dl->max_domains > HV_MAX_DOMAINS)
        return -EINVAL;
    buf = calloc(dl->max_domains ? dl->max_domains : 1, sizeof(*buf));
    if (!buf)
        return -ENOMEM;
    for (uint32_t i = dl->first_domain; i < HV_MAX_DOMAINS && n < dl->max_domains; i++) {
        struct hv_domain *d = hv.domains[i];
        if (d && d->ready && hv_xsm_check(c, d, SECCLASS_DOMAIN, DOMAIN__GETDOMAININFO) == 0)
            hv_domain_info(d, &buf[n++]);
    }
    dl->num_domains = n;
    rc = hv_buf_write(c, dl->buf, buf, n * sizeof(*buf));
    free(buf);
    return rc;
}

long hv_do_sysctl(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    struct keel_sysctl sc;
    long rc;

    (void)cmd;
    if ((rc = hv_arg_read(c, arg, &sc, sizeof(sc))) < 0)
        return rc;
    if (sc.interface_version != KEEL_SYSCTL_INTERFACE_VERSION)
        return -EACCES;
    switch (sc.cmd) {
    case KEEL_SYSCTL_READCONSOLE:
        if ((rc = hv_xsm_check_xen(c, SECCLASS_XEN, XEN__READCONSOLE)) < 0 ||
            (sc.u.readconsole.clear && (rc = hv_xsm_check_xen(c, SECCLASS_XEN, XEN__CLEARCONSOLE)) < 0))
            return rc;
        rc = hv_sysctl_readconsole(c, &sc.u.readconsole);
        break;
    case KEEL_SYSCTL_PHYSINFO:
        if ((rc = hv_xsm_check_xen(c, SECCLASS_XEN, XEN__PHYSINFO)) < 0)
            return rc;
        physinfo(&sc.u.physinfo);
        rc = 0;
        break;
    case KEEL_SYSCTL_DEBUG_KEYS:
    case KEEL_SYSCTL_SET_PARAMETER:      /* Keel's policy has no xen2 set_parameter: xen debug */
        if ((rc = hv_xsm_check_xen(c, SECCLASS_XEN, XEN__DEBUG)) < 0)
            break;
        rc = sc.cmd == KEEL_SYSCTL_DEBUG_KEYS ? hv_sysctl_debug_keys(c, &sc.u.debug_keys)
                                              : hv_sysctl_set_parameter(c, &sc.u.set_parameter);
        break;
    case KEEL_SYSCTL_GETDOMAININFOLIST:
        rc = domaininfolist(c, &sc.u.domaininfolist);
        break;
    case KEEL_SYSCTL_CPUPOOL_OP:         /* cpupool.c */
        if ((rc = hv_xsm_check_xen(c, SECCLASS_XEN, XEN__CPUPOOL_OP)) == 0)
            rc = hv_sysctl_cpupool(c, &sc.u.cpupool);
        break;
    case KEEL_SYSCTL_SCHEDULER_OP:
        if ((rc = hv_xsm_check_xen(c, SECCLASS_XEN, sc.u.sched_pool.cmd == KEEL_SCHED_GETINFO
                                                        ? XEN__GETSCHEDULER : XEN__SETSCHEDULER)) == 0)
            rc = hv_sysctl_sched_pool(c, &sc.u.sched_pool);
        break;
    default:
        return -ENOSYS;
    }
    if (rc >= 0)
        rc = hv_arg_write(c, arg, &sc, sizeof(sc));
    return rc;
}
