/* test-elf - the builder's ELF checker refuses every malformed or misplaced image with a message
 * that says what is wrong, and accepts the in-tree guests. */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/guest.h"
#include "tap.h"

#define MEM (16u << 20)

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 22);

    *len = f && buf ? fread(buf, 1, 1 << 22, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

static void expect(const uint8_t *img, size_t len, uint64_t mem, int rc, const char *text,
                   const char *what)
{
    struct kg_elf_info info;
    char err[256] = "";
    int got = kg_elf_check(img, len, mem, &info, err, sizeof(err));

    tap_ok(got == rc && strstr(err, text), "%s (rc %d, \"%s\")", what, got, err);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : SAMPLE_ELF;
    struct kg_elf_info info;
    char err[256];
    size_t len;
    uint8_t *img = load(path, &len), *bad = malloc(len + 1);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)bad;
    Elf64_Phdr *ph;

    tap_ok(len > sizeof(Elf64_Ehdr), "read the sample guest image %s", path);
    tap_is_int(kg_elf_check(img, len, MEM, &info, err, sizeof(err)), 0, "a guest image is accepted");
    tap_ok(info.entry >= KEEL_GUEST_BASE && info.load_start == 0x100000 && info.load_end > info.load_start,
           "entry and load range are reported");
    expect(img, 10, MEM, -ENOEXEC, "not an ELF", "a 10-byte file is not an ELF file");
    memcpy(bad, img, len);
    bad[EI_CLASS] = ELFCLASS32;
    expect(bad, len, MEM, -ENOEXEC, "x86-64", "a 32-bit image is refused");
    memcpy(bad, img, len);
    eh->e_machine = EM_AARCH64;
    expect(bad, len, MEM, -ENOEXEC, "x86-64", "another machine is refused");
    memcpy(bad, img, len);
    eh->e_type = ET_DYN;
    expect(bad, len, MEM, -ENOEXEC, "not an executable", "a shared object is refused");
    memcpy(bad, img, len);
    eh->e_phnum = 60000;
    expect(bad, len, MEM, -ENOEXEC, "program header table", "a huge program header count is refused");
    memcpy(bad, img, len);
    eh->e_phoff = len - 8;
    expect(bad, len, MEM, -ENOEXEC, "program header table", "headers past the end of file are refused");
    memcpy(bad, img, len);
    ph = (Elf64_Phdr *)(bad + eh->e_phoff);
    ph->p_filesz = (uint64_t)len * 4;
    ph->p_memsz = ph->p_filesz;
    expect(bad, len, MEM, -ENOEXEC, "outside the file", "a segment beyond the file is refused");
    memcpy(bad, img, len);
    ph->p_vaddr = 0x400000;
    expect(bad, len, MEM, -ENOEXEC, "below guest memory", "a segment below guest memory is refused");
    memcpy(bad, img, len);
    ph->p_vaddr = KEEL_GUEST_BASE + MEM - 4096;
    ph->p_memsz = 1 << 20;
    expect(bad, len, MEM, -ENOSPC, "does not fit", "a segment past the end of memory is refused");
    expect(img, len, 1 << 20, -ENOSPC, "does not fit", "an image larger than the memory is refused");
    memcpy(bad, img, len);
    eh->e_entry = 0x1234;
    expect(bad, len, MEM, -ENOEXEC, "entry point", "an entry point outside code is refused");
    memcpy(bad, img, len);
    for (int i = 0; i < eh->e_phnum; i++)
        ((Elf64_Phdr *)(bad + eh->e_phoff))[i].p_type = PT_NOTE;
    expect(bad, len, MEM, -ENOEXEC, "no loadable segment", "an image with nothing to load is refused");
    free(img);
    free(bad);
    return tap_done();
}
