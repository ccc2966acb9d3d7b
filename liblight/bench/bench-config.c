/* bench-config.c - throughput of the configuration path that `xl create -N' takes: parse a
 * typical xl.cfg, convert and validate it, and generate its JSON. Reference, in the same run:
 * parsing that JSON text with bare yajl_tree (no typed conversion). Prints the median and the
 * spread (min..max) of ROUNDS rounds of N iterations, and the ratio to the reference.
 * Usage: bench-config [iterations-per-round] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#include <keel/kl_config.h>

#define ROUNDS 7

static const char typical[] =
    "# a typical guest\n"
    "name = \"web1\"\ntype = \"pvh\"\nuuid = \"6b4a3c2e-1f0d-4e5a-9b8c-7d6e5f4a3b2c\"\n"
    "memory = 512\nmaxmem = 1024\nvcpus = 2\nmaxvcpus = 4\ncpus = \"0-1\"\ncpu_weight = 512\n"
    "kernel = \"/srv/guests/web1/vmlinuz\"\nramdisk = \"/srv/guests/web1/initrd\"\n"
    "root = \"/dev/xvda1 ro\"\nextra = \"console=hvc0\"\n"
    "seclabel = \"system_u:system_r:domU_t\"\non_crash = \"coredump-restart\"\n"
    "disk = [ '/dev/vg/web1-root,,xvda',\n"
    "         'format=qcow2, vdev=xvdb, access=ro, target=/srv/img/data.qcow2', ]\n"
    "vif = [ 'mac=00:16:3e:74:3d:76,bridge=xenbr0,rate=10Mb/s', 'bridge=xenbr1' ]\n"
    "vtpm = [ 'backend=vtpm-web1' ]\n";

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int one_config(void)
{
    kl_cfg *cfg;
    kl_domain_config dc;
    char *json;
    int rc = kl_cfg_parse_data(&cfg, "typical.cfg", typical, sizeof typical - 1, NULL);

    if (rc)
        return rc;
    kl_domain_config_init(&dc);
    rc = kl_domain_config_from_cfg(&dc, cfg, 0, NULL);
    json = rc ? NULL : kl_domain_config_to_json(&dc);
    if (!rc && !json)
        rc = -1;
    free(json);
    kl_domain_config_dispose(&dc);
    kl_cfg_free(cfg);
    return rc;
}

static int one_reference(const char *json)
{
    char err[128];
    yajl_val v = yajl_tree_parse(json, err, sizeof err);

    if (!v)
        return -1;
    yajl_tree_free(v);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Returns the median rate (per second); fills min and max. */
static double measure(int (*fn)(const char *), const char *arg, long n, double *lo, double *hi)
{
    double rate[ROUNDS];

    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        for (long i = 0; i < n; i++)
            if (fn(arg)) {
                fprintf(stderr, "benchmark step failed\n");
                exit(1);
            }
        rate[r] = n / (now() - t0);
    }
    qsort(rate, ROUNDS, sizeof rate[0], cmp);
    *lo = rate[0];
    *hi = rate[ROUNDS - 1];
    return rate[ROUNDS / 2];
}

static int config_step(const char *unused)
{
    (void)unused;
    return one_config();
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000;
    kl_cfg *cfg;
    kl_domain_config dc;
    char *json;
    double lo, hi, lo_r, hi_r, med, med_r;

    if (n <= 0 || kl_cfg_parse_data(&cfg, "typical.cfg", typical, sizeof typical - 1, NULL))
        return 1;
    kl_domain_config_init(&dc);
    if (kl_domain_config_from_cfg(&dc, cfg, 0, NULL) || !(json = kl_domain_config_to_json(&dc)))
        return 1;
    med = measure(config_step, NULL, n, &lo, &hi);
    med_r = measure(one_reference, json, n, &lo_r, &hi_r);
    printf("config parse+convert+JSON: median %.0f configs/s (%.1f us each), spread %.0f..%.0f, "
           "%d rounds of %ld\n", med, 1e6 / med, lo, hi, ROUNDS, n);
    printf("reference yajl_tree_parse of the same config's JSON (%zu bytes): median %.0f/s "
           "(%.1f us each), spread %.0f..%.0f\n", strlen(json), med_r, 1e6 / med_r, lo_r, hi_r);
    printf("ratio: the full path costs %.2fx a bare JSON parse of its result\n", med_r / med);
    free(json);
    kl_domain_config_dispose(&dc);
    kl_cfg_free(cfg);
    return 0;
}
