/* fuzz-writer.c - libFuzzer target checking the writer against the reader: the input is a
 * program of writer calls (any order, any arguments); whatever the writer accepted must be a
 * stream the reader accepts - in full if the writer reached END, else as a truncated prefix
 * (-ENODATA only). A refused call must write nothing. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kg_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct prog { const uint8_t *p; size_t n, i; };

static unsigned next(struct prog *g)
{
    return g->i < g->n ? g->p[g->i++] : 0;
}

static uint8_t pagebuf[8 * KG_PAGE_SIZE];

static int op_pages(struct kg_stream_writer *w, struct prog *g)
{
    uint64_t e[8];
    const void *pg[8];
    uint32_t n = next(g) % 9;  /* 0 is refused */

    for (uint32_t i = 0; i < 8; i++) {
        unsigned b = next(g);
        e[i] = KG_PFN_ENTRY(next(g) | (b & 0x80 ? 0x100 : 0), b & 0xf);
        pg[i] = b & 0x40 ? NULL : pagebuf + (size_t)(b & 7) * KG_PAGE_SIZE;
    }
    return kg_stream_write_page_data(w, e, pg, n);
}

static int op_vcpus(struct kg_stream_writer *w, struct prog *g)
{
    struct kg_vcpu_regs r[3];
    uint32_t ids[3], n = next(g) % 4;

    memset(r, 0, sizeof r);
    for (int i = 0; i < 3; i++) {
        ids[i] = next(g) | (uint32_t)next(g) << 8;
        r[i].rip = ids[i];
    }
    return kg_stream_write_vcpus(w, NULL, r, next(g) & 1 ? ids : NULL, n);
}

static int op_misc(struct kg_stream_writer *w, struct prog *g, unsigned op)
{
    struct kg_hvm_param p[3] = { { 1, 2 }, { 2, 3 }, { 17, 4 } };
    struct kg_cpuid_leaf l = { 0, 0, 1, 2, 3, 4 };
    struct kg_msr_entry m = { 0xce, 0, 1 };
    struct kg_tsc_info t = { 1, 2, 3, 4 };
    uint64_t pfns[2] = { next(g), next(g) };
    char xs[8];

    for (int i = 0; i < 8; i++)
        xs[i] = (char)(next(g) % 4 == 0 ? 0 : 'a' + next(g) % 3);
    switch (op) {
    case 0: return kg_stream_write_begin(w);
    case 1: return kg_stream_write_cpuid_policy(w, &l, next(g) % 2);
    case 2: return kg_stream_write_msr_policy(w, &m, next(g) % 2);
    case 3: return kg_stream_write_static_data_end(w);
    case 4: return kg_stream_write_tsc_info(w, &t);
    case 5: return kg_stream_write_hvm_params(w, p, next(g) % 4);
    case 6: return kg_stream_write_checkpoint(w);
    case 7: return kg_stream_write_checkpoint_end(w);
    case 8: return kg_stream_write_emulator(w, 2 + next(g) % 2, next(g) % 4, 0, xs, next(g) % 9);
    case 9: return kg_stream_write_dirty_pfn_list(w, pfns, next(g) % 3);
    default: return kg_stream_write_end(w);
    }
}

static void check(const uint8_t *out, size_t len, unsigned flags, uint64_t max_pfn, int ended)
{
    struct kg_stream_reader_opts o = { .format = KG_FMT_AUTO, .flags = flags, .max_pfn = max_pfn,
                                       .max_vcpus = 65536 };
    struct kg_stream_reader *r;
    struct kg_source *src;
    struct kg_stream_item it;
    int rc;

    if (len == 0)
        return;
    if (kg_source_new_memory(out, len, &src) || kg_stream_reader_new(src, &o, &r))
        abort();
    while ((rc = kg_stream_read(r, &it)) == 0)
        ;
    if (rc == 1)
        rc = kg_stream_reader_expect_eof(r);
    if (ended ? rc != 0 : (rc != 0 && rc != -ENODATA))
        abort();  /* the writer produced something the reader rejects */
    kg_stream_reader_free(r);
    kg_source_free(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct prog g = { data, size, 0 };
    unsigned cfg = next(&g);
    struct kg_stream_writer_opts o = {
        .format = (enum kg_stream_format)(cfg % 3), .version = cfg & 4 ? 2 : 3,
        .max_pfn = cfg & 8 ? 0x1ff : 0, .xl_config = cfg & 16 ? "{\"x\":1}" : NULL,
        .flags = cfg & 32 ? KG_WRITE_BACKCHANNEL : 0,
    };
    struct kg_stream_writer *w;
    struct kg_sink *sink;
    const uint8_t *out;
    size_t len;
    int ended = 0;

    if (kg_sink_new_memory(&sink) || kg_stream_writer_new(sink, &o, &w))
        abort();
    while (g.i < g.n && !ended) {
        unsigned op = next(&g) % 13;
        uint64_t before = kg_sink_offset(sink);
        int rc = op == 11 ? op_pages(w, &g) : op == 12 ? op_vcpus(w, &g) : op_misc(w, &g, op);

        if (rc && kg_sink_offset(sink) != before)
            abort();  /* a refused call wrote bytes */
        ended = op == 10 && rc == 0;
    }
    out = kg_sink_memory_data(sink, &len);
    check(out, len, cfg & 32 ? KG_READ_BACKCHANNEL : 0, o.max_pfn, ended);
    kg_stream_writer_free(w);
    kg_sink_free(sink);
    return 0;
}
