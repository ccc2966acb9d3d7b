/* kpy.h - internal declarations of the keel._keel extension module (CPython over liblight):
 * the Context, DomainConfig, DomainInfo and DeathWatch types, error raising and the macro that
 * runs a liblight call with the GIL released and the context's lock held. */
#ifndef KEEL_KPY_H
#define KEEL_KPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>

#include <keel/kl_light.h>

#define KPY_ERRLEN 512

/* kpy_lock.c: a first-come, first-served lock */
typedef struct kpy_lock kpy_lock;
kpy_lock *kpy_lock_new(void);
void kpy_lock_free(kpy_lock *l);
void kpy_lock_acquire(kpy_lock *l);
void kpy_lock_release(kpy_lock *l);
int kpy_lock_mine(kpy_lock *l); /* held by the calling thread */

/* A liblight context. kl_ctx is single-threaded, so every call on it takes lock (acquired
 * with the GIL released, so a blocking call never stalls other Python threads). */
typedef struct kpy_ctx {
    PyObject_HEAD
    kl_ctx *ctx;
    kpy_lock *lock;
    PyObject *rundir; /* str, set when opened */
} kpy_ctx;

typedef struct kpy_config {
    PyObject_HEAD
    kl_domain_config dc;
    PyObject *warnings; /* list of Diagnostic */
} kpy_config;

extern PyObject *kpy_Error, *kpy_ConfigError;
extern PyTypeObject kpy_ctx_type, kpy_config_type, kpy_watch_type;
extern PyTypeObject *kpy_dominfo_type, *kpy_diag_type;

/* Run STMT (which sets the int rc) on self->ctx with the GIL released and the context's lock
 * held. A closed context gives rc = -EBADF and a message in err (char[KPY_ERRLEN]); a call
 * from a callback running inside a call on the same context gives -EDEADLK. */
#define KPY_LOCKED(self, err, STMT)                                                \
    do {                                                                           \
        if (kpy_lock_mine((self)->lock)) {                                         \
            rc = -EDEADLK;                                                         \
            snprintf((err), KPY_ERRLEN, "a callback called a method of the "       \
                     "Context whose call is running it");                          \
            break;                                                                 \
        }                                                                          \
        Py_BEGIN_ALLOW_THREADS                                                     \
        kpy_lock_acquire((self)->lock);                                          \
        if (!(self)->ctx) {                                                        \
            rc = -EBADF;                                                           \
            snprintf((err), KPY_ERRLEN, "the context is closed");                  \
        } else {                                                                   \
            STMT;                                                                  \
        }                                                                          \
        kpy_lock_release((self)->lock);                                            \
        Py_END_ALLOW_THREADS                                                       \
    } while (0)
/* The same for a liblight call: on rc < 0, err gets the context's message. liblight leaves
 * the message as it was when some failure paths do not set one, so the message is compared
 * with the one before the call: unchanged, it is not this call's, and err becomes
 * "domain N: strerror" (KPY_CALL_DOM) or strerror(-rc). */
#define KPY_CALL_DOM(self, err, domid, STMT)                                       \
    KPY_LOCKED(self, err, char kpy_before[KPY_ERRLEN];                             \
               snprintf(kpy_before, KPY_ERRLEN, "%s", kl_ctx_error((self)->ctx));  \
               STMT;                                                               \
               if (rc < 0) kpy_copy_error((self)->ctx, rc, (err), kpy_before, (domid)))
#define KPY_CALL(self, err, STMT) KPY_CALL_DOM(self, err, KPY_NO_DOMID, STMT)
#define KPY_NO_DOMID UINT32_MAX

/* kpy_error.c */
void kpy_copy_error(kl_ctx *ctx, int rc, char *err, const char *before, uint32_t domid);
PyObject *kpy_raise(int rc, const char *msg);
/* When err is only strerror(-rc), make it "what: strerror". */
void kpy_err_about(char *err, int rc, const char *what);
PyObject *kpy_raise_diag(int rc, const kl_diag *d, const char *fallback);
PyObject *kpy_diag_list(const kl_diag *d, enum kl_severity only);
int kpy_error_init(PyObject *m);

/* kpy_info.c */
PyObject *kpy_dominfo_new(const kl_dominfo *i);
int kpy_info_init(PyObject *m);

/* kpy_config.c */
PyObject *kpy_config_wrap(kl_domain_config *dc); /* takes the content of dc */
int kpy_config_from_object(PyObject *o, kl_domain_config *out); /* a copy; -1 + exception */

/* kpy_ctx.c: argument helpers shared by the method files */
int kpy_domid(kpy_ctx *self, PyObject *o, uint32_t *domid);
int kpy_timeout_ms(PyObject *o, int *ms);
PyObject *kpy_path_str(PyObject *o); /* str from str/bytes/PathLike, new reference */

/* kpy_domain.c: lifecycle methods of Context */
PyObject *kpy_ctx_create(kpy_ctx *self, PyObject *args, PyObject *kw);
PyObject *kpy_ctx_list(kpy_ctx *self, PyObject *unused);
PyObject *kpy_ctx_info(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_domid(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_name(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_destroy(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_pause(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_unpause(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_rename(kpy_ctx *self, PyObject *args);
PyObject *kpy_ctx_get_config(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_set_memory_max(kpy_ctx *self, PyObject *args);
PyObject *kpy_ctx_set_memory_target(kpy_ctx *self, PyObject *args);
PyObject *kpy_ctx_memory_target(kpy_ctx *self, PyObject *dom);

/* kpy_wait.c: shutdown, reboot, waiting */
PyObject *kpy_ctx_shutdown(kpy_ctx *self, PyObject *args, PyObject *kw);
PyObject *kpy_ctx_reboot(kpy_ctx *self, PyObject *args, PyObject *kw);
PyObject *kpy_ctx_wait_shutdown(kpy_ctx *self, PyObject *args, PyObject *kw);
PyObject *kpy_ctx_wait_gone(kpy_ctx *self, PyObject *args, PyObject *kw);
PyObject *kpy_ctx_handle_shutdown(kpy_ctx *self, PyObject *dom);

/* kpy_save.c */
PyObject *kpy_ctx_save(kpy_ctx *self, PyObject *args, PyObject *kw);
PyObject *kpy_ctx_restore(kpy_ctx *self, PyObject *args, PyObject *kw);

/* kpy_store.c: store and console */
PyObject *kpy_ctx_store_read(kpy_ctx *self, PyObject *path);
PyObject *kpy_ctx_store_write(kpy_ctx *self, PyObject *args);
PyObject *kpy_ctx_store_rm(kpy_ctx *self, PyObject *path);
PyObject *kpy_ctx_console_read(kpy_ctx *self, PyObject *args, PyObject *kw);

/* kpy_block.c: PV block devices */
PyObject *kpy_ctx_block_attach(kpy_ctx *self, PyObject *args, PyObject *kw);
PyObject *kpy_ctx_block_list(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_block_detach(kpy_ctx *self, PyObject *args, PyObject *kw);
/* kpy_net.c: PV network devices */
PyObject *kpy_ctx_network_attach(kpy_ctx *self, PyObject *args, PyObject *kw);
PyObject *kpy_ctx_network_list(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_network_detach(kpy_ctx *self, PyObject *args, PyObject *kw);
/* kpy_vtpm.c: vTPMs */
PyObject *kpy_ctx_vtpm_attach(kpy_ctx *self, PyObject *args, PyObject *kw);
PyObject *kpy_ctx_vtpm_list(kpy_ctx *self, PyObject *dom);
PyObject *kpy_ctx_vtpm_detach(kpy_ctx *self, PyObject *args, PyObject *kw);

/* kpy_watch.c */
PyObject *kpy_ctx_watch_deaths(kpy_ctx *self, PyObject *args, PyObject *kw);

#endif
