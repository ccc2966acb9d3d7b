/* kpy_save.c - Context.save and Context.restore: xl save images, as `xl save` / `xl restore`
 * write and read them, through liblight: kl_domain_save_ext (live, zlib-compressed, progress,
 * cancel), kl_save_image_read_header (the preamble's configuration) and
 * kl_domain_restore_image. A progress callable is called with the GIL taken back for the call;
 * if it raises (or a signal handler such as Ctrl-C's does) the save is cancelled and the
 * exception propagates. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kpy.h"

struct save_job {
    kl_ctx *ctx;
    uint32_t domid;
    const char *path;
    int checkpoint, paused;
    kl_migrate_opts o;
    volatile int cancel;
    PyObject *progress;     /* callable or NULL */
    int failed;             /* the callable raised: its exception is pending */
};

static PyObject *progress_dict(const kl_migrate_progress *p)
{
    return Py_BuildValue("{s:I,s:K,s:K,s:K,s:K,s:d,s:d,s:O,s:O,s:d}",
        "round", p->round, "pages_sent", (unsigned long long)p->pages_sent,
        "pages_dirty", (unsigned long long)p->pages_dirty,
        "pages_total", (unsigned long long)p->pages_total,
        "bytes_sent", (unsigned long long)p->bytes_sent, "rate_mib_s", p->rate_mib_s,
        "expected_downtime_ms", p->expected_downtime_ms,
        "stop_and_copy", p->stop_and_copy ? Py_True : Py_False,
        "done", p->done ? Py_True : Py_False, "downtime_ms", p->downtime_ms);
}

/* Runs in the saving thread, which released the GIL: take it for the Python call. */
static void on_progress(const kl_migrate_progress *p, void *arg)
{
    struct save_job *j = arg;
    PyGILState_STATE g;
    PyObject *d, *r = NULL;

    if (j->failed)
        return;
    g = PyGILState_Ensure();
    if (j->progress && (d = progress_dict(p))) {
        r = PyObject_CallOneArg(j->progress, d);
        Py_DECREF(d);
    }
    if ((j->progress && !r) || PyErr_CheckSignals() < 0) {
        j->failed = 1; /* keep the exception for the caller */
        j->cancel = 1;
    }
    Py_XDECREF(r);
    PyGILState_Release(g);
}

/* Write the image to a new file (removed again on failure), then do what xl save does:
 * destroy the domain (default), resume it (checkpoint) or leave it paused (paused). */
static int save_to(struct save_job *j, char *err)
{
    int fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;
    char before[KPY_ERRLEN];

    if (fd < 0) {
        rc = -errno;
        snprintf(err, KPY_ERRLEN, "cannot open %s for writing: %s", j->path, strerror(errno));
        return rc;
    }
    snprintf(before, sizeof(before), "%s", kl_ctx_error(j->ctx));
    rc = kl_domain_save_ext(j->ctx, j->domid, fd, &j->o);
    if (rc < 0)
        kpy_copy_error(j->ctx, rc, err, before, j->domid);
    if (close(fd) < 0 && rc == 0) {
        rc = -errno;
        snprintf(err, KPY_ERRLEN, "writing %s: %s", j->path, strerror(errno));
    }
    if (rc < 0) {
        unlink(j->path);
        kl_domain_unpause(j->ctx, j->domid);
    } else if (j->checkpoint) {
        kl_domain_unpause(j->ctx, j->domid);
    } else if (!j->paused) {
        kl_domain_destroy(j->ctx, j->domid);
    }
    return rc;
}

PyObject *kpy_ctx_save(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "path", "live", "checkpoint", "paused", "compress", "progress",
                           NULL };
    struct save_job j = { .progress = NULL };
    int live = 0, compress = 0, rc;
    PyObject *dom, *path = NULL, *progress = Py_None;
    char err[KPY_ERRLEN];

    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO&|ppppO:save", kwl, &dom,
                                     PyUnicode_FSConverter, &path, &live, &j.checkpoint,
                                     &j.paused, &compress, &progress))
        return NULL;
    if (progress != Py_None && !PyCallable_Check(progress)) {
        Py_DECREF(path);
        PyErr_SetString(PyExc_TypeError, "progress must be callable or None");
        return NULL;
    }
    if (kpy_domid(self, dom, &j.domid) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    j.path = PyBytes_AS_STRING(path);
    j.progress = progress == Py_None ? NULL : progress;
    j.o.flags = (live ? KL_SAVE_LIVE : 0) | (compress ? KL_SAVE_ZLIB : 0);
    j.o.progress = on_progress; /* also lets Ctrl-C cancel a long save */
    j.o.arg = &j;
    j.o.cancel = &j.cancel;
    KPY_LOCKED(self, err, j.ctx = self->ctx; rc = save_to(&j, err));
    Py_DECREF(path);
    if (j.failed)
        return NULL; /* the progress callable's exception (the save was cancelled) */
    if (rc < 0)
        return kpy_raise(rc, err);
    Py_RETURN_NONE;
}

/* Open the image, read its preamble; *fd positioned after it. */
static int open_image(kl_ctx *ctx, const char *path, int *fd, char **json, unsigned *iflags,
                      char *err)
{
    char before[KPY_ERRLEN];
    int rc;

    if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = -errno;
        snprintf(err, KPY_ERRLEN, "cannot open %s: %s", path, strerror(errno));
        return rc;
    }
    snprintf(before, sizeof(before), "%s", kl_ctx_error(ctx));
    rc = kl_save_image_read_header(ctx, *fd, path, json, iflags);
    if (rc < 0) {
        kpy_copy_error(ctx, rc, err, before, KPY_NO_DOMID);
        kpy_err_about(err, rc, path);
    }
    return rc;
}

PyObject *kpy_ctx_restore(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "path", "paused", "config", NULL };
    PyObject *path = NULL, *cfg = Py_None, *res = NULL;
    kl_domain_config dc;
    char err[KPY_ERRLEN], *json = NULL;
    int paused = 0, rc, fd = -1;
    unsigned iflags = 0;
    uint32_t domid = 0;
    kl_diag *d = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|pO:restore", kwl, PyUnicode_FSConverter,
                                     &path, &paused, &cfg))
        return NULL;
    kl_domain_config_init(&dc);
    if (cfg != Py_None && kpy_config_from_object(cfg, &dc) < 0)
        goto out;
    if (!self->lock) {
        kpy_raise(-EBADF, "the context is closed");
        goto out;
    }
    KPY_LOCKED(self, err, rc = open_image(self->ctx, PyBytes_AS_STRING(path), &fd, &json,
                                          &iflags, err));
    if (rc < 0) {
        kpy_raise(rc, err);
        goto out;
    }
    if (cfg == Py_None) { /* the configuration saved in the image */
        if (!(d = kl_diag_new())) {
            PyErr_NoMemory();
            goto out;
        }
        if (!json || (rc = kl_domain_config_from_json(&dc, json, d)) < 0) {
            kpy_raise_diag(-EINVAL, d, "the save image holds no usable configuration");
            goto out;
        }
    }
    KPY_CALL(self, err, rc = kl_domain_restore_image(self->ctx, &dc, fd, iflags,
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
