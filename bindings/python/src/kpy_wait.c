/* kpy_wait.c - Context's shutdown, reboot and waiting methods. Waits run in slices of at most
 * 200 ms with the GIL released, checking for signals between slices so that Ctrl-C interrupts a
 * long wait. */
#include <errno.h>
#include <time.h>

#include "kpy.h"

#define SLICE_MS 200

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for a shutdown (gone = 0; *reason set, -1 if the domain went away meanwhile; a domain
 * that does not exist at the start is an error when first is set) or for the domain to be
 * gone (gone = 1). timeout_ms < 0: forever. 0, or -1 with an exception set. */
static int wait_slices(kpy_ctx *self, uint32_t domid, int timeout_ms, int gone, int *reason,
                       int first)
{
    long long end = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    char err[KPY_ERRLEN];
    int rc;

    for (;;) {
        long long left = timeout_ms < 0 ? SLICE_MS : end - now_ms();
        int slice = (int)(left < 0 ? 0 : left > SLICE_MS ? SLICE_MS : left);
        if (gone)
            KPY_CALL_DOM(self, err, domid, rc = kl_domain_wait_gone(self->ctx, domid, slice));
        else
            KPY_CALL_DOM(self, err, domid, rc = kl_domain_wait_shutdown(self->ctx, domid, slice, reason));
        if (rc == -ENOENT && !gone && !first) {
            *reason = -1; /* went away while we waited */
            return 0;
        }
        first = 0;
        if (rc != -ETIMEDOUT || (timeout_ms >= 0 && now_ms() >= end)) {
            if (rc < 0 && rc == -ETIMEDOUT)
                snprintf(err, sizeof(err), "domain %u %s within %d ms", domid,
                         gone ? "still exists" : "did not shut down", timeout_ms);
            if (rc < 0)
                kpy_raise(rc, err);
            return rc < 0 ? -1 : 0;
        }
        if (PyErr_CheckSignals() < 0)
            return -1;
    }
}

static PyObject *request(kpy_ctx *self, PyObject *args, PyObject *kw, bool reboot)
{
    static char *kwl[] = { "dom", "timeout", "wait", NULL };
    PyObject *dom, *to = NULL;
    char err[KPY_ERRLEN];
    bool forced = false;
    int wait = 1, ms = 10000, rc, reason;
    uint32_t domid;

    if (!PyArg_ParseTupleAndKeywords(args, kw, reboot ? "O|Op:reboot" : "O|Op:shutdown", kwl,
                                     &dom, &to, &wait) ||
        (to && kpy_timeout_ms(to, &ms) < 0) || kpy_domid(self, dom, &domid) < 0)
        return NULL;
    if (ms < 0)
        ms = 10000; /* liblight's wait for the guest is bounded; None means xl's 10 s */
    if (reboot)
        KPY_CALL_DOM(self, err, domid, rc = kl_domain_reboot(self->ctx, domid, ms, &forced));
    else
        KPY_CALL_DOM(self, err, domid, rc = kl_domain_shutdown(self->ctx, domid, ms, &forced));
    if (rc < 0)
        return kpy_raise(rc, err);
    if (wait && wait_slices(self, domid, ms, 0, &reason, 0) < 0)
        return NULL;
    return PyBool_FromLong(forced);
}

PyObject *kpy_ctx_shutdown(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    return request(self, args, kw, false);
}

PyObject *kpy_ctx_reboot(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    return request(self, args, kw, true);
}

PyObject *kpy_ctx_wait_shutdown(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "timeout", NULL };
    PyObject *dom, *to = NULL;
    int ms, reason = -1;
    uint32_t domid;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:wait_shutdown", kwl, &dom, &to) ||
        kpy_timeout_ms(to, &ms) < 0 || kpy_domid(self, dom, &domid) < 0 ||
        wait_slices(self, domid, ms, 0, &reason, 1) < 0)
        return NULL;
    if (reason < 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(reason);
}

PyObject *kpy_ctx_wait_gone(kpy_ctx *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = { "dom", "timeout", NULL };
    PyObject *dom, *to = NULL;
    uint32_t domid;
    int ms;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:wait_gone", kwl, &dom, &to) ||
        kpy_timeout_ms(to, &ms) < 0)
        return NULL;
    if (PyLong_Check(dom)) {
        if (kpy_domid(self, dom, &domid) < 0)
            return NULL;
    } else if (kpy_domid(self, dom, &domid) < 0) {
        /* a name that no longer resolves is gone already */
        if (!PyErr_ExceptionMatches(kpy_Error))
            return NULL;
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (wait_slices(self, domid, ms, 1, NULL, 0) < 0)
        return NULL;
    Py_RETURN_NONE;
}

PyObject *kpy_ctx_handle_shutdown(kpy_ctx *self, PyObject *dom)
{
    kl_action_on_shutdown action = 0;
    uint32_t domid, new_domid = KEEL_DOMID_INVALID;
    char err[KPY_ERRLEN];
    const char *name;
    int rc;

    if (kpy_domid(self, dom, &domid) < 0)
        return NULL;
    KPY_CALL_DOM(self, err, domid, rc = kl_domain_handle_shutdown(self->ctx, domid, &new_domid, &action));
    if (rc < 0)
        return kpy_raise(rc, err);
    name = kl_action_to_xl(action);
    if (new_domid == KEEL_DOMID_INVALID)
        return Py_BuildValue("(sO)", name ? name : "unknown", Py_None);
    return Py_BuildValue("(sk)", name ? name : "unknown", (unsigned long)new_domid);
}
