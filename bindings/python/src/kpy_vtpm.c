/* kpy_vtpm.c - Context's vTPM methods, as xl vtpm-attach / vtpm-list / vtpm-detach:
 * vtpm_attach(dom, uuid=None, backend=None) (returns the devid and uuid chosen), vtpm_list(dom)
 * as dicts, vtpm_detach(dom, device, force=False) with a devid or a uuid. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kpy.h"

PyObject *kpy_ctx_vtpm_attach(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "uuid", "backend", NULL };
    const char *uuid = NULL, *backend = NULL;
    char err[KPY_ERRLEN], us[KL_UUID_STRLEN];
    kl_device_vtpm t;
    PyObject *dom, *res;
    uint32_t domid;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|zz:vtpm_attach", kwl, &dom, &uuid, &backend) ||
        kpy_domid(self, dom, &domid) < 0)
        return NULL;
    kl_device_vtpm_init(&t);
    t.devid = -1;
    if (uuid && kl_uuid_from_string(&t.uuid, uuid)) {
        PyErr_Format(PyExc_ValueError, "invalid uuid '%.40s'", uuid);
        return NULL;
    }
    if (backend && !(t.backend_domname = strdup(backend)))
        return PyErr_NoMemory();
    KPY_CALL_DOM(self, err, domid, rc = kl_vtpm_add(self->ctx, domid, &t, NULL));
    kl_uuid_to_string(&t.uuid, us);
    res = rc < 0 ? kpy_raise(rc, err) : Py_BuildValue("(is)", t.devid, us);
    kl_device_vtpm_dispose(&t);
    return res;
}

static PyObject *info_dict(const kl_vtpminfo *i)
{
    return Py_BuildValue("{s:I,s:s,s:I,s:I,s:i,s:i,s:i,s:i,s:s,s:s}", "devid", i->devid,
                         "uuid", i->uuid, "backend_id", i->backend_id,
                         "frontend_id", i->frontend_id, "backend_state", i->backend_state,
                         "frontend_state", i->frontend_state, "evtch", i->evtch,
                         "ring_ref", i->ring_ref, "backend", i->backend,
                         "frontend", i->frontend);
}

PyObject *kpy_ctx_vtpm_list(kpy_ctx *self, PyObject *dom)
{
    kl_vtpminfo *l = NULL;
    char err[KPY_ERRLEN];
    uint32_t domid;
    PyObject *list;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = kl_vtpm_list(self->ctx, domid, &l));
    if (rc < 0)
        return kpy_raise(rc, err);
    if ((list = PyList_New(0)))
        for (int i = 0; i < rc; i++) {
            PyObject *o = info_dict(&l[i]);
            if (!o || PyList_Append(list, o) < 0) {
                Py_XDECREF(o);
                Py_CLEAR(list);
                break;
            }
            Py_DECREF(o);
        }
    free(l);
    return list;
}

PyObject *kpy_ctx_vtpm_detach(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "device", "force", NULL };
    PyObject *dom, *dev;
    char name[40], err[KPY_ERRLEN];
    uint32_t domid;
    int force = 0, rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|p:vtpm_detach", kwl, &dom, &dev, &force) ||
        kpy_domid(self, dom, &domid) < 0)
        return NULL;
    if (PyLong_Check(dev)) {
        long v = PyLong_AsLong(dev);
        if (v < 0 || v > 65535) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "devid out of range (0 to 65535)");
            return NULL;
        }
        snprintf(name, sizeof(name), "%ld", v);
    } else if (PyUnicode_Check(dev)) {
        const char *s = PyUnicode_AsUTF8(dev);
        if (!s || !*s || strlen(s) >= sizeof(name)) {
            if (s)
                PyErr_SetString(PyExc_ValueError, "device must be a devid or a uuid");
            return NULL;
        }
        snprintf(name, sizeof(name), "%s", s);
    } else {
        PyErr_SetString(PyExc_TypeError, "device must be a devid (int) or a uuid (str)");
        return NULL;
    }
    KPY_CALL_DOM(self, err, domid,
                 rc = kl_vtpm_remove(self->ctx, domid, name, force ? KL_VTPM_FORCE : 0));
    if (rc < 0)
        return kpy_raise(rc, err);
    Py_RETURN_NONE;
}
