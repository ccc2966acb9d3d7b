/* kpy_error.c - keel.Error (an OSError: errno + liblight's message) and keel.ConfigError (also
 * carrying the diagnostics of a config, each with file, line and column). */
#include <errno.h>
#include <string.h>

#include "kpy.h"

PyObject *kpy_Error, *kpy_ConfigError;
PyTypeObject *kpy_diag_type;

static PyStructSequence_Field diag_fields[] = {
    { "severity", "'error' or 'warning'" },
    { "file", "the file (or source name) the entry is about, or None" },
    { "line", "1-based line, 0 when unknown" },
    { "column", "1-based column in bytes, 0 when unknown" },
    { "text", "the complete one-line message, with file:line:column" },
    { NULL, NULL },
};
static PyStructSequence_Desc diag_desc = {
    "keel.Diagnostic", "A warning or error about a domain configuration.", diag_fields, 5,
};

void kpy_copy_error(kl_ctx *ctx, int rc, char *err, const char *before, uint32_t domid)
{
    const char *m = kl_ctx_error(ctx);

    if (m && *m && strcmp(m, "no error") && (!before || strncmp(m, before, KPY_ERRLEN - 1)))
        snprintf(err, KPY_ERRLEN, "%s", m);
    else if (domid != KPY_NO_DOMID)
        snprintf(err, KPY_ERRLEN, "domain %u: %s", domid, strerror(-rc));
    else
        snprintf(err, KPY_ERRLEN, "%s", strerror(-rc));
}

void kpy_err_about(char *err, int rc, const char *what)
{
    if (!strcmp(err, strerror(-rc)))
        snprintf(err, KPY_ERRLEN, "%s: %s", what, strerror(-rc));
}

/* Messages may quote hostile input (a corrupt image's configuration): decode leniently. */
static PyObject *make_error(PyObject *type, int rc, const char *msg)
{
    PyObject *m = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace"), *e;

    if (!m)
        return NULL;
    e = PyObject_CallFunction(type, "iO", rc < 0 ? -rc : rc, m);
    Py_DECREF(m);
    return e;
}

PyObject *kpy_raise(int rc, const char *msg)
{
    PyObject *e = make_error(kpy_Error, rc, msg && *msg ? msg : strerror(-rc));

    if (e) {
        PyErr_SetObject(kpy_Error, e);
        Py_DECREF(e);
    }
    return NULL;
}

static PyObject *diag_entry(const kl_diag *d, size_t i)
{
    PyObject *t = PyStructSequence_New(kpy_diag_type);
    const char *file = kl_diag_file(d, i), *text = kl_diag_text(d, i);

    if (!t)
        return NULL;
    PyStructSequence_SetItem(t, 0, PyUnicode_FromString(
        kl_diag_severity(d, i) == KL_SEV_ERROR ? "error" : "warning"));
    if (file && *file) {
        PyStructSequence_SetItem(t, 1, PyUnicode_DecodeFSDefault(file));
    } else {
        Py_INCREF(Py_None);
        PyStructSequence_SetItem(t, 1, Py_None);
    }
    PyStructSequence_SetItem(t, 2, PyLong_FromLong(kl_diag_line(d, i)));
    PyStructSequence_SetItem(t, 3, PyLong_FromLong(kl_diag_column(d, i)));
    PyStructSequence_SetItem(t, 4, PyUnicode_DecodeUTF8(text ? text : "", text ? strlen(text) : 0,
                                                        "replace"));
    if (PyErr_Occurred()) {
        Py_DECREF(t);
        return NULL;
    }
    return t;
}

/* The entries of d (only one severity, or all when only is 0) as a list of Diagnostic. */
PyObject *kpy_diag_list(const kl_diag *d, enum kl_severity only)
{
    PyObject *l = PyList_New(0);
    size_t n = d ? kl_diag_count(d) : 0;

    for (size_t i = 0; l && i < n; i++) {
        PyObject *t;
        if (only && kl_diag_severity(d, i) != only)
            continue;
        if (!(t = diag_entry(d, i)) || PyList_Append(l, t) < 0)
            Py_CLEAR(l);
        Py_XDECREF(t);
    }
    return l;
}

static int set_location(PyObject *e, const kl_diag *d)
{
    size_t n = d ? kl_diag_count(d) : 0, i;
    PyObject *file = Py_None, *line, *col;
    int rc;

    for (i = 0; i < n && kl_diag_severity(d, i) != KL_SEV_ERROR; i++)
        ;
    if (i < n && kl_diag_file(d, i) && *kl_diag_file(d, i))
        file = PyUnicode_DecodeFSDefault(kl_diag_file(d, i));
    else
        Py_INCREF(file);
    line = PyLong_FromLong(i < n ? kl_diag_line(d, i) : 0);
    col = PyLong_FromLong(i < n ? kl_diag_column(d, i) : 0);
    rc = (!file || !line || !col || PyObject_SetAttrString(e, "file", file) < 0 ||
          PyObject_SetAttrString(e, "line", line) < 0 ||
          PyObject_SetAttrString(e, "column", col) < 0) ? -1 : 0;
    Py_XDECREF(file);
    Py_XDECREF(line);
    Py_XDECREF(col);
    return rc;
}

/* Raise ConfigError for a failed configuration call: the message is the first error (or
 * fallback), .diagnostics every entry, .errors the error entries, .file/.line/.column where the
 * first error is. */
PyObject *kpy_raise_diag(int rc, const kl_diag *d, const char *fallback)
{
    const char *first = d ? kl_diag_first_error(d) : NULL;
    PyObject *e, *all = NULL, *errs = NULL;

    e = make_error(kpy_ConfigError, rc, first ? first : fallback ? fallback : strerror(-rc));
    if (!e)
        return NULL;
    if ((all = kpy_diag_list(d, 0)) && (errs = kpy_diag_list(d, KL_SEV_ERROR)) &&
        PyObject_SetAttrString(e, "diagnostics", all) == 0 &&
        PyObject_SetAttrString(e, "errors", errs) == 0 && set_location(e, d) == 0)
        PyErr_SetObject(kpy_ConfigError, e);
    Py_XDECREF(all);
    Py_XDECREF(errs);
    Py_DECREF(e);
    return NULL;
}

int kpy_error_init(PyObject *m)
{
    kpy_Error = PyErr_NewExceptionWithDoc(
        "keel.Error", "A liblight call failed: errno is the negative return, strerror liblight's "
        "message with its context (domain, path, ...).", PyExc_OSError, NULL);
    if (!kpy_Error)
        return -1;
    kpy_ConfigError = PyErr_NewExceptionWithDoc(
        "keel.ConfigError", "A domain configuration is invalid: .diagnostics lists every warning "
        "and error, .errors the errors; .file, .line and .column locate the first error.",
        kpy_Error, NULL);
    if (!kpy_ConfigError)
        return -1;
    kpy_diag_type = PyStructSequence_NewType(&diag_desc);
    if (!kpy_diag_type)
        return -1;
    if (PyModule_AddObjectRef(m, "Error", kpy_Error) < 0 ||
        PyModule_AddObjectRef(m, "ConfigError", kpy_ConfigError) < 0 ||
        PyModule_AddObjectRef(m, "Diagnostic", (PyObject *)kpy_diag_type) < 0)
        return -1;
    return 0;
}
