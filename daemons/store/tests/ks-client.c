/* ks-client.c - a small xenstore client for the store's shell tests, for what the stock
 * clients cannot do: act as a guest (RESTRICT to a domid), drive a transaction conflict and
 * its retry, fill quotas, send control commands and GET/SET_QUOTA. Finds the socket like
 * libxenstore does ($XENSTORED_PATH, else $XENSTORED_RUNDIR/socket). One line of output
 * per command: the value, "OK", or "ERR <NAME>". */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ks_wire.h"

static uint32_t kc_len;    /* length of the last reply */

static int kc_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *p = getenv("XENSTORED_PATH"), *d = getenv("XENSTORED_RUNDIR");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (p)
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
    else
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket", d ? d : "/var/run/xenstored");
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "ks-client: %s: %s\n", sa.sun_path, strerror(errno));
        exit(2);
    }
    return fd;
}

static int kc_io(int fd, void *buf, size_t len, int wr)
{
    char *p = buf;

    while (len) {
        ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One request; the reply (watch events skipped) lands in `out` (NUL-terminated).
 * Returns the reply type, or -1 when the connection broke. */
static int kc_talk(int fd, uint32_t type, uint32_t tx, const char *a, const char *b, size_t blen,
                   char *out)
{
    char buf[KS_HDR_SIZE + KS_PAYLOAD_MAX];
    size_t al = a ? strlen(a) + 1 : 0;
    struct ks_hdr h = { type, 1, tx, (uint32_t)(al + blen) };

    if (al + blen > KS_PAYLOAD_MAX)
        return -1;
    memcpy(buf, &h, sizeof(h));
    if (al)
        memcpy(buf + sizeof(h), a, al);
    if (blen)
        memcpy(buf + sizeof(h) + al, b, blen);
    if (kc_io(fd, buf, sizeof(h) + h.len, 1) < 0)
        return -1;
    do {
        if (kc_io(fd, &h, sizeof(h), 0) < 0 || h.len > KS_PAYLOAD_MAX ||
            kc_io(fd, out, h.len, 0) < 0)
            return -1;
        out[h.len] = '\0';
        kc_len = h.len;
    } while (h.type == KS_WATCH_EVENT);
    return (int)h.type;
}

static void kc_print(int type, char *out)
{
    if (type < 0)
        printf("ERR CLOSED\n");
    else if (type == KS_ERROR)
        printf("ERR %s\n", out);
    else
        printf("%s\n", out);
}

static int kc_simple(int fd, uint32_t type, uint32_t tx, const char *a, const char *b, char *out)
{
    return kc_talk(fd, type, tx, a, b, b ? strlen(b) + (type == KS_WRITE ? 0 : 1) : 0, out);
}

/* Transaction against a concurrent writer: expect EAGAIN, then retry until it commits. */
static void kc_txn_conflict(int fd, const char *path)
{
    char out[KS_PAYLOAD_MAX + 1], id[32];
    int other = kc_connect(), type, tries;
    uint32_t tx;

    kc_simple(fd, KS_TRANSACTION_START, 0, "", NULL, id);
    tx = (uint32_t)strtoul(id, NULL, 10);
    kc_simple(fd, KS_READ, tx, path, NULL, out);
    kc_simple(other, KS_WRITE, 0, path, "concurrent", out);
    kc_simple(fd, KS_WRITE, tx, path, "first", out);
    type = kc_simple(fd, KS_TRANSACTION_END, tx, "T", NULL, out);
    printf("first commit: %s%s\n", type == KS_ERROR ? "ERR " : "", out);
    for (tries = 1; tries <= 5; tries++) {
        kc_simple(fd, KS_TRANSACTION_START, 0, "", NULL, id);
        tx = (uint32_t)strtoul(id, NULL, 10);
        kc_simple(fd, KS_READ, tx, path, NULL, out);
        kc_simple(fd, KS_WRITE, tx, path, "retried", out);
        type = kc_simple(fd, KS_TRANSACTION_END, tx, "T", NULL, out);
        if (type == KS_TRANSACTION_END)
            break;
    }
    printf("retry: %s after %d attempt(s)\n", type == KS_TRANSACTION_END ? "OK" : out, tries);
    close(other);
}

/* Create prefix/0..n-1; print how many were created and the first error. */
static void kc_fill(int fd, const char *prefix, int n)
{
    char out[KS_PAYLOAD_MAX + 1], path[KS_ABS_PATH_MAX + 1], val[32];
    int i, type = 0;

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%d", prefix, i);
        snprintf(val, sizeof(val), "v%d", i);
        type = kc_simple(fd, KS_WRITE, 0, path, val, out);
        if (type != KS_WRITE)
            break;
    }
    printf("created %d%s%s\n", i, type == KS_ERROR ? " ERR " : "", type == KS_ERROR ? out : "");
}

static void kc_join(char *out, int type)
{
    for (uint32_t i = 0; type >= 0 && type != KS_ERROR && i + 1 < kc_len; i++)
        if (out[i] == '\0')
            out[i] = ' ';
}

int main(int argc, char **argv)
{
    char out[KS_PAYLOAD_MAX + 1];
    int fd, i = 1, type;

    if (argc < 2) {
        fprintf(stderr, "usage: ks-client CMD [ARGS] [CMD [ARGS]]...\n"
                "  restrict DOMID | read P | write P V | ls P | rm P | perms P | chmod P PERM\n"
                "  txn-conflict P | fill PREFIX N | control CMD [ARG...]\n"
                "  get-quota [[DOMID] NAME] | set-quota [DOMID] NAME VALUE   (last on the line)\n"
                "  introduce DOMID GFN PORT | release DOMID | is-introduced DOMID\n");
        return 2;
    }
    fd = kc_connect();
    while (i < argc) {
        const char *cmd = argv[i++], *a = i < argc ? argv[i] : NULL;
        const char *b = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(cmd, "restrict") && a) {
            kc_print(kc_simple(fd, KS_RESTRICT, 0, a, NULL, out), out);
            i++;
        } else if (!strcmp(cmd, "read") && a) {
            kc_print(kc_simple(fd, KS_READ, 0, a, NULL, out), out);
            i++;
        } else if (!strcmp(cmd, "write") && a && b) {
            kc_print(kc_simple(fd, KS_WRITE, 0, a, b, out), out);
            i += 2;
        } else if ((!strcmp(cmd, "ls") || !strcmp(cmd, "perms")) && a) {
            type = kc_simple(fd, cmd[0] == 'l' ? KS_DIRECTORY : KS_GET_PERMS, 0, a, NULL, out);
            kc_join(out, type);
            kc_print(type, out);
            i++;
        } else if (!strcmp(cmd, "rm") && a) {
            kc_print(kc_simple(fd, KS_RM, 0, a, NULL, out), out);
            i++;
        } else if (!strcmp(cmd, "chmod") && a && b) {
            kc_print(kc_simple(fd, KS_SET_PERMS, 0, a, b, out), out);
            i += 2;
        } else if (!strcmp(cmd, "introduce") && a && b && i + 2 < argc) {
            char buf[64];
            int n = snprintf(buf, sizeof(buf), "%s%c%s%c", b, '\0', argv[i + 2], '\0');
            kc_print(kc_talk(fd, KS_INTRODUCE, 0, a, buf, (size_t)n, out), out);
            i += 3;
        } else if ((!strcmp(cmd, "release") || !strcmp(cmd, "is-introduced")) && a) {
            kc_print(kc_simple(fd, cmd[0] == 'r' ? KS_RELEASE : KS_IS_DOMAIN_INTRODUCED, 0, a,
                               NULL, out), out);
            i++;
        } else if (!strcmp(cmd, "txn-conflict") && a) {
            kc_txn_conflict(fd, a);
            i++;
        } else if (!strcmp(cmd, "fill") && a && b) {
            kc_fill(fd, a, atoi(b));
            i += 2;
        } else if ((!strcmp(cmd, "control") && a) || !strcmp(cmd, "get-quota") ||
                   !strcmp(cmd, "set-quota")) {
            /* the remaining arguments, each NUL-terminated */
            char buf[KS_PAYLOAD_MAX];
            size_t len = 0;
            type = cmd[0] == 'c' ? KS_CONTROL : cmd[0] == 'g' ? KS_GET_QUOTA : KS_SET_QUOTA;
            for (; i < argc && len + strlen(argv[i]) + 1 <= sizeof(buf); i++) {
                memcpy(buf + len, argv[i], strlen(argv[i]) + 1);
                len += strlen(argv[i]) + 1;
            }
            kc_print(kc_talk(fd, (uint32_t)type, 0, NULL, buf, len, out), out);
        } else {
            fprintf(stderr, "ks-client: bad command '%s'\n", cmd);
            return 2;
        }
        fflush(stdout);
    }
    close(fd);
    return 0;
}
