/* kd_task.c - long operations as tasks: each runs on its own thread with its own liblight
 * context; its record (state, progress, result or error) answers task.get until it is among
 * the oldest of more than KD_TASKS_KEPT finished tasks; completion is announced as a
 * "task.finished" event to the connection that started it and to "task" subscribers. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd.h"

#define KD_TASKS_KEPT 256

struct kd_task {
    struct kd_task *next;
    uint64_t id, conn_id;
    const struct kd_method *m;
    char *req_json;
    enum kd_task_state state;
    char phase[32];
    double fraction;
    char *result;                    /* JSON text of the result */
    int code;
    char msg[512];
    volatile int cancel;
    void (*then)(void *);            /* kd_task_then: run after the end, on this thread */
    void *then_arg;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kd_task *tasks;        /* newest first */
static uint64_t next_id = 1;
static __thread struct kd_task *current;

static struct kd_task *find(uint64_t id)
{
    for (struct kd_task *t = tasks; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

/* Drop the oldest finished tasks beyond the limit (lock held). */
static void trim(void)
{
    size_t n = 0;

    for (struct kd_task **pp = &tasks; *pp;) {
        struct kd_task *t = *pp;
        if (t->state != KD_TASK_RUNNING && ++n > KD_TASKS_KEPT) {
            *pp = t->next;
            free(t->req_json);
            free(t->result);
            free(t);
            continue;
        }
        pp = &t->next;
    }
}

static const char *state_name(enum kd_task_state s)
{
    return s == KD_TASK_RUNNING ? "running" : s == KD_TASK_DONE ? "done"
         : s == KD_TASK_CANCELLED ? "cancelled" : "failed";
}

static void describe(struct kd_task *t, yajl_gen g)
{
    yajl_gen_map_open(g);
    kd_gen_key_int(g, "task", (long long)t->id);
    kd_gen_key_str(g, "method", t->m->name);
    kd_gen_key_str(g, "state", state_name(t->state));
    kd_gen_key_str(g, "phase", t->phase);
    kd_gen_str(g, "progress");
    yajl_gen_double(g, t->fraction);
    if (t->state == KD_TASK_DONE && t->result) {
        kd_gen_str(g, "result");
        kd_gen_json(g, t->result);
    } else if (t->state != KD_TASK_RUNNING) {
        kd_gen_str(g, "error");
        yajl_gen_map_open(g);
        kd_gen_key_int(g, "code", t->code);
        kd_gen_key_str(g, "message", t->msg);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
}

static void finish(struct kd_task *t, int rc, struct kd_call *c, kd_out *o)
{
    kd_out *ev = kd_out_new();

    kd_note_change();                /* before task.get can see the end (kd_server.c) */
    pthread_mutex_lock(&lock);
    if (rc == 0) {
        t->result = strdup(kd_out_text(o, NULL));
        t->state = KD_TASK_DONE;
        t->fraction = 1.0;
    } else {
        t->code = c->code;
        snprintf(t->msg, sizeof(t->msg), "%s", c->msg);
        t->state = c->code == KD_CANCELLED ? KD_TASK_CANCELLED : KD_TASK_FAILED;
    }
    snprintf(t->phase, sizeof(t->phase), "finished");
    if (ev) {
        yajl_gen g = kd_out_gen(ev);
        yajl_gen_map_open(g);
        kd_gen_key_str(g, "event", "task.finished");
        kd_gen_str(g, "task");
        describe(t, g);
        yajl_gen_map_close(g);
    }
    trim();
    pthread_mutex_unlock(&lock);
    if (ev)
        kd_event_post("task", kd_out_text(ev, NULL), t->conn_id);
    kd_out_free(ev);
}

static void *task_main(void *arg)
{
    struct kd_task *t = arg;
    struct kd_batch b;
    struct kd_call c = { .conn_id = t->conn_id };
    kd_out *o = kd_out_new();
    void (*then)(void *);
    void *then_arg;
    char why[200];
    int rc = -ENOMEM;

    current = t;
    if (!o || kd_req_parse(t->req_json, strlen(t->req_json), &b, why, sizeof(why)) != 0) {
        c.code = KD_INTERNAL_ERROR;
        snprintf(c.msg, sizeof(c.msg), "task request: %s", o ? why : "out of memory");
    } else {
        c.req = &b.reqs[0];
        c.g = kd_out_gen(o);
        rc = t->m->fn(&c);
        if (rc < 0 && !c.code)
            kd_fail(&c, KD_INTERNAL_ERROR, "%s failed", t->m->name);
        kd_batch_free(&b);
    }
    then = t->then;                  /* t may be trimmed once finished: taken before */
    then_arg = t->then_arg;
    finish(t, rc, &c, o);
    kd_out_free(o);
    current = NULL;
    if (then)
        then(then_arg);
    kd_ctx_release();
    return NULL;
}

int kd_task_then(void (*fn)(void *), void *arg)
{
    if (!current)
        return -1;
    current->then = fn;
    current->then_arg = arg;
    return 0;
}

uint64_t kd_task_start(const struct kd_method *m, const char *req_json, uint64_t conn_id,
                       char *why, size_t whylen)
{
    struct kd_task *t = calloc(1, sizeof(*t));
    pthread_attr_t a;
    pthread_t th;
    uint64_t id;

    if (!t || !(t->req_json = strdup(req_json))) {
        free(t);
        snprintf(why, whylen, "out of memory");
        return 0;
    }
    t->m = m;
    t->conn_id = conn_id;
    t->state = KD_TASK_RUNNING;
    snprintf(t->phase, sizeof(t->phase), "started");
    pthread_mutex_lock(&lock);
    t->id = id = next_id++;
    t->next = tasks;
    tasks = t;
    pthread_mutex_unlock(&lock);
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &a, task_main, t) != 0) {
        pthread_mutex_lock(&lock);
        t->state = KD_TASK_FAILED;
        t->code = KD_INTERNAL_ERROR;
        snprintf(t->msg, sizeof(t->msg), "cannot start a thread");
        pthread_mutex_unlock(&lock);
        snprintf(why, whylen, "cannot start a thread for the task");
        id = 0;
    }
    pthread_attr_destroy(&a);
    return id;
}

void kd_task_progress(const char *what, double fraction)
{
    if (!current)
        return;
    pthread_mutex_lock(&lock);
    snprintf(current->phase, sizeof(current->phase), "%s", what);
    current->fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    pthread_mutex_unlock(&lock);
}

volatile int *kd_task_cancel_flag(void)
{
    return current ? &current->cancel : NULL;
}

uint64_t kd_task_current_id(void)
{
    return current ? current->id : 0;
}

int kd_task_describe(uint64_t id, yajl_gen g)
{
    struct kd_task *t;
    int rc = -ENOENT;

    pthread_mutex_lock(&lock);
    if ((t = find(id))) {
        describe(t, g);
        rc = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void kd_task_list(yajl_gen g)
{
    pthread_mutex_lock(&lock);
    yajl_gen_array_open(g);
    for (struct kd_task *t = tasks; t; t = t->next)
        describe(t, g);
    yajl_gen_array_close(g);
    pthread_mutex_unlock(&lock);
}

int kd_task_cancel(uint64_t id)
{
    struct kd_task *t;
    int rc = -ENOENT;

    pthread_mutex_lock(&lock);
    if ((t = find(id)) && t->state == KD_TASK_RUNNING) {
        t->cancel = 1;
        rc = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}
