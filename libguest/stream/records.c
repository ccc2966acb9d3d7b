/* records.c - validates and decodes record bodies of both layers (lengths, reserved fields,
 * pfn types and ranges, parameter arrays, the HVM context blob). Used by reader and writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kg_stream_int.h"

#define BAD(code, ...) do { snprintf(why, whylen, __VA_ARGS__); return (code); } while (0)

void kg_scratch_free(struct kg_scratch *s)
{
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}

static void *scratch(struct kg_scratch *s, size_t need)
{
    if (need > s->cap) {
        void *p = realloc(s->buf, need);

        if (!p)
            return NULL;
        s->buf = p;
        s->cap = need;
    }
    return s->buf;
}

static int exact(uint32_t len, uint32_t want, uint32_t type, char *why, size_t whylen)
{
    if (len != want)
        BAD(-EBADMSG, "%s body must be %u bytes, is %u", kg_rec_name(type), want, len);
    return 0;
}

/* Decode and check the pfn array; count data-carrying entries into *npages. */
static int check_pfns(const struct kg_body_limits *lim, const uint8_t *p, uint32_t count,
                      uint64_t *out, uint32_t *npages, char *why, size_t whylen)
{
    uint64_t max = lim->max_pfn ? lim->max_pfn : KG_PFN_MASK;

    *npages = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t e = kg_le64(p + 8 * (size_t)i);
        unsigned t = KG_PFN_TYPE(e);
        int data = kg_pfn_type_has_data(t);

        if (e & KG_PFN_RESERVED_MASK)
            BAD(-EBADMSG, "pfn[%u] = 0x%016llx has reserved bits 52-59 set", i,
                (unsigned long long)e);
        if (data < 0)
            BAD(-EBADMSG, "pfn[%u] has reserved page type 0x%x", i, t);
        if (lim->dom_type == KG_DOM_X86_HVM && t >= KG_PFINFO_L1TAB && t <= KG_PFINFO_L4TAB_PIN)
            BAD(-EBADMSG, "pfn[%u] has page-table type %s, only valid for PV guests", i,
                kg_pfn_type_name(t));
        if (KG_PFN(e) > max)
            BAD(-ERANGE, "pfn[%u] = 0x%llx is beyond the maximum pfn 0x%llx", i,
                (unsigned long long)KG_PFN(e), (unsigned long long)max);
        *npages += (uint32_t)data;
        out[i] = e;
    }
    return 0;
}

int kg_check_page_batch(const struct kg_body_limits *lim, const uint8_t *b, uint32_t len,
                        uint64_t **entries_out, uint32_t *npages, struct kg_scratch *s,
                        char *why, size_t whylen)
{
    uint32_t count, maxb = lim->max_batch ? lim->max_batch : KG_MAX_BATCH;
    uint64_t *entries;

    if (len < 8)
        BAD(-EBADMSG, "PAGE_DATA body of %u bytes is shorter than its 8-byte header", len);
    count = kg_le32(b);
    if (kg_le32(b + 4))
        BAD(-EBADMSG, "PAGE_DATA reserved field is 0x%x, must be 0", kg_le32(b + 4));
    if (count == 0)
        BAD(-EBADMSG, "PAGE_DATA count is 0 (must be > 0)");
    if (count > maxb)
        BAD(-EFBIG, "PAGE_DATA count %u exceeds the batch limit %u", count, maxb);
    if ((uint64_t)len < 8 + 8 * (uint64_t)count)
        BAD(-EBADMSG, "PAGE_DATA body of %u bytes cannot hold %u pfns", len, count);
    entries = scratch(s, (size_t)count * sizeof *entries);
    if (!entries)
        BAD(-ENOMEM, "out of memory");
    *entries_out = entries;
    return check_pfns(lim, b + 8, count, entries, npages, why, whylen);
}

static int body_page_data(const struct kg_body_limits *lim, const uint8_t *b, uint32_t len,
                          struct kg_stream_item *it, struct kg_scratch *s, char *why,
                          size_t whylen)
{
    uint32_t count, npages;
    uint64_t *entries, want;
    int rc = kg_check_page_batch(lim, b, len, &entries, &npages, s, why, whylen);

    if (rc)
        return rc;
    count = kg_le32(b);
    want = 8 + 8 * (uint64_t)count + (uint64_t)npages * KG_PAGE_SIZE;
    if (len != want)
        BAD(-EBADMSG, "PAGE_DATA length %u, expected %llu for %u pfns with %u pages of data",
            len, (unsigned long long)want, count, npages);
    it->u.page_data.count = count;
    it->u.page_data.npages = npages;
    it->u.page_data.entries = entries;
    it->u.page_data.pages = b + 8 + 8 * (size_t)count;
    return 0;
}

static int body_tsc(const uint8_t *b, uint32_t len, struct kg_stream_item *it, char *why,
                    size_t whylen)
{
    int rc = exact(len, 24, KG_REC_X86_TSC_INFO, why, whylen);

    if (rc)
        return rc;
    if (kg_le32(b + 20))
        BAD(-EBADMSG, "X86_TSC_INFO reserved field is 0x%x, must be 0", kg_le32(b + 20));
    it->u.tsc.mode = kg_le32(b);
    it->u.tsc.khz = kg_le32(b + 4);
    it->u.tsc.nsec = kg_le64(b + 8);
    it->u.tsc.incarnation = kg_le32(b + 16);
    return 0;
}

static int body_params(const uint8_t *b, uint32_t len, struct kg_stream_item *it,
                       struct kg_scratch *s, char *why, size_t whylen)
{
    struct kg_hvm_param *p;
    uint32_t count;

    if (len < 8)
        BAD(-EBADMSG, "HVM_PARAMS body of %u bytes is shorter than its 8-byte header", len);
    count = kg_le32(b);
    if (kg_le32(b + 4))
        BAD(-EBADMSG, "HVM_PARAMS reserved field is 0x%x, must be 0", kg_le32(b + 4));
    if ((uint64_t)len != 8 + 16 * (uint64_t)count)
        BAD(-EBADMSG, "HVM_PARAMS length %u, expected %llu for %u parameters", len,
            (unsigned long long)(8 + 16 * (uint64_t)count), count);
    p = scratch(s, count ? (size_t)count * sizeof *p : 1);
    if (!p)
        BAD(-ENOMEM, "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        p[i].index = kg_le64(b + 8 + 16 * (size_t)i);
        p[i].value = kg_le64(b + 16 + 16 * (size_t)i);
    }
    it->u.hvm_params.count = count;
    it->u.hvm_params.params = p;
    return 0;
}

static int body_policy(uint32_t type, const uint8_t *b, uint32_t len, struct kg_stream_item *it,
                       struct kg_scratch *s, char *why, size_t whylen)
{
    uint32_t unit = type == KG_REC_X86_CPUID_POLICY ? 24 : 16, n = len / unit;

    if (len % unit)
        BAD(-EBADMSG, "%s length %u is not a multiple of %u", kg_rec_name(type), len, unit);
    if (type == KG_REC_X86_CPUID_POLICY) {
        struct kg_cpuid_leaf *l = scratch(s, n ? (size_t)n * sizeof *l : 1);

        if (!l)
            BAD(-ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *q = b + 24 * (size_t)i;
            l[i] = (struct kg_cpuid_leaf){ kg_le32(q), kg_le32(q + 4), kg_le32(q + 8),
                                           kg_le32(q + 12), kg_le32(q + 16), kg_le32(q + 20) };
        }
        it->u.cpuid.count = n;
        it->u.cpuid.leaves = l;
    } else {
        struct kg_msr_entry *m = scratch(s, n ? (size_t)n * sizeof *m : 1);

        if (!m)
            BAD(-ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *q = b + 16 * (size_t)i;
            m[i] = (struct kg_msr_entry){ kg_le32(q), kg_le32(q + 4), kg_le64(q + 8) };
        }
        it->u.msr.count = n;
        it->u.msr.entries = m;
    }
    return 0;
}

static int body_dirty(const struct kg_body_limits *lim, const uint8_t *b, uint32_t len,
                      struct kg_stream_item *it, struct kg_scratch *s, char *why, size_t whylen)
{
    uint32_t n = len / 8;
    uint64_t *p, max = lim->max_pfn ? lim->max_pfn : KG_PFN_MASK;

    if (len % 8)
        BAD(-EBADMSG, "CHECKPOINT_DIRTY_PFN_LIST length %u is not a multiple of 8", len);
    p = scratch(s, n ? (size_t)n * 8 : 1);
    if (!p)
        BAD(-ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        p[i] = kg_le64(b + 8 * (size_t)i);
        if (p[i] > max)
            BAD(-ERANGE, "pfn[%u] = 0x%llx is beyond the maximum pfn 0x%llx", i,
                (unsigned long long)p[i], (unsigned long long)max);
    }
    it->u.dirty.count = n;
    it->u.dirty.pfns = p;
    return 0;
}

static int body_pv(uint32_t type, const uint8_t *b, uint32_t len, struct kg_stream_item *it,
                   char *why, size_t whylen)
{
    switch (type) {
    case KG_REC_X86_PV_INFO:
        if (len != 8)
            BAD(-EBADMSG, "X86_PV_INFO body must be 8 bytes, is %u", len);
        if (b[0] != 4 && b[0] != 8)
            BAD(-EBADMSG, "X86_PV_INFO guest width %u, must be 4 or 8", b[0]);
        if (b[1] != 3 && b[1] != 4)
            BAD(-EBADMSG, "X86_PV_INFO page-table levels %u, must be 3 or 4", b[1]);
        if (kg_le16(b + 2) || kg_le32(b + 4))
            BAD(-EBADMSG, "X86_PV_INFO reserved bytes are not zero");
        it->u.pv_info.guest_width = b[0];
        it->u.pv_info.pt_levels = b[1];
        return 0;
    case KG_REC_X86_PV_P2M_FRAMES:
        if (len < 8 || len % 8)
            BAD(-EBADMSG, "X86_PV_P2M_FRAMES length %u must be >= 8 and a multiple of 8", len);
        it->u.p2m.start = kg_le32(b);
        it->u.p2m.end = kg_le32(b + 4);
        return 0;
    case KG_REC_SHARED_INFO:
        return exact(len, KG_PAGE_SIZE, type, why, whylen);
    default:  /* vCPU records */
        if (len < 8)
            BAD(-EBADMSG, "%s body of %u bytes is shorter than its 8-byte header",
                kg_rec_name(type), len);
        if (kg_le32(b + 4))
            BAD(-EBADMSG, "%s reserved field is not zero", kg_rec_name(type));
        it->u.pv_vcpu.vcpu_id = kg_le32(b);
        return 0;
    }
}

static int body_hvm_context(const struct kg_body_limits *lim, const uint8_t *b, uint32_t len,
                            struct kg_stream_item *it, char *why, size_t whylen)
{
    char sub[200];
    int rc;

    if (len == 0)
        BAD(-EBADMSG, "HVM_CONTEXT is empty");
    rc = kg_hvmctx_validate(b, len, lim->max_vcpus ? lim->max_vcpus : 4096,
                            &it->u.hvm_context.info, &it->u.hvm_context.nr_cpus, sub, sizeof sub);
    if (rc)
        BAD(rc, "HVM save blob: %s", sub);
    return 0;
}

int kg_check_libxc_body(const struct kg_body_limits *lim, uint32_t type, const uint8_t *b,
                        uint32_t len, struct kg_stream_item *it, struct kg_scratch *s,
                        char *why, size_t whylen)
{
    switch (type) {
    case KG_REC_END: case KG_REC_VERIFY: case KG_REC_CHECKPOINT: case KG_REC_STATIC_DATA_END:
        return exact(len, 0, type, why, whylen);
    case KG_REC_PAGE_DATA:
        return body_page_data(lim, b, len, it, s, why, whylen);
    case KG_REC_X86_TSC_INFO:
        return body_tsc(b, len, it, why, whylen);
    case KG_REC_HVM_PARAMS:
        return body_params(b, len, it, s, why, whylen);
    case KG_REC_HVM_CONTEXT:
        return body_hvm_context(lim, b, len, it, why, whylen);
    case KG_REC_X86_CPUID_POLICY: case KG_REC_X86_MSR_POLICY:
        return body_policy(type, b, len, it, s, why, whylen);
    case KG_REC_CHECKPOINT_DIRTY_PFN_LIST:
        return body_dirty(lim, b, len, it, s, why, whylen);
    case KG_REC_TOOLSTACK:
        BAD(-EBADMSG, "TOOLSTACK record is deprecated");
    default:
        if (type <= KG_REC_X86_PV_VCPU_MSRS)
            return body_pv(type, b, len, it, why, whylen);
        return 0;  /* unknown optional: not interpreted */
    }
}

/* EMULATOR_XENSTORE_DATA: packed NUL-terminated (key, value) pairs, keys in the xenstore
 * path alphabet. */
static int check_xenstore_pairs(const uint8_t *d, uint32_t len, char *why, size_t whylen)
{
    uint32_t strings = 0, start = 0;

    if (len == 0)
        return 0;
    if (d[len - 1] != 0)
        BAD(-EBADMSG, "xenstore data does not end with a NUL");
    for (uint32_t i = 0; i < len; i++) {
        if (d[i] == 0) {
            if (strings % 2 == 0 && i == start)
                BAD(-EBADMSG, "empty xenstore key at data offset %u", start);
            strings++;
            start = i + 1;
        } else if (strings % 2 == 0 && !(d[i] >= '0' && d[i] <= '9') &&
                   !(d[i] >= 'a' && d[i] <= 'z') && !(d[i] >= 'A' && d[i] <= 'Z') &&
                   !strchr("-/_@", d[i]))
            BAD(-EBADMSG, "xenstore key byte 0x%02x at data offset %u is not allowed", d[i], i);
    }
    if (strings % 2)
        BAD(-EBADMSG, "xenstore data holds a key without a value");
    return 0;
}

int kg_check_libxl_body(uint32_t type, const uint8_t *b, uint32_t len,
                        struct kg_stream_item *it, char *why, size_t whylen)
{
    switch (type) {
    case KG_XLREC_END: case KG_XLREC_LIBXC_CONTEXT: case KG_XLREC_CHECKPOINT_END:
        if (len)
            BAD(-EBADMSG, "%s body must be empty, is %u bytes", kg_xlrec_name(type), len);
        return 0;
    case KG_XLREC_EMULATOR_XENSTORE_DATA: case KG_XLREC_EMULATOR_CONTEXT:
        if (len < 8)
            BAD(-EBADMSG, "%s body of %u bytes is shorter than its 8-byte header",
                kg_xlrec_name(type), len);
        it->u.emulator.emulator_id = kg_le32(b);
        it->u.emulator.index = kg_le32(b + 4);
        if (it->u.emulator.emulator_id > 2)
            BAD(-EBADMSG, "unknown emulator id %u", it->u.emulator.emulator_id);
        if (type == KG_XLREC_EMULATOR_XENSTORE_DATA)
            return check_xenstore_pairs(b + 8, len - 8, why, whylen);
        return 0;
    case KG_XLREC_CHECKPOINT_STATE:
        if (len != 8)
            BAD(-EBADMSG, "CHECKPOINT_STATE body must be 8 bytes, is %u", len);
        it->u.checkpoint_state.control_id = kg_le32(b);
        if (kg_le32(b) > 3)
            BAD(-EBADMSG, "CHECKPOINT_STATE control id %u is unknown", kg_le32(b));
        return 0;
    default:
        return 0;
    }
}
