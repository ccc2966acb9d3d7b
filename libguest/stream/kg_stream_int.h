/* kg_stream_int.h - internals shared by the stream writer and reader: byte-order helpers,
 * error recording and the record-order state machine (order.c) both sides enforce. */
#ifndef KEEL_KG_STREAM_INT_H
#define KEEL_KG_STREAM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kg_stream.h"

static inline void kg_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void kg_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void kg_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void kg_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void kg_put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * (3 - i)));
}
static inline void kg_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * (7 - i)));
}
static inline uint16_t kg_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t kg_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t kg_le64(const uint8_t *p) { return kg_le32(p) | (uint64_t)kg_le32(p + 4) << 32; }
static inline uint16_t kg_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t kg_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline uint64_t kg_be64(const uint8_t *p) { return (uint64_t)kg_be32(p) << 32 | kg_be32(p + 4); }

static inline uint32_t kg_pad8(uint32_t len) { return (KG_REC_ALIGN - (len & 7)) & 7; }

#define KG_IHDR_MARKER UINT64_C(0xFFFFFFFFFFFFFFFF)
#define KG_IHDR_ID 0x58454E46u
#define KG_IHDR_LEN 24
#define KG_DHDR_LEN 16
#define KG_LIBXL_IDENT UINT64_C(0x4c6962786c466d74)
#define KG_LIBXL_VERSION 2u
#define KG_LIBXL_HDR_LEN 16
#define KG_XL_BYTEORDER 0x01020304u

/* Record an error: message "what" prefixed with layer, record index/type and offset. */
void kg_error_set(struct kg_stream_error *e, int code, enum kg_layer layer, uint64_t offset,
                  int64_t index, uint32_t type, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* ---- record order (order.c) ---- */

enum kg_stage {
    KG_STAGE_XL_HDR, KG_STAGE_LIBXL_HDR, KG_STAGE_IMAGE_HDR, KG_STAGE_DOMAIN_HDR,
    KG_STAGE_LIBXC, KG_STAGE_LIBXL, KG_STAGE_DONE,
};

struct kg_order {
    enum kg_stream_format format;
    enum kg_stage stage;
    uint32_t version, dom_type;
    bool backchannel;
    bool xen_order;     /* also accept HVM_CONTEXT before HVM_PARAMS, as Xen's saver writes */
    bool static_done;
    bool seen_libxc_context, in_checkpoint;
    bool pv_info, pv_p2m, pv_pages;
    bool sect_params, sect_context, sect_any; /* per checkpoint section */
    uint64_t checkpoints;
};

void kg_order_init(struct kg_order *o, enum kg_stream_format fmt, bool backchannel);
/* The layer whose records are expected now. */
enum kg_layer kg_order_layer(const struct kg_order *o);
/* Check that a record of this type may come now and advance; -EPROTO (why filled) if not. */
int kg_order_libxc(struct kg_order *o, uint32_t type, char *why, size_t whylen);
int kg_order_libxl(struct kg_order *o, uint32_t type, char *why, size_t whylen);
/* Headers. */
void kg_order_after_image(struct kg_order *o, uint32_t version);
void kg_order_after_domain(struct kg_order *o, uint32_t dom_type);
/* True if this libxc type is one the spec defines (for unknown-type handling). */
bool kg_rec_known(uint32_t type);
bool kg_xlrec_known(uint32_t type);

/* ---- record body checks (records.c) shared by writer and reader ---- */
struct kg_body_limits {
    uint64_t max_pfn;
    uint32_t max_batch, max_vcpus, dom_type;
};
/* Validate a libxc record body; fills the decoded union of *item where it applies. The item's
 * decoded arrays point into *scratch (grown as needed, owned by the caller). */
struct kg_scratch { void *buf; size_t cap; };
int kg_check_libxc_body(const struct kg_body_limits *lim, uint32_t type, const uint8_t *body,
                        uint32_t len, struct kg_stream_item *item, struct kg_scratch *scratch,
                        char *why, size_t whylen);
int kg_check_libxl_body(uint32_t type, const uint8_t *body, uint32_t len,
                        struct kg_stream_item *item, char *why, size_t whylen);
/* PAGE_DATA header and pfn array only (len = 8 + 8 * count). */
int kg_check_page_batch(const struct kg_body_limits *lim, const uint8_t *b, uint32_t len,
                        uint64_t **entries, uint32_t *npages, struct kg_scratch *s,
                        char *why, size_t whylen);
void kg_scratch_free(struct kg_scratch *s);

#endif
