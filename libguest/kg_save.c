/* kg_save.c - writes a domain as a migration v2 stream: all guest frames (then, when live, the
 * frames the guest dirtied in each round, read from the core's log-dirty mode), TSC_INFO and an
 * HVM_CONTEXT with one standard CPU record per vCPU plus Keel's own domain-state record, END.
 * Stop-and-copy pauses the guest, calls the toolstack's suspend callback (Domain-0's backends
 * finish their requests into guest memory), then copies the last dirty frames and the state; that
 * span is reported as the downtime. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "keel/guest.h"
#include "stream/kg_stream.h"

struct save {
    kc_handle *h;
    uint32_t domid;
    struct kg_stream_writer *w;
    uint8_t *mem;
    int mem_fd;
    uint64_t pages;
    uint8_t *bitmap;
    uint8_t *present;                  /* frames with contents (never-written frames are holes) */
    struct kg_save_stats st;
    const struct kg_save_opts *o;
    struct kg_save_progress pr;
    uint64_t t0, last_report;
    uint64_t entries[KG_MAX_BATCH];
    const void *data[KG_MAX_BATCH];
    char *err;
    size_t errlen;
};

static int fail(struct save *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct save *s, int rc, const char *fmt, ...)
{
    va_list ap;

    if (s->err && s->errlen && !s->err[0]) {
        va_start(ap, fmt);
        vsnprintf(s->err, s->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int stream_fail(struct save *s, int rc, const char *what)
{
    const struct kg_stream_error *e = kg_stream_writer_error(s->w);

    return fail(s, rc, "%s: %s", what, e && e->msg[0] ? e->msg : strerror(-rc));
}

#define REPORT_EVERY_PAGES 4096          /* 16 MiB between progress reports within a round */

static void report(struct save *s, int force)
{
    if (!s->o->progress || (!force && s->st.pages_sent - s->last_report < REPORT_EVERY_PAGES))
        return;
    s->last_report = s->st.pages_sent;
    s->pr.pages_total = s->pages;
    s->pr.pages_sent = s->st.pages_sent;
    s->pr.bytes_written = s->st.pages_sent << KEEL_PAGE_SHIFT;
    s->pr.elapsed_ns = now_ns() - s->t0;
    s->o->progress(&s->pr, s->o->progress_arg);
}

static uint64_t count_bits(const uint8_t *bitmap, uint64_t pages)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < pages / 8 + 1; i++)
        n += (uint64_t)__builtin_popcount(bitmap[i]);
    return n;
}

/* Start a round of count frames: reported at once, so a watcher sees each round begin. */
static void begin_round(struct save *s, uint32_t round, uint64_t count, int final)
{
    s->pr.last_dirty = s->pr.round ? count : 0;
    s->pr.round = round;
    s->pr.stop_and_copy = final;
    s->pr.round_pages = count;
    s->pr.round_sent = 0;
    report(s, 1);
}

/* Send the frames whose bit is set, up to KG_MAX_BATCH per record. */
static int send_pages(struct save *s, const uint8_t *bitmap)
{
    uint32_t n = 0;
    int rc;

    for (uint64_t p = 0; p <= s->pages; p++) {
        if (n && (n == KG_MAX_BATCH || p == s->pages)) {
            if (s->o->cancel && *s->o->cancel)
                return fail(s, -ECANCELED, "the save was cancelled after %" PRIu64 " pages",
                            s->st.pages_sent);
            if ((rc = kg_stream_write_page_data(s->w, s->entries, s->data, n)) < 0)
                return stream_fail(s, rc, "writing page data");
            s->st.pages_sent += n;
            s->pr.round_sent += n;
            n = 0;
            report(s, 0);
        }
        if (p == s->pages || !(bitmap[p / 8] & (1u << (p % 8))))
            continue;
        s->entries[n] = KG_PFN_ENTRY(p, KG_PFINFO_NOTAB);
        s->data[n++] = s->mem + (p << KEEL_PAGE_SHIFT);
    }
    return 0;
}

/* The frames that hold data: holes of the memory object read as zeros and are not sent (a
 * restored domain's memory starts as holes too). */
static void find_present(struct save *s)
{
    off_t off = 0, end = (off_t)(s->pages << KEEL_PAGE_SHIFT);

    memset(s->present, 0, s->pages / 8 + 1);
    while (off < end) {
        off_t data = lseek(s->mem_fd, off, SEEK_DATA), hole;
        if (data < 0 || data >= end)
            break;
        hole = lseek(s->mem_fd, data, SEEK_HOLE);
        if (hole < 0 || hole > end)
            hole = end;
        for (uint64_t p = (uint64_t)data >> KEEL_PAGE_SHIFT;
             p < ((uint64_t)hole + KEEL_PAGE_SIZE - 1) >> KEEL_PAGE_SHIFT; p++)
            s->present[p / 8] |= (uint8_t)(1u << (p % 8));
        off = hole;
    }
}

/* Post-copy: of the memory only the ring frames and the grant table's (the core maps those as
 * soon as the state is set on the target) go in the stream; nothing else is looked at (a
 * SEEK_DATA walk of a large guest would cost milliseconds of downtime). */
static void postcopy_keep(struct save *s, const struct kg_save_opts *o)
{
    struct keel_domstate_header hd = { 0 };
    size_t len = 1 << 20;
    uint8_t *st = malloc(len);
    uint64_t gfirst = 0, gnr = 0;

    if (st && kc_domain_getstate(s->h, s->domid, st, &len) == 0 && len >= sizeof(hd)) {
        memcpy(&hd, st, sizeof(hd));
        gfirst = hd.grant_table & ((1ULL << 40) - 1);
        gnr = hd.grant_table >> 40;
    }
    free(st);
    memset(s->present, 0, s->pages / 8 + 1);
    for (uint64_t p = 0; p < s->pages; p++)
        if ((p && (p == o->rings.console_gfn || p == o->rings.store_gfn)) ||
            (gnr && p >= gfirst && p < gfirst + gnr))
            s->present[p / 8] |= (uint8_t)(1u << (p % 8));
}

static uint64_t take_dirty(struct save *s, int *rc)
{
    uint64_t dirty = 0;

    memset(s->bitmap, 0, s->pages / 8 + 1);
    *rc = kc_logdirty_read(s->h, s->domid, 1, s->bitmap, s->pages, &dirty);
    if (*rc < 0)
        fail(s, *rc, "%s", kc_error(s->h));
    return dirty;
}

static int precopy(struct save *s, const struct kg_save_opts *o)
{
    uint32_t max = o->max_rounds ? o->max_rounds : 8;
    uint64_t target = o->target_dirty ? o->target_dirty : 64;
    int rc;

    if ((rc = kc_logdirty_enable(s->h, s->domid)) < 0)
        return rc == -EOPNOTSUPP
                   ? fail(s, rc, "no log-dirty mode on this host: the kernel lacks userfaultfd "
                          "write-protection of shmem (Linux 5.19+), or keel-hv runs with "
                          "--logdirty=none (xl info: logdirty_engine)")
                   : fail(s, rc, "%s", kc_error(s->h));
    find_present(s);                  /* after enabling: later writes are in the next round */
    begin_round(s, 1, count_bits(s->present, s->pages), 0);
    if ((rc = send_pages(s, s->present)) < 0)
        return rc;
    s->st.rounds = 1;
    for (;;) {
        uint64_t dirty = take_dirty(s, &rc);
        if (rc < 0)
            return rc;
        if (dirty <= target || s->st.rounds >= max) {
            /* this set goes now, while the guest still runs; what it dirties meanwhile is
             * the stop-and-copy set */
            if (dirty) {
                begin_round(s, s->st.rounds + 1, dirty, 0);
                rc = send_pages(s, s->bitmap);
            }
            return rc;
        }
        begin_round(s, s->st.rounds + 1, dirty, 0);
        if ((rc = send_pages(s, s->bitmap)) < 0)
            return rc;
        s->st.rounds++;
    }
}

static void ctx_to_regs(const struct keel_vcpu_context *c, struct kg_vcpu_regs *r)
{
    memset(r, 0, sizeof(*r));
    r->rax = c->regs.rax; r->rbx = c->regs.rbx; r->rcx = c->regs.rcx; r->rdx = c->regs.rdx;
    r->rbp = c->regs.rbp; r->rsi = c->regs.rsi; r->rdi = c->regs.rdi; r->rsp = c->regs.rsp;
    r->r8 = c->regs.r8; r->r9 = c->regs.r9; r->r10 = c->regs.r10; r->r11 = c->regs.r11;
    r->r12 = c->regs.r12; r->r13 = c->regs.r13; r->r14 = c->regs.r14; r->r15 = c->regs.r15;
    r->rip = c->regs.rip; r->rflags = c->regs.rflags | 0x2;
    r->cs = 0x33; r->ss = r->ds = r->es = 0x2b;
    r->fs_base = c->regs.fs_base; r->gs_base = c->regs.gs_base;
    r->cr0 = 0x80050033; r->cr4 = 0x6e0; r->efer = 0xd01;     /* 64-bit user mode, paging on */
    memcpy(r->fxsave, c->fxsave, sizeof(r->fxsave));
}

/* HVM_CONTEXT: Xen's header and CPU records, then Keel's domain-state record, then END. */
static int write_context(struct save *s, const uint8_t *state, size_t state_len)
{
    const struct keel_domstate_header *h = (const void *)state;
    const struct keel_domstate_vcpu *v = (const void *)(h + 1);
    struct kg_hvm_save_info info = { 0, 0, 0 };
    struct kg_vcpu_regs *regs = calloc(h->nr_vcpus, sizeof(*regs));
    size_t base = kg_hvmctx_size(h->nr_vcpus), len = base + 8 + state_len;
    uint8_t *blob = malloc(len);
    int rc;

    if (!regs || !blob) {
        free(regs);
        free(blob);
        return fail(s, -ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < h->nr_vcpus; i++)
        ctx_to_regs(&v[i].ctx, &regs[i]);
    rc = kg_hvmctx_encode(&info, regs, NULL, h->nr_vcpus, blob, base);
    if (rc >= 0) {
        uint8_t *d = blob + base - 8;              /* replace END by our record, END after it */
        uint32_t l = (uint32_t)state_len;
        d[0] = KG_HVM_CODE_KEEL_DOMSTATE & 0xff; d[1] = KG_HVM_CODE_KEEL_DOMSTATE >> 8;
        d[2] = d[3] = 0;
        memcpy(d + 4, &l, 4);
        memcpy(d + 8, state, state_len);
        memset(d + 8 + state_len, 0, 8);
        rc = kg_stream_write_hvm_context(s->w, blob, len);
        if (rc < 0)
            stream_fail(s, rc, "writing the HVM context");
    } else {
        fail(s, rc, "encoding the vCPU records");
    }
    free(regs);
    free(blob);
    return rc;
}

static int finish_records(struct save *s, const struct kg_tsc_info *tsc, const uint8_t *state,
                          size_t len);
static int finish(struct save *s);

/* HVM_PARAMS: the rings' frames and event channels (the record is written even when empty, as
 * the stream's order expects it). */
static int write_params(struct save *s)
{
    const struct kg_ring_params *r = &s->o->rings;
    struct kg_hvm_param p[4];
    uint32_t n = 0;
    int rc;

    if (r->store_gfn) {
        p[n++] = (struct kg_hvm_param){ KG_HVM_PARAM_STORE_PFN, r->store_gfn };
        p[n++] = (struct kg_hvm_param){ KG_HVM_PARAM_STORE_EVTCHN, r->store_port };
    }
    if (r->console_gfn) {
        p[n++] = (struct kg_hvm_param){ KG_HVM_PARAM_CONSOLE_PFN, r->console_gfn };
        p[n++] = (struct kg_hvm_param){ KG_HVM_PARAM_CONSOLE_EVTCHN, r->console_port };
    }
    if ((rc = kg_stream_write_hvm_params(s->w, n ? p : NULL, n)) < 0)
        return stream_fail(s, rc, "writing HVM_PARAMS");
    return 0;
}

static int finish(struct save *s)
{
    struct keel_sysctl_physinfo pi;
    struct kg_tsc_info tsc = { 0, 0, 0, 0 };
    size_t len = 1 << 20;
    uint8_t *state = malloc(len);
    int rc;

    if (!state)
        return fail(s, -ENOMEM, "out of memory for the domain state");
    if (kc_physinfo(s->h, &pi) == 0)
        tsc.khz = pi.cpu_khz;
    rc = kc_domain_getstate(s->h, s->domid, state, &len);
    if (rc < 0)
        rc = fail(s, rc, "%s", kc_error(s->h));
    else
        rc = finish_records(s, &tsc, state, len);
    free(state);
    return rc;
}

/* Remus device hooks (issue 15): the caller's callback for this phase of checkpoint n. */
static int cp_hook(struct save *s, enum kg_cp_phase phase, uint32_t n)
{
    int rc;

    if (!s->o->checkpoint_ms || !s->o->checkpoint)
        return 0;
    if ((rc = s->o->checkpoint(s->o->checkpoint_arg, phase, n, s->w)) < 0)
        return fail(s, rc, "checkpoint %u: the device hook failed (phase %d): %s", n, phase,
                    strerror(-rc));
    return 0;
}

/* The caller's EMULATOR_CONTEXT records (vTPM states): after the libxc END, or in a Remus
 * checkpoint between CHECKPOINT and CHECKPOINT_END (the caller refreshes them each checkpoint,
 * so the backup commits them with the memory they belong to). */
static int write_emu(struct save *s)
{
    for (uint32_t i = 0; s->o->emu && i < s->o->emu->n; i++) {
        const struct kg_emu_record *e = &s->o->emu->rec[i];
        int rc = kg_stream_write_emulator(s->w, KG_XLREC_EMULATOR_CONTEXT, e->emulator_id,
                                          e->index, e->data, e->len);
        if (rc < 0)
            return stream_fail(s, rc, "writing EMULATOR_CONTEXT");
    }
    return 0;
}

static int finish_records(struct save *s, const struct kg_tsc_info *tsc, const uint8_t *state,
                          size_t len)
{
    int rc;

    if ((rc = kg_stream_write_tsc_info(s->w, tsc)) < 0)
        return stream_fail(s, rc, "writing TSC_INFO");
    if ((rc = write_params(s)) < 0)
        return rc;
    if ((rc = write_context(s, state, len)) < 0)
        return rc;
    if (s->o->checkpoint_ms) {
        if ((rc = cp_hook(s, KG_CP_RECORDS, s->st.checkpoints + 1)) < 0)
            return rc;
        if ((rc = kg_stream_write_checkpoint(s->w)) < 0)
            return stream_fail(s, rc, "writing CHECKPOINT");
        if (s->o->format != KG_FMT_LIBXC && (rc = write_emu(s)) < 0)
            return rc;
        if (s->o->format != KG_FMT_LIBXC && (rc = kg_stream_write_checkpoint_end(s->w)) < 0)
            return stream_fail(s, rc, "writing CHECKPOINT_END");
        s->st.checkpoints++;
        return 0;
    }
    if (s->o->emu && s->o->emu->n && (rc = kg_stream_write_libxc_end(s->w)) < 0)
        return stream_fail(s, rc, "writing the libxc END");
    if ((rc = write_emu(s)) < 0)
        return rc;
    if ((rc = kg_stream_write_end(s->w)) < 0)
        return stream_fail(s, rc, "writing END");
    return 0;
}

static int cancelled(struct save *s)
{
    return s->o->cancel && *s->o->cancel;
}

/* Remus: let the guest run for the interval (watching the cancel flag), then pause it, send
 * what it dirtied and its state as one checkpoint; again, until cancelled or broken. The guest
 * is left running either way. */
static int checkpoints(struct save *s)
{
    uint64_t last = 0;                   /* when the previous checkpoint's pause began */
    int rc;

    for (;;) {
        uint64_t until, tp, t;
        if ((rc = kc_domain_unpause(s->h, s->domid)) < 0)
            return fail(s, rc, "resuming the guest after checkpoint %u: %s", s->st.checkpoints,
                        kc_error(s->h));
        /* the interval runs from pause to pause (a checkpoint every interval, as Xen's -i),
         * not from the resume: the pause and the acknowledgement do not stretch it */
        until = (last ? last : now_ns()) + (uint64_t)s->o->checkpoint_ms * 1000000ULL;
        if ((rc = cp_hook(s, KG_CP_RESUMED, s->st.checkpoints)) < 0)
            return rc;
        while (!cancelled(s) && (t = now_ns()) < until)
            usleep(until - t > 2000000ULL ? 2000 : (useconds_t)((until - t) / 1000 + 1));
        if (cancelled(s))
            return fail(s, -ECANCELED, "replication stopped after %u checkpoints",
                        s->st.checkpoints);
        tp = last = now_ns();
        if ((rc = kc_domain_pause(s->h, s->domid)) < 0)
            return fail(s, rc, "pausing the guest for checkpoint %u: %s", s->st.checkpoints + 1,
                        kc_error(s->h));
        if ((rc = cp_hook(s, KG_CP_PAUSED, s->st.checkpoints + 1)) < 0)
            break;
        begin_round(s, s->st.rounds + 1, 0, 1);
        s->st.last_dirty = take_dirty(s, &rc);
        if (rc < 0)
            break;
        s->pr.round_pages = s->pr.last_dirty = s->st.last_dirty;
        if ((rc = send_pages(s, s->bitmap)) < 0 || (rc = finish(s)) < 0)
            break;
        s->st.rounds++;
        s->st.downtime_ns = now_ns() - tp;
    }
    kc_domain_unpause(s->h, s->domid);                /* the backup is gone: run on alone */
    return rc;
}

static int run(struct save *s, int fd, const struct kg_save_opts *o)
{
    struct kg_stream_writer_opts wo = { .format = (enum kg_stream_format)o->format,
                                        .xl_config = o->xl_config, .max_pfn = s->pages };
    struct keel_domctl_info info;
    struct kg_sink *sink = NULL;
    uint64_t tp;
    int rc;

    s->o = o;
    s->t0 = now_ns();
    if ((rc = kg_sink_new_fd(fd, &sink)) < 0 ||
        (rc = kg_sink_set_file_map(sink, s->mem, s->pages << KEEL_PAGE_SHIFT, s->mem_fd)) < 0 ||
        (rc = kg_stream_writer_new(sink, &wo, &s->w)) < 0) {
        kg_sink_free(sink);
        return fail(s, rc, "setting up the stream");
    }
    if ((rc = kg_stream_write_begin(s->w)) < 0 || (rc = kg_stream_write_static_data_end(s->w)) < 0) {
        rc = stream_fail(s, rc, "writing the stream headers");
        goto out;
    }
    if ((o->live || o->checkpoint_ms) && (rc = precopy(s, o)) < 0)
        goto out;
    tp = now_ns();
    if (kc_domain_getinfo(s->h, s->domid, &info) == 0 && !(info.flags & KEEL_DOMINF_PAUSED) &&
        (rc = kc_domain_pause(s->h, s->domid)) < 0) {
        fail(s, rc, "%s", kc_error(s->h));
        goto out;
    }
    /* the toolstack quiesces the backends before the final copy reads anything (not for
     * Remus: its guest runs on after each checkpoint) */
    if (o->suspend && !o->checkpoint_ms && (rc = o->suspend(o->suspend_arg)) < 0) {
        fail(s, rc, "domain %u: the suspend callback failed: %s", s->domid, strerror(-rc));
        goto out;
    }
    if ((rc = cp_hook(s, KG_CP_PAUSED, 1)) < 0) {
        kc_domain_unpause(s->h, s->domid);
        goto out;
    }
    if (o->live || o->checkpoint_ms) {
        begin_round(s, s->st.rounds + 1, 0, 1);  /* reported at once: the guest is paused */
        s->st.last_dirty = take_dirty(s, &rc);
        if (rc < 0)
            goto out;
        s->pr.round_pages = s->pr.last_dirty = s->st.last_dirty;
        if ((rc = send_pages(s, s->bitmap)) < 0)
            goto out;
        s->st.rounds++;
    } else {
        if (o->postcopy)                     /* the rest comes later, on demand */
            postcopy_keep(s, o);
        else
            find_present(s);
        begin_round(s, 1, count_bits(s->present, s->pages), 1);
        if ((rc = send_pages(s, s->present)) < 0)
            goto out;
        s->st.rounds = 1;
    }
    rc = finish(s);
    s->st.downtime_ns = now_ns() - tp;
    if (rc == 0 && o->checkpoint_ms)
        rc = checkpoints(s);
    s->st.total_ns = now_ns() - s->t0;
    if (rc == 0)
        report(s, 1);
out:
    if (o->live || o->checkpoint_ms)
        kc_logdirty_disable(s->h, s->domid);
    kg_stream_writer_free(s->w);
    kg_sink_free(sink);
    return rc;
}

int kg_save(kc_handle *h, uint32_t domid, int fd, const struct kg_save_opts *opts,
            struct kg_save_stats *stats, char *err, size_t errlen)
{
    struct kg_save_opts none = { 0 };
    struct save s = { .h = h, .domid = domid, .err = err, .errlen = errlen };
    long pages = kc_maximum_reservation(h, domid);
    int rc;

    if (err && errlen)
        err[0] = 0;
    if (pages <= 0)
        return fail(&s, pages < 0 ? (int)pages : -EINVAL, "domain %u: %s", domid, kc_error(h));
    s.pages = (uint64_t)pages;
    if ((rc = kc_foreign_fd(h, domid, &s.mem_fd, NULL)) < 0)
        return fail(&s, rc, "%s", kc_error(h));
    s.mem = mmap(NULL, s.pages << KEEL_PAGE_SHIFT, PROT_READ, MAP_SHARED, s.mem_fd, 0);
    s.bitmap = calloc(s.pages / 8 + 1, 1);
    s.present = calloc(s.pages / 8 + 1, 1);
    if (s.mem == MAP_FAILED || !s.bitmap || !s.present) {
        rc = fail(&s, -ENOMEM, "mapping domain %u", domid);
    } else {
        rc = run(&s, fd, opts ? opts : &none);
    }
    if (s.mem != MAP_FAILED)
        munmap(s.mem, s.pages << KEEL_PAGE_SHIFT);
    close(s.mem_fd);
    free(s.bitmap);
    free(s.present);
    if (stats)
        *stats = s.st;
    return rc;
}
