/* mig_zimage.c - Keel's compressed xl save images: the preamble parser that accepts the Keel
 * zlib flag, and the inflater thread that turns the deflated v2 stream after it back into bytes
 * kg_restore reads from a socket. Corrupt, truncated or trailing data are errors with the image
 * offset where they were found. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "mig_int.h"
#include "stream/kg_stream.h"

int mig_image_header_parse(const uint8_t *buf, size_t len, size_t *consumed, int *zlib,
                           const char **json, uint32_t *json_len, char *why, size_t whylen)
{
    struct kg_xl_header h;
    uint8_t *copy;
    uint32_t flags;
    int rc;

    *zlib = 0;
    *json = NULL;
    *json_len = 0;
    if (len < KG_XL_HEADER_LEN)
        return kg_xlhdr_parse(buf, len, &h, consumed, why, whylen);
    if (!(copy = malloc(len)))
        return -ENOMEM;
    memcpy(copy, buf, len);
    memcpy(&flags, buf + 36, 4);
    flags = le32toh(flags);
    if (flags & KL_XL_MANDATORY_FLAG_KEEL_ZLIB) {
        uint32_t plain = htole32(flags & ~KL_XL_MANDATORY_FLAG_KEEL_ZLIB);
        memcpy(copy + 36, &plain, 4);
        *zlib = 1;
    }
    rc = kg_xlhdr_parse(copy, len, &h, consumed, why, whylen);
    if (rc == 0 && h.config) {
        *json = (const char *)buf + (h.config - (const char *)copy);
        *json_len = h.config_len;
    }
    free(copy);
    return rc;
}

struct mig_inflater {
    pthread_t thread;
    int in_fd, sock;
    uint64_t base;              /* image offset of the compressed data */
    const char *what;
    int rc;
    char err[256];
};

static int zfail(struct mig_inflater *z, int rc, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int zfail(struct mig_inflater *z, int rc, uint64_t off, const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(z->err, sizeof(z->err), "%s: %s at image byte %llu", z->what, msg,
             (unsigned long long)(z->base + off));
    return rc;
}

static int inflate_all(struct mig_inflater *z, z_stream *s, uint8_t *in, uint8_t *out, size_t sz)
{
    uint64_t off = 0;
    int zr = Z_OK, rc;

    for (;;) {
        ssize_t n = read(z->in_fd, in, sz);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zfail(z, -errno, off, "reading: %s", strerror(errno));
        if (n == 0)
            return zr == Z_STREAM_END ? 0
                   : zfail(z, -EBADMSG, off, "%s", "truncated compressed stream (ends early)");
        if (zr == Z_STREAM_END)
            return zfail(z, -EBADMSG, off, "%s", "data after the end of the compressed stream");
        s->next_in = in;
        s->avail_in = (uInt)n;
        while (s->avail_in && zr != Z_STREAM_END) {
            uint64_t before = s->total_in;
            s->next_out = out;
            s->avail_out = (uInt)sz;
            zr = inflate(s, Z_NO_FLUSH);
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
                return zfail(z, -EBADMSG, s->total_in, "corrupt compressed data (%s)",
                             s->msg ? s->msg : zError(zr));
            if ((rc = mig_write_all(z->sock, out, sz - s->avail_out)) < 0)
                return zfail(z, rc, s->total_in, "%s",
                             "the restored stream ended before the compressed data");
            if (zr == Z_BUF_ERROR && s->total_in == before && s->avail_out)
                break;
        }
        if (zr == Z_STREAM_END && s->avail_in)
            return zfail(z, -EBADMSG, s->total_in, "%s",
                         "data after the end of the compressed stream");
        off += (uint64_t)n;
    }
}

static void *inflater_main(void *arg)
{
    struct mig_inflater *z = arg;
    const size_t sz = 256 << 10;
    uint8_t *in = malloc(sz), *out = malloc(sz);
    z_stream s;
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    memset(&s, 0, sizeof(s));
    if (!in || !out || inflateInit(&s) != Z_OK)
        z->rc = zfail(z, -ENOMEM, 0, "%s", "cannot set up zlib");
    else
        z->rc = inflate_all(z, &s, in, out, sz);
    inflateEnd(&s);
    shutdown(z->sock, SHUT_WR);
    free(in);
    free(out);
    return NULL;
}

int mig_inflater_start(int in_fd, const char *what, struct mig_inflater **out, int *out_fd,
                       char *err, size_t errlen)
{
    struct mig_inflater *z = calloc(1, sizeof(*z));
    off_t pos = lseek(in_fd, 0, SEEK_CUR);
    int sv[2];

    if (!z || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "%s: cannot set up the inflater: %s", what, strerror(errno));
        free(z);
        return -ENOMEM;
    }
    z->in_fd = in_fd;
    z->sock = sv[1];
    z->base = pos > 0 ? (uint64_t)pos : 0;
    z->what = what;
    if (pthread_create(&z->thread, NULL, inflater_main, z) != 0) {
        snprintf(err, errlen, "%s: cannot start the inflater thread", what);
        close(sv[0]);
        close(sv[1]);
        free(z);
        return -EAGAIN;
    }
    *out = z;
    *out_fd = sv[0];
    return 0;
}

int mig_inflater_finish(struct mig_inflater *z, int out_fd, char *err, size_t errlen)
{
    int rc;

    close(out_fd);
    pthread_join(z->thread, NULL);
    close(z->sock);
    rc = z->rc;
    if (rc < 0)
        snprintf(err, errlen, "%s", z->err);
    free(z);
    return rc;
}
