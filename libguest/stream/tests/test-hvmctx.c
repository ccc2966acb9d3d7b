/* test-hvmctx.c - the HVM_CONTEXT blob byte for byte: descriptor and save-header layout, the
 * struct hvm_hw_cpu offsets of every field Keel carries, sparse vCPU ids, the 1016-byte compat
 * CPU record, skipped device records, and the back-channel dirty pfn list round trip. */
#include <errno.h>
#include <string.h>

#include "kg_stream.h"
#include "tap.h"
#include "testlib.h"

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void layout(void)
{
    struct kg_hvm_save_info info = { 0x806ec, 2500000, 0x1234 };
    struct kg_vcpu_regs r, back;
    uint8_t blob[8 + 24 + 8 + 1032 + 8], *c = blob + 40;
    char why[200];
    uint32_t nr, id = 7;

    tl_fill_regs(&r, 0);
    tap_ok(kg_hvmctx_size(1) == sizeof blob, "blob for one vCPU is 8+24+8+1032+8 bytes");
    tap_ok(kg_hvmctx_encode(&info, &r, &id, 1, blob, sizeof blob) == 0, "encode one vCPU");
    tap_ok(le32(blob) == (1 | 0 << 16) && le32(blob + 4) == 24, "HEADER descriptor: code 1, "
           "instance 0, length 24");
    tap_ok(le32(blob + 8) == 0x54381286 && le32(blob + 12) == 1 && le64(blob + 16) == 0x1234 &&
           le32(blob + 24) == 0x806ec && le32(blob + 28) == 2500000,
           "save header: magic, version 1, changeset, cpuid, gtsc_khz");
    tap_ok(le32(blob + 32) == (2 | 7u << 16) && le32(blob + 36) == 1032,
           "CPU descriptor: code 2, instance = vCPU id 7, length 1032");
    tap_ok(!memcmp(c, r.fxsave, 512), "fpu_regs at 0 hold the FXSAVE area");
    tap_ok(le64(c + 512) == r.rax && le64(c + 520) == r.rbx && le64(c + 568) == r.rsp &&
           le64(c + 576) == r.r8 && le64(c + 632) == r.r15, "GPRs at 512.. in rax rbx rcx rdx "
           "rbp rsi rdi rsp r8..r15 order");
    tap_ok(le64(c + 640) == r.rip && le64(c + 648) == r.rflags, "rip at 640, rflags at 648");
    tap_ok(le64(c + 656) == r.cr0 && le64(c + 664) == r.cr2 && le64(c + 672) == r.cr3 &&
           le64(c + 680) == r.cr4, "cr0/cr2/cr3/cr4 at 656..680");
    tap_ok(le32(c + 736) == r.cs && le32(c + 740) == r.ds && le32(c + 748) == r.fs &&
           le32(c + 756) == r.ss, "selectors at 736.. (cs ds es fs gs ss tr ldtr)");
    tap_ok(le64(c + 832) == r.fs_base && le64(c + 840) == r.gs_base, "fs_base at 832, gs_base "
           "at 840");
    tap_ok(le32(c + 888) == 0xafb && le32(c + 908) == 0xcf3 && le32(c + 768) == 0xffffffffu,
           "flat 64-bit ring-3 segment attributes and limits");
    tap_ok(le64(c + 944) == r.kernel_gs_base && le64(c + 992) == r.efer,
           "shadow_gs at 944 (kernel_gs_base), msr_efer at 992");
    tap_ok(le32(c + 1024) == 1, "flags at 1024: FPU initialised");
    tap_ok(le32(blob + 40 + 1032) == 0 && le32(blob + 44 + 1032) == 0, "END descriptor last");
    tap_ok(kg_hvmctx_validate(blob, sizeof blob, 8, NULL, &nr, why, sizeof why) == 0 && nr == 1,
           "the blob validates");
    tap_ok(kg_hvmctx_get_vcpu(blob, sizeof blob, 7, &back) == 0 && !memcmp(&r, &back, sizeof r),
           "decode by vCPU id gives the same registers");
    tap_ok(kg_hvmctx_get_vcpu(blob, sizeof blob, 0, &back) == -ENOENT, "absent vCPU: ENOENT");
}

/* Header, a LAPIC-like device record, a compat CPU record for vCPU 3, END. */
static void compat_and_devices(void)
{
    struct tl_buf b = { 0 };
    struct kg_vcpu_regs r;
    uint8_t cpu[1016];
    uint32_t nr, id;
    char why[200];

    memset(cpu, 0, sizeof cpu);
    for (int i = 0; i < 8; i++)
        cpu[640 + i] = (uint8_t)(0x11 * (i + 1));  /* rip */
    cpu[992] = 0x01;
    cpu[993] = 0x0d;  /* efer 0xd01 */
    tl_u16le(&b, 1); tl_u16le(&b, 0); tl_u32le(&b, 24);
    tl_u32le(&b, 0x54381286); tl_u32le(&b, 1); tl_u64le(&b, 0); tl_u32le(&b, 0); tl_u32le(&b, 0);
    tl_u16le(&b, 5); tl_u16le(&b, 3); tl_u32le(&b, 16);
    tl_u64le(&b, 0xfee00900); tl_u64le(&b, 0);
    tl_u16le(&b, 2); tl_u16le(&b, 3); tl_u32le(&b, 1016);
    tl_put(&b, cpu, sizeof cpu);
    tl_u16le(&b, 0); tl_u16le(&b, 0); tl_u32le(&b, 0);
    tap_ok(kg_hvmctx_validate(b.b, b.len, 8, NULL, &nr, why, sizeof why) == 0 && nr == 1,
           "a blob with a device record and a 1016-byte compat CPU record validates");
    tap_ok(kg_hvmctx_get_nth(b.b, b.len, 0, &id, &r) == 0 && id == 3 &&
           r.rip == 0x8877665544332211ull && r.efer == 0xd01,
           "the compat CPU record decodes (rip, efer) for vCPU 3");
    free(b.b);
}

static void dirty_list(void)
{
    struct kg_stream_writer_opts wo = { .format = KG_FMT_LIBXC, .max_pfn = 100 };
    struct kg_stream_reader_opts ro = { .format = KG_FMT_LIBXC, .flags = KG_READ_BACKCHANNEL };
    uint64_t pfns[3] = { 5, 99, 7 };
    struct kg_stream_writer *w;
    struct kg_stream_reader *r;
    struct kg_stream_item it;
    struct kg_source *src;
    struct kg_sink *sink;
    struct kg_vcpu_regs v;
    struct kg_hvm_param p = { 1, 1 };
    const uint8_t *data;
    size_t len;
    int got = 0, rc;

    memset(&v, 0, sizeof v);
    kg_sink_new_memory(&sink);
    kg_stream_writer_new(sink, &wo, &w);
    kg_stream_write_begin(w);
    kg_stream_write_static_data_end(w);
    tap_ok(kg_stream_write_dirty_pfn_list(w, pfns, 3) == -EPROTO,
           "the writer refuses a dirty pfn list without KG_WRITE_BACKCHANNEL");
    kg_stream_writer_free(w);
    kg_sink_free(sink);

    wo.flags = KG_WRITE_BACKCHANNEL;
    kg_sink_new_memory(&sink);
    kg_stream_writer_new(sink, &wo, &w);
    rc = kg_stream_write_begin(w) ?: kg_stream_write_static_data_end(w)
         ?: kg_stream_write_dirty_pfn_list(w, pfns, 3) ?: kg_stream_write_hvm_params(w, &p, 1)
         ?: kg_stream_write_vcpus(w, NULL, &v, NULL, 1) ?: kg_stream_write_end(w);
    tap_ok(rc == 0, "with KG_WRITE_BACKCHANNEL it is written");
    data = kg_sink_memory_data(sink, &len);
    kg_source_new_memory(data, len, &src);
    kg_stream_reader_new(src, &ro, &r);
    while ((rc = kg_stream_read(r, &it)) == 0)
        if (it.kind == KG_ITEM_RECORD && it.type == KG_REC_CHECKPOINT_DIRTY_PFN_LIST)
            got = it.u.dirty.count == 3 && !memcmp(it.u.dirty.pfns, pfns, sizeof pfns);
    tap_ok(rc == 1 && got, "a KG_READ_BACKCHANNEL reader gets the pfns back");
    kg_stream_reader_free(r);
    kg_source_free(src);
    kg_stream_writer_free(w);
    kg_sink_free(sink);
}

int main(void)
{
    layout();
    compat_and_devices();
    dirty_list();
    return tap_done();
}
