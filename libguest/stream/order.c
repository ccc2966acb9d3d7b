/* order.c - the record-order rules of the migration v2 stream, enforced identically by the
 * writer (so Keel never emits a misordered stream) and the reader.
 *
 * libxc layer: v3 streams carry only static records (CPUID/MSR policy, PV_INFO) before
 * STATIC_DATA_END and nothing else may precede it; v2 streams have no STATIC_DATA_END (it is
 * inferred at the first PAGE_DATA for HVM / X86_PV_P2M_FRAMES for PV). HVM_PARAMS must precede
 * HVM_CONTEXT within each checkpoint section (the spec's rule; xen_order also accepts the
 * reverse order Xen's own saver emits), a section must carry HVM_CONTEXT before
 * CHECKPOINT or END, PV records are refused in HVM streams and vice versa, PV needs
 * PV_INFO -> P2M_FRAMES -> PAGE_DATA -> vCPU records.
 * libxl layer: LIBXC_CONTEXT exactly once, after a libxc CHECKPOINT only emulator records and
 * CHECKPOINT_END, END only after the libxc stream ended. */
#include <errno.h>
#include <stdio.h>

#include "kg_stream_int.h"

#define FAIL(...) do { snprintf(why, whylen, __VA_ARGS__); return -EPROTO; } while (0)

void kg_order_init(struct kg_order *o, enum kg_stream_format fmt, bool backchannel)
{
    memset(o, 0, sizeof *o);
    o->format = fmt;
    o->backchannel = backchannel;
    o->stage = fmt == KG_FMT_XL ? KG_STAGE_XL_HDR
             : fmt == KG_FMT_LIBXL ? KG_STAGE_LIBXL_HDR : KG_STAGE_IMAGE_HDR;
}

enum kg_layer kg_order_layer(const struct kg_order *o)
{
    switch (o->stage) {
    case KG_STAGE_XL_HDR: return KG_LAYER_XL;
    case KG_STAGE_LIBXL_HDR: case KG_STAGE_LIBXL: return KG_LAYER_LIBXL;
    case KG_STAGE_DONE: return o->format == KG_FMT_LIBXC ? KG_LAYER_LIBXC : KG_LAYER_LIBXL;
    default: return KG_LAYER_LIBXC;
    }
}

void kg_order_after_image(struct kg_order *o, uint32_t version)
{
    o->version = version;
    o->stage = KG_STAGE_DOMAIN_HDR;
}

void kg_order_after_domain(struct kg_order *o, uint32_t dom_type)
{
    o->dom_type = dom_type;
    o->stage = KG_STAGE_LIBXC;
}

static bool is_pv_only(uint32_t t)
{
    return t == KG_REC_X86_PV_INFO || t == KG_REC_X86_PV_P2M_FRAMES || t == KG_REC_SHARED_INFO ||
           (t >= KG_REC_X86_PV_VCPU_BASIC && t <= KG_REC_X86_PV_VCPU_XSAVE) ||
           t == KG_REC_X86_PV_VCPU_MSRS;
}

static bool is_hvm_only(uint32_t t)
{
    return t == KG_REC_HVM_CONTEXT || t == KG_REC_HVM_PARAMS;
}

static bool is_static(uint32_t t)
{
    return t == KG_REC_X86_CPUID_POLICY || t == KG_REC_X86_MSR_POLICY || t == KG_REC_X86_PV_INFO;
}

static bool is_pv_vcpu(uint32_t t)
{
    return (t >= KG_REC_X86_PV_VCPU_BASIC && t <= KG_REC_X86_PV_VCPU_XSAVE) ||
           t == KG_REC_X86_PV_VCPU_MSRS;
}

/* Rules about STATIC_DATA_END and the static records. */
static int order_static(struct kg_order *o, uint32_t t, char *why, size_t whylen)
{
    if (t == KG_REC_STATIC_DATA_END) {
        if (o->version < 3)
            FAIL("STATIC_DATA_END is not valid in a version %u stream", o->version);
        if (o->static_done)
            FAIL("second STATIC_DATA_END");
        if (o->dom_type == KG_DOM_X86_PV && !o->pv_info)
            FAIL("STATIC_DATA_END before X86_PV_INFO");
        o->static_done = true;
        return 0;
    }
    if (t == KG_REC_X86_CPUID_POLICY || t == KG_REC_X86_MSR_POLICY) {
        if (o->version < 3)
            FAIL("%s is not valid in a version %u stream", kg_rec_name(t), o->version);
    }
    if (is_static(t)) {
        if (o->static_done)
            FAIL("static record %s after STATIC_DATA_END%s", kg_rec_name(t),
                 o->version < 3 ? " (inferred at the first memory record)" : "");
        if (t == KG_REC_X86_PV_INFO && o->pv_info)
            FAIL("second X86_PV_INFO");
        return 1;
    }
    if (o->version < 3 && (t == (o->dom_type == KG_DOM_X86_PV ? KG_REC_X86_PV_P2M_FRAMES
                                                              : KG_REC_PAGE_DATA)))
        o->static_done = true;  /* v2: inferred */
    if (!o->static_done)
        FAIL("%s before STATIC_DATA_END", kg_rec_name(t));
    return 0;
}

static int order_pv(struct kg_order *o, uint32_t t, char *why, size_t whylen)
{
    if (t == KG_REC_X86_PV_INFO)
        o->pv_info = true;
    else if (t == KG_REC_X86_PV_P2M_FRAMES) {
        if (!o->pv_info)
            FAIL("X86_PV_P2M_FRAMES before X86_PV_INFO");
        o->pv_p2m = true;
    } else if (t == KG_REC_PAGE_DATA) {
        if (!o->pv_p2m)
            FAIL("PAGE_DATA before X86_PV_P2M_FRAMES");
        o->pv_pages = true;
    } else if (is_pv_vcpu(t)) {
        if (!o->pv_pages)
            FAIL("%s before any PAGE_DATA", kg_rec_name(t));
        o->sect_context = true;
    }
    return 0;
}

static int order_hvm(struct kg_order *o, uint32_t t, char *why, size_t whylen)
{
    if (t == KG_REC_HVM_PARAMS) {
        if (o->sect_context && !o->xen_order)
            FAIL("HVM_PARAMS after HVM_CONTEXT (parameters must precede the context)");
        if (o->sect_params && o->xen_order)
            FAIL("second HVM_PARAMS in one checkpoint section");
        o->sect_params = true;
    } else if (t == KG_REC_HVM_CONTEXT) {
        if (!o->sect_params && !o->xen_order)
            FAIL("HVM_CONTEXT before HVM_PARAMS (parameters must precede the context)");
        if (o->sect_context)
            FAIL("second HVM_CONTEXT in one checkpoint section");
        o->sect_context = true;
    }
    return 0;
}

/* CHECKPOINT and END close a section: it must hold the vCPU state. */
static int order_close(struct kg_order *o, uint32_t t, char *why, size_t whylen)
{
    bool empty_after_cp = !o->sect_any && o->checkpoints > 0 && t == KG_REC_END;

    if (!o->sect_context && !empty_after_cp)
        FAIL("%s without vCPU state (%s) since the %s", kg_rec_name(t),
             o->dom_type == KG_DOM_X86_PV ? "X86_PV_VCPU_*" : "HVM_CONTEXT",
             o->checkpoints ? "last CHECKPOINT" : "start of the stream");
    o->sect_params = o->sect_context = o->sect_any = false;
    if (t == KG_REC_CHECKPOINT) {
        o->checkpoints++;
        if (o->format != KG_FMT_LIBXC) {
            o->in_checkpoint = true;
            o->stage = KG_STAGE_LIBXL;
        }
    } else
        o->stage = o->format == KG_FMT_LIBXC ? KG_STAGE_DONE : KG_STAGE_LIBXL;
    return 0;
}

int kg_order_libxc(struct kg_order *o, uint32_t t, char *why, size_t whylen)
{
    int rc;

    if (o->stage != KG_STAGE_LIBXC)
        FAIL("libxc record %s where the %s layer is expected", kg_rec_name(t),
             kg_layer_name(kg_order_layer(o)));
    if (!kg_rec_known(t))
        return 0;  /* unknown optional records: the caller decided to skip them */
    if (t == KG_REC_TOOLSTACK)
        FAIL("TOOLSTACK record is deprecated and must not be used");
    if (t == KG_REC_CHECKPOINT_DIRTY_PFN_LIST && !o->backchannel)
        FAIL("CHECKPOINT_DIRTY_PFN_LIST is only valid on the back channel");
    if (o->dom_type == KG_DOM_X86_HVM && is_pv_only(t))
        FAIL("%s is not valid in an x86 HVM stream", kg_rec_name(t));
    if (o->dom_type == KG_DOM_X86_PV && is_hvm_only(t))
        FAIL("%s is not valid in an x86 PV stream", kg_rec_name(t));
    rc = order_static(o, t, why, whylen);
    if (rc < 0)
        return rc;
    rc = o->dom_type == KG_DOM_X86_PV ? order_pv(o, t, why, whylen) : order_hvm(o, t, why, whylen);
    if (rc < 0 || t == KG_REC_STATIC_DATA_END || is_static(t))
        return rc;
    if (t == KG_REC_CHECKPOINT || t == KG_REC_END)
        return order_close(o, t, why, whylen);
    o->sect_any = true;
    return 0;
}

int kg_order_libxl(struct kg_order *o, uint32_t t, char *why, size_t whylen)
{
    if (o->stage != KG_STAGE_LIBXL)
        FAIL("libxl record %s where the %s layer is expected", kg_xlrec_name(t),
             kg_layer_name(kg_order_layer(o)));
    switch (t) {
    case KG_XLREC_LIBXC_CONTEXT:
        if (o->seen_libxc_context)
            FAIL("second LIBXC_CONTEXT");
        o->seen_libxc_context = true;
        o->stage = KG_STAGE_IMAGE_HDR;
        return 0;
    case KG_XLREC_END:
        if (!o->seen_libxc_context)
            FAIL("END before LIBXC_CONTEXT: the stream carries no domain");
        if (o->in_checkpoint)
            FAIL("END inside a checkpoint (CHECKPOINT_END expected)");
        o->stage = KG_STAGE_DONE;
        return 0;
    case KG_XLREC_CHECKPOINT_END:
        if (!o->in_checkpoint)
            FAIL("CHECKPOINT_END without a preceding libxc CHECKPOINT");
        o->in_checkpoint = false;
        o->stage = KG_STAGE_LIBXC;
        return 0;
    case KG_XLREC_CHECKPOINT_STATE:
        if (!o->backchannel)
            FAIL("CHECKPOINT_STATE is only valid on the COLO back channel");
        return 0;
    default:
        return 0;  /* emulator records, unknown optional records */
    }
}
