/* kpy_ctx.c - keel.Context: a liblight context (kl_ctx) on a runtime directory, its lock, its
 * close / context-manager protocol, argument helpers, and the table of its methods (which live
 * in kpy_domain.c, kpy_wait.c, kpy_save.c, kpy_store.c and kpy_watch.c). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kpy.h"

static int ctx_init(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "rundir", NULL };
    PyObject *dir = NULL;
    char err[KPY_ERRLEN];
    kl_ctx *ctx = NULL;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O&:Context", kwl, PyUnicode_FSConverter, &dir))
        return -1;
    if (self->ctx) {
        Py_XDECREF(dir);
        PyErr_SetString(PyExc_RuntimeError, "Context is already open");
        return -1;
    }
    if (!self->lock && !(self->lock = kpy_lock_new())) {
        Py_XDECREF(dir);
        PyErr_NoMemory();
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS /* connects to two daemons */
    rc = kl_ctx_open(&ctx, dir ? PyBytes_AS_STRING(dir) : NULL);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        const char *env = getenv("KEEL_RUNDIR");
        /* kl_ctx_open leaves no context to ask: say which directory failed */
        snprintf(err, sizeof(err), "cannot open a liblight context on %s: %s",
                 dir ? PyBytes_AS_STRING(dir) : env && *env ? env : "the default runtime "
                 "directory", strerror(-rc));
        Py_XDECREF(dir);
        kpy_raise(rc, err);
        return -1;
    }
    Py_XDECREF(dir);
    self->ctx = ctx;
    Py_XSETREF(self->rundir, PyUnicode_DecodeFSDefault(kl_ctx_rundir(ctx)));
    return self->rundir ? 0 : -1;
}

static void ctx_close_now(kpy_ctx *self)
{
    kl_ctx *ctx;

    Py_BEGIN_ALLOW_THREADS
    kpy_lock_acquire(self->lock);
    ctx = self->ctx;
    self->ctx = NULL;
    kl_ctx_close(ctx);
    kpy_lock_release(self->lock);
    Py_END_ALLOW_THREADS
}

static void ctx_dealloc(kpy_ctx *self)
{
    if (self->lock) {
        if (self->ctx)
            ctx_close_now(self);
        kpy_lock_free(self->lock);
    }
    Py_XDECREF(self->rundir);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *ctx_close(kpy_ctx *self, PyObject *unused)
{
    if (self->lock && kpy_lock_mine(self->lock))
        return kpy_raise(-EDEADLK, "a callback tried to close the Context whose call is "
                         "running it");
    if (self->lock)
        ctx_close_now(self);
    Py_RETURN_NONE;
}

static PyObject *ctx_enter(kpy_ctx *self, PyObject *unused)
{
    if (!self->ctx)
        return kpy_raise(-EBADF, "the context is closed");
    return Py_NewRef(self);
}

static PyObject *ctx_exit(kpy_ctx *self, PyObject *args)
{
    return ctx_close(self, NULL);
}

static PyObject *ctx_get_rundir(kpy_ctx *self, void *unused)
{
    if (!self->rundir)
        return kpy_raise(-EBADF, "the context was never opened");
    return Py_NewRef(self->rundir);
}

static PyObject *ctx_get_closed(kpy_ctx *self, void *unused)
{
    return PyBool_FromLong(self->ctx == NULL);
}

/* ---- argument helpers ---- */

/* A domain as an int id or a str name (or decimal id), as xl's arguments. */
int kpy_domid(kpy_ctx *self, PyObject *o, uint32_t *domid)
{
    char err[KPY_ERRLEN];
    const char *name;
    int rc;

    if (PyLong_Check(o)) {
        unsigned long v = PyLong_AsUnsignedLong(o);
        if (v == (unsigned long)-1 && PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "domid must be in 0..4294967295");
            return -1;
        }
        if (v > UINT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "domid must be in 0..4294967295");
            return -1;
        }
        if (!self->lock) {
            kpy_raise(-EBADF, "the context is closed");
            return -1;
        }
        *domid = (uint32_t)v;
        return 0;
    }
    if (!PyUnicode_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "a domain is an int domid or a str name");
        return -1;
    }
    if (!(name = PyUnicode_AsUTF8(o)))
        return -1;
    if (!self->lock) {
        kpy_raise(-EBADF, "the context is closed");
        return -1;
    }
    KPY_CALL(self, err, rc = kl_domain_qualify(self->ctx, name, domid));
    if (rc < 0) {
        kpy_err_about(err, rc, name);
        kpy_raise(rc, err);
        return -1;
    }
    return 0;
}

/* A timeout in seconds (int or float; None: forever = -1) as milliseconds. */
int kpy_timeout_ms(PyObject *o, int *ms)
{
    double s;

    if (!o || o == Py_None) {
        *ms = -1;
        return 0;
    }
    s = PyFloat_AsDouble(o);
    if (s == -1.0 && PyErr_Occurred())
        return -1;
    if (!(s >= 0 && s <= INT_MAX / 1000)) {
        PyErr_SetString(PyExc_ValueError, "timeout must be None or 0..2147483 seconds");
        return -1;
    }
    *ms = (int)(s * 1000);
    return 0;
}

PyObject *kpy_path_str(PyObject *o)
{
    PyObject *b = NULL;

    if (!PyUnicode_FSConverter(o, &b))
        return NULL;
    return b; /* bytes */
}

#define M(name, fn, flags, doc) { name, (PyCFunction)(void (*)(void))(fn), flags, doc }
#define VK (METH_VARARGS | METH_KEYWORDS)
static PyMethodDef ctx_methods[] = {
    M("close", ctx_close, METH_NOARGS,
      "close(): disconnect. Domains this context created are destroyed by the core when the "
      "connection that created them closes."),
    M("__enter__", ctx_enter, METH_NOARGS, NULL),
    M("__exit__", ctx_exit, METH_VARARGS, NULL),
    M("create", kpy_ctx_create, VK,
      "create(config, paused=False) -> domid: config is a DomainConfig or a dict"),
    M("list", kpy_ctx_list, METH_NOARGS, "list() -> [DomainInfo], Domain-0 first"),
    M("info", kpy_ctx_info, METH_O, "info(dom) -> DomainInfo"),
    M("domid", kpy_ctx_domid, METH_O, "domid(name_or_id) -> int"),
    M("name", kpy_ctx_name, METH_O, "name(dom) -> str"),
    M("destroy", kpy_ctx_destroy, METH_O, "destroy(dom)"),
    M("pause", kpy_ctx_pause, METH_O, "pause(dom)"),
    M("unpause", kpy_ctx_unpause, METH_O, "unpause(dom)"),
    M("rename", kpy_ctx_rename, METH_VARARGS, "rename(dom, new_name)"),
    M("get_config", kpy_ctx_get_config, METH_O,
      "get_config(dom) -> DomainConfig the domain was created with"),
    M("set_memory_max", kpy_ctx_set_memory_max, METH_VARARGS, "set_memory_max(dom, kib)"),
    M("set_memory_target", kpy_ctx_set_memory_target, METH_VARARGS,
      "set_memory_target(dom, kib)"),
    M("memory_target", kpy_ctx_memory_target, METH_O, "memory_target(dom) -> kib"),
    M("shutdown", kpy_ctx_shutdown, VK,
      "shutdown(dom, timeout=10.0, wait=True) -> forced: ask the guest to power off; the core "
      "forces it if the guest does not act"),
    M("reboot", kpy_ctx_reboot, VK, "reboot(dom, timeout=10.0, wait=True) -> forced"),
    M("wait_shutdown", kpy_ctx_wait_shutdown, VK,
      "wait_shutdown(dom, timeout=None) -> reason (SHUTDOWN_*), or None if the domain is gone"),
    M("wait_gone", kpy_ctx_wait_gone, VK, "wait_gone(dom, timeout=None)"),
    M("handle_shutdown", kpy_ctx_handle_shutdown, METH_O,
      "handle_shutdown(dom) -> (action, new_domid or None): apply on_poweroff/on_reboot/..."),
    M("save", kpy_ctx_save, VK,
      "save(dom, path, live=False, checkpoint=False, paused=False): write an xl save image; "
      "then destroy the domain (default), leave it running (checkpoint) or paused (paused)"),
    M("restore", kpy_ctx_restore, VK,
      "restore(path, paused=False, config=None) -> domid"),
    M("store_read", kpy_ctx_store_read, METH_O, "store_read(path) -> str"),
    M("store_write", kpy_ctx_store_write, METH_VARARGS, "store_write(path, value)"),
    M("store_rm", kpy_ctx_store_rm, METH_O, "store_rm(path)"),
    M("console_read", kpy_ctx_console_read, VK,
      "console_read(dom, offset=0) -> (bytes, next_offset): the domain's console output"),
    M("block_attach", kpy_ctx_block_attach, VK,
      "block_attach(dom, spec, fe_keys=None) -> devid: attach a disk (spec as in disk=[...]); "
      "returns once the backend is ready; fe_keys: extra frontend keys {name: value}"),
    M("block_list", kpy_ctx_block_list, METH_O,
      "block_list(dom) -> [dict]: vdev, devid, kind, backend/frontend states, evtch, ring_ref, "
      "mode, params, hotplug_status, backend, frontend"),
    M("block_detach", kpy_ctx_block_detach, VK,
      "block_detach(dom, device, force=False): device is a vdev name or a device number"),
    M("network_attach", kpy_ctx_network_attach, VK,
      "network_attach(dom, spec='') -> (devid, mac): attach a vif (spec as in vif=[...]); "
      "returns once the backend is ready and the hotplug script said connected"),
    M("network_list", kpy_ctx_network_list, METH_O,
      "network_list(dom) -> [dict]: devid, mac, backend/frontend states, evtch, rref_tx, "
      "rref_rx, mtu, ifname, bridge, ip, script, hotplug_status, backend, frontend"),
    M("network_detach", kpy_ctx_network_detach, VK,
      "network_detach(dom, device, force=False): device is a devid or a MAC address"),
    M("vtpm_attach", kpy_ctx_vtpm_attach, VK,
      "vtpm_attach(dom, uuid=None, backend=None) -> (devid, uuid): attach a vTPM (a new one "
      "without uuid; the same uuid is the same TPM); returns once keel-vtpmd is ready"),
    M("vtpm_list", kpy_ctx_vtpm_list, METH_O,
      "vtpm_list(dom) -> [dict]: devid, uuid, backend/frontend states, evtch, ring_ref, "
      "backend, frontend"),
    M("vtpm_detach", kpy_ctx_vtpm_detach, VK,
      "vtpm_detach(dom, device, force=False): device is a devid or a uuid"),
    M("watch_deaths", kpy_ctx_watch_deaths, VK,
      "watch_deaths(dom=None) -> DeathWatch: domains that shut down or disappear"),
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef ctx_getset[] = {
    { "rundir", (getter)ctx_get_rundir, NULL, "the runtime directory", NULL },
    { "closed", (getter)ctx_get_closed, NULL, "True once closed", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject kpy_ctx_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "keel.Context",
    .tp_basicsize = sizeof(kpy_ctx),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Context(rundir=None): a connection to the hypervisor core and the store of a "
              "runtime directory (None: $KEEL_RUNDIR, else /run/keel). Usable from several "
              "threads (calls are serialised); a context manager.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)ctx_init,
    .tp_dealloc = (destructor)ctx_dealloc,
    .tp_methods = ctx_methods,
    .tp_getset = ctx_getset,
};
