/* error.c - formats stream errors so every message names layer, record, offset and reason. */
#include <stdarg.h>
#include <stdio.h>

#include "kg_stream_int.h"

void kg_error_set(struct kg_stream_error *e, int code, enum kg_layer layer, uint64_t offset,
                  int64_t index, uint32_t type, const char *fmt, ...)
{
    char what[224];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    e->code = code;
    e->offset = offset;
    e->index = index;
    e->layer = layer;
    e->type = type;
    if (index >= 0)
        snprintf(e->msg, sizeof e->msg, "%s record %lld (%s) at offset %llu (0x%llx): %s",
                 kg_layer_name(layer), (long long)index,
                 layer == KG_LAYER_LIBXL ? kg_xlrec_name(type) : kg_rec_name(type),
                 (unsigned long long)offset, (unsigned long long)offset, what);
    else
        snprintf(e->msg, sizeof e->msg, "%s header at offset %llu (0x%llx): %s",
                 kg_layer_name(layer), (unsigned long long)offset,
                 (unsigned long long)offset, what);
}
