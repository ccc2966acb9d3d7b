/* kpy_net.c - Context's PV network device methods, as xl network-attach / network-list /
 * network-detach: network_attach(dom, spec="") with a vif spec string of
 * xl-network-configuration(5) (returns the devid and MAC chosen), network_list(dom) as dicts,
 * network_detach(dom, device, force=False) with a devid or a MAC address. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kpy.h"

PyObject *kpy_ctx_network_attach(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "spec", NULL };
    const char *spec = "";
    char err[KPY_ERRLEN], mac[KL_MAC_STRLEN];
    kl_device_nic nic;
    PyObject *dom, *res;
    kl_diag *d;
    uint32_t domid;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|s:network_attach", kwl, &dom, &spec) ||
        kpy_domid(self, dom, &domid) < 0)
        return NULL;
    if (!(d = kl_diag_new()))
        return PyErr_NoMemory();
    kl_device_nic_init(&nic);
    if ((rc = kl_device_nic_parse_spec(&nic, spec, d)) < 0) {
        kpy_raise_diag(rc, d, "bad vif spec");
        kl_diag_free(d);
        return NULL;
    }
    kl_diag_free(d);
    KPY_CALL_DOM(self, err, domid, rc = kl_nic_add(self->ctx, domid, &nic, NULL));
    kl_mac_to_string(&nic.mac, mac);
    res = rc < 0 ? kpy_raise(rc, err) : Py_BuildValue("(is)", nic.devid, mac);
    kl_device_nic_dispose(&nic);
    return res;
}

static PyObject *info_dict(const kl_nicinfo *i)
{
    return Py_BuildValue("{s:I,s:s,s:I,s:I,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
                         "devid", i->devid, "mac", i->mac, "backend_id", i->backend_id,
                         "frontend_id", i->frontend_id, "backend_state", i->backend_state,
                         "frontend_state", i->frontend_state, "evtch", i->evtch,
                         "rref_tx", i->rref_tx, "rref_rx", i->rref_rx, "mtu", i->mtu,
                         "ifname", i->ifname, "bridge", i->bridge, "ip", i->ip,
                         "script", i->script, "hotplug_status", i->hotplug_status,
                         "backend", i->backend, "frontend", i->frontend);
}

PyObject *kpy_ctx_network_list(kpy_ctx *self, PyObject *dom)
{
    kl_nicinfo *l = NULL;
    char err[KPY_ERRLEN];
    uint32_t domid;
    PyObject *list;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = kl_nic_list(self->ctx, domid, &l));
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

PyObject *kpy_ctx_network_detach(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "device", "force", NULL };
    PyObject *dom, *dev;
    char name[24], err[KPY_ERRLEN];
    uint32_t domid;
    int force = 0, rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|p:network_detach", kwl, &dom, &dev, &force) ||
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
                PyErr_SetString(PyExc_ValueError, "device must be a devid or a MAC address");
            return NULL;
        }
        snprintf(name, sizeof(name), "%s", s);
    } else {
        PyErr_SetString(PyExc_TypeError, "device must be a devid (int) or a MAC address (str)");
        return NULL;
    }
    KPY_CALL_DOM(self, err, domid,
                 rc = kl_nic_remove(self->ctx, domid, name, force ? KL_NIC_FORCE : 0));
    if (rc < 0)
        return kpy_raise(rc, err);
    Py_RETURN_NONE;
}
