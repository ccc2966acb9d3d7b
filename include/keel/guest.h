/* keel/guest.h - libkeelguest: the domain builder (ELF kernel and ramdisk loading, boot
 * information as a flattened device tree, initial vCPU state). The migration-v2 stream has its
 * own header. Calls return 0 or a negative errno, with a message in err[errlen]. */
#ifndef KEEL_GUEST_BUILD_H
#define KEEL_GUEST_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "keel/ctrl.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KG_BOOT_STACK_SIZE (64 * 1024)
#define KG_FDT_MAX (64 * 1024)

struct kg_elf_info {
    uint64_t entry;              /* virtual address */
    uint64_t load_start;         /* lowest guest physical address loaded */
    uint64_t load_end;           /* first guest physical address after the image (page aligned) */
    unsigned nr_segments;
};

struct kg_build_info {
    const char *kernel;          /* ELF image path */
    const char *ramdisk;         /* optional */
    const char *cmdline;         /* optional */
    uint64_t mem_kb;             /* memory populated at boot */
    uint32_t nr_vcpus;           /* vCPUs online at boot (the guest brings them up) */
    uint32_t max_vcpus;
    /* rings set up by the toolstack for the guest (0 = none) */
    uint64_t console_gfn;
    uint32_t console_port;
    uint64_t store_gfn;
    uint32_t store_port;
};

struct kg_build_result {
    uint64_t entry;
    uint64_t kernel_end;         /* guest physical */
    uint64_t ramdisk_start, ramdisk_size;
    uint64_t fdt_gpa;
    uint64_t stack_top;          /* virtual */
};

/* Validate an ELF64 x86-64 executable against a guest memory of mem_size bytes. */
int kg_elf_check(const uint8_t *img, size_t len, uint64_t mem_size, struct kg_elf_info *info,
                 char *err, size_t errlen);
/* Copy the loadable segments into mem (the guest memory, mapped) and zero their bss. */
void kg_elf_load(const uint8_t *img, uint8_t *mem, const struct kg_elf_info *info);

/* Build the whole boot state of a created, paused domain: populate, load, FDT, vCPU 0. */
int kg_build(kc_handle *h, uint32_t domid, const struct kg_build_info *bi,
             struct kg_build_result *res, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
