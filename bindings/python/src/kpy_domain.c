/* kpy_domain.c - Context's lifecycle methods: create, list, info, name/id, destroy, pause,
 * unpause, rename, the stored configuration, memory maximum and target. Each liblight call runs
 * with the GIL released (KPY_CALL). */
#include <errno.h>
#include <stdlib.h>

#include "kpy.h"

PyObject *kpy_ctx_create(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "config", "paused", NULL };
    char err[KPY_ERRLEN];
    PyObject *cfg;
    kl_domain_config dc;
    uint32_t domid = 0;
    int paused = 0, rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p:create", kwl, &cfg, &paused))
        return NULL;
    if (!self->lock)
        return kpy_raise(-EBADF, "the context is closed");
    if (kpy_config_from_object(cfg, &dc) < 0) /* a private copy: the caller's stays as it is */
        return NULL;
    KPY_CALL(self, err, rc = kl_domain_create(self->ctx, &dc, paused ? KL_CREATE_PAUSED : 0,
                                              &domid));
    kl_domain_config_dispose(&dc);
    if (rc < 0)
        return kpy_raise(rc, err);
    return PyLong_FromUnsignedLong(domid);
}

PyObject *kpy_ctx_list(kpy_ctx *self, PyObject *unused)
{
    char err[KPY_ERRLEN];
    kl_dominfo *all = NULL;
    PyObject *l;
    int rc;

    if (!self->lock)
        return kpy_raise(-EBADF, "the context is closed");
    KPY_CALL(self, err, rc = kl_domain_list(self->ctx, &all));
    if (rc < 0)
        return kpy_raise(rc, err);
    if ((l = PyList_New(rc))) {
        for (int i = 0; i < rc; i++) {
            PyObject *t = kpy_dominfo_new(&all[i]);
            if (!t) {
                Py_CLEAR(l);
                break;
            }
            PyList_SET_ITEM(l, i, t);
        }
    }
    free(all);
    return l;
}

PyObject *kpy_ctx_info(kpy_ctx *self, PyObject *dom)
{
    char err[KPY_ERRLEN];
    kl_dominfo info;
    uint32_t domid;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = kl_domain_info(self->ctx, domid, &info));
    if (rc < 0)
        return kpy_raise(rc, err);
    return kpy_dominfo_new(&info);
}

PyObject *kpy_ctx_domid(kpy_ctx *self, PyObject *dom)
{
    char err[KPY_ERRLEN];
    kl_dominfo info;
    uint32_t domid;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    if (PyLong_Check(dom)) { /* an id must name an existing domain too */
        KPY_CALL_DOM(self, err, domid, rc = kl_domain_info(self->ctx, domid, &info));
        if (rc < 0)
            return kpy_raise(rc, err);
    }
    return PyLong_FromUnsignedLong(domid);
}

PyObject *kpy_ctx_name(kpy_ctx *self, PyObject *dom)
{
    char err[KPY_ERRLEN], name[KL_DOMNAME_MAX + 1];
    uint32_t domid;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = kl_domain_name(self->ctx, domid, name, sizeof(name)));
    if (rc < 0)
        return kpy_raise(rc, err);
    return PyUnicode_DecodeUTF8(name, strlen(name), "replace");
}

/* The methods that take one domain and return nothing. */
static PyObject *simple(kpy_ctx *self, PyObject *dom, int (*fn)(kl_ctx *, uint32_t))
{
    char err[KPY_ERRLEN];
    uint32_t domid;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = fn(self->ctx, domid));
    if (rc < 0)
        return kpy_raise(rc, err);
    Py_RETURN_NONE;
}

PyObject *kpy_ctx_destroy(kpy_ctx *self, PyObject *dom)
{
    return simple(self, dom, kl_domain_destroy);
}

PyObject *kpy_ctx_pause(kpy_ctx *self, PyObject *dom)
{
    return simple(self, dom, kl_domain_pause);
}

PyObject *kpy_ctx_unpause(kpy_ctx *self, PyObject *dom)
{
    return simple(self, dom, kl_domain_unpause);
}

PyObject *kpy_ctx_rename(kpy_ctx *self, PyObject *args)
{
    char err[KPY_ERRLEN];
    const char *name;
    PyObject *dom;
    uint32_t domid;
    int rc;

    if (!PyArg_ParseTuple(args, "Os:rename", &dom, &name) || kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = kl_domain_rename(self->ctx, domid, name));
    if (rc < 0)
        return kpy_raise(rc, err);
    Py_RETURN_NONE;
}

PyObject *kpy_ctx_get_config(kpy_ctx *self, PyObject *dom)
{
    char err[KPY_ERRLEN];
    kl_domain_config dc;
    uint32_t domid;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    kl_domain_config_init(&dc);
    KPY_CALL_DOM(self, err, domid, rc = kl_domain_get_config(self->ctx, domid, &dc));
    if (rc < 0) {
        kl_domain_config_dispose(&dc);
        return kpy_raise(rc, err);
    }
    return kpy_config_wrap(&dc);
}

static PyObject *memory(kpy_ctx *self, PyObject *args, const char *fmt,
                        int (*fn)(kl_ctx *, uint32_t, uint64_t))
{
    unsigned long long kib;
    char err[KPY_ERRLEN];
    PyObject *dom, *ko;
    uint32_t domid;
    int rc;

    if (!PyArg_ParseTuple(args, fmt, &dom, &ko))
        return NULL;
    kib = PyLong_AsUnsignedLongLong(ko); /* negative or too big: OverflowError */
    if ((kib == (unsigned long long)-1 && PyErr_Occurred()) || kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = fn(self->ctx, domid, kib));
    if (rc < 0)
        return kpy_raise(rc, err);
    Py_RETURN_NONE;
}

PyObject *kpy_ctx_set_memory_max(kpy_ctx *self, PyObject *args)
{
    return memory(self, args, "OO:set_memory_max", kl_domain_setmaxmem);
}

PyObject *kpy_ctx_set_memory_target(kpy_ctx *self, PyObject *args)
{
    return memory(self, args, "OO:set_memory_target", kl_domain_set_target);
}

PyObject *kpy_ctx_memory_target(kpy_ctx *self, PyObject *dom)
{
    char err[KPY_ERRLEN];
    uint64_t kib = 0;
    uint32_t domid;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = kl_domain_get_target(self->ctx, domid, &kib));
    if (rc < 0)
        return kpy_raise(rc, err);
    return PyLong_FromUnsignedLongLong(kib);
}
