/* bench-policy.c - benchmarks of the policy part, each against a reference measured in the
 * same run:
 *  1. compiling Keel's default policy: keel-policyc vs checkpolicy -t Xen -c 30, both run as
 *     processes on the same policy.conf (median of runs, ratio);
 *  2. AVC decision cost, cached (kf_avc_lookup hit) and uncached (kf_compute_av), vs a lookup
 *     in a plain open-addressing hash table of the same keys and vs a 16-byte memcpy.
 * Usage: bench-policy POLICY.CONF POLICY.BIN KEEL-POLICYC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kf.h"

#define RUNS 11

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void stats(const char *what, double *v, int n, double *median)
{
    qsort(v, (size_t)n, sizeof(*v), dcmp);
    *median = v[n / 2];
    printf("%-34s median %10.3f  min %10.3f  max %10.3f\n", what, v[n / 2], v[0], v[n - 1]);
}

static double run(char *const argv[])
{
    double t = now();
    int st;
    pid_t pid = fork();

    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execvp(argv[0], argv);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        return -1;
    return (now() - t) * 1e3;
}

static void bench_compile(const char *conf, const char *kpc)
{
    char *kp[] = { (char *)kpc, (char *)"-o", (char *)"/dev/null", (char *)conf, NULL };
    char *cp[] = { (char *)"checkpolicy", (char *)"-t", (char *)"Xen", (char *)"-c", (char *)"30",
                   (char *)conf, (char *)"-o", (char *)"/dev/null", NULL };
    double a[RUNS], b[RUNS], ma, mb;

    for (int i = 0; i < RUNS; i++) {
        a[i] = run(kp);
        b[i] = run(cp);
        if (a[i] < 0 || b[i] < 0) {
            printf("compile benchmark failed (is checkpolicy installed?)\n");
            return;
        }
    }
    printf("compile of the default policy (ms, %d runs, process start included)\n", RUNS);
    stats("  keel-policyc", a, RUNS, &ma);
    stats("  checkpolicy -t Xen -c 30", b, RUNS, &mb);
    printf("  ratio keel-policyc / checkpolicy: %.3f\n\n", ma / mb);
}

struct ref_ent {
    uint32_t s, t, c, used;
    struct kf_av av;
};

#define NKEYS 256
#define ITER 200000

static void bench_avc(const char *bin)
{
    static const char *const ctx[] = { "system_u:system_r:dom0_t", "system_u:system_r:domU_t",
                                       "system_u:system_r:isolated_domU_t",
                                       "system_u:system_r:driver_dom_t",
                                       "system_u:system_r:dm_dom_t", "system_u:system_r:xen_t",
                                       "system_u:system_r:security_t",
                                       "system_u:object_r:vtpm_t" };
    kf_sid_t sids[8];
    uint32_t ks[NKEYS], kt[NKEYS];
    uint16_t kc[NKEYS];
    static struct ref_ent table[1024];
    double v[4][RUNS], m[4];
    volatile uint32_t sink = 0;
    struct kf_av av, src = { 1, 2, 3, 4 }, dst;
    char err[256];
    kf_t *kf;

    if (kf_create(&kf) || kf_load_file(kf, bin, err, sizeof(err))) {
        printf("cannot load %s: %s\n", bin, err);
        return;
    }
    for (int i = 0; i < 8; i++)
        kf_context_to_sid(kf, ctx[i], &sids[i]);
    for (int i = 0; i < NKEYS; i++) {
        ks[i] = sids[i % 8];
        kt[i] = sids[(i / 8) % 8];
        kc[i] = (uint16_t)(1 + (i / 64) % 13);
        kf_compute_av(kf, ks[i], kt[i], kc[i], &av);
        for (uint32_t h = (ks[i] * 31 + kt[i] * 7 + kc[i]) & 1023;; h = (h + 1) & 1023)
            if (!table[h].used) {
                table[h] = (struct ref_ent){ ks[i], kt[i], kc[i], 1, av };
                break;
            }
    }
    for (int r = 0; r < RUNS; r++) {
        double t = now();

        for (int i = 0; i < ITER; i++) {
            int k = i & (NKEYS - 1);

            kf_avc_lookup(kf, ks[k], kt[k], kc[k], &av);
            sink += av.allowed;
        }
        v[0][r] = (now() - t) * 1e9 / ITER;
        t = now();
        for (int i = 0; i < ITER / 10; i++) {
            int k = i & (NKEYS - 1);

            kf_compute_av(kf, ks[k], kt[k], kc[k], &av);
            sink += av.allowed;
        }
        v[1][r] = (now() - t) * 1e9 / (ITER / 10);
        t = now();
        for (int i = 0; i < ITER; i++) {
            int k = i & (NKEYS - 1);

            for (uint32_t h = (ks[k] * 31 + kt[k] * 7 + kc[k]) & 1023;; h = (h + 1) & 1023)
                if (table[h].s == ks[k] && table[h].t == kt[k] && table[h].c == kc[k]) {
                    sink += table[h].av.allowed;
                    break;
                }
        }
        v[2][r] = (now() - t) * 1e9 / ITER;
        t = now();
        for (int i = 0; i < ITER; i++) {
            src.seqno = (uint32_t)i;
            memcpy(&dst, &src, sizeof(dst));
            __asm__ volatile("" : : "r"(&dst) : "memory");
            sink += dst.seqno;
        }
        v[3][r] = (now() - t) * 1e9 / ITER;
    }
    printf("AVC decision cost (ns per decision, %d runs, %d distinct keys)\n", RUNS, NKEYS);
    stats("  AVC cached (kf_avc_lookup)", v[0], RUNS, &m[0]);
    stats("  uncached (kf_compute_av)", v[1], RUNS, &m[1]);
    stats("  reference: hash table lookup", v[2], RUNS, &m[2]);
    stats("  reference: 16-byte memcpy", v[3], RUNS, &m[3]);
    printf("  ratio cached / hash lookup: %.2f   cached / memcpy: %.2f\n", m[0] / m[2],
           m[0] / m[3]);
    printf("  ratio uncached / hash lookup: %.2f   uncached / cached: %.2f\n", m[1] / m[2],
           m[1] / m[0]);
    (void)sink;
    kf_destroy(kf);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-policy POLICY.CONF POLICY.BIN KEEL-POLICYC\n");
        return 2;
    }
    bench_compile(argv[1], argv[3]);
    bench_avc(argv[2]);
    return 0;
}
