/* fuzz-zimage.c - Keel's compressed xl save images against hostile bytes: the preamble parser
 * that accepts the Keel zlib flag (mig_image_header_parse) and the inflater thread (corrupt,
 * truncated and trailing data, zip bombs cut off by the reader). The first input byte picks the
 * mode: even - a whole image (preamble, then the deflated stream when the flag is set); odd -
 * the rest is the deflated stream alone. Nothing may crash, hang, leak or read out of bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mig_int.h"

#define OUT_LIMIT (8u << 20)   /* stop reading inflated bytes here (the inflater then fails) */

static void inflate_bytes(const uint8_t *p, size_t n)
{
    struct mig_inflater *z;
    char err[256], buf[65536];
    size_t total = 0;
    int fd = memfd_create("fuzz-zimage", MFD_CLOEXEC), out;

    if (fd < 0)
        return;
    if ((n && write(fd, p, n) != (ssize_t)n) || lseek(fd, 0, SEEK_SET) < 0 ||
        mig_inflater_start(fd, "fuzz", &z, &out, err, sizeof(err)) < 0) {
        close(fd);
        return;
    }
    for (;;) {
        ssize_t r = read(out, buf, sizeof(buf));
        if (r <= 0 || (total += (size_t)r) > OUT_LIMIT)
            break;
    }
    if (mig_inflater_finish(z, out, err, sizeof(err)) < 0 && !err[0])
        abort();                                  /* every failure carries a message */
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json;
    uint32_t json_len;
    size_t used = 0;
    char why[256];
    int zlib, rc;

    if (size < 1)
        return 0;
    if (data[0] & 1) {
        inflate_bytes(data + 1, size - 1);
        return 0;
    }
    data++;
    size--;
    why[0] = 0;
    rc = mig_image_header_parse(data, size, &used, &zlib, &json, &json_len, why, sizeof(why));
    if (rc == 0) {
        if (used > size || (json && (json < (const char *)data ||
                                     json + json_len > (const char *)data + size)))
            abort();
        if (zlib)
            inflate_bytes(data + used, size - used);
    } else if (rc != -EAGAIN && !why[0]) {
        abort();                                  /* a rejection says why */
    }
    return 0;
}
