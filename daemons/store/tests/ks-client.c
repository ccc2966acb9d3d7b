/* ks-client.c - a small xenstore client for the store's shell tests, for what the stock
 * clients cannot do: act as a guest (RESTRICT to a domid), drive a transaction conflict and
 * its retry, fill quotas, send control commands and GET/SET_QUOTA. Finds the socket like
 * libxenstore does ($XENSTORED_PATH, else $XENSTORED_RUNDIR/socket). One line of output
 * per command: the value, "OK", or "ERR <NAME>". Requests go through the common store
 * client (common/kxs.h), the one the daemons and liblight use. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "ks_wire.h"
#include "kxs.h"

static size_t kc_len;      /* length of the last reply */

static kxs *kc_connect(void)
{
    const char *p = getenv("XENSTORED_PATH"), *d = getenv("XENSTORED_RUNDIR");
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    kxs *x;
    int rc;

    if (p)
        snprintf(path, sizeof(path), "%s", p);
    else
        snprintf(path, sizeof(path), "%s/socket", d ? d : "/var/run/xenstored");
    if ((rc = kxs_open_path(&x, path)) < 0) {
        fprintf(stderr, "ks-client: %s: %s\n", path, strerror(-rc));
        exit(2);
    }
    return x;
}

/* One request through the common store client (kxs); the reply lands in `out`
 * (NUL-terminated). Returns 0, or the store's error as a negative errno (its name in `out`),
 * or -ECONNRESET when the connection broke ("CLOSED"). */
static int kc_talk(kxs *x, uint32_t type, uint32_t tx, const char *a, const char *b, size_t blen,
                   char *out)
{
    char buf[KS_PAYLOAD_MAX], *reply = NULL;
    size_t al = a ? strlen(a) + 1 : 0;
    int rc;

    if (al + blen > KS_PAYLOAD_MAX)
        return -E2BIG;
    if (al)
        memcpy(buf, a, al);
    if (blen)
        memcpy(buf + al, b, blen);
    rc = kxs_request(x, type, tx, buf, al + blen, &reply, &kc_len);
    if (rc < 0) {
        snprintf(out, KS_PAYLOAD_MAX + 1, "%s", kxs_dead(x) ? "CLOSED" : kxs_errname(-rc));
        return kxs_dead(x) ? -ECONNRESET : rc;
    }
    memcpy(out, reply, kc_len + 1);
    free(reply);
    return 0;
}

static void kc_print(int rc, char *out)
{
    printf("%s%s\n", rc < 0 ? "ERR " : "", out);
}

static int kc_simple(kxs *x, uint32_t type, uint32_t tx, const char *a, const char *b, char *out)
{
    return kc_talk(x, type, tx, a, b, b ? strlen(b) + (type == KS_WRITE ? 0 : 1) : 0, out);
}

/* Transaction against a concurrent writer: expect EAGAIN, then retry until it commits. */
static void kc_txn_conflict(kxs *x, const char *path)
{
    char out[KS_PAYLOAD_MAX + 1];
    kxs *other = kc_connect();
    int rc, tries;
    uint32_t tx = 0;

    kxs_tx_start(x, &tx);
    kc_simple(x, KS_READ, tx, path, NULL, out);
    kc_simple(other, KS_WRITE, 0, path, "concurrent", out);
    kc_simple(x, KS_WRITE, tx, path, "first", out);
    rc = kc_simple(x, KS_TRANSACTION_END, tx, "T", NULL, out);
    printf("first commit: %s%s\n", rc < 0 ? "ERR " : "", out);
    for (tries = 1; tries <= 5; tries++) {
        kxs_tx_start(x, &tx);
        kc_simple(x, KS_READ, tx, path, NULL, out);
        kc_simple(x, KS_WRITE, tx, path, "retried", out);
        rc = kc_simple(x, KS_TRANSACTION_END, tx, "T", NULL, out);
        if (rc == 0)
            break;
    }
    printf("retry: %s after %d attempt(s)\n", rc == 0 ? "OK" : out, tries);
    kxs_close(other);
}

/* Create prefix/0..n-1; print how many were created and the first error. */
static void kc_fill(kxs *x, const char *prefix, int n)
{
    char out[KS_PAYLOAD_MAX + 1], path[KS_ABS_PATH_MAX + 1], val[32];
    int i, rc = 0;

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%d", prefix, i);
        snprintf(val, sizeof(val), "v%d", i);
        if ((rc = kc_simple(x, KS_WRITE, 0, path, val, out)) < 0)
            break;
    }
    printf("created %d%s%s\n", i, rc < 0 ? " ERR " : "", rc < 0 ? out : "");
}

static void kc_join(char *out, int rc)
{
    for (size_t i = 0; rc == 0 && i + 1 < kc_len; i++)
        if (out[i] == '\0')
            out[i] = ' ';
}

int main(int argc, char **argv)
{
    char out[KS_PAYLOAD_MAX + 1];
    int i = 1, type;
    kxs *x;

    if (argc < 2) {
        fprintf(stderr, "usage: ks-client CMD [ARGS] [CMD [ARGS]]...\n"
                "  restrict DOMID | read P | write P V | ls P | rm P | perms P | chmod P PERM\n"
                "  txn-conflict P | fill PREFIX N | control CMD [ARG...]\n"
                "  get-quota [[DOMID] NAME] | set-quota [DOMID] NAME VALUE   (last on the line)\n"
                "  introduce DOMID GFN PORT | release DOMID | is-introduced DOMID\n");
        return 2;
    }
    x = kc_connect();
    while (i < argc) {
        const char *cmd = argv[i++], *a = i < argc ? argv[i] : NULL;
        const char *b = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(cmd, "restrict") && a) {
            kc_print(kc_simple(x, KS_RESTRICT, 0, a, NULL, out), out);
            i++;
        } else if (!strcmp(cmd, "read") && a) {
            kc_print(kc_simple(x, KS_READ, 0, a, NULL, out), out);
            i++;
        } else if (!strcmp(cmd, "write") && a && b) {
            kc_print(kc_simple(x, KS_WRITE, 0, a, b, out), out);
            i += 2;
        } else if ((!strcmp(cmd, "ls") || !strcmp(cmd, "perms")) && a) {
            type = kc_simple(x, cmd[0] == 'l' ? KS_DIRECTORY : KS_GET_PERMS, 0, a, NULL, out);
            kc_join(out, type);
            kc_print(type, out);
            i++;
        } else if (!strcmp(cmd, "rm") && a) {
            kc_print(kc_simple(x, KS_RM, 0, a, NULL, out), out);
            i++;
        } else if (!strcmp(cmd, "chmod") && a && b) {
            kc_print(kc_simple(x, KS_SET_PERMS, 0, a, b, out), out);
            i += 2;
        } else if (!strcmp(cmd, "introduce") && a && b && i + 2 < argc) {
            char buf[64];
            int n = snprintf(buf, sizeof(buf), "%s%c%s%c", b, '\0', argv[i + 2], '\0');
            kc_print(kc_talk(x, KS_INTRODUCE, 0, a, buf, (size_t)n, out), out);
            i += 3;
        } else if ((!strcmp(cmd, "release") || !strcmp(cmd, "is-introduced")) && a) {
            kc_print(kc_simple(x, cmd[0] == 'r' ? KS_RELEASE : KS_IS_DOMAIN_INTRODUCED, 0, a,
                               NULL, out), out);
            i++;
        } else if (!strcmp(cmd, "txn-conflict") && a) {
            kc_txn_conflict(x, a);
            i++;
        } else if (!strcmp(cmd, "fill") && a && b) {
            kc_fill(x, a, atoi(b));
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
            kc_print(kc_talk(x, (uint32_t)type, 0, NULL, buf, len, out), out);
        } else {
            fprintf(stderr, "ks-client: bad command '%s'\n", cmd);
            return 2;
        }
        fflush(stdout);
    }
    kxs_close(x);
    return 0;
}
