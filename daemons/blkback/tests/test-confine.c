/* test-confine.c - the keel-blkback worker's confinement (bb_confine.c), one forked child per
 * check: after bb_confine_child only stdio is open, RLIMIT_NOFILE is capped and no_new_privs is
 * set; under the worker's filter the steady state's calls work (read/write on its fds, anonymous
 * and shared mappings, munmap, poll, fstat of a descriptor, clock_gettime, an io_uring_enter)
 * and everything else kills the process with SIGSYS: opening a file, creating a socket,
 * executing a program, an executable mapping, fork, kill of another process, ptrace, a
 * newfstatat of a path. A qdisk worker's filter lets it signal and reap its qemu-nbd only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bb_confine.h"
#include "tap.h"

enum { EXIT_OK = 0, EXIT_BAD = 3 };

static struct io_uring g_ring;
static int g_pipe[2];

/* Run fn in a child set up as a worker (descriptors dropped, then a pipe and an io_uring of
 * its own, as the worker's sockets and ring) and, if filter, under the worker's filter; return
 * its wait status. */
static int run_f(int (*fn)(void), int nbd, pid_t partner, int filter)
{
    pid_t pid = fork();
    int status = 0;

    if (pid == 0) {
        char err[200];
        if (bb_confine_child() < 0 || pipe(g_pipe) < 0 || io_uring_queue_init(4, &g_ring, 0) < 0)
            _exit(EXIT_BAD);
        if (filter && bb_confine_filter(nbd, partner, err, sizeof(err)) < 0)
            _exit(EXIT_BAD);
        _exit(fn());
    }
    waitpid(pid, &status, 0);
    return status;
}

static int run(int (*fn)(void), int nbd, pid_t partner)
{
    return run_f(fn, nbd, partner, 1);
}

static int killed_by_sys(int st)
{
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
}

static int exited_ok(int st)
{
    return WIFEXITED(st) && WEXITSTATUS(st) == EXIT_OK;
}

static int do_pipe(void)
{
    int p[2];

    return pipe(p) == 0 ? EXIT_OK : 10;
}

static int steady_preset(void)
{
    char b = 'x';
    struct pollfd pf = { g_pipe[0], POLLIN, 0 };
    struct stat st;
    struct timespec ts;
    void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *big = malloc(1 << 20);
    int ok = write(g_pipe[1], &b, 1) == 1 && read(g_pipe[0], &b, 1) == 1 &&
             poll(&pf, 1, 0) == 0 && fstat(g_pipe[0], &st) == 0 &&
             clock_gettime(CLOCK_MONOTONIC, &ts) == 0 && m != MAP_FAILED &&
             mprotect(m, 4096, PROT_READ) == 0 && munmap(m, 8192) == 0 && big;
    free(big);
    return ok ? EXIT_OK : 12;
}

static int uring_enter(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&g_ring);
    struct io_uring_cqe *cqe;

    if (!sqe)
        return 14;
    io_uring_prep_nop(sqe);
    return io_uring_submit_and_wait(&g_ring, 1) == 1 && io_uring_peek_cqe(&g_ring, &cqe) == 0 ?
           EXIT_OK : 13;
}

static int do_open(void) { return open("/etc/hostname", O_RDONLY) >= 0 ? EXIT_OK : 20; }
static int do_socket(void) { return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? EXIT_OK : 21; }
static int do_exec(void)
{
    char *argv[] = { (char *)"/bin/true", NULL };
    execv("/bin/true", argv);
    return 22;
}
static int do_exec_map(void)
{
    return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
           MAP_FAILED ? EXIT_OK : 23;
}
static int do_fork(void) { return syscall(SYS_fork) >= 0 ? EXIT_OK : 24; }
static pid_t g_parent;                    /* the test itself: another process */
static int do_kill_parent(void) { return kill(g_parent, 0) == 0 ? EXIT_OK : 25; }
static int do_ptrace(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? EXIT_OK : 26; }
static int do_stat_path(void)
{
    struct stat st;
    return fstatat(AT_FDCWD, "/etc/passwd", &st, 0) == 0 ? EXIT_OK : 27;
}
static int prctl_nnp(void)
{
    return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
}

static int do_nofile(void)
{
    struct rlimit rl;
    int n = 0;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != BB_NOFILE || rl.rlim_max != BB_NOFILE)
        return 30;
    for (int fd = 3; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n == 3 && prctl_nnp() ? EXIT_OK : 31;        /* the pipe and ring of run_f */
}

static pid_t g_partner;
static int do_kill_partner(void)
{
    return kill(g_partner, SIGTERM) == 0 && waitpid(g_partner, NULL, 0) == g_partner ? EXIT_OK : 40;
}
static int do_kill_partner_kill(void) { return kill(g_partner, SIGKILL) == 0 ? EXIT_OK : 41; }
static int do_unlink(void) { return unlink("/nonexistent-keel") < 0 && errno == ENOENT ? EXIT_OK : 42; }


/* A qdisk worker under its filter (a sleeping child stands in for its qemu-nbd) runs fn; returns
 * the worker's wait status. */
static int run_qdisk(int (*fn)(void))
{
    int st = 0;
    pid_t w = fork();

    if (w == 0) {
        char err[200];
        pid_t me = getpid();
        g_partner = fork();
        if (g_partner == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);   /* the worker killed: no orphan */
            if (getppid() != me)
                _exit(0);                        /* it died before the prctl */
            pause();
            _exit(0);
        }
        if (bb_confine_child() < 0 || bb_confine_filter(1, g_partner, err, sizeof(err)) < 0)
            _exit(EXIT_BAD);
        _exit(fn());
    }
    waitpid(w, &st, 0);
    return st;
}

int main(void)
{
    int st;

    g_parent = getpid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);        /* orphaned stand-ins come back to us: reaped */
    /* descriptors the children must not inherit */
    if (pipe(g_pipe) < 0 || open("/dev/null", O_RDONLY) < 0)
        tap_bail("setup: %s", strerror(errno));

    st = run_f(do_nofile, 0, 0, 0);
    tap_ok(exited_ok(st), "after bb_confine_child: no inherited descriptor, RLIMIT_NOFILE %u, no_new_privs",
       BB_NOFILE);
    tap_ok(exited_ok(run(steady_preset, 0, 0)),
       "under the filter: read/write/poll/fstat on its descriptors, mmap/mprotect/munmap, malloc");
    tap_ok(exited_ok(run(uring_enter, 0, 0)), "io_uring_enter on a ring created before the filter");
    tap_ok(killed_by_sys(run(do_pipe, 0, 0)), "a new pipe kills the worker (SIGSYS)");
    tap_ok(killed_by_sys(run(do_open, 0, 0)), "opening a file kills the worker");
    tap_ok(killed_by_sys(run(do_socket, 0, 0)), "creating a socket kills the worker");
    tap_ok(killed_by_sys(run(do_exec, 0, 0)), "executing a program kills the worker");
    tap_ok(killed_by_sys(run(do_exec_map, 0, 0)), "an executable mapping kills the worker");
    tap_ok(killed_by_sys(run(do_fork, 0, 0)), "fork kills the worker");
    tap_ok(killed_by_sys(run(do_kill_parent, 0, 0)), "signalling another process kills the worker");
    tap_ok(killed_by_sys(run(do_ptrace, 0, 0)), "ptrace kills the worker");
    tap_ok(killed_by_sys(run(do_stat_path, 0, 0)), "newfstatat of a path (not AT_EMPTY_PATH) kills the worker");

    /* a qdisk worker: its qemu-nbd stands in as a sleeping child of the worker */
    {
        tap_ok(exited_ok(run_qdisk(do_kill_partner)), "a qdisk worker may SIGTERM and reap its own qemu-nbd");
        tap_ok(killed_by_sys(run_qdisk(do_kill_partner_kill)), "but not with another signal");
        tap_ok(exited_ok(run(do_unlink, 1, 0)), "unlink (libnbd's cleanup) fails with ENOENT, harmlessly");
        tap_ok(killed_by_sys(run(do_unlink, 0, 0)), "a vbd worker's unlink kills it");
        tap_ok(killed_by_sys(run(do_kill_parent, 1, 1)), "a qdisk worker signalling another process is killed");
    }
    while (waitpid(-1, NULL, 0) > 0)
        ;
    return tap_done();
}
