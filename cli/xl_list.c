/* xl_list.c - xl's reporting commands with xl's output formats: list (-l JSON, -v), claims,
 * info, dmesg, uptime, vcpu-list, domid, domname. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <keel/kl_xml.h>

#include "keel/kl_cpupool.h"
#include "keel/kl_flask.h"
#include "keel/kl_ops.h"
#include "keel/kl_vcpu.h"
#include "xl.h"
#include "xl_conf.h"

static const char *name_of(const kl_dominfo *d)
{
    return d->name[0] ? d->name : "(null)";
}

/* The domain's FLASK label, or "-" when FLASK is disabled. */
static const char *label_of(kl_ctx *ctx, const kl_dominfo *d, char *buf, size_t len)
{
    if (kl_flask_sid_to_context(ctx, d->ssidref, buf, len) < 0)
        snprintf(buf, len, "-");
    return buf;
}

/* The cpupool a domain was created in (its config's pool, Pool-0 by default). */
static const char *pool_of(kl_ctx *ctx, const kl_dominfo *d, char *buf, size_t len)
{
    kl_domain_config dc;

    snprintf(buf, len, "Pool-0");
    kl_domain_config_init(&dc);
    if (d->domid && kl_domain_get_config(ctx, d->domid, &dc) == 0 && dc.c_info.pool_name &&
        dc.c_info.pool_name[0])
        snprintf(buf, len, "%s", dc.c_info.pool_name);
    kl_domain_config_dispose(&dc);
    return buf;
}

/* One row of xl list (and xl claims: claim set): Mem counts the domain's outstanding claim
 * as Xen's does; Claimed is that claim in MiB. */
static void list_row(const kl_dominfo *d, bool verbose, bool claim, const char *label,
                     const char *pool, bool numa)
{
    static const char reason_letters[] = "-rscwS";
    int r = d->shutdown ? d->shutdown_reason : 0;

    printf("%-40s %5u %5lu %5u     %c%c%c%c%c%c  %8.1f", name_of(d), d->domid,
           (unsigned long)((d->current_memkb + d->outstanding_memkb) / 1024), d->vcpu_online,
           d->running ? 'r' : '-',
           d->blocked ? 'b' : '-', d->paused ? 'p' : '-', d->shutdown ? 's' : '-',
           r >= 0 && r < (int)sizeof(reason_letters) - 1 ? reason_letters[r] : '?',
           d->dying ? 'd' : '-', (double)d->cpu_time_ns / 1e9);
    if (verbose) {
        char u[KL_UUID_STRLEN];
        kl_uuid_to_string(&d->uuid, u);
        printf(" %s", u);
        if (d->shutdown)
            printf(" %8x", (unsigned)d->shutdown_reason);
        else
            printf(" %8s", "-");
    }
    if (claim)
        printf(" %5lu", (unsigned long)(d->outstanding_memkb / 1024));
    if (verbose || label)
        printf(" %16s", label ? label : "-");
    if (pool)
        printf("%16s", pool);
    if (numa)
        printf(" all");      /* Keel places no domain on a NUMA node: its affinity is all nodes */
    putchar('\n');
}

/* Store values printed inside JSON strings: quotes, backslashes and controls become '?'. */
static void json_safe(char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            *s = '?';
}

/* Keel's addition to xl's element: "devices", the state of each disk in the store. */
static char *with_devices(kl_ctx *ctx, uint32_t domid, char *json)
{
    kl_diskinfo *d;
    char *end = strrchr(json, '}'), *out = NULL;
    size_t cap, len;
    int n = kl_disk_list(ctx, domid, &d);

    if (n <= 0 || !end) {
        free(n == 0 ? d : NULL);
        return json;
    }
    cap = (size_t)(end - json) + 64 + (size_t)n * 900;
    if ((out = malloc(cap))) {
        size_t pre = (size_t)(end - json);
        while (pre && (json[pre - 1] == '\n' || json[pre - 1] == ' '))
            pre--;
        len = (size_t)snprintf(out, cap, "%.*s,\n    \"devices\": [", (int)pre, json);
        for (int i = 0; i < n; i++) {
            json_safe(d[i].vdev);
            json_safe(d[i].hotplug_status);
        }
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(out + len, cap - len, "%s\n        {\"kind\": \"%s\", "
                                    "\"vdev\": \"%s\", \"devid\": %u, \"backend_state\": %d, "
                                    "\"frontend_state\": %d, \"hotplug_status\": \"%s\", "
                                    "\"backend\": \"%s\"}", i ? "," : "", d[i].kind, d[i].vdev,
                                    d[i].devid, d[i].backend_state, d[i].frontend_state,
                                    d[i].hotplug_status, d[i].backend);
        snprintf(out + len, cap - len, "\n    ]\n}");
        free(json);
        json = out;
    }
    free(d);
    return json;
}

/* xl list -l -x: each domain's libvirt domain XML (with id='DOMID'), one after the other. */
static int list_xml(kl_ctx *ctx, const kl_dominfo *l, int n)
{
    int rc = 0;

    for (int i = 0; i < n; i++) {
        kl_domain_config dc;
        char *xml = NULL;
        if (l[i].domid == 0)
            continue;
        kl_domain_config_init(&dc);
        if (kl_domain_get_config(ctx, l[i].domid, &dc) == 0 &&
            (xml = kl_domain_config_to_xml(&dc, (int)l[i].domid)))
            fputs(xml, stdout);
        else
            rc = 1;
        free(xml);
        kl_domain_config_dispose(&dc);
    }
    return rc;
}

static int list_long(kl_ctx *ctx, const kl_dominfo *l, int n)
{
    int first = 1;

    printf("[\n");
    for (int i = 0; i < n; i++) {
        kl_domain_config dc;
        char *json;
        if (l[i].domid == 0)
            continue;                        /* no detailed info on Domain-0, as in xl */
        kl_domain_config_init(&dc);
        if (kl_domain_get_config(ctx, l[i].domid, &dc) == 0 &&
            (json = kl_domain_config_to_xl_json(&dc, (int)l[i].domid))) {
            size_t jl;
            json = with_devices(ctx, l[i].domid, json);
            jl = strlen(json);
            while (jl && json[jl - 1] == '\n')
                json[--jl] = 0;
            printf("%s%s", first ? "" : ",\n", json);
            first = 0;
            free(json);
        }
        kl_domain_config_dispose(&dc);
    }
    printf("%s]\n", first ? "" : "\n");
    return 0;
}

int xl_cmd_list(int argc, char **argv)
{
    bool verbose = false, details = false, context = false, xml = false, cpupool = false,
         numa = false;
    kl_dominfo *l, one;
    kl_ctx *ctx;
    int c, n, rc = 0;

    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {   /* long forms of -c -Z */
        if (!strcmp(argv[i], "--cpupool"))
            argv[i] = (char *)"-c";
        else if (!strcmp(argv[i], "--context"))
            argv[i] = (char *)"-Z";
    }
    while ((c = xl_getopt(argc, argv, "lvZcnx", "list", 0)) != -1) {
        switch (c) {
        case 'l': details = true; break;
        case 'x': xml = true; break;
        case 'v': verbose = true; break;
        case 'Z': context = true; break;
        case 'c': cpupool = true; break;
        case 'n': numa = true; break;
        default: return 2;
        }
    }
    if (argc - optind > 1) {
        xl_help("list");
        return 2;
    }
    if (!(ctx = xl_open()))
        return 1;
    if (optind < argc) {
        uint32_t domid;
        if (xl_find_domain(ctx, argv[optind], &domid) < 0 || kl_domain_info(ctx, domid, &one) < 0) {
            kl_ctx_close(ctx);
            return 1;
        }
        l = &one;
        n = 1;
    } else if ((n = kl_domain_list(ctx, &l)) < 0) {
        fprintf(stderr, "libxl_list_domain failed: %s\n", kl_ctx_error(ctx));
        kl_ctx_close(ctx);
        return 1;
    }
    if (details && xml)
        rc = list_xml(ctx, l, n);
    else if (details)
        rc = list_long(ctx, l, n);
    else {
        printf("Name                                        ID   Mem VCPUs\tState\tTime(s)");
        if (verbose)
            printf("   UUID                            Reason-Code\tSecurity Label");
        else if (context)
            printf("   Security Label");
        if (cpupool)
            printf("         Cpupool");
        if (numa)
            printf(" NODE Affinity");
        printf("\n");
        for (int i = 0; i < n; i++) {
            char label[256], pool[KL_DOMNAME_MAX + 1];
            list_row(&l[i], verbose, false,
                     verbose || context ? label_of(ctx, &l[i], label, sizeof(label)) : NULL,
                     cpupool ? pool_of(ctx, &l[i], pool, sizeof(pool)) : NULL, numa);
        }
    }
    if (l != &one)
        free(l);
    kl_ctx_close(ctx);
    return rc;
}

/* xl claims: every domain with its outstanding memory claim (the Claimed column, MiB). */
int xl_cmd_claims(int argc, char **argv)
{
    kl_dominfo *l;
    kl_ctx *ctx;
    int c, n;

    while ((c = xl_getopt(argc, argv, "", "claims", 0)) != -1)
        return 2;
    if (argc - optind > 0) {
        xl_help("claims");
        return 2;
    }
    if (!xl_conf_claim_mode())
        fprintf(stderr, "claim_mode not enabled (see man xl.conf).\n");
    if (!(ctx = xl_open()))
        return 1;
    if ((n = kl_domain_list(ctx, &l)) < 0) {
        fprintf(stderr, "libxl_list_domain failed: %s\n", kl_ctx_error(ctx));
        kl_ctx_close(ctx);
        return 1;
    }
    printf("Name                                        ID   Mem VCPUs\tState\tTime(s)  Claimed\n");
    for (int i = 0; i < n; i++)
        list_row(&l[i], false, true, NULL, NULL, false);
    free(l);
    kl_ctx_close(ctx);
    return 0;
}

#define INFO(k, ...) (printf("%-23s: ", k), printf(__VA_ARGS__), putchar('\n'))

/* The log-dirty engine of physinfo's capabilities, as xl info shows it. */
static const char *logdirty_engine(uint32_t caps)
{
    switch ((caps & KEEL_PHYSCAP_LOGDIRTY_MASK) >> KEEL_PHYSCAP_LOGDIRTY_SHIFT) {
    case 1: return "async (userfaultfd WP_ASYNC + PAGEMAP_SCAN)";
    case 2: return "sync (userfaultfd write-protect faults)";
    }
    return caps & (KEEL_PHYSCAP_LOGDIRTY_ASYNC | KEEL_PHYSCAP_LOGDIRTY_SYNC)
               ? "none (turned off in keel-hv: --logdirty=none)"
               : "none (the kernel lacks userfaultfd write-protection of shmem, Linux 5.19+)";
}

/* Can this host track dirty pages (live migration, Remus)? If not, say why and return -1. */
int xl_logdirty_check(kl_ctx *ctx, const char *cmd)
{
    kl_hostinfo pi;

    if (kl_host_info(ctx, &pi) < 0 || (pi.capabilities & KEEL_PHYSCAP_LOGDIRTY_MASK))
        return 0;                      /* no answer: let the operation itself report */
    fprintf(stderr, "xl %s: this host cannot track a running domain's dirty pages: log-dirty "
            "engine %s\n", cmd, logdirty_engine(pi.capabilities));
    return -EOPNOTSUPP;
}

/* CPUs in no cpupool (Xen's free_cpus); 0 if the core cannot say. */
static int free_cpus(kl_ctx *ctx)
{
    uint64_t map[KEEL_CPUMAP_WORDS];
    int n = 0;

    if (kl_cpupool_freeinfo(ctx, map) < 0)
        return 0;
    for (int i = 0; i < KEEL_CPUMAP_WORDS; i++)
        n += __builtin_popcountll(map[i]);
    return n;
}

int xl_cmd_info(int argc, char **argv)
{
    kl_hostinfo pi;
    struct utsname un;
    uint32_t major, minor, caps[8];
    kl_ctx *ctx;
    int c;

    bool numa = false, xs = false;

    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--xenstore"))
            argv[i] = (char *)"-x";          /* the long form of -x */
    while ((c = xl_getopt(argc, argv, "nx", "info", 0)) != -1) {
        if (c == 'n')
            numa = true;
        else if (c == 'x')
            xs = true;
        else
            return 2;
    }
    if (!(ctx = xl_open()))
        return 1;
    if (kl_host_info(ctx, &pi) < 0) {
        fprintf(stderr, "libxl_physinfo failed: %s\n", kl_ctx_error(ctx));
        kl_ctx_close(ctx);
        return 1;
    }
    major = pi.abi_major;
    minor = pi.abi_minor;
    uname(&un);
    INFO("host", "%s", un.nodename);
    INFO("release", "%s", un.release);
    INFO("version", "%s", un.version);
    INFO("machine", "%s", un.machine);
    INFO("nr_cpus", "%u", pi.nr_cpus);
    INFO("max_cpu_id", "%u", pi.max_cpu_id);
    INFO("nr_nodes", "%u", pi.nr_nodes);
    INFO("cores_per_socket", "%u", pi.cores_per_socket);
    INFO("threads_per_core", "%u", pi.threads_per_core);
    INFO("cpu_mhz", "%u.%03u", pi.cpu_khz / 1000, pi.cpu_khz % 1000);
    kl_host_hw_caps(caps);
    INFO("hw_caps", "%08x:%08x:%08x:%08x:%08x:%08x:%08x:%08x", caps[0], caps[1], caps[2],
         caps[3], caps[4], caps[5], caps[6], caps[7]);
    INFO("virt_caps", "%s", "pv");
    INFO("logdirty_engine", "%s", logdirty_engine(pi.capabilities));
    INFO("total_memory", "%llu", (unsigned long long)(pi.total_kb >> 10));
    INFO("free_memory", "%llu", (unsigned long long)(pi.free_kb >> 10));
    INFO("sharing_freed_memory", "0");
    INFO("sharing_used_memory", "0");
    INFO("outstanding_claims", "%llu", (unsigned long long)(pi.outstanding_kb >> 10));
    INFO("free_cpus", "%d", free_cpus(ctx));
    if (numa)
        xl_info_numa(ctx);
    INFO("xen_major", "%u", major);
    INFO("xen_minor", "%u", minor);
    INFO("xen_extra", ".0-keel");
    INFO("xen_version", "%u.%u.0-keel", major, minor);
    INFO("xen_caps", "keel-%u.%u-x86_64-pvh", major, minor);
    INFO("xen_scheduler", "credit");
    INFO("xen_pagesize", "%llu", (unsigned long long)KEEL_PAGE_SIZE);
    INFO("platform_params", "virt_start=0x%llx", (unsigned long long)KEEL_GUEST_BASE);
    INFO("xen_changeset", "%s", PACKAGE_VERSION);
    INFO("xen_commandline", "%s", "");
    INFO("cc_compiler", "%s", __VERSION__);
    INFO("cc_compile_by", "keel");
    INFO("cc_compile_domain", "keel");
    INFO("cc_compile_date", "%s", __DATE__);
    INFO("build_id", "none");
    if (xs)
        xl_info_xenstore(ctx);
    INFO("xend_config_format", "4");
    kl_ctx_close(ctx);
    return 0;
}

int xl_cmd_dmesg(int argc, char **argv)
{
    bool clear = false;
    uint64_t index = 0;
    kl_ctx *ctx;
    char buf[16384];
    int c;

    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--clear"))
            argv[i] = (char *)"-c";          /* the long form of -c */
    while ((c = xl_getopt(argc, argv, "c", "dmesg", 0)) != -1) {
        if (c != 'c')
            return 2;
        clear = true;
    }
    if (!(ctx = xl_open()))
        return 1;
    for (;;) {
        size_t len = sizeof(buf);
        if (kl_console_ring_read(ctx, buf, &len, &index, false) < 0) {
            fprintf(stderr, "cannot read the console ring: %s\n", kl_ctx_error(ctx));
            kl_ctx_close(ctx);
            return 1;
        }
        if (!len)
            break;
        fwrite(buf, 1, len, stdout);
    }
    if (clear) {
        size_t len = 0;
        uint64_t end = index;
        kl_console_ring_read(ctx, buf, &len, &end, true);
    }
    kl_ctx_close(ctx);
    return 0;
}

static void uptime_string(unsigned long s, bool shortf, char *out, size_t len)
{
    unsigned long days = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    int n = 0;

    if (days)
        n = snprintf(out, len, "%lu day%s, ", days, days == 1 ? "" : "s");
    if (shortf)
        snprintf(out + n, len - (size_t)n, "%2lu:%02lu", h, m);
    else
        snprintf(out + n, len - (size_t)n, "%lu:%02lu:%02lu", h, m, sec);
}

static long domain_uptime(kl_ctx *ctx, const kl_dominfo *d)
{
    char path[96], *v = NULL, u[KL_UUID_STRLEN];
    double start;
    FILE *f;

    if (d->domid == 0) {
        double up = 0;
        if ((f = fopen("/proc/uptime", "re"))) {
            if (fscanf(f, "%lf", &up) != 1)
                up = 0;
            fclose(f);
        }
        return (long)up;
    }
    kl_uuid_to_string(&d->uuid, u);
    snprintf(path, sizeof(path), "/vm/%s/start_time", u);
    if (kl_store_read(ctx, path, &v) < 0)
        return 0;
    start = strtod(v, NULL);
    free(v);
    return (long)(time(NULL) - (time_t)start);
}

int xl_cmd_uptime(int argc, char **argv)
{
    bool shortf = false;
    kl_dominfo *l;
    kl_ctx *ctx;
    int c, n;

    while ((c = xl_getopt(argc, argv, "s", "uptime", 0)) != -1) {
        if (c != 's')
            return 2;
        shortf = true;
    }
    if (!(ctx = xl_open()))
        return 1;
    if ((n = kl_domain_list(ctx, &l)) < 0) {
        kl_ctx_close(ctx);
        return 1;
    }
    for (int a = optind; a < argc; a++) {        /* named domains must exist */
        uint32_t id;
        if (xl_find_domain(ctx, argv[a], &id) < 0) {
            free(l);
            kl_ctx_close(ctx);
            return 1;
        }
    }
    if (!shortf)
        printf("%-33s %4s %s\n", "Name", "ID", "Uptime");
    for (int i = 0; i < n; i++) {
        char up[64], now[64];
        bool want = optind >= argc;
        for (int a = optind; a < argc && !want; a++) {
            uint32_t id;
            want = kl_domain_qualify(ctx, argv[a], &id) == 0 && id == l[i].domid;
        }
        if (!want)
            continue;
        uptime_string((unsigned long)domain_uptime(ctx, &l[i]), shortf, up, sizeof(up));
        if (shortf) {
            time_t t = time(NULL);
            strftime(now, sizeof(now), "%H:%M:%S", localtime(&t));
            printf(" %s up %s, %s (%u)\n", now, up, name_of(&l[i]), l[i].domid);
        } else
            printf("%-33s %4u %s\n", name_of(&l[i]), l[i].domid, up);
    }
    free(l);
    kl_ctx_close(ctx);
    return 0;
}

static void print_cpumap(const uint64_t map[KEEL_CPUMAP_WORDS], int ncpus)
{
    int first = 1, all = 1;

    for (int i = 0; i < ncpus; i++)
        all &= (int)(map[i / 64] >> (i % 64)) & 1;
    if (all) {
        printf("all");
        return;
    }
    for (int i = 0; i < KEEL_CPUMAP_WORDS * 64; i++) {
        int j = i;
        if (!((map[i / 64] >> (i % 64)) & 1))
            continue;
        while (j + 1 < KEEL_CPUMAP_WORDS * 64 && ((map[(j + 1) / 64] >> ((j + 1) % 64)) & 1))
            j++;
        printf(j > i ? "%s%d-%d" : "%s%d", first ? "" : ",", i, j);
        first = 0;
        i = j;
    }
    if (first)
        printf("none");
}

/* One row per vCPU in the layout of Xen's xl: name, ids, CPU, state (r running, b blocked,
 * p offline), time, hard / soft affinity. */
static void vcpu_rows(kl_ctx *ctx, const kl_dominfo *d, int ncpus)
{
    kl_vcpuinfo *v;
    int n = kl_vcpu_list(ctx, d->domid, &v);

    for (int i = 0; i < n; i++) {
        uint64_t hard[KEEL_CPUMAP_WORDS], soft[KEEL_CPUMAP_WORDS];
        printf("%-32s %5u %5u", name_of(d), d->domid, v[i].vcpu);
        if (!v[i].online)
            printf("%5c %3c%cp ", '-', '-', '-');
        else
            printf("%5u %3c%c- ", v[i].cpu, v[i].running ? 'r' : '-', v[i].blocked ? 'b' : '-');
        printf("%9.1f  ", (double)v[i].cpu_time_ns / 1e9);
        if (kl_vcpu_get_affinity(ctx, d->domid, v[i].vcpu, hard, soft) == 0) {
            print_cpumap(hard, ncpus);
            printf(" / ");
            print_cpumap(soft, ncpus);
        } else
            printf("all / all");
        putchar('\n');
    }
    free(v);
}

int xl_cmd_vcpu_list(int argc, char **argv)
{
    kl_hostinfo hi = { .nr_cpus = 1 };
    kl_dominfo *l;
    kl_ctx *ctx;
    int c, n, rc = 0;

    while ((c = xl_getopt(argc, argv, "", "vcpu-list", 0)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    kl_host_info(ctx, &hi);
    if ((n = kl_domain_list(ctx, &l)) < 0) {
        kl_ctx_close(ctx);
        return 1;
    }
    printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
           "Affinity (Hard / Soft)");
    for (int a = optind; a < argc; a++) {
        uint32_t id;
        if (xl_find_domain(ctx, argv[a], &id) < 0) {
            rc = 1;
            continue;
        }
        for (int i = 0; i < n; i++)
            if (l[i].domid == id)
                vcpu_rows(ctx, &l[i], (int)hi.nr_cpus);
    }
    for (int i = 0; optind >= argc && i < n; i++)
        vcpu_rows(ctx, &l[i], (int)hi.nr_cpus);
    free(l);
    kl_ctx_close(ctx);
    return rc;
}

int xl_cmd_domid(int argc, char **argv)
{
    uint32_t domid;
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "domid", 1)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    rc = kl_domain_qualify(ctx, argv[optind], &domid);
    if (rc < 0)
        fprintf(stderr, "Can't get domid of domain name '%s', maybe this domain does not "
                "exist.\n", argv[optind]);
    else
        printf("%u\n", domid);
    kl_ctx_close(ctx);
    return rc < 0;
}

int xl_cmd_domname(int argc, char **argv)
{
    char name[KL_DOMNAME_MAX + 1], *end;
    unsigned long id;
    kl_ctx *ctx;
    int c, rc = -1;

    while ((c = xl_getopt(argc, argv, "", "domname", 1)) != -1)
        return 2;
    id = strtoul(argv[optind], &end, 10);
    if (*end || !*argv[optind]) {
        fprintf(stderr, "Invalid domain id.\n\n");
        return 1;
    }
    if (!(ctx = xl_open()))
        return 1;
    if (id < KEEL_DOMID_FIRST_RESERVED)
        rc = kl_domain_name(ctx, (uint32_t)id, name, sizeof(name));
    if (rc < 0)
        fprintf(stderr, "Can't get domain name of domain id '%lu', maybe this domain does not "
                "exist.\n", id);
    else
        printf("%s\n", name);
    kl_ctx_close(ctx);
    return rc < 0;
}
