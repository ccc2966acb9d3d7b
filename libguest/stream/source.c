/* source.c - byte sources for the stream reader: an fd (buffered, EINTR handled), a caller
 * callback, or a memory buffer; all count the bytes consumed for error offsets. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kg_stream_int.h"

enum source_kind { SRC_FD, SRC_CALLBACK, SRC_MEMORY };
#define SRC_BUF 65536

struct kg_source {
    enum source_kind kind;
    int fd;
    kg_source_fn fn;
    void *opaque;
    const uint8_t *mem;
    size_t mem_len, mem_pos;
    uint8_t *buf;
    size_t buf_pos, buf_len;
    uint64_t offset;
};

static int source_alloc(enum source_kind kind, struct kg_source **out)
{
    struct kg_source *s;

    if (!out)
        return -EINVAL;
    s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->kind = kind;
    s->fd = -1;
    if (kind != SRC_MEMORY) {
        s->buf = malloc(SRC_BUF);
        if (!s->buf) {
            free(s);
            return -ENOMEM;
        }
    }
    *out = s;
    return 0;
}

int kg_source_new_fd(int fd, struct kg_source **out)
{
    int rc;

    if (fd < 0)
        return -EBADF;
    rc = source_alloc(SRC_FD, out);
    if (rc == 0)
        (*out)->fd = fd;
    return rc;
}

int kg_source_new_callback(kg_source_fn fn, void *opaque, struct kg_source **out)
{
    int rc;

    if (!fn)
        return -EINVAL;
    rc = source_alloc(SRC_CALLBACK, out);
    if (rc == 0) {
        (*out)->fn = fn;
        (*out)->opaque = opaque;
    }
    return rc;
}

int kg_source_new_memory(const void *data, size_t len, struct kg_source **out)
{
    int rc;

    if (!data && len)
        return -EINVAL;
    rc = source_alloc(SRC_MEMORY, out);
    if (rc == 0) {
        (*out)->mem = data;
        (*out)->mem_len = len;
    }
    return rc;
}

uint64_t kg_source_offset(const struct kg_source *s)
{
    return s ? s->offset : 0;
}

/* One underlying read of at most len bytes: count, 0 at end, -errno. */
static ssize_t raw_read(struct kg_source *s, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = s->kind == SRC_FD ? read(s->fd, buf, len) : s->fn(s->opaque, buf, len);

        if (n < 0 && s->kind == SRC_FD) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n > (ssize_t)len)
            return -EIO;
        return n;
    }
}

static ssize_t read_mem(struct kg_source *s, void *buf, size_t len)
{
    size_t n = s->mem_len - s->mem_pos;

    if (n > len)
        n = len;
    if (n)
        memcpy(buf, s->mem + s->mem_pos, n);
    s->mem_pos += n;
    return (ssize_t)n;
}

ssize_t kg_source_read(struct kg_source *s, void *buf, size_t len)
{
    size_t got = 0;

    if (!s || (!buf && len) || len > SSIZE_MAX)
        return -EINVAL;
    if (s->kind == SRC_MEMORY) {
        got = (size_t)read_mem(s, buf, len);
        s->offset += got;
        return (ssize_t)got;
    }
    while (got < len) {
        size_t avail = s->buf_len - s->buf_pos;
        ssize_t n;

        if (avail) {
            size_t take = avail < len - got ? avail : len - got;

            memcpy((uint8_t *)buf + got, s->buf + s->buf_pos, take);
            s->buf_pos += take;
            got += take;
            continue;
        }
        if (len - got >= SRC_BUF)  /* large reads bypass the buffer */
            n = raw_read(s, (uint8_t *)buf + got, len - got);
        else {
            n = raw_read(s, s->buf, SRC_BUF);
            if (n > 0) {
                s->buf_pos = 0;
                s->buf_len = (size_t)n;
                continue;
            }
        }
        if (n < 0)
            return n;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    s->offset += got;
    return (ssize_t)got;
}

/* fd sources: buffered bytes (and the rest of a partly filled vector) through the buffer,
 * everything else with readv straight into the caller's vectors. */
static ssize_t readv_fd(struct kg_source *s, const struct iovec *iov, int cnt)
{
    struct iovec local[1024];
    size_t got = 0, part = 0;  /* part: bytes already in iov[i] */
    int i = 0;

    while (i < cnt) {
        ssize_t r;
        int n;

        if (s->buf_pos < s->buf_len || part) {
            size_t want = iov[i].iov_len - part;

            r = kg_source_read(s, (uint8_t *)iov[i].iov_base + part, want);
            if (r < 0)
                return r;
            s->offset -= (uint64_t)r;  /* counted once by the caller */
            got += (size_t)r;
            if ((size_t)r < want)
                break;
            i++;
            part = 0;
            continue;
        }
        n = cnt - i < 1024 ? cnt - i : 1024;
        memcpy(local, iov + i, (size_t)n * sizeof *iov);
        r = readv(s->fd, local, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        got += (size_t)r;
        while (i < cnt && (size_t)r >= iov[i].iov_len) {
            r -= (ssize_t)iov[i].iov_len;
            i++;
        }
        part = (size_t)r;
    }
    return (ssize_t)got;
}

ssize_t kg_source_readv(struct kg_source *s, const struct iovec *iov, int cnt)
{
    ssize_t got = 0;

    if (!s || cnt < 0 || (cnt && !iov))
        return -EINVAL;
    if (s->kind == SRC_FD) {
        got = readv_fd(s, iov, cnt);
        if (got > 0)
            s->offset += (uint64_t)got;
        return got;
    }
    for (int i = 0; i < cnt; i++) {
        ssize_t r = kg_source_read(s, iov[i].iov_base, iov[i].iov_len);
        if (r < 0)
            return r;
        got += r;
        if ((size_t)r < iov[i].iov_len)
            break;
    }
    return got;
}

int kg_source_skip(struct kg_source *s, uint64_t len)
{
    uint64_t buffered;
    struct stat st;
    off_t pos;

    if (!s || s->kind != SRC_FD)
        return -ESPIPE;
    buffered = s->buf_len - s->buf_pos;
    if (len <= buffered) {
        s->buf_pos += len;
        s->offset += len;
        return 0;
    }
    if (len - buffered > (uint64_t)INT64_MAX || fstat(s->fd, &st) < 0)
        return -EINVAL;
    if ((pos = lseek(s->fd, (off_t)(len - buffered), SEEK_CUR)) < 0)
        return -errno;
    if (S_ISREG(st.st_mode) && pos > st.st_size)
        return -ENODATA;
    s->buf_pos = s->buf_len = 0;
    s->offset += len;
    return 0;
}

void kg_source_free(struct kg_source *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s);
}
