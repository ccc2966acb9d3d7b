/* test-kf-hostile.c - the binary loader against hostile images: every truncation of the
 * default policy, random byte and word corruptions, and crafted headers must be refused with
 * an error naming the offset (or, if a corruption happens to yield a valid policy, load and
 * answer queries) without any memory error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tap.h"
#include "kf.h"

static unsigned char *img;
static size_t len;

static int read_policy(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    img = malloc((size_t)n);
    if (!img || fread(img, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    len = (size_t)n;
    return 0;
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

/* Loads a corrupted image; if it loads, asks a few questions. */
static int try_image(kf_t *kf, const unsigned char *p, size_t n)
{
    char err[256];
    struct kf_av av;
    int rc = kf_load(kf, p, n, err, sizeof(err));

    if (rc == 0)
        for (kf_sid_t s = 1; s <= 13; s++)
            for (uint16_t c = 1; c <= 13; c++)
                kf_compute_av(kf, s, 3, c, &av);
    else if (!strstr(err, "offset"))
        return -1;
    return rc;
}

int main(void)
{
    const char *b = getenv("KEEL_BUILDDIR");
    char path[4096], err[256];
    unsigned char *copy;
    int bad = 0, accepted = 0;
    kf_t *kf;

    snprintf(path, sizeof(path), "%s/policy/keel-policy.30", b ? b : "..");
    if (read_policy(path) || kf_create(&kf))
        tap_bail("cannot read %s", path);
    copy = malloc(len);
    for (size_t n = 0; n < len; n++)
        if (kf_load(kf, img, n, err, sizeof(err)) != -EINVAL || !strstr(err, "offset"))
            bad++;
    tap_is_int(bad, 0, "every truncation of the policy is refused with an offset");
    bad = 0;
    for (int i = 0; i < 3000; i++) {
        memcpy(copy, img, len);
        copy[rnd() % len] ^= (unsigned char)(1u << (rnd() % 8));
        int rc = try_image(kf, copy, len);

        if (rc == 0)
            accepted++;
        else if (rc != -EINVAL)
            bad++;
    }
    tap_is_int(bad, 0, "3000 single-bit corruptions are refused or load cleanly");
    tap_diag("%d of the bit-flipped images were still valid policies", accepted);
    bad = 0;
    for (int i = 0; i < 3000; i++) {
        static const uint32_t vals[] = { 0, 1, 0x7fffffff, 0xffffffff, 0x10000, 64, 65 };
        size_t off = (rnd() % (len / 4)) * 4;
        uint32_t v = vals[rnd() % 7];

        memcpy(copy, img, len);
        memcpy(copy + off, &v, 4);
        if (try_image(kf, copy, len) < 0 && try_image(kf, copy, len) != -EINVAL)
            bad++;
    }
    tap_is_int(bad, 0, "3000 overwritten words (counts, indexes) are refused or load cleanly");
    memcpy(copy, img, len);
    memcpy(copy + 8, "SE Linux", 8);
    tap_is_int(kf_load(kf, copy, len, err, sizeof(err)), -EINVAL, "an SELinux policy is refused");
    tap_ok(strstr(err, "not a Xen policy") != NULL, "and the error says why: %s", err);
    memcpy(copy, img, len);
    copy[16] = 31; /* version */
    tap_is_int(kf_load(kf, copy, len, err, sizeof(err)), -EINVAL,
               "an unsupported version is refused");
    memcpy(copy, img, len);
    copy[20] = 1; /* MLS */
    tap_is_int(kf_load(kf, copy, len, err, sizeof(err)), -EINVAL, "an MLS policy is refused");
    tap_ok(kf_load(kf, img, len, err, sizeof(err)) == 0, "the intact policy still loads");
    free(copy);
    free(img);
    kf_destroy(kf);
    return tap_done();
}
