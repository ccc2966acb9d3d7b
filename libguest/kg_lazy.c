/* kg_lazy.c - lazy restore (docs/lazy-restore.md): a migration v2 stream in a regular file is
 * walked without reading its page contents (the reader skips them and says where they lie);
 * the rings are written at once, then the core gets the file and a table of where each frame's
 * contents are, and fills each frame on its first touch (the rest in the background). The
 * domain state follows, so it can run before its memory is in. Streams that are not in a
 * regular file, checkpointed streams and tables too fragmented for one call are restored
 * eagerly (kg_restore_emu) and the core is told that no more is coming. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/guest.h"
#include "kg_err.h"
#include "stream/kg_stream.h"

struct lazy {
    uint64_t pages, base;          /* frames; file offset where the stream starts */
    uint64_t *off;                 /* per frame: file offset of its contents, UINT64_MAX none */
    struct kg_ring_params rings;
    uint8_t *state;
    size_t state_len;
    struct kg_emu_records *emu;
    int checkpointed;
    int mem_fd;                    /* post-copy: page data written here at once, -1: noted */
};

static int take_pages(struct lazy *z, const struct kg_stream_item *it, char *err, size_t errlen)
{
    uint64_t at = z->base + it->u.page_data.data_offset;
    const uint8_t *data = it->u.page_data.pages;

    for (uint32_t i = 0; i < it->u.page_data.count; i++) {
        uint64_t e = it->u.page_data.entries[i], pfn = KG_PFN(e);
        if (kg_pfn_type_has_data(KG_PFN_TYPE(e)) != 1)
            continue;
        if (pfn >= z->pages)
            return kg__fail(err, errlen, -EINVAL, "PAGE_DATA at offset %llu: pfn %#llx is beyond "
                            "the domain's %llu frames", (unsigned long long)it->offset,
                            (unsigned long long)pfn, (unsigned long long)z->pages);
        if (z->mem_fd >= 0) {                        /* post-copy: the few frames sent */
            if (pwrite(z->mem_fd, data, KEEL_PAGE_SIZE, (off_t)(pfn << KEEL_PAGE_SHIFT)) !=
                KEEL_PAGE_SIZE)
                return kg__fail(err, errlen, -EIO, "writing frame %#llx: %s",
                                (unsigned long long)pfn, strerror(errno));
            data += KEEL_PAGE_SIZE;
            continue;
        }
        z->off[pfn] = at;                            /* a later copy of a frame wins */
        at += KEEL_PAGE_SIZE;
    }
    return 0;
}

static int take_params(struct lazy *z, const struct kg_stream_item *it, char *err, size_t errlen)
{
    struct kg_ring_params *r = &z->rings;

    for (uint32_t i = 0; i < it->u.hvm_params.count; i++) {
        const struct kg_hvm_param *p = &it->u.hvm_params.params[i];
        int is_pfn = p->index == KG_HVM_PARAM_STORE_PFN || p->index == KG_HVM_PARAM_CONSOLE_PFN;
        int is_port = p->index == KG_HVM_PARAM_STORE_EVTCHN || p->index == KG_HVM_PARAM_CONSOLE_EVTCHN;
        if ((is_pfn && (p->value == 0 || p->value >= z->pages)) ||
            (is_port && (p->value == 0 || p->value >= KEEL_NR_EVTCHN)))
            return kg__fail(err, errlen, -EINVAL, "HVM_PARAMS at offset %llu: parameter %llu = "
                            "%#llx is out of range for this domain", (unsigned long long)it->offset,
                            (unsigned long long)p->index, (unsigned long long)p->value);
        if (p->index == KG_HVM_PARAM_STORE_PFN)
            r->store_gfn = p->value;
        else if (p->index == KG_HVM_PARAM_STORE_EVTCHN)
            r->store_port = (uint32_t)p->value;
        else if (p->index == KG_HVM_PARAM_CONSOLE_PFN)
            r->console_gfn = p->value;
        else if (p->index == KG_HVM_PARAM_CONSOLE_EVTCHN)
            r->console_port = (uint32_t)p->value;
    }
    if (!r->store_gfn != !r->store_port || !r->console_gfn != !r->console_port)
        return kg__fail(err, errlen, -EINVAL, "HVM_PARAMS at offset %llu: a ring frame without "
                        "its event channel, or the reverse", (unsigned long long)it->offset);
    return 0;
}

/* Keel's record inside the (validated) HVM context blob. */
static int take_context(struct lazy *z, const struct kg_stream_item *it, char *err, size_t errlen)
{
    const uint8_t *b = it->body;
    size_t pos = 8 + 24, len = it->length;

    while (pos + 8 <= len) {
        uint16_t code = (uint16_t)(b[pos] | b[pos + 1] << 8);
        uint32_t dlen;
        memcpy(&dlen, b + pos + 4, 4);
        if (dlen > len - pos - 8 || code == 0)
            break;
        if (code == KG_HVM_CODE_KEEL_DOMSTATE) {
            free(z->state);
            if (!(z->state = malloc(dlen ? dlen : 1)))
                return kg__fail(err, errlen, -ENOMEM, "out of memory for the domain state");
            memcpy(z->state, b + pos + 8, dlen);
            z->state_len = dlen;
            return 0;
        }
        pos += 8 + dlen;
    }
    return kg__fail(err, errlen, -EINVAL, "HVM_CONTEXT at offset %llu has no Keel domain state: "
                    "not a stream written by Keel", (unsigned long long)it->offset);
}

/* EMULATOR_CONTEXT: one per (emulator, index), a later one replacing an earlier. */
static int take_emulator(struct lazy *z, const struct kg_stream_item *it, char *err, size_t errlen)
{
    struct kg_emu_records *e = z->emu;
    struct kg_emu_record *slot = NULL;
    size_t len = it->length - 8;
    uint8_t *copy;

    for (uint32_t i = 0; i < e->n && !slot; i++)
        if (e->rec[i].emulator_id == it->u.emulator.emulator_id &&
            e->rec[i].index == it->u.emulator.index)
            slot = &e->rec[i];
    if (!slot && e->n >= KG_EMU_RECORDS_MAX)
        return kg__fail(err, errlen, -E2BIG, "more than %d EMULATOR_CONTEXT records",
                        KG_EMU_RECORDS_MAX);
    if (!(copy = malloc(len ? len : 1)))
        return kg__fail(err, errlen, -ENOMEM, "out of memory for an EMULATOR_CONTEXT record");
    memcpy(copy, it->body + 8, len);
    if (!slot) {
        struct kg_emu_record *n = realloc(e->rec, sizeof(*n) * (e->n + 1));
        if (!n) {
            free(copy);
            return kg__fail(err, errlen, -ENOMEM, "out of memory for an EMULATOR_CONTEXT record");
        }
        e->rec = n;
        slot = &e->rec[e->n++];
    } else {
        free(slot->data);
    }
    *slot = (struct kg_emu_record){ it->u.emulator.emulator_id, it->u.emulator.index, copy, len };
    return 0;
}

/* The whole stream: 1 if it is checkpointed (restored eagerly instead), 0, or -errno. */
static int walk(struct lazy *z, int fd, char *err, size_t errlen)
{
    struct kg_stream_reader_opts ro = { .format = KG_FMT_AUTO, .max_pfn = z->pages - 1,
                                        .flags = z->mem_fd >= 0 ? 0 : KG_READ_PAGE_OFFSETS };
    struct kg_stream_reader *rd = NULL;
    struct kg_source *src = NULL;
    struct kg_stream_item it;
    int rc;

    if ((rc = kg_source_new_fd(fd, &src)) < 0 || (rc = kg_stream_reader_new(src, &ro, &rd)) < 0) {
        kg_source_free(src);
        return kg__fail(err, errlen, rc, "setting up the stream reader");
    }
    while ((rc = kg_stream_read(rd, &it)) == 0) {
        if (it.kind != KG_ITEM_RECORD)
            continue;
        if (it.layer == KG_LAYER_LIBXL && it.type == KG_XLREC_EMULATOR_CONTEXT && z->emu)
            rc = take_emulator(z, &it, err, errlen);
        else if (it.layer != KG_LAYER_LIBXC || it.skipped)
            continue;
        else if (it.type == KG_REC_CHECKPOINT)
            rc = z->checkpointed = 1;
        else if (it.type == KG_REC_PAGE_DATA)
            rc = take_pages(z, &it, err, errlen);
        else if (it.type == KG_REC_HVM_PARAMS)
            rc = take_params(z, &it, err, errlen);
        else if (it.type == KG_REC_HVM_CONTEXT)
            rc = take_context(z, &it, err, errlen);
        if (rc)
            break;
    }
    if (rc == 1 && !z->checkpointed)
        rc = 0;                                      /* the final END */
    if (rc < 0 && !(err && err[0])) {
        const struct kg_stream_error *e = kg_stream_reader_error(rd);
        kg__fail(err, errlen, rc, "%s", e && e->msg[0] ? e->msg : strerror(-rc));
    }
    kg_stream_reader_free(rd);
    kg_source_free(src);
    if (rc == 1)
        return 1;
    if (rc < 0)
        return rc;
    if (!z->state)
        return kg__fail(err, errlen, -EINVAL, "the stream carries no HVM context");
    return 0;
}

/* Runs of frames adjacent both in memory and in the file; -E2BIG beyond what one call takes. */
static int make_runs(const struct lazy *z, struct keel_lazy_run **out, uint32_t *n)
{
    struct keel_lazy_run *r = NULL;
    uint32_t k = 0, cap = 0;

    for (uint64_t p = 0; p < z->pages; p++) {
        if (z->off[p] == UINT64_MAX)
            continue;
        if (k && r[k - 1].pfn + r[k - 1].count == p &&
            r[k - 1].offset + (r[k - 1].count << KEEL_PAGE_SHIFT) == z->off[p]) {
            r[k - 1].count++;
            continue;
        }
        if (k == KEEL_LAZY_MAX_RUNS) {
            free(r);
            return -E2BIG;
        }
        if (k == cap) {
            struct keel_lazy_run *nr = realloc(r, sizeof(*r) * (cap = cap ? cap * 2 : 64));
            if (!nr) {
                free(r);
                return -ENOMEM;
            }
            r = nr;
        }
        r[k++] = (struct keel_lazy_run){ p, 1, z->off[p] };
    }
    *out = r;
    *n = k;
    return 0;
}

/* The ring frames go in now: the store and console daemons map them through the memory
 * descriptor, which the core cannot fill behind them. */
static int write_rings(kc_handle *h, uint32_t domid, const struct lazy *z, int fd)
{
    uint64_t gfn[2] = { z->rings.console_gfn, z->rings.store_gfn };
    uint8_t page[KEEL_PAGE_SIZE];
    int mem = -1, rc = 0;

    if ((rc = kc_foreign_fd(h, domid, &mem, NULL)) < 0)
        return rc;
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (!gfn[i] || z->off[gfn[i]] == UINT64_MAX)
            continue;
        if (pread(fd, page, sizeof(page), (off_t)z->off[gfn[i]]) != (ssize_t)sizeof(page) ||
            pwrite(mem, page, sizeof(page), (off_t)(gfn[i] << KEEL_PAGE_SHIFT)) != (ssize_t)sizeof(page))
            rc = -EIO;
    }
    close(mem);
    return rc;
}

/* Eagerly from where the stream starts, then no more source for the core. */
static int eager(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd, const struct lazy *z,
                 struct kg_ring_params *rings, struct kg_emu_records *emu, char *err, size_t errlen)
{
    int rc;

    if (z && lseek(fd, (off_t)z->base, SEEK_SET) < 0)
        return kg__fail(err, errlen, -errno, "rewinding the image: %s", strerror(errno));
    if (emu)
        kg_emu_records_free(emu);
    if ((rc = kg_restore_emu(h, domid, mem_kb, fd, rings, emu, err, errlen)) < 0)
        return rc;
    if ((rc = kc_lazy_attach_file(h, domid, -1, NULL, 0)) < 0)
        return kg__fail(err, errlen, rc, "%s", kc_error(h));
    return 0;
}

int kg_restore_lazy(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd,
                    struct kg_ring_params *rings, struct kg_emu_records *emu, char *err,
                    size_t errlen)
{
    struct lazy z = { .pages = mem_kb >> 2, .emu = emu, .mem_fd = -1 };
    struct keel_lazy_run *runs = NULL;
    uint32_t nruns = 0;
    struct stat st;
    off_t base;
    int rc;

    if (err && errlen)
        err[0] = 0;
    if (emu)
        *emu = (struct kg_emu_records){ 0, NULL };
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (base = lseek(fd, 0, SEEK_CUR)) < 0)
        return eager(h, domid, mem_kb, fd, NULL, rings, emu, err, errlen);
    z.base = (uint64_t)base;
    if (!z.pages)
        return kg__fail(err, errlen, -EINVAL, "no memory");
    if ((rc = kc_populate_physmap(h, domid, 0, z.pages)) < 0)
        return kg__fail(err, errlen, rc, "%s", kc_error(h));
    if (!(z.off = malloc(z.pages * sizeof(uint64_t))))
        return kg__fail(err, errlen, -ENOMEM, "out of memory for the frame table");
    memset(z.off, 0xff, z.pages * sizeof(uint64_t));
    rc = walk(&z, fd, err, errlen);
    if (rc == 0 && (rc = make_runs(&z, &runs, &nruns)) == -E2BIG)
        rc = 1;                                      /* too fragmented: eagerly */
    else if (rc == -ENOMEM)
        kg__fail(err, errlen, rc, "out of memory for the frame runs");
    if (rc == 1) {
        rc = eager(h, domid, mem_kb, fd, &z, rings, emu, err, errlen);
    } else if (rc == 0) {
        if ((rc = write_rings(h, domid, &z, fd)) < 0)
            kg__fail(err, errlen, rc, "writing the ring frames: %s", strerror(-rc));
        else if ((rc = kc_lazy_attach_file(h, domid, fd, runs, nruns)) < 0 ||
                 (rc = kc_domain_setstate(h, domid, z.state, z.state_len)) < 0)
            kg__fail(err, errlen, rc, "%s", kc_error(h));
        else if (rings)
            *rings = z.rings;
        /* the stream's end: where an eager restore would have left the file */
        if (rc == 0 && lseek(fd, 0, SEEK_END) < 0)
            rc = kg__fail(err, errlen, -errno, "seeking to the image's end");
    }
    free(runs);
    free(z.off);
    free(z.state);
    return rc;
}

int kg_restore_postcopy(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd, int chan,
                        struct kg_ring_params *rings, struct kg_emu_records *emu, char *err,
                        size_t errlen)
{
    struct lazy z = { .pages = mem_kb >> 2, .emu = emu, .mem_fd = -1 };
    int rc;

    if (err && errlen)
        err[0] = 0;
    if (emu)
        *emu = (struct kg_emu_records){ 0, NULL };
    if (!z.pages)
        return kg__fail(err, errlen, -EINVAL, "no memory");
    if ((rc = kc_populate_physmap(h, domid, 0, z.pages)) < 0 ||
        (rc = kc_foreign_fd(h, domid, &z.mem_fd, NULL)) < 0)
        return kg__fail(err, errlen, rc, "%s", kc_error(h));
    rc = walk(&z, fd, err, errlen);
    if (rc == 1)
        rc = kg__fail(err, errlen, -EINVAL, "a checkpointed stream cannot be a post-copy one");
    /* the page source before the state: the grant table frames the core maps come from it */
    if (rc == 0 && ((rc = kc_lazy_attach_channel(h, domid, chan)) < 0 ||
                    (rc = kc_domain_setstate(h, domid, z.state, z.state_len)) < 0))
        kg__fail(err, errlen, rc, "%s", kc_error(h));
    if (rc == 0 && rings)
        *rings = z.rings;
    close(z.mem_fd);
    free(z.state);
    return rc;
}
