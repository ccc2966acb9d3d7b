/* kpy_store.c - Context's store access (absolute paths, string values) and the console output
 * the hypervisor core keeps for each domain (read through the context's libkeelctrl handle). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kpy.h"

#define CONSOLE_MAX (1u << 20)

static const char *store_path(PyObject *o)
{
    const char *p;
    Py_ssize_t n;

    if (!PyUnicode_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "a store path is a str");
        return NULL;
    }
    if (!(p = PyUnicode_AsUTF8AndSize(o, &n)))
        return NULL;
    if (strlen(p) != (size_t)n || p[0] != '/') {
        PyErr_SetString(PyExc_ValueError, "a store path is absolute and holds no NUL");
        return NULL;
    }
    return p;
}

PyObject *kpy_ctx_store_read(kpy_ctx *self, PyObject *path)
{
    char err[KPY_ERRLEN], *v = NULL;
    const char *p = store_path(path);
    PyObject *r;
    int rc;

    if (!p)
        return NULL;
    if (!self->lock)
        return kpy_raise(-EBADF, "the context is closed");
    KPY_CALL(self, err, rc = kl_store_read(self->ctx, p, &v));
    if (rc < 0) {
        kpy_err_about(err, rc, p);
        return kpy_raise(rc, err);
    }
    r = PyUnicode_DecodeUTF8(v, strlen(v), "surrogateescape");
    free(v);
    return r;
}

PyObject *kpy_ctx_store_write(kpy_ctx *self, PyObject *args)
{
    PyObject *path;
    const char *p, *v;
    char err[KPY_ERRLEN];
    Py_ssize_t n;
    int rc;

    if (!PyArg_ParseTuple(args, "Os#:store_write", &path, &v, &n) || !(p = store_path(path)))
        return NULL;
    if (strlen(v) != (size_t)n) {
        PyErr_SetString(PyExc_ValueError, "a store value holds no NUL");
        return NULL;
    }
    if (!self->lock)
        return kpy_raise(-EBADF, "the context is closed");
    KPY_CALL(self, err, rc = kl_store_write(self->ctx, p, v));
    if (rc < 0) {
        kpy_err_about(err, rc, p);
        return kpy_raise(rc, err);
    }
    Py_RETURN_NONE;
}

PyObject *kpy_ctx_store_rm(kpy_ctx *self, PyObject *path)
{
    const char *p = store_path(path);
    char err[KPY_ERRLEN];
    int rc;

    if (!p)
        return NULL;
    if (!self->lock)
        return kpy_raise(-EBADF, "the context is closed");
    KPY_CALL(self, err, rc = kl_store_rm(self->ctx, p));
    if (rc < 0) {
        kpy_err_about(err, rc, p);
        return kpy_raise(rc, err);
    }
    Py_RETURN_NONE;
}

/* Read what the domain printed from *off on, at most CONSOLE_MAX bytes, into buf. */
static int console_read(kl_ctx *ctx, uint32_t domid, uint64_t *off, char *buf, size_t *len,
                        char *err)
{
    kc_handle *kc = kl_ctx_kc(ctx);
    size_t got = 0;

    while (got < CONSOLE_MAX) {
        size_t n = CONSOLE_MAX - got;
        uint64_t end = 0;
        int rc = kc_domain_console_read(kc, domid, off, buf + got, &n, &end);
        if (rc < 0) {
            snprintf(err, KPY_ERRLEN, "%s", kc_error(kc));
            return rc;
        }
        got += n;
        if (n == 0 || *off >= end)
            break;
    }
    *len = got;
    return 0;
}

PyObject *kpy_ctx_console_read(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "offset", NULL };
    unsigned long long off = 0;
    char err[KPY_ERRLEN], *buf;
    PyObject *dom, *r;
    uint32_t domid;
    uint64_t o;
    size_t len = 0;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|K:console_read", kwl, &dom, &off) ||
        kpy_domid(self, dom, &domid) < 0)
        return NULL;
    if (!(buf = PyMem_RawMalloc(CONSOLE_MAX)))
        return PyErr_NoMemory();
    o = off;
    KPY_LOCKED(self, err, rc = console_read(self->ctx, domid, &o, buf, &len, err));
    r = rc < 0 ? kpy_raise(rc, err) : Py_BuildValue("(y#K)", buf, (Py_ssize_t)len,
                                                  (unsigned long long)o);
    PyMem_RawFree(buf);
    return r;
}
