/* names.c - printable names of record types, page types and layers. */
#include "kg_stream_int.h"

static const char *const libxc_names[] = {
    "END", "PAGE_DATA", "X86_PV_INFO", "X86_PV_P2M_FRAMES", "X86_PV_VCPU_BASIC",
    "X86_PV_VCPU_EXTENDED", "X86_PV_VCPU_XSAVE", "SHARED_INFO", "X86_TSC_INFO",
    "HVM_CONTEXT", "HVM_PARAMS", "TOOLSTACK", "X86_PV_VCPU_MSRS", "VERIFY", "CHECKPOINT",
    "CHECKPOINT_DIRTY_PFN_LIST", "STATIC_DATA_END", "X86_CPUID_POLICY", "X86_MSR_POLICY",
};

static const char *const libxl_names[] = {
    "END", "LIBXC_CONTEXT", "EMULATOR_XENSTORE_DATA", "EMULATOR_CONTEXT", "CHECKPOINT_END",
    "CHECKPOINT_STATE",
};

static const char *const pfn_names[16] = {
    "NOTAB", "L1TAB", "L2TAB", "L3TAB", "L4TAB", "RESERVED5", "RESERVED6", "RESERVED7",
    "RESERVED8", "L1TAB_PIN", "L2TAB_PIN", "L3TAB_PIN", "L4TAB_PIN", "BROKEN", "XALLOC", "XTAB",
};

const char *kg_rec_name(uint32_t type)
{
    if (type < sizeof libxc_names / sizeof libxc_names[0])
        return libxc_names[type];
    return type & KG_REC_OPTIONAL ? "unknown optional" : "unknown mandatory";
}

const char *kg_xlrec_name(uint32_t type)
{
    if (type < sizeof libxl_names / sizeof libxl_names[0])
        return libxl_names[type];
    return type & KG_REC_OPTIONAL ? "unknown optional" : "unknown mandatory";
}

const char *kg_pfn_type_name(unsigned type)
{
    return pfn_names[type & 0xf];
}

const char *kg_layer_name(enum kg_layer l)
{
    switch (l) {
    case KG_LAYER_XL: return "xl";
    case KG_LAYER_LIBXL: return "libxl";
    case KG_LAYER_LIBXC: return "libxc";
    }
    return "?";
}

bool kg_rec_known(uint32_t type)
{
    return type < sizeof libxc_names / sizeof libxc_names[0];
}

bool kg_xlrec_known(uint32_t type)
{
    return type < sizeof libxl_names / sizeof libxl_names[0];
}

int kg_pfn_type_has_data(unsigned type)
{
    if (type >= 5 && type <= 8)
        return -1;
    if (type > 0xf)
        return -1;
    return (type & 0x7) <= 4 && type < KG_PFINFO_BROKEN;
}
