/* stream-gen.c - writes a small synthetic Keel stream (2 vCPUs, some pages incl. an XTAB
 * entry, parameters, TSC, policies, checkpoints) as libxc (v3 or v2), libxl or xl to a file,
 * for the dump and verifier tests and for making fuzz seeds:
 *   stream-gen libxc|libxc-v2|libxl|xl FILE [PAGES [CHECKPOINTS]]   (defaults 16, 1) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kg_stream.h"
#include "testlib.h"

static int pages(struct kg_stream_writer *w, uint8_t *mem, uint32_t n)
{
    uint64_t e[KG_MAX_BATCH];
    const void *pg[KG_MAX_BATCH];
    uint32_t k = 0;
    int rc = 0;

    for (uint32_t p = 0; p < n && !rc; p++) {
        e[k] = KG_PFN_ENTRY(p, p == 3 ? KG_PFINFO_XTAB : KG_PFINFO_NOTAB);
        pg[k++] = mem + (size_t)p * KG_PAGE_SIZE;
        if (k == KG_MAX_BATCH || p == n - 1) {
            rc = kg_stream_write_page_data(w, e, pg, k);
            k = 0;
        }
    }
    return rc;
}

static int gen(struct kg_stream_writer *w, uint8_t *mem, uint32_t n, int embedded, int v3,
               unsigned cps)
{
    struct kg_vcpu_regs regs[2];
    struct kg_hvm_param prm[4] = { { KG_HVM_PARAM_STORE_PFN, n - 2 }, { KG_HVM_PARAM_STORE_EVTCHN, 1 },
                                   { KG_HVM_PARAM_CONSOLE_PFN, n - 1 }, { KG_HVM_PARAM_CONSOLE_EVTCHN, 2 } };
    struct kg_tsc_info tsc = { 0, 2000000, 5000000000ull, 1 };
    struct kg_cpuid_leaf leaf = { 0, 0xffffffff, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 };
    struct kg_msr_entry msr = { 0xce, 0, 0x80000000 };
    struct kg_hvm_save_info info = { 0x806ec, 2000000, 0 };
    int rc;

    tl_fill_regs(&regs[0], 0);
    tl_fill_regs(&regs[1], 1);
    rc = kg_stream_write_begin(w);
    if (!rc && v3)
        rc = kg_stream_write_cpuid_policy(w, &leaf, 1) ?: kg_stream_write_msr_policy(w, &msr, 1)
             ?: kg_stream_write_static_data_end(w);
    rc = rc ?: pages(w, mem, n) ?: kg_stream_write_tsc_info(w, &tsc)
         ?: kg_stream_write_hvm_params(w, prm, 4) ?: kg_stream_write_vcpus(w, &info, regs, NULL, 2);
    for (unsigned c = 0; c < cps && !rc; c++)
        rc = kg_stream_write_checkpoint(w) ?: (embedded ? kg_stream_write_checkpoint_end(w) : 0)
             ?: pages(w, mem, 4) ?: kg_stream_write_hvm_params(w, prm, 4)
             ?: kg_stream_write_vcpus(w, &info, regs, NULL, 2);
    return rc ?: kg_stream_write_end(w);
}

int main(int argc, char **argv)
{
    struct kg_stream_writer_opts o = { .xl_config = "{\"c_info\":{\"name\":\"gen\",\"type\":\"pvh\"}}" };
    struct kg_stream_writer *w;
    struct kg_sink *sink;
    uint32_t n = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 16;
    unsigned cps = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 0) : 1;
    uint8_t *mem;
    int fd, rc;

    if (argc < 3 || n < 4 || n > (1u << 20)) {
        fprintf(stderr, "usage: stream-gen libxc|libxc-v2|libxl|xl FILE [PAGES>=4 [CHECKPOINTS]]\n");
        return 2;
    }
    o.format = !strcmp(argv[1], "xl") ? KG_FMT_XL : !strcmp(argv[1], "libxl") ? KG_FMT_LIBXL
                                                                              : KG_FMT_LIBXC;
    o.version = !strcmp(argv[1], "libxc-v2") ? 2 : 3;
    mem = malloc((size_t)n * KG_PAGE_SIZE);
    for (uint32_t p = 0; p < n; p++)
        tl_fill_page(mem + (size_t)p * KG_PAGE_SIZE, p);
    fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || kg_sink_new_fd(fd, &sink) || kg_stream_writer_new(sink, &o, &w)) {
        perror(argv[2]);
        return 1;
    }
    rc = gen(w, mem, n, o.format != KG_FMT_LIBXC, o.version == 3, cps);
    if (rc)
        fprintf(stderr, "stream-gen: %s\n", kg_stream_writer_error(w)->msg);
    kg_stream_writer_free(w);
    kg_sink_free(sink);
    close(fd);
    free(mem);
    return rc ? 1 : 0;
}
