/* kg_restore.c - reads a migration v2 stream written by kg_save into a new, paused domain: page
 * data written into its memory object with pwrite, runs of consecutive frames at once (every pfn
 * checked against its size; no mapping, so no page faults and no unmapping of a large guest at
 * the end, which would lengthen the downtime), then Keel's domain-state record from HVM_CONTEXT,
 * handed to the core (which validates it again). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/guest.h"
#include "kg_err.h"
#include "stream/kg_stream.h"

struct restore {
    int mem_fd;
    uint64_t pages;
    struct kg_ring_params rings, rings_pending;
    uint32_t checkpoints;          /* committed */
    /* the open section: its pages (held back once a checkpoint was committed) and state */
    uint64_t *held_pfn;
    uint8_t *held_data;
    size_t held, held_cap;
    uint8_t *state, *state_pending;
    size_t state_len, state_pending_len;
    struct kg_emu_records *emu;    /* EMULATOR_CONTEXT records wanted (NULL: skipped) */
    /* a checkpoint in a stream with a libxl layer ends at CHECKPOINT_END, not at the libxc
     * CHECKPOINT: the emulator records (vTPM states) between the two belong to it */
    int xl_layer, cp_open;
    struct kg_emu_records emu_pending;
    const struct kg_restore_hooks *hooks;   /* Remus device hooks (may be NULL) */
};

void kg_emu_records_free(struct kg_emu_records *e)
{
    for (uint32_t i = 0; e && i < e->n; i++)
        free(e->rec[i].data);
    if (e) {
        free(e->rec);
        e->rec = NULL;
        e->n = 0;
    }
}

/* EMULATOR_CONTEXT (libxl layer; the reader checked the 8-byte header): keep a copy of the
 * body, one per (emulator, index). */
static int emu_put(struct kg_emu_records *e, uint32_t emulator_id, uint32_t index, uint8_t *data,
                   size_t len)
{
    struct kg_emu_record *slot = NULL;

    for (uint32_t i = 0; i < e->n && !slot; i++)
        if (e->rec[i].emulator_id == emulator_id && e->rec[i].index == index)
            slot = &e->rec[i];
    if (!slot && e->n >= KG_EMU_RECORDS_MAX)
        return -E2BIG;
    if (!slot) {
        struct kg_emu_record *n = realloc(e->rec, sizeof(*n) * (e->n + 1));
        if (!n)
            return -ENOMEM;
        e->rec = n;
        slot = &e->rec[e->n++];
    } else {
        free(slot->data);
    }
    *slot = (struct kg_emu_record){ emulator_id, index, data, len };
    return 0;
}

/* A checkpoint's emulator records replace the committed ones, key by key. */
static int emu_commit(struct restore *r)
{
    struct kg_emu_records *p = &r->emu_pending;
    int rc = 0;

    for (uint32_t i = 0; i < p->n; i++) {
        if (rc == 0 && r->emu)
            rc = emu_put(r->emu, p->rec[i].emulator_id, p->rec[i].index, p->rec[i].data,
                         p->rec[i].len);
        else
            free(p->rec[i].data);
        p->rec[i].data = NULL;
    }
    p->n = 0;
    return rc;
}

static int take_emulator(struct restore *r, const struct kg_stream_item *it, char *err,
                         size_t errlen)
{
    struct kg_emu_records *e = r->cp_open ? &r->emu_pending : r->emu;
    size_t len = it->length - 8;
    uint8_t *copy;
    int rc;

    if (!(copy = malloc(len ? len : 1)))
        return kg__fail(err, errlen, -ENOMEM, "out of memory for an EMULATOR_CONTEXT record");
    memcpy(copy, it->body + 8, len);
    if ((rc = emu_put(e, it->u.emulator.emulator_id, it->u.emulator.index, copy, len)) < 0) {
        free(copy);
        return kg__fail(err, errlen, rc, rc == -E2BIG ? "more than %d EMULATOR_CONTEXT records"
                        : "out of memory for an EMULATOR_CONTEXT record", KG_EMU_RECORDS_MAX);
    }
    return 0;
}

/* Keep a page of the open checkpoint until its CHECKPOINT record commits it. */
static int hold_page(struct restore *r, uint64_t pfn, const uint8_t *data)
{
    if (r->held == r->held_cap) {
        size_t cap = r->held_cap ? r->held_cap * 2 : 256;
        uint64_t *p = realloc(r->held_pfn, cap * sizeof(*p));
        uint8_t *d;
        if (!p)
            return -ENOMEM;
        r->held_pfn = p;
        if (!(d = realloc(r->held_data, cap << KEEL_PAGE_SHIFT)))
            return -ENOMEM;
        r->held_data = d;
        r->held_cap = cap;
    }
    r->held_pfn[r->held] = pfn;
    memcpy(r->held_data + (r->held << KEEL_PAGE_SHIFT), data, KEEL_PAGE_SIZE);
    r->held++;
    return 0;
}

static int write_run(struct restore *r, uint64_t pfn, const uint8_t *data, uint64_t n)
{
    size_t len = (size_t)n << KEEL_PAGE_SHIFT, done = 0;

    while (done < len) {
        ssize_t w = pwrite(r->mem_fd, data + done, len - done,
                           (off_t)(pfn << KEEL_PAGE_SHIFT) + (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        done += (size_t)w;
    }
    return 0;
}

/* Into guest memory, or held back while a committed checkpoint must stay intact. */
static int put_run(struct restore *r, uint64_t pfn, const uint8_t *data, uint64_t n)
{
    int rc = 0;

    if (!r->checkpoints)
        return write_run(r, pfn, data, n);
    for (uint64_t i = 0; i < n && rc == 0; i++)
        rc = hold_page(r, pfn + i, data + (i << KEEL_PAGE_SHIFT));
    return rc;
}

/* PAGE_DATA: each data-carrying frame into guest memory, consecutive frames in one write. */
static int take_pages(struct restore *r, const struct kg_stream_item *it, char *err, size_t errlen)
{
    const uint64_t *e = it->u.page_data.entries;
    const uint8_t *data = it->u.page_data.pages, *run_data = NULL;
    uint64_t run_pfn = 0, run_n = 0;
    int rc;

    for (uint32_t i = 0; i <= it->u.page_data.count; i++) {
        uint64_t pfn = i < it->u.page_data.count ? KG_PFN(e[i]) : 0;
        int has = i < it->u.page_data.count && kg_pfn_type_has_data(KG_PFN_TYPE(e[i])) == 1;
        if (has && pfn >= r->pages)
            return kg__fail(err, errlen, -EINVAL, "PAGE_DATA at offset %llu: pfn %#llx is beyond "
                            "the domain's %llu frames", (unsigned long long)it->offset,
                            (unsigned long long)pfn, (unsigned long long)r->pages);
        if (run_n && (!has || pfn != run_pfn + run_n)) {
            if ((rc = put_run(r, run_pfn, run_data, run_n)) < 0)
                return kg__fail(err, errlen, rc, "writing frames %#llx.. of guest memory: %s",
                                (unsigned long long)run_pfn, strerror(-rc));
            run_n = 0;
        }
        if (!has)
            continue;
        if (!run_n) {
            run_pfn = pfn;
            run_data = data;
        }
        run_n++;
        data += KEEL_PAGE_SIZE;
    }
    return 0;
}

/* Find Keel's record in an (already validated) HVM context blob. */
static int find_domstate(const uint8_t *b, size_t len, const uint8_t **out, size_t *out_len)
{
    size_t pos = 8 + 24;                         /* header descriptor + save header */

    while (pos + 8 <= len) {
        uint16_t code = (uint16_t)(b[pos] | b[pos + 1] << 8);
        uint32_t dlen;
        memcpy(&dlen, b + pos + 4, 4);
        if (dlen > len - pos - 8)
            return -EBADMSG;
        if (code == 0)
            return -ENOENT;
        if (code == KG_HVM_CODE_KEEL_DOMSTATE) {
            *out = b + pos + 8;
            *out_len = dlen;
            return 0;
        }
        pos += 8 + dlen;
    }
    return -EBADMSG;
}

/* HVM_PARAMS: keep the ring parameters, each checked against the domain. Unknown indices are
 * ignored (another writer may carry more). */
static int take_params(struct restore *r, const struct kg_stream_item *it, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < it->u.hvm_params.count; i++) {
        const struct kg_hvm_param *p = &it->u.hvm_params.params[i];
        int is_pfn = p->index == KG_HVM_PARAM_STORE_PFN || p->index == KG_HVM_PARAM_CONSOLE_PFN;
        int is_port = p->index == KG_HVM_PARAM_STORE_EVTCHN || p->index == KG_HVM_PARAM_CONSOLE_EVTCHN;
        if ((is_pfn && (p->value == 0 || p->value >= r->pages)) ||
            (is_port && (p->value == 0 || p->value >= KEEL_NR_EVTCHN)))
            return kg__fail(err, errlen, -EINVAL, "HVM_PARAMS at offset %llu: parameter %llu = "
                            "%#llx is out of range for this domain", (unsigned long long)it->offset,
                            (unsigned long long)p->index, (unsigned long long)p->value);
        switch (p->index) {
        case KG_HVM_PARAM_STORE_PFN: r->rings_pending.store_gfn = p->value; break;
        case KG_HVM_PARAM_STORE_EVTCHN: r->rings_pending.store_port = (uint32_t)p->value; break;
        case KG_HVM_PARAM_CONSOLE_PFN: r->rings_pending.console_gfn = p->value; break;
        case KG_HVM_PARAM_CONSOLE_EVTCHN: r->rings_pending.console_port = (uint32_t)p->value; break;
        default: break;
        }
    }
    if (!r->rings_pending.store_gfn != !r->rings_pending.store_port ||
        !r->rings_pending.console_gfn != !r->rings_pending.console_port)
        return kg__fail(err, errlen, -EINVAL, "HVM_PARAMS at offset %llu: a ring frame without "
                        "its event channel, or the reverse", (unsigned long long)it->offset);
    return 0;
}

/* HVM_CONTEXT: keep Keel's domain-state record; the core gets the committed one at the end. */
static int take_context(struct restore *r, const struct kg_stream_item *it, char *err,
                        size_t errlen)
{
    const uint8_t *st;
    size_t st_len;
    uint8_t *copy;

    if (find_domstate(it->body, it->length, &st, &st_len) < 0)
        return kg__fail(err, errlen, -EINVAL, "HVM_CONTEXT at offset %llu has no Keel domain "
                        "state: not a stream written by Keel", (unsigned long long)it->offset);
    if (!(copy = malloc(st_len ? st_len : 1)))
        return kg__fail(err, errlen, -ENOMEM, "out of memory for the domain state");
    memcpy(copy, st, st_len);
    free(r->state_pending);
    r->state_pending = copy;
    r->state_pending_len = st_len;
    return 0;
}

static int closes(struct restore *r, const struct kg_stream_item *it, int checkpoint, char *err,
                  size_t errlen)
{
    if (!r->state_pending)
        return kg__fail(err, errlen, -EINVAL, "%s at offset %llu closes a section without an "
                        "HVM context", checkpoint ? "CHECKPOINT" : "END",
                        (unsigned long long)it->offset);
    return 0;
}

/* CHECKPOINT or END (or, with a libxl layer, CHECKPOINT_END): the open section becomes the
 * domain's image. */
static int commit(struct restore *r, const struct kg_stream_item *it, int checkpoint, char *err,
                  size_t errlen)
{
    int rc;

    if ((rc = closes(r, it, checkpoint, err, errlen)) < 0)
        return rc;
    if ((rc = emu_commit(r)) < 0)
        return kg__fail(err, errlen, rc, "committing checkpoint %u's EMULATOR_CONTEXT records: "
                        "%s", r->checkpoints + 1, strerror(-rc));
    for (size_t i = 0; i < r->held; i++) {
        if ((rc = write_run(r, r->held_pfn[i], r->held_data + (i << KEEL_PAGE_SHIFT), 1)) < 0)
            return kg__fail(err, errlen, rc, "committing checkpoint %u: %s", r->checkpoints + 1,
                            strerror(-rc));
    }
    r->held = 0;
    free(r->state);
    r->state = r->state_pending;
    r->state_len = r->state_pending_len;
    r->state_pending = NULL;
    r->rings = r->rings_pending;
    if (checkpoint) {
        r->checkpoints++;
        if (r->hooks && r->hooks->commit) {
            if ((rc = r->hooks->commit(r->hooks->arg, r->checkpoints)) < 0)
                return kg__fail(err, errlen, rc, "checkpoint %u: the commit hook failed: %s",
                                r->checkpoints, strerror(-rc));
        }
    }
    return 0;
}

/* The libxc CHECKPOINT: the checkpoint is complete here, or with a libxl layer at its
 * CHECKPOINT_END (after its emulator records). */
static int take_checkpoint(struct restore *r, const struct kg_stream_item *it, char *err,
                           size_t errlen)
{
    if (!r->xl_layer)
        return commit(r, it, 1, err, errlen);
    r->cp_open = 1;
    return closes(r, it, 1, err, errlen);
}

static int take_record(struct restore *r, const struct kg_stream_item *it, char *err, size_t errlen)
{
    if (it->layer == KG_LAYER_LIBXL || it->layer == KG_LAYER_XL)
        r->xl_layer = 1;
    if (it->kind == KG_ITEM_RECORD && it->layer == KG_LAYER_LIBXL &&
        it->type == KG_XLREC_EMULATOR_CONTEXT && r->emu)
        return take_emulator(r, it, err, errlen);
    if (it->kind == KG_ITEM_RECORD && it->layer == KG_LAYER_LIBXL &&
        it->type == KG_XLREC_CHECKPOINT_END && r->cp_open) {
        r->cp_open = 0;
        return commit(r, it, 1, err, errlen);
    }
    if (it->kind != KG_ITEM_RECORD || it->layer != KG_LAYER_LIBXC)
        return 0;
    if (it->skipped && r->hooks && r->hooks->record) {
        int rc = r->hooks->record(r->hooks->arg, it->type, it->body, it->length);
        if (rc < 0)
            return kg__fail(err, errlen, rc, "record 0x%x at offset %llu: refused: %s", it->type,
                            (unsigned long long)it->offset, strerror(-rc));
        return 0;
    }
    switch (it->type) {
    case KG_REC_PAGE_DATA: return take_pages(r, it, err, errlen);
    case KG_REC_HVM_PARAMS: return take_params(r, it, err, errlen);
    case KG_REC_HVM_CONTEXT: return take_context(r, it, err, errlen);
    case KG_REC_CHECKPOINT: return take_checkpoint(r, it, err, errlen);
    case KG_REC_END: return commit(r, it, 0, err, errlen);
    default: return 0;
    }
}

static int read_stream(kc_handle *h, uint32_t domid, struct restore *r, struct kg_stream_reader *rd,
                       int *failover, char *err, size_t errlen)
{
    struct kg_stream_item it;
    int rc;

    while ((rc = kg_stream_read(rd, &it)) == 0)
        if ((rc = take_record(r, &it, err, errlen)) < 0)
            break;
    if (rc < 0 && r->checkpoints) {
        /* the primary is gone (a cut or a broken record): the last checkpoint stands; err
         * keeps the reason */
        const struct kg_stream_error *e = kg_stream_reader_error(rd);
        if (err && errlen && !err[0])
            kg__fail(err, errlen, rc, "%s", e && e->msg[0] ? e->msg : strerror(-rc));
        *failover = 1;
        r->held = 0;
        r->cp_open = 0;
        kg_emu_records_free(&r->emu_pending);
    } else if (rc < 0) {
        const struct kg_stream_error *e = kg_stream_reader_error(rd);
        if (err && errlen && err[0])
            return rc;
        return kg__fail(err, errlen, rc, "%s", e && e->msg[0] ? e->msg : strerror(-rc));
    }
    if (!r->state)
        return kg__fail(err, errlen, -EINVAL, "the stream carries no HVM context");
    if ((rc = kc_domain_setstate(h, domid, r->state, r->state_len)) < 0)
        return kg__fail(err, errlen, rc, "%s", kc_error(h));
    return 0;
}

static int restore_run(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd,
                       struct kg_restore_result *res, struct kg_emu_records *emu,
                       const struct kg_restore_hooks *hooks, char *err, size_t errlen)
{
    struct restore r = { .mem_fd = -1, .pages = mem_kb >> 2, .emu = emu, .hooks = hooks };
    struct kg_stream_reader_opts ro = { .format = KG_FMT_AUTO };
    struct kg_stream_reader *rd = NULL;
    struct kg_source *src = NULL;
    int rc, failover = 0;

    if (err && errlen)
        err[0] = 0;
    ro.max_pfn = r.pages ? r.pages - 1 : 0;
    if (!r.pages || (rc = kc_populate_physmap(h, domid, 0, r.pages)) < 0)
        return kg__fail(err, errlen, r.pages ? rc : -EINVAL, "%s", r.pages ? kc_error(h) : "no memory");
    if ((rc = kc_foreign_fd(h, domid, &r.mem_fd, NULL)) < 0)
        return kg__fail(err, errlen, rc, "%s", kc_error(h));
    if ((rc = kg_source_new_fd(fd, &src)) < 0 || (rc = kg_stream_reader_new(src, &ro, &rd)) < 0)
        kg__fail(err, errlen, rc, "setting up the stream reader");
    else
        rc = read_stream(h, domid, &r, rd, &failover, err, errlen);
    if (rc == 0 && res)
        *res = (struct kg_restore_result){ r.rings, r.checkpoints, failover };
    kg_stream_reader_free(rd);
    kg_source_free(src);
    close(r.mem_fd);
    free(r.held_pfn);
    free(r.held_data);
    free(r.state);
    free(r.state_pending);
    kg_emu_records_free(&r.emu_pending);
    return rc;
}

int kg_restore_ex(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd,
                  struct kg_restore_result *res, char *err, size_t errlen)
{
    return restore_run(h, domid, mem_kb, fd, res, NULL, NULL, err, errlen);
}

int kg_restore_emu(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd,
                   struct kg_ring_params *rings, struct kg_emu_records *emu, char *err,
                   size_t errlen)
{
    struct kg_restore_result res;
    int rc;

    if (emu)
        *emu = (struct kg_emu_records){ 0, NULL };
    rc = restore_run(h, domid, mem_kb, fd, &res, emu, NULL, err, errlen);
    if (rc == 0 && rings)
        *rings = res.rings;
    return rc;
}

int kg_restore(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd, struct kg_ring_params *rings,
               char *err, size_t errlen)
{
    struct kg_restore_result res;
    int rc = kg_restore_ex(h, domid, mem_kb, fd, &res, err, errlen);

    if (rc == 0 && rings)
        *rings = res.rings;
    return rc;
}

int kg_restore_hooked(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd,
                      struct kg_restore_result *res, struct kg_emu_records *emu,
                      const struct kg_restore_hooks *hooks, char *err, size_t errlen)
{
    if (emu)
        *emu = (struct kg_emu_records){ 0, NULL };
    return restore_run(h, domid, mem_kb, fd, res, emu, hooks, err, errlen);
}
