/* kxs.h - a small reusable client of the store daemon (keel-stored, xenstore wire protocol) for
 * Keel's daemons: synchronous requests matched by request id, watches whose events are queued
 * while a reply is awaited, a pollable file descriptor, transactions. Every call returns 0 (or a
 * count) on success and a negative errno on failure; the store's error names (ENOENT, EACCES,
 * EAGAIN for a transaction conflict, ...) come back as their errno. One handle serves one thread.
 *
 * Event loop use: poll kxs_fd() for POLLIN, call kxs_pump(), then take events with
 * kxs_next_event() until it returns 0. Requests may be made at any time; events that arrive
 * meanwhile are queued, so always drain the queue after requests too (kxs_pending()). */
#ifndef KEEL_KXS_H
#define KEEL_KXS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define KXS_PAYLOAD_MAX 4096u

enum kxs_type {
    KXS_DIRECTORY = 1, KXS_READ = 2, KXS_GET_PERMS = 3, KXS_WATCH = 4, KXS_UNWATCH = 5,
    KXS_TX_START = 6, KXS_TX_END = 7, KXS_WRITE = 11, KXS_MKDIR = 12, KXS_RM = 13,
    KXS_SET_PERMS = 14, KXS_WATCH_EVENT = 15, KXS_ERROR = 16,
};

typedef struct kxs kxs;

/* Connect to <rundir>/xenstored/socket; rundir NULL: $KEEL_RUNDIR, else /run/keel.
 * $XENSTORED_PATH, when set, names the socket instead (as the stock clients do). */
int kxs_open(kxs **out, const char *rundir);
/* Connect to a socket given by its path. */
int kxs_open_path(kxs **out, const char *sockpath);
/* A handle over an already connected stream socket (tests, fuzzing); kxs_close closes fd. */
int kxs_open_fd(kxs **out, int fd);
void kxs_close(kxs *x);
int kxs_fd(const kxs *x);
/* Whether the connection was lost (the store closed it or went away): every later request
 * fails; a client that wants to go on opens a new handle (and registers its watches again). */
int kxs_dead(const kxs *x);
/* The message of the last failed request: what was asked (type and path) and what went wrong
 * (the store's error name, a timeout, the lost connection); "no error" before any failure. */
const char *kxs_error(const kxs *x);
/* Reply timeout of the synchronous calls (default 10000 ms). */
void kxs_set_timeout(kxs *x, int ms);

/* The raw request: payload of len bytes; *out (NUL-terminated, caller frees) and *outlen. */
int kxs_request(kxs *x, uint32_t type, uint32_t tx, const void *payload, size_t len,
                char **out, size_t *outlen);

/* READ: *val is NUL-terminated (caller frees); len may be NULL. */
int kxs_read(kxs *x, uint32_t tx, const char *path, char **val, size_t *len);
/* READ of a decimal unsigned number no larger than max (-EINVAL for anything else). */
int kxs_read_u64(kxs *x, uint32_t tx, const char *path, uint64_t max, uint64_t *v);
int kxs_write(kxs *x, uint32_t tx, const char *path, const char *val);
int kxs_writef(kxs *x, uint32_t tx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int kxs_vwritef(kxs *x, uint32_t tx, const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
int kxs_mkdir(kxs *x, uint32_t tx, const char *path);
int kxs_rm(kxs *x, uint32_t tx, const char *path);
/* DIRECTORY: *names is one allocation (free(*names)) holding *n pointers then the strings. */
int kxs_directory(kxs *x, uint32_t tx, const char *path, char ***names, unsigned *n);
/* SET_PERMS with perms like "n0", "r5". */
int kxs_set_perms(kxs *x, uint32_t tx, const char *path, const char *const *perms, unsigned n);

/* One request of a pipelined batch (kxs_batch): type and payload as for kxs_request; out and
 * outlen (either may be NULL) receive the reply as there; rc is set to 0 or a negative errno. */
struct kxs_req {
    uint32_t type;
    const void *payload;
    size_t len;
    char **out;
    size_t *outlen;
    int rc;
};
/* Pipelined requests (legal on the xenstore wire: replies carry the request id): every request
 * of reqs is sent, in order, before the replies are read, so n requests cost one round trip
 * rather than n. The store applies them in order, as n kxs_request calls would; a failing one
 * does not stop those behind it (in a transaction, abort it on a failure). Returns 0 when all
 * succeeded, else the first failure's rc (kxs_error names that request); -E2BIG before anything
 * is sent when a payload is too long. */
int kxs_batch(kxs *x, uint32_t tx, struct kxs_req *reqs, unsigned n);

int kxs_watch(kxs *x, const char *path, const char *token);
int kxs_unwatch(kxs *x, const char *path, const char *token);

int kxs_tx_start(kxs *x, uint32_t *tx);
/* commit != 0: commit (-EAGAIN on a conflict: retry the whole transaction); 0: abort. */
int kxs_tx_end(kxs *x, uint32_t tx, int commit);

/* Read whatever the socket holds without blocking and queue the watch events in it. Returns 0,
 * or a negative errno when the connection is lost or the stream is malformed. */
int kxs_pump(kxs *x);
/* Whether events are queued. */
int kxs_pending(const kxs *x);
/* Take the oldest queued event: 1 and *path, *token (one allocation: free(*path) only), or 0. */
int kxs_next_event(kxs *x, char **path, char **token);

/* The one xenstore error table: the wire name of an errno value ("EINVAL" for one without a
 * name), and the errno value of a wire name of at most len bytes (0 for an unknown name). */
const char *kxs_errname(int err);
int kxs_errnum(const char *name, size_t len);

#endif
