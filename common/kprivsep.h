/* kprivsep.h - the mechanics of a privilege-separated daemon (keel-stored, keel-consoled): the
 * privileged part starts its confined child by fork + exec of its own binary with given
 * descriptors at fixed numbers, reads the child's fixed-size requests from a SOCK_SEQPACKET
 * socketpair, restarts it when it dies (a death within a second of its start is a quick one;
 * after KPRIV_QUICK_MAX quick deaths in a row it gives up), logs how it died (SIGSYS named as a
 * seccomp kill) and stops it on SIGTERM/SIGINT (SIGKILL after KPRIV_STOP_S). What a request
 * means stays with the daemon (its callbacks). Messages with descriptors by SCM_RIGHTS:
 * kprivsep_send, kprivsep_recv. Needs libevent (the daemons' library libkeelpriv.la). */
#ifndef KEEL_KPRIVSEP_H
#define KEEL_KPRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define KPRIV_QUICK_S    1.0     /* a death this soon after the start is a quick one */
#define KPRIV_QUICK_MAX  5       /* consecutive quick deaths before giving up */
#define KPRIV_STOP_S     5       /* SIGTERM, then SIGKILL after this */
#define KPRIV_FDS_MAX    8       /* descriptors the child starts with (from 3 on) */
#define KPRIV_FD_IS_CHAN (-2)    /* in kprivsep_cfg.fds: the socketpair's child end goes here */

struct kprivsep;

struct kprivsep_cfg {
    const char *what;            /* "request process": the child in log lines */
    const char *restart_note;    /* "(... kept; clients reconnect)": why a restart is harmless */
    char **argv;                 /* exec'd as /proc/self/exe */
    int fds[KPRIV_FDS_MAX];      /* fds[i] becomes 3 + i in the child; a -1 ends the list */
    size_t msg_size;             /* the fixed size of one request */
    bool forward_hup;            /* SIGHUP is passed on to the child (else not caught) */
    void *arg;
    /* One well-sized request; a malformed one kills the child (kprivsep_kill) instead. */
    void (*msg)(struct kprivsep *s, void *arg, const void *msg);
    void (*before_start)(void *arg);   /* optional: before each start */
    void (*gone)(void *arg);           /* optional: after the child is gone (and at the end) */
};

/* Start the child and serve until a stop signal, or until it cannot be kept alive (it died
 * before it said ready, or gave up): 0, or a negative errno (-ECHILD). */
int kprivsep_run(const struct kprivsep_cfg *cfg);

/* For the callbacks: the child's pid, its socket end, mark it ready (later deaths restart it),
 * and kill it (a request that is not ours: logged with why; SIGCHLD restarts it). */
pid_t kprivsep_child(const struct kprivsep *s);
int kprivsep_chan(const struct kprivsep *s);
void kprivsep_ready(struct kprivsep *s);
bool kprivsep_is_ready(const struct kprivsep *s);
void kprivsep_kill(struct kprivsep *s, const char *why);

/* A token bucket for the requests that cost the privileged part: burst at once, then rate per
 * second. */
struct kprivsep_rate {
    double tokens, filled;
    unsigned burst, rate;
};
void kprivsep_rate_init(struct kprivsep_rate *r, unsigned burst, unsigned rate);
bool kprivsep_rate_take(struct kprivsep_rate *r);

/* argv for the child: ours plus --privsep-child=UID:GID:PPID:EXC (EXC 1 when exc >= 0) written
 * into buf. free() the array (not its strings). NULL when out of memory. */
char **kprivsep_child_argv(int argc, char **argv, uid_t uid, gid_t gid, int exc, char *buf,
                           size_t size);

/* One message of len bytes plus nfds (at most KPRIV_FDS_MAX) descriptors; EINTR retried, no
 * SIGPIPE. 0 or a negative errno. */
int kprivsep_send(int sock, const void *msg, size_t len, const int *fds, int nfds);

/* One message into msg (len bytes at most) and up to maxfds descriptors into fds[] (close-on-
 * exec; -1 for each missing, extra ones closed); *nfds the count received. Returns the
 * message's length (0: the peer closed), or a negative errno. */
ssize_t kprivsep_recv(int sock, void *msg, size_t len, int *fds, int maxfds, int *nfds);

#endif
