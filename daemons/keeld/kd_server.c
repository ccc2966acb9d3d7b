/* kd_server.c - keeld's privileged part. It opens the listening sockets (the Unix socket; TCP
 * with --listen), then starts the client-facing process (kd_front.c: keeld itself, executed
 * again with --front, which confines itself: kd_confine.c) with those sockets and one end of a
 * socketpair, and keeps what needs privilege: the liblight contexts (the core accepts only its
 * own uid), the pool of worker threads, tasks, the domain watcher. From the socketpair it takes
 * typed requests (kd_wire.c: decoded and validated again, the role checked against the method),
 * runs them on the workers (quick ones on the loop), and sends the replies and events back.
 * When the client-facing process dies (a forbidden system call kills it; a malformed message
 * makes this side kill it) it is logged and a new one started; domains and tasks go on. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "kd_server.h"
#include "kd_wire.h"
#include "klog.h"
#include "ksock.h"

extern char **environ;

/* the channel's backlog toward the client-facing process beyond which it counts as stuck */
#define KD_CHAN_BACKLOG (256u << 20)

struct job {
    struct job *next;
    uint64_t conn_id;
    struct kd_batch batch;
    char *text;                      /* result: what to send (NULL: nothing) */
    unsigned topic;                  /* event jobs: the topic (0: a reply) */
    char *snap;                      /* a domain.list's result, for the front's snapshot */
    uint64_t snap_seq;               /* change_seq when that list started */
};

static struct kd_opts opts;
static struct event_base *base;

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static struct job *todo, *todo_tail, *done, *done_tail;
static struct event *done_ev;
static pthread_t *workers;
static volatile int quitting;

/* the client-facing process */
static struct front {
    pid_t pid;
    struct bufferevent *chan;
    bool serving;                    /* said hello: confined and serving */
    bool ever_served;                /* some front did (otherwise keeld failed to start) */
    unsigned gen;                    /* generation: its connection ids start at gen << 40 */
    struct timespec started;
    struct event *respawn;
    int status;                      /* its wait status once reaped, else -1 */
    int exe_fd, unix_fd, tcp_fd;
    char pidfile[4300];
} fr = { .status = -1, .exe_fd = -1, .unix_fd = -1, .tcp_fd = -1 };
static int start_rc;                 /* the first front's failure (kd_server_run's result) */

/* The domain.list snapshot (kd_front.c answers from the last KD_W_LIST while it is younger than
 * --list-cache-ms): change_seq counts what may change the list (kd_note_change); a list's
 * result becomes a snapshot only if no change was noted from its start to its sending, and
 * the first frame sent after a change is preceded by KD_W_INVAL. So a client that received
 * the reply of its state change, or a task.finished or domain event, lists what followed it;
 * what changes outside keeld (xl) shows within --list-cache-ms. */
static uint64_t change_seq;          /* atomic */
static uint64_t inval_seq;           /* change_seq at the last KD_W_INVAL (loop only) */

void kd_note_change(void)
{
    __atomic_add_fetch(&change_seq, 1, __ATOMIC_SEQ_CST);
}

static void front_gone(const char *why);

/* ---- frames to the client-facing process (on the loop only) ---- */

static void free_text(const void *data, size_t len, void *extra)
{
    (void)len; (void)extra;
    free((void *)data);
}

/* A reply, event or snapshot frame; text (malloc'd, may be NULL) is taken over and sent with a
 * newline (a snapshot without; a long one by reference, not copied). A KD_W_INVAL goes first
 * when a change was noted since the last one. */
static void send_frame(uint16_t type, uint64_t conn, unsigned topic, char *text)
{
    struct kd_wire_hdr h = { 0, type, 0, (uint8_t)topic, conn };
    size_t n = text ? strlen(text) : 0;
    uint64_t seq = __atomic_load_n(&change_seq, __ATOMIC_SEQ_CST);
    struct evbuffer *out;

    if (!fr.chan || !fr.serving) {
        free(text);
        return;
    }
    out = bufferevent_get_output(fr.chan);
    if (evbuffer_get_length(out) > KD_CHAN_BACKLOG) {
        free(text);
        front_gone("does not read the replies (the channel's backlog is full)");
        return;
    }
    if (seq != inval_seq) {
        struct kd_wire_hdr inv = { 0, KD_W_INVAL, 0, 0, 0 };
        evbuffer_add(out, &inv, sizeof(inv));
        inval_seq = seq;
    }
    if (type == KD_W_LIST) {
        h.len = (uint32_t)n;
        evbuffer_add(out, &h, sizeof(h));
        evbuffer_add(out, text, n);
        free(text);
        return;
    }
    h.len = n ? (uint32_t)n + 1 : 0;
    evbuffer_add(out, &h, sizeof(h));
    if (n >= 4096 && evbuffer_add_reference(out, text, n, free_text, NULL) == 0) {
        evbuffer_add(out, "\n", 1);
        return;
    }
    if (n) {
        evbuffer_add(out, text, n);
        evbuffer_add(out, "\n", 1);
    }
    free(text);
}

/* ---- the queues between the loop and the workers ---- */

static void push(struct job **head, struct job **tail, struct job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static struct job *pop(struct job **head, struct job **tail)
{
    struct job *j = *head;

    if (j && !(*head = j->next))
        *tail = NULL;
    return j;
}

void kd_event_post(const char *topic, const char *params_json, uint64_t conn_id)
{
    struct job *j = calloc(1, sizeof(*j));
    size_t n;

    kd_note_change();                /* an event says something changed */
    if (!j)
        return;
    n = strlen(params_json) + 64;
    if (!(j->text = malloc(n))) {
        free(j);
        return;
    }
    snprintf(j->text, n, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":%s}", params_json);
    j->topic = !strcmp(topic, "domain") ? KD_TOPIC_DOMAIN : KD_TOPIC_TASK;
    j->conn_id = conn_id;
    pthread_mutex_lock(&qlock);
    push(&done, &done_tail, j);
    pthread_mutex_unlock(&qlock);
    event_active(done_ev, EV_READ, 0);
}

/* ---- workers ---- */

/* One element: its response object as text, or NULL for a notification; with snap, a
 * domain.list's result text also goes there (malloc'd). */
static char *run_one(const struct kd_req *r, uint64_t conn_id, char **snap)
{
    struct kd_call c = { .req = r, .conn_id = conn_id };
    const struct kd_method *m;
    kd_out *res;
    char *t;
    int rc;

    if (r->code)                     /* an unknown method in a notification: no answer */
        return r->id || r->code != KD_METHOD_NOT_FOUND ? kd_error_text(r->id, r->code, r->why) : NULL;
    if (!(m = kd_method_find(r->method))) {
        char msg[128];
        snprintf(msg, sizeof(msg), "no method '%s'", r->method);
        return r->id ? kd_error_text(r->id, KD_METHOD_NOT_FOUND, msg) : NULL;
    }
    if (!(res = kd_out_new()))
        return r->id ? kd_error_text(r->id, KD_INTERNAL_ERROR, "out of memory") : NULL;
    if (m->task && kd_method_check(m->name) && (rc = kd_method_check(m->name)(&c)) < 0) {
        if (!c.code)
            kd_fail(&c, KD_INTERNAL_ERROR, "%s failed", m->name);
    } else if (m->task) {
        kd_out *req = kd_out_new();
        uint64_t tid = 0;
        if (req) {
            kd_gen_value(kd_out_gen(req), r->self);
            tid = kd_task_start(m, kd_out_text(req, NULL), conn_id, c.msg, sizeof(c.msg));
            kd_out_free(req);
        }
        yajl_gen_map_open(kd_out_gen(res));
        kd_gen_key_int(kd_out_gen(res), "task", (long long)tid);
        yajl_gen_map_close(kd_out_gen(res));
        rc = tid ? 0 : kd_fail(&c, KD_INTERNAL_ERROR, "%s", c.msg[0] ? c.msg : "no task");
    } else {
        bool changes = !kd_method_readonly(m->name);
        c.g = kd_out_gen(res);
        if (changes)
            kd_note_change();
        rc = m->fn(&c);
        if (changes)
            kd_note_change();
        if (rc < 0 && !c.code)
            kd_fail(&c, KD_INTERNAL_ERROR, "%s failed", m->name);
        else if (rc == 0 && snap && !strcmp(m->name, "domain.list"))
            *snap = strdup(kd_out_text(res, NULL));
    }
    if (!r->id) {
        kd_out_free(res);
        return NULL;
    }
    if (rc < 0) {
        kd_out_free(res);
        return kd_error_text(r->id, c.code, c.msg);
    }
    t = kd_result_text(r->id, kd_out_text(res, NULL));
    kd_out_free(res);
    return t;
}

/* A message: one request, or a batch answered by one array (nothing if all notifications). */
static char *run_message(struct job *j)
{
    size_t cap = 2, len = 1;
    char *all = NULL;

    if (!j->batch.is_batch)
        return run_one(&j->batch.reqs[0], j->conn_id,
                       opts.list_cache_ms && j->batch.reqs[0].id ? &j->snap : NULL);
    for (size_t i = 0; i < j->batch.n; i++) {
        char *t = run_one(&j->batch.reqs[i], j->conn_id, NULL), *na;
        size_t tl;
        if (!t)
            continue;
        tl = strlen(t);
        if (!(na = realloc(all, cap + tl + 2))) {
            free(t);
            break;
        }
        if (!all)
            na[0] = '[';
        all = na;
        cap += tl + 2;
        if (len > 1)
            all[len++] = ',';
        memcpy(all + len, t, tl);
        len += tl;
        free(t);
    }
    if (all) {
        all[len++] = ']';
        all[len] = 0;
    }
    return all;
}

static char *run_timed(struct job *j);

static void *worker_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct job *j;
        pthread_mutex_lock(&qlock);
        while (!todo && !quitting)
            pthread_cond_wait(&qcond, &qlock);
        j = pop(&todo, &todo_tail);
        pthread_mutex_unlock(&qlock);
        if (!j)
            break;
        j->text = run_timed(j);
        kd_batch_free(&j->batch);
        pthread_mutex_lock(&qlock);
        push(&done, &done_tail, j);
        pthread_mutex_unlock(&qlock);
        event_active(done_ev, EV_READ, 0);
    }
    kd_ctx_release();
    return NULL;
}

/* Write what the channel holds now instead of on the loop's next turn (a round trip through
 * epoll less per message each way); what the socket does not take waits for the loop. */
static void chan_flush(void)
{
    if (fr.chan)
        kd_io_flush(fr.chan);
}

/* On the loop: a finished job's frames (the snapshot first, if nothing changed meanwhile). */
static void send_job(struct job *j)
{
    if (j->snap && __atomic_load_n(&change_seq, __ATOMIC_SEQ_CST) == j->snap_seq)
        send_frame(KD_W_LIST, 0, 0, j->snap);
    else
        free(j->snap);
    j->snap = NULL;
    send_frame(j->topic ? KD_W_EVENT : KD_W_REPLY, j->conn_id, j->topic, j->text);
}

/* On the loop: deliver finished replies and events to the client-facing process. */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct job *j;

    (void)fd; (void)what; (void)arg;
    for (;;) {
        pthread_mutex_lock(&qlock);
        j = pop(&done, &done_tail);
        pthread_mutex_unlock(&qlock);
        if (!j)
            break;
        send_job(j);
        free(j);
    }
    chan_flush();
}

/* ---- quick methods on the loop ----
 * host.ping, domain.list and domain.info answer in a core call and a few store reads: handing
 * them to a worker and back costs two thread wake-ups more than the work itself (bench-keeld:
 * host.ping through a worker took 5x an echo round trip). They run on the loop while their last
 * run (anywhere) took under KD_INLINE_US, so a host whose list has grown long (many domains)
 * sends them back to the workers and the loop never stalls for long. */
#define KD_INLINE_US 1000
static const char *const quick_names[] = { "host.ping", "domain.list", "domain.info" };
static unsigned quick_last_us[3];   /* last run time of each; written by loop and workers */

static int quick_index(const char *method)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(method, quick_names[i]))
            return i;
    return -1;
}

static double mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Run a message (timing it if it is one quick method): its reply text or NULL. */
static char *run_timed(struct job *j)
{
    int q = j->batch.is_batch || j->batch.reqs[0].code ? -1 : quick_index(j->batch.reqs[0].method);
    double t0 = q >= 0 ? mono_us() : 0;
    char *t;

    j->snap_seq = __atomic_load_n(&change_seq, __ATOMIC_SEQ_CST);
    t = run_message(j);

    if (q >= 0)
        __atomic_store_n(&quick_last_us[q], (unsigned)(mono_us() - t0), __ATOMIC_RELAXED);
    return t;
}

/* Also on the loop: starting a task whose method has no check to run first (it only starts
 * the task's thread: a hand-off to a worker would cost more). */
static bool run_on_loop(const struct job *j)
{
    int q = j->batch.is_batch || j->batch.reqs[0].code ? -1 : quick_index(j->batch.reqs[0].method);
    const struct kd_method *m = j->batch.is_batch || j->batch.reqs[0].code ? NULL
                              : kd_method_find(j->batch.reqs[0].method);

    if (m && m->task && !kd_method_check(m->name))
        return true;

    return q >= 0 && __atomic_load_n(&quick_last_us[q], __ATOMIC_RELAXED) < KD_INLINE_US;
}

/* A request of one connection from the client-facing process: decoded, validated, run. */
static int handle_request(const struct kd_wire_hdr *h, const unsigned char *p)
{
    struct job *j = calloc(1, sizeof(*j));
    char why[200];
    int rc;

    if (!j) {
        send_frame(KD_W_REPLY, h->conn, 0, kd_error_text(NULL, KD_INTERNAL_ERROR, "out of memory"));
        return 0;
    }
    if ((rc = kd_wire_req_read(p, h->len, (enum kd_role)h->role, &j->batch, why, sizeof(why))) < 0) {
        free(j);
        if (rc == -EPROTO) {
            klog(KLOG_ERROR, "server", "client-facing process %d: a malformed request (%s)",
                 (int)fr.pid, why);
            return rc;
        }
        send_frame(KD_W_REPLY, h->conn, 0, kd_error_text(NULL, KD_INTERNAL_ERROR, why));
        return 0;
    }
    j->conn_id = h->conn;
    if (run_on_loop(j)) {
        j->text = run_timed(j);
        send_job(j);
        kd_batch_free(&j->batch);
        free(j);
        return 0;
    }
    pthread_mutex_lock(&qlock);
    push(&todo, &todo_tail, j);
    pthread_cond_signal(&qcond);
    pthread_mutex_unlock(&qlock);
    return 0;
}

static void write_front_pid(void)
{
    FILE *f = fopen(fr.pidfile, "we");

    if (f) {
        fprintf(f, "%d\n", (int)fr.pid);
        fclose(f);
    }
}

static void hello(void)
{
    fr.serving = true;
    klog(KLOG_INFO, "server", "client-facing process %d serves (uid %u, gid %u, seccomp)",
         (int)fr.pid, (unsigned)opts.front_uid, (unsigned)opts.front_gid);
    write_front_pid();
    if (!fr.ever_served && opts.ready_fd >= 0) {
        if (write(opts.ready_fd, "R", 1) != 1)
            klog(KLOG_WARN, "server", "readiness pipe: %s", strerror(errno));
        close(opts.ready_fd);
    }
    fr.ever_served = true;
}

static void chan_read(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    struct kd_wire_hdr h;

    (void)arg;
    while (evbuffer_copyout(in, &h, sizeof(h)) == (ev_ssize_t)sizeof(h)) {
        const unsigned char *p;
        bool ok = h.type == KD_W_HELLO ? !h.len && !fr.serving
                : h.type == KD_W_REQ && fr.serving && h.conn && h.len <= KD_WIRE_REQ_MAX(opts.max_msg);
        if (!ok) {
            front_gone("sent a message out of protocol");
            return;
        }
        if (evbuffer_get_length(in) < sizeof(h) + h.len)
            break;
        evbuffer_drain(in, sizeof(h));
        if (h.type == KD_W_HELLO) {
            hello();
            continue;
        }
        p = evbuffer_pullup(in, h.len);
        if (!p || handle_request(&h, p) < 0) {
            front_gone("sent a malformed request");
            return;
        }
        evbuffer_drain(in, h.len);
    }
    chan_flush();
}

static void chan_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev; (void)arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        front_gone(NULL);
}

/* ---- the client-facing process: start, end, restart ---- */

/* In the child of fork (the parent has threads): only system calls until exec. */
static void __attribute__((noreturn)) front_exec(int chan, char **argv)
{
    int c = fcntl(chan, F_DUPFD, 10), u = fcntl(fr.unix_fd, F_DUPFD, 10);
    int t = fr.tcp_fd >= 0 ? fcntl(fr.tcp_fd, F_DUPFD, 10) : -1;
    int e = fcntl(fr.exe_fd, F_DUPFD_CLOEXEC, 10);

    /* move everything above the target numbers first, so no dup2 clobbers a source */
    if (c < 0 || u < 0 || e < 0 || (fr.tcp_fd >= 0 && t < 0) || dup2(c, KD_FD_CHAN) < 0 ||
        dup2(u, KD_FD_UNIX) < 0 || (t >= 0 ? dup2(t, KD_FD_TCP) < 0 : close(KD_FD_TCP) < 0 &&
        errno != EBADF) || dup3(e, KD_FD_TCP + 1, O_CLOEXEC) < 0)
        _exit(120);
    if (syscall(SYS_close_range, KD_FD_TCP + 2, ~0U, 0) < 0)
        _exit(121);
    syscall(SYS_execveat, KD_FD_TCP + 1, "", argv, environ, AT_EMPTY_PATH);
    _exit(122);
}

static int front_start(void)
{
    char first[40], **argv;
    int sv[2];
    pid_t pid;

    if (!(argv = calloc((size_t)opts.argc + 3, sizeof(char *))))
        return -ENOMEM;
    fr.gen++;
    snprintf(first, sizeof(first), "--front=%llu", ((unsigned long long)fr.gen << 40) | 1);
    argv[0] = opts.argv[0];
    argv[1] = first;
    for (int i = 1; i < opts.argc; i++)
        argv[i + 1] = opts.argv[i];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        free(argv);
        return -errno;
    }
    if ((pid = fork()) == 0)
        front_exec(sv[1], argv);
    free(argv);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return -errno;
    }
    evutil_make_socket_nonblocking(sv[0]);
    fr.pid = pid;
    fr.serving = false;
    clock_gettime(CLOCK_MONOTONIC, &fr.started);
    fr.chan = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    if (!fr.chan) {
        close(sv[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fr.pid = 0;
        return -ENOMEM;
    }
    bufferevent_setcb(fr.chan, chan_read, kd_io_drained, chan_event, NULL);
    bufferevent_enable(fr.chan, EV_READ);       /* written by chan_flush (kd_io.c) */
    bufferevent_disable(fr.chan, EV_WRITE);
    return 0;
}

static void respawn_cb(evutil_socket_t fd, short what, void *arg)
{
    int rc;

    (void)fd; (void)what; (void)arg;
    if (quitting || fr.pid)
        return;
    if ((rc = front_start()) < 0) {
        struct timeval again = { 1, 0 };
        klog(KLOG_ERROR, "server", "cannot start the client-facing process: %s", strerror(-rc));
        evtimer_add(fr.respawn, &again);
    }
}

/* The client-facing process ended, or (why) is to be ended: reap it, say how it ended, and
 * start another (at once if it served for a second or more, else after a second). */
static void front_gone(const char *why)
{
    struct timespec now;
    struct timeval delay = { 0, 0 };
    int st = 0;

    if (!fr.pid)
        return;
    if (waitpid(fr.pid, &st, WNOHANG) == fr.pid)
        fr.status = st;
    if (why)
        klog(KLOG_ERROR, "server", "client-facing process %d %s: killing it", (int)fr.pid, why);
    if (fr.status == -1) {
        kill(fr.pid, SIGKILL);      /* after EOF too: a process that only closed the channel */
        while (waitpid(fr.pid, &st, 0) < 0 && errno == EINTR)
            ;
    } else {
        st = fr.status;             /* reaped by stop_front */
    }
    fr.status = -1;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
        klog(KLOG_ERROR, "server", "client-facing process %d was killed by SIGSYS: it made a "
             "system call its seccomp filter forbids", (int)fr.pid);
    else if (WIFSIGNALED(st) && !why)
        klog(quitting ? KLOG_INFO : KLOG_ERROR, "server", "client-facing process %d was killed by signal %d",
             (int)fr.pid, WTERMSIG(st));
    else if (!why)
        klog(quitting ? KLOG_INFO : KLOG_ERROR, "server", "client-facing process %d exited "
             "with status %d", (int)fr.pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    bufferevent_free(fr.chan);
    fr.chan = NULL;
    fr.pid = 0;
    unlink(fr.pidfile);
    if (quitting)
        return;
    if (!fr.ever_served) {           /* the first one never served: keeld does not start */
        klog(KLOG_ERROR, "server", "the client-facing process did not start: stopping");
        start_rc = -ECHILD;
        event_base_loopexit(base, NULL);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - fr.started.tv_sec < 2)
        delay.tv_sec = 1;
    klog(KLOG_WARN, "server", "starting a new client-facing process%s; domains and tasks are "
         "not affected", delay.tv_sec ? " in a second" : "");
    evtimer_add(fr.respawn, &delay);
}

/* ---- listeners ---- */

/* The TCP listener; a port still held by a keeld that just died is tried again for 2 s. */
static int tcp_listen(const char *addr)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss), fd, on = 1;

    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sl) < 0)
        return -EINVAL;
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    for (int i = 0; bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0; i++) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        if (errno != EADDRINUSE || i >= 20) {
            int e = errno;
            close(fd);
            return -e;
        }
        nanosleep(&ts, NULL);
    }
    if (listen(fd, 128) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int open_listeners(const struct kd_opts *o)
{
    /* the peer's credentials decide; with two groups the socket is open to all */
    if ((fr.unix_fd = ksock_listen(o->socket, o->allow_gid >= 0 && o->ro_gid >= 0 ? 0666
                                   : o->allow_gid >= 0 || o->ro_gid >= 0 ? 0660 : 0600, 128,
                                   SOCK_NONBLOCK)) < 0) {
        klog(KLOG_ERROR, "server", "%s: cannot listen: %s", o->socket, strerror(-fr.unix_fd));
        return fr.unix_fd;
    }
    if ((o->allow_gid >= 0) != (o->ro_gid >= 0) &&
        chown(o->socket, (uid_t)-1, (gid_t)(o->allow_gid >= 0 ? o->allow_gid : o->ro_gid)) < 0)
        klog(KLOG_WARN, "server", "%s: chown: %s", o->socket, strerror(errno));
    if (o->listen) {
        SSL_CTX *check = kd_tls_server_ctx(o);     /* the front loads it again; fail early */
        if (!check) {
            klog(KLOG_ERROR, "server", "cannot listen on %s (TLS): certificate/key", o->listen);
            return -EINVAL;
        }
        SSL_CTX_free(check);
        if ((fr.tcp_fd = tcp_listen(o->listen)) < 0) {
            klog(KLOG_ERROR, "server", "cannot listen on %s (TLS): %s", o->listen,
                 strerror(-fr.tcp_fd));
            return fr.tcp_fd;
        }
    }
    if (mkdir(o->empty_dir, 0755) < 0 && errno != EEXIST) {
        klog(KLOG_ERROR, "server", "%s: %s", o->empty_dir, strerror(errno));
        return -errno;
    }
    if ((fr.exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC)) < 0) {
        klog(KLOG_ERROR, "server", "/proc/self/exe: %s", strerror(errno));
        return -errno;
    }
    return 0;
}

/* At keeld's stop: SIGTERM, a second to end, then front_gone (SIGKILL if it still runs). */
static void stop_front(void)
{
    struct timespec ms10 = { 0, 10 * 1000 * 1000 };

    if (!fr.pid)
        return;
    kill(fr.pid, SIGTERM);
    for (int i = 0; i < 100 && waitpid(fr.pid, &fr.status, WNOHANG) == 0; i++)
        nanosleep(&ms10, NULL);
    front_gone(NULL);
}

int kd_server_run(const struct kd_opts *o)
{
    struct event *sigs[2];
    int rc = -1;

    opts = *o;
    snprintf(fr.pidfile, sizeof(fr.pidfile), "%s/keeld/front.pid", o->rundir);
    evthread_use_pthreads();
    if (!(base = event_base_new()))
        return -ENOMEM;
    done_ev = event_new(base, -1, EV_PERSIST | EV_READ, done_cb, NULL);
    fr.respawn = evtimer_new(base, respawn_cb, NULL);
    sigs[0] = evsignal_new(base, SIGTERM, kd_stop_cb, base);
    sigs[1] = evsignal_new(base, SIGINT, kd_stop_cb, base);
    evsignal_add(sigs[0], NULL);
    evsignal_add(sigs[1], NULL);
    if (open_listeners(o) < 0)
        goto out;
    if ((rc = front_start()) < 0) {
        klog(KLOG_ERROR, "server", "cannot start the client-facing process: %s", strerror(-rc));
        goto out;
    }
    rc = -1;
    if (!(workers = calloc(o->workers, sizeof(*workers))))
        goto out;
    for (unsigned i = 0; i < o->workers; i++)
        pthread_create(&workers[i], NULL, worker_main, NULL);
    kd_watch_start(o->rundir, o->watch_ms);
    klog(KLOG_INFO, "server", "listening on %s%s%s", o->socket, o->listen ? " and " : "",
         o->listen ? o->listen : "");
    event_base_dispatch(base);
    rc = start_rc;
    quitting = 1;
    stop_front();
    kd_watch_stop();
    pthread_mutex_lock(&qlock);
    pthread_cond_broadcast(&qcond);
    pthread_mutex_unlock(&qlock);
    for (unsigned i = 0; i < o->workers; i++)
        pthread_join(workers[i], NULL);
    free(workers);
    done_cb(-1, 0, NULL);   /* free what the workers finished last */
    kd_ctx_release();       /* the loop's own context (quick methods) */
out:
    quitting = 1;
    stop_front();
    if (fr.unix_fd >= 0)
        close(fr.unix_fd);
    if (fr.tcp_fd >= 0)
        close(fr.tcp_fd);
    if (fr.exe_fd >= 0)
        close(fr.exe_fd);
    unlink(o->socket);
    event_free(sigs[0]);
    event_free(sigs[1]);
    event_free(fr.respawn);
    event_free(done_ev);
    event_base_free(base);
    return rc;
}
