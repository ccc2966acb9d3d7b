/* start.S - guest entry points: the boot vCPU, secondary vCPUs, and the event upcall. */
    .text
    .globl _start
_start:                                 /* rdi = boot information (FDT), rsp = boot stack */
    and $-16, %rsp
    xor %ebp, %ebp
    call rt_start
    ud2

    .globl rt_secondary_entry
rt_secondary_entry:                     /* rdi = vCPU id, rsp = its stack */
    and $-16, %rsp
    xor %ebp, %ebp
    call rt_secondary
    ud2

/* Entered by the hypervisor with rsp = struct keel_upcall_frame, events masked. */
    .globl rt_upcall_entry
rt_upcall_entry:
    sub $512, %rsp
    fxsave64 (%rsp)
1:  call rt_do_events                   /* returns this vCPU's vcpu_info */
    movb $0, 1(%rax)                    /* unmask */
    cmpb $0, (%rax)                     /* anything new? */
    je 2f
    movb $1, 1(%rax)
    jmp 1b
2:  fxrstor64 (%rsp)
    add $512, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rbp
    pop %rbx
    pop %rdx
    pop %rcx
    pop %rax
    popfq
    mov (%rsp), %rsp
    ret $128
    .section .note.GNU-stack, "", @progbits
