/* coredump.c - kl_domain_core_dump: an ELF64 core file of a domain (xl dump-core) that gdb reads
 * as a process core: NT_PRPSINFO, one NT_PRSTATUS + NT_FPREGSET pair per vCPU (a "thread" per
 * vCPU, pid = vCPU + 1), and the guest's memory as one PT_LOAD segment at the virtual address
 * the guest sees it (KEEL_GUEST_BASE + guest physical), all-zero pages left as file holes. */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/kl_ops.h"
#include "lc_int.h"

#define CORE_NAME "CORE"
#define NOTE_ALIGN(x) (((x) + 3u) & ~3u)
#define CHUNK (1u << 20)

struct core_buf {                     /* the notes, built in memory */
    uint8_t *p;
    size_t len, cap;
};

static int note_add(struct core_buf *b, uint32_t type, const void *desc, size_t dlen)
{
    size_t need = sizeof(Elf64_Nhdr) + NOTE_ALIGN(sizeof(CORE_NAME)) + NOTE_ALIGN(dlen);
    Elf64_Nhdr nh = { .n_namesz = sizeof(CORE_NAME), .n_descsz = (Elf64_Word)dlen,
                      .n_type = type };

    if (b->len + need > b->cap) {
        size_t cap = (b->len + need) * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memset(b->p + b->len, 0, need);
    memcpy(b->p + b->len, &nh, sizeof(nh));
    memcpy(b->p + b->len + sizeof(nh), CORE_NAME, sizeof(CORE_NAME));
    memcpy(b->p + b->len + sizeof(nh) + NOTE_ALIGN(sizeof(CORE_NAME)), desc, dlen);
    b->len += need;
    return 0;
}

/* A vCPU stopped in a hypercall reports rip at the stub's entry, which is not guest memory:
 * show it at its call site instead (the return address the call pushed). */
static void at_call_site(struct keel_cpu_regs *r, int memfd, uint64_t memsize)
{
    uint64_t ret, off = r->rsp - KEEL_GUEST_BASE;

    if (r->rip < KEEL_STUB_BASE || r->rip >= KEEL_STUB_BASE + KEEL_STUB_SIZE)
        return;
    if (r->rsp < KEEL_GUEST_BASE || off > memsize - sizeof(ret))
        return;
    if (pread(memfd, &ret, sizeof(ret), (off_t)off) != (ssize_t)sizeof(ret))
        return;
    r->rip = ret;
    r->rsp += sizeof(ret);
}

static int vcpu_notes(kl_ctx *ctx, uint32_t domid, uint32_t vcpu, int memfd, uint64_t memsize,
                      struct core_buf *b)
{
    struct keel_vcpu_context c;
    struct elf_prstatus st;
    struct keel_cpu_regs *r = &c.regs;
    int rc;

    if ((rc = kc_vcpu_getcontext(ctx->kc, domid, vcpu, &c)) < 0)
        return kl__err(ctx, rc, "domain %u vCPU %u: reading its registers: %s", domid, vcpu,
                       kc_error(ctx->kc));
    at_call_site(r, memfd, memsize);
    memset(&st, 0, sizeof(st));
    st.pr_pid = (pid_t)vcpu + 1;
    st.pr_ppid = 1;
    st.pr_pgrp = 1;
    st.pr_sid = 1;
    unsigned long long g[] = {
        r->r15, r->r14, r->r13, r->r12, r->rbp, r->rbx, r->r11, r->r10, r->r9, r->r8,
        r->rax, r->rcx, r->rdx, r->rsi, r->rdi, (unsigned long long)-1 /* orig_rax */,
        r->rip, 0x33 /* cs */, r->rflags, r->rsp, 0x2b /* ss */, r->fs_base, r->gs_base,
        0, 0, 0, 0 /* ds es fs gs */
    };
    _Static_assert(sizeof(g) == sizeof(st.pr_reg), "user_regs_struct layout");
    memcpy(&st.pr_reg, g, sizeof(g));
    st.pr_fpvalid = 1;
    if (note_add(b, NT_PRSTATUS, &st, sizeof(st)) < 0 ||
        note_add(b, NT_FPREGSET, c.fxsave, sizeof(c.fxsave)) < 0)
        return kl__err(ctx, -ENOMEM, "out of memory");
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, sizeof(v));
        if (v)
            return false;
    }
    return true;
}

/* Copy the memory to fd at off, leaving all-zero pages as holes. */
static int copy_memory(kl_ctx *ctx, uint32_t domid, int memfd, uint64_t size, int fd, off_t off)
{
    uint8_t *buf = malloc(CHUNK);

    if (!buf)
        return kl__err(ctx, -ENOMEM, "out of memory");
    for (uint64_t pos = 0; pos < size; ) {
        size_t want = size - pos < CHUNK ? (size_t)(size - pos) : CHUNK;
        ssize_t got = pread(memfd, buf, want, (off_t)pos);
        if (got <= 0) {
            int e = got < 0 ? errno : EIO;
            free(buf);
            return kl__err(ctx, -e, "domain %u: reading its memory at 0x%llx: %s", domid,
                           (unsigned long long)pos, strerror(e));
        }
        for (size_t p = 0; p < (size_t)got; p += KEEL_PAGE_SIZE) {
            size_t n = (size_t)got - p < KEEL_PAGE_SIZE ? (size_t)got - p : KEEL_PAGE_SIZE;
            if (all_zero(buf + p, n))
                continue;
            if (pwrite(fd, buf + p, n, off + (off_t)(pos + p)) != (ssize_t)n) {
                int e = errno ? errno : EIO;
                free(buf);
                return kl__err(ctx, -e, "writing the core file: %s", strerror(e));
            }
        }
        pos += (uint64_t)got;
    }
    free(buf);
    if (ftruncate(fd, off + (off_t)size) < 0)
        return kl__err(ctx, -errno, "writing the core file: %s", strerror(errno));
    return 0;
}

/* pr_fname: the guest image's file name (as gdb expects of the executable it is given),
 * pr_psargs: its path and command line; the domain's name when its configuration is gone. */
static void image_names(kl_ctx *ctx, uint32_t domid, const kl_dominfo *d,
                        struct elf_prpsinfo *ps)
{
    kl_domain_config dc;
    const char *img = d->name[0] ? d->name : "domain", *base;
    char args[sizeof(ps->pr_psargs)] = "";

    kl_domain_config_init(&dc);
    if (kl_domain_get_config(ctx, domid, &dc) == 0 && dc.b_info.kernel) {
        img = dc.b_info.kernel;
        snprintf(args, sizeof(args), "%.40s%s%.38s", img, dc.b_info.cmdline ? " " : "",
                 dc.b_info.cmdline ? dc.b_info.cmdline : "");
    }
    base = strrchr(img, '/') ? strrchr(img, '/') + 1 : img;
    memcpy(ps->pr_fname, base, strnlen(base, sizeof(ps->pr_fname) - 1));
    memcpy(ps->pr_psargs, args[0] ? args : base, strnlen(args[0] ? args : base,
                                                         sizeof(ps->pr_psargs) - 1));
    kl_domain_config_dispose(&dc);
}

static int write_core(kl_ctx *ctx, uint32_t domid, const kl_dominfo *d, int memfd,
                      uint64_t memsize, int fd)
{
    struct core_buf notes = { 0 };
    struct elf_prpsinfo ps;
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
    off_t data_off;
    int rc = 0;

    memset(&ps, 0, sizeof(ps));
    ps.pr_sname = d->paused ? 't' : 'R';
    ps.pr_pid = 1;
    image_names(ctx, domid, d, &ps);
    if (note_add(&notes, NT_PRPSINFO, &ps, sizeof(ps)) < 0)
        rc = kl__err(ctx, -ENOMEM, "out of memory");
    for (uint32_t v = 0; rc == 0 && v <= d->vcpu_max_id; v++)
        rc = vcpu_notes(ctx, domid, v, memfd, memsize, &notes);
    if (rc < 0)
        goto out;
    memset(&eh, 0, sizeof(eh));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 2;
    data_off = (off_t)((sizeof(eh) + sizeof(ph) + notes.len + KEEL_PAGE_SIZE - 1) &
                       ~(KEEL_PAGE_SIZE - 1));
    memset(ph, 0, sizeof(ph));
    ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = sizeof(eh) + sizeof(ph),
                          .p_filesz = notes.len, .p_align = 4 };
    ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X,
                          .p_offset = (Elf64_Off)data_off, .p_vaddr = KEEL_GUEST_BASE,
                          .p_filesz = memsize, .p_memsz = memsize, .p_align = KEEL_PAGE_SIZE };
    if (pwrite(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
        pwrite(fd, ph, sizeof(ph), sizeof(eh)) != (ssize_t)sizeof(ph) ||
        pwrite(fd, notes.p, notes.len, sizeof(eh) + sizeof(ph)) != (ssize_t)notes.len) {
        rc = kl__err(ctx, errno ? -errno : -EIO, "writing the core file: %s",
                     strerror(errno ? errno : EIO));
        goto out;
    }
    rc = copy_memory(ctx, domid, memfd, memsize, fd, data_off);
out:
    free(notes.p);
    return rc;
}

int kl_domain_core_dump(kl_ctx *ctx, uint32_t domid, const char *path)
{
    uint64_t memsize = 0;
    bool paused_here = false, created;
    struct stat st;
    kl_dominfo d;
    int rc, fd, memfd = -1;

    if ((rc = kl_domain_info(ctx, domid, &d)) < 0)
        return rc;
    if (domid == 0)
        return kl__err(ctx, -EINVAL, "Domain-0 is the toolstack: it has no guest memory to dump");
    if (d.vcpu_max_id >= KEEL_MAX_VCPUS)
        return kl__err(ctx, -EPROTO, "domain %u: vCPU id %u out of range", domid, d.vcpu_max_id);
    created = stat(path, &st) < 0 || S_ISREG(st.st_mode);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return kl__err(ctx, -errno, "%s: %s", path, strerror(errno));
    if (!d.paused) {
        if ((rc = kl_domain_pause(ctx, domid)) < 0)
            goto out;
        paused_here = true;
    }
    if ((rc = kc_foreign_fd(ctx->kc, domid, &memfd, &memsize)) < 0) {
        rc = kl__err(ctx, rc, "domain %u: %s", domid, kc_error(ctx->kc));
        goto out;
    }
    rc = write_core(ctx, domid, &d, memfd, memsize, fd);
out:
    if (memfd >= 0)
        close(memfd);
    if (paused_here)
        kl_domain_unpause(ctx, domid);
    if (close(fd) < 0 && rc == 0)
        rc = kl__err(ctx, -errno, "%s: %s", path, strerror(errno));
    if (rc < 0 && created)
        unlink(path);                    /* what we made, never a device or a pipe given */
    return rc;
}
