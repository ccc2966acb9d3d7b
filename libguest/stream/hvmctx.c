/* hvmctx.c - the HVM_CONTEXT blob: Xen's HVM save records (descriptor = u16 typecode,
 * u16 instance, u32 length) with the save header, one CPU record per vCPU in the layout of
 * the public struct hvm_hw_cpu, and the END descriptor; plus the mapping between that CPU
 * record and Keel's neutral struct kg_vcpu_regs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kg_stream_int.h"

#define BAD(code, ...) do { snprintf(why, whylen, __VA_ARGS__); return (code); } while (0)

#define DESC_LEN 8
#define HDR_LEN 24

/* Byte offsets inside struct hvm_hw_cpu. */
enum {
    CPU_FPU = 0, CPU_GPR = 512 /* rax rbx rcx rdx rbp rsi rdi rsp r8..r15 */, CPU_RIP = 640,
    CPU_RFLAGS = 648, CPU_CR0 = 656, CPU_CR2 = 664, CPU_CR3 = 672, CPU_CR4 = 680,
    CPU_SEL = 736 /* cs ds es fs gs ss tr ldtr, u32 each */, CPU_LIMIT = 768,
    CPU_BASE = 808, CPU_ARBYTES = 888, CPU_SHADOW_GS = 944, CPU_EFER = 992, CPU_FLAGS = 1024,
};
enum { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS, SEG_TR, SEG_LDTR };
#define XEN_X86_FPU_INITIALISED 1u
/* Segment attributes (Xen's packed arbytes) of a flat 64-bit user-mode guest. */
#define AR_CODE64_USER 0xafbu  /* type 0xb, S, DPL 3, P, L, G */
#define AR_DATA_USER 0xcf3u    /* type 0x3, S, DPL 3, P, DB, G */
#define AR_TSS64_BUSY 0x8bu    /* type 0xb, P */

size_t kg_hvmctx_size(uint32_t nr)
{
    return DESC_LEN + HDR_LEN + (size_t)nr * (DESC_LEN + KG_HVM_CPU_LEN) + DESC_LEN;
}

static uint8_t *put_desc(uint8_t *p, uint16_t code, uint16_t inst, uint32_t len)
{
    kg_put_le16(p, code);
    kg_put_le16(p + 2, inst);
    kg_put_le32(p + 4, len);
    return p + DESC_LEN;
}

/* The 16 GPRs in hvm_hw_cpu order: rax rbx rcx rdx rbp rsi rdi rsp r8..r15. */
static uint64_t *gpr(struct kg_vcpu_regs *r, int i)
{
    uint64_t *g[16] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rbp, &r->rsi, &r->rdi,
                        &r->rsp, &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13,
                        &r->r14, &r->r15 };
    return g[i];
}

static void encode_cpu(const struct kg_vcpu_regs *r, uint8_t *c)
{
    const uint16_t sel[6] = { r->cs, r->ds, r->es, r->fs, r->gs, r->ss };
    const uint64_t g[16] = { r->rax, r->rbx, r->rcx, r->rdx, r->rbp, r->rsi, r->rdi, r->rsp,
                             r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };

    memset(c, 0, KG_HVM_CPU_LEN);
    memcpy(c + CPU_FPU, r->fxsave, sizeof r->fxsave);
    for (int i = 0; i < 16; i++)
        kg_put_le64(c + CPU_GPR + 8 * i, g[i]);
    kg_put_le64(c + CPU_RIP, r->rip);
    kg_put_le64(c + CPU_RFLAGS, r->rflags);
    kg_put_le64(c + CPU_CR0, r->cr0);
    kg_put_le64(c + CPU_CR2, r->cr2);
    kg_put_le64(c + CPU_CR3, r->cr3);
    kg_put_le64(c + CPU_CR4, r->cr4);
    for (int s = SEG_CS; s <= SEG_SS; s++) {
        kg_put_le32(c + CPU_SEL + 4 * s, sel[s]);
        kg_put_le32(c + CPU_LIMIT + 4 * s, 0xffffffffu);
        kg_put_le32(c + CPU_ARBYTES + 4 * s, s == SEG_CS ? AR_CODE64_USER : AR_DATA_USER);
    }
    kg_put_le32(c + CPU_LIMIT + 4 * SEG_TR, 0x67);
    kg_put_le32(c + CPU_ARBYTES + 4 * SEG_TR, AR_TSS64_BUSY);
    kg_put_le64(c + CPU_BASE + 8 * SEG_FS, r->fs_base);
    kg_put_le64(c + CPU_BASE + 8 * SEG_GS, r->gs_base);
    kg_put_le64(c + CPU_SHADOW_GS, r->kernel_gs_base);
    kg_put_le64(c + CPU_EFER, r->efer);
    kg_put_le32(c + CPU_FLAGS, XEN_X86_FPU_INITIALISED);
}

static void decode_cpu(const uint8_t *c, struct kg_vcpu_regs *r)
{
    uint16_t *sel[6] = { &r->cs, &r->ds, &r->es, &r->fs, &r->gs, &r->ss };

    memset(r, 0, sizeof *r);
    memcpy(r->fxsave, c + CPU_FPU, sizeof r->fxsave);
    for (int i = 0; i < 16; i++)
        *gpr(r, i) = kg_le64(c + CPU_GPR + 8 * i);
    r->rip = kg_le64(c + CPU_RIP);
    r->rflags = kg_le64(c + CPU_RFLAGS);
    r->cr0 = kg_le64(c + CPU_CR0);
    r->cr2 = kg_le64(c + CPU_CR2);
    r->cr3 = kg_le64(c + CPU_CR3);
    r->cr4 = kg_le64(c + CPU_CR4);
    for (int s = SEG_CS; s <= SEG_SS; s++)
        *sel[s] = (uint16_t)kg_le32(c + CPU_SEL + 4 * s);
    r->fs_base = kg_le64(c + CPU_BASE + 8 * SEG_FS);
    r->gs_base = kg_le64(c + CPU_BASE + 8 * SEG_GS);
    r->kernel_gs_base = kg_le64(c + CPU_SHADOW_GS);
    r->efer = kg_le64(c + CPU_EFER);
}

int kg_hvmctx_encode(const struct kg_hvm_save_info *info, const struct kg_vcpu_regs *regs,
                     const uint32_t *vcpu_ids, uint32_t nr, uint8_t *buf, size_t buflen)
{
    uint8_t *p = buf;

    if (!buf || (nr && !regs) || buflen < kg_hvmctx_size(nr))
        return -EINVAL;
    for (uint32_t i = 0; i < nr; i++)
        if ((vcpu_ids ? vcpu_ids[i] : i) > 0xffff)
            return -ERANGE;
    p = put_desc(p, KG_HVM_CODE_HEADER, 0, HDR_LEN);
    kg_put_le32(p, KG_HVM_FILE_MAGIC);
    kg_put_le32(p + 4, KG_HVM_FILE_VERSION);
    kg_put_le64(p + 8, info ? info->changeset : 0);
    kg_put_le32(p + 16, info ? info->cpuid : 0);
    kg_put_le32(p + 20, info ? info->gtsc_khz : 0);
    p += HDR_LEN;
    for (uint32_t i = 0; i < nr; i++) {
        p = put_desc(p, KG_HVM_CODE_CPU, (uint16_t)(vcpu_ids ? vcpu_ids[i] : i), KG_HVM_CPU_LEN);
        encode_cpu(&regs[i], p);
        p += KG_HVM_CPU_LEN;
    }
    put_desc(p, KG_HVM_CODE_END, 0, 0);
    return 0;
}

static int check_header(const uint8_t *b, size_t len, struct kg_hvm_save_info *info,
                        char *why, size_t whylen)
{
    if (len < DESC_LEN + HDR_LEN)
        BAD(-EBADMSG, "%zu bytes cannot hold the save header", len);
    if (kg_le16(b) != KG_HVM_CODE_HEADER || kg_le16(b + 2) != 0 || kg_le32(b + 4) != HDR_LEN)
        BAD(-EBADMSG, "first descriptor is type %u instance %u length %u, expected the "
            "%u-byte HEADER", kg_le16(b), kg_le16(b + 2), kg_le32(b + 4), HDR_LEN);
    if (kg_le32(b + 8) != KG_HVM_FILE_MAGIC)
        BAD(-EBADMSG, "save header magic 0x%08x, expected 0x%08x", kg_le32(b + 8),
            KG_HVM_FILE_MAGIC);
    if (kg_le32(b + 12) != KG_HVM_FILE_VERSION)
        BAD(-EBADMSG, "save header version %u, expected %u", kg_le32(b + 12),
            KG_HVM_FILE_VERSION);
    if (info) {
        info->changeset = kg_le64(b + 16);
        info->cpuid = kg_le32(b + 24);
        info->gtsc_khz = kg_le32(b + 28);
    }
    return 0;
}

static int check_cpu(uint16_t inst, uint32_t dlen, uint32_t max_vcpus, uint8_t *seen,
                     char *why, size_t whylen, size_t at)
{
    if (dlen != KG_HVM_CPU_LEN && dlen != KG_HVM_CPU_COMPAT_LEN)
        BAD(-EBADMSG, "CPU record at blob offset %zu has length %u, expected %u or %u", at,
            dlen, KG_HVM_CPU_LEN, KG_HVM_CPU_COMPAT_LEN);
    if (inst >= max_vcpus)
        BAD(-ERANGE, "CPU record at blob offset %zu is for vCPU %u, limit is %u", at, inst,
            max_vcpus);
    if (seen[inst / 8] & (1u << (inst % 8)))
        BAD(-EBADMSG, "second CPU record for vCPU %u at blob offset %zu", inst, at);
    seen[inst / 8] |= (uint8_t)(1u << (inst % 8));
    return 0;
}

int kg_hvmctx_validate(const uint8_t *b, size_t len, uint32_t max_vcpus,
                       struct kg_hvm_save_info *info, uint32_t *nr_cpus, char *why,
                       size_t whylen)
{
    uint8_t seen[65536 / 8];
    size_t pos = DESC_LEN + HDR_LEN;
    uint32_t n = 0;
    int rc;

    if (!b)
        BAD(-EINVAL, "no blob");
    rc = check_header(b, len, info, why, whylen);
    if (rc)
        return rc;
    if (max_vcpus > 65536)
        max_vcpus = 65536;
    memset(seen, 0, sizeof seen);
    for (;;) {
        uint16_t code, inst;
        uint32_t dlen;

        if (len - pos < DESC_LEN)
            BAD(-EBADMSG, "blob ends at offset %zu without an END descriptor", len);
        code = kg_le16(b + pos);
        inst = kg_le16(b + pos + 2);
        dlen = kg_le32(b + pos + 4);
        if (dlen > len - pos - DESC_LEN)
            BAD(-EBADMSG, "descriptor at blob offset %zu (type %u) claims %u bytes, only %zu "
                "remain", pos, code, dlen, len - pos - DESC_LEN);
        if (code == KG_HVM_CODE_END) {
            if (dlen)
                BAD(-EBADMSG, "END descriptor at blob offset %zu has length %u", pos, dlen);
            if (pos + DESC_LEN != len)
                BAD(-EBADMSG, "%zu bytes follow the END descriptor", len - pos - DESC_LEN);
            break;
        }
        if (code == KG_HVM_CODE_HEADER)
            BAD(-EBADMSG, "second save header at blob offset %zu", pos);
        if (code == KG_HVM_CODE_CPU) {
            rc = check_cpu(inst, dlen, max_vcpus, seen, why, whylen, pos);
            if (rc)
                return rc;
            n++;
        }
        pos += DESC_LEN + dlen;  /* other device records: skipped */
    }
    if (nr_cpus)
        *nr_cpus = n;
    return 0;
}

/* Walk a validated blob to the CPU record matching (by vCPU id or by position). */
static int find_cpu(const uint8_t *b, size_t len, int by_id, uint32_t want, uint32_t *id_out,
                    struct kg_vcpu_regs *regs)
{
    char why[200];
    size_t pos = DESC_LEN + HDR_LEN;
    uint32_t n = 0;

    if (!regs || kg_hvmctx_validate(b, len, 65536, NULL, NULL, why, sizeof why))
        return -EINVAL;
    while (kg_le16(b + pos) != KG_HVM_CODE_END) {
        uint32_t dlen = kg_le32(b + pos + 4);
        uint16_t inst = kg_le16(b + pos + 2);

        if (kg_le16(b + pos) == KG_HVM_CODE_CPU) {
            if (by_id ? inst == want : n == want) {
                decode_cpu(b + pos + DESC_LEN, regs);
                if (id_out)
                    *id_out = inst;
                return 0;
            }
            n++;
        }
        pos += DESC_LEN + dlen;
    }
    return -ENOENT;
}

int kg_hvmctx_get_vcpu(const uint8_t *b, size_t len, uint32_t vcpu_id, struct kg_vcpu_regs *regs)
{
    return find_cpu(b, len, 1, vcpu_id, NULL, regs);
}

int kg_hvmctx_get_nth(const uint8_t *b, size_t len, uint32_t n, uint32_t *vcpu_id,
                      struct kg_vcpu_regs *regs)
{
    return find_cpu(b, len, 0, n, vcpu_id, regs);
}
