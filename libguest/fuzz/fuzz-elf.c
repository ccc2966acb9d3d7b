/* fuzz-elf.c - fuzz target for the domain builder's ELF checker and loader: any input is either
 * refused with an error or loads entirely inside a 16 MiB guest memory. */
#include <stdint.h>
#include <stdlib.h>

#include "keel/guest.h"

#define MEM (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *mem;
    struct kg_elf_info info;
    char err[256];

    if (!mem && !(mem = malloc(MEM)))
        return 0;
    if (kg_elf_check(data, size, MEM, &info, err, sizeof(err)) == 0) {
        if (info.load_end > MEM || info.load_start >= info.load_end)
            abort();
        kg_elf_load(data, mem, &info);
    }
    return 0;
}
