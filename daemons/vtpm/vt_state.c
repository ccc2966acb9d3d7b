/* vt_state.c - keel-vtpmd's sealed state files and host key (see vt_state.h): AES-256-GCM with
 * OpenSSL, atomic replacement, strict checks on load. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "vt_state.h"
#include "kio.h"

void (*vt_state_step_hook)(int step);

__attribute__((format(printf, 3, 4)))
static void vt_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int vt_state_dir(char *buf, size_t len)
{
    const char *s = getenv("KEEL_STATEDIR");

    if (!s || !*s)
        s = "/var/lib/keel";
    if ((size_t)snprintf(buf, len, "%s/vtpm", s) >= len)
        return -ENAMETOOLONG;
    return 0;
}

int vt_uuid_norm(const char *in, char out[37])
{
    if (!in || strlen(in) != 36)
        return -EINVAL;
    for (int i = 0; i < 36; i++) {
        char c = in[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash) {
            if (c != '-')
                return -EINVAL;
        } else if (c >= 'A' && c <= 'F') {
            c = (char)(c - 'A' + 'a');
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return -EINVAL;
        }
        out[i] = c;
    }
    out[36] = 0;
    return 0;
}

static int vt_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int vt_key_load(const char *dir, uint8_t key[VT_KEY_LEN], char *err, size_t errlen)
{
    char path[4096];
    struct stat st;
    int fd, rc;
    ssize_t r;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        vt_err(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
        return rc;
    }
    snprintf(path, sizeof(path), "%s/host.key", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        uint8_t k[VT_KEY_LEN];
        char tmp[4200];
        if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k)) {
            vt_err(err, errlen, "getrandom for the host key failed");
            return -EIO;
        }
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || fchmod(fd, 0600) < 0 || kio_write_all(fd, k, sizeof(k)) < 0 ||
            fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
            rc = -errno;
            vt_err(err, errlen, "cannot create the host key %s: %s", path, strerror(-rc));
            return rc ? rc : -EIO;
        }
        vt_fsync_dir(dir);
        memcpy(key, k, sizeof(k));
        OPENSSL_cleanse(k, sizeof(k));
        return 0;
    }
    if (fd < 0) {
        rc = -errno;
        vt_err(err, errlen, "cannot open the host key %s: %s", path, strerror(-rc));
        return rc;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != VT_KEY_LEN ||
        (st.st_mode & 077) || st.st_uid != geteuid()) {
        close(fd);
        vt_err(err, errlen, "host key %s refused: it must be a regular file of %d bytes, owned "
               "by us, mode 0600 or stricter", path, VT_KEY_LEN);
        return -EPERM;
    }
    r = read(fd, key, VT_KEY_LEN);
    close(fd);
    if (r != VT_KEY_LEN) {
        vt_err(err, errlen, "cannot read the host key %s", path);
        return -EIO;
    }
    return 0;
}

static void vt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t vt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* GCM over pt/ct with the header as associated data; enc: tag written, else tag checked. */
static int vt_gcm(int enc, const uint8_t key[VT_KEY_LEN], const uint8_t hdr[VT_STATE_HDR],
                  const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[VT_STATE_TAG])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok;

    if (!c)
        return -ENOMEM;
    ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
         EVP_CipherInit_ex(c, NULL, NULL, key, hdr + 48, enc) == 1 &&
         EVP_CipherUpdate(c, NULL, &n, hdr, VT_STATE_HDR) == 1 &&
         (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, VT_STATE_TAG, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + (len ? (size_t)n : 0), &n) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, VT_STATE_TAG, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -EBADMSG;
}

int vt_state_seal(const uint8_t key[VT_KEY_LEN], const char uuid[37], const uint8_t *pt,
                  size_t ptlen, uint8_t **out, size_t *outlen)
{
    size_t n = VT_STATE_HDR + ptlen + VT_STATE_TAG;
    uint8_t *f;
    int rc;

    if (ptlen > VT_STATE_MAX)
        return -EMSGSIZE;
    if (!(f = malloc(n)))
        return -ENOMEM;
    memcpy(f, VT_STATE_MAGIC, 8);
    vt_put32(f + 8, VT_STATE_VERSION);
    memcpy(f + 12, uuid, 36);
    if (getrandom(f + 48, 12, 0) != 12) {
        free(f);
        return -EIO;
    }
    vt_put32(f + 60, (uint32_t)ptlen);
    if ((rc = vt_gcm(1, key, f, pt, ptlen, f + VT_STATE_HDR, f + VT_STATE_HDR + ptlen)) < 0) {
        free(f);
        return rc;
    }
    *out = f;
    *outlen = n;
    return 0;
}

int vt_state_unseal(const uint8_t key[VT_KEY_LEN], const char uuid[37], const uint8_t *in,
                    size_t inlen, uint8_t **pt, size_t *ptlen, char *err, size_t errlen)
{
    uint8_t tag[VT_STATE_TAG], *p;
    uint32_t ctlen;

    *pt = NULL;
    *ptlen = 0;
    if (inlen < VT_STATE_HDR + VT_STATE_TAG) {
        vt_err(err, errlen, "truncated (%zu bytes, the header and tag alone are %u)", inlen,
               VT_STATE_HDR + VT_STATE_TAG);
        return -EBADMSG;
    }
    if (memcmp(in, VT_STATE_MAGIC, 8) || vt_get32(in + 8) != VT_STATE_VERSION) {
        vt_err(err, errlen, "not a Keel vTPM state file of version %u", VT_STATE_VERSION);
        return -EBADMSG;
    }
    if (memcmp(in + 12, uuid, 36)) {
        vt_err(err, errlen, "the file belongs to uuid %.36s, not %s", (const char *)in + 12,
               uuid);
        return -EBADMSG;
    }
    ctlen = vt_get32(in + 60);
    if (ctlen > VT_STATE_MAX || (size_t)ctlen + VT_STATE_HDR + VT_STATE_TAG != inlen) {
        vt_err(err, errlen, "truncated or padded: header says %u bytes of state, the file "
               "holds %zu", ctlen, inlen - VT_STATE_HDR - VT_STATE_TAG);
        return -EBADMSG;
    }
    if (!(p = malloc(ctlen ? ctlen : 1)))
        return -ENOMEM;
    memcpy(tag, in + VT_STATE_HDR + ctlen, VT_STATE_TAG);
    if (vt_gcm(0, key, in, in + VT_STATE_HDR, ctlen, p, tag) < 0) {
        OPENSSL_cleanse(p, ctlen);
        free(p);
        vt_err(err, errlen, "authentication failed (tampered, or sealed with another host key)");
        return -EBADMSG;
    }
    *pt = p;
    *ptlen = ctlen;
    return 0;
}

static void vt_step(int n)
{
    if (vt_state_step_hook)
        vt_state_step_hook(n);
}

int vt_state_save(const char *dir, const uint8_t key[VT_KEY_LEN], const char uuid[37],
                  const uint8_t *pt, size_t ptlen, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    uint8_t *img = NULL;
    size_t n = 0;
    int fd, rc;

    snprintf(path, sizeof(path), "%s/%s.state", dir, uuid);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if ((rc = vt_state_seal(key, uuid, pt, ptlen, &img, &n)) < 0) {
        vt_err(err, errlen, "cannot seal the state of %s: %s", uuid, strerror(-rc));
        return rc;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = kio_write_all(fd, img, n)) < 0) {
        close(fd);
        goto fail;
    }
    vt_step(1);
    if (fsync(fd) < 0) {
        rc = -errno;
        close(fd);
        goto fail;
    }
    close(fd);
    vt_step(2);
    if (rename(tmp, path) < 0) {
        rc = -errno;
        goto fail;
    }
    vt_step(3);
    if ((rc = vt_fsync_dir(dir)) < 0) {
        vt_err(err, errlen, "state of %s renamed but the directory fsync failed: %s", uuid,
               strerror(-rc));
        free(img);
        return rc;
    }
    vt_step(4);
    free(img);
    return 0;
fail:
    vt_err(err, errlen, "cannot write %s: %s", tmp, strerror(-rc));
    unlink(tmp);
    free(img);
    return rc;
}

int vt_state_load(const char *dir, const uint8_t key[VT_KEY_LEN], const char uuid[37],
                  uint8_t **pt, size_t *ptlen, char *err, size_t errlen)
{
    char path[4096], why[200];
    uint8_t *img;
    struct stat st;
    size_t have = 0;
    int fd, rc;

    *pt = NULL;
    *ptlen = 0;
    snprintf(path, sizeof(path), "%s/%s.state", dir, uuid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        rc = -errno;
        if (rc != -ENOENT)
            vt_err(err, errlen, "cannot open %s: %s", path, strerror(-rc));
        return rc;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size > (off_t)(VT_STATE_MAX + VT_STATE_HDR + VT_STATE_TAG)) {
        close(fd);
        vt_err(err, errlen, "%s refused: not a regular file of a plausible size", path);
        return -EBADMSG;
    }
    if (!(img = malloc((size_t)st.st_size + 1))) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        ssize_t r = read(fd, img + have, (size_t)st.st_size + 1 - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            close(fd);
            free(img);
            vt_err(err, errlen, "cannot read %s: %s", path, strerror(-rc));
            return rc;
        }
        if (r == 0 || (have += (size_t)r) > (size_t)st.st_size)
            break;
    }
    close(fd);
    rc = vt_state_unseal(key, uuid, img, have, pt, ptlen, why, sizeof(why));
    free(img);
    if (rc < 0)
        vt_err(err, errlen, "state file %s refused: %s", path, why);
    return rc;
}
