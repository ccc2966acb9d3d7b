/* kpy_info.c - keel.DomainInfo: one domain as kl_domain_list / kl_domain_info see it (a named
 * tuple of kl_dominfo's fields plus xl's six-letter state). */
#include "kpy.h"

PyTypeObject *kpy_dominfo_type;

static PyStructSequence_Field info_fields[] = {
    { "domid", "domain id" },
    { "name", "name from the store ('' if none)" },
    { "uuid", "UUID as a string" },
    { "state", "xl list's state letters, e.g. 'r-----', '--p---', '---s--'" },
    { "running", "a vCPU is running" },
    { "blocked", "all vCPUs are blocked" },
    { "paused", "paused by the toolstack" },
    { "shutdown", "the domain has shut down" },
    { "dying", "the domain is being destroyed" },
    { "shutdown_reason", "SHUTDOWN_* when shut down, else None" },
    { "current_memkb", "memory in use (KiB)" },
    { "max_memkb", "memory limit (KiB)" },
    { "vcpu_online", "online vCPUs" },
    { "vcpu_max_id", "highest vCPU id" },
    { "cpu_time_ns", "CPU time used (ns)" },
    { "ssidref", "security label id" },
    { NULL, NULL },
};
static PyStructSequence_Desc info_desc = {
    "keel.DomainInfo", "A domain as the hypervisor core and the store describe it.",
    info_fields, 16,
};

static void state_letters(const kl_dominfo *i, char s[7])
{
    s[0] = i->running ? 'r' : '-';
    s[1] = i->blocked ? 'b' : '-';
    s[2] = i->paused ? 'p' : '-';
    s[3] = i->shutdown ? 's' : '-';
    s[4] = i->shutdown && i->shutdown_reason == KEEL_SHUTDOWN_CRASH ? 'c' : '-';
    s[5] = i->dying ? 'd' : '-';
    s[6] = 0;
}

PyObject *kpy_dominfo_new(const kl_dominfo *i)
{
    PyObject *t = PyStructSequence_New(kpy_dominfo_type), *reason;
    char uuid[KL_UUID_STRLEN], st[7];
    int k = 0;

    if (!t)
        return NULL;
    kl_uuid_to_string(&i->uuid, uuid);
    state_letters(i, st);
    if (i->shutdown && i->shutdown_reason >= 0) {
        reason = PyLong_FromLong(i->shutdown_reason);
    } else {
        reason = Py_None;
        Py_INCREF(reason);
    }
    PyStructSequence_SetItem(t, k++, PyLong_FromUnsignedLong(i->domid));
    PyStructSequence_SetItem(t, k++, PyUnicode_DecodeUTF8(i->name, strlen(i->name), "replace"));
    PyStructSequence_SetItem(t, k++, PyUnicode_FromString(uuid));
    PyStructSequence_SetItem(t, k++, PyUnicode_FromString(st));
    PyStructSequence_SetItem(t, k++, PyBool_FromLong(i->running));
    PyStructSequence_SetItem(t, k++, PyBool_FromLong(i->blocked));
    PyStructSequence_SetItem(t, k++, PyBool_FromLong(i->paused));
    PyStructSequence_SetItem(t, k++, PyBool_FromLong(i->shutdown));
    PyStructSequence_SetItem(t, k++, PyBool_FromLong(i->dying));
    PyStructSequence_SetItem(t, k++, reason);
    PyStructSequence_SetItem(t, k++, PyLong_FromUnsignedLongLong(i->current_memkb));
    PyStructSequence_SetItem(t, k++, PyLong_FromUnsignedLongLong(i->max_memkb));
    PyStructSequence_SetItem(t, k++, PyLong_FromUnsignedLong(i->vcpu_online));
    PyStructSequence_SetItem(t, k++, PyLong_FromUnsignedLong(i->vcpu_max_id));
    PyStructSequence_SetItem(t, k++, PyLong_FromUnsignedLongLong(i->cpu_time_ns));
    PyStructSequence_SetItem(t, k++, PyLong_FromUnsignedLong(i->ssidref));
    if (PyErr_Occurred()) {
        Py_DECREF(t);
        return NULL;
    }
    return t;
}

int kpy_info_init(PyObject *m)
{
    kpy_dominfo_type = PyStructSequence_NewType(&info_desc);
    if (!kpy_dominfo_type)
        return -1;
    return PyModule_AddObjectRef(m, "DomainInfo", (PyObject *)kpy_dominfo_type);
}
