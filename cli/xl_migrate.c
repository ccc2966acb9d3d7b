/* xl_migrate.c - xl migrate and xl migrate-receive: live migration with xl's handshake over the
 * standard input and output of `ssh HOST xl migrate-receive` (or of any command, -s ''): banner,
 * the xl save image (live), "domain received, ready to unpause", "domain is yours, you are cleared
 * to unpause", then the target's report byte. The source is renamed NAME--migratedaway while the
 * target holds NAME--incoming; on any failure the source domain resumes under its name. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xl.h"

static const char banner[] = "xl migration receiver ready, send binary domain data.\n";
static const char ready[] = "domain received, ready to unpause";
static const char go[] = "domain is yours, you are cleared to unpause";
static const char report[] = "my copy unpause results are as follows";

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read exactly the expected message (len bytes, NUL included where xl sends it), waiting at
 * most timeout_s seconds for each part of it. */
static int expect(int fd, const char *msg, size_t len, const char *who, int timeout_s)
{
    char buf[128];
    size_t got = 0;

    while (got < len) {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t n;
        if (poll(&p, 1, timeout_s * 1000) == 0) {
            fprintf(stderr, "%s: timed out waiting for the other side\n", who);
            return -1;
        }
        n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "%s: unexpected end of the migration stream\n", who);
            return -1;
        }
        got += (size_t)n;
        if (memcmp(buf, msg, got))
            break;                               /* wrong already: no need to wait for more */
    }
    if (memcmp(buf, msg, len)) {
        fprintf(stderr, "%s: unexpected message in the migration stream\n", who);
        return -1;
    }
    return 0;
}

static pid_t spawn_receiver(const char *sshcmd, const char *host, int *to, int *from)
{
    int in[2], out[2];
    char cmd[1024];
    pid_t pid;

    if (sshcmd && !*sshcmd)
        snprintf(cmd, sizeof(cmd), "%s", host);
    else
        snprintf(cmd, sizeof(cmd), "%s %s xl migrate-receive", sshcmd ? sshcmd : "ssh", host);
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        return -1;
    if ((pid = fork()) == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *to = in[1];
    *from = out[0];
    return pid;
}

static void rename_back(kl_ctx *ctx, uint32_t domid, const char *name)
{
    kl_domain_rename(ctx, domid, name);
    kl_domain_unpause(ctx, domid);
}

static int migrate(kl_ctx *ctx, uint32_t domid, const char *name, int to, int from)
{
    char away[300];
    unsigned char rc = 1;

    if (expect(from, banner, sizeof(banner) - 1, "migration sender", 30) < 0)
        return -1;
    fprintf(stderr, "migration target: Ready to receive domain.\n");
    if (kl_domain_save(ctx, domid, to, KL_SAVE_LIVE) < 0) {
        fprintf(stderr, "migration sender: libxl_domain_suspend failed: %s\n", kl_ctx_error(ctx));
        kl_domain_unpause(ctx, domid);
        return -1;
    }
    if (expect(from, ready, sizeof(ready), "migration sender", 300) < 0) {
        kl_domain_unpause(ctx, domid);
        return -1;
    }
    snprintf(away, sizeof(away), "%s--migratedaway", name);
    kl_domain_rename(ctx, domid, away);
    if (write_all(to, go, sizeof(go)) < 0 || expect(from, report, sizeof(report), "migration sender", 60) < 0 ||
        read(from, &rc, 1) != 1 || rc != 0) {
        fprintf(stderr, "migration sender: the target failed to start the domain; resuming it here\n");
        rename_back(ctx, domid, name);
        return -1;
    }
    kl_domain_destroy(ctx, domid);
    fprintf(stderr, "Migration successful.\n");
    return 0;
}

int xl_cmd_migrate(int argc, char **argv)
{
    const char *sshcmd = NULL;
    char name[256];
    int c, to, from, rc, status;
    uint32_t domid;
    kl_ctx *ctx;
    pid_t pid;

    while ((c = xl_getopt(argc, argv, "s:eC:p", "migrate", 2)) != -1) {
        switch (c) {
        case 's': sshcmd = optarg; break;
        case 'e': case 'p': break;
        case 'C':
            fprintf(stderr, "xl migrate: -C is not supported in Keel yet (the saved config is used)\n");
            return 2;
        default: return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (!(ctx = xl_open()))
        return 1;
    if (xl_find_domain(ctx, argv[optind], &domid) < 0 || kl_domain_name(ctx, domid, name, sizeof(name)) < 0) {
        kl_ctx_close(ctx);
        return 1;
    }
    if ((pid = spawn_receiver(sshcmd, argv[optind + 1], &to, &from)) < 0) {
        fprintf(stderr, "xl migrate: cannot start the receiver: %s\n", strerror(errno));
        kl_ctx_close(ctx);
        return 1;
    }
    rc = migrate(ctx, domid, name, to, from);
    close(to);
    close(from);
    waitpid(pid, &status, 0);
    kl_ctx_close(ctx);
    return rc < 0 ? 1 : 0;
}

int xl_cmd_migrate_receive(int argc, char **argv)
{
    char incoming[300], *json, *name;
    int c, paused = 0, rc = 1;
    unsigned char res = 1;
    kl_domain_config dc;
    kl_diag *d;
    uint32_t domid;
    kl_ctx *ctx;

    while ((c = xl_getopt(argc, argv, "dep", "migrate-receive", 0)) != -1) {
        if (c == 'p')
            paused = 1;
        else if (c != 'd' && c != 'e')
            return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!(ctx = xl_open()))
        return 1;
    d = kl_diag_new();
    kl_domain_config_init(&dc);
    if (write_all(1, banner, sizeof(banner) - 1) < 0 || !(json = xl_read_save_config(0, "<stdin>")) ||
        kl_domain_config_from_json(&dc, json, d) < 0 || !dc.c_info.name) {
        fprintf(stderr, "migration target: no usable domain in the stream\n");
        goto out;
    }
    free(json);
    name = dc.c_info.name;
    snprintf(incoming, sizeof(incoming), "%s--incoming", name);
    dc.c_info.name = incoming;
    if (kl_domain_restore(ctx, &dc, 0, KL_CREATE_PAUSED, &domid) < 0) {
        fprintf(stderr, "migration target: restore failed: %s\n", kl_ctx_error(ctx));
        dc.c_info.name = name;
        goto out;
    }
    dc.c_info.name = name;
    if (write_all(1, ready, sizeof(ready)) < 0 || expect(0, go, sizeof(go), "migration target", 300) < 0) {
        kl_domain_destroy(ctx, domid);
        goto out;
    }
    rc = kl_domain_rename(ctx, domid, name) < 0 || (!paused && kl_domain_unpause(ctx, domid) < 0);
    res = (unsigned char)rc;
    if (write_all(1, report, sizeof(report)) < 0 || write_all(1, &res, 1) < 0)
        rc = 1;
    if (rc)
        kl_domain_destroy(ctx, domid);
    else
        fprintf(stderr, "migration target: Domain started.\n");
out:
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
    kl_ctx_close(ctx);
    return rc ? 1 : 0;
}
