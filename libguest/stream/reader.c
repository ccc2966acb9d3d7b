/* reader.c - the validating stream reader: a pull parser over a source that walks the xl
 * preamble, the libxl layer and the inline libxc stream (including checkpoint hand-overs),
 * checking every header field, record length, padding byte, body and order rule before it
 * returns an item. Errors carry the byte offset, the record index and what is wrong. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kg_stream_int.h"

struct kg_stream_reader {
    struct kg_source *src;
    struct kg_stream_reader_opts opts;
    struct kg_order order;
    struct kg_stream_error err;
    struct kg_body_limits lim;
    struct kg_scratch scratch;
    uint8_t *body, *xlbuf;
    size_t body_cap;
    uint8_t peek[8];
    size_t peek_len, peek_pos;
    uint64_t off;
    int64_t index[3];
    int failed, finished;
};

int kg_stream_reader_new(struct kg_source *src, const struct kg_stream_reader_opts *opts,
                         struct kg_stream_reader **out)
{
    struct kg_stream_reader *r;

    if (!src || !out || (opts && opts->format > KG_FMT_AUTO))
        return -EINVAL;
    r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    if (opts)
        r->opts = *opts;
    if (!r->opts.max_record || r->opts.max_record > KG_REC_LENGTH_MAX)
        r->opts.max_record = KG_REC_LENGTH_MAX;
    if (!r->opts.max_xl_optional)
        r->opts.max_xl_optional = 16u << 20;
    r->lim = (struct kg_body_limits){ r->opts.max_pfn, r->opts.max_batch,
                                      r->opts.max_vcpus ? r->opts.max_vcpus : 4096, 0 };
    r->src = src;
    if (r->opts.format != KG_FMT_AUTO)
        kg_order_init(&r->order, r->opts.format, r->opts.flags & KG_READ_BACKCHANNEL);
    r->order.xen_order = r->opts.flags & KG_READ_XEN_ORDER;
    *out = r;
    return 0;
}

void kg_stream_reader_free(struct kg_stream_reader *r)
{
    if (!r)
        return;
    kg_scratch_free(&r->scratch);
    free(r->body);
    free(r->xlbuf);
    free(r);
}

const struct kg_stream_error *kg_stream_reader_error(const struct kg_stream_reader *r)
{
    return r ? &r->err : NULL;
}

enum kg_stream_format kg_stream_reader_format(const struct kg_stream_reader *r)
{
    return r->opts.format;
}

__attribute__((format(printf, 7, 8)))
static int fail(struct kg_stream_reader *r, int code, enum kg_layer layer, uint64_t off,
                int64_t index, uint32_t type, const char *fmt, ...)
{
    char what[224];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    kg_error_set(&r->err, code, layer, off, index, type, "%s", what);
    r->failed = 1;
    return code;
}

/* Read up to len bytes (peeked bytes first); returns count or -errno. */
static ssize_t rd(struct kg_stream_reader *r, void *buf, size_t len)
{
    size_t got = 0;
    ssize_t n;

    while (got < len && r->peek_pos < r->peek_len)
        ((uint8_t *)buf)[got++] = r->peek[r->peek_pos++];
    n = got < len ? kg_source_read(r->src, (uint8_t *)buf + got, len - got) : 0;
    if (n < 0)
        return n;
    got += (size_t)n;
    r->off += got;
    return (ssize_t)got;
}

/* Read exactly len bytes or fail with a truncation / I/O error describing what was due. */
static int rd_exact(struct kg_stream_reader *r, void *buf, size_t len, enum kg_layer layer,
                    uint64_t item_off, int64_t index, uint32_t type, const char *what)
{
    uint64_t at = r->off;
    ssize_t n = rd(r, buf, len);

    if (n < 0)
        return fail(r, (int)n, layer, item_off, index, type, "read error in %s: %s", what,
                    strerror((int)-n));
    if ((size_t)n < len)
        return fail(r, -ENODATA, layer, item_off, index, type,
                    "truncated: stream ends at offset %llu inside %s (%zd of %zu bytes)",
                    (unsigned long long)(at + (uint64_t)n), what, n, len);
    return 0;
}

static int detect(struct kg_stream_reader *r)
{
    static const uint8_t ff[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    ssize_t n = kg_source_read(r->src, r->peek, sizeof r->peek);
    enum kg_stream_format f;

    if (n < 0)
        return fail(r, (int)n, KG_LAYER_XL, 0, -1, 0, "read error: %s", strerror((int)-n));
    r->peek_len = (size_t)n;
    if (n == 8 && !memcmp(r->peek, kg_xl_magic, 8))
        f = KG_FMT_XL;
    else if (n == 8 && kg_be64(r->peek) == KG_LIBXL_IDENT)
        f = KG_FMT_LIBXL;
    else if (n == 8 && !memcmp(r->peek, ff, 8))
        f = KG_FMT_LIBXC;
    else if (n < 8)
        return fail(r, -ENODATA, KG_LAYER_XL, 0, -1, 0,
                    "truncated: %zd bytes are too few to identify the stream", n);
    else
        return fail(r, -EBADMSG, KG_LAYER_XL, 0, -1, 0,
                    "not an xl save file, libxl stream or libxc v2 image (first bytes "
                    "%02x%02x%02x%02x%02x%02x%02x%02x)", r->peek[0], r->peek[1], r->peek[2],
                    r->peek[3], r->peek[4], r->peek[5], r->peek[6], r->peek[7]);
    r->opts.format = f;
    kg_order_init(&r->order, f, r->opts.flags & KG_READ_BACKCHANNEL);
    r->order.xen_order = r->opts.flags & KG_READ_XEN_ORDER;
    return 0;
}

static int read_xl(struct kg_stream_reader *r, struct kg_stream_item *it)
{
    uint8_t fixed[KG_XL_HEADER_LEN];
    size_t need;
    char why[200];
    int rc = rd_exact(r, fixed, sizeof fixed, KG_LAYER_XL, 0, -1, 0, "the xl preamble");

    if (rc)
        return rc;
    rc = kg_xlhdr_parse(fixed, sizeof fixed, &it->u.xl, &need, why, sizeof why);
    if (rc == -EAGAIN) {
        if (need - KG_XL_HEADER_LEN > r->opts.max_xl_optional)
            return fail(r, -EFBIG, KG_LAYER_XL, 0, -1, 0, "optional data of %zu bytes exceeds "
                        "the limit %u", need - KG_XL_HEADER_LEN, r->opts.max_xl_optional);
        r->xlbuf = malloc(need);
        if (!r->xlbuf)
            return fail(r, -ENOMEM, KG_LAYER_XL, 0, -1, 0, "out of memory");
        memcpy(r->xlbuf, fixed, sizeof fixed);
        rc = rd_exact(r, r->xlbuf + sizeof fixed, need - sizeof fixed, KG_LAYER_XL, 0, -1, 0,
                      "the xl optional data");
        if (rc)
            return rc;
        rc = kg_xlhdr_parse(r->xlbuf, need, &it->u.xl, &need, why, sizeof why);
    }
    if (rc)
        return fail(r, rc, KG_LAYER_XL, 0, -1, 0, "%s", why);
    it->kind = KG_ITEM_XL_HEADER;
    it->layer = KG_LAYER_XL;
    it->size = need;
    r->order.stage = KG_STAGE_LIBXL_HDR;
    return 0;
}

static int read_libxl_hdr(struct kg_stream_reader *r, struct kg_stream_item *it)
{
    uint8_t h[KG_LIBXL_HDR_LEN];
    uint64_t at = r->off;
    int rc = rd_exact(r, h, sizeof h, KG_LAYER_LIBXL, at, -1, 0, "the libxl header");
    uint32_t ver = kg_be32(h + 8), opt = kg_be32(h + 12);

    if (rc)
        return rc;
    if (kg_be64(h) != KG_LIBXL_IDENT)
        return fail(r, -EBADMSG, KG_LAYER_LIBXL, at, -1, 0, "bad ident 0x%016llx, expected "
                    "0x%016llx (\"LibxlFmt\")", (unsigned long long)kg_be64(h),
                    (unsigned long long)KG_LIBXL_IDENT);
    if (ver != KG_LIBXL_VERSION)
        return fail(r, -ENOTSUP, KG_LAYER_LIBXL, at, -1, 0, "version %u, expected %u", ver,
                    KG_LIBXL_VERSION);
    if (opt & 0xfffffffcu)
        return fail(r, -EBADMSG, KG_LAYER_LIBXL, at, -1, 0, "reserved option bits 0x%x set",
                    opt & 0xfffffffcu);
    if (opt & 1)
        return fail(r, -ENOTSUP, KG_LAYER_LIBXL, at, -1, 0, "big-endian streams are not "
                    "supported");
    it->kind = KG_ITEM_LIBXL_HEADER;
    it->layer = KG_LAYER_LIBXL;
    it->offset = at;
    it->size = sizeof h;
    it->u.libxl.version = ver;
    it->u.libxl.options = opt;
    r->order.stage = KG_STAGE_LIBXL;
    return 0;
}

static int read_image_hdr(struct kg_stream_reader *r, struct kg_stream_item *it)
{
    uint8_t h[KG_IHDR_LEN];
    uint64_t at = r->off;
    int rc = rd_exact(r, h, sizeof h, KG_LAYER_LIBXC, at, -1, 0, "the image header");
    uint32_t ver = kg_be32(h + 12);
    uint16_t opt = kg_be16(h + 16);

    if (rc)
        return rc;
    if (kg_be64(h) != KG_IHDR_MARKER)
        return fail(r, -EBADMSG, KG_LAYER_LIBXC, at, -1, 0, "bad marker 0x%016llx (a legacy "
                    "pre-v2 image has zero bits here)", (unsigned long long)kg_be64(h));
    if (kg_be32(h + 8) != KG_IHDR_ID)
        return fail(r, -EBADMSG, KG_LAYER_LIBXC, at, -1, 0, "bad id 0x%08x, expected 0x%08x "
                    "(\"XENF\")", kg_be32(h + 8), KG_IHDR_ID);
    if (ver < 2 || ver > 3)
        return fail(r, -ENOTSUP, KG_LAYER_LIBXC, at, -1, 0, "image version %u, supported 2..3",
                    ver);
    if (opt & 0xfffe)
        return fail(r, -EBADMSG, KG_LAYER_LIBXC, at, -1, 0, "reserved option bits 0x%x set",
                    opt & 0xfffe);
    if (opt & 1)
        return fail(r, -ENOTSUP, KG_LAYER_LIBXC, at, -1, 0, "big-endian images are not "
                    "supported");
    if (kg_be16(h + 18) || kg_be32(h + 20))
        return fail(r, -EBADMSG, KG_LAYER_LIBXC, at, -1, 0, "reserved header fields not zero");
    it->kind = KG_ITEM_IMAGE_HEADER;
    it->layer = KG_LAYER_LIBXC;
    it->offset = at;
    it->size = sizeof h;
    it->u.image.version = ver;
    it->u.image.options = opt;
    kg_order_after_image(&r->order, ver);
    return 0;
}

static int read_domain_hdr(struct kg_stream_reader *r, struct kg_stream_item *it)
{
    uint8_t h[KG_DHDR_LEN];
    uint64_t at = r->off;
    int rc = rd_exact(r, h, sizeof h, KG_LAYER_LIBXC, at, -1, 0, "the domain header");
    uint32_t type = kg_le32(h);

    if (rc)
        return rc;
    if (type != KG_DOM_X86_PV && type != KG_DOM_X86_HVM)
        return fail(r, -ENOTSUP, KG_LAYER_LIBXC, at, -1, 0, "domain type %u (supported: 1 "
                    "x86 PV, 2 x86 HVM)", type);
    if (kg_le16(h + 4) != KG_PAGE_SHIFT)
        return fail(r, -EBADMSG, KG_LAYER_LIBXC, at, -1, 0, "page shift %u, expected %u",
                    kg_le16(h + 4), KG_PAGE_SHIFT);
    if (kg_le16(h + 6))
        return fail(r, -EBADMSG, KG_LAYER_LIBXC, at, -1, 0, "reserved field 0x%x not zero",
                    kg_le16(h + 6));
    it->kind = KG_ITEM_DOMAIN_HEADER;
    it->layer = KG_LAYER_LIBXC;
    it->offset = at;
    it->size = sizeof h;
    it->u.domain.type = type;
    it->u.domain.page_shift = KG_PAGE_SHIFT;
    it->u.domain.xen_major = kg_le32(h + 8);
    it->u.domain.xen_minor = kg_le32(h + 12);
    r->lim.dom_type = type;
    kg_order_after_domain(&r->order, type);
    return 0;
}

static int grow_body(struct kg_stream_reader *r, size_t need)
{
    if (need > r->body_cap) {
        uint8_t *b = realloc(r->body, need);

        if (!b)
            return -ENOMEM;
        r->body = b;
        r->body_cap = need;
    }
    return 0;
}

/* Body (plus padding) into r->body; padding must be zero. */
static int read_body(struct kg_stream_reader *r, enum kg_layer layer, uint64_t at,
                     uint32_t type, uint32_t len)
{
    uint32_t pad = kg_pad8(len);
    int64_t idx = r->index[layer];
    int rc;

    if (grow_body(r, (size_t)len + pad + 1))
        return fail(r, -ENOMEM, layer, at, idx, type, "out of memory for %u bytes", len);
    rc = rd_exact(r, r->body, (size_t)len + pad, layer, at, idx, type, "the record body");
    if (rc)
        return rc;
    for (uint32_t i = 0; i < pad; i++)
        if (r->body[len + i])
            return fail(r, -EBADMSG, layer, at, idx, type, "padding byte at offset %llu is "
                        "0x%02x, must be 0", (unsigned long long)(at + 8 + len + i),
                        r->body[len + i]);
    return 0;
}

static void fill_record(struct kg_stream_reader *r, enum kg_layer layer, uint64_t at,
                        uint32_t type, uint32_t len, int known, struct kg_stream_item *it)
{
    it->kind = KG_ITEM_RECORD;
    it->layer = layer;
    it->offset = at;
    it->size = 8 + (uint64_t)len + kg_pad8(len);
    it->index = r->index[layer];
    it->type = type;
    it->length = len;
    it->body = r->body;
    it->skipped = !known;
    r->index[layer]++;
}

/* Read the pages of a validated PAGE_DATA record straight to the caller's destinations. */
static int place_pages(struct kg_stream_reader *r, uint64_t at, int64_t idx,
                       struct kg_stream_item *it)
{
    uint32_t np = it->u.page_data.npages, k = 0;
    struct iovec *iov;
    ssize_t n;

    if (grow_body(r, 8 + 8 * (size_t)it->u.page_data.count + (size_t)np * sizeof *iov + 8))
        return fail(r, -ENOMEM, KG_LAYER_LIBXC, at, idx, KG_REC_PAGE_DATA, "out of memory");
    iov = (struct iovec *)(void *)(r->body + ((8 + 8 * (size_t)it->u.page_data.count + 7) & ~(size_t)7));
    for (uint32_t i = 0; i < it->u.page_data.count; i++) {
        uint64_t e = it->u.page_data.entries[i];
        void *dst;

        if (kg_pfn_type_has_data(KG_PFN_TYPE(e)) != 1)
            continue;
        dst = r->opts.page_dest(r->opts.page_opaque, KG_PFN(e), KG_PFN_TYPE(e));
        if (!dst)
            return fail(r, -ERANGE, KG_LAYER_LIBXC, at, idx, KG_REC_PAGE_DATA,
                        "page destination refused pfn[%u] = 0x%llx", i,
                        (unsigned long long)KG_PFN(e));
        iov[k++] = (struct iovec){ dst, KG_PAGE_SIZE };
    }
    n = kg_source_readv(r->src, iov, (int)np);
    if (n > 0)
        r->off += (uint64_t)n;
    if (n < 0)
        return fail(r, (int)n, KG_LAYER_LIBXC, at, idx, KG_REC_PAGE_DATA, "read error: %s",
                    strerror((int)-n));
    if ((size_t)n < (size_t)np * KG_PAGE_SIZE)
        return fail(r, -ENODATA, KG_LAYER_LIBXC, at, idx, KG_REC_PAGE_DATA, "truncated: stream "
                    "ends at offset %llu inside the page contents (%zd of %zu bytes)",
                    (unsigned long long)r->off, n, (size_t)np * KG_PAGE_SIZE);
    it->u.page_data.pages = NULL;
    return 0;
}

/* PAGE_DATA with opts.page_dest: header and pfns into the body buffer, validated (body and
 * order) before a single page byte is placed. */
static int read_pages_direct(struct kg_stream_reader *r, uint64_t at, uint32_t len,
                             struct kg_stream_item *it)
{
    int64_t idx = r->index[KG_LAYER_LIBXC];
    uint32_t count, maxb = r->opts.max_batch ? r->opts.max_batch : KG_MAX_BATCH, np;
    uint64_t *entries, need;
    char why[224];
    int rc;

    if (grow_body(r, 16))
        return fail(r, -ENOMEM, KG_LAYER_LIBXC, at, idx, KG_REC_PAGE_DATA, "out of memory");
    rc = rd_exact(r, r->body, len < 8 ? len : 8, KG_LAYER_LIBXC, at, idx, KG_REC_PAGE_DATA,
                  "the record body");
    if (rc)
        return rc;
    count = len < 8 ? 0 : kg_le32(r->body);
    if (len >= 8 && count && count <= maxb && 8 + 8 * (uint64_t)count <= len) {
        if (grow_body(r, 8 + 8 * (size_t)count + 8))
            return fail(r, -ENOMEM, KG_LAYER_LIBXC, at, idx, KG_REC_PAGE_DATA, "out of memory");
        rc = rd_exact(r, r->body + 8, 8 * (size_t)count, KG_LAYER_LIBXC, at, idx,
                      KG_REC_PAGE_DATA, "the record body");
        if (rc)
            return rc;
    }
    /* Fails here without touching pfns unless they were read above. */
    need = 8 + 8 * (uint64_t)count;
    rc = kg_check_page_batch(&r->lim, r->body, (uint32_t)(need <= len ? need : len), &entries,
                             &np, &r->scratch, why, sizeof why);
    if (!rc && (uint64_t)len != 8 + 8 * (uint64_t)count + (uint64_t)np * KG_PAGE_SIZE) {
        snprintf(why, sizeof why, "PAGE_DATA length %u, expected %llu for %u pfns with %u pages "
                 "of data", len, (unsigned long long)(8 + 8 * (uint64_t)count + (uint64_t)np * KG_PAGE_SIZE),
                 count, np);
        rc = -EBADMSG;
    }
    if (!rc)
        rc = kg_order_libxc(&r->order, KG_REC_PAGE_DATA, why, sizeof why);
    if (rc)
        return fail(r, rc, KG_LAYER_LIBXC, at, idx, KG_REC_PAGE_DATA, "%s", why);
    it->u.page_data.count = count;
    it->u.page_data.npages = np;
    it->u.page_data.entries = entries;
    if (r->opts.flags & KG_READ_PAGE_OFFSETS) {     /* lazy restore: the pages stay where they are */
        it->u.page_data.data_offset = r->off;
        it->u.page_data.pages = NULL;
        rc = kg_source_skip(r->src, (uint64_t)np * KG_PAGE_SIZE);
        if (rc)
            return fail(r, rc, KG_LAYER_LIBXC, at, idx, KG_REC_PAGE_DATA, "passing over the "
                        "page contents: %s", strerror(-rc));
        r->off += (uint64_t)np * KG_PAGE_SIZE;
    } else {
        rc = place_pages(r, at, idx, it);
    }
    if (rc)
        return rc;
    fill_record(r, KG_LAYER_LIBXC, at, KG_REC_PAGE_DATA, len, 1, it);
    return 0;
}

static int read_record(struct kg_stream_reader *r, enum kg_layer layer,
                       struct kg_stream_item *it)
{
    uint64_t at = r->off;
    int64_t idx = r->index[layer];
    bool known;
    uint8_t h[8];
    uint32_t type, len;
    char why[224];
    int rc = rd_exact(r, h, 8, layer, at, idx, 0, "a record header");

    if (rc)
        return rc;
    type = kg_le32(h);
    len = kg_le32(h + 4);
    known = layer == KG_LAYER_LIBXC ? kg_rec_known(type) : kg_xlrec_known(type);
    if (len > r->opts.max_record)
        return fail(r, -EFBIG, layer, at, idx, type, "body length %u exceeds the limit %u",
                    len, r->opts.max_record);
    if (!known && !(type & KG_REC_OPTIONAL))
        return fail(r, -EBADMSG, layer, at, idx, type, "unknown mandatory record type 0x%x",
                    type);
    if (layer == KG_LAYER_LIBXC && type == KG_REC_PAGE_DATA &&
        (r->opts.page_dest || (r->opts.flags & KG_READ_PAGE_OFFSETS)))
        return read_pages_direct(r, at, len, it);
    rc = read_body(r, layer, at, type, len);
    if (rc)
        return rc;
    if (known)
        rc = layer == KG_LAYER_LIBXC
                 ? kg_check_libxc_body(&r->lim, type, r->body, len, it, &r->scratch, why,
                                       sizeof why)
                 : kg_check_libxl_body(type, r->body, len, it, why, sizeof why);
    if (rc)
        return fail(r, rc, layer, at, idx, type, "%s", why);
    rc = layer == KG_LAYER_LIBXC ? kg_order_libxc(&r->order, type, why, sizeof why)
                                 : kg_order_libxl(&r->order, type, why, sizeof why);
    if (rc)
        return fail(r, rc, layer, at, idx, type, "%s", why);
    fill_record(r, layer, at, type, len, known, it);
    return 0;
}

int kg_stream_read(struct kg_stream_reader *r, struct kg_stream_item *it)
{
    int rc;

    if (!r || !it)
        return -EINVAL;
    if (r->failed)
        return r->err.code;
    memset(it, 0, sizeof *it);
    it->index = -1;
    it->offset = r->off;
    if (r->opts.format == KG_FMT_AUTO && (rc = detect(r)))
        return rc;
    switch (r->order.stage) {
    case KG_STAGE_XL_HDR: return read_xl(r, it);
    case KG_STAGE_LIBXL_HDR: return read_libxl_hdr(r, it);
    case KG_STAGE_IMAGE_HDR: return read_image_hdr(r, it);
    case KG_STAGE_DOMAIN_HDR: return read_domain_hdr(r, it);
    case KG_STAGE_LIBXC: return read_record(r, KG_LAYER_LIBXC, it);
    case KG_STAGE_LIBXL: return read_record(r, KG_LAYER_LIBXL, it);
    default: return 1;
    }
}

int kg_stream_reader_expect_eof(struct kg_stream_reader *r)
{
    uint8_t b;
    ssize_t n;

    if (!r)
        return -EINVAL;
    if (r->failed)
        return r->err.code;
    if (r->order.stage != KG_STAGE_DONE)
        return fail(r, -EPROTO, kg_order_layer(&r->order), r->off, -1, 0,
                    "stream not finished");
    n = rd(r, &b, 1);
    if (n < 0)
        return fail(r, (int)n, kg_order_layer(&r->order), r->off, -1, 0, "read error: %s",
                    strerror((int)-n));
    if (n > 0)
        return fail(r, -EBADMSG, kg_order_layer(&r->order), r->off - 1, -1, 0,
                    "trailing data after the final END");
    return 0;
}
