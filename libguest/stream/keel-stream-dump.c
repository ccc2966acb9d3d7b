/* keel-stream-dump.c - prints every header and record of a migration v2 stream or xl save
 * image with offsets, lengths and decoded fields; exits 1 with the reader's error (offset,
 * record index, reason) on a bad stream, 2 on usage errors. -b: back channel records allowed;
 * -x: Xen's own record order (HVM_CONTEXT before HVM_PARAMS) allowed; -m: highest valid pfn. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kg_stream.h"
#include "klog.h"

static int verbose;

static void print_page_data(const struct kg_stream_item *it)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    unsigned types[16] = { 0 };

    for (uint32_t i = 0; i < it->u.page_data.count; i++) {
        uint64_t e = it->u.page_data.entries[i];

        lo = KG_PFN(e) < lo ? KG_PFN(e) : lo;
        hi = KG_PFN(e) > hi ? KG_PFN(e) : hi;
        types[KG_PFN_TYPE(e)]++;
        if (verbose > 1)
            printf("      pfn[%u] 0x%" PRIx64 " %s\n", i, KG_PFN(e),
                   kg_pfn_type_name(KG_PFN_TYPE(e)));
    }
    printf("    count %u, pages with data %u, pfns 0x%" PRIx64 "..0x%" PRIx64, it->u.page_data.count,
           it->u.page_data.npages, lo, hi);
    for (unsigned t = 0; t < 16; t++)
        if (types[t])
            printf(", %s %u", kg_pfn_type_name(t), types[t]);
    printf("\n");
}

static const char *param_name(uint64_t idx)
{
    switch (idx) {
    case KG_HVM_PARAM_STORE_PFN: return "STORE_PFN";
    case KG_HVM_PARAM_STORE_EVTCHN: return "STORE_EVTCHN";
    case KG_HVM_PARAM_CONSOLE_PFN: return "CONSOLE_PFN";
    case KG_HVM_PARAM_CONSOLE_EVTCHN: return "CONSOLE_EVTCHN";
    default: return "";
    }
}

static void print_hvm_context(const struct kg_stream_item *it)
{
    printf("    save header: cpuid 0x%08x, gtsc %u kHz, changeset 0x%" PRIx64 "; %u CPU records\n",
           it->u.hvm_context.info.cpuid, it->u.hvm_context.info.gtsc_khz,
           it->u.hvm_context.info.changeset, it->u.hvm_context.nr_cpus);
    for (uint32_t n = 0; n < it->u.hvm_context.nr_cpus; n++) {
        struct kg_vcpu_regs v;
        uint32_t id;

        if (kg_hvmctx_get_nth(it->body, it->length, n, &id, &v))
            break;
        printf("    vcpu%u: rip 0x%" PRIx64 " rsp 0x%" PRIx64 " rflags 0x%" PRIx64 " cr3 0x%" PRIx64
               " cs 0x%x ss 0x%x fs_base 0x%" PRIx64 " gs_base 0x%" PRIx64 " efer 0x%" PRIx64 "\n",
               id, v.rip, v.rsp, v.rflags, v.cr3, v.cs, v.ss, v.fs_base, v.gs_base, v.efer);
    }
}

static void print_libxc(const struct kg_stream_item *it)
{
    switch (it->type) {
    case KG_REC_PAGE_DATA: print_page_data(it); break;
    case KG_REC_X86_TSC_INFO:
        printf("    mode %u, %u kHz, nsec %" PRIu64 ", incarnation %u\n", it->u.tsc.mode,
               it->u.tsc.khz, it->u.tsc.nsec, it->u.tsc.incarnation);
        break;
    case KG_REC_HVM_PARAMS:
        for (uint32_t i = 0; i < it->u.hvm_params.count; i++)
            printf("    param %" PRIu64 " %s = 0x%" PRIx64 "\n", it->u.hvm_params.params[i].index,
                   param_name(it->u.hvm_params.params[i].index), it->u.hvm_params.params[i].value);
        break;
    case KG_REC_HVM_CONTEXT: print_hvm_context(it); break;
    case KG_REC_X86_CPUID_POLICY: printf("    %u leaves\n", it->u.cpuid.count); break;
    case KG_REC_X86_MSR_POLICY: printf("    %u MSRs\n", it->u.msr.count); break;
    case KG_REC_CHECKPOINT_DIRTY_PFN_LIST: printf("    %u pfns\n", it->u.dirty.count); break;
    case KG_REC_X86_PV_INFO:
        printf("    guest width %u, %u page-table levels\n", it->u.pv_info.guest_width,
               it->u.pv_info.pt_levels);
        break;
    default: break;
    }
}

static void print_item(const struct kg_stream_item *it)
{
    printf("%08" PRIx64 " ", it->offset);
    switch (it->kind) {
    case KG_ITEM_XL_HEADER:
        printf("xl preamble, %" PRIu64 " bytes: mandatory 0x%x, optional 0x%x, config %u bytes\n",
               it->size, it->u.xl.mandatory_flags, it->u.xl.optional_flags, it->u.xl.config_len);
        if (verbose && it->u.xl.config)
            printf("    config: %s\n", it->u.xl.config);
        return;
    case KG_ITEM_LIBXL_HEADER:
        printf("libxl header: version %u, options 0x%x\n", it->u.libxl.version,
               it->u.libxl.options);
        return;
    case KG_ITEM_IMAGE_HEADER:
        printf("libxc image header: version %u, options 0x%x (little endian)\n",
               it->u.image.version, it->u.image.options);
        return;
    case KG_ITEM_DOMAIN_HEADER:
        printf("libxc domain header: type %u (%s), page shift %u, Xen %u.%u\n",
               it->u.domain.type, it->u.domain.type == KG_DOM_X86_HVM ? "x86 HVM" : "x86 PV",
               it->u.domain.page_shift, it->u.domain.xen_major, it->u.domain.xen_minor);
        return;
    case KG_ITEM_RECORD:
        break;
    }
    printf("%s #%" PRId64 " %s (0x%x) length %u%s\n", kg_layer_name(it->layer), it->index,
           it->layer == KG_LAYER_LIBXL ? kg_xlrec_name(it->type) : kg_rec_name(it->type),
           it->type, it->length, it->skipped ? " (skipped)" : "");
    if (it->layer == KG_LAYER_LIBXC)
        print_libxc(it);
    else if (it->type == KG_XLREC_EMULATOR_CONTEXT || it->type == KG_XLREC_EMULATOR_XENSTORE_DATA)
        printf("    emulator %u, index %u, %u bytes of data\n", it->u.emulator.emulator_id,
               it->u.emulator.index, it->length - 8);
}

static int parse_format(const char *s, enum kg_stream_format *f)
{
    static const char *const names[] = { "libxc", "libxl", "xl", "auto" };

    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *f = (enum kg_stream_format)i;
            return 0;
        }
    return -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: keel-stream-dump [-f libxc|libxl|xl|auto] [-m MAX_PFN] [-b] [-x] [-v]... "
                    "[FILE|-]\n");
}

static int dump(int fd, const struct kg_stream_reader_opts *opts)
{
    struct kg_source *src;
    struct kg_stream_reader *r;
    struct kg_stream_item it;
    int rc;

    if (kg_source_new_fd(fd, &src) || kg_stream_reader_new(src, opts, &r)) {
        klog(KLOG_ERROR, "dump", "out of memory");
        return 2;
    }
    while ((rc = kg_stream_read(r, &it)) == 0)
        print_item(&it);
    if (rc == 1)
        rc = kg_stream_reader_expect_eof(r);
    if (rc < 0)
        klog(KLOG_ERROR, "dump", "%s", kg_stream_reader_error(r)->msg);
    else
        printf("stream OK\n");
    kg_stream_reader_free(r);
    kg_source_free(src);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct kg_stream_reader_opts opts = { .format = KG_FMT_AUTO };
    int c, fd = 0, rc;

    klog_init("keel-stream-dump", KLOG_WARN, NULL);
    while ((c = getopt(argc, argv, "f:m:bxvh")) != -1) {
        switch (c) {
        case 'f':
            if (parse_format(optarg, &opts.format)) {
                usage();
                return 2;
            }
            break;
        case 'm': opts.max_pfn = strtoull(optarg, NULL, 0); break;
        case 'b': opts.flags |= KG_READ_BACKCHANNEL; break;
        case 'x': opts.flags |= KG_READ_XEN_ORDER; break;
        case 'v': verbose++; break;
        default: usage(); return c == 'h' ? 0 : 2;
        }
    }
    if (argc - optind > 1) {
        usage();
        return 2;
    }
    if (optind < argc && strcmp(argv[optind], "-")) {
        fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            klog(KLOG_ERROR, "dump", "%s: %s", argv[optind], strerror(errno));
            return 2;
        }
    }
    rc = dump(fd, &opts);
    if (fd > 0)
        close(fd);
    return rc;
}
