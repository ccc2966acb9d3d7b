/* sink.c - byte sinks for the stream writer: an fd (writev, partial writes and EINTR
 * handled; data lying in a registered file mapping goes by sendfile from the file), a caller
 * callback (socket, TLS, zlib...), or a growable memory buffer. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "kg_stream_int.h"

#define KG_IOV_CHUNK 1024 /* Linux IOV_MAX */

enum sink_kind { SINK_FD, SINK_CALLBACK, SINK_MEMORY };

struct kg_sink {
    enum sink_kind kind;
    int fd;
    kg_sink_fn fn;
    void *opaque;
    uint8_t *mem;
    size_t mem_len, mem_cap;
    uint64_t offset;
    const uint8_t *map_base;     /* kg_sink_set_file_map */
    size_t map_len;
    int map_fd;
    int map_off;                 /* sendfile refused this pair once: write through the mapping */
};

static int sink_alloc(enum sink_kind kind, struct kg_sink **out)
{
    struct kg_sink *s;

    if (!out)
        return -EINVAL;
    s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->kind = kind;
    s->fd = -1;
    *out = s;
    return 0;
}

int kg_sink_new_fd(int fd, struct kg_sink **out)
{
    int rc;

    if (fd < 0)
        return -EBADF;
    rc = sink_alloc(SINK_FD, out);
    if (rc == 0)
        (*out)->fd = fd;
    return rc;
}

int kg_sink_new_callback(kg_sink_fn fn, void *opaque, struct kg_sink **out)
{
    int rc;

    if (!fn)
        return -EINVAL;
    rc = sink_alloc(SINK_CALLBACK, out);
    if (rc == 0) {
        (*out)->fn = fn;
        (*out)->opaque = opaque;
    }
    return rc;
}

int kg_sink_new_memory(struct kg_sink **out)
{
    return sink_alloc(SINK_MEMORY, out);
}

const uint8_t *kg_sink_memory_data(const struct kg_sink *s, size_t *len)
{
    if (!s || s->kind != SINK_MEMORY)
        return NULL;
    if (len)
        *len = s->mem_len;
    return s->mem;
}

uint64_t kg_sink_offset(const struct kg_sink *s)
{
    return s ? s->offset : 0;
}

/* Write all of iov to fd, resuming after partial writes. iov is consumed (modified). */
static int fd_writev_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t n = writev(fd, iov, cnt);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

static int sink_fd_plain(struct kg_sink *s, const struct iovec *iov, int cnt)
{
    struct iovec local[KG_IOV_CHUNK];
    int rc = 0;

    /* Copy the vector in chunks so partial-write bookkeeping never touches the caller's. */
    for (int i = 0; i < cnt && rc == 0; i += KG_IOV_CHUNK) {
        int n = cnt - i < KG_IOV_CHUNK ? cnt - i : KG_IOV_CHUNK;

        memcpy(local, iov + i, (size_t)n * sizeof *iov);
        rc = fd_writev_all(s->fd, local, n);
    }
    return rc;
}

int kg_sink_set_file_map(struct kg_sink *s, const void *base, size_t len, int fd)
{
    if (!s || s->kind != SINK_FD || !base || fd < 0)
        return -EINVAL;
    s->map_base = base;
    s->map_len = len;
    s->map_fd = fd;
    s->map_off = 0;
    return 0;
}

static int in_map(const struct kg_sink *s, const struct iovec *v)
{
    const uint8_t *b = v->iov_base;

    return s->map_base && !s->map_off && v->iov_len && b >= s->map_base &&
           (size_t)(b - s->map_base) <= s->map_len && v->iov_len <= s->map_len - (size_t)(b - s->map_base);
}

/* len bytes of the mapped file from off. 1 if sendfile cannot serve this pair (nothing was
 * written then), 0 when done, or a negative errno. */
static int send_range(struct kg_sink *s, off_t off, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = sendfile(s->fd, s->map_fd, &off, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && !done && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
            return 1;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;                          /* the file is shorter than its mapping */
        done += (size_t)n;
    }
    return 0;
}

/* Plain iovecs go by writev, runs of contiguous mapped iovecs by sendfile. */
static int sink_fd(struct kg_sink *s, const struct iovec *iov, int cnt)
{
    int i = 0, rc = 0;

    while (i < cnt && rc == 0) {
        int j = i;
        size_t len = 0;
        if (!in_map(s, &iov[i])) {
            while (j < cnt && !in_map(s, &iov[j]))
                j++;
            rc = sink_fd_plain(s, iov + i, j - i);
            i = j;
            continue;
        }
        while (j < cnt && in_map(s, &iov[j]) &&
               (const uint8_t *)iov[j].iov_base == (const uint8_t *)iov[i].iov_base + len)
            len += iov[j++].iov_len;
        rc = send_range(s, (off_t)((const uint8_t *)iov[i].iov_base - s->map_base), len);
        if (rc == 1) {
            s->map_off = 1;
            rc = sink_fd_plain(s, iov + i, j - i);
        }
        i = j;
    }
    return rc;
}

static int sink_mem(struct kg_sink *s, const struct iovec *iov, int cnt)
{
    for (int i = 0; i < cnt; i++) {
        size_t need = s->mem_len + iov[i].iov_len;

        if (need < s->mem_len)
            return -EOVERFLOW;
        if (need > s->mem_cap) {
            size_t cap = s->mem_cap ? s->mem_cap : 4096;
            uint8_t *m;

            while (cap < need)
                cap *= 2;
            m = realloc(s->mem, cap);
            if (!m)
                return -ENOMEM;
            s->mem = m;
            s->mem_cap = cap;
        }
        if (iov[i].iov_len)
            memcpy(s->mem + s->mem_len, iov[i].iov_base, iov[i].iov_len);
        s->mem_len = need;
    }
    return 0;
}

int kg_sink_write(struct kg_sink *s, const struct iovec *iov, int cnt)
{
    uint64_t total = 0;
    int rc;

    if (!s || cnt < 0 || (cnt > 0 && !iov))
        return -EINVAL;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    switch (s->kind) {
    case SINK_FD: rc = sink_fd(s, iov, cnt); break;
    case SINK_CALLBACK: rc = s->fn(s->opaque, iov, cnt); break;
    default: rc = sink_mem(s, iov, cnt); break;
    }
    if (rc > 0)
        rc = 0;
    if (rc == 0)
        s->offset += total;
    return rc;
}

void kg_sink_free(struct kg_sink *s)
{
    if (!s)
        return;
    free(s->mem);
    free(s);
}
