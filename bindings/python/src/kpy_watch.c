/* kpy_watch.c - keel.DeathWatch: liblight's libevent death watch (kl_ev_death_watch) on a
 * private event_base. wait() runs the loop with the GIL released and the context's lock held,
 * in slices of at most 200 ms (signals are checked between them), and returns the domains that
 * shut down (with the reason) or disappeared (reason None) since the previous call. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "kpy.h"

#include <structmember.h> /* after Python.h */

#define SLICE_MS 200
#define PENDING_MAX 4096

typedef struct kpy_watch {
    PyObject_HEAD
    kpy_ctx *owner;
    struct event_base *base;
    struct event *slice;
    kl_ev *ev;
    struct { uint32_t domid; int reason; } pending[PENDING_MAX];
    int npending, dropped;
} kpy_watch;

static void on_death(kl_ctx *ctx, uint32_t domid, int reason, void *arg)
{
    kpy_watch *w = arg;

    if (w->npending == PENDING_MAX) {
        w->dropped++;
        return;
    }
    w->pending[w->npending].domid = domid;
    w->pending[w->npending].reason = reason;
    w->npending++;
}

static void on_slice(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void watch_release(kpy_watch *w)
{
    kl_ev_free(w->ev);
    w->ev = NULL;
    if (w->slice)
        event_free(w->slice);
    w->slice = NULL;
    if (w->base)
        event_base_free(w->base);
    w->base = NULL;
}

static void watch_dealloc(kpy_watch *w)
{
    if (w->owner && kpy_lock_mine(w->owner->lock)) {
        /* dropped inside a callback of a call on its context: that call is not this loop
         * (the loop runs no Python code), so the lock this thread holds already suffices */
        watch_release(w);
    } else if (w->owner) { /* kl_ev_free runs under the context's lock: the loop may be in use */
        Py_BEGIN_ALLOW_THREADS
        kpy_lock_acquire(w->owner->lock);
        watch_release(w);
        kpy_lock_release(w->owner->lock);
        Py_END_ALLOW_THREADS
    }
    watch_release(w);
    Py_XDECREF(w->owner);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

PyObject *kpy_ctx_watch_deaths(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", NULL };
    PyObject *dom = Py_None;
    uint32_t domid = KL_ALL_DOMAINS;
    char err[KPY_ERRLEN];
    kpy_watch *w;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:watch_deaths", kwl, &dom) ||
        (dom != Py_None && kpy_domid(self, dom, &domid) < 0))
        return NULL;
    if (!self->lock)
        return kpy_raise(-EBADF, "the context is closed");
    if (!(w = PyObject_New(kpy_watch, &kpy_watch_type)))
        return NULL;
    w->owner = (kpy_ctx *)Py_NewRef(self);
    w->ev = NULL;
    w->npending = w->dropped = 0;
    w->slice = NULL;
    if (!(w->base = event_base_new()) || !(w->slice = evtimer_new(w->base, on_slice, NULL))) {
        Py_DECREF(w);
        return kpy_raise(-ENOMEM, "cannot make an event loop for the death watch");
    }
    KPY_CALL(self, err, rc = kl_ev_death_watch(self->ctx, w->base, domid, on_death, w, &w->ev));
    if (rc < 0) {
        Py_DECREF(w);
        return kpy_raise(rc, err);
    }
    return (PyObject *)w;
}

/* One slice of the loop; 0, or the negative errno. */
static int run_slice(kpy_watch *w, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    int rc;

    if (!w->base)
        return -EBADF;
    if (evtimer_add(w->slice, &tv) < 0)
        return -ENOMEM;
    rc = event_base_loop(w->base, EVLOOP_ONCE);
    evtimer_del(w->slice);
    return rc < 0 ? -EIO : 0;
}

static PyObject *take_pending(kpy_watch *w)
{
    PyObject *l = PyList_New(w->npending);

    for (int i = 0; l && i < w->npending; i++) {
        PyObject *t = w->pending[i].reason < 0
            ? Py_BuildValue("(kO)", (unsigned long)w->pending[i].domid, Py_None)
            : Py_BuildValue("(ki)", (unsigned long)w->pending[i].domid, w->pending[i].reason);
        if (!t)
            Py_CLEAR(l);
        else
            PyList_SET_ITEM(l, i, t);
    }
    if (l)
        w->npending = 0;
    return l;
}

static PyObject *watch_wait(kpy_watch *w, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "timeout", NULL };
    struct timespec t0, t1;
    PyObject *to = NULL;
    char err[KPY_ERRLEN];
    int ms, rc = 0;
    kpy_ctx *self = w->owner;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:wait", kwl, &to) || kpy_timeout_ms(to, &ms) < 0)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (w->npending == 0) {
        long long spent, left;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        spent = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        left = ms < 0 ? SLICE_MS : ms - spent;
        if (left <= 0 && spent > 0)
            break;
        KPY_LOCKED(self, err, rc = run_slice(w, (int)(left > SLICE_MS ? SLICE_MS : left)));
        if (rc < 0)
            return kpy_raise(rc, rc != -EBADF ? "the death watch's event loop failed"
                                 : w->base ? err : "the death watch is closed");
        if (PyErr_CheckSignals() < 0)
            return NULL;
        if (ms == 0)
            break;
    }
    return take_pending(w);
}

static PyObject *watch_close(kpy_watch *w, PyObject *unused)
{
    if (kpy_lock_mine(w->owner->lock)) {
        watch_release(w); /* as in watch_dealloc */
        Py_RETURN_NONE;
    }
    Py_BEGIN_ALLOW_THREADS
    kpy_lock_acquire(w->owner->lock);
    watch_release(w);
    kpy_lock_release(w->owner->lock);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef watch_methods[] = {
    { "wait", (PyCFunction)(void (*)(void))watch_wait, METH_VARARGS | METH_KEYWORDS,
      "wait(timeout=None) -> [(domid, reason or None)]: block until at least one watched domain "
      "has shut down (reason SHUTDOWN_*) or disappeared (None), or until timeout seconds passed "
      "(then []); timeout=0 only collects what is pending" },
    { "close", (PyCFunction)watch_close, METH_NOARGS, "close(): stop watching" },
    { NULL, NULL, 0, NULL },
};

static PyMemberDef watch_members[] = {
    { "dropped", T_INT, offsetof(kpy_watch, dropped), READONLY,
      "reports lost because more than 4096 were pending (wait() was not called for long)" },
    { NULL, 0, 0, 0, NULL },
};

PyTypeObject kpy_watch_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "keel.DeathWatch",
    .tp_basicsize = sizeof(kpy_watch),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Domains that shut down or disappear; made by Context.watch_deaths(dom=None).",
    .tp_dealloc = (destructor)watch_dealloc,
    .tp_methods = watch_methods,
    .tp_members = watch_members,
};
