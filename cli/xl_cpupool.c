/* xl_cpupool.c - xl's cpupool commands with Xen's options, output and messages: cpupool-create
 * (xlcpupool.cfg keys name, sched, cpus, nodes), -list, -destroy, -rename, -cpu-add,
 * -cpu-remove, -migrate, -numa-split. All through liblight (keel/kl_cpupool.h). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/kl_cfg.h"
#include "keel/kl_config.h"
#include "keel/kl_cpupool.h"
#include "xl.h"

#define NCPU (64 * KEEL_CPUMAP_WORDS)
static bool cpu_in(const uint64_t *m, int c) { return (m[c / 64] >> (c % 64)) & 1; }

/* "3", "0-3,^2", "all" or "node:N[,...]" into a CPU map (a node: its CPUs). */
static int parse_cpus(const char *s, uint64_t map[KEEL_CPUMAP_WORDS])
{
    kl_bitmap b = { 0, NULL };
    kl_diag *d;
    int rc;

    memset(map, 0, sizeof(uint64_t) * KEEL_CPUMAP_WORDS);
    if (!strncmp(s, "node:", 5)) {
        char *end;
        long n = strtol(s + 5, &end, 10);
        if (!s[5] || *end || n < 0) {
            fprintf(stderr, "Invalid argument %s.\n", s);
            return -EINVAL;
        }
        for (int c = 0; c < NCPU; c++)
            if (kl_host_cpu_node((uint32_t)c) == n)
                map[c / 64] |= 1ULL << (c % 64);
        return 0;
    }
    d = kl_diag_new();
    if ((rc = kl_cpulist_parse(&b, s, d)) < 0)
        fprintf(stderr, "Invalid argument %s.\n", s);
    kl_diag_free(d);
    for (int c = 0; rc == 0 && c < NCPU; c++)
        if (kl_bitmap_test(&b, (unsigned)c))
            map[c / 64] |= 1ULL << (c % 64);
    free(b.map);
    return rc;
}

static int open_pool(kl_ctx **ctx, const char *name, uint32_t *poolid)
{
    int rc;

    if (!(*ctx = xl_open()))
        return -ENOTCONN;                      /* xl_open said why */
    if ((rc = kl_cpupool_qualify(*ctx, name, poolid)) < 0) {
        fprintf(stderr, "unknown cpupool '%s'\n", name);
        kl_ctx_close(*ctx);
        return rc;
    }
    return 0;
}

/* The pool's CPUs from the config: nodes=[...], cpus=[...] or cpus="list"; all must be free. */
static int config_cpus(kl_ctx *ctx, const kl_cfg *cfg, uint64_t map[KEEL_CPUMAP_WORDS], int *n)
{
    uint64_t freemap[KEEL_CPUMAP_WORDS];
    const kl_cfg_value *l;
    const char *s;
    int rc;

    memset(map, 0, sizeof(uint64_t) * KEEL_CPUMAP_WORDS);
    *n = 0;
    if ((rc = kl_cpupool_freeinfo(ctx, freemap)) < 0) {
        fprintf(stderr, "libxl_get_freecpus failed\n");
        return rc;
    }
    if (kl_cfg_get_list(cfg, "nodes", &l, NULL) == 0) {
        for (size_t i = 0; i < kl_cfg_value_count(l); i++) {
            const char *t = kl_cfg_value_text(kl_cfg_value_item(l, i));
            for (int c = 0; t && c < NCPU; c++)
                if (kl_host_cpu_node((uint32_t)c) == atoi(t) && cpu_in(freemap, c) && !cpu_in(map, c)) {
                    map[c / 64] |= 1ULL << (c % 64);
                    (*n)++;
                }
        }
        if (!*n) {
            fprintf(stderr, "no free cpu found\n");
            return -EBUSY;
        }
        return 0;
    }
    if (kl_cfg_get_list(cfg, "cpus", &l, NULL) == 0) {
        for (size_t i = 0; i < kl_cfg_value_count(l); i++) {
            const char *t = kl_cfg_value_text(kl_cfg_value_item(l, i));
            int c = t ? atoi(t) : -1;
            if (c < 0 || c >= NCPU || !cpu_in(freemap, c)) {
                fprintf(stderr, "cpu %d illegal or not free\n", c);
                return -EINVAL;
            }
            map[c / 64] |= 1ULL << (c % 64);
        }
    } else if (kl_cfg_get_string(cfg, "cpus", &s, NULL) == 0 && (rc = parse_cpus(s, map)) < 0)
        return rc;
    for (int c = 0; c < NCPU; c++) {
        if (!cpu_in(map, c))
            continue;
        if (!cpu_in(freemap, c)) {
            fprintf(stderr, "cpu %d illegal or not free\n", c);
            return -EINVAL;
        }
        (*n)++;
    }
    return 0;
}

static char *read_config(const char *file, int nvars, char **vars)
{
    size_t len = 0, cap = 1;
    char *buf = calloc(1, 1);
    FILE *f = NULL;

    if (file) {
        char chunk[4096];
        size_t r;
        if (!(f = fopen(file, "re"))) {
            fprintf(stderr, "Failed to read config file: %s: %s\n", file, strerror(errno));
            free(buf);
            return NULL;
        }
        while (buf && (r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
            char *nb = realloc(buf, (cap = len + r + 1));
            if (!nb)
                break;
            buf = nb;
            memcpy(buf + len, chunk, r);
            buf[len += r] = 0;
        }
        fclose(f);
    }
    for (int i = 0; buf && i < nvars; i++) {
        char *nb = realloc(buf, (cap = len + strlen(vars[i]) + 3));
        if (!nb)
            break;
        buf = nb;
        len += (size_t)sprintf(buf + len, "\n%s\n", vars[i]);
    }
    (void)cap;
    return buf;
}

static const char *base_name(const char *path, char *buf, size_t len)
{
    const char *b = strrchr(path, '/');
    char *dot;

    snprintf(buf, len, "%s", b ? b + 1 : path);
    if ((dot = strrchr(buf, '.')) && dot != buf)
        *dot = 0;
    return buf;
}

static int create_from(kl_ctx *ctx, const kl_cfg *cfg, const char *file, const char *src)
{
    uint64_t map[KEEL_CPUMAP_WORDS];
    kl_scheduler sched = KL_SCHEDULER_CREDIT;
    const char *name = NULL, *s;
    char namebuf[256];
    uint32_t poolid;
    int n;

    if (kl_cfg_get_string(cfg, "name", &name, NULL) < 0) {
        if (!file) {
            fprintf(stderr, "Missing cpupool name!\n");
            return 1;
        }
        name = base_name(file, namebuf, sizeof(namebuf));
    }
    if (kl_cpupool_qualify(ctx, name, &poolid) == 0) {
        fprintf(stderr, "Pool name \"%s\" already exists\n", name);
        return 1;
    }
    if (kl_cfg_get_string(cfg, "sched", &s, NULL) == 0 && kl_scheduler_from_string(s, &sched) < 0) {
        fprintf(stderr, "Unknown scheduler\n");
        return 1;
    }
    if (config_cpus(ctx, cfg, map, &n) < 0)
        return 1;
    printf("Using config file \"%s\"\n", src);
    printf("cpupool name:   %s\n", name);
    printf("scheduler:      %s\n", kl_scheduler_to_string(sched));
    printf("number of cpus: %d\n", n);
    if (xl_g.dryrun)
        return 0;
    if (kl_cpupool_create(ctx, name, sched, map, &poolid) < 0) {
        fprintf(stderr, "error on creating cpupool: %s\n", kl_ctx_error(ctx));
        return 1;
    }
    return 0;
}

int xl_cmd_cpupool_create(int argc, char **argv)
{
    const char *file = NULL;
    char **vars = calloc((size_t)argc + 1, sizeof(char *)), *data;
    kl_cfg *cfg = NULL;
    kl_diag *d;
    kl_ctx *ctx;
    int c, nv = 0, rc = 1;

    if (!vars)
        return 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--defconfig"))
            argv[i] = (char *)"-f";
        else if (!strcmp(argv[i], "--dryrun"))
            argv[i] = (char *)"-n";
    while ((c = xl_getopt(argc, argv, "nf:", "cpupool-create", 0)) != -1) {
        if (c == 'f')
            file = optarg;
        else if (c == 'n')
            xl_g.dryrun = true;
        else {
            free(vars);
            return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (strchr(argv[i], '='))
            vars[nv++] = argv[i];
        else if (!file)
            file = argv[i];
        else {
            xl_help("cpupool-create");
            free(vars);
            return 2;
        }
    }
    if (!(data = read_config(file, nv, vars))) {
        free(vars);
        return 1;
    }
    d = kl_diag_new();
    if (kl_cfg_parse_data(&cfg, file ? file : "command line", data, strlen(data), d) < 0) {
        fprintf(stderr, "Failed to parse config file: %s\n",
                d && kl_diag_first_error(d) ? kl_diag_first_error(d) : "Invalid argument");
    } else if ((ctx = xl_open())) {
        rc = create_from(ctx, cfg, file, file ? file : "command line");
        kl_ctx_close(ctx);
    }
    kl_diag_free(d);
    kl_cfg_free(cfg);
    free(data);
    free(vars);
    return rc;
}

int xl_cmd_cpupool_list(int argc, char **argv)
{
    kl_cpupoolinfo *l;
    uint32_t only = 0;
    bool cpus = false, filter = false;
    kl_ctx *ctx;
    int c, n;

    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--cpus"))
            argv[i] = (char *)"-c";
    while ((c = xl_getopt(argc, argv, "c", "cpupool-list", 0)) != -1) {
        if (c != 'c')
            return 2;
        cpus = true;
    }
    if (!(ctx = xl_open()))
        return 1;
    if (optind < argc && kl_cpupool_qualify(ctx, argv[optind], &only) < 0) {
        fprintf(stderr, "Pool '%s' does not exist\n", argv[optind]);
        kl_ctx_close(ctx);
        return 1;
    }
    filter = optind < argc;
    if ((n = kl_cpupool_list(ctx, &l)) < 0) {
        fprintf(stderr, "error getting cpupool info\n");
        kl_ctx_close(ctx);
        return 1;
    }
    printf("%-19s%s\n", "Name", cpus ? "CPU list" : "CPUs   Sched     Active   Domain count");
    for (int p = 0; p < n; p++) {
        int k = 0;
        if (filter && l[p].poolid != only)
            continue;
        printf("%-19s", l[p].name);
        for (int cpu = 0; cpu < NCPU; cpu++)
            if (cpu_in(l[p].cpumap, cpu)) {
                if (cpus)
                    printf(k ? ",%d" : "%d", cpu);
                k++;
            }
        if (!cpus)
            printf("%3d %9s       y       %4u", k, kl_scheduler_to_string(l[p].sched), l[p].n_dom);
        printf("\n");
    }
    free(l);
    kl_ctx_close(ctx);
    return 0;
}

int xl_cmd_cpupool_destroy(int argc, char **argv)
{
    uint32_t poolid;
    kl_ctx *ctx;
    int c, rc = 0;

    while ((c = xl_getopt(argc, argv, "", "cpupool-destroy", 1)) != -1)
        return 2;
    if (open_pool(&ctx, argv[optind], &poolid) < 0)
        return 1;
    if (kl_cpupool_destroy(ctx, poolid) < 0) {
        fprintf(stderr, "Can't destroy cpupool '%s': %s\n", argv[optind], kl_ctx_error(ctx));
        rc = 1;
    }
    kl_ctx_close(ctx);
    return rc;
}

int xl_cmd_cpupool_rename(int argc, char **argv)
{
    uint32_t poolid;
    kl_ctx *ctx;
    int c, rc = 0;

    while ((c = xl_getopt(argc, argv, "", "cpupool-rename", 2)) != -1)
        return 2;
    if (open_pool(&ctx, argv[optind], &poolid) < 0)
        return 1;
    if (kl_cpupool_rename(ctx, poolid, argv[optind + 1]) < 0) {
        fprintf(stderr, "Can't rename cpupool '%s': %s\n", argv[optind], kl_ctx_error(ctx));
        rc = 1;
    }
    kl_ctx_close(ctx);
    return rc;
}

static int cpu_cmd(int argc, char **argv, bool add)
{
    uint64_t map[KEEL_CPUMAP_WORDS];
    uint32_t poolid;
    kl_ctx *ctx;
    int c, failed = 0;

    while ((c = xl_getopt(argc, argv, "", argv[0], 2)) != -1)
        return 2;
    if (parse_cpus(argv[optind + 1], map) < 0)
        return 1;
    if (open_pool(&ctx, argv[optind], &poolid) < 0)
        return 1;
    for (int cpu = 0; cpu < NCPU; cpu++) {
        if (!cpu_in(map, cpu))
            continue;
        if ((add ? kl_cpupool_cpu_add(ctx, poolid, (uint32_t)cpu)
                 : kl_cpupool_cpu_remove(ctx, poolid, (uint32_t)cpu)) < 0) {
            fprintf(stderr, "%s\n", kl_ctx_error(ctx));
            failed = 1;
        }
    }
    if (failed && add)
        fprintf(stderr, "some cpus may not have been added to %s\n", argv[optind]);
    else if (failed) {
        fprintf(stderr, "Some cpus may have not or only partially been removed from '%s'.\n",
                argv[optind]);
        fprintf(stderr, "If a cpu can't be added to another cpupool, add it to '%s' again and "
                "retry.\n", argv[optind]);
    }
    kl_ctx_close(ctx);
    return 0;                          /* as Xen's xl: a partial failure is reported, exit 0 */
}

int xl_cmd_cpupool_cpu_add(int argc, char **argv)
{
    return cpu_cmd(argc, argv, true);
}

int xl_cmd_cpupool_cpu_remove(int argc, char **argv)
{
    return cpu_cmd(argc, argv, false);
}

int xl_cmd_cpupool_migrate(int argc, char **argv)
{
    uint32_t poolid, domid;
    kl_ctx *ctx;
    int c, rc = 0;

    while ((c = xl_getopt(argc, argv, "", "cpupool-migrate", 2)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    if (kl_domain_qualify(ctx, argv[optind], &domid) < 0) {
        fprintf(stderr, "unknown domain '%s'\n", argv[optind]);
        rc = 1;
    } else if (kl_cpupool_qualify(ctx, argv[optind + 1], &poolid) < 0) {
        fprintf(stderr, "unknown cpupool '%s'\n", argv[optind + 1]);
        rc = 1;
    } else if (kl_cpupool_move_domain(ctx, poolid, domid) < 0) {
        fprintf(stderr, "%s\n", kl_ctx_error(ctx));
        rc = 1;
    }
    kl_ctx_close(ctx);
    return rc;
}

/* One pool per NUMA node: Pool-0 keeps (and is renamed after) the first CPU's node. */
int xl_cmd_cpupool_numa_split(int argc, char **argv)
{
    kl_cpupoolinfo *l;
    kl_ctx *ctx;
    int c, n, first, rc = 1;
    char name[64];

    while ((c = xl_getopt(argc, argv, "", "cpupool-numa-split", 0)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    if ((n = kl_cpupool_list(ctx, &l)) < 0) {
        fprintf(stderr, "error getting cpupool info\n");
        kl_ctx_close(ctx);
        return 1;
    }
    if (n > 1) {
        fprintf(stderr, "splitting not possible, already cpupools in use\n");
        goto out;
    }
    for (first = 0; first < NCPU && !cpu_in(l[0].cpumap, first); first++)
        ;
    if (first >= NCPU)
        goto out;
    snprintf(name, sizeof(name), "Pool-node%d", kl_host_cpu_node((uint32_t)first));
    if (kl_cpupool_rename(ctx, 0, name) < 0) {
        fprintf(stderr, "error on renaming Pool 0\n");
        goto out;
    }
    int nodes[NCPU], maxnode = 0;
    for (int cpu = 0; cpu < NCPU; cpu++)
        if ((nodes[cpu] = cpu_in(l[0].cpumap, cpu) ? kl_host_cpu_node((uint32_t)cpu) : -1) > maxnode)
            maxnode = nodes[cpu];
    for (int node = 0; node <= maxnode; node++) {
        uint64_t map[KEEL_CPUMAP_WORDS] = { 0 };
        uint32_t poolid;
        bool any = false;
        if (node == nodes[first])
            continue;
        for (int cpu = 0; cpu < NCPU; cpu++)
            if (nodes[cpu] == node) {
                if (kl_cpupool_cpu_remove(ctx, 0, (uint32_t)cpu) < 0) {
                    fprintf(stderr, "error on removing cpu from Pool 0\n");
                    goto out;
                }
                map[cpu / 64] |= 1ULL << (cpu % 64);
                any = true;
            }
        snprintf(name, sizeof(name), "Pool-node%d", node);
        if (any && kl_cpupool_create(ctx, name, l[0].sched, map, &poolid) < 0) {
            fprintf(stderr, "error on creating cpupool\n");
            goto out;
        }
    }
    rc = 0;
out:
    free(l);
    kl_ctx_close(ctx);
    return rc;
}
