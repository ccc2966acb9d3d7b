/* bench-pagedata.c - save-path throughput of the stream writer: PAGE_DATA records for a
 * 128 MiB guest (batches of 1024 pages) written to /dev/null and to a pipe drained by a child
 * process and to a (page-cache) file, plus the reader restoring the same stream from a pipe into guest memory. Each is
 * reported as median and spread over several runs and as a ratio to memcpy of the same
 * 128 MiB measured in the same run (ratio = memcpy time / operation time; 1.0 = memcpy speed). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kg_stream.h"

#define MEM_BYTES (128u << 20)
#define NPAGES (MEM_BYTES / KG_PAGE_SIZE)
#define RUNS 7

static uint8_t *guest, *copy;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

/* The whole save stream: headers, STATIC_DATA_END, all pages, END-less (pages only matter). */
static int write_guest(int fd)
{
    struct kg_stream_writer_opts o = { .format = KG_FMT_LIBXC };
    static uint64_t e[KG_MAX_BATCH];
    static const void *pg[KG_MAX_BATCH];
    struct kg_stream_writer *w;
    struct kg_sink *sink;
    int rc;

    if (kg_sink_new_fd(fd, &sink) || kg_stream_writer_new(sink, &o, &w))
        return -1;
    rc = kg_stream_write_begin(w) ?: kg_stream_write_static_data_end(w);
    for (uint32_t base = 0; base < NPAGES && !rc; base += KG_MAX_BATCH) {
        for (uint32_t i = 0; i < KG_MAX_BATCH; i++) {
            e[i] = KG_PFN_ENTRY(base + i, KG_PFINFO_NOTAB);
            pg[i] = guest + (size_t)(base + i) * KG_PAGE_SIZE;
        }
        rc = kg_stream_write_page_data(w, e, pg, KG_MAX_BATCH);
    }
    if (rc)
        fprintf(stderr, "bench: %s\n", kg_stream_writer_error(w)->msg);
    kg_stream_writer_free(w);
    kg_sink_free(sink);
    return rc;
}

static double t_memcpy(void)
{
    double t = now();

    memcpy(copy, guest, MEM_BYTES);
    __asm__ volatile("" ::: "memory");
    return now() - t;
}

static double t_devnull(void)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    double t = now();

    if (fd < 0 || write_guest(fd))
        exit(1);
    t = now() - t;
    close(fd);
    return t;
}

static int raw_mode;

/* Plain write() of the 128 MiB in 4 MiB chunks: what the kernel costs without the stream. */
static int write_raw(int fd)
{
    for (size_t off = 0; off < MEM_BYTES; off += 4u << 20)
        if (write(fd, guest + off, 4u << 20) != 4 << 20)
            return -1;
    return 0;
}

/* Save to a file (page cache; $TMPDIR or /tmp), unlinked afterwards. */
static double t_file(void)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096];
    double t;
    int fd;

    snprintf(path, sizeof path, "%s/keel-bench-pagedata.XXXXXX", dir);
    fd = mkstemp(path);
    if (fd < 0)
        exit(1);
    unlink(path);
    t = now();
    if (raw_mode ? write_raw(fd) : write_guest(fd))
        exit(1);
    t = now() - t;
    close(fd);
    return t;
}

static void drain(int fd)
{
    static uint8_t buf[1 << 20];

    while (read(fd, buf, sizeof buf) > 0)
        ;
    _exit(0);
}

/* Writer -> pipe -> child that discards (pipe_size 0: kernel default). */
static double t_pipe(int pipe_size)
{
    int p[2], st;
    double t;
    pid_t pid;

    if (pipe(p))
        exit(1);
    if (pipe_size)
        fcntl(p[1], F_SETPIPE_SZ, pipe_size);
    pid = fork();
    if (pid == 0) {
        close(p[1]);
        drain(p[0]);
    }
    close(p[0]);
    t = now();
    if (write_guest(p[1]))
        exit(1);
    close(p[1]);
    waitpid(pid, &st, 0);
    return now() - t;
}

static void *place(void *opaque, uint64_t pfn, unsigned type)
{
    (void)opaque;
    (void)type;
    return copy + pfn * KG_PAGE_SIZE;
}

/* Child writes the stream to a pipe; the reader validates it and puts pages into place:
 * copied out of the item (direct = 0) or read straight there via page_dest (direct = 1). */
static double t_restore(int direct)
{
    struct kg_stream_reader_opts o = { .format = KG_FMT_LIBXC, .max_pfn = NPAGES - 1,
                                       .page_dest = direct ? place : NULL };
    struct kg_stream_reader *r;
    struct kg_source *src;
    struct kg_stream_item it;
    int p[2], st;
    double t;
    pid_t pid;

    if (pipe(p))
        exit(1);
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        _exit(write_guest(p[1]) ? 1 : 0);
    }
    close(p[1]);
    t = now();
    kg_source_new_fd(p[0], &src);
    kg_stream_reader_new(src, &o, &r);
    while (kg_stream_read(r, &it) == 0)  /* ends at the missing END: truncation, by design */
        if (it.kind == KG_ITEM_RECORD && it.type == KG_REC_PAGE_DATA && !direct)
            for (uint32_t i = 0; i < it.u.page_data.count; i++)
                memcpy(copy + KG_PFN(it.u.page_data.entries[i]) * KG_PAGE_SIZE,
                       it.u.page_data.pages + (size_t)i * KG_PAGE_SIZE, KG_PAGE_SIZE);
    t = now() - t;
    kg_stream_reader_free(r);
    kg_source_free(src);
    close(p[0]);
    waitpid(pid, &st, 0);
    return t;
}

static void report(const char *name, double (*fn)(void), double (*fn2)(int), int arg,
                   double mref)
{
    double v[RUNS], med;

    for (int i = 0; i < RUNS; i++)
        v[i] = fn ? fn() : fn2(arg);
    med = median(v, RUNS);
    printf("%-34s median %7.2f ms  spread %7.2f..%7.2f ms  %7.0f MiB/s  ratio to memcpy %.2f\n",
           name, med * 1e3, v[0] * 1e3, v[RUNS - 1] * 1e3, 128.0 / med, mref / med);
}

int main(void)
{
    double m[RUNS], mref;

    guest = malloc(MEM_BYTES);
    copy = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!guest || copy == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < MEM_BYTES; i += 8)
        memcpy(guest + i, &i, 8);
    memset(copy, 1, MEM_BYTES);
    /* Keep the restore target out of forked writer children: otherwise every page the
     * parent then writes is a copy-on-write fault and the figure measures fork, not us. */
    madvise(copy, MEM_BYTES, MADV_DONTFORK);
    for (int i = 0; i < RUNS; i++)
        m[i] = t_memcpy();
    mref = median(m, RUNS);
    printf("128 MiB guest, %u PAGE_DATA records of %u pages, %d runs each\n", NPAGES / KG_MAX_BATCH,
           KG_MAX_BATCH, RUNS);
    printf("%-34s median %7.2f ms  spread %7.2f..%7.2f ms  %7.0f MiB/s\n", "memcpy (reference)",
           mref * 1e3, m[0] * 1e3, m[RUNS - 1] * 1e3, 128.0 / mref);
    report("write to /dev/null", t_devnull, NULL, 0, mref);
    report("write to a file in $TMPDIR or /tmp", t_file, NULL, 0, mref);
    raw_mode = 1;
    report("  reference: raw write() to a file", t_file, NULL, 0, mref);
    raw_mode = 0;
    report("write to pipe (64 KiB), drained", NULL, t_pipe, 0, mref);
    report("write to pipe (1 MiB), drained", NULL, t_pipe, 1 << 20, mref);
    report("restore from pipe, copy from item", NULL, t_restore, 0, mref);
    report("restore from pipe, page_dest readv", NULL, t_restore, 1, mref);
    free(guest);
    munmap(copy, MEM_BYTES);
    return 0;
}
