/* kpy_block.c - Context's PV block device methods, as xl block-attach / block-list /
 * block-detach: block_attach(dom, spec, fe_keys=None) with a disk spec string of
 * xl-disk-configuration(5), block_list(dom) as dicts, block_detach(dom, device, force=False). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kpy.h"

#define FE_KEYS_MAX 16

/* fe_keys {str: str} as the NULL-terminated name, value array liblight takes (borrowed UTF-8
 * of the dict's objects, which the caller keeps alive). */
static int fe_keys_of(PyObject *o, const char **out)
{
    Py_ssize_t pos = 0, i = 0;
    PyObject *k, *v;

    out[0] = NULL;
    if (!o || o == Py_None)
        return 0;
    if (!PyDict_Check(o) || PyDict_Size(o) > FE_KEYS_MAX) {
        PyErr_Format(PyExc_TypeError, "fe_keys must be a dict of at most %d str: str", FE_KEYS_MAX);
        return -1;
    }
    while (PyDict_Next(o, &pos, &k, &v)) {
        if (!PyUnicode_Check(k) || !PyUnicode_Check(v)) {
            PyErr_SetString(PyExc_TypeError, "fe_keys must map str to str");
            return -1;
        }
        if (!(out[i] = PyUnicode_AsUTF8(k)) || !(out[i + 1] = PyUnicode_AsUTF8(v)))
            return -1;
        i += 2;
    }
    out[i] = NULL;
    return 0;
}

PyObject *kpy_ctx_block_attach(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "spec", "fe_keys", NULL };
    const char *spec, *fe[2 * FE_KEYS_MAX + 1];
    PyObject *dom, *fek = NULL;
    kl_device_disk disk;
    kl_diag *d;
    uint32_t domid, devid = 0;
    char err[KPY_ERRLEN];
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "Os|O:block_attach", kwl, &dom, &spec, &fek) ||
        fe_keys_of(fek, fe) < 0 || kpy_domid(self, dom, &domid) < 0)
        return NULL;
    if (!(d = kl_diag_new()))
        return PyErr_NoMemory();
    kl_device_disk_init(&disk);
    if ((rc = kl_device_disk_parse_spec(&disk, spec, d)) < 0) {
        kpy_raise_diag(rc, d, "bad disk spec");
        kl_diag_free(d);
        return NULL;
    }
    kl_diag_free(d);
    {
        const kl_disk_add_opts o = { .fe_keys = fe };
        KPY_CALL_DOM(self, err, domid, rc = kl_disk_add(self->ctx, domid, &disk, &o));
    }
    if (rc == 0)
        kl_disk_vdev_to_devid(disk.vdev, &devid);
    kl_device_disk_dispose(&disk);
    if (rc < 0)
        return kpy_raise(rc, err);
    return PyLong_FromUnsignedLong(devid);
}

static PyObject *info_dict(const kl_diskinfo *i)
{
    return Py_BuildValue("{s:s,s:I,s:s,s:I,s:I,s:i,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:s}",
                         "vdev", i->vdev, "devid", i->devid, "kind", i->kind,
                         "backend_id", i->backend_id, "frontend_id", i->frontend_id,
                         "backend_state", i->backend_state, "frontend_state", i->frontend_state,
                         "evtch", i->evtch, "ring_ref", i->ring_ref, "mode", i->mode,
                         "params", i->params, "hotplug_status", i->hotplug_status,
                         "backend", i->backend, "frontend", i->frontend);
}

PyObject *kpy_ctx_block_list(kpy_ctx *self, PyObject *dom)
{
    kl_diskinfo *l = NULL;
    char err[KPY_ERRLEN];
    uint32_t domid;
    PyObject *list;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = kl_disk_list(self->ctx, domid, &l));
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

PyObject *kpy_ctx_block_detach(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "device", "force", NULL };
    PyObject *dom, *dev;
    char name[24], err[KPY_ERRLEN];
    uint32_t domid;
    int force = 0, rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|p:block_detach", kwl, &dom, &dev, &force) ||
        kpy_domid(self, dom, &domid) < 0)
        return NULL;
    if (PyLong_Check(dev)) {
        long v = PyLong_AsLong(dev);
        if (v <= 0 || v >= (2L << 28)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "device number out of range");
            return NULL;
        }
        snprintf(name, sizeof(name), "%ld", v);
    } else if (PyUnicode_Check(dev)) {
        const char *s = PyUnicode_AsUTF8(dev);
        if (!s || !*s || strlen(s) >= sizeof(name)) {
            if (s)
                PyErr_SetString(PyExc_ValueError, "device must be a vdev name such as xvda");
            return NULL;
        }
        snprintf(name, sizeof(name), "%s", s);
    } else {
        PyErr_SetString(PyExc_TypeError, "device must be a vdev name (str) or a number (int)");
        return NULL;
    }
    KPY_CALL_DOM(self, err, domid,
                 rc = kl_disk_remove(self->ctx, domid, name, force ? KL_DISK_FORCE : 0));
    if (rc < 0)
        return kpy_raise(rc, err);
    Py_RETURN_NONE;
}
