/* test-roundtrip.c - writes synthetic guests (several vCPUs, pages, parameters, checkpoints)
 * as libxc, libxl and xl streams over every sink kind and reads them back: memory, vCPU
 * state, parameters and TSC must come back identically; items must tile the stream. Also
 * checks that the writer refuses to emit misordered or out-of-range records. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kg_stream.h"
#include "tap.h"
#include "testlib.h"

#define NVCPU 3
#define CONFIG "{\"c_info\":{\"type\":\"pvh\",\"name\":\"roundtrip\"},\"b_info\":{\"max_vcpus\":3}}"

struct guest {
    uint32_t npfn;
    uint8_t *mem;
    struct kg_vcpu_regs regs[NVCPU];
    struct kg_hvm_param params[4];
    struct kg_tsc_info tsc;
};

struct result {
    uint8_t *mem;
    struct kg_vcpu_regs regs[NVCPU];
    struct kg_hvm_param params[4];
    uint32_t nparams, nvcpus, checkpoints, checkpoint_ends, emulator_recs, cpuid, msr;
    struct kg_tsc_info tsc;
    int tiled, saw_xl, saw_config;
};

static void make_guest(struct guest *g, uint32_t npfn)
{
    g->npfn = npfn;
    g->mem = malloc((size_t)npfn * KG_PAGE_SIZE);
    for (uint32_t p = 0; p < npfn; p++)
        tl_fill_page(g->mem + (size_t)p * KG_PAGE_SIZE, p);
    for (unsigned i = 0; i < NVCPU; i++)
        tl_fill_regs(&g->regs[i], i);
    g->params[0] = (struct kg_hvm_param){ KG_HVM_PARAM_STORE_PFN, npfn - 2 };
    g->params[1] = (struct kg_hvm_param){ KG_HVM_PARAM_STORE_EVTCHN, 1 };
    g->params[2] = (struct kg_hvm_param){ KG_HVM_PARAM_CONSOLE_PFN, npfn - 1 };
    g->params[3] = (struct kg_hvm_param){ KG_HVM_PARAM_CONSOLE_EVTCHN, 2 };
    g->tsc = (struct kg_tsc_info){ 1, 2400000, 123456789012ull, 7 };
}

/* Dirty a few pages and registers between checkpoint rounds. */
static void mutate(struct guest *g, unsigned round)
{
    for (uint32_t p = 7 * round; p < g->npfn; p += 7 * 13)  /* re-sent pages only */
        g->mem[(size_t)p * KG_PAGE_SIZE + round] ^= 0xa5;
    g->regs[round % NVCPU].rip += 0x10;
    g->tsc.nsec += 1000;
}

static int write_pages(struct kg_stream_writer *w, struct guest *g, uint32_t stride, int xtab)
{
    uint64_t e[KG_MAX_BATCH];
    const void *pg[KG_MAX_BATCH];
    uint32_t n = 0;
    int rc = 0;

    for (uint32_t p = 0; p < g->npfn && rc == 0; p += stride) {
        e[n] = KG_PFN_ENTRY(p, KG_PFINFO_NOTAB);
        pg[n++] = g->mem + (size_t)p * KG_PAGE_SIZE;
        if (n == KG_MAX_BATCH || p + stride >= g->npfn) {
            if (xtab && n < KG_MAX_BATCH) {  /* a pfn that vanished: no data follows */
                e[n] = KG_PFN_ENTRY(g->npfn - 1, KG_PFINFO_XTAB);
                pg[n++] = NULL;
            }
            rc = kg_stream_write_page_data(w, e, pg, n);
            n = 0;
        }
    }
    return rc;
}

static int write_stream(struct kg_sink *sink, enum kg_stream_format fmt, uint32_t version,
                        unsigned checkpoints, struct guest *g)
{
    struct kg_stream_writer_opts o = { .format = fmt, .version = version,
                                       .max_pfn = g->npfn - 1, .xl_config = CONFIG };
    struct kg_cpuid_leaf leaves[2] = { { 0, 0xffffffff, 0xd, 1, 2, 3 }, { 1, 0xffffffff, 4, 5, 6, 7 } };
    struct kg_msr_entry msrs[1] = { { 0xce, 0, 0x80000000 } };
    struct kg_hvm_save_info info = { 0x806ec, 2400000, 0 };
    struct kg_stream_writer *w;
    int rc = kg_stream_writer_new(sink, &o, &w);

    if (rc)
        return rc;
    rc = kg_stream_write_begin(w);
    if (!rc && version == 3)
        rc = kg_stream_write_cpuid_policy(w, leaves, 2) ?: kg_stream_write_msr_policy(w, msrs, 1)
             ?: kg_stream_write_static_data_end(w);
    for (unsigned round = 0; round <= checkpoints && !rc; round++) {
        if (round)
            mutate(g, round);
        rc = write_pages(w, g, round ? 7 : 1, round > 0) ?: kg_stream_write_tsc_info(w, &g->tsc)
             ?: kg_stream_write_hvm_params(w, g->params, 4)
             ?: kg_stream_write_vcpus(w, &info, g->regs, NULL, NVCPU);
        if (!rc && round < checkpoints) {
            rc = kg_stream_write_checkpoint(w);
            if (!rc && fmt != KG_FMT_LIBXC)
                rc = kg_stream_write_emulator(w, KG_XLREC_EMULATOR_XENSTORE_DATA, 2, 0,
                                              "physmap/1\0abc\0", 14)
                     ?: kg_stream_write_checkpoint_end(w);
        }
    }
    if (!rc)
        rc = kg_stream_write_end(w);
    if (rc)
        tap_diag("writer: %s", kg_stream_writer_error(w)->msg);
    kg_stream_writer_free(w);
    return rc;
}

static void apply_item(struct result *res, const struct kg_stream_item *it, uint32_t npfn)
{
    if (it->kind == KG_ITEM_XL_HEADER) {
        res->saw_xl = 1;
        res->saw_config = it->u.xl.config && !strcmp(it->u.xl.config, CONFIG);
    }
    if (it->kind != KG_ITEM_RECORD)
        return;
    if (it->layer == KG_LAYER_LIBXL) {
        res->checkpoint_ends += it->type == KG_XLREC_CHECKPOINT_END;
        res->emulator_recs += it->type == KG_XLREC_EMULATOR_XENSTORE_DATA;
        return;
    }
    switch (it->type) {
    case KG_REC_PAGE_DATA: {
        const uint8_t *src = it->u.page_data.pages;
        if (!src)
            break;  /* placed by the reader (page_dest) */
        for (uint32_t i = 0; i < it->u.page_data.count; i++) {
            uint64_t e = it->u.page_data.entries[i];
            if (kg_pfn_type_has_data(KG_PFN_TYPE(e)) == 1 && KG_PFN(e) < npfn) {
                memcpy(res->mem + KG_PFN(e) * KG_PAGE_SIZE, src, KG_PAGE_SIZE);
                src += KG_PAGE_SIZE;
            }
        }
        break;
    }
    case KG_REC_X86_TSC_INFO: res->tsc = it->u.tsc; break;
    case KG_REC_HVM_PARAMS:
        res->nparams = it->u.hvm_params.count < 4 ? it->u.hvm_params.count : 4;
        memcpy(res->params, it->u.hvm_params.params, res->nparams * sizeof res->params[0]);
        break;
    case KG_REC_HVM_CONTEXT:
        res->nvcpus = it->u.hvm_context.nr_cpus;
        for (uint32_t v = 0; v < NVCPU; v++)
            if (kg_hvmctx_get_vcpu(it->body, it->length, v, &res->regs[v]))
                res->nvcpus = 0;
        break;
    case KG_REC_CHECKPOINT: res->checkpoints++; break;
    case KG_REC_X86_CPUID_POLICY: res->cpuid = it->u.cpuid.count; break;
    case KG_REC_X86_MSR_POLICY: res->msr = it->u.msr.count; break;
    default: break;
    }
}

static void *place(void *opaque, uint64_t pfn, unsigned type)
{
    struct result *res = opaque;

    (void)type;
    return res->mem + pfn * KG_PAGE_SIZE;  /* pfn already checked against max_pfn */
}

static int use_page_dest;

static int read_stream(struct kg_source *src, uint32_t npfn, struct result *res)
{
    struct kg_stream_reader_opts o = { .format = KG_FMT_AUTO, .max_pfn = npfn - 1,
                                       .page_dest = use_page_dest ? place : NULL,
                                       .page_opaque = res };
    struct kg_stream_reader *r;
    struct kg_stream_item it;
    uint64_t next = 0;
    int rc;

    memset(res, 0, sizeof *res);
    res->mem = calloc(npfn, KG_PAGE_SIZE);
    res->tiled = 1;
    if (kg_stream_reader_new(src, &o, &r))
        return -ENOMEM;
    while ((rc = kg_stream_read(r, &it)) == 0) {
        if (it.offset != next)
            res->tiled = 0;
        next = it.offset + it.size;
        apply_item(res, &it, npfn);
    }
    if (rc == 1)
        rc = kg_stream_reader_expect_eof(r);
    if (rc)
        tap_diag("reader: %s", kg_stream_reader_error(r)->msg);
    kg_stream_reader_free(r);
    return rc;
}

static void compare(const char *what, struct guest *g, struct result *res, unsigned cps,
                    enum kg_stream_format fmt)
{
    int regs_ok = res->nvcpus == NVCPU;

    for (unsigned v = 0; v < NVCPU && regs_ok; v++)
        regs_ok = !memcmp(&g->regs[v], &res->regs[v], sizeof g->regs[v]);
    tap_ok(!memcmp(g->mem, res->mem, (size_t)g->npfn * KG_PAGE_SIZE),
           "%s: guest memory reads back identically", what);
    tap_ok(regs_ok, "%s: all %d vCPUs' registers read back identically", what, NVCPU);
    tap_ok(res->nparams == 4 && !memcmp(res->params, g->params, sizeof g->params),
           "%s: store/console pfns and event channels read back", what);
    tap_ok(res->tsc.mode == g->tsc.mode && res->tsc.khz == g->tsc.khz &&
           res->tsc.nsec == g->tsc.nsec && res->tsc.incarnation == g->tsc.incarnation,
           "%s: TSC info reads back", what);
    tap_ok(res->checkpoints == cps, "%s: %u checkpoints seen", what, cps);
    if (fmt != KG_FMT_LIBXC)
        tap_ok(res->checkpoint_ends == cps && res->emulator_recs == cps,
               "%s: one libxl checkpoint (emulator record + CHECKPOINT_END) per checkpoint", what);
    tap_ok(res->tiled, "%s: item offsets and sizes tile the stream without gaps", what);
    if (fmt == KG_FMT_XL)
        tap_ok(res->saw_xl && res->saw_config, "%s: xl preamble carries the JSON config", what);
    free(res->mem);
}

/* Re-create the guest so each run starts from identical state. */
static void run_memory(enum kg_stream_format fmt, uint32_t version, unsigned cps, const char *what)
{
    struct guest g;
    struct kg_sink *sink;
    struct kg_source *src;
    struct result res;
    const uint8_t *data;
    size_t len;

    tl_rng = 42;
    make_guest(&g, 3000);
    kg_sink_new_memory(&sink);
    tap_ok(write_stream(sink, fmt, version, cps, &g) == 0, "%s: writer succeeds", what);
    data = kg_sink_memory_data(sink, &len);
    tap_ok(len == kg_sink_offset(sink) && (fmt == KG_FMT_XL || len % 8 == 0),
           "%s: %zu bytes%s", what, len, fmt == KG_FMT_XL ? "" : ", a multiple of 8");
    kg_source_new_memory(data, len, &src);
    tap_ok(read_stream(src, g.npfn, &res) == 0, "%s: reader accepts the stream", what);
    compare(what, &g, &res, cps, fmt);
    kg_source_free(src);
    kg_sink_free(sink);
    free(g.mem);
}

/* Writer in a child process streaming over a pipe; reader in the parent. */
static void run_pipe(enum kg_stream_format fmt, unsigned cps)
{
    struct guest g;
    struct kg_source *src;
    struct result res;
    int pfd[2], st, rc;
    pid_t pid;

    tl_rng = 42;
    make_guest(&g, 3000);
    if (pipe(pfd))
        tap_bail("pipe");
    pid = fork();
    if (pid == 0) {
        struct kg_sink *sink;
        close(pfd[0]);
        kg_sink_new_fd(pfd[1], &sink);
        _exit(write_stream(sink, fmt, 3, cps, &g) ? 1 : 0);
    }
    close(pfd[1]);
    kg_source_new_fd(pfd[0], &src);
    rc = read_stream(src, g.npfn, &res);
    close(pfd[0]);
    waitpid(pid, &st, 0);
    for (unsigned round = 1; round <= cps; round++)  /* what the child did to its copy */
        mutate(&g, round);
    tap_ok(rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "pipe: %s stream written by a child process is read while it is written%s",
           fmt == KG_FMT_XL ? "xl" : "libxc", use_page_dest ? " (pages placed by readv)" : "");
    compare("pipe", &g, &res, cps, fmt);
    kg_source_free(src);
    free(g.mem);
}

/* Callback sink/source over a buffer, read back 7 bytes at a time. */
struct cbbuf { uint8_t *b; size_t len, pos; };

static int cb_write(void *opaque, const struct iovec *iov, int cnt)
{
    struct cbbuf *c = opaque;

    for (int i = 0; i < cnt; i++) {
        c->b = realloc(c->b, c->len + iov[i].iov_len + 1);
        memcpy(c->b + c->len, iov[i].iov_base, iov[i].iov_len);
        c->len += iov[i].iov_len;
    }
    return 0;
}

static ssize_t cb_read(void *opaque, void *buf, size_t len)
{
    struct cbbuf *c = opaque;
    size_t n = c->len - c->pos;

    n = n < len ? n : len;
    n = n < 7 ? n : 7;
    memcpy(buf, c->b + c->pos, n);
    c->pos += n;
    return (ssize_t)n;
}

static void run_callback(void)
{
    struct cbbuf c = { 0 };
    struct kg_sink *sink;
    struct kg_source *src;
    struct result res;
    struct guest g;

    tl_rng = 42;
    make_guest(&g, 1500);
    kg_sink_new_callback(cb_write, &c, &sink);
    tap_ok(write_stream(sink, KG_FMT_LIBXL, 3, 1, &g) == 0, "callback: libxl stream written");
    kg_source_new_callback(cb_read, &c, &src);
    tap_ok(read_stream(src, g.npfn, &res) == 0, "callback: read back 7 bytes per call");
    compare("callback", &g, &res, 1, KG_FMT_LIBXL);
    kg_source_free(src);
    kg_sink_free(sink);
    free(c.b);
    free(g.mem);
}

static int refused(struct kg_stream_writer *w, int rc, int want, const char *needle)
{
    const char *msg = kg_stream_writer_error(w)->msg;

    if (rc != want || !strstr(msg, needle))
        tap_diag("rc %d (want %d), msg: %s", rc, want, msg);
    return rc == want && strstr(msg, needle) != NULL;
}

static void writer_refusals(void)
{
    struct kg_stream_writer_opts o = { .format = KG_FMT_LIBXC, .max_pfn = 100 };
    struct kg_stream_writer *w;
    struct kg_sink *sink;
    uint8_t page[KG_PAGE_SIZE] = { 0 };
    const void *pg[KG_MAX_BATCH + 1];
    uint64_t e[KG_MAX_BATCH + 1];
    struct kg_hvm_param p = { 1, 2 };
    struct kg_vcpu_regs regs;
    size_t before;

    for (unsigned i = 0; i <= KG_MAX_BATCH; i++) {
        e[i] = KG_PFN_ENTRY(i % 100, 0);
        pg[i] = page;
    }
    memset(&regs, 0, sizeof regs);
    kg_sink_new_memory(&sink);
    kg_stream_writer_new(sink, &o, &w);
    kg_stream_write_begin(w);
    before = kg_sink_offset(sink);
    tap_ok(refused(w, kg_stream_write_page_data(w, e, pg, 1), -EPROTO, "before STATIC_DATA_END"),
           "writer refuses PAGE_DATA before STATIC_DATA_END");
    tap_ok(kg_sink_offset(sink) == before, "a refused record writes nothing");
    kg_stream_write_static_data_end(w);
    tap_ok(refused(w, kg_stream_write_cpuid_policy(w, NULL, 0), -EPROTO, "after STATIC_DATA_END"),
           "writer refuses a CPUID policy after STATIC_DATA_END");
    e[0] = KG_PFN_ENTRY(101, 0);
    tap_ok(refused(w, kg_stream_write_page_data(w, e, pg, 1), -ERANGE, "beyond the maximum pfn"),
           "writer refuses a pfn beyond max_pfn");
    e[0] = KG_PFN_ENTRY(1, 6);
    tap_ok(refused(w, kg_stream_write_page_data(w, e, pg, 1), -EBADMSG, "reserved page type"),
           "writer refuses a reserved page type");
    e[0] = KG_PFN_ENTRY(1, 0);
    tap_ok(refused(w, kg_stream_write_page_data(w, e, pg, KG_MAX_BATCH + 1), -EINVAL, "count"),
           "writer refuses a batch above 1024 pages");
    tap_ok(refused(w, kg_stream_write_vcpus(w, NULL, &regs, NULL, 1), -EPROTO, "before HVM_PARAMS"),
           "writer refuses HVM_CONTEXT before HVM_PARAMS");
    tap_ok(refused(w, kg_stream_write_end(w), -EPROTO, "without vCPU state"),
           "writer refuses END before any vCPU state");
    tap_ok(refused(w, kg_stream_write_checkpoint_end(w), -EPROTO, "where the libxc layer"),
           "writer refuses a libxl record in a plain libxc stream");
    tap_ok(kg_stream_write_hvm_params(w, &p, 1) == 0 &&
           kg_stream_write_vcpus(w, NULL, &regs, NULL, 1) == 0 && kg_stream_write_end(w) == 0,
           "writer then completes the stream");
    kg_stream_writer_free(w);
    kg_sink_free(sink);

    o.version = 2;
    kg_sink_new_memory(&sink);
    kg_stream_writer_new(sink, &o, &w);
    kg_stream_write_begin(w);
    tap_ok(refused(w, kg_stream_write_static_data_end(w), -EPROTO, "version 2"),
           "a version 2 writer refuses STATIC_DATA_END");
    kg_stream_writer_free(w);
    kg_sink_free(sink);
}

int main(void)
{
    run_memory(KG_FMT_LIBXC, 3, 2, "libxc v3, 2 checkpoints");
    run_memory(KG_FMT_LIBXC, 2, 0, "libxc v2");
    run_memory(KG_FMT_LIBXL, 3, 2, "libxl, 2 checkpoints");
    run_memory(KG_FMT_XL, 3, 0, "xl save image");
    run_pipe(KG_FMT_XL, 1);
    use_page_dest = 1;
    run_memory(KG_FMT_LIBXL, 3, 1, "libxl, pages placed by page_dest");
    run_pipe(KG_FMT_LIBXC, 2);  /* fd source: one readv per PAGE_DATA record */
    use_page_dest = 0;
    run_callback();
    writer_refusals();
    return tap_done();
}
