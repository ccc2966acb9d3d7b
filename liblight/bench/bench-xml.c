/* bench-xml.c - time of the libvirt domain XML paths per config, against libxml2 parsing the
 * same document alone (xmlReadMemory with the same options, tree freed), measured in the same
 * run: XML import (parse + mapping + xl.cfg conversion) and XML export of a config that uses
 * every device kind. Prints the median and spread (min..max) of ROUNDS rounds of N iterations
 * and the ratios to the reference. Usage: bench-xml [iterations-per-round] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>

#include <keel/kl_xml.h>

#define ROUNDS 7

static const char typical[] =
    "name = \"web1\"\ntype = \"pvh\"\nuuid = \"6b4a3c2e-1f0d-4e5a-9b8c-7d6e5f4a3b2c\"\n"
    "memory = 512\nmaxmem = 1024\nvcpus = 2\nmaxvcpus = 4\ncpus = \"0-1\"\ncpu_weight = 512\n"
    "kernel = \"/srv/guests/web1/vmlinuz\"\nramdisk = \"/srv/guests/web1/initrd\"\n"
    "cmdline = \"root=/dev/xvda1 ro console=hvc0\"\n"
    "seclabel = \"system_u:system_r:domU_t\"\non_crash = \"coredump-restart\"\n"
    "disk = [ '/dev/vg/web1-root,,xvda',\n"
    "         'format=qcow2, vdev=xvdb, access=ro, target=/srv/img/data.qcow2', ]\n"
    "vif = [ 'mac=00:16:3e:74:3d:76,bridge=xenbr0,rate=10Mb/s', 'bridge=xenbr1' ]\n"
    "vtpm = [ 'backend=vtpm-web1' ]\n"
    "channel = [ 'name=org.keel.agent,connection=socket,path=/run/web1.sock' ]\n"
    "p9 = [ 'tag=share,path=/srv/share,security_model=mapped' ]\n";

static char *xml;
static kl_domain_config dc;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int import_step(void)
{
    kl_domain_config c;
    int rc;

    kl_domain_config_init(&c);
    rc = kl_domain_config_from_xml(&c, "bench.xml", xml, strlen(xml), 0, NULL);
    kl_domain_config_dispose(&c);
    return rc;
}

static int export_step(void)
{
    char *s = kl_domain_config_to_xml(&dc, -1);

    free(s);
    return s ? 0 : -1;
}

static int libxml2_step(void)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "bench.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

    if (!doc)
        return -1;
    xmlFreeDoc(doc);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median time per call in microseconds; fills min and max. */
static double measure(int (*fn)(void), long n, double *lo, double *hi)
{
    double us[ROUNDS];

    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        for (long i = 0; i < n; i++)
            if (fn()) {
                fprintf(stderr, "benchmark step failed\n");
                exit(1);
            }
        us[r] = (now() - t0) * 1e6 / n;
    }
    qsort(us, ROUNDS, sizeof us[0], cmp);
    *lo = us[0];
    *hi = us[ROUNDS - 1];
    return us[ROUNDS / 2];
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000;
    double lo[3], hi[3], med[3];
    kl_cfg *cfg;

    kl_domain_config_init(&dc);
    if (n <= 0 || kl_cfg_parse_data(&cfg, "typical.cfg", typical, sizeof typical - 1, NULL) ||
        kl_domain_config_from_cfg(&dc, cfg, 0, NULL) || !(xml = kl_domain_config_to_xml(&dc, -1)))
        return 1;
    kl_cfg_free(cfg);
    med[2] = measure(libxml2_step, n, &lo[2], &hi[2]);
    med[0] = measure(import_step, n, &lo[0], &hi[0]);
    med[1] = measure(export_step, n, &lo[1], &hi[1]);
    printf("reference libxml2 xmlReadMemory + xmlFreeDoc of the config's XML (%zu bytes): "
           "median %.1f us, spread %.1f..%.1f\n", strlen(xml), med[2], lo[2], hi[2]);
    printf("XML import (parse + mapping + xl.cfg conversion): median %.1f us per config, spread "
           "%.1f..%.1f, %.2fx the reference\n", med[0], lo[0], hi[0], med[0] / med[2]);
    printf("XML export (config -> XML text): median %.1f us per config, spread %.1f..%.1f, "
           "%.2fx the reference\n", med[1], lo[1], hi[1], med[1] / med[2]);
    printf("%d rounds of %ld\n", ROUNDS, n);
    free(xml);
    kl_domain_config_dispose(&dc);
    return 0;
}
