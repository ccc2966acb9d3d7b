/* bench-light-calls - the C reference for bench_calls.py: times liblight calls made directly
 * (kl_domain_info, kl_domain_list, xl.cfg text to kl_domain_config) so that the Python
 * binding's overhead can be given as a ratio. Prints one line per operation:
 * "OP MEDIAN_US P10_US P90_US" over SAMPLES samples of BATCH calls each.
 * Usage: bench-light-calls RUNDIR DOMID CFGFILE [SAMPLES [BATCH]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <keel/kl_light.h>

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

struct op {
    kl_ctx *ctx;
    uint32_t domid;
    const char *text;
    size_t len;
};

static int do_info(struct op *o)
{
    kl_dominfo i;

    return kl_domain_info(o->ctx, o->domid, &i);
}

static int do_list(struct op *o)
{
    kl_dominfo *l;
    int n = kl_domain_list(o->ctx, &l);

    if (n >= 0)
        free(l);
    return n;
}

static int do_config(struct op *o)
{
    kl_domain_config dc;
    kl_cfg *cfg;
    int rc = kl_cfg_parse_data(&cfg, "bench.cfg", o->text, o->len, NULL);

    if (rc < 0)
        return rc;
    kl_domain_config_init(&dc);
    rc = kl_domain_config_from_cfg(&dc, cfg, 0, NULL);
    kl_domain_config_dispose(&dc);
    kl_cfg_free(cfg);
    return rc;
}

static int run(const char *name, int (*fn)(struct op *), struct op *o, int samples, int batch)
{
    double *t = calloc((size_t)samples, sizeof(double));

    if (!t)
        return -1;
    for (int s = 0; s < samples; s++) {
        double t0 = now_us();
        for (int i = 0; i < batch; i++)
            if (fn(o) < 0) {
                fprintf(stderr, "bench-light-calls: %s failed: %s\n", name, kl_ctx_error(o->ctx));
                free(t);
                return -1;
            }
        t[s] = (now_us() - t0) / batch;
    }
    qsort(t, (size_t)samples, sizeof(double), cmp);
    printf("%s %.3f %.3f %.3f\n", name, t[samples / 2], t[samples / 10], t[samples * 9 / 10]);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    struct op o = { 0 };
    int samples = argc > 4 ? atoi(argv[4]) : 30, batch = argc > 5 ? atoi(argv[5]) : 200;
    static char text[65536];
    FILE *f;

    if (argc < 4 || samples < 1 || batch < 1) {
        fprintf(stderr, "usage: bench-light-calls RUNDIR DOMID CFGFILE [SAMPLES [BATCH]]\n");
        return 2;
    }
    o.domid = (uint32_t)strtoul(argv[2], NULL, 10);
    if (!(f = fopen(argv[3], "r"))) {
        perror(argv[3]);
        return 1;
    }
    o.len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    o.text = text;
    if (kl_ctx_open(&o.ctx, argv[1]) < 0) {
        fprintf(stderr, "bench-light-calls: cannot open a context on %s\n", argv[1]);
        return 1;
    }
    if (run("info", do_info, &o, samples, batch) < 0 || run("list", do_list, &o, samples, batch) < 0 ||
        run("config", do_config, &o, samples, batch) < 0) {
        kl_ctx_close(o.ctx);
        return 1;
    }
    kl_ctx_close(o.ctx);
    return 0;
}
