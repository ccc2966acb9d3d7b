/* kpy_config.c - keel.DomainConfig: a kl_domain_config made from xl.cfg text, an xl.cfg file,
 * libxl-shaped JSON or a dict (through json.dumps), and written back as JSON, a dict or
 * xl.cfg text. Configuration errors raise keel.ConfigError with file:line:column. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kpy.h"
#include "keel/kl_xml.h"

/* liblight's strings are UTF-8 (it refuses anything else); decode leniently all the same. */
static PyObject *kpy_str(const char *s)
{
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

static kpy_config *config_alloc(PyTypeObject *type)
{
    kpy_config *c = (kpy_config *)type->tp_alloc(type, 0);

    if (!c)
        return NULL;
    kl_domain_config_init(&c->dc);
    if (!(c->warnings = PyList_New(0))) {
        Py_DECREF(c);
        return NULL;
    }
    return c;
}

PyObject *kpy_config_wrap(kl_domain_config *dc)
{
    kpy_config *c = config_alloc(&kpy_config_type);

    if (!c) {
        kl_domain_config_dispose(dc);
        return NULL;
    }
    c->dc = *dc; /* takes over the content */
    kl_domain_config_init(dc);
    return (PyObject *)c;
}

static PyObject *config_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { NULL };

    if (!PyArg_ParseTupleAndKeywords(args, kw, ":DomainConfig", kwl))
        return NULL;
    return (PyObject *)config_alloc(type);
}

static void config_dealloc(kpy_config *c)
{
    kl_domain_config_dispose(&c->dc);
    Py_XDECREF(c->warnings);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

/* A new config of type holding *dc's content and the warnings of d. */
static PyObject *config_result(PyTypeObject *type, kl_domain_config *dc, kl_diag *d)
{
    kpy_config *c = config_alloc(type);
    PyObject *w;

    if (c && (w = kpy_diag_list(d, KL_SEV_WARNING))) {
        Py_SETREF(c->warnings, w);
        c->dc = *dc;
        kl_domain_config_init(dc);
    } else {
        Py_CLEAR(c);
    }
    kl_domain_config_dispose(dc);
    kl_diag_free(d);
    return (PyObject *)c;
}

/* overrides (a sequence of "key=value" str) as a NULL-terminated argv; -1 + exception. */
static int overrides_argv(PyObject *seq, char ***argv, int *argc, PyObject **keep)
{
    Py_ssize_t n;

    *argv = NULL;
    *argc = 0;
    *keep = NULL;
    if (!seq || seq == Py_None)
        return 0;
    if (PyUnicode_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "overrides must be a sequence of 'key=value' strings");
        return -1;
    }
    if (!(*keep = PySequence_Fast(seq, "overrides must be a sequence of 'key=value' strings")))
        return -1;
    n = PySequence_Fast_GET_SIZE(*keep);
    if (n > 4096) {
        PyErr_SetString(PyExc_ValueError, "too many overrides (at most 4096)");
        return -1;
    }
    if (!(*argv = PyMem_Calloc((size_t)n + 1, sizeof(char *)))) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(*keep, i);
        if (!PyUnicode_Check(s)) {
            PyErr_SetString(PyExc_TypeError, "each override must be a 'key=value' str");
            return -1;
        }
        if (!((*argv)[i] = (char *)PyUnicode_AsUTF8(s)))
            return -1;
    }
    *argc = (int)n;
    return 0;
}

static PyObject *config_from_text(PyObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "text", "source", "overrides", "strict", NULL };
    const char *text, *source = "<string>";
    Py_ssize_t len;
    PyObject *ov = NULL, *keep = NULL, *res = NULL;
    int strict = 0, argc, rc;
    char **argv = NULL;
    kl_domain_config dc;
    kl_cfg *cfg = NULL;
    kl_diag *d;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "s#|sOp:from_text", kwl, &text, &len, &source,
                                     &ov, &strict))
        return NULL;
    if (overrides_argv(ov, &argv, &argc, &keep) < 0)
        goto out;
    if (!(d = kl_diag_new())) {
        PyErr_NoMemory();
        goto out;
    }
    kl_domain_config_init(&dc);
    rc = kl_cfg_parse_data(&cfg, source, text, (size_t)len, d);
    if (rc == 0 && argc)
        rc = kl_cfg_add_overrides(cfg, argc, argv, d);
    if (rc == 0)
        rc = kl_domain_config_from_cfg(&dc, cfg, strict ? KL_CONV_STRICT : 0, d);
    kl_cfg_free(cfg);
    if (rc < 0) {
        kpy_raise_diag(rc, d, "invalid configuration");
        kl_domain_config_dispose(&dc);
        kl_diag_free(d);
        goto out;
    }
    res = config_result((PyTypeObject *)cls, &dc, d);
out:
    PyMem_Free(argv);
    Py_XDECREF(keep);
    return res;
}

static PyObject *config_from_file(PyObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "path", "overrides", "strict", NULL };
    PyObject *path = NULL, *ov = NULL, *keep = NULL, *res = NULL;
    int strict = 0, argc, rc;
    char **argv = NULL;
    kl_domain_config dc;
    kl_diag *d;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|Op:from_file", kwl, PyUnicode_FSConverter,
                                     &path, &ov, &strict))
        return NULL;
    if (overrides_argv(ov, &argv, &argc, &keep) < 0)
        goto out;
    if (!(d = kl_diag_new())) {
        PyErr_NoMemory();
        goto out;
    }
    kl_domain_config_init(&dc);
    Py_BEGIN_ALLOW_THREADS /* reads a file */
    rc = kl_domain_config_load(&dc, PyBytes_AS_STRING(path), argc, argv,
                               strict ? KL_CONV_STRICT : 0, d);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        kpy_raise_diag(rc, d, PyBytes_AS_STRING(path));
        kl_domain_config_dispose(&dc);
        kl_diag_free(d);
        goto out;
    }
    res = config_result((PyTypeObject *)cls, &dc, d);
out:
    PyMem_Free(argv);
    Py_XDECREF(keep);
    Py_XDECREF(path);
    return res;
}

static PyObject *config_from_json(PyObject *cls, PyObject *arg)
{
    kl_domain_config dc;
    const char *json;
    Py_ssize_t len;
    kl_diag *d;
    int rc;

    if (!(json = PyUnicode_AsUTF8AndSize(arg, &len)))
        return NULL;
    if (strlen(json) != (size_t)len) {
        PyErr_SetString(PyExc_ValueError, "JSON text contains a NUL character");
        return NULL;
    }
    if (!(d = kl_diag_new()))
        return PyErr_NoMemory();
    kl_domain_config_init(&dc);
    if ((rc = kl_domain_config_from_json(&dc, json, d)) < 0) {
        kpy_raise_diag(rc, d, "invalid JSON domain configuration");
        kl_domain_config_dispose(&dc);
        kl_diag_free(d);
        return NULL;
    }
    return config_result((PyTypeObject *)cls, &dc, d);
}

static PyObject *json_call(const char *fn, PyObject *arg)
{
    PyObject *mod = PyImport_ImportModule("json"), *r;

    if (!mod)
        return NULL;
    r = PyObject_CallMethod(mod, fn, "O", arg);
    Py_DECREF(mod);
    return r;
}

static PyObject *config_from_dict(PyObject *cls, PyObject *arg)
{
    PyObject *s, *r;

    if (!PyDict_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "from_dict() needs a dict (libxl's domain config shape)");
        return NULL;
    }
    if (!(s = json_call("dumps", arg)))
        return NULL;
    r = config_from_json(cls, s);
    Py_DECREF(s);
    return r;
}

static PyObject *config_to_json(kpy_config *c, PyObject *unused)
{
    char *s = kl_domain_config_to_json(&c->dc);
    PyObject *r;

    if (!s)
        return PyErr_NoMemory();
    r = kpy_str(s);
    free(s);
    return r;
}

static PyObject *config_to_dict(kpy_config *c, PyObject *unused)
{
    PyObject *s = config_to_json(c, NULL), *r;

    if (!s)
        return NULL;
    r = json_call("loads", s);
    Py_DECREF(s);
    return r;
}

static PyObject *config_to_text(kpy_config *c, PyObject *unused)
{
    char *s = kl_domain_config_to_cfg(&c->dc);
    PyObject *r;

    if (!s)
        return PyErr_NoMemory();
    r = kpy_str(s);
    free(s);
    return r;
}

static PyObject *config_to_xl_json(kpy_config *c, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "domid", NULL };
    PyObject *o = Py_None, *r;
    long domid = -1;
    char *s;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:to_xl_json", kwl, &o))
        return NULL;
    if (o != Py_None && ((domid = PyLong_AsLong(o)) == -1 && PyErr_Occurred()))
        return NULL;
    if (o != Py_None && (domid < 0 || domid > INT32_MAX)) {
        PyErr_SetString(PyExc_ValueError, "domid out of range");
        return NULL;
    }
    if (!(s = kl_domain_config_to_xl_json(&c->dc, (int)domid)))
        return PyErr_NoMemory();
    r = kpy_str(s);
    free(s);
    return r;
}

/* libvirt domain XML (keel/kl_xml.h): from_xml(text, source, strict) and to_xml(domid). */
static PyObject *config_from_xml(PyObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "text", "source", "strict", NULL };
    const char *text, *source = "<string>";
    Py_ssize_t len;
    int strict = 0, rc;
    kl_domain_config dc;
    kl_diag *d;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "s#|sp:from_xml", kwl, &text, &len, &source,
                                     &strict))
        return NULL;
    if (!(d = kl_diag_new()))
        return PyErr_NoMemory();
    kl_domain_config_init(&dc);
    rc = kl_domain_config_from_xml(&dc, source, text, (size_t)len, strict ? KL_CONV_STRICT : 0, d);
    if (rc < 0) {
        kpy_raise_diag(rc, d, "invalid domain XML");
        kl_domain_config_dispose(&dc);
        kl_diag_free(d);
        return NULL;
    }
    return config_result((PyTypeObject *)cls, &dc, d);
}

static PyObject *config_to_xml(kpy_config *c, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "domid", NULL };
    PyObject *o = Py_None, *r;
    long domid = -1;
    char *s;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:to_xml", kwl, &o))
        return NULL;
    if (o != Py_None && ((domid = PyLong_AsLong(o)) == -1 && PyErr_Occurred()))
        return NULL;
    if (o != Py_None && (domid < 0 || domid > INT32_MAX)) {
        PyErr_SetString(PyExc_ValueError, "domid out of range");
        return NULL;
    }
    if (!(s = kl_domain_config_to_xml(&c->dc, (int)domid)))
        return PyErr_NoMemory();
    r = kpy_str(s);
    free(s);
    return r;
}

static PyObject *config_copy(kpy_config *c, PyObject *unused)
{
    kpy_config *n = config_alloc(Py_TYPE(c));

    if (!n)
        return NULL;
    if (kl_domain_config_copy(&n->dc, &c->dc) < 0) {
        Py_DECREF(n);
        return PyErr_NoMemory();
    }
    Py_SETREF(n->warnings, PySequence_List(c->warnings));
    if (!n->warnings) {
        Py_DECREF(n);
        return NULL;
    }
    return (PyObject *)n;
}

static PyObject *config_setdefault(kpy_config *c, PyObject *unused)
{
    kl_diag *d = kl_diag_new();
    int rc;

    if (!d)
        return PyErr_NoMemory();
    if ((rc = kl_domain_config_setdefault(&c->dc, d)) < 0) {
        kpy_raise_diag(rc, d, "cannot complete the configuration");
        kl_diag_free(d);
        return NULL;
    }
    kl_diag_free(d);
    Py_RETURN_NONE;
}

int kpy_config_from_object(PyObject *o, kl_domain_config *out)
{
    PyObject *tmp = NULL;
    int rc;

    if (PyDict_Check(o)) {
        if (!(tmp = config_from_dict((PyObject *)&kpy_config_type, o)))
            return -1;
        o = tmp;
    }
    if (!PyObject_TypeCheck(o, &kpy_config_type)) {
        PyErr_SetString(PyExc_TypeError, "expected a keel.DomainConfig or a dict");
        return -1;
    }
    kl_domain_config_init(out);
    rc = kl_domain_config_copy(out, &((kpy_config *)o)->dc);
    Py_XDECREF(tmp);
    if (rc < 0) {
        kl_domain_config_dispose(out);
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static PyObject *config_richcompare(PyObject *a, PyObject *b, int op)
{
    bool eq;

    if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(b, &kpy_config_type))
        Py_RETURN_NOTIMPLEMENTED;
    eq = kl_domain_config_equal(&((kpy_config *)a)->dc, &((kpy_config *)b)->dc);
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static PyObject *config_repr(kpy_config *c)
{
    PyObject *name = c->dc.c_info.name ? kpy_str(c->dc.c_info.name)
                                       : Py_NewRef(Py_None), *r;

    if (!name)
        return NULL;
    r = PyUnicode_FromFormat("<keel.DomainConfig name=%R>", name);
    Py_DECREF(name);
    return r;
}

static PyObject *config_get_name(kpy_config *c, void *unused)
{
    if (!c->dc.c_info.name)
        Py_RETURN_NONE;
    return kpy_str(c->dc.c_info.name);
}

static PyObject *config_get_warnings(kpy_config *c, void *unused)
{
    return PySequence_List(c->warnings);
}

#define M(name, fn, flags, doc) { name, (PyCFunction)(void (*)(void))(fn), flags, doc }
static PyMethodDef config_methods[] = {
    M("from_text", config_from_text, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
      "from_text(text, source='<string>', overrides=(), strict=False) -> DomainConfig\n"
      "Parse xl.cfg text (then 'key=value' overrides, as xl create's arguments) and convert it."
      " Raises ConfigError with file:line:column."),
    M("from_file", config_from_file, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
      "from_file(path, overrides=(), strict=False) -> DomainConfig\n"
      "Read an xl.cfg file. Raises ConfigError (an unreadable file: errno of the failure)."),
    M("from_json", config_from_json, METH_O | METH_CLASS,
      "from_json(text) -> DomainConfig: libxl_domain_config-shaped JSON. Raises ConfigError."),
    M("from_dict", config_from_dict, METH_O | METH_CLASS,
      "from_dict(d) -> DomainConfig: a dict of libxl_domain_config's shape (via json.dumps)."),
    M("to_json", config_to_json, METH_NOARGS, "to_json() -> str (libxl's JSON shape)"),
    M("to_dict", config_to_dict, METH_NOARGS, "to_dict() -> dict (json.loads of to_json())"),
    M("to_text", config_to_text, METH_NOARGS,
      "to_text() -> str: xl.cfg text that converts back to an equal config"),
    M("to_xl_json", config_to_xl_json, METH_VARARGS | METH_KEYWORDS,
      "to_xl_json(domid=None) -> str: what xl create -N / xl list -l print"),
    M("from_xml", config_from_xml, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
      "from_xml(text, source='<string>', strict=False) -> DomainConfig\n"
      "Convert libvirt domain XML (<domain type='xen'>). Raises ConfigError naming the element"
      " and its line."),
    M("to_xml", config_to_xml, METH_VARARGS | METH_KEYWORDS,
      "to_xml(domid=None) -> str: libvirt domain XML that converts back to an equal config"),
    M("copy", config_copy, METH_NOARGS, "copy() -> DomainConfig"),
    M("setdefault", config_setdefault, METH_NOARGS,
      "setdefault(): fill the creation-time defaults libxl fills (uuid, vCPUs, memory, ...)"),
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef config_getset[] = {
    { "name", (getter)config_get_name, NULL, "c_info.name, or None", NULL },
    { "warnings", (getter)config_get_warnings, NULL,
      "list of Diagnostic: the warnings given when the config was read", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject kpy_config_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "keel.DomainConfig",
    .tp_basicsize = sizeof(kpy_config),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A domain configuration (liblight's kl_domain_config). Make one with "
              "DomainConfig.from_text / from_file / from_json / from_dict.",
    .tp_new = config_new,
    .tp_dealloc = (destructor)config_dealloc,
    .tp_methods = config_methods,
    .tp_getset = config_getset,
    .tp_richcompare = config_richcompare,
    .tp_repr = (reprfunc)config_repr,
};
