/* stub_asm.S - the domain stub's assembly: process entry, thread entry, the hypercall entry point
 * (the first byte of the stub, KEEL_HYPERCALL_ENTRY) and the jumps into guest context.
 * Offsets into struct hv_vcpu_slot come from stub_offsets.h (checked at compile time). */
#include "stub_offsets.h"

    .section .text.hcall_entry, "ax"
    .globl keel_hypercall_entry
/* long keel_hypercall_entry(long op, long cmd, void *arg) - SysV call from the guest. */
keel_hypercall_entry:
    mov %rdi, %r8
    mov %rsi, %r9
    mov %rdx, %r10
    mov $186, %eax                  /* gettid */
    syscall
    cmp $STUB_TID_MAX, %rax
    jae .Lbad_thread
    lea stub_tid_slot(%rip), %rcx
    mov (%rcx,%rax,8), %r11
    test %r11, %r11
    jz .Lbad_thread
    mov %rbx, SLOT_ENTRY_RBX(%r11)
    mov %rbp, SLOT_ENTRY_RBP(%r11)
    mov %r12, SLOT_ENTRY_R12(%r11)
    mov %r13, SLOT_ENTRY_R13(%r11)
    mov %r14, SLOT_ENTRY_R14(%r11)
    mov %r15, SLOT_ENTRY_R15(%r11)
    mov %rsp, SLOT_ENTRY_RSP(%r11)
    mov %r8, SLOT_ENTRY_RDI(%r11)
    mov %r9, SLOT_ENTRY_RSI(%r11)
    mov %r10, SLOT_ENTRY_RDX(%r11)
    mov %r11, %r12
    mov %rsp, %rbx
    movl $1, STUB_PHASE(%r12)
    mov STUB_STACK(%r12), %rsp
    mov %r8, %rdi
    mov %r9, %rsi
    mov %r10, %rdx
    mov %r12, %rcx
    call stub_hypercall
    .globl stub_hc_return
stub_hc_return:
    movl $0, STUB_PHASE(%r12)
    .globl stub_epi_start
stub_epi_start:
    mov STUB_VCPU_INFO(%r12), %rcx
    cmpw $1, (%rcx)                 /* upcall_pending == 1 && upcall_mask == 0 */
    je .Lupcall
    mov %rbx, %rsp
    .globl stub_epi_rbx
stub_epi_rbx:
    mov SLOT_ENTRY_RBX(%r12), %rbx
    .globl stub_epi_r12
stub_epi_r12:
    mov SLOT_ENTRY_R12(%r12), %r12
    .globl stub_epi_ret
stub_epi_ret:
    ret
    .globl stub_epi_end
stub_epi_end:
.Lupcall:
    movl $3, STUB_PHASE(%r12)
    push %rax
    push %rax
    mov %rax, %rsi
    mov %r12, %rdi
    call stub_upcall_from_hypercall /* returns only when no callback is registered */
    pop %rax
    pop %rax
    movl $0, STUB_PHASE(%r12)
    mov %rbx, %rsp
    jmp stub_epi_rbx
.Lbad_thread:
    ud2

    .text
/* Process entry: the kernel's initial stack is ours; nothing in it is needed. */
    .globl _start
_start:
    xor %ebp, %ebp
    and $-16, %rsp
    call stub_main
    ud2

/* Thread entry after clone: rsp = top of the thread's stack, r12 = vCPU index (set by clone). */
    .globl stub_thread_start
stub_thread_start:
    xor %ebp, %ebp
    mov %r12, %rdi
    call stub_vcpu_thread
    ud2

/* void stub_jump_upcall(uint64_t frame, uint64_t callback) - enter the event callback. */
    .globl stub_jump_upcall
stub_jump_upcall:
    mov %rdi, %rsp
    jmp *%rsi

/* long stub_raw_clone(unsigned long flags, void *stack, long vcpu) - clone a vCPU thread. */
    .globl stub_raw_clone
stub_raw_clone:
    push %r12
    mov %rdx, %r12
    mov $56, %eax                   /* clone(flags, stack, 0, 0, 0) */
    xor %edx, %edx
    xor %r10d, %r10d
    xor %r8d, %r8d
    syscall
    test %rax, %rax
    jnz 1f
    jmp stub_thread_start           /* child: new stack, r12 = vcpu */
1:  pop %r12
    ret

/* void stub_sigreturn(void *frame) - load a whole register state built as an rt_sigframe. */
    .globl stub_sigreturn
stub_sigreturn:
    mov %rdi, %rsp
    mov $15, %eax                   /* rt_sigreturn */
    syscall
    ud2

/* Restorer for our signal handlers. */
    .globl stub_restorer
stub_restorer:
    mov $15, %eax
    syscall
    ud2
    .section .note.GNU-stack, "", @progbits
