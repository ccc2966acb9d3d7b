/* keel/guest.h - libkeelguest: the domain builder (ELF kernel and ramdisk loading, boot
 * information as a flattened device tree, initial vCPU state). The migration-v2 stream has its
 * own header. Calls return 0 or a negative errno, with a message in err[errlen]. */
#ifndef KEEL_GUEST_BUILD_H
#define KEEL_GUEST_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "keel/ctrl.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KG_BOOT_STACK_SIZE (64 * 1024)
#define KG_FDT_MAX (64 * 1024)

struct kg_elf_info {
    uint64_t entry;              /* virtual address */
    uint64_t load_start;         /* lowest guest physical address loaded */
    uint64_t load_end;           /* first guest physical address after the image (page aligned) */
    unsigned nr_segments;
};

struct kg_build_info {
    const char *kernel;          /* ELF image path */
    const char *ramdisk;         /* optional */
    const char *cmdline;         /* optional */
    uint64_t mem_kb;             /* memory populated at boot */
    uint32_t nr_vcpus;           /* vCPUs online at boot (the guest brings them up) */
    uint32_t max_vcpus;
    /* rings set up by the toolstack for the guest (0 = none) */
    uint64_t console_gfn;
    uint32_t console_port;
    uint64_t store_gfn;
    uint32_t store_port;
};

struct kg_build_result {
    uint64_t entry;
    uint64_t kernel_end;         /* guest physical */
    uint64_t ramdisk_start, ramdisk_size;
    uint64_t fdt_gpa;
    uint64_t stack_top;          /* virtual */
};

/* Validate an ELF64 x86-64 executable against a guest memory of mem_size bytes. */
int kg_elf_check(const uint8_t *img, size_t len, uint64_t mem_size, struct kg_elf_info *info,
                 char *err, size_t errlen);
/* Copy the loadable segments into mem (the guest memory, mapped) and zero their bss. */
void kg_elf_load(const uint8_t *img, uint8_t *mem, const struct kg_elf_info *info);

/* Build the whole boot state of a created, paused domain: populate, load, FDT, vCPU 0. */
int kg_build(kc_handle *h, uint32_t domid, const struct kg_build_info *bi,
             struct kg_build_result *res, char *err, size_t errlen);

/* ---- save and restore on the migration v2 stream ---- */

/* A Keel-specific HVM save record carried inside HVM_CONTEXT (Xen's tools skip unknown device
 * records): the core's domain state (keel_domstate_*), authoritative on restore. */
#define KG_HVM_CODE_KEEL_DOMSTATE 0x4b45

/* A guest's console and store rings as the stream carries them (HVM_PARAMS STORE_PFN,
 * STORE_EVTCHN, CONSOLE_PFN, CONSOLE_EVTCHN); zero fields: no such ring. */
struct kg_ring_params {
    uint64_t console_gfn, store_gfn;
    uint32_t console_port, store_port;
};

/* Where a save stands, reported after each round and every few MiB within one. */
struct kg_save_progress {
    uint32_t round;              /* 1 = the first full pass; stop-and-copy is the last */
    int stop_and_copy;           /* the guest is paused: this is the final pass */
    uint64_t pages_total;        /* frames of the domain (its maximum reservation) */
    uint64_t pages_sent;         /* sent so far, all rounds */
    uint64_t round_pages;        /* to send in this round (present or dirty frames) */
    uint64_t round_sent;         /* of them, sent so far */
    uint64_t last_dirty;         /* frames the previous round left dirty (live; 0 before) */
    uint64_t elapsed_ns;         /* since kg_save began */
    uint64_t bytes_written;      /* page data written so far (4 KiB per page) */
};
typedef void kg_save_progress_fn(const struct kg_save_progress *p, void *arg);

/* libxl EMULATOR_CONTEXT records carried by a save stream (Keel: a vTPM's state, emulator_id
 * 0, index = the vtpm's devid), written after the libxc END and before the libxl END. */
#define KG_EMU_RECORDS_MAX 64
struct kg_emu_record {
    uint32_t emulator_id, index;
    uint8_t *data;               /* malloc'd */
    size_t len;
};
struct kg_emu_records {
    uint32_t n;
    struct kg_emu_record *rec;   /* malloc'd array of n */
};
void kg_emu_records_free(struct kg_emu_records *r);

/* Remus checkpoint phases (kg_save_opts.checkpoint): n is the checkpoint's number (1 = the
 * first, after the live pass). PAUSED: the guest was just paused, nothing of it read yet (the
 * backends close the epoch); RECORDS: memory and state written, before CHECKPOINT (w may carry
 * optional records, kg_stream_write_optional); RESUMED: checkpoint n is sent and the guest runs
 * again (wait for the backup's acknowledgement, release output). */
enum kg_cp_phase { KG_CP_PAUSED = 1, KG_CP_RECORDS = 2, KG_CP_RESUMED = 3 };
struct kg_stream_writer;
typedef int kg_checkpoint_fn(void *arg, enum kg_cp_phase phase, uint32_t n,
                             struct kg_stream_writer *w);

struct kg_save_opts {
    int live;                    /* pre-copy with log-dirty mode while the guest runs */
    uint32_t max_rounds;         /* live: rounds before stop-and-copy (0: 8) */
    uint64_t target_dirty;       /* live: stop when a round leaves at most this many pages (0: 64) */
    int format;                  /* 0 libxc, 1 libxl, 2 xl save image (kg_stream_format) */
    const char *xl_config;       /* JSON config for the xl preamble */
    kg_save_progress_fn *progress;   /* optional; called on the saving thread */
    void *progress_arg;
    const volatile int *cancel;  /* optional; non-zero stops the save with -ECANCELED between
                                  * batches (the domain is left paused or running as it was) */
    struct kg_ring_params rings; /* written as HVM_PARAMS, so a restore can reconnect them */
    uint32_t checkpoint_ms;      /* Remus: after the live pass, a checkpoint every this many ms
                                  * (guest paused for dirty pages + state, then CHECKPOINT) until
                                  * *cancel is set (-ECANCELED, guest running) or the stream
                                  * breaks (error, guest running); 0: an ordinary save */
    int (*suspend)(void *arg);   /* optional: called once the guest is paused for the final
                                  * copy, before the last dirty bitmap is read (non-live: before
                                  * any page is copied), so Domain-0's backends can finish their
                                  * requests into guest memory first; a negative return fails the
                                  * save with it (guest left paused). Called on kg_save's thread.
                                  * Not called with checkpoint_ms (Remus keeps the guest's
                                  * devices running: disk consistency is disk replication's). */
    void *suspend_arg;
    struct kg_emu_records *emu;  /* optional: EMULATOR_CONTEXT records written before END (the
                                  * suspend callback may fill it); with checkpoint_ms, in every
                                  * checkpoint between CHECKPOINT and CHECKPOINT_END (the
                                  * checkpoint callback may refresh them while the guest is
                                  * paused; not in the libxc format, which has no libxl layer) */
    kg_checkpoint_fn *checkpoint;   /* optional, Remus only (issue 15): device hooks per
                                  * checkpoint, on kg_save's thread; a negative return stops the
                                  * replication with it (guest left running) */
    void *checkpoint_arg;
    int postcopy;                /* Keel post-copy (docs/lazy-restore.md): non-live, and of the
                                  * memory only the ring frames go in the stream; the target
                                  * fetches the rest from the paused source afterwards */
};

struct kg_save_stats {
    uint32_t rounds;             /* copy rounds, the final stop-and-copy included */
    uint64_t pages_sent;
    uint64_t last_dirty;         /* pages copied while the guest was paused */
    uint64_t downtime_ns;        /* from pausing the guest to the end of the stream (Remus:
                                  * of the last checkpoint) */
    uint64_t total_ns;
    uint32_t checkpoints;        /* Remus: checkpoints completed */
};

/* Write domain domid to fd as a migration v2 stream. The domain is left paused (the caller
 * destroys it after a successful migration, or unpauses it). */
int kg_save(kc_handle *h, uint32_t domid, int fd, const struct kg_save_opts *opts,
            struct kg_save_stats *stats, char *err, size_t errlen);
/* Read a stream written by kg_save from fd into domid: a created, paused, never-run domain of
 * the same vCPU count and at least mem_kb of memory. It stays paused. rings (may be NULL)
 * receives the ring parameters the stream carries (checked against the domain's size and the
 * event channel range); the toolstack introduces them to the store and console daemons. */
int kg_restore(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd, struct kg_ring_params *rings,
               char *err, size_t errlen);

/* kg_restore that also hands back the stream's EMULATOR_CONTEXT records (each index once: a
 * later one replaces an earlier; at most KG_EMU_RECORDS_MAX) in *emu (may be NULL; free with
 * kg_emu_records_free, also on failure). */
int kg_restore_emu(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd,
                   struct kg_ring_params *rings, struct kg_emu_records *emu, char *err,
                   size_t errlen);

/* What a restore found in its stream. */
struct kg_restore_result {
    struct kg_ring_params rings;
    uint32_t checkpoints;        /* CHECKPOINT records committed (a Remus stream) */
    int failover;                /* the checkpointed stream broke off: the domain holds the last
                                  * complete checkpoint (pages after it were discarded) */
};
/* kg_restore for checkpointed streams too: after the first CHECKPOINT each checkpoint's pages
 * are held back until its CHECKPOINT record arrives; when the stream ends without END after at
 * least one checkpoint (the primary is gone), the last complete checkpoint is restored. */
int kg_restore_ex(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd,
                  struct kg_restore_result *res, char *err, size_t errlen);

/* Remus backup hooks (issue 15): record() sees each unknown optional libxc record (its body
 * checked by nobody: validate it), commit() runs once checkpoint n's memory and state are
 * committed (before the next record is read). A negative return ends the restore with it. */
struct kg_restore_hooks {
    int (*record)(void *arg, uint32_t type, const uint8_t *body, uint32_t len);
    int (*commit)(void *arg, uint32_t n);
    void *arg;
};
/* Lazy restore (kg_lazy.c, docs/lazy-restore.md) into a domain created with
 * KEEL_DOMCTL_CDF_LAZY_MEM: from a regular file, the stream is walked without its page
 * contents, the core gets the file (it keeps its own descriptor) and where each frame lies in
 * it, and fills frames on first touch; the domain state is set, so it can run at once. Any
 * other descriptor, a checkpointed stream or a very fragmented one is restored eagerly as
 * kg_restore_emu does (the core then fills nothing but zeros). */
int kg_restore_lazy(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd,
                    struct kg_ring_params *rings, struct kg_emu_records *emu, char *err,
                    size_t errlen);

/* Post-copy target (docs/lazy-restore.md): a stream from any descriptor whose page data is
 * written at once (a post-copy source sends only the ring frames), then the core gets chan (a
 * stream socket: keel_lazy_req out, keel_lazy_page in) as the domain's page source, then the
 * domain state is set. The domain was created with KEEL_DOMCTL_CDF_LAZY_MEM. */
int kg_restore_postcopy(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd, int chan,
                        struct kg_ring_params *rings, struct kg_emu_records *emu, char *err,
                        size_t errlen);

/* kg_restore_emu with hooks (NULL: none). */
int kg_restore_hooked(kc_handle *h, uint32_t domid, uint64_t mem_kb, int fd,
                      struct kg_restore_result *res, struct kg_emu_records *emu,
                      const struct kg_restore_hooks *hooks, char *err, size_t errlen);

/* ---- console and store rings (kg_rings.c) ---- */

/* The rings sit in the last KG_RING_PAGES frames of the guest's memory: console first, then
 * store. kg_build keeps everything it places below the lowest ring frame set in kg_build_info. */
#define KG_RING_PAGES 2
#define KG_RING_CONSOLE 0
#define KG_RING_STORE 1

/* For a created domain of mem_kb memory, before kg_build: populate and zero the two ring
 * frames, allocate in the guest one unbound event channel port for Domain-0 per ring, and fill
 * bi->console_gfn/console_port/store_gfn/store_port. The toolstack then introduces the store
 * ring to keel-stored (XS_INTRODUCE domid store_gfn store_port) and writes the console's
 * ring-ref/port in the store for keel-consoled. */
int kg_rings_setup(kc_handle *h, uint32_t domid, uint64_t mem_kb, struct kg_build_info *bi,
                   char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
