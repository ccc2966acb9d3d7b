/* kd.h - keeld internals: the JSON-RPC request codec (kd_req.c), reply building (kd_reply.c),
 * methods (kd_methods.c), tasks (kd_task.c), the event watcher (kd_watch.c) and the server
 * (kd_server.c: listeners, connections, limits, dispatch). */
#ifndef KEEL_KD_H
#define KEEL_KD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* ---- limits ---- */
#define KD_MAX_DEPTH 32              /* nesting of a request */
#define KD_MAX_BATCH 64              /* requests in one batch */
#define KD_MAX_METHOD 64             /* bytes of a method name */

/* JSON-RPC 2.0 error codes, and Keel's in the server-error range. */
enum kd_code {
    KD_PARSE_ERROR = -32700, KD_INVALID_REQUEST = -32600, KD_METHOD_NOT_FOUND = -32601,
    KD_INVALID_PARAMS = -32602, KD_INTERNAL_ERROR = -32603,
    KD_NO_SUCH_DOMAIN = -32000, KD_EXISTS = -32001, KD_BUSY = -32002, KD_HYPERVISOR = -32003,
    KD_CONFIG = -32004, KD_NO_SUCH_TASK = -32005, KD_LIMIT = -32006, KD_DENIED = -32007,
    KD_CANCELLED = -32008,
};

/* ---- one parsed request (kd_req.c) ---- */
struct kd_req {
    yajl_val self;                   /* the request object itself */
    char method[KD_MAX_METHOD + 1];
    yajl_val params;                 /* object, array or NULL; points into the parsed tree */
    yajl_val id;                     /* string, number or null node; NULL: a notification */
    int code;                        /* 0, or the error this element gets (invalid request) */
    char why[160];
};
struct kd_batch {
    yajl_val tree;                   /* owns everything the requests point into */
    struct kd_req *reqs;
    size_t n;
    bool is_batch;                   /* the message was an array */
};
/* Parse one message (not necessarily NUL-terminated). 0 with *b filled; or a JSON-RPC error
 * code (KD_PARSE_ERROR, KD_INVALID_REQUEST) with the reason in why. Depth, batch size and
 * every member's type are checked before anything is used. */
int kd_req_parse(const char *text, size_t len, struct kd_batch *b, char *why, size_t whylen);
void kd_batch_free(struct kd_batch *b);
/* The checks of kd_req_parse on a tree already in b->tree (owned by b from now on, also on
 * failure): batch length, then each element's envelope. */
int kd_req_from_tree(struct kd_batch *b, char *why, size_t whylen);

/* Parameter access: the named member of params (an object) or NULL. */
yajl_val kd_param(yajl_val params, const char *name);
/* Typed getters: 0, or -EINVAL with why filled when the member has the wrong type (absent: dflt). */
int kd_param_str(yajl_val params, const char *name, const char **out, bool required, char *why,
                 size_t whylen);
int kd_param_int(yajl_val params, const char *name, long long min, long long max, long long dflt,
                 long long *out, char *why, size_t whylen);
int kd_param_bool(yajl_val params, const char *name, bool dflt, bool *out, char *why, size_t whylen);

/* ---- replies (kd_reply.c) ---- */
/* A reply under construction: a yajl generator whose result is one JSON text. */
typedef struct kd_out kd_out;
kd_out *kd_out_new(void);
void kd_out_free(kd_out *o);
yajl_gen kd_out_gen(kd_out *o);
/* Copy a parsed value (e.g. the request id) into the generator. */
void kd_gen_value(yajl_gen g, yajl_val v);
void kd_gen_str(yajl_gen g, const char *s);
void kd_gen_key_str(yajl_gen g, const char *k, const char *v);
void kd_gen_key_int(yajl_gen g, const char *k, long long v);
void kd_gen_key_bool(yajl_gen g, const char *k, bool v);
/* The finished text (NUL-terminated, owned by o). */
const char *kd_out_text(kd_out *o, size_t *len);
/* Whole responses: {"jsonrpc":"2.0","id":ID,"error":{code,message}} as malloc'd text. */
char *kd_error_text(yajl_val id, int code, const char *message);
/* {"jsonrpc":"2.0","id":ID,"result":RESULT} from the result's JSON text (malloc'd). */
char *kd_result_text(yajl_val id, const char *result_json);
/* Copy a JSON text (made by keeld itself) into the generator. */
void kd_gen_json(yajl_gen g, const char *json);

/* ---- methods (kd_methods.c), run on worker threads ---- */
struct kd_ctxs;                      /* per-worker liblight contexts */
struct kd_call {
    const struct kd_req *req;
    yajl_gen g;                      /* write the "result" value here on success */
    int code;                        /* on failure: the error code and message */
    char msg[512];
    uint64_t conn_id;                /* the caller's connection (tasks report to it) */
};
typedef int kd_method_fn(struct kd_call *c);
struct kd_method {
    const char *name;
    kd_method_fn *fn;
    bool task;                       /* long: runs as a task, the reply carries its id */
};
const struct kd_method *kd_method_find(const char *name);
/* Methods that change nothing (what read-only peers may call). */
bool kd_method_readonly(const char *name);
/* the long methods (kd_long.c) */
kd_method_fn kd_m_create, kd_m_shutdown, kd_m_reboot, kd_m_save, kd_m_restore, kd_m_migrate,
    kd_m_task_get, kd_m_task_list, kd_m_task_cancel;
/* the vCPU methods (kd_vcpu.c) */
kd_method_fn kd_m_set_vcpus, kd_m_vcpu_list, kd_m_vcpu_pin;
/* the block device methods (kd_block.c) */
kd_method_fn kd_m_block_attach, kd_m_block_list, kd_m_block_detach;
kd_method_fn kd_m_network_attach, kd_m_network_list, kd_m_network_detach;
kd_method_fn kd_m_vtpm_attach, kd_m_vtpm_list, kd_m_vtpm_detach;
/* Remus protection (kd_remus.c, kd_remus_recv.c); the checks run before the task starts */
kd_method_fn kd_m_protect, kd_m_unprotect, kd_m_protection, kd_m_protect_receive,
    kd_check_protect, kd_check_protect_receive;
/* A domain event {"event", "domid", "name", [key: val,] "reason"} to topic "domain" (and conn). */
void kd_remus_event(const char *event, uint32_t domid, const char *name, const char *key,
                    const char *val, const char *reason, uint64_t conn);
/* The check a task method runs on the worker before its task starts (NULL: none): a call that
 * cannot work is answered with its error at once instead of a failed task. */
kd_method_fn *kd_method_check(const char *name);
/* domain.info "format": "xml" (kd_xml.c) */
struct kl_ctx;
int kd_info_xml(struct kd_call *c, struct kl_ctx *ctx, uint32_t domid);
extern const char *kd_rundir;

/* The error model (docs/errors.md): a method returns 0, or a negative errno while the call
 * keeps the JSON-RPC code and the message of its error reply. kd_fail records them and returns
 * kd_err(c); a method that sees a helper fail returns kd_err(c) (the error already recorded). */
int kd_fail(struct kd_call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The negative errno of the error the call holds (-EIO when it holds none). */
int kd_err(const struct kd_call *c);
/* The "domain" parameter (a name or a domain id other than 0) resolved on this worker's
 * context; on failure the error reply is set and a negative value returned. */
int kd_domain_param(struct kd_call *c, uint32_t *domid);

/* ---- tasks (kd_task.c) ---- */
enum kd_task_state { KD_TASK_RUNNING, KD_TASK_DONE, KD_TASK_FAILED, KD_TASK_CANCELLED };
/* Start fn on a new thread for the request; the task id is returned (0 on failure). The
 * result or error is kept for task.get and announced as a "task.finished" event. */
uint64_t kd_task_start(const struct kd_method *m, const char *req_json, uint64_t conn_id,
                       char *why, size_t whylen);
/* Progress and cancel, for methods running as tasks (thread-local current task). */
void kd_task_progress(const char *what, double fraction);
volatile int *kd_task_cancel_flag(void);
/* The id of the task running on this thread (0: none). */
uint64_t kd_task_current_id(void);
/* Run fn(arg) on the calling task's own thread once its end is announced (domain.create's
 * monitor: the thread and its liblight context go on instead of a new thread and context
 * opened while the answer is still on its way). 0, or -1 outside a task. */
int kd_task_then(void (*fn)(void *), void *arg);
/* task.get / task.list / task.cancel write their results into g; -ENOENT if no such task (or,
 * for a cancel, none still running). */
int kd_task_describe(uint64_t id, yajl_gen g);
void kd_task_list(yajl_gen g);
int kd_task_cancel(uint64_t id);

/* ---- the domain.list snapshot (kd_server.c; the front answers from it, kd_front.c) ----
 * Called before and after anything that may change what domain.list shows: a state-changing
 * method, a task's end, an event (the watcher saw a change made outside keeld). Thread-safe.
 * The next frame to the client-facing process is then preceded by KD_W_INVAL. */
void kd_note_change(void);

/* ---- events (kd_server.c delivers; kd_watch.c and kd_task.c produce) ---- */
/* Queue a notification {"jsonrpc":"2.0","method":"event","params":PARAMS_JSON} for every
 * connection subscribed to topic (and, if conn_id != 0, that connection too). Thread-safe. */
void kd_event_post(const char *topic, const char *params_json, uint64_t conn_id);
/* The domain watcher: compares the domain list every interval and posts domain events. */
int kd_watch_start(const char *rundir, unsigned interval_ms);
void kd_watch_stop(void);

/* ---- the per-thread liblight context ---- */
struct kl_ctx;
struct kl_ctx *kd_ctx(void);         /* opened on first use in each thread; NULL if no host */
void kd_ctx_release(void);           /* at thread exit */

#endif
