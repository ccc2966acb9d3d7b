/* kpy_save.c - Context.save and Context.restore: xl save images, as `xl save` / `xl restore`
 * write and read them. liblight writes the image (kl_domain_save) and restores it
 * (kl_domain_restore), but has no public call that returns the configuration held in the image's
 * preamble, which restoring needs; so the preamble (Xen's tools/xl/xl.h layout: 32-byte magic,
 * u32 byte order, mandatory flags, optional flags, optional data length, then u32 config length +
 * JSON with its NUL) is read here, bounded and checked, before the whole file is handed over. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kpy.h"

#define XL_HEADER_LEN 48
#define XL_FLAG_JSON 1u
#define XL_FLAG_STREAMV2 2u
#define XL_CONFIG_MAX (16u << 20)

static const char xl_magic[32] = "Xen saved domain, xl format\n \0 \r";

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ENODATA;
        got += (size_t)n;
    }
    return 0;
}

#define BAD(code, ...) do { snprintf(err, KPY_ERRLEN, __VA_ARGS__); rc = (code); goto out; } while (0)

/* The configuration JSON of the image open on fd (malloc'd into *json); fd is left at 0. */
static int read_preamble(int fd, const char *path, char **json, char *err)
{
    unsigned char h[XL_HEADER_LEN], *opt = NULL;
    uint32_t mand, olen, clen;
    int rc;

    *json = NULL;
    if ((rc = read_full(fd, h, sizeof(h))) < 0)
        BAD(rc == -ENODATA ? -EINVAL : rc, "%s: cannot read an xl save image header: %s", path,
            rc == -ENODATA ? "file too short" : strerror(-rc));
    if (memcmp(h, xl_magic, sizeof(xl_magic)))
        BAD(-EINVAL, "%s: not an xl save image (no xl save-file magic)", path);
    if (le32(h + 32) != 0x01020304u)
        BAD(-ENOTSUP, "%s: byte order mark 0x%08x is not this host's", path, le32(h + 32));
    mand = le32(h + 36);
    olen = le32(h + 44);
    if (!(mand & XL_FLAG_JSON) || olen < 4 || olen > XL_CONFIG_MAX + 4)
        BAD(-EINVAL, "%s: the image holds no JSON domain configuration (flags 0x%x, %u bytes of "
            "optional data)", path, mand, olen);
    if (!(opt = malloc(olen)))
        BAD(-ENOMEM, "%s: out of memory", path);
    if ((rc = read_full(fd, opt, olen)) < 0)
        BAD(rc == -ENODATA ? -EINVAL : rc, "%s: truncated preamble at offset %d", path,
            XL_HEADER_LEN);
    clen = le32(opt);
    if (clen < 2 || clen > olen - 4 || opt[4 + clen - 1] != 0 ||
        strlen((char *)opt + 4) != clen - 1)
        BAD(-EINVAL, "%s: malformed configuration in the preamble (length %u at offset %d)",
            path, clen, XL_HEADER_LEN);
    if (!(*json = strdup((char *)opt + 4)))
        BAD(-ENOMEM, "%s: out of memory", path);
    if (lseek(fd, 0, SEEK_SET) < 0)
        BAD(-errno, "%s: cannot seek back: %s", path, strerror(errno));
    rc = 0;
out:
    free(opt);
    if (rc < 0) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

/* What save does after writing: like xl save, destroy (default), -c resume, -p leave paused. */
static void after_save(kl_ctx *ctx, uint32_t domid, int rc, int checkpoint, int paused)
{
    if (rc < 0 || checkpoint)
        kl_domain_unpause(ctx, domid);
    else if (!paused)
        kl_domain_destroy(ctx, domid);
}

/* Write the image to a new file p (removed again on failure), then act as xl save does. */
static int save_to(kl_ctx *ctx, uint32_t domid, const char *p, int live, int checkpoint,
                   int paused, char *err)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;
    char before[KPY_ERRLEN];

    if (fd < 0) {
        rc = -errno;
        snprintf(err, KPY_ERRLEN, "cannot open %s for writing: %s", p, strerror(errno));
        return rc;
    }
    snprintf(before, sizeof(before), "%s", kl_ctx_error(ctx));
    rc = kl_domain_save(ctx, domid, fd, live ? KL_SAVE_LIVE : 0);
    if (rc < 0)
        kpy_copy_error(ctx, rc, err, before, domid);
    if (close(fd) < 0 && rc == 0) {
        rc = -errno;
        snprintf(err, KPY_ERRLEN, "writing %s: %s", p, strerror(errno));
    }
    if (rc < 0)
        unlink(p);
    after_save(ctx, domid, rc, checkpoint, paused);
    return rc;
}

PyObject *kpy_ctx_save(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "path", "live", "checkpoint", "paused", NULL };
    int live = 0, checkpoint = 0, paused = 0, rc;
    PyObject *dom, *path = NULL;
    char err[KPY_ERRLEN];
    const char *p;
    uint32_t domid;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO&|ppp:save", kwl, &dom,
                                     PyUnicode_FSConverter, &path, &live, &checkpoint, &paused))
        return NULL;
    if (kpy_domid(self, dom, &domid) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    p = PyBytes_AS_STRING(path);
    KPY_LOCKED(self, err, rc = save_to(self->ctx, domid, p, live, checkpoint, paused, err));
    Py_DECREF(path);
    if (rc < 0)
        return kpy_raise(rc, err);
    Py_RETURN_NONE;
}

PyObject *kpy_ctx_restore(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "path", "paused", "config", NULL };
    PyObject *path = NULL, *cfg = Py_None, *res = NULL;
    kl_domain_config dc;
    char err[KPY_ERRLEN], *json = NULL;
    int paused = 0, rc, fd = -1;
    uint32_t domid = 0;
    kl_diag *d = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|pO:restore", kwl, PyUnicode_FSConverter,
                                     &path, &paused, &cfg))
        return NULL;
    kl_domain_config_init(&dc);
    if (cfg != Py_None && kpy_config_from_object(cfg, &dc) < 0)
        goto out;
    Py_BEGIN_ALLOW_THREADS
    fd = open(PyBytes_AS_STRING(path), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, sizeof(err), "cannot open %s: %s", PyBytes_AS_STRING(path), strerror(errno));
    } else {
        rc = read_preamble(fd, PyBytes_AS_STRING(path), &json, err);
    }
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        kpy_raise(rc, err);
        goto out;
    }
    if (cfg == Py_None) { /* the configuration saved in the image */
        if (!(d = kl_diag_new())) {
            PyErr_NoMemory();
            goto out;
        }
        if ((rc = kl_domain_config_from_json(&dc, json, d)) < 0) {
            kpy_raise_diag(rc, d, "the save image's configuration is invalid");
            goto out;
        }
    }
    KPY_CALL(self, err, rc = kl_domain_restore(self->ctx, &dc, fd,
                                               paused ? KL_CREATE_PAUSED : 0, &domid));
    if (rc < 0)
        kpy_err_about(err, rc, PyBytes_AS_STRING(path));
    res = rc < 0 ? kpy_raise(rc, err) : PyLong_FromUnsignedLong(domid);
out:
    if (fd >= 0)
        close(fd);
    free(json);
    kl_diag_free(d);
    kl_domain_config_dispose(&dc);
    Py_DECREF(path);
    return res;
}
