/* test-migtls.c - liblight's migration transport on the loopback (no Keel host needed): plain
 * TCP and TLS connections through kl_migrate_listen/accept/connect/close carry megabytes both
 * ways intact, kl_migrate_close delivers what was written just before it, and the certificate
 * checks refuse a server of another CA, a wrong server name, and a client without a certificate
 * or with one of another CA. Certificates are made in a temporary directory with OpenSSL. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "lc_int.h"
#include "tap.h"

static char dir[] = "/tmp/keel-migtls-XXXXXX";
static long serial = 1;

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v;
    X509_EXTENSION *e;

    X509V3_set_ctx_nodb(&v);
    X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
    if ((e = X509V3_EXT_conf_nid(NULL, &v, nid, value))) {
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
}

/* A certificate for k named cn, signed by issuer/ikey (NULL: self-signed CA); san may be NULL. */
static X509 *new_cert(EVP_PKEY *k, const char *cn, X509 *issuer, EVP_PKEY *ikey, const char *san)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_get_subject_name(x);

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    if (!issuer) {
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else if (san) {
        add_ext(x, issuer, NID_subject_alt_name, san);
    }
    X509_sign(x, ikey ? ikey : k, EVP_sha256());
    return x;
}

/* Write x (and k) as NAME.pem (and NAME.key); x is freed unless keep. */
static void save_cert(const char *name, X509 *x, EVP_PKEY *k, int keep)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    if ((f = fopen(path, "w"))) {
        PEM_write_X509(f, x);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/%s.key", dir, name);
    if (k && (f = fopen(path, "w"))) {
        PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
        fclose(f);
    }
    if (!keep)
        X509_free(x);
}

static char *file(const char *name)
{
    static char bufs[128][256];    /* enough for every call of one run */
    static int i;
    char *b = bufs[i++ % 128];

    snprintf(b, 256, "%s/%s", dir, name);
    return b;
}

static int make_certs(void)
{
    EVP_PKEY *ca = new_key(), *rogue = new_key(), *srv = new_key(), *cli = new_key(),
             *fake = new_key();
    X509 *cac = NULL, *roguec = NULL;
    int rc = -1;

    if (ca && rogue && srv && cli && fake) {
        cac = new_cert(ca, "test ca", NULL, NULL, NULL);
        roguec = new_cert(rogue, "rogue ca", NULL, NULL, NULL);
        save_cert("ca", cac, NULL, 1);
        save_cert("srv", new_cert(srv, "srv", cac, ca, "IP:127.0.0.1,DNS:localhost"), srv, 0);
        save_cert("cli", new_cert(cli, "cli", cac, ca, "DNS:client"), cli, 0);
        save_cert("fakesrv", new_cert(fake, "srv", roguec, rogue, "IP:127.0.0.1"), fake, 0);
        save_cert("fakecli", new_cert(fake, "cli", roguec, rogue, "DNS:client"), fake, 0);
        rc = 0;
    }
    X509_free(cac);
    X509_free(roguec);
    EVP_PKEY_free(ca);
    EVP_PKEY_free(rogue);
    EVP_PKEY_free(srv);
    EVP_PKEY_free(cli);
    EVP_PKEY_free(fake);
    return rc;
}

/* ---- a server thread: accept one connection, then run a job on it ---- */
struct server {
    kl_ctx ctx;
    int lfd, fd, rc;
    kl_tls_opts tls;
    int plain;
    size_t in_len, out_len;      /* bytes to read, then to write back */
    uint64_t in_sum;
    pthread_t th;
};

static uint8_t pattern(size_t i, unsigned seed)
{
    return (uint8_t)((i * 2654435761u) >> 13 ^ seed);
}

static int write_pattern(int fd, size_t len, unsigned seed)
{
    uint8_t buf[65536];

    for (size_t off = 0; off < len;) {
        size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(off + i, seed);
        if (write(fd, buf, n) != (ssize_t)n)
            return -1;
        off += n;
    }
    return 0;
}

/* Read len bytes and check them against the pattern; returns bytes matching before the end. */
static size_t read_pattern(int fd, size_t len, unsigned seed)
{
    uint8_t buf[65536];
    size_t off = 0;

    while (off < len) {
        ssize_t n = read(fd, buf, sizeof(buf) < len - off ? sizeof(buf) : len - off);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(off + (size_t)i, seed))
                return off + (size_t)i;
        off += (size_t)n;
    }
    return off;
}

static void *server_main(void *arg)
{
    struct server *s = arg;

    s->rc = kl_migrate_accept(&s->ctx, s->lfd, s->plain ? NULL : &s->tls, 10000, &s->fd);
    if (s->rc < 0)
        return NULL;
    s->in_sum = read_pattern(s->fd, s->in_len, 1);
    if (s->out_len && write_pattern(s->fd, s->out_len, 2) < 0)
        s->rc = -EIO;
    kl_migrate_close(s->fd);
    return NULL;
}

static int port_seq = 0;

static void start_server(struct server *s, const char *cert, const char *ca, size_t in,
                         size_t out, char *hp)
{
    memset(s, 0, sizeof(*s));
    s->tls.cert_file = cert ? file(cert) : NULL;
    s->tls.key_file = cert ? file(strcmp(cert, "srv.pem") ? "fakesrv.key" : "srv.key") : NULL;
    s->tls.ca_file = ca ? file(ca) : NULL;
    s->plain = !cert;
    s->in_len = in;
    s->out_len = out;
    for (int tries = 0; tries < 50; tries++) {
        snprintf(hp, 64, "127.0.0.1:%d", 20000 + (getpid() % 20000) + port_seq++);
        if (kl_migrate_listen(&s->ctx, hp, &s->lfd) == 0)
            break;
    }
    pthread_create(&s->th, NULL, server_main, s);
}

static void stop_server(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

int main(void)
{
    kl_ctx ctx;
    struct server s;
    char hp[64];
    kl_tls_opts t = { 0 };
    int fd, rc;

    signal(SIGPIPE, SIG_IGN);
    memset(&ctx, 0, sizeof(ctx));
    if (!mkdtemp(dir) || make_certs() < 0) {
        tap_ok(0, "temporary certificates are made");
        return tap_done();
    }

    /* plain TCP, both directions */
    start_server(&s, NULL, NULL, 8 << 20, 1 << 20, hp);
    rc = kl_migrate_connect(&ctx, hp, NULL, &fd);
    tap_ok(rc == 0, "plain TCP connects to %s", hp);
    if (rc == 0) {
        tap_ok(write_pattern(fd, 8 << 20, 1) == 0, "8 MiB are written");
        tap_ok(read_pattern(fd, 1 << 20, 2) == (1 << 20), "1 MiB comes back intact");
        kl_migrate_close(fd);
    }
    stop_server(&s);
    tap_ok(s.rc == 0 && s.in_sum == (8 << 20), "the server received all 8 MiB intact");

    /* TLS with client certificates: 16 MiB up, written just before close, 2 MiB down */
    start_server(&s, "srv.pem", "ca.pem", 16 << 20, 2 << 20, hp);
    t.ca_file = file("ca.pem");
    t.cert_file = file("cli.pem");
    t.key_file = file("cli.key");
    rc = kl_migrate_connect(&ctx, hp, &t, &fd);
    tap_ok(rc == 0, "TLS connects with both certificates verified%s%s", rc ? ": " : "",
           rc ? ctx.err : "");
    if (rc == 0) {
        tap_ok(write_pattern(fd, 16 << 20, 1) == 0, "16 MiB are written over TLS");
        tap_ok(read_pattern(fd, 2 << 20, 2) == (2 << 20), "2 MiB come back intact over TLS");
        tap_ok(kl_migrate_close(fd) == 0, "kl_migrate_close flushes and ends the relay");
    }
    stop_server(&s);
    tap_ok(s.rc == 0 && s.in_sum == (16 << 20), "the TLS server received all 16 MiB intact");

    /* a write just before close arrives (the relay flushes on kl_migrate_close) */
    start_server(&s, "srv.pem", NULL, 3 << 20, 0, hp);
    t.cert_file = t.key_file = NULL;
    rc = kl_migrate_connect(&ctx, hp, &t, &fd);
    if (rc == 0) {
        write_pattern(fd, 3 << 20, 1);
        kl_migrate_close(fd);
    }
    stop_server(&s);
    tap_ok(rc == 0 && s.in_sum == (3 << 20),
           "bytes written right before kl_migrate_close arrive (connect %d%s%s, server %d, %llu bytes)",
           rc, rc ? ": " : "", rc ? ctx.err : "", s.rc, (unsigned long long)s.in_sum);

    /* a server certificate of another CA */
    start_server(&s, "fakesrv.pem", NULL, 0, 0, hp);
    rc = kl_migrate_connect(&ctx, hp, &t, &fd);
    tap_ok(rc == -EACCES && strstr(ctx.err, "certificate"), "a server of another CA is refused "
           "(%s)", ctx.err);
    if (rc == 0)
        kl_migrate_close(fd);
    stop_server(&s);

    /* a wrong server name */
    start_server(&s, "srv.pem", NULL, 0, 0, hp);
    t.peer_name = "other.example";
    rc = kl_migrate_connect(&ctx, hp, &t, &fd);
    tap_ok(rc == -EACCES, "a certificate without the expected name is refused (%s)", ctx.err);
    if (rc == 0)
        kl_migrate_close(fd);
    t.peer_name = NULL;
    stop_server(&s);

    /* a client without a certificate, and with one of another CA, when one is required */
    for (int fake = 0; fake < 2; fake++) {
        char buf[16];
        start_server(&s, "srv.pem", "ca.pem", 16, 0, hp);
        t.cert_file = fake ? file("fakecli.pem") : NULL;
        t.key_file = fake ? file("fakesrv.key") : NULL;
        rc = kl_migrate_connect(&ctx, hp, &t, &fd);
        if (rc == 0) {                 /* TLS 1.3: the refusal arrives after the handshake */
            rc = (int)read(fd, buf, sizeof(buf));
            kl_migrate_close(fd);
        }
        stop_server(&s);
        tap_ok(rc <= 0 && s.rc == -EACCES, "the receiver refuses a client %s (%s)",
               fake ? "with a certificate of another CA" : "without a certificate", s.ctx.err);
    }

    /* addresses */
    tap_ok(kl_migrate_connect(&ctx, "nocolon", NULL, &fd) == -EINVAL, "HOST without :PORT is refused");
    tap_ok(kl_migrate_connect(&ctx, "127.0.0.1:99999", NULL, &fd) == -EINVAL, "a port over 65535 is refused");
    tap_ok(kl_migrate_connect(&ctx, ":8000", NULL, &fd) == -EINVAL, "connecting needs a host");
    tap_ok(kl_migrate_listen(&ctx, "[::1:80", &fd) == -EINVAL, "an unclosed [ is refused");
    tap_ok(kl_migrate_connect(&ctx, "127.0.0.1:1", NULL, &fd) < 0 && strstr(ctx.err, "127.0.0.1:1"),
           "a refused connection says where (%s)", ctx.err);

    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            tap_ok(0, "temporary directory removed");
    }
    return tap_done();
}
