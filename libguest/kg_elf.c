/* kg_elf.c - checks and loads a guest's ELF64 x86-64 executable image. Every header field is
 * validated against the file size and the guest's memory before anything is copied. */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keel/guest.h"
#include "kg_err.h"


/* The headers are copied out: the image may sit at any address and e_phoff may be odd, so
 * they are never read in place through a pointer of their type. */
static Elf64_Phdr phdr_at(const uint8_t *img, const Elf64_Ehdr *eh, unsigned i)
{
    Elf64_Phdr ph;

    memcpy(&ph, img + eh->e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
    return ph;
}

static int check_header(const Elf64_Ehdr *eh, size_t len, char *err, size_t errlen)
{
    if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
        return kg__fail(err, errlen, -ENOEXEC, "not an ELF file");
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_machine != EM_X86_64)
        return kg__fail(err, errlen, -ENOEXEC, "not an x86-64 ELF64 image");
    if (eh->e_type != ET_EXEC)
        return kg__fail(err, errlen, -ENOEXEC, "ELF type %u is not an executable", eh->e_type);
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > 64 ||
        eh->e_phoff > len || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
        return kg__fail(err, errlen, -ENOEXEC, "bad program header table (%u entries at %#llx)",
                    eh->e_phnum, (unsigned long long)eh->e_phoff);
    return 0;
}

static int check_segment(const Elf64_Phdr *ph, unsigned i, size_t len, uint64_t mem_size,
                         char *err, size_t errlen)
{
    uint64_t gpa;

    if (ph->p_filesz > ph->p_memsz || ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
        return kg__fail(err, errlen, -ENOEXEC, "segment %u: file range %#llx+%#llx is outside the file",
                    i, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz);
    if (ph->p_vaddr < KEEL_GUEST_BASE)
        return kg__fail(err, errlen, -ENOEXEC, "segment %u: address %#llx is below guest memory", i,
                    (unsigned long long)ph->p_vaddr);
    gpa = ph->p_vaddr - KEEL_GUEST_BASE;
    if (gpa >= mem_size || ph->p_memsz > mem_size - gpa)
        return kg__fail(err, errlen, -ENOSPC,
                    "segment %u: guest physical %#llx+%#llx does not fit in %llu KiB of guest memory",
                    i, (unsigned long long)gpa, (unsigned long long)ph->p_memsz,
                    (unsigned long long)(mem_size >> 10));
    return 0;
}

int kg_elf_check(const uint8_t *img, size_t len, uint64_t mem_size, struct kg_elf_info *info,
                 char *err, size_t errlen)
{
    Elf64_Ehdr ehdr = { .e_ident = { 0 } };
    const Elf64_Ehdr *eh = &ehdr;
    int rc, entry_ok = 0;

    if (len >= sizeof(ehdr))
        memcpy(&ehdr, img, sizeof(ehdr));
    if ((rc = check_header(eh, len, err, errlen)) < 0)
        return rc;
    memset(info, 0, sizeof(*info));
    info->load_start = UINT64_MAX;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr phdr = phdr_at(img, eh, i), *ph = &phdr;
        uint64_t gpa;
        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        if ((rc = check_segment(ph, i, len, mem_size, err, errlen)) < 0)
            return rc;
        gpa = ph->p_vaddr - KEEL_GUEST_BASE;
        if (gpa < info->load_start)
            info->load_start = gpa;
        if (gpa + ph->p_memsz > info->load_end)
            info->load_end = gpa + ph->p_memsz;
        if ((ph->p_flags & PF_X) && eh->e_entry >= ph->p_vaddr &&
            eh->e_entry < ph->p_vaddr + ph->p_memsz)
            entry_ok = 1;
        info->nr_segments++;
    }
    if (!info->nr_segments)
        return kg__fail(err, errlen, -ENOEXEC, "no loadable segment");
    if (!entry_ok)
        return kg__fail(err, errlen, -ENOEXEC, "entry point %#llx is not in an executable segment",
                    (unsigned long long)eh->e_entry);
    info->entry = eh->e_entry;
    info->load_end = (info->load_end + KEEL_PAGE_SIZE - 1) & ~(KEEL_PAGE_SIZE - 1);
    return 0;
}

void kg_elf_load(const uint8_t *img, uint8_t *mem, const struct kg_elf_info *info)
{
    Elf64_Ehdr ehdr;
    const Elf64_Ehdr *eh = &ehdr;

    (void)info;
    memcpy(&ehdr, img, sizeof(ehdr));
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr phdr = phdr_at(img, eh, i), *ph = &phdr;
        uint8_t *dst;
        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        dst = mem + (ph->p_vaddr - KEEL_GUEST_BASE);
        memcpy(dst, img + ph->p_offset, ph->p_filesz);
        memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
    }
}
