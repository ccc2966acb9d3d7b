/* writer.c - writes migration v2 streams (xl preamble, libxl layer, libxc layer) to a sink.
 * Every record passes the same order and body checks the reader applies, so a stream this
 * writer accepted is a stream the reader accepts. Page contents go to the sink by reference
 * (one iovec per page), never copied. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kg_stream_int.h"

struct kg_stream_writer {
    struct kg_sink *sink;
    struct kg_stream_writer_opts opts;
    struct kg_order order;
    struct kg_stream_error err;
    struct kg_body_limits lim;
    struct kg_scratch scratch;
    int64_t index[3];
    int failed;
    uint8_t *pd_hdr;        /* PAGE_DATA header + pfn array */
    struct iovec *pd_iov;   /* record header/pfns + one per page */
};

static const uint8_t zeros[8];

int kg_stream_writer_new(struct kg_sink *sink, const struct kg_stream_writer_opts *opts,
                         struct kg_stream_writer **out)
{
    struct kg_stream_writer *w;

    if (!sink || !out || (opts && opts->format > KG_FMT_XL))
        return -EINVAL;
    w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    if (opts)
        w->opts = *opts;
    if (!w->opts.version)
        w->opts.version = 3;
    if (!w->opts.dom_type)
        w->opts.dom_type = KG_DOM_X86_HVM;
    if (!w->opts.xen_major) {
        w->opts.xen_major = 4;
        w->opts.xen_minor = 21;
    }
    w->pd_hdr = malloc(16 + 8 * KG_MAX_BATCH);
    w->pd_iov = malloc((KG_MAX_BATCH + 3) * sizeof *w->pd_iov); /* hdr, pfns, pages, pad */
    if ((w->opts.version != 2 && w->opts.version != 3) ||
        (w->opts.dom_type != KG_DOM_X86_HVM && w->opts.dom_type != KG_DOM_X86_PV) ||
        !w->pd_hdr || !w->pd_iov) {
        int rc = w->pd_hdr && w->pd_iov ? -EINVAL : -ENOMEM;

        kg_stream_writer_free(w);
        return rc;
    }
    w->sink = sink;
    w->lim = (struct kg_body_limits){ w->opts.max_pfn, KG_MAX_BATCH, 65536, w->opts.dom_type };
    kg_order_init(&w->order, w->opts.format, w->opts.flags & KG_WRITE_BACKCHANNEL);
    *out = w;
    return 0;
}

void kg_stream_writer_free(struct kg_stream_writer *w)
{
    if (!w)
        return;
    kg_scratch_free(&w->scratch);
    free(w->pd_hdr);
    free(w->pd_iov);
    free(w);
}

const struct kg_stream_error *kg_stream_writer_error(const struct kg_stream_writer *w)
{
    return w ? &w->err : NULL;
}

uint64_t kg_stream_writer_offset(const struct kg_stream_writer *w)
{
    return w ? kg_sink_offset(w->sink) : 0;
}

__attribute__((format(printf, 6, 7)))
static int fail(struct kg_stream_writer *w, int code, enum kg_layer layer, int64_t index,
                uint32_t type, const char *fmt, ...)
{
    char what[224];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    kg_error_set(&w->err, code, layer, kg_sink_offset(w->sink), index, type, "%s", what);
    return code;
}

static int sink_write(struct kg_stream_writer *w, const struct iovec *iov, int cnt,
                      enum kg_layer layer, int64_t index, uint32_t type)
{
    int rc = kg_sink_write(w->sink, iov, cnt);

    if (rc) {
        w->failed = 1;
        return fail(w, rc, layer, index, type, "write failed: %s", strerror(-rc));
    }
    return 0;
}

/* Order-check, then write header + body parts + padding. The body parts add up to len. */
static int put_record(struct kg_stream_writer *w, enum kg_layer layer, uint32_t type,
                      struct iovec *iov, int cnt, uint32_t len)
{
    char why[200];
    uint8_t hdr[8];
    int64_t idx = w->index[layer];
    int rc;

    if (w->failed)
        return -EIO;
    rc = layer == KG_LAYER_LIBXC ? kg_order_libxc(&w->order, type, why, sizeof why)
                                 : kg_order_libxl(&w->order, type, why, sizeof why);
    if (rc)
        return fail(w, rc, layer, idx, type, "refusing to write: %s", why);
    kg_put_le32(hdr, type);
    kg_put_le32(hdr + 4, len);
    iov[0] = (struct iovec){ hdr, 8 };
    iov[cnt] = (struct iovec){ (void *)zeros, kg_pad8(len) };
    rc = sink_write(w, iov, cnt + 1, layer, idx, type);
    if (rc == 0)
        w->index[layer]++;
    return rc;
}

/* A record with a contiguous body, checked with the reader's body rules first. */
static int put_simple(struct kg_stream_writer *w, enum kg_layer layer, uint32_t type,
                      const void *body, size_t len)
{
    struct kg_stream_item it;
    struct iovec iov[3];
    char why[224];
    int rc;

    if (len > KG_REC_LENGTH_MAX)
        return fail(w, -EFBIG, layer, w->index[layer], type,
                    "body of %zu bytes exceeds the record limit", len);
    rc = layer == KG_LAYER_LIBXC
             ? kg_check_libxc_body(&w->lim, type, body, (uint32_t)len, &it, &w->scratch, why,
                                   sizeof why)
             : kg_check_libxl_body(type, body, (uint32_t)len, &it, why, sizeof why);
    if (rc)
        return fail(w, rc, layer, w->index[layer], type, "refusing to write: %s", why);
    iov[1] = (struct iovec){ (void *)body, len };
    return put_record(w, layer, type, iov, len ? 2 : 1, (uint32_t)len);
}

static int put_libxc_headers(struct kg_stream_writer *w)
{
    uint8_t h[KG_IHDR_LEN + KG_DHDR_LEN];
    struct iovec iov = { h, sizeof h };
    int rc;

    kg_put_be64(h, KG_IHDR_MARKER);
    kg_put_be32(h + 8, KG_IHDR_ID);
    kg_put_be32(h + 12, w->opts.version);
    kg_put_be16(h + 16, 0);  /* options: little endian */
    kg_put_be16(h + 18, 0);
    kg_put_be32(h + 20, 0);
    kg_put_le32(h + 24, w->opts.dom_type);
    kg_put_le16(h + 28, KG_PAGE_SHIFT);
    kg_put_le16(h + 30, 0);
    kg_put_le32(h + 32, w->opts.xen_major);
    kg_put_le32(h + 36, w->opts.xen_minor);
    rc = sink_write(w, &iov, 1, KG_LAYER_LIBXC, -1, 0);
    if (rc == 0) {
        kg_order_after_image(&w->order, w->opts.version);
        kg_order_after_domain(&w->order, w->opts.dom_type);
    }
    return rc;
}

static int put_xl_preamble(struct kg_stream_writer *w)
{
    struct iovec iov;
    uint8_t *p;
    size_t len;
    int rc = kg_xlhdr_encode(w->opts.xl_config, &p, &len);

    if (rc)
        return fail(w, rc, KG_LAYER_XL, -1, 0, "cannot encode the xl preamble");
    if (w->opts.xl_config) {
        struct kg_xl_header h;
        char why[200];
        size_t used;

        rc = kg_xlhdr_parse(p, len, &h, &used, why, sizeof why);
        if (rc) {
            free(p);
            return fail(w, rc, KG_LAYER_XL, -1, 0, "refusing to write: %s", why);
        }
    }
    iov = (struct iovec){ p, len };
    rc = sink_write(w, &iov, 1, KG_LAYER_XL, -1, 0);
    free(p);
    w->order.stage = KG_STAGE_LIBXL_HDR;
    return rc;
}

int kg_stream_write_begin(struct kg_stream_writer *w)
{
    uint8_t h[KG_LIBXL_HDR_LEN];
    struct iovec iov = { h, sizeof h };
    int rc;

    if (!w)
        return -EINVAL;
    if (w->order.stage != KG_STAGE_XL_HDR && w->order.stage != KG_STAGE_LIBXL_HDR &&
        w->order.stage != KG_STAGE_IMAGE_HDR)
        return fail(w, -EPROTO, KG_LAYER_LIBXC, -1, 0, "stream already begun");
    if (w->order.stage == KG_STAGE_XL_HDR && (rc = put_xl_preamble(w)))
        return rc;
    if (w->order.stage == KG_STAGE_LIBXL_HDR) {
        kg_put_be64(h, KG_LIBXL_IDENT);
        kg_put_be32(h + 8, KG_LIBXL_VERSION);
        kg_put_be32(h + 12, 0);
        rc = sink_write(w, &iov, 1, KG_LAYER_LIBXL, -1, 0);
        if (rc)
            return rc;
        w->order.stage = KG_STAGE_LIBXL;
        rc = put_simple(w, KG_LAYER_LIBXL, KG_XLREC_LIBXC_CONTEXT, NULL, 0);
        if (rc)
            return rc;
    }
    return put_libxc_headers(w);
}

int kg_stream_write_cpuid_policy(struct kg_stream_writer *w, const struct kg_cpuid_leaf *l,
                                 uint32_t n)
{
    uint8_t *b;
    int rc;

    if (!w || (n && !l) || n > KG_REC_LENGTH_MAX / 24)
        return -EINVAL;
    b = malloc(n ? (size_t)n * 24 : 1);
    if (!b)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t v[6] = { l[i].leaf, l[i].subleaf, l[i].a, l[i].b, l[i].c, l[i].d };
        for (int j = 0; j < 6; j++)
            kg_put_le32(b + 24 * (size_t)i + 4 * j, v[j]);
    }
    rc = put_simple(w, KG_LAYER_LIBXC, KG_REC_X86_CPUID_POLICY, b, (size_t)n * 24);
    free(b);
    return rc;
}

int kg_stream_write_msr_policy(struct kg_stream_writer *w, const struct kg_msr_entry *e,
                               uint32_t n)
{
    uint8_t *b;
    int rc;

    if (!w || (n && !e) || n > KG_REC_LENGTH_MAX / 16)
        return -EINVAL;
    b = malloc(n ? (size_t)n * 16 : 1);
    if (!b)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        kg_put_le32(b + 16 * (size_t)i, e[i].idx);
        kg_put_le32(b + 16 * (size_t)i + 4, e[i].flags);
        kg_put_le64(b + 16 * (size_t)i + 8, e[i].val);
    }
    rc = put_simple(w, KG_LAYER_LIBXC, KG_REC_X86_MSR_POLICY, b, (size_t)n * 16);
    free(b);
    return rc;
}

int kg_stream_write_static_data_end(struct kg_stream_writer *w)
{
    return w ? put_simple(w, KG_LAYER_LIBXC, KG_REC_STATIC_DATA_END, NULL, 0) : -EINVAL;
}

int kg_stream_write_page_data(struct kg_stream_writer *w, const uint64_t *entries,
                              const void *const *pages, uint32_t count)
{
    uint64_t *checked;
    uint32_t np = 0, nv = 0, np_checked;
    char why[224];
    int rc;

    if (!w || !entries || !pages)
        return -EINVAL;
    if (count == 0 || count > KG_MAX_BATCH)
        return fail(w, -EINVAL, KG_LAYER_LIBXC, w->index[KG_LAYER_LIBXC], KG_REC_PAGE_DATA,
                    "refusing to write: PAGE_DATA count %u not in 1..%u", count, KG_MAX_BATCH);
    kg_put_le32(w->pd_hdr, count);
    kg_put_le32(w->pd_hdr + 4, 0);
    for (uint32_t i = 0; i < count; i++) {
        kg_put_le64(w->pd_hdr + 8 + 8 * (size_t)i, entries[i]);
        if (kg_pfn_type_has_data(KG_PFN_TYPE(entries[i])) == 1) {
            struct iovec *last = np ? &w->pd_iov[1 + nv] : NULL;

            if (!pages[i])
                return fail(w, -EINVAL, KG_LAYER_LIBXC, w->index[KG_LAYER_LIBXC],
                            KG_REC_PAGE_DATA, "refusing to write: no contents for pfn[%u]", i);
            if (last && (const uint8_t *)last->iov_base + last->iov_len == pages[i])
                last->iov_len += KG_PAGE_SIZE;  /* adjacent pages: one vector */
            else
                w->pd_iov[2 + nv++] = (struct iovec){ (void *)pages[i], KG_PAGE_SIZE };
            np++;
        }
    }
    /* Check header and pfns with the reader's rules (contents are not inspected). */
    rc = kg_check_page_batch(&w->lim, w->pd_hdr, 8 + 8 * count, &checked, &np_checked,
                             &w->scratch, why, sizeof why);
    if (rc)
        return fail(w, rc, KG_LAYER_LIBXC, w->index[KG_LAYER_LIBXC], KG_REC_PAGE_DATA,
                    "refusing to write: %s", why);
    w->pd_iov[1] = (struct iovec){ w->pd_hdr, 8 + 8 * (size_t)count };
    return put_record(w, KG_LAYER_LIBXC, KG_REC_PAGE_DATA, w->pd_iov, 2 + (int)nv,
                      8 + 8 * count + np * KG_PAGE_SIZE);
}

int kg_stream_write_tsc_info(struct kg_stream_writer *w, const struct kg_tsc_info *t)
{
    uint8_t b[24];

    if (!w || !t)
        return -EINVAL;
    kg_put_le32(b, t->mode);
    kg_put_le32(b + 4, t->khz);
    kg_put_le64(b + 8, t->nsec);
    kg_put_le32(b + 16, t->incarnation);
    kg_put_le32(b + 20, 0);
    return put_simple(w, KG_LAYER_LIBXC, KG_REC_X86_TSC_INFO, b, sizeof b);
}

int kg_stream_write_hvm_params(struct kg_stream_writer *w, const struct kg_hvm_param *p,
                               uint32_t n)
{
    uint8_t *b;
    int rc;

    if (!w || (n && !p) || n > (KG_REC_LENGTH_MAX - 8) / 16)
        return -EINVAL;
    b = malloc(8 + (size_t)n * 16);
    if (!b)
        return -ENOMEM;
    kg_put_le32(b, n);
    kg_put_le32(b + 4, 0);
    for (uint32_t i = 0; i < n; i++) {
        kg_put_le64(b + 8 + 16 * (size_t)i, p[i].index);
        kg_put_le64(b + 16 + 16 * (size_t)i, p[i].value);
    }
    rc = put_simple(w, KG_LAYER_LIBXC, KG_REC_HVM_PARAMS, b, 8 + (size_t)n * 16);
    free(b);
    return rc;
}

int kg_stream_write_hvm_context(struct kg_stream_writer *w, const uint8_t *blob, size_t len)
{
    if (!w || !blob)
        return -EINVAL;
    return put_simple(w, KG_LAYER_LIBXC, KG_REC_HVM_CONTEXT, blob, len);
}

int kg_stream_write_vcpus(struct kg_stream_writer *w, const struct kg_hvm_save_info *info,
                          const struct kg_vcpu_regs *regs, const uint32_t *vcpu_ids,
                          uint32_t nr)
{
    size_t len = kg_hvmctx_size(nr);
    uint8_t *b;
    int rc;

    if (!w || (nr && !regs) || nr > 65536)
        return -EINVAL;
    b = malloc(len);
    if (!b)
        return -ENOMEM;
    rc = kg_hvmctx_encode(info, regs, vcpu_ids, nr, b, len);
    if (rc == 0)
        rc = kg_stream_write_hvm_context(w, b, len);
    else
        fail(w, rc, KG_LAYER_LIBXC, w->index[KG_LAYER_LIBXC], KG_REC_HVM_CONTEXT,
             "cannot encode the vCPU state");
    free(b);
    return rc;
}

/* A record of the caller's own (Keel's Remus disk records): optional (bit 31) and unknown to
 * the stream, so any reader may skip it; in the libxc layer. */
int kg_stream_write_optional(struct kg_stream_writer *w, uint32_t type, const void *body,
                             size_t len)
{
    struct iovec iov[3];

    if (!w || !(type & KG_REC_OPTIONAL) || kg_rec_known(type) || (len && !body))
        return -EINVAL;
    if (len > KG_REC_LENGTH_MAX)
        return fail(w, -EFBIG, KG_LAYER_LIBXC, w->index[KG_LAYER_LIBXC], type,
                    "body of %zu bytes exceeds the record limit", len);
    iov[1] = (struct iovec){ (void *)body, len };
    return put_record(w, KG_LAYER_LIBXC, type, iov, len ? 2 : 1, (uint32_t)len);
}

int kg_stream_write_checkpoint(struct kg_stream_writer *w)
{
    return w ? put_simple(w, KG_LAYER_LIBXC, KG_REC_CHECKPOINT, NULL, 0) : -EINVAL;
}

int kg_stream_write_checkpoint_end(struct kg_stream_writer *w)
{
    return w ? put_simple(w, KG_LAYER_LIBXL, KG_XLREC_CHECKPOINT_END, NULL, 0) : -EINVAL;
}

int kg_stream_write_dirty_pfn_list(struct kg_stream_writer *w, const uint64_t *pfns, uint32_t n)
{
    uint8_t *b;
    int rc;

    if (!w || (n && !pfns) || n > KG_REC_LENGTH_MAX / 8)
        return -EINVAL;
    b = malloc(n ? (size_t)n * 8 : 1);
    if (!b)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        kg_put_le64(b + 8 * (size_t)i, pfns[i]);
    rc = put_simple(w, KG_LAYER_LIBXC, KG_REC_CHECKPOINT_DIRTY_PFN_LIST, b, (size_t)n * 8);
    free(b);
    return rc;
}

int kg_stream_write_emulator(struct kg_stream_writer *w, uint32_t type, uint32_t emulator_id,
                             uint32_t index, const void *data, size_t len)
{
    uint8_t *b;
    int rc;

    if (!w || (len && !data) || len > KG_REC_LENGTH_MAX - 8 ||
        (type != KG_XLREC_EMULATOR_XENSTORE_DATA && type != KG_XLREC_EMULATOR_CONTEXT))
        return -EINVAL;
    b = malloc(8 + len);
    if (!b)
        return -ENOMEM;
    kg_put_le32(b, emulator_id);
    kg_put_le32(b + 4, index);
    if (len)
        memcpy(b + 8, data, len);
    rc = put_simple(w, KG_LAYER_LIBXL, type, b, 8 + len);
    free(b);
    return rc;
}

int kg_stream_write_libxc_end(struct kg_stream_writer *w)
{
    if (!w)
        return -EINVAL;
    if (w->opts.format == KG_FMT_LIBXC || w->order.stage != KG_STAGE_LIBXC)
        return fail(w, -EPROTO, KG_LAYER_LIBXC, -1, 0, "refusing to end the libxc stream: "
                    "not in it, or no libxl layer follows");
    return put_simple(w, KG_LAYER_LIBXC, KG_REC_END, NULL, 0);
}

int kg_stream_write_end(struct kg_stream_writer *w)
{
    int rc;

    if (!w)
        return -EINVAL;
    if (w->order.stage == KG_STAGE_LIBXC) {
        rc = put_simple(w, KG_LAYER_LIBXC, KG_REC_END, NULL, 0);
        if (rc)
            return rc;
    }
    if (w->order.stage == KG_STAGE_LIBXL)
        return put_simple(w, KG_LAYER_LIBXL, KG_XLREC_END, NULL, 0);
    if (w->order.stage != KG_STAGE_DONE)
        return fail(w, -EPROTO, KG_LAYER_LIBXC, -1, 0, "refusing to write END: not begun");
    return 0;
}
