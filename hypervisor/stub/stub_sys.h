/* stub_sys.h - raw Linux system calls and kernel structures for the freestanding domain stub. */
#ifndef KEEL_STUB_SYS_H
#define KEEL_STUB_SYS_H

#include <stddef.h>
#include <stdint.h>

#define NR_close 3
#define NR_ioctl 16
#define NR_userfaultfd 323
#define NR_mmap 9
#define NR_mprotect 10
#define NR_rt_sigaction 13
#define NR_rt_sigreturn 15
#define NR_sched_yield 24
#define NR_sigaltstack 131
#define NR_prctl 157
#define NR_arch_prctl 158
#define NR_gettid 186
#define NR_futex 202
#define NR_exit_group 231
#define NR_seccomp 317

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

static inline long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;

    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static inline void futex_wait(uint32_t *addr, uint32_t val)
{
    sys4(NR_futex, addr, FUTEX_WAIT, val, 0);
}

static inline void futex_wake(uint32_t *addr)
{
    sys3(NR_futex, addr, FUTEX_WAKE, 0x7fffffff);
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline __attribute__((noreturn)) void sys_exit_group(int code)
{
    for (;;)
        sys1(NR_exit_group, code);
}

/* The kernel's x86-64 signal structures. */
struct k_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved1[8];
};

struct k_stack {
    uint64_t ss_sp;
    int32_t ss_flags;
    int32_t pad;
    uint64_t ss_size;
};

struct k_ucontext {
    uint64_t uc_flags;
    uint64_t uc_link;
    struct k_stack uc_stack;
    struct k_sigcontext mc;
    uint64_t uc_sigmask;
};

struct k_siginfo {
    int32_t si_signo, si_errno, si_code, pad;
    uint64_t addr;          /* si_addr, or _call_addr for SIGSYS */
    int32_t syscall_nr;     /* SIGSYS only */
    uint32_t arch;
    uint8_t rest[96];
};

struct k_sigaction {
    void (*handler)(int, struct k_siginfo *, void *);
    uint64_t flags;
    void (*restorer)(void);
    uint64_t mask;
};

#define K_TRAP_PERF 6              /* si_code of perf's SIGTRAP (sigtrap events) */
#define K_SA_SIGINFO 0x4UL
#define K_SA_ONSTACK 0x08000000UL
#define K_SA_RESTORER 0x04000000UL
#define K_SA_RESTART 0x10000000UL

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#endif
