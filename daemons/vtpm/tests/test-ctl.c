/* test-ctl.c - the control protocol of keel-vtpmd (common/kvtpm.c): framing over SOCK_SEQPACKET
 * (one message, a payload split into chunks and reassembled, malformed messages refused: bad
 * magic, version, length, a chunk of another op, trailing flags, oversize), the blob header
 * checks, and the client functions against a stand-in server in a private runtime directory
 * (replies with data, an error with the server's reason, a reply for another device refused, no
 * server at all). The daemon's own side is exercised by tests/test-vtpm.sh. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvtpm.h"
#include "tap.h"

static const char uuid[] = "0b6f2e0c-4a43-4c5e-9a1e-5c1f6c1f3a11";

static uint8_t *mkblob(size_t perm, size_t vol, size_t *len)
{
    struct kvtpm_blob_hdr h;
    uint8_t *b;

    memset(&h, 0, sizeof(h));
    memcpy(h.magic, KVTPM_BLOB_MAGIC, 8);
    h.version = KVTPM_BLOB_VERSION;
    memcpy(h.uuid, uuid, 36);
    h.perm_len = (uint32_t)perm;
    h.vol_len = (uint32_t)vol;
    *len = sizeof(h) + perm + vol;
    b = calloc(1, *len);
    memcpy(b, &h, sizeof(h));
    for (size_t i = sizeof(h); i < *len; i++)
        b[i] = (uint8_t)i;
    return b;
}

static void test_framing(void)
{
    int sv[2];
    struct kvtpm_msg_hdr h;
    uint8_t *p = NULL, *big = malloc(200000);
    size_t n;

    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    tap_ok(kvtpm_send(sv[0], KVTPM_OP_EXPORT, 5, 0, "abc", 3) == 0 &&
           kvtpm_recv(sv[1], &h, &p, &n) == 0 && n == 3 && !memcmp(p, "abc", 3) &&
           h.op == KVTPM_OP_EXPORT && h.domid == 5 && h.devid == 0,
           "a small payload goes through with its op and ids");
    free(p);
    for (size_t i = 0; i < 200000; i++)
        big[i] = (uint8_t)(i * 31);
    if (fork() == 0) {
        _exit(kvtpm_send(sv[0], KVTPM_OP_IMPORT, 7, 2, big, 200000) == 0 ? 0 : 1);
    }
    tap_ok(kvtpm_recv(sv[1], &h, &p, &n) == 0 && n == 200000 && !memcmp(p, big, n) &&
           h.length == 200000, "a 200000-byte payload is split into chunks and reassembled");
    free(p);
    wait(NULL);
    {
        struct kvtpm_msg_hdr bad = { KVTPM_MAGIC ^ 1, KVTPM_VERSION, 1, 0, 0, 0, 0 };
        send(sv[0], &bad, sizeof(bad), 0);
        tap_ok(kvtpm_recv(sv[1], &h, &p, &n) == -EPROTO, "a bad magic is refused");
        bad.magic = KVTPM_MAGIC;
        bad.version = 9;
        send(sv[0], &bad, sizeof(bad), 0);
        tap_ok(kvtpm_recv(sv[1], &h, &p, &n) == -EPROTO, "another version is refused");
        bad.version = KVTPM_VERSION;
        bad.length = 10;                 /* says 10 bytes, carries none */
        send(sv[0], &bad, sizeof(bad), 0);
        tap_ok(kvtpm_recv(sv[1], &h, &p, &n) == -EPROTO, "a lying length is refused");
        bad.length = 0;
        bad.flags = 0x80;
        send(sv[0], &bad, sizeof(bad), 0);
        tap_ok(kvtpm_recv(sv[1], &h, &p, &n) == -EPROTO, "unknown flags are refused");
        bad.flags = KVTPM_F_MORE;
        send(sv[0], &bad, sizeof(bad), 0);
        bad.flags = 0;
        bad.op = 2;
        send(sv[0], &bad, sizeof(bad), 0);
        tap_ok(kvtpm_recv(sv[1], &h, &p, &n) == -EPROTO,
               "a chunk of another op in the middle of a payload is refused");
        send(sv[0], "xy", 2, 0);
        tap_ok(kvtpm_recv(sv[1], &h, &p, &n) == -EPROTO, "a message shorter than a header is refused");
    }
    tap_ok(kvtpm_send(sv[0], 1, 0, 0, big, KVTPM_PAYLOAD_MAX + 1) == -EMSGSIZE,
           "a payload over the limit is not sent");
    free(big);
    close(sv[0]);
    tap_ok(kvtpm_recv(sv[1], &h, &p, &n) == -ECONNRESET, "a closed peer is -ECONNRESET");
    close(sv[1]);
}

static void test_blob(void)
{
    size_t len;
    uint8_t *b = mkblob(1000, 200, &len);
    char u[37], err[200];

    tap_ok(kvtpm_blob_check(b, len, u, err, sizeof(err)) == 0 && !strcmp(u, uuid),
           "a well-formed blob passes and gives its uuid");
    tap_ok(kvtpm_blob_check(b, len - 1, u, err, sizeof(err)) == -EINVAL && strstr(err, "lengths"),
           "a truncated blob is refused: '%s'", err);
    tap_ok(kvtpm_blob_check(b, 20, u, err, sizeof(err)) == -EINVAL,
           "a blob shorter than its header is refused");
    b[0] = 'X';
    tap_ok(kvtpm_blob_check(b, len, u, err, sizeof(err)) == -EINVAL, "a bad magic is refused");
    b[0] = 'K';
    b[20] = '/';
    tap_ok(kvtpm_blob_check(b, len, u, err, sizeof(err)) == -EINVAL && strstr(err, "uuid"),
           "a malformed uuid is refused");
    free(b);
    b = mkblob(0, 10, &len);
    tap_ok(kvtpm_blob_check(b, len, u, err, sizeof(err)) == -EINVAL,
           "a blob without permanent state is refused");
    free(b);
}

/* A stand-in server: answers one request per connection as told by mode. */
static void serve(int lfd, int mode, int count)
{
    for (int i = 0; i < count; i++) {
        int fd = accept(lfd, NULL, NULL);
        struct kvtpm_msg_hdr h;
        uint8_t *p;
        size_t n, bl;
        if (fd < 0 || kvtpm_recv(fd, &h, &p, &n) < 0)
            _exit(1);
        if (mode == 0) {
            uint8_t *b = mkblob(500, 50, &bl);
            kvtpm_send_reply(fd, h.op, h.domid, h.devid, 0, b, bl);
        } else if (mode == 1) {
            kvtpm_send_reply(fd, h.op, h.domid, h.devid, -ESRCH, "no such vtpm device", 20);
        } else {
            kvtpm_send_reply(fd, h.op, h.domid + 1, h.devid, 0, NULL, 0);
        }
        close(fd);
    }
    _exit(0);
}

static void test_client(void)
{
    char rd[64], p[200], err[300];
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    uint8_t *blob;
    size_t len;
    int lfd;
    pid_t pid;

    snprintf(rd, sizeof(rd), "/tmp/keel-test-ctl.%d", (int)getpid());
    tap_ok(kvtpm_release(rd, 3, 0, err, sizeof(err)) < 0 && strstr(err, "cannot reach"),
           "no manager: a clear error ('%s')", err);
    mkdir(rd, 0700);
    snprintf(p, sizeof(p), "%s/vtpm", rd);
    mkdir(p, 0700);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s/vtpm/control", rd);
    lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    bind(lfd, (struct sockaddr *)&a, sizeof(a));
    listen(lfd, 4);
    for (int mode = 0; mode < 3; mode++) {
        if ((pid = fork()) == 0)
            serve(lfd, mode, 2);
        if (mode == 0) {
            tap_ok(kvtpm_export(rd, 3, 0, &blob, &len, err, sizeof(err)) == 0 &&
                   len == sizeof(struct kvtpm_blob_hdr) + 550, "export returns the blob");
            tap_ok(kvtpm_import(rd, 3, 0, uuid, blob, len, err, sizeof(err)) == 0,
                   "import of that blob is accepted by the server");
            tap_ok(kvtpm_import(rd, 3, 0, "11111111-2222-4333-8444-555555555555", blob, len,
                                err, sizeof(err)) == -EINVAL && strstr(err, "not"),
                   "import under another uuid is refused by the client: '%s'", err);
            free(blob);
        } else if (mode == 1) {
            tap_ok(kvtpm_resume(rd, 3, 0, err, sizeof(err)) == -ESRCH &&
                   strstr(err, "no such vtpm device") && strstr(err, "domain 3"),
                   "an error reply carries the server's reason: '%s'", err);
            kvtpm_release(rd, 3, 0, err, sizeof(err));
        } else {
            tap_ok(kvtpm_release(rd, 3, 0, err, sizeof(err)) == -EPROTO,
                   "a reply naming another domain is refused: '%s'", err);
            kvtpm_release(rd, 3, 0, err, sizeof(err));
        }
        waitpid(pid, NULL, 0);
    }
    close(lfd);
    unlink(a.sun_path);
    rmdir(p);
    rmdir(rd);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_framing();
    test_blob();
    test_client();
    return tap_done();
}
