/* kg_build.c - the domain builder: populates a created (paused) domain's memory, loads its ELF
 * kernel and ramdisk, writes the boot information as a flattened device tree (libfdt) and sets
 * vCPU 0's initial state. Guest physical layout: kernel at its link address, then the ramdisk,
 * the boot stack and the device tree, each page aligned. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/guest.h"
#include "kg_err.h"

#define PAGE_UP(x) (((x) + KEEL_PAGE_SIZE - 1) & ~(KEEL_PAGE_SIZE - 1))


/* Read a whole file (at most max bytes) into memory. */
static int slurp(const char *path, size_t max, uint8_t **out, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        int e = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
        close(fd);
        return e;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
        free(buf);
        close(fd);
        return -EIO;
    }
    close(fd);
    *out = buf;
    *len = (size_t)st.st_size;
    return 0;
}

static int fdt_u32(void *fdt, const char *name, uint32_t v)
{
    return fdt_property_u32(fdt, name, v);
}

static int fdt_u64(void *fdt, const char *name, uint64_t v)
{
    return fdt_property_u64(fdt, name, v);
}

static int build_fdt(void *fdt, const struct kg_build_info *bi, uint32_t domid, uint64_t mem,
                     const struct kg_build_result *res)
{
    int rc = 0;

    rc |= fdt_create(fdt, KG_FDT_MAX);
    rc |= fdt_finish_reservemap(fdt);
    rc |= fdt_begin_node(fdt, "");
    rc |= fdt_property_string(fdt, "compatible", "keel,pv-domain");
    rc |= fdt_u32(fdt, "#address-cells", 2);
    rc |= fdt_u32(fdt, "#size-cells", 2);
    rc |= fdt_begin_node(fdt, "chosen");
    rc |= fdt_property_string(fdt, "bootargs", bi->cmdline ? bi->cmdline : "");
    if (res->ramdisk_size) {
        rc |= fdt_u64(fdt, "linux,initrd-start", res->ramdisk_start);
        rc |= fdt_u64(fdt, "linux,initrd-end", res->ramdisk_start + res->ramdisk_size);
    }
    rc |= fdt_end_node(fdt);
    rc |= fdt_begin_node(fdt, "memory@0");
    rc |= fdt_property_string(fdt, "device_type", "memory");
    {
        fdt64_t reg[2] = { cpu_to_fdt64(0), cpu_to_fdt64(mem) };
        rc |= fdt_property(fdt, "reg", reg, sizeof(reg));
    }
    rc |= fdt_end_node(fdt);
    rc |= fdt_begin_node(fdt, "cpus");
    rc |= fdt_u32(fdt, "keel,max-vcpus", bi->max_vcpus);
    rc |= fdt_u32(fdt, "keel,boot-vcpus", bi->nr_vcpus);
    rc |= fdt_end_node(fdt);
    rc |= fdt_begin_node(fdt, "hypervisor");
    rc |= fdt_property_string(fdt, "compatible", "keel,hypervisor");
    rc |= fdt_u32(fdt, "keel,abi-version", KEEL_ABI_VERSION);
    rc |= fdt_u32(fdt, "keel,domid", domid);
    rc |= fdt_u64(fdt, "keel,hypercall-entry", KEEL_HYPERCALL_ENTRY);
    rc |= fdt_u64(fdt, "keel,shared-info", KEEL_SHARED_BASE);
    if (bi->console_gfn) {
        rc |= fdt_u64(fdt, "keel,console-gfn", bi->console_gfn);
        rc |= fdt_u32(fdt, "keel,console-port", bi->console_port);
    }
    if (bi->store_gfn) {
        rc |= fdt_u64(fdt, "keel,store-gfn", bi->store_gfn);
        rc |= fdt_u32(fdt, "keel,store-port", bi->store_port);
    }
    rc |= fdt_end_node(fdt);
    rc |= fdt_end_node(fdt);
    rc |= fdt_finish(fdt);
    return rc ? -ENOSPC : 0;
}

/* Lay out kernel, ramdisk, stack and FDT; everything must fit in mem bytes. */
static int layout(const struct kg_elf_info *ei, size_t rd_len, uint64_t mem,
                  struct kg_build_result *res, char *err, size_t errlen)
{
    uint64_t p = ei->load_end;

    res->entry = ei->entry;
    res->kernel_end = ei->load_end;
    res->ramdisk_start = rd_len ? p : 0;
    res->ramdisk_size = rd_len;
    p = PAGE_UP(p + rd_len);
    res->stack_top = KEEL_GUEST_BASE + p + KG_BOOT_STACK_SIZE;
    p += KG_BOOT_STACK_SIZE;
    res->fdt_gpa = p;
    p += KG_FDT_MAX;
    if (p > mem)
        return kg__fail(err, errlen, -ENOSPC, "kernel, ramdisk and boot data need %llu KiB; the "
                    "domain has %llu KiB", (unsigned long long)(p >> 10),
                    (unsigned long long)(mem >> 10));
    return 0;
}

/* The layout ends below the ring frames reserved by kg_rings_setup (if any). */
static uint64_t layout_limit(const struct kg_build_info *bi, uint64_t mem)
{
    if (bi->console_gfn && bi->console_gfn << KEEL_PAGE_SHIFT < mem)
        mem = bi->console_gfn << KEEL_PAGE_SHIFT;
    if (bi->store_gfn && bi->store_gfn << KEEL_PAGE_SHIFT < mem)
        mem = bi->store_gfn << KEEL_PAGE_SHIFT;
    return mem;
}

static int set_boot_vcpu(kc_handle *h, uint32_t domid, const struct kg_build_result *res,
                         char *err, size_t errlen)
{
    struct keel_vcpu_context ctx;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.regs.rip = res->entry;
    ctx.regs.rsp = res->stack_top;
    ctx.regs.rdi = KEEL_GUEST_BASE + res->fdt_gpa;
    ctx.regs.rflags = 0x202;
    if ((rc = kc_vcpu_setcontext(h, domid, 0, &ctx)) < 0)
        return kg__fail(err, errlen, rc, "%s", kc_error(h));
    return 0;
}

static int load_images(uint8_t *mem, uint64_t mem_size, const struct kg_build_info *bi, uint32_t domid,
                       const uint8_t *img, size_t len, const uint8_t *rd, size_t rd_len,
                       struct kg_build_result *res, char *err, size_t errlen)
{
    struct kg_elf_info ei;
    int rc;

    if ((rc = kg_elf_check(img, len, mem_size, &ei, err, errlen)) < 0)
        return rc;
    if ((rc = layout(&ei, rd_len, layout_limit(bi, mem_size), res, err, errlen)) < 0)
        return rc;
    kg_elf_load(img, mem, &ei);
    if (rd_len)
        memcpy(mem + res->ramdisk_start, rd, rd_len);
    if (build_fdt(mem + res->fdt_gpa, bi, domid, mem_size, res) < 0)
        return kg__fail(err, errlen, -ENOSPC, "boot information does not fit in %d bytes", KG_FDT_MAX);
    return 0;
}

int kg_build(kc_handle *h, uint32_t domid, const struct kg_build_info *bi,
             struct kg_build_result *res, char *err, size_t errlen)
{
    uint8_t *img = NULL, *rd = NULL, *mem;
    size_t len = 0, rd_len = 0;
    uint64_t mem_size = bi->mem_kb << 10, frames = mem_size >> KEEL_PAGE_SHIFT;
    int rc;

    if (!bi->kernel || !frames)
        return kg__fail(err, errlen, -EINVAL, "no kernel or no memory given");
    if ((rc = slurp(bi->kernel, mem_size, &img, &len)) < 0)
        return kg__fail(err, errlen, rc, "kernel %s: %s", bi->kernel, strerror(-rc));
    if (bi->ramdisk && (rc = slurp(bi->ramdisk, mem_size, &rd, &rd_len)) < 0) {
        free(img);
        return kg__fail(err, errlen, rc, "ramdisk %s: %s", bi->ramdisk, strerror(-rc));
    }
    if ((rc = kc_populate_physmap(h, domid, 0, frames)) < 0) {
        kg__fail(err, errlen, rc, "%s", kc_error(h));
        goto out;
    }
    if (!(mem = kc_map_foreign(h, domid, PROT_READ | PROT_WRITE, 0, frames))) {
        rc = kg__fail(err, errlen, -errno ? -errno : -EIO, "%s", kc_error(h));
        goto out;
    }
    rc = load_images(mem, mem_size, bi, domid, img, len, rd, rd_len, res, err, errlen);
    kc_unmap_foreign(mem, frames);
    if (rc == 0)
        rc = set_boot_vcpu(h, domid, res, err, errlen);
    if (rc < 0 && err && bi->kernel && !strstr(err, bi->kernel)) {
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "%s", err);
        snprintf(err, errlen, "kernel %s: %s", bi->kernel, tmp);
    }
out:
    free(img);
    free(rd);
    return rc;
}
