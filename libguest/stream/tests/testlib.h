/* testlib.h - helpers shared by the stream tests: deterministic guest state (pages, vCPU
 * registers, parameters), a writer for a complete HVM stream, and a raw byte builder for
 * hand-made (broken) streams. Header-only. */
#ifndef KG_STREAM_TESTLIB_H
#define KG_STREAM_TESTLIB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kg_stream.h"

static uint64_t tl_rng = 0x9e3779b97f4a7c15ull;

static inline uint64_t tl_rand(void)
{
    tl_rng ^= tl_rng << 13;
    tl_rng ^= tl_rng >> 7;
    tl_rng ^= tl_rng << 17;
    return tl_rng;
}

/* Page contents are a function of the pfn, so readers can verify them. */
static inline void tl_fill_page(uint8_t *p, uint64_t pfn)
{
    for (unsigned i = 0; i < KG_PAGE_SIZE; i += 8) {
        uint64_t v = pfn * 0x100000001b3ull ^ i;
        memcpy(p + i, &v, 8);
    }
}

static inline void tl_fill_regs(struct kg_vcpu_regs *r, unsigned id)
{
    memset(r, 0, sizeof *r);
    r->rax = tl_rand(); r->rbx = tl_rand(); r->rcx = tl_rand(); r->rdx = tl_rand();
    r->rbp = tl_rand(); r->rsi = tl_rand(); r->rdi = tl_rand(); r->rsp = tl_rand();
    r->r8 = tl_rand(); r->r9 = tl_rand(); r->r10 = tl_rand(); r->r11 = tl_rand();
    r->r12 = tl_rand(); r->r13 = tl_rand(); r->r14 = tl_rand(); r->r15 = tl_rand();
    r->rip = tl_rand(); r->rflags = tl_rand();
    r->cs = (uint16_t)(0x33 + id);
    r->ds = r->es = r->ss = 0x2b;
    r->fs = (uint16_t)id;
    r->gs = 0;
    r->fs_base = tl_rand();
    r->gs_base = tl_rand();
    r->kernel_gs_base = tl_rand();
    r->cr0 = 0x80050033;
    r->cr2 = tl_rand();
    r->cr3 = 0x1000 * (id + 1);
    r->cr4 = 0x3506f0;
    r->efer = 0xd01;
    for (unsigned i = 0; i < sizeof r->fxsave; i++)
        r->fxsave[i] = (uint8_t)tl_rand();
}

/* Raw stream builder. */
struct tl_buf { uint8_t *b; size_t len, cap; };

static inline void tl_put(struct tl_buf *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 64;
        s->b = realloc(s->b, s->cap);
        if (!s->b)
            abort();
    }
    if (n)
        memcpy(s->b + s->len, p, n);
    s->len += n;
}

static inline void tl_u16le(struct tl_buf *s, uint16_t v) { uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) }; tl_put(s, b, 2); }
static inline void tl_u32le(struct tl_buf *s, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> 8 * i);
    tl_put(s, b, 4);
}
static inline void tl_u64le(struct tl_buf *s, uint64_t v) { tl_u32le(s, (uint32_t)v); tl_u32le(s, (uint32_t)(v >> 32)); }
static inline void tl_u32be(struct tl_buf *s, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> 8 * (3 - i));
    tl_put(s, b, 4);
}
static inline void tl_u64be(struct tl_buf *s, uint64_t v) { tl_u32be(s, (uint32_t)(v >> 32)); tl_u32be(s, (uint32_t)v); }

static inline void tl_image_hdr(struct tl_buf *s, uint64_t marker, uint32_t id, uint32_t version,
                                uint16_t options)
{
    uint8_t b[2] = { (uint8_t)(options >> 8), (uint8_t)options };

    tl_u64be(s, marker);
    tl_u32be(s, id);
    tl_u32be(s, version);
    tl_put(s, b, 2);
    tl_put(s, "\0\0\0\0\0\0", 6);
}

static inline void tl_domain_hdr(struct tl_buf *s, uint32_t type, uint16_t shift)
{
    tl_u32le(s, type);
    tl_u16le(s, shift);
    tl_u16le(s, 0);
    tl_u32le(s, 4);
    tl_u32le(s, 21);
}

/* Record with explicit padding byte value; returns the record's offset. */
static inline size_t tl_rec_pad(struct tl_buf *s, uint32_t type, const void *body, uint32_t len,
                                uint8_t padbyte)
{
    size_t at = s->len;
    uint8_t pad[8];

    memset(pad, padbyte, sizeof pad);
    tl_u32le(s, type);
    tl_u32le(s, len);
    tl_put(s, body, len);
    tl_put(s, pad, (8 - (len & 7)) & 7);
    return at;
}

static inline size_t tl_rec(struct tl_buf *s, uint32_t type, const void *body, uint32_t len)
{
    return tl_rec_pad(s, type, body, len, 0);
}

/* Valid HVM params body with store/console pfn and event channel. */
static inline size_t tl_rec_params(struct tl_buf *s)
{
    struct tl_buf b = { 0 };
    size_t at;

    tl_u32le(&b, 2);
    tl_u32le(&b, 0);
    tl_u64le(&b, KG_HVM_PARAM_STORE_PFN);
    tl_u64le(&b, 0xfeffe);
    tl_u64le(&b, KG_HVM_PARAM_CONSOLE_PFN);
    tl_u64le(&b, 0xfefff);
    at = tl_rec(s, KG_REC_HVM_PARAMS, b.b, (uint32_t)b.len);
    free(b.b);
    return at;
}

static inline size_t tl_rec_context(struct tl_buf *s, uint32_t nr)
{
    size_t len = kg_hvmctx_size(nr), at;
    struct kg_vcpu_regs *r = calloc(nr ? nr : 1, sizeof *r);
    uint8_t *b = malloc(len);

    for (uint32_t i = 0; i < nr; i++)
        tl_fill_regs(&r[i], i);
    kg_hvmctx_encode(NULL, r, NULL, nr, b, len);
    at = tl_rec(s, KG_REC_HVM_CONTEXT, b, (uint32_t)len);
    free(b);
    free(r);
    return at;
}

/* PAGE_DATA with count NOTAB pages starting at pfn. */
static inline size_t tl_rec_pages(struct tl_buf *s, uint64_t pfn, uint32_t count)
{
    struct tl_buf b = { 0 };
    uint8_t page[KG_PAGE_SIZE];
    size_t at;

    tl_u32le(&b, count);
    tl_u32le(&b, 0);
    for (uint32_t i = 0; i < count; i++)
        tl_u64le(&b, pfn + i);
    for (uint32_t i = 0; i < count; i++) {
        tl_fill_page(page, pfn + i);
        tl_put(&b, page, sizeof page);
    }
    at = tl_rec(s, KG_REC_PAGE_DATA, b.b, (uint32_t)b.len);
    free(b.b);
    return at;
}

/* Headers of a v3 little-endian x86 HVM image. */
static inline void tl_libxc_start(struct tl_buf *s)
{
    tl_image_hdr(s, ~0ull, 0x58454E46u, 3, 0);
    tl_domain_hdr(s, KG_DOM_X86_HVM, 12);
}

/* A complete minimal valid v3 HVM libxc stream. */
static inline void tl_libxc_minimal(struct tl_buf *s)
{
    tl_libxc_start(s);
    tl_rec(s, KG_REC_STATIC_DATA_END, NULL, 0);
    tl_rec_pages(s, 0, 2);
    tl_rec_params(s);
    tl_rec_context(s, 1);
    tl_rec(s, KG_REC_END, NULL, 0);
}

#endif
