/* first - records the TSC at its very first instruction in its first page's mailbox word
 * (guest physical 1 MiB + 4096) and then blocks forever; used to time create -> first guest
 * instruction from outside. */

void _start(void);
__attribute__((section(".text.start"), naked, noreturn)) void _start(void)
{
    __asm__ volatile("rdtsc\n"
                     "shl $32, %rdx\n"
                     "or %rdx, %rax\n"
                     "movabs $0x0000100000200000, %rcx\n"
                     "mov %rax, (%rcx)\n"
                     "1: mov $29, %edi\n"      /* sched_op */
                     "mov $1, %esi\n"          /* block */
                     "xor %edx, %edx\n"
                     "movabs $0x00000e0000000000, %rax\n"
                     "call *%rax\n"
                     "jmp 1b\n");
}

