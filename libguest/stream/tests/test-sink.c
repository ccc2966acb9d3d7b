/* test-sink.c - the fd sink's file map: iovecs inside a registered mapping are written from the
 * file (sendfile) and the output is byte for byte what writev of the same vector gives, for a
 * regular file, a pipe and a socket; an output sendfile refuses (O_APPEND) falls back to the
 * mapping; iovecs outside the mapping or straddling its end are written as they are. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kg_stream.h"
#include "tap.h"

#define MAP_PAGES 64

static uint8_t *map;
static int mfd;
static uint8_t plain[3000];

/* A vector mixing header-like plain bytes, contiguous mapped runs, a gap, and a plain tail. */
static int vector(struct iovec *v)
{
    int n = 0;

    v[n++] = (struct iovec){ plain, 100 };
    for (int p = 3; p < 10; p++)
        v[n++] = (struct iovec){ map + p * 4096, 4096 };
    v[n++] = (struct iovec){ plain + 100, 7 };
    v[n++] = (struct iovec){ map + 20 * 4096, 4096 };
    v[n++] = (struct iovec){ map + 40 * 4096 + 5, 1000 };     /* unaligned inside the map */
    v[n++] = (struct iovec){ plain + 200, 2800 };
    return n;
}

static size_t expected(uint8_t **out)
{
    struct iovec v[16];
    int n = vector(v);
    size_t len = 0;

    for (int i = 0; i < n; i++)
        len += v[i].iov_len;
    *out = malloc(len);
    len = 0;
    for (int i = 0; i < n; i++) {
        memcpy(*out + len, v[i].iov_base, v[i].iov_len);
        len += v[i].iov_len;
    }
    return len;
}

static int write_through(int fd, int use_map)
{
    struct kg_sink *s = NULL;
    struct iovec v[16];
    int n = vector(v), rc;

    if ((rc = kg_sink_new_fd(fd, &s)) < 0)
        return rc;
    if (use_map && (rc = kg_sink_set_file_map(s, map, MAP_PAGES * 4096, mfd)) < 0) {
        kg_sink_free(s);
        return rc;
    }
    rc = kg_sink_write(s, v, n);
    if (rc == 0 && kg_sink_offset(s) == 0)
        rc = -EIO;
    kg_sink_free(s);
    return rc;
}

static int file_matches(int fd, const uint8_t *want, size_t len)
{
    uint8_t *got = malloc(len + 1);
    ssize_t n = pread(fd, got, len + 1, 0);
    int ok = n == (ssize_t)len && !memcmp(got, want, len);

    free(got);
    return ok;
}

struct reader { int fd; uint8_t buf[1 << 20]; size_t len; };

static void *drain(void *arg)
{
    struct reader *r = arg;
    ssize_t n;

    while ((n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len)) > 0)
        r->len += (size_t)n;
    return NULL;
}

static void test_stream(int sock, const uint8_t *want, size_t len)
{
    static struct reader r;
    int fds[2];
    pthread_t th;

    if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds)) {
        tap_ok(0, "make a %s", sock ? "socket pair" : "pipe");
        return;
    }
    r.fd = fds[0];
    r.len = 0;
    pthread_create(&th, NULL, drain, &r);
    tap_ok(write_through(fds[1], 1) == 0, "write the vector into a %s", sock ? "socket" : "pipe");
    close(fds[1]);
    pthread_join(th, NULL);
    close(fds[0]);
    tap_ok(r.len == len && !memcmp(r.buf, want, len), "the %s carries exactly the vector's bytes",
           sock ? "socket" : "pipe");
}

int main(void)
{
    char path[] = "/tmp/keel-test-sink-XXXXXX";
    struct kg_sink *s = NULL;
    uint8_t *want;
    size_t len;
    int fd;

    mfd = memfd_create("test-sink", MFD_CLOEXEC);
    if (mfd < 0 || ftruncate(mfd, MAP_PAGES * 4096) < 0)
        tap_bail("memfd");
    map = mmap(NULL, MAP_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (map == MAP_FAILED)
        tap_bail("mmap");
    for (size_t i = 0; i < MAP_PAGES * 4096; i++)
        map[i] = (uint8_t)(i * 7 + i / 4096);
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)(0xa5 ^ i);
    len = expected(&want);

    fd = mkstemp(path);
    unlink(path);
    tap_ok(fd >= 0 && write_through(fd, 1) == 0, "write a mixed vector to a file through the map");
    tap_ok(file_matches(fd, want, len), "the file holds exactly the vector's bytes (%zu)", len);
    close(fd);
    test_stream(0, want, len);
    test_stream(1, want, len);

    fd = open("/tmp", O_TMPFILE | O_RDWR | O_APPEND, 0600);
    tap_ok(fd >= 0 && write_through(fd, 1) == 0,
           "an O_APPEND file (sendfile refuses it) is written through the mapping instead");
    tap_ok(fd >= 0 && file_matches(fd, want, len), "with the same bytes");
    if (fd >= 0)
        close(fd);

    kg_sink_new_memory(&s);
    tap_is_int(kg_sink_set_file_map(s, map, 4096, mfd), -EINVAL, "a memory sink takes no file map");
    kg_sink_free(s);
    kg_sink_new_fd(1, &s);
    tap_is_int(kg_sink_set_file_map(s, NULL, 4096, mfd), -EINVAL, "a NULL mapping is refused");
    tap_is_int(kg_sink_set_file_map(s, map, 4096, -1), -EINVAL, "a bad file descriptor is refused");
    kg_sink_free(s);

    {   /* the map registered shorter than the data: the straddling iovec is written plainly */
        struct iovec v = { map + 4096 - 10, 20 };
        uint8_t got[20];
        fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
        kg_sink_new_fd(fd, &s);
        kg_sink_set_file_map(s, map, 4096, mfd);
        tap_ok(kg_sink_write(s, &v, 1) == 0 && pread(fd, got, 20, 0) == 20 &&
               !memcmp(got, map + 4096 - 10, 20), "an iovec straddling the map's end is written as it is");
        kg_sink_free(s);
        close(fd);
    }
    free(want);
    return tap_done();
}
