/* test-errors.c - every reader error path: truncation at every byte, oversized records,
 * reordered records, bad magic / version / options / padding, bad bodies, pfns out of range,
 * broken HVM context blobs and libxl-layer violations each give the expected errno, the byte
 * offset of the record at fault and a message saying what is wrong. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kg_stream.h"
#include "tap.h"
#include "testlib.h"

static struct kg_stream_reader_opts opts;
static uint8_t guestmem[64 * KG_PAGE_SIZE];

/* page_dest for tests: places pfns < 64, refuses the rest. */
static void *place(void *opaque, uint64_t pfn, unsigned type)
{
    (void)opaque;
    (void)type;
    return pfn < 64 ? guestmem + pfn * KG_PAGE_SIZE : NULL;
}

/* Read to the end; returns the final rc and copies the error. */
static int read_all(const uint8_t *b, size_t len, struct kg_stream_error *err)
{
    struct kg_source *src;
    struct kg_stream_reader *r;
    struct kg_stream_item it;
    int rc;

    kg_source_new_memory(b, len, &src);
    kg_stream_reader_new(src, &opts, &r);
    while ((rc = kg_stream_read(r, &it)) == 0)
        ;
    if (rc == 1)
        rc = kg_stream_reader_expect_eof(r);
    *err = *kg_stream_reader_error(r);
    kg_stream_reader_free(r);
    kg_source_free(src);
    return rc;
}

/* want_off < 0: do not check the offset. */
static void expect(struct tl_buf *s, int want, long long want_off, const char *needle,
                   const char *what)
{
    struct kg_stream_error e;
    int rc = read_all(s->b, s->len, &e);
    int ok = rc == want && (want_off < 0 || e.offset == (uint64_t)want_off) &&
             strstr(e.msg, needle) != NULL;

    if (!ok)
        tap_diag("rc %d want %d, offset %llu want %lld: %s", rc, want,
                 (unsigned long long)e.offset, want_off, e.msg);
    tap_ok(ok, "%s -> %s at offset %lld", what, strerror(-want), want_off);
    free(s->b);
    memset(s, 0, sizeof *s);
}

static void valid_streams(void)
{
    struct tl_buf s = { 0 };
    struct kg_stream_error e;

    tl_libxc_minimal(&s);
    tap_ok(read_all(s.b, s.len, &e) == 0, "the hand-built minimal stream is valid");
    free(s.b);
}

static void truncation(void)
{
    struct tl_buf s = { 0 };
    struct kg_stream_error e;
    size_t bad = 0;

    tl_libxc_minimal(&s);
    for (size_t n = 0; n < s.len; n++) {
        int rc = read_all(s.b, n, &e);
        if (rc != -ENODATA || !strstr(e.msg, "truncated") || e.offset > n)
            bad++;
    }
    tap_ok(bad == 0, "truncating a %zu-byte stream at every length gives ENODATA with an "
           "offset no later than the cut (%zu failures)", s.len, bad);
    e.msg[0] = 0;
    read_all(s.b, s.len - 8, &e);  /* END record header missing */
    tap_ok(e.offset == s.len - 8 && strstr(e.msg, "record header"),
           "cut before the END record names the offset where its header was due");
    opts.page_dest = place;
    bad = 0;
    for (size_t n = 0; n < s.len; n++) {
        int rc = read_all(s.b, n, &e);
        if (rc != -ENODATA || !strstr(e.msg, "truncated") || e.offset > n)
            bad++;
    }
    tap_ok(bad == 0, "the same with pages placed by page_dest (%zu failures)", bad);
    tap_ok(read_all(s.b, s.len, &e) == 0 && guestmem[KG_PAGE_SIZE + 9] ==
           (uint8_t)((1 * 0x100000001b3ull ^ 8) >> 8), "page_dest receives the page contents");
    opts.page_dest = NULL;
    free(s.b);
}

static void headers(void)
{
    struct tl_buf s = { 0 };

    opts.format = KG_FMT_LIBXC;
    tl_image_hdr(&s, 0x0000000100000000ull, 0x58454E46u, 3, 0);
    expect(&s, -EBADMSG, 0, "bad marker", "legacy image marker");
    tl_image_hdr(&s, ~0ull, 0x58454E47u, 3, 0);
    expect(&s, -EBADMSG, 0, "bad id", "wrong image id");
    tl_image_hdr(&s, ~0ull, 0x58454E46u, 1, 0);
    expect(&s, -ENOTSUP, 0, "image version 1", "image version 1");
    tl_image_hdr(&s, ~0ull, 0x58454E46u, 4, 0);
    expect(&s, -ENOTSUP, 0, "image version 4", "image version 4");
    tl_image_hdr(&s, ~0ull, 0x58454E46u, 3, 1);
    expect(&s, -ENOTSUP, 0, "big-endian", "big-endian option bit");
    tl_image_hdr(&s, ~0ull, 0x58454E46u, 3, 4);
    expect(&s, -EBADMSG, 0, "reserved option bits", "reserved option bit");
    tl_image_hdr(&s, ~0ull, 0x58454E46u, 3, 0);
    tl_domain_hdr(&s, 3, 12);
    expect(&s, -ENOTSUP, 24, "domain type 3", "unknown domain type");
    tl_image_hdr(&s, ~0ull, 0x58454E46u, 3, 0);
    tl_domain_hdr(&s, KG_DOM_X86_HVM, 16);
    expect(&s, -EBADMSG, 24, "page shift 16", "64 KiB pages");
    opts.format = KG_FMT_AUTO;
    tl_put(&s, "GARBAGE!GARBAGE!", 16);
    expect(&s, -EBADMSG, 0, "not an xl save file", "unrecognisable stream");
}

static void records(void)
{
    struct tl_buf s = { 0 };
    size_t at;
    uint8_t body[40] = { 0 };

    tl_libxc_start(&s);
    at = s.len;
    tl_u32le(&s, KG_REC_PAGE_DATA);
    tl_u32le(&s, KG_REC_LENGTH_MAX + 1);
    expect(&s, -EFBIG, (long long)at, "exceeds the limit", "record longer than 128 MiB");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec_pad(&s, KG_REC_X86_TSC_INFO, body, 20, 0x01);
    expect(&s, -EBADMSG, (long long)at, "padding byte", "non-zero padding");

    tl_libxc_start(&s);
    at = tl_rec(&s, 0x42, NULL, 0);
    expect(&s, -EBADMSG, (long long)at, "unknown mandatory record type 0x42", "unknown mandatory");

    tl_libxc_start(&s);
    at = tl_rec(&s, KG_REC_STATIC_DATA_END, body, 8);
    expect(&s, -EBADMSG, (long long)at, "must be 0 bytes", "STATIC_DATA_END with a body");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec(&s, KG_REC_X86_TSC_INFO, body, 16);
    expect(&s, -EBADMSG, (long long)at, "must be 24 bytes", "short TSC_INFO");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    body[0] = 3;  /* count 3, but only 1 entry */
    at = tl_rec(&s, KG_REC_HVM_PARAMS, body, 24);
    expect(&s, -EBADMSG, (long long)at, "expected 56", "HVM_PARAMS count/length mismatch");
    memset(body, 0, sizeof body);

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec(&s, KG_REC_TOOLSTACK, body, 8);
    expect(&s, -EBADMSG, (long long)at, "deprecated", "TOOLSTACK record");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec(&s, KG_REC_CHECKPOINT_DIRTY_PFN_LIST, body, 8);
    expect(&s, -EPROTO, (long long)at, "back channel", "dirty pfn list in the forward stream");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec(&s, KG_REC_X86_PV_INFO, body, 8);
    expect(&s, -EBADMSG, (long long)at, "guest width 0", "PV_INFO with width 0");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    body[0] = 8;
    body[1] = 4;
    at = tl_rec(&s, KG_REC_X86_PV_INFO, body, 8);
    expect(&s, -EPROTO, (long long)at, "not valid in an x86 HVM stream", "PV record in an HVM stream");
    memset(body, 0, sizeof body);

    /* Unknown optional records are skipped. */
    tl_libxc_start(&s);
    tl_rec(&s, 0x80000123u, body, 5);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_rec_params(&s);
    tl_rec_context(&s, 2);
    at = tl_rec(&s, KG_REC_END, NULL, 0);
    tl_put(&s, "x", 1);
    expect(&s, -EBADMSG, (long long)at + 8, "trailing data", "unknown optional record skipped, "
           "then a byte after END");
}

static void page_data(void)
{
    struct tl_buf s = { 0 }, b = { 0 };
    size_t at;

    opts.page_dest = place;
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec_pages(&s, 63, 2);
    expect(&s, -ERANGE, (long long)at, "page destination refused pfn[1] = 0x40",
           "page_dest refusing a pfn");
    tl_libxc_start(&s);
    at = tl_rec_pages(&s, 0, 1);
    memset(guestmem, 0x5a, KG_PAGE_SIZE);
    expect(&s, -EPROTO, (long long)at, "PAGE_DATA before STATIC_DATA_END", "misordered PAGE_DATA "
           "with page_dest");
    tap_ok(guestmem[0] == 0x5a && guestmem[KG_PAGE_SIZE - 1] == 0x5a,
           "a misordered PAGE_DATA places no page byte");
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_u32le(&s, KG_REC_PAGE_DATA);
    at = s.len - 4;
    tl_u32le(&s, 8 + 8 * 2000);
    tl_u32le(&s, 2000);
    tl_u32le(&s, 0);
    expect(&s, -EFBIG, (long long)at, "exceeds the batch limit", "oversized batch with page_dest");
    opts.page_dest = NULL;

    opts.max_pfn = 0x1000;
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec_pages(&s, 0x1000, 2);
    expect(&s, -ERANGE, (long long)at, "pfn[1] = 0x1001 is beyond the maximum pfn 0x1000",
           "pfn beyond the caller's maximum");
    opts.max_pfn = 0;

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_u32le(&b, 0);
    tl_u32le(&b, 0);
    at = tl_rec(&s, KG_REC_PAGE_DATA, b.b, 8);
    expect(&s, -EBADMSG, (long long)at, "count is 0", "PAGE_DATA with count 0");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    b.len = 0;
    tl_u32le(&b, KG_MAX_BATCH + 1);
    tl_u32le(&b, 0);
    for (unsigned i = 0; i <= KG_MAX_BATCH; i++)
        tl_u64le(&b, ((uint64_t)KG_PFINFO_XTAB << 60) | i);
    at = tl_rec(&s, KG_REC_PAGE_DATA, b.b, (uint32_t)b.len);
    expect(&s, -EFBIG, (long long)at, "exceeds the batch limit 1024", "PAGE_DATA of 1025 pfns");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    b.len = 0;
    tl_u32le(&b, 1);
    tl_u32le(&b, 0);
    tl_u64le(&b, 7);  /* NOTAB but no page follows */
    at = tl_rec(&s, KG_REC_PAGE_DATA, b.b, (uint32_t)b.len);
    expect(&s, -EBADMSG, (long long)at, "expected 4112", "PAGE_DATA missing its page contents");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    b.len = 0;
    tl_u32le(&b, 1);
    tl_u32le(&b, 0);
    tl_u64le(&b, (1ull << 55) | 7);
    at = tl_rec(&s, KG_REC_PAGE_DATA, b.b, (uint32_t)b.len);
    expect(&s, -EBADMSG, (long long)at, "reserved bits 52-59", "pfn with reserved bits");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    b.len = 0;
    tl_u32le(&b, 1);
    tl_u32le(&b, 0);
    tl_u64le(&b, (6ull << 60) | 7);
    at = tl_rec(&s, KG_REC_PAGE_DATA, b.b, (uint32_t)b.len);
    expect(&s, -EBADMSG, (long long)at, "reserved page type 0x6", "pfn with a reserved type");

    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    b.len = 0;
    tl_u32le(&b, 1);
    tl_u32le(&b, 0);
    tl_u64le(&b, (1ull << 60) | 7);
    at = tl_rec(&s, KG_REC_PAGE_DATA, b.b, (uint32_t)b.len);
    expect(&s, -EBADMSG, (long long)at, "only valid for PV", "page-table page in an HVM stream");
    free(b.b);
}

static void order(void)
{
    struct tl_buf s = { 0 };
    size_t at;

    tl_libxc_start(&s);
    at = tl_rec_pages(&s, 0, 1);
    expect(&s, -EPROTO, (long long)at, "PAGE_DATA before STATIC_DATA_END", "memory before "
           "STATIC_DATA_END in v3");
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    expect(&s, -EPROTO, (long long)at, "second STATIC_DATA_END", "STATIC_DATA_END twice");
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec(&s, KG_REC_X86_CPUID_POLICY, NULL, 0);
    expect(&s, -EPROTO, (long long)at, "after STATIC_DATA_END", "CPUID policy after "
           "STATIC_DATA_END");
    tl_image_hdr(&s, ~0ull, 0x58454E46u, 2, 0);
    tl_domain_hdr(&s, KG_DOM_X86_HVM, 12);
    at = tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    expect(&s, -EPROTO, (long long)at, "not valid in a version 2", "STATIC_DATA_END in v2");
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    at = tl_rec_context(&s, 1);
    expect(&s, -EPROTO, (long long)at, "HVM_CONTEXT before HVM_PARAMS", "context before params");
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_rec_params(&s);
    tl_rec_context(&s, 1);
    at = tl_rec_params(&s);
    expect(&s, -EPROTO, (long long)at, "HVM_PARAMS after HVM_CONTEXT", "params after context");
    /* Xen's saver order: TSC, HVM_CONTEXT, HVM_PARAMS - accepted only with KG_READ_XEN_ORDER. */
    opts.flags = KG_READ_XEN_ORDER;
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_rec_pages(&s, 0, 1);
    tl_rec_context(&s, 2);
    tl_rec_params(&s);
    tl_rec(&s, KG_REC_END, NULL, 0);
    expect(&s, 0, -1, "", "Xen's own order (context, then params) with KG_READ_XEN_ORDER");
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_rec_context(&s, 2);
    tl_rec_params(&s);
    at = tl_rec_params(&s);
    expect(&s, -EPROTO, (long long)at, "second HVM_PARAMS", "KG_READ_XEN_ORDER still allows one "
           "HVM_PARAMS per section");
    opts.flags = 0;
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_rec_pages(&s, 0, 1);
    at = tl_rec(&s, KG_REC_END, NULL, 0);
    expect(&s, -EPROTO, (long long)at, "without vCPU state", "END without HVM_CONTEXT");
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_rec_params(&s);
    tl_rec_context(&s, 1);
    tl_rec(&s, KG_REC_CHECKPOINT, NULL, 0);
    tl_rec_pages(&s, 0, 1);
    at = tl_rec(&s, KG_REC_CHECKPOINT, NULL, 0);
    expect(&s, -EPROTO, (long long)at, "since the last CHECKPOINT", "checkpoint without new "
           "vCPU state");
}

static void hvm_context(void)
{
    struct tl_buf s = { 0 };
    size_t len = kg_hvmctx_size(2), at;
    uint8_t *blob = malloc(len + 8);
    struct kg_vcpu_regs r[2];
    uint32_t ids[2] = { 0, 0 };

    memset(r, 0, sizeof r);
#define CASE(mutation, code, needle, what)                                                    \
    do {                                                                                      \
        kg_hvmctx_encode(NULL, r, NULL, 2, blob, len);                                        \
        mutation;                                                                             \
        tl_libxc_start(&s);                                                                   \
        tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);                                          \
        tl_rec_params(&s);                                                                    \
        at = tl_rec(&s, KG_REC_HVM_CONTEXT, blob, (uint32_t)blob_len);                        \
        expect(&s, code, (long long)at, needle, what);                                        \
    } while (0)
    size_t blob_len = len;
    CASE(blob[8] ^= 1, -EBADMSG, "save header magic", "HVM save header with a bad magic");
    CASE(blob[12] = 2, -EBADMSG, "save header version 2", "HVM save header version 2");
    CASE(blob[0] = 2, -EBADMSG, "expected the 24-byte HEADER", "blob not starting with HEADER");
    CASE(blob[32 + 5] = 0, -EBADMSG, "has length 8", "CPU record of the wrong size");
    CASE(kg_hvmctx_encode(NULL, r, ids, 2, blob, len), -EBADMSG, "second CPU record for vCPU 0",
         "two CPU records for one vCPU");
    ids[1] = 5000;
    CASE(kg_hvmctx_encode(NULL, r, ids, 2, blob, len), -ERANGE, "limit is 4096",
         "CPU record for a vCPU beyond the limit");
    blob_len = len - 8;
    CASE((void)0, -EBADMSG, "without an END descriptor", "blob without the END descriptor");
    blob_len = len + 8;
    CASE(memset(blob + len, 0, 8), -EBADMSG, "8 bytes follow the END", "bytes after END");
    blob_len = len;
    CASE(blob[32 + 6] = 0xff, -EBADMSG, "claims", "descriptor longer than the blob");
#undef CASE
    free(blob);
}

static void libxl_layer(void)
{
    struct tl_buf s = { 0 };
    uint8_t xs[24] = { 2, 0, 0, 0, 0, 0, 0, 0, 'k', 'e', 'y', 0, 'v', 0 };
    size_t at;

    opts.format = KG_FMT_LIBXL;
    tl_u64be(&s, 0x4c6962786c466d75ull);
    tl_u32be(&s, 2);
    tl_u32be(&s, 0);
    expect(&s, -EBADMSG, 0, "bad ident", "libxl header with a bad ident");
    tl_u64be(&s, 0x4c6962786c466d74ull);
    tl_u32be(&s, 1);
    tl_u32be(&s, 0);
    expect(&s, -ENOTSUP, 0, "version 1", "libxl version 1");
    tl_u64be(&s, 0x4c6962786c466d74ull);
    tl_u32be(&s, 2);
    tl_u32be(&s, 8);
    expect(&s, -EBADMSG, 0, "reserved option bits", "libxl reserved option bit");
#define LIBXL_HDR() do { tl_u64be(&s, 0x4c6962786c466d74ull); tl_u32be(&s, 2); tl_u32be(&s, 0); } while (0)
    LIBXL_HDR();
    at = tl_rec(&s, KG_XLREC_END, NULL, 0);
    expect(&s, -EPROTO, (long long)at, "END before LIBXC_CONTEXT", "libxl END with no domain");
    LIBXL_HDR();
    at = tl_rec(&s, KG_XLREC_CHECKPOINT_END, NULL, 0);
    expect(&s, -EPROTO, (long long)at, "without a preceding libxc CHECKPOINT", "stray "
           "CHECKPOINT_END");
    LIBXL_HDR();
    at = tl_rec(&s, KG_XLREC_EMULATOR_XENSTORE_DATA, xs, 13);
    expect(&s, -EBADMSG, (long long)at, "does not end with a NUL", "xenstore data without NUL");
    LIBXL_HDR();
    at = tl_rec(&s, KG_XLREC_EMULATOR_XENSTORE_DATA, xs, 12);
    expect(&s, -EBADMSG, (long long)at, "key without a value", "xenstore key without value");
    xs[0] = 9;
    LIBXL_HDR();
    at = tl_rec(&s, KG_XLREC_EMULATOR_CONTEXT, xs, 8);
    expect(&s, -EBADMSG, (long long)at, "unknown emulator id 9", "unknown emulator");
    LIBXL_HDR();
    tl_rec(&s, KG_XLREC_LIBXC_CONTEXT, NULL, 0);
    tl_libxc_start(&s);
    tl_rec(&s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_rec_params(&s);
    tl_rec_context(&s, 1);
    tl_rec(&s, KG_REC_CHECKPOINT, NULL, 0);
    at = tl_rec(&s, KG_XLREC_END, NULL, 0);
    expect(&s, -EPROTO, (long long)at, "END inside a checkpoint", "libxl END inside a checkpoint");
    LIBXL_HDR();
    tl_rec(&s, KG_XLREC_LIBXC_CONTEXT, NULL, 0);
    at = s.len;
    tl_libxc_minimal(&s);
    tl_rec(&s, KG_XLREC_LIBXC_CONTEXT, NULL, 0);
    at = s.len - 8;
    expect(&s, -EPROTO, (long long)at, "second LIBXC_CONTEXT", "LIBXC_CONTEXT twice");
    LIBXL_HDR();
    tl_rec(&s, KG_XLREC_LIBXC_CONTEXT, NULL, 0);
    tl_libxc_minimal(&s);
    tl_rec(&s, KG_XLREC_END, NULL, 0);
    expect(&s, 0, -1, "", "a complete libxl stream is accepted");
    opts.format = KG_FMT_AUTO;
}

int main(void)
{
    opts.format = KG_FMT_AUTO;
    valid_streams();
    truncation();
    headers();
    records();
    page_data();
    order();
    hvm_context();
    libxl_layer();
    return tap_done();
}
