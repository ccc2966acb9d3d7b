/* fuzz-reader.c - libFuzzer target for the stream reader: any bytes are read as an
 * auto-detected xl / libxl / libxc stream (the last byte picks back channel, Xen record order and
 * direct page placement) until the end or the first error; every decoded
 * item is touched (pages, parameters, each vCPU of an HVM_CONTEXT) so the sanitizers see
 * every pointer the reader hands out. The error message must always name an offset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kg_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;
static uint8_t guest[16 * KG_PAGE_SIZE];

static void *place(void *opaque, uint64_t pfn, unsigned type)
{
    (void)opaque;
    return pfn < 16 && type != KG_PFINFO_XALLOC ? guest + pfn * KG_PAGE_SIZE : NULL;
}

static void touch(const struct kg_stream_item *it)
{
    if (it->kind != KG_ITEM_RECORD || it->layer != KG_LAYER_LIBXC)
        return;
    if (it->type == KG_REC_PAGE_DATA) {
        for (uint32_t i = 0; i < it->u.page_data.count; i++)
            sink += it->u.page_data.entries[i];
        for (uint32_t p = 0; it->u.page_data.pages && p < it->u.page_data.npages; p++)
            sink += it->u.page_data.pages[(size_t)p * KG_PAGE_SIZE + KG_PAGE_SIZE - 1];
    } else if (it->type == KG_REC_HVM_PARAMS) {
        for (uint32_t i = 0; i < it->u.hvm_params.count; i++)
            sink += it->u.hvm_params.params[i].value;
    } else if (it->type == KG_REC_HVM_CONTEXT) {
        for (uint32_t n = 0; n < it->u.hvm_context.nr_cpus; n++) {
            struct kg_vcpu_regs r;
            uint32_t id;
            if (kg_hvmctx_get_nth(it->body, it->length, n, &id, &r) ||
                kg_hvmctx_get_vcpu(it->body, it->length, id, &r))
                abort();  /* validated blobs must decode */
            sink += r.rip;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kg_stream_reader_opts o = { .format = KG_FMT_AUTO, .max_pfn = 0xfffff,
                                       .max_vcpus = 64, .max_record = 1u << 24 };
    struct kg_source *src;
    struct kg_stream_reader *r;
    struct kg_stream_item it;
    int rc;

    if (size && (data[size - 1] & 1))
        o.flags |= KG_READ_BACKCHANNEL;
    if (size && (data[size - 1] & 4))
        o.flags |= KG_READ_XEN_ORDER;
    if (size && (data[size - 1] & 2)) {  /* also fuzz the direct page placement path */
        o.page_dest = place;
        o.max_pfn = 0xffff;
    }
    if (kg_source_new_memory(data, size, &src))
        return 0;
    if (kg_stream_reader_new(src, &o, &r)) {
        kg_source_free(src);
        return 0;
    }
    while ((rc = kg_stream_read(r, &it)) == 0) {
        if (it.offset + it.size > size)
            abort();  /* an item cannot extend past the input */
        touch(&it);
    }
    if (rc == 1)
        rc = kg_stream_reader_expect_eof(r);
    if (rc < 0 && !strstr(kg_stream_reader_error(r)->msg, "offset"))
        abort();  /* every error names its offset */
    kg_stream_reader_free(r);
    kg_source_free(src);
    return 0;
}
