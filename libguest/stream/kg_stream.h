/* kg_stream.h - Keel's migration v2 stream: writer, validating reader, HVM context codec.
 *
 * Implements the formats of Xen's docs/specs/libxc-migration-stream.pandoc (image version 3),
 * docs/specs/libxl-migration-stream.pandoc (version 2) and the xl save-file preamble that
 * precedes them in `xl save` images. A Keel domain is written as an x86 HVM domain (a PV guest
 * in an HVM-type container, like PVH); its vCPU state travels in HVM_CONTEXT as Xen's public
 * HVM save records (save header, one CPU record per vCPU, END).
 *
 * All functions return 0 or a negative errno. Readers and writers record the failing byte
 * offset, record index and reason in a struct kg_stream_error (kg_stream_*_error()). */
#ifndef KEEL_KG_STREAM_H
#define KEEL_KG_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* ---- format constants (values from the Xen specifications) ---- */

#define KG_PAGE_SHIFT 12
#define KG_PAGE_SIZE 4096u
#define KG_REC_ALIGN 8u
#define KG_REC_LENGTH_MAX (128u << 20)  /* largest record body accepted and written */
#define KG_MAX_BATCH 1024u              /* pages per PAGE_DATA record (Xen's MAX_BATCH_SIZE) */
#define KG_REC_OPTIONAL 0x80000000u     /* type bit 31: record may be skipped if unknown */

enum kg_dom_type { KG_DOM_X86_PV = 1, KG_DOM_X86_HVM = 2 };

/* libxc record types */
enum kg_rec_type {
    KG_REC_END = 0x00,
    KG_REC_PAGE_DATA = 0x01,
    KG_REC_X86_PV_INFO = 0x02,
    KG_REC_X86_PV_P2M_FRAMES = 0x03,
    KG_REC_X86_PV_VCPU_BASIC = 0x04,
    KG_REC_X86_PV_VCPU_EXTENDED = 0x05,
    KG_REC_X86_PV_VCPU_XSAVE = 0x06,
    KG_REC_SHARED_INFO = 0x07,
    KG_REC_X86_TSC_INFO = 0x08,
    KG_REC_HVM_CONTEXT = 0x09,
    KG_REC_HVM_PARAMS = 0x0A,
    KG_REC_TOOLSTACK = 0x0B,
    KG_REC_X86_PV_VCPU_MSRS = 0x0C,
    KG_REC_VERIFY = 0x0D,
    KG_REC_CHECKPOINT = 0x0E,
    KG_REC_CHECKPOINT_DIRTY_PFN_LIST = 0x0F,
    KG_REC_STATIC_DATA_END = 0x10,
    KG_REC_X86_CPUID_POLICY = 0x11,
    KG_REC_X86_MSR_POLICY = 0x12,
};

/* libxl record types */
enum kg_xlrec_type {
    KG_XLREC_END = 0,
    KG_XLREC_LIBXC_CONTEXT = 1,
    KG_XLREC_EMULATOR_XENSTORE_DATA = 2,
    KG_XLREC_EMULATOR_CONTEXT = 3,
    KG_XLREC_CHECKPOINT_END = 4,
    KG_XLREC_CHECKPOINT_STATE = 5,
};

/* PAGE_DATA pfn entries: bits 63-60 type, 59-52 reserved (zero), 51-0 pfn. */
#define KG_PFN_MASK ((UINT64_C(1) << 52) - 1)
#define KG_PFN_RESERVED_MASK (((UINT64_C(1) << 60) - 1) & ~KG_PFN_MASK)
#define KG_PFN_TYPE_SHIFT 60
#define KG_PFN(e) ((e) & KG_PFN_MASK)
#define KG_PFN_TYPE(e) ((unsigned)((e) >> KG_PFN_TYPE_SHIFT))
#define KG_PFN_ENTRY(pfn, type) (((uint64_t)(type) << KG_PFN_TYPE_SHIFT) | ((pfn) & KG_PFN_MASK))
enum kg_pfn_type {
    KG_PFINFO_NOTAB = 0x0, KG_PFINFO_L1TAB = 0x1, KG_PFINFO_L2TAB = 0x2, KG_PFINFO_L3TAB = 0x3,
    KG_PFINFO_L4TAB = 0x4, KG_PFINFO_L1TAB_PIN = 0x9, KG_PFINFO_L2TAB_PIN = 0xA,
    KG_PFINFO_L3TAB_PIN = 0xB, KG_PFINFO_L4TAB_PIN = 0xC, KG_PFINFO_BROKEN = 0xD,
    KG_PFINFO_XALLOC = 0xE, KG_PFINFO_XTAB = 0xF,
};
/* 1 if a pfn of this type carries page contents, 0 if not, -1 if the type is reserved. */
int kg_pfn_type_has_data(unsigned type);

/* HVM parameter indices (xen/include/public/hvm/params.h) Keel uses. */
enum kg_hvm_param_index {
    KG_HVM_PARAM_STORE_PFN = 1, KG_HVM_PARAM_STORE_EVTCHN = 2,
    KG_HVM_PARAM_CONSOLE_PFN = 17, KG_HVM_PARAM_CONSOLE_EVTCHN = 18,
};

/* xl save-file preamble flags (tools/xl/xl.h). */
#define KG_XL_MANDATORY_FLAG_JSON 1u
#define KG_XL_MANDATORY_FLAG_STREAMV2 2u
#define KG_XL_MAGIC_LEN 32
#define KG_XL_HEADER_LEN 48
extern const char kg_xl_magic[KG_XL_MAGIC_LEN];

/* ---- errors ---- */

enum kg_layer { KG_LAYER_XL = 0, KG_LAYER_LIBXL = 1, KG_LAYER_LIBXC = 2 };

struct kg_stream_error {
    int code;            /* negative errno, 0 if none */
    uint64_t offset;     /* byte offset in the stream of the item at fault */
    int64_t index;       /* record index within its layer, -1 for headers */
    enum kg_layer layer;
    uint32_t type;       /* record type at fault (valid when index >= 0) */
    char msg[320];       /* complete human-readable description incl. offset and index */
};

/* ---- sinks: where a writer's bytes go ---- */

struct kg_sink;
/* Callback sink: must consume all iovcnt vectors or return a negative errno. */
typedef int (*kg_sink_fn)(void *opaque, const struct iovec *iov, int iovcnt);

int kg_sink_new_fd(int fd, struct kg_sink **out);                /* fd stays the caller's */
int kg_sink_new_callback(kg_sink_fn fn, void *opaque, struct kg_sink **out);
int kg_sink_new_memory(struct kg_sink **out);                    /* growable buffer */
const uint8_t *kg_sink_memory_data(const struct kg_sink *s, size_t *len);
uint64_t kg_sink_offset(const struct kg_sink *s);               /* bytes written so far */
/* An fd sink: iovecs lying inside [base, base + len), a shared mapping of file fd from offset 0,
 * are written from the file in the kernel (sendfile) instead of through the mapping, so pages
 * are neither faulted in nor copied through user space. fd stays the caller's. */
int kg_sink_set_file_map(struct kg_sink *s, const void *base, size_t len, int fd);
int kg_sink_write(struct kg_sink *s, const struct iovec *iov, int iovcnt);
void kg_sink_free(struct kg_sink *s);

/* ---- sources: where a reader's bytes come from ---- */

struct kg_source;
/* Callback source: read up to len bytes; return count, 0 at end of stream, or -errno. */
typedef ssize_t (*kg_source_fn)(void *opaque, void *buf, size_t len);

int kg_source_new_fd(int fd, struct kg_source **out);
int kg_source_new_callback(kg_source_fn fn, void *opaque, struct kg_source **out);
int kg_source_new_memory(const void *data, size_t len, struct kg_source **out); /* not copied */
uint64_t kg_source_offset(const struct kg_source *s);           /* bytes consumed so far */
/* Read exactly len bytes; returns len, or fewer at end of stream, or -errno. */
ssize_t kg_source_read(struct kg_source *s, void *buf, size_t len);
/* Scatter read: fills the vectors in order; returns the total, fewer at end, or -errno. */
ssize_t kg_source_readv(struct kg_source *s, const struct iovec *iov, int cnt);
/* Pass over len bytes (fd sources: buffered ones, then lseek; beyond a regular file's end:
 * -ENODATA; a descriptor that cannot seek: -ESPIPE). */
int kg_source_skip(struct kg_source *s, uint64_t len);
void kg_source_free(struct kg_source *s);

/* ---- neutral x86-64 vCPU state and the HVM context blob ---- */

struct kg_vcpu_regs {
    uint64_t rax, rbx, rcx, rdx, rbp, rsi, rdi, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
    uint16_t cs, ds, es, fs, gs, ss;         /* segment selectors */
    uint64_t fs_base, gs_base, kernel_gs_base;
    uint64_t cr0, cr2, cr3, cr4, efer;
    uint8_t fxsave[512];                     /* FXSAVE image (legacy x87/SSE area) */
};

struct kg_hvm_save_info {
    uint32_t cpuid;       /* CPUID.1:EAX of the saving host */
    uint32_t gtsc_khz;    /* guest TSC frequency */
    uint64_t changeset;
};

#define KG_HVM_FILE_MAGIC 0x54381286u
#define KG_HVM_FILE_VERSION 1u
#define KG_HVM_CODE_END 0
#define KG_HVM_CODE_HEADER 1
#define KG_HVM_CODE_CPU 2
#define KG_HVM_CPU_LEN 1032u         /* sizeof(struct hvm_hw_cpu) */
#define KG_HVM_CPU_COMPAT_LEN 1016u  /* pre-3.4 layout without msr_tsc_aux and flags */

/* Size of the blob kg_hvmctx_encode() writes for nr vCPUs. */
size_t kg_hvmctx_size(uint32_t nr);
/* Encode save header + one CPU record per vCPU (instance = vcpu_ids[i], or i if NULL) + END. */
int kg_hvmctx_encode(const struct kg_hvm_save_info *info, const struct kg_vcpu_regs *regs,
                     const uint32_t *vcpu_ids, uint32_t nr, uint8_t *buf, size_t buflen);
/* Validate a blob (structure, header, CPU records, instances < max_vcpus, END last).
 * On success fills *info (may be NULL) and *nr_cpus (number of CPU records). */
int kg_hvmctx_validate(const uint8_t *blob, size_t len, uint32_t max_vcpus,
                       struct kg_hvm_save_info *info, uint32_t *nr_cpus,
                       char *why, size_t whylen);
/* Decode the CPU record of vCPU vcpu_id from a validated blob; -ENOENT if absent. */
int kg_hvmctx_get_vcpu(const uint8_t *blob, size_t len, uint32_t vcpu_id,
                       struct kg_vcpu_regs *regs);
/* Decode the n-th CPU record (in blob order); fills *vcpu_id with its instance. */
int kg_hvmctx_get_nth(const uint8_t *blob, size_t len, uint32_t n, uint32_t *vcpu_id,
                      struct kg_vcpu_regs *regs);

/* ---- record payload types ---- */

struct kg_tsc_info { uint32_t mode, khz; uint64_t nsec; uint32_t incarnation; };
struct kg_hvm_param { uint64_t index, value; };
struct kg_cpuid_leaf { uint32_t leaf, subleaf, a, b, c, d; };
struct kg_msr_entry { uint32_t idx, flags; uint64_t val; };

/* xl save-file preamble */
struct kg_xl_header {
    uint32_t mandatory_flags;
    uint32_t optional_flags;
    uint32_t optional_data_len;
    const char *config;       /* JSON domain config incl. its NUL, or NULL */
    uint32_t config_len;      /* bytes incl. NUL; 0 if none */
};
/* Encode the preamble for a v2 stream with the given config (JSON text, may be NULL).
 * *out is malloc'd; free it. */
int kg_xlhdr_encode(const char *json_config, uint8_t **out, size_t *len);
/* Parse a preamble from buf. Returns 0 and *consumed when complete, -EAGAIN with
 * *consumed = bytes needed when buf is too short, or another -errno (why says what). The
 * config pointer of *hdr points into buf. */
int kg_xlhdr_parse(const uint8_t *buf, size_t len, struct kg_xl_header *hdr, size_t *consumed,
                   char *why, size_t whylen);

/* ---- writer ---- */

enum kg_stream_format { KG_FMT_LIBXC = 0, KG_FMT_LIBXL = 1, KG_FMT_XL = 2, KG_FMT_AUTO = 3 };

struct kg_stream_writer_opts {
    enum kg_stream_format format;  /* LIBXC, LIBXL (libxl header around libxc) or XL */
    uint32_t version;              /* libxc image version: 3 (default if 0) or 2 */
    uint32_t dom_type;             /* KG_DOM_X86_HVM (default if 0) */
    uint32_t xen_major, xen_minor; /* written in the domain header (default 4.21) */
    uint64_t max_pfn;              /* refuse pfns above this (0: no limit but 52 bits) */
    const char *xl_config;         /* JSON domain config for the XL preamble, or NULL */
    unsigned flags;                /* KG_WRITE_* */
};
#define KG_WRITE_BACKCHANNEL 1u    /* allow CHECKPOINT_DIRTY_PFN_LIST (COLO back channel) */

struct kg_stream_writer;
int kg_stream_writer_new(struct kg_sink *sink, const struct kg_stream_writer_opts *opts,
                         struct kg_stream_writer **out);
void kg_stream_writer_free(struct kg_stream_writer *w);
const struct kg_stream_error *kg_stream_writer_error(const struct kg_stream_writer *w);

/* Preamble, libxl header, LIBXC_CONTEXT, image and domain headers as the format needs. */
int kg_stream_write_begin(struct kg_stream_writer *w);
int kg_stream_write_cpuid_policy(struct kg_stream_writer *w, const struct kg_cpuid_leaf *l,
                                 uint32_t n);
int kg_stream_write_msr_policy(struct kg_stream_writer *w, const struct kg_msr_entry *e,
                               uint32_t n);
int kg_stream_write_static_data_end(struct kg_stream_writer *w);
/* One PAGE_DATA record: entries[i] = KG_PFN_ENTRY(pfn, type); pages[i] the contents for
 * types that carry data (ignored otherwise). 1 <= count <= KG_MAX_BATCH. Page contents are
 * handed to the sink without a copy. */
int kg_stream_write_page_data(struct kg_stream_writer *w, const uint64_t *entries,
                              const void *const *pages, uint32_t count);
int kg_stream_write_tsc_info(struct kg_stream_writer *w, const struct kg_tsc_info *t);
int kg_stream_write_hvm_params(struct kg_stream_writer *w, const struct kg_hvm_param *p,
                               uint32_t n);
/* HVM_CONTEXT from a ready blob (validated first) or built from vCPU registers. */
int kg_stream_write_hvm_context(struct kg_stream_writer *w, const uint8_t *blob, size_t len);
int kg_stream_write_vcpus(struct kg_stream_writer *w, const struct kg_hvm_save_info *info,
                          const struct kg_vcpu_regs *regs, const uint32_t *vcpu_ids,
                          uint32_t nr);
/* libxc CHECKPOINT; in a libxl/xl stream the caller then writes its libxl checkpoint records
 * and kg_stream_write_checkpoint_end(). */
int kg_stream_write_checkpoint(struct kg_stream_writer *w);
/* An optional record (type has bit 31 set and is not a known type) with the given body, in
 * the libxc layer: readers that do not know it skip it. */
int kg_stream_write_optional(struct kg_stream_writer *w, uint32_t type, const void *body,
                             size_t len);
int kg_stream_write_checkpoint_end(struct kg_stream_writer *w);
/* Back-channel only (COLO secondary to primary). */
int kg_stream_write_dirty_pfn_list(struct kg_stream_writer *w, const uint64_t *pfns,
                                   uint32_t n);
/* libxl EMULATOR_XENSTORE_DATA / EMULATOR_CONTEXT (type is the libxl record type). */
int kg_stream_write_emulator(struct kg_stream_writer *w, uint32_t type, uint32_t emulator_id,
                             uint32_t index, const void *data, size_t len);
/* LIBXL/XL streams: the libxc END alone, so libxl records (EMULATOR_*) can follow. */
int kg_stream_write_libxc_end(struct kg_stream_writer *w);
/* libxc END, then libxl END for LIBXL/XL streams. */
int kg_stream_write_end(struct kg_stream_writer *w);
uint64_t kg_stream_writer_offset(const struct kg_stream_writer *w);

/* ---- reader ---- */

#define KG_READ_BACKCHANNEL 1u  /* accept CHECKPOINT_DIRTY_PFN_LIST and CHECKPOINT_STATE */
/* Accept HVM_CONTEXT before HVM_PARAMS in a section: the spec says parameters come first, but
 * Xen's own saver writes the context first (its restore defers both), so reading streams made
 * by Xen needs this. Each still at most once per checkpoint section. */
#define KG_READ_XEN_ORDER 2u
/* Lazy restore: PAGE_DATA contents are not read but skipped (lseek on a regular file); the
 * item's page_data.data_offset says where they begin in the stream (pages NULL). */
#define KG_READ_PAGE_OFFSETS 4u

/* Optional page placement for restore: called for each data-carrying pfn of a PAGE_DATA
 * record after its header, pfns, length and order have been validated; returns where the
 * 4096 bytes of that page go (e.g. the guest's memory), or NULL to refuse the pfn (the read
 * fails with -ERANGE). The contents are then read straight there (one readv per record on fd
 * sources) and the item's page_data.pages is NULL. */
typedef void *(*kg_page_dest_fn)(void *opaque, uint64_t pfn, unsigned type);

struct kg_stream_reader_opts {
    enum kg_stream_format format;  /* AUTO detects xl / libxl / libxc from the first bytes */
    uint64_t max_pfn;              /* pfns above are rejected (0: 52-bit limit only) */
    uint32_t max_batch;            /* PAGE_DATA count limit (0: KG_MAX_BATCH) */
    uint32_t max_vcpus;            /* CPU record instance limit (0: 4096) */
    uint32_t max_record;           /* record body limit (0: KG_REC_LENGTH_MAX) */
    uint32_t max_xl_optional;      /* xl optional data limit (0: 16 MiB) */
    unsigned flags;                /* KG_READ_* */
    kg_page_dest_fn page_dest;     /* NULL: page contents stay in the item */
    void *page_opaque;
};

enum kg_item_kind {
    KG_ITEM_XL_HEADER, KG_ITEM_LIBXL_HEADER, KG_ITEM_IMAGE_HEADER, KG_ITEM_DOMAIN_HEADER,
    KG_ITEM_RECORD,
};

/* One decoded item; pointers stay valid until the next kg_stream_read(). */
struct kg_stream_item {
    enum kg_item_kind kind;
    enum kg_layer layer;
    uint64_t offset;        /* byte offset of the item */
    uint64_t size;          /* bytes the item occupies (header + body + padding) */
    int64_t index;          /* record index in its layer; -1 for headers */
    uint32_t type;          /* record type */
    uint32_t length;        /* record body length */
    const uint8_t *body;    /* record body */
    int skipped;            /* unknown optional record, contents not interpreted */
    union {
        struct kg_xl_header xl;
        struct { uint32_t version; uint16_t options; } image;
        struct { uint32_t type; uint16_t page_shift; uint32_t xen_major, xen_minor; } domain;
        struct { uint32_t version, options; } libxl;
        struct {
            uint32_t count, npages;
            const uint64_t *entries;  /* decoded pfn entries (KG_PFN / KG_PFN_TYPE) */
            const uint8_t *pages;     /* npages * 4096 bytes, in order of data-carrying entries;
                                         NULL if opts.page_dest placed them */
            uint64_t data_offset;     /* KG_READ_PAGE_OFFSETS: stream offset of the first page */
        } page_data;
        struct kg_tsc_info tsc;
        struct { uint32_t count; const struct kg_hvm_param *params; } hvm_params;
        struct { struct kg_hvm_save_info info; uint32_t nr_cpus; } hvm_context;
        struct { uint32_t count; const struct kg_cpuid_leaf *leaves; } cpuid;
        struct { uint32_t count; const struct kg_msr_entry *entries; } msr;
        struct { uint32_t count; const uint64_t *pfns; } dirty;
        struct { uint8_t guest_width, pt_levels; } pv_info;
        struct { uint32_t vcpu_id; } pv_vcpu;
        struct { uint32_t start, end; } p2m;
        struct { uint32_t emulator_id, index; } emulator;
        struct { uint32_t control_id; } checkpoint_state;
    } u;
};

struct kg_stream_reader;
int kg_stream_reader_new(struct kg_source *src, const struct kg_stream_reader_opts *opts,
                         struct kg_stream_reader **out);
void kg_stream_reader_free(struct kg_stream_reader *r);
/* Next item: 0 with *item filled, 1 when the stream's final END has already been returned,
 * or a negative errno (then kg_stream_reader_error() says where and what). */
int kg_stream_read(struct kg_stream_reader *r, struct kg_stream_item *item);
/* After the final END: -EBADMSG if any byte follows. */
int kg_stream_reader_expect_eof(struct kg_stream_reader *r);
const struct kg_stream_error *kg_stream_reader_error(const struct kg_stream_reader *r);
/* The format being read (after AUTO detection) and the libxc domain type (0 before). */
enum kg_stream_format kg_stream_reader_format(const struct kg_stream_reader *r);

/* ---- names ---- */
const char *kg_rec_name(uint32_t type);
const char *kg_xlrec_name(uint32_t type);
const char *kg_pfn_type_name(unsigned type);
const char *kg_layer_name(enum kg_layer l);

#endif
