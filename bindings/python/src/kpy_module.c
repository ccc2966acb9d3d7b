/* kpy_module.c - the keel._keel extension module: its types, exceptions and constants. The
 * pure-Python package keel (keel/__init__.py) re-exports them. */
#include "kpy.h"

static struct PyModuleDef kpy_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "keel._keel",
    .m_doc = "Keel's toolstack API (liblight) for Python: contexts, domain configurations, "
             "domain lifecycle, save/restore, store, events.",
    .m_size = -1,
};

static int add_constants(PyObject *m)
{
    static const struct { const char *name; long value; } c[] = {
        { "SHUTDOWN_POWEROFF", KEEL_SHUTDOWN_POWEROFF },
        { "SHUTDOWN_REBOOT", KEEL_SHUTDOWN_REBOOT },
        { "SHUTDOWN_SUSPEND", KEEL_SHUTDOWN_SUSPEND },
        { "SHUTDOWN_CRASH", KEEL_SHUTDOWN_CRASH },
        { "SHUTDOWN_WATCHDOG", KEEL_SHUTDOWN_WATCHDOG },
        { "DOMID_INVALID", KEEL_DOMID_INVALID },
    };

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        if (PyModule_AddIntConstant(m, c[i].name, c[i].value) < 0)
            return -1;
    return 0;
}

static int add_type(PyObject *m, const char *name, PyTypeObject *t)
{
    if (PyType_Ready(t) < 0)
        return -1;
    return PyModule_AddObjectRef(m, name, (PyObject *)t);
}

PyMODINIT_FUNC PyInit__keel(void);
PyMODINIT_FUNC PyInit__keel(void)
{
    PyObject *m = PyModule_Create(&kpy_module);

    if (!m)
        return NULL;
    if (kpy_error_init(m) < 0 || kpy_info_init(m) < 0 || add_constants(m) < 0 ||
        add_type(m, "Context", &kpy_ctx_type) < 0 ||
        add_type(m, "DomainConfig", &kpy_config_type) < 0 ||
        add_type(m, "DeathWatch", &kpy_watch_type) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
